//! The burst fast path.
//!
//! Parsing every byte into vt100's cell grid costs most in rows that scroll
//! off before anyone could see them: each is built cell by cell, then
//! formatted cell by cell into history. When a program floods plain text
//! lines (a `cat`, a build log, `seq`), those rows are known in advance, so
//! [`Terminal::process`] writes them into history directly and feeds vt100
//! only what stays on screen.
//!
//! It does so only when the outcome is provably the same as feeding every
//! byte. Rather than mirror vte's parser state, it *checks* it: lines are fed
//! normally until one non-empty plain line lands exactly as plain text would
//! (one scroll of the full screen, the line on the row above the cursor, the
//! cursor at the bottom-left of a blank row, not the alternate screen). That
//! can only happen with the parser in its ground state, default attributes
//! and a scroll region spanning the screen, and plain lines keep all three.
//! The character set in use must be ASCII too (checked, as the line drawing
//! set maps letters), and plain lines cannot change it.
//! A differential test compares both paths on random and real output.
//!
//! One hidden difference remains: vt100 counts the scrollback an unbounded
//! terminal would have and uses the count only when the screen grows taller
//! (that many blank rows come in at the top). Skipped rows are not counted,
//! so the fast path only runs once the count is past [`COUNT_SETTLED`], more
//! than any terminal is tall; both counts then cover every growth.

use super::Terminal;

/// vt100's scrollback count past which a skipped row can no longer change
/// how the screen grows (see the module docs).
pub const COUNT_SETTLED: u64 = 4096;

/// Fewer plain lines than this in a row are not worth the fast path.
const MIN_BURST_ROWS: usize = 8;

impl Terminal {
    pub(super) fn process_now(&mut self, bytes: &[u8]) {
        let mut rest = self.continue_partial(bytes);
        while !rest.is_empty() {
            let cols = usize::from(self.screen().size().1.get());
            let run = if self.fast_path { plain_run(rest, self.at_line_start, cols) } else { None };
            match run {
                Some((start, lines)) if lines.len() >= MIN_BURST_ROWS => {
                    self.feed(&rest[..start]);
                    let end = start + lines.iter().map(|l| l.len() + 2).sum::<usize>();
                    self.burst(&lines);
                    rest = &rest[end..];
                }
                _ => {
                    let cols = usize::from(self.screen().size().1.get());
                    if self.ready && self.at_line_start && is_plain(rest) && rest.len() < cols {
                        // The start of a line: keep the checked state.
                        self.parse(rest);
                        self.partial.extend_from_slice(rest);
                        self.at_line_start = false;
                    } else {
                        self.feed(rest);
                    }
                    rest = &[];
                }
            }
        }
    }

