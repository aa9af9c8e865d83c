//! Rewrapping for a new width, as tmux and xterm do: when the terminal
//! narrows, long lines wrap instead of being cut; when it widens, lines
//! that had wrapped join again. The main screen and the newest history
//! are rewrapped together, so what scrolled off while narrow comes back.
//!
//! The rows are written again through vt100 itself at the new width: its
//! own autowrap decides where each line breaks (wide characters too), and
//! rows that no longer fit scroll into history the ordinary way. As in
//! tmux, the bottom of the screen stays where it was: blank rows below the
//! last line stay below it, and a wider screen fills from history.

use super::Terminal;
use crate::history::screen_row_formatted;

/// History rows rewrapped at most; older ones keep the width they had.
const HISTORY_ROWS: usize = 10_000;

/// The main screen and the newest history, as output to write again.
pub(super) struct Rewrap {
    /// The lines before the cursor's, each ended.
    before: String,
    /// The cursor's line and the ones after it.
    after: String,
    /// Cells from the start of the cursor's line to the cursor.
    offset: usize,
    /// Blank rows below the last line, which stay below it.
    blank_below: u16,
    /// The attributes the program writes with.
    pen: String,
}

impl Terminal {
    /// Takes the main screen and the newest history out as lines, to be
    /// written again once the width has changed ([`Terminal::rewrap_into`]).
    /// None while a mode would change how they land (the alternate screen,
    /// insert mode, a line-drawing set, autowrap off, origin mode): then a
    /// width change cuts rows, as vt100 does.
    pub(super) fn rewrap_take(&mut self) -> Option<Rewrap> {
        let screen = self.screen();
        if screen.alternate_screen()
            || screen.insert_mode()
            || screen.translates_charset()
            || !screen.autowrap()
            || screen.origin_mode()
        {
            return None;
        }
        let (cols, rows) = self.size();
        let (cursor_row, cursor_col) = screen.cursor_position();
        let shown: Vec<(String, bool)> =
            (0..rows).map(|r| (screen_row_formatted(screen, r), screen.row_wrapped(r))).collect();
        let last = shown.iter().rposition(|(text, _)| !text.is_empty()).unwrap_or(0).max(usize::from(cursor_row));
        let blank_below = rows - 1 - last as u16;
        let pen = screen.attributes_formatted();

        // History from the start of a line, so no line is cut in two.
        let history = self.history_mut();
        let mut keep = history.len().saturating_sub(HISTORY_ROWS);
        while keep > 0 && keep < history.len() && history.row_wrapped(keep - 1) {
            keep += 1;
        }
        let mut lines = history.take_newest(history.len() - keep);
        let cursor = lines.len() + usize::from(cursor_row);
        lines.extend(shown.into_iter().take(last + 1));

        let start = (0..cursor).rev().find(|i| !lines[*i].1).map_or(0, |i| i + 1);
        let offset = (cursor - start) * usize::from(cols) + usize::from(cursor_col);
        let write = |rows: &[(String, bool)], ends_last: bool| {
            let mut out = String::new();
            for (i, (text, wrapped)) in rows.iter().enumerate() {
                out.push_str("\x1b[m");
                out.push_str(text);
                if !wrapped && (ends_last || i + 1 < rows.len()) {
                    out.push_str("\x1b[m\r\n");
                }
            }
            out
        };
        Some(Rewrap {
            before: write(&lines[..start], true),
            after: write(&lines[start..], false),
            offset,
            blank_below,
            pen,
        })
    }

    /// Writes what [`Terminal::rewrap_take`] took onto the cleared screen at
    /// the new size, and puts the cursor back on its cell of its line.
    pub(super) fn rewrap_into(&mut self, taken: Rewrap) {
        let (cols, rows) = self.size();
        self.parser.process(b"\x1b[m\x1b[H\x1b[2J");
        self.parser.process(taken.before.as_bytes());
        let line = self.history().total_pushed() + u64::from(self.screen().cursor_position().0);
        self.parser.process(taken.after.as_bytes());
        for _ in 0..taken.blank_below {
            self.parser.process(b"\r\n");
        }
        let cols = usize::from(cols.max(1));
        let cursor_line = line + (taken.offset / cols) as u64;
        let row = cursor_line.saturating_sub(self.history().total_pushed()).min(u64::from(rows.max(1) - 1));
        let at = format!("\x1b[{};{}H\x1b[m{}", row + 1, taken.offset % cols + 1, taken.pen);
        self.parser.process(at.as_bytes());
    }
}
