//! Laying the main screen out again at a new size, as tmux does: the
//! height first, keeping the bottom (a shorter screen drops the rows below
//! the cursor, then moves rows from its top into history; a taller one
//! pulls back rows that had scrolled off, then adds blank rows below),
//! then, for a new width, every line rewrapped: long lines wrap instead of
//! being cut, lines that had wrapped join again, and the newest history is
//! laid out with the screen, so what scrolled off while narrow comes back.
//! Both at once are one step, never a height change that loses rows the
//! width change would have kept.
//!
//! The rows are written again through vt100 itself at the new size: its
//! own autowrap breaks each line where tmux's reflow does (wide characters
//! too), and rows that no longer fit scroll into history the ordinary way.
//! [`reflow`] works out what the text cannot say: where the cursor goes,
//! and how many history rows a taller screen may pull back later.

use super::reflow::{reflow, At, Cells};
use super::{nonzero, Terminal};
use crate::history::screen_row_formatted;

/// History rows laid out again at most; older ones keep the width they had.
const HISTORY_ROWS: usize = 10_000;

impl Terminal {
    /// Whether the main screen can be laid out again by writing its rows:
    /// not on the alternate screen, nor while a mode would change how they
    /// land (insert mode, a line-drawing set, autowrap off, origin mode).
    pub(super) fn rewrappable(&self) -> bool {
        let screen = self.screen();
        !(screen.alternate_screen()
            || screen.insert_mode()
            || screen.translates_charset()
            || !screen.autowrap()
            || screen.origin_mode())
    }

    /// Lays history out again at the screen's width, with the screen:
    /// rows kept at another width (a restored session's) read as the lines
    /// they were.
    pub fn rewrap_history(&mut self) {
        if self.rewrappable() {
            let (cols, rows) = self.size();
            self.relayout(cols, rows, true);
        }
    }

    /// Lays the main screen and the newest history out again at `cols` x
    /// `rows` (see the module docs), `reflowing` lines for a new width; the
    /// caller checked [`rewrappable`].
    ///
    /// [`rewrappable`]: Terminal::rewrappable
    pub(super) fn relayout(&mut self, cols: u16, rows: u16, reflowing: bool) {
        let (_, old_rows) = self.size();
        let screen = self.screen();
        let (cursor_row, cursor_col) = screen.cursor_position();
        let pen = screen.attributes_formatted();
        let shown: Vec<(String, bool)> =
            (0..old_rows).map(|r| (screen_row_formatted(screen, r), screen.row_wrapped(r))).collect();
        let (height, old_height) = (usize::from(rows), usize::from(old_rows));

        let events = self.parser.callbacks_mut();
        let history = &mut events.history;
        let mut scrolled = events.pullable.min(history.len());
        let taken = if reflowing {
            // From the start of a line, so no line is cut in two.
            let mut keep = history.len().saturating_sub(HISTORY_ROWS);
            while keep > 0 && keep < history.len() && history.row_wrapped(keep - 1) {
                keep += 1;
            }
            history.len() - keep
        } else {
            height.saturating_sub(old_height).min(scrolled)
        };
        let mut lines = history.take_newest(taken);
        let first = history.len();
        let mut hsize = lines.len();
        let cursor = At { row: hsize + usize::from(cursor_row), col: usize::from(cursor_col) };
        lines.extend(shown);

        if height < old_height {
            let needed = old_height - height;
            let below = needed.min(old_height - 1 - usize::from(cursor_row));
            lines.truncate(lines.len() - below);
            hsize += needed - below;
            scrolled += needed - below;
        } else if height > old_height {
            let needed = height - old_height;
            let pulled = needed.min(scrolled).min(hsize);
            hsize -= pulled;
            scrolled -= pulled;
            lines.resize(lines.len() + needed - pulled, (String::new(), false));
        }

        let at = if reflowing {
            let cells = lines.iter().map(|(text, wrapped)| Cells::of(text, *wrapped)).collect();
            let laid = reflow(cells, usize::from(cols), cursor, first, &mut scrolled);
            for row in laid.ended {
                lines[row].1 = false;
            }
            hsize = laid.rows.len().saturating_sub(height);
            scrolled = scrolled.min(first + hsize);
            // A cursor whose row went into history goes to the top left.
            let at = laid.cursor;
            at.row.checked_sub(hsize).map_or(At { row: 0, col: 0 }, |row| At { row, col: at.col })
        } else {
            At { row: cursor.row - hsize, col: cursor.col }
        };

        self.parser.process(b"\x1b[m\x1b[H\x1b[2J");
        self.parser.set_size(nonzero(rows), nonzero(cols));
        if rows > old_rows {
            self.grew(rows - old_rows);
        }
        let mut out = String::from("\x1b[H");
        for (i, (text, wrapped)) in lines.iter().enumerate() {
            out.push_str("\x1b[m");
            out.push_str(text);
            if !wrapped && i + 1 < lines.len() {
                out.push_str("\x1b[m\r\n");
            }
        }
        out.push_str(&format!("\x1b[{};{}H\x1b[m{pen}", at.row + 1, at.col + 1));
        self.parser.process(out.as_bytes());
        let events = self.parser.callbacks_mut();
        events.pullable = scrolled.min(events.history.len());
    }
}