    /// Finishes (or extends) a partial plain line from the last batch, keeping
    /// the checked state; returns what is left of the batch.
    fn continue_partial<'a>(&mut self, bytes: &'a [u8]) -> &'a [u8] {
        if !self.ready || self.partial.is_empty() {
            return bytes;
        }
        let cols = usize::from(self.screen().size().1.get());
        let Some(nl) = memchr::memchr(b'\n', bytes) else {
            if is_plain(bytes) && self.partial.len() + bytes.len() < cols {
                self.parse(bytes);
                self.partial.extend_from_slice(bytes);
                return &[];
            }
            return bytes;
        };
        let Some(text) = bytes[..nl].strip_suffix(b"\r") else { return bytes };
        let ends_blank = text.last().or(self.partial.last()) == Some(&b' ');
        if !is_plain(text) || self.partial.len() + text.len() > cols || ends_blank {
            return bytes;
        }
        self.parse(&bytes[..=nl]);
        let mut line = std::mem::take(&mut self.partial);
        line.extend_from_slice(text);
        self.known.push_back(line.into());
        let keep = usize::from(self.screen().size().0.get()) - 1;
        if self.known.len() > keep {
            self.known.pop_front();
        }
        self.at_line_start = true;
        &bytes[nl + 1..]
    }

    /// Every byte vt100 gets goes through here. A full reset (RIS: ESC, any
    /// C0 controls, `c`) makes vt100 start a new screen, its scrollback
    /// count included, without telling anyone; the mirror of that count
    /// must follow.
    fn parse(&mut self, bytes: &[u8]) {
        let mut i = if self.esc_pending {
            0
        } else {
            match memchr::memchr(0x1b, bytes) {
                Some(at) => at,
                None => {
                    self.parser.process(bytes);
                    return;
                }
            }
        };
        while i < bytes.len() {
            match bytes[i] {
                0x1b => self.esc_pending = true,
                b'c' if self.esc_pending => {
                    self.esc_pending = false;
                    let events = self.parser.callbacks_mut();
                    events.scrolls = 0;
                    events.skipped = 0;
                }
                0x00..=0x17 | 0x19 | 0x1c..=0x1f => {}
                _ => self.esc_pending = false,
            }
            i += 1;
        }
        self.parser.process(bytes);
    }

    /// The ordinary way: every byte through vt100.
    fn feed(&mut self, bytes: &[u8]) {
        if let Some(&last) = bytes.last() {
            self.parse(bytes);
            self.at_line_start = last == b'\n';
            self.ready = false;
            self.known.clear();
            self.partial.clear();
        }
    }

    /// Plain lines (each without its CR LF), fast where that is provably
    /// the same as feeding them.
    fn burst(&mut self, lines: &[&[u8]]) {
        let keep = usize::from(self.screen().size().0.get()) - 1;
        for (i, line) in lines.iter().enumerate() {
            if !self.ready {
                self.probe(line);
            } else if self.known.len() < keep {
                self.feed_plain(line);
            } else {
                return self.bulk(&lines[i..]);
            }
        }
    }

    /// A plain line the ordinary way, in the checked state: it stays checked,
    /// and the line is now known to be on screen.
    fn feed_plain(&mut self, line: &[u8]) {
        self.parse(line);
        self.parse(b"\r\n");
        self.known.push_back(line.into());
        let keep = usize::from(self.screen().size().0.get()) - 1;
        if self.known.len() > keep {
            self.known.pop_front();
        }
    }

    /// Plain lines with every row above the cursor known: the rows that
    /// would scroll off go straight to history, and vt100 gets only the
    /// lines that stay on screen, fed at the bottom, their scrolls pushing
    /// off rows already in history.
    fn bulk(&mut self, lines: &[&[u8]]) {
        let shown = lines.len().min(self.known.len());
        let events = self.parser.callbacks_mut();
        for row in self.known.iter().take(shown) {
            // Plain ASCII no wider than the screen: the row is the text.
            events.history.push(std::str::from_utf8(row).unwrap_or_default(), false);
        }
        for line in &lines[..lines.len() - shown] {
            events.history.push(std::str::from_utf8(line).unwrap_or_default(), false);
        }
        events.skip_scrolls = shown;
        events.skipped += (lines.len() - shown) as u64;
        events.pullable += lines.len() - shown;
        events.fast_rows += lines.len() as u64;
        let mut tail = Vec::new();
        for line in &lines[lines.len() - shown..] {
            tail.extend_from_slice(line);
            tail.extend_from_slice(b"\r\n");
        }
        self.parse(&tail);
        self.parser.callbacks_mut().skip_scrolls = 0;
        self.known.drain(..shown);
        self.known.extend(lines[lines.len() - shown..].iter().map(|l| Box::<[u8]>::from(*l)));
    }

    /// Feeds one plain line the ordinary way and checks whether it landed
    /// exactly as plain text in the ground state would (see the module docs).
    fn probe(&mut self, line: &[u8]) {
        let before = self.parser.callbacks().scrolls;
        self.parse(line);
        self.parse(b"\r\n");
        self.at_line_start = true;
        let screen = self.parser.screen();
        let (rows, _) = screen.size();
        let bottom = rows.get() - 1;
        let ready = !line.is_empty()
            && rows.get() >= 2
            && !screen.alternate_screen()
            && !screen.translates_charset()
            && !screen.insert_mode()
            && self.parser.callbacks().scrolls == before + 1
            && self.parser.callbacks().scrolls >= COUNT_SETTLED
            && screen.cursor_position() == (bottom, 0)
            && crate::history::screen_row_formatted(screen, bottom).is_empty()
            && !screen.row_wrapped(bottom - 1)
            && crate::history::screen_row_formatted(screen, bottom - 1).as_bytes() == line;
        self.ready = ready;
        self.known.clear();
        if ready {
            self.known.push_back(line.into());
        }
    }

    /// A taller screen pulls back as many blank rows at the top as vt100's
    /// scrollback count allows. Rows the fast path skipped are missing from
    /// that count, so where feeding every byte would have pulled `k` more,
    /// make the same change: `k` blank rows at the top, the cursor and the
    /// saved cursor `k` rows lower.
    pub(super) fn grew(&mut self, diff: u16) {
        let events = self.parser.callbacks_mut();
        let (count, skipped) = (events.scrolls, events.skipped);
        let diff = u64::from(diff);
        let pulled = count.min(diff);
        let k = (count + skipped).min(diff) - pulled;
        events.scrolls -= pulled;
        events.skipped -= k;
        if k == 0 {
            return;
        }
        let screen = self.parser.screen();
        let (row, col) = screen.cursor_position();
        let attrs = screen.attributes_formatted();
        let fix =
            format!("\x1b8\x1b[{k}B\x1b7\x1b[m\x1b[H\x1b[{k}L\x1b[{};{}H{attrs}", u64::from(row) + k + 1, col + 1);
        self.parse(fix.as_bytes());
    }
}

/// Printable ASCII only: no controls, no escapes, nothing wide.
fn is_plain(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| (0x20..0x7f).contains(b))
}

/// Finds the first run of plain lines: printable ASCII, no trailing space,
/// no wider than the screen, each ended by CR LF, starting at a line start.
/// Returns where it starts and the lines without their CR LF.
fn plain_run(bytes: &[u8], at_line_start: bool, cols: usize) -> Option<(usize, Vec<&[u8]>)> {
    let mut start = if at_line_start { 0 } else { memchr::memchr(b'\n', bytes)? + 1 };
    loop {
        let mut lines = Vec::new();
        let mut pos = start;
        while let Some(nl) = memchr::memchr(b'\n', &bytes[pos..]) {
            let line = &bytes[pos..pos + nl];
            let Some(text) = line.strip_suffix(b"\r") else { break };
            if text.len() > cols || !is_plain(text) || text.last() == Some(&b' ') {
                break;
            }
            lines.push(text);
            pos += nl + 1;
        }
        if lines.len() >= MIN_BURST_ROWS {
            return Some((start, lines));
        }
        // Not here: try from the next line start.
        start = pos + memchr::memchr(b'\n', bytes.get(pos..)?)? + 1;
        if start >= bytes.len() {
            return None;
        }
    }
}
