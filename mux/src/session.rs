//! The model of one session's terminal: the vt100 screen, the answers to the
//! terminal queries the program sends, and the events (bells, notifications)
//! it raises. No PTY, socket or thread here: tests feed it bytes directly.

use std::num::NonZeroU16;

use crate::history::History;

/// What a program's output asked of its terminal, besides drawing.
#[derive(Debug, Default)]
struct Events {
    /// Answers to queries (DSR, DA), to be written back to the program.
    replies: Vec<u8>,
    bells: u64,
    /// Rows that scrolled off the main screen.
    history: History,
}

impl vt100::Callbacks for Events {
    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.bells += 1;
    }

    // The parser keeps no scrollback (too costly); rows leaving the main
    // screen go to our compact history. Full-screen programs' rows do not.
    fn on_scroll(&mut self, row: vt100::capture::RowContents<'_>, alternate_screen: bool) {
        if !alternate_screen {
            self.history.push_row(row);
        }
    }

    /// Desktop notifications (OSC 9, 777, 99) ask for attention as a bell does.
    fn unhandled_osc(&mut self, _: &mut vt100::Screen, params: &[&[u8]]) {
        if matches!(params.first(), Some(&b"9") | Some(&b"777") | Some(&b"99")) {
            self.bells += 1;
        }
    }

    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        _i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        let first = params.first().and_then(|p| p.first()).copied().unwrap_or(0);
        match (i1, c, first) {
            // DSR: "are you there?" and the cursor position. rustyline asks
            // for the position at every prompt and waits 100 ms without it.
            (None, 'n', 5) => self.replies.extend_from_slice(b"\x1b[0n"),
            (None, 'n', 6) | (Some(b'?'), 'n', 6) => {
                let (row, col) = screen.cursor_position();
                let q = if i1.is_some() { "?" } else { "" };
                self.replies.extend_from_slice(format!("\x1b[{q}{};{}R", row + 1, col + 1).as_bytes());
            }
            // DA1 and DA2, answered as tmux does so TERM=tmux-256color holds.
            (None, 'c', 0) => self.replies.extend_from_slice(b"\x1b[?1;2c"),
            (Some(b'>'), 'c', 0) => self.replies.extend_from_slice(b"\x1b[>84;0;0c"),
            _ => {}
        }
    }
}

/// One session's terminal state.
pub struct Terminal {
    parser: vt100::Parser<Events>,
}

impl Terminal {
    pub fn new(rows: u16, cols: u16) -> Self {
        Terminal::with_history_limit(rows, cols, crate::history::DEFAULT_LIMIT)
    }

    /// A terminal that keeps at most `history_limit` rows of history.
    pub fn with_history_limit(rows: u16, cols: u16, history_limit: usize) -> Self {
        let events = Events { history: History::new(history_limit), ..Events::default() };
        Terminal { parser: vt100::Parser::new_with_callbacks(nonzero(rows), nonzero(cols), 0, events) }
    }

    /// Feeds program output. Returns the bytes to write back to the program
    /// (answers to its queries), usually none.
    pub fn process(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.parser.process(bytes);
        std::mem::take(&mut self.parser.callbacks_mut().replies)
    }

    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    /// The size as (cols, rows).
    pub fn size(&self) -> (u16, u16) {
        let (rows, cols) = self.parser.screen().size();
        (cols.get(), rows.get())
    }

    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.parser.set_size(nonzero(rows), nonzero(cols));
    }

    /// The rows that scrolled off the top of the main screen.
    pub fn history(&self) -> &History {
        &self.parser.callbacks().history
    }

    pub fn history_mut(&mut self) -> &mut History {
        &mut self.parser.callbacks_mut().history
    }

    /// How many times the program asked for attention (a bell or a desktop
    /// notification), ever.
    pub fn bells(&self) -> u64 {
        self.parser.callbacks().bells
    }

    /// The screen as plain text, trailing blanks trimmed.
    pub fn text(&self) -> String {
        self.screen().contents()
    }
}

fn nonzero(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_cursor_position_where_the_cursor_is() {
        let mut t = Terminal::new(24, 80);
        assert_eq!(t.process(b"\r\n\r\n> \x1b[6n"), b"\x1b[3;3R");
    }

    #[test]
    fn answers_status_and_device_attributes() {
        let mut t = Terminal::new(24, 80);
        assert_eq!(t.process(b"\x1b[5n"), b"\x1b[0n");
        assert_eq!(t.process(b"\x1b[c"), b"\x1b[?1;2c");
        assert_eq!(t.process(b"\x1b[>c"), b"\x1b[>84;0;0c");
        assert_eq!(t.process(b"plain text"), b"");
    }

    #[test]
    fn query_split_across_reads_is_still_answered() {
        let mut t = Terminal::new(24, 80);
        assert_eq!(t.process(b"ab\x1b["), b"");
        assert_eq!(t.process(b"6n"), b"\x1b[1;3R");
    }

    #[test]
    fn counts_bells() {
        let mut t = Terminal::new(24, 80);
        t.process(b"\x07x\x07");
        assert_eq!(t.bells(), 2);
    }

    #[test]
    fn desktop_notifications_count_as_bells() {
        let mut t = Terminal::new(24, 80);
        t.process(b"\x1b]9;done\x07\x1b]777;notify;title;body\x1b\\\x1b]2;a title\x07");
        assert_eq!(t.bells(), 2);
    }

    /// An escape string that never ends must not grow memory (the parser
    /// keeps at most 1 KiB of an OSC; see the workspace's vt100 entry).
    #[test]
    fn unterminated_osc_does_not_grow_memory() {
        fn rss_kb() -> usize {
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or("VmRSS: 0 kB");
            line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
        }
        let mut t = Terminal::new(24, 80);
        t.process(b"\x1b]0;");
        let chunk = vec![b'a'; 1 << 20];
        let before = rss_kb();
        for _ in 0..64 {
            t.process(&chunk);
        }
        let grown_mb = rss_kb().saturating_sub(before) / 1024;
        assert!(grown_mb < 16, "64 MB of unterminated OSC grew memory by {grown_mb} MB");
        t.process(b"\x07after");
        assert!(t.text().contains("after"));
    }

    #[test]
    fn zero_size_is_clamped() {
        let mut t = Terminal::new(0, 0);
        t.resize(0, 0);
        assert_eq!(t.size(), (1, 1));
        t.process(b"hello\r\nworld");
    }
}
