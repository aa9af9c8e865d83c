//! The model of one session's terminal: the vt100 screen, the answers to the
//! terminal queries the program sends, and the events (bells, notifications)
//! it raises. No PTY, socket or thread here: tests feed it bytes directly.
//!
//! ## The burst fast path
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
//! A differential test compares both paths on random and real output.
//!
//! One hidden difference remains: vt100 counts the scrollback an unbounded
//! terminal would have and uses the count only when the screen grows taller
//! (that many blank rows come in at the top). Skipped rows are not counted,
//! so the fast path only runs once the count is past [`COUNT_SETTLED`], more
//! than any terminal is tall; both counts then cover every growth.

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
    /// Main-screen scrolls vt100 made, less the rows a taller screen pulled
    /// back: vt100's own "theoretical scrollback" count, mirrored exactly.
    scrolls: u64,
    /// Scrolls feeding every byte would have made that the fast path did not.
    skipped: u64,
    /// Rows the fast path put into history itself, ever.
    fast_rows: u64,
    /// Scroll callbacks to ignore: rows the fast path already put in history.
    skip_scrolls: usize,
    /// The window title the program set (OSC 0 or 2).
    title: String,
    /// The last OSC 9;4 progress state (0 none, 1 normal, 2 error,
    /// 3 indeterminate, 4 paused).
    progress: u8,
}

impl vt100::Callbacks for Events {
    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.bells += 1;
    }

    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.title = String::from_utf8_lossy(title).into_owned();
    }

    // The parser keeps no scrollback (too costly); rows leaving the main
    // screen go to our compact history. Full-screen programs' rows do not.
    fn on_scroll(&mut self, row: vt100::capture::RowContents<'_>, alternate_screen: bool) {
        if alternate_screen {
            return;
        }
        self.scrolls += 1;
        if self.skip_scrolls > 0 {
            self.skip_scrolls -= 1;
        } else {
            self.history.push_row(row);
        }
    }

    /// Desktop notifications (OSC 9, 777, 99) ask for attention as a bell
    /// does. OSC 9;4 is not one: it reports progress (ConEmu's, which
    /// Windows Terminal, Ghostty and others took up).
    fn unhandled_osc(&mut self, _: &mut vt100::Screen, params: &[&[u8]]) {
        match params {
            [b"9", b"4", rest @ ..] => {
                let state = rest.first().and_then(|s| std::str::from_utf8(s).ok()?.parse::<u8>().ok());
                self.progress = state.filter(|s| *s <= 4).unwrap_or(0);
            }
            [b"9" | b"777" | b"99", ..] => self.bells += 1,
            _ => {}
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
        // DA answered as tmux does, so TERM=tmux-256color holds.
        if let Some(answer) = query_answer(screen, i1, params, c, &TMUX_IDENTITY) {
            self.replies.extend_from_slice(&answer);
        }
    }
}

/// What a terminal says it is, in answer to device-attributes queries.
pub struct Identity {
    /// The DA1 answer (`ESC [ c`).
    pub primary: &'static [u8],
    /// The DA2 answer (`ESC [ > c`).
    pub secondary: &'static [u8],
}

/// qmux answers as tmux does, matching the TERM its children get.
pub const TMUX_IDENTITY: Identity = Identity { primary: b"\x1b[?1;2c", secondary: b"\x1b[>84;0;0c" };

/// The answer a terminal gives to a query in a CSI sequence, if it is one:
/// DSR "status" (`5n`) and "cursor position" (`6n`, also `?6n`), DA1 and
/// DA2. rustyline asks for the cursor position at every prompt and waits
/// 100 ms without an answer. (Also used by the tests and the benchmark,
/// which play the user's terminal.)
pub fn query_answer(
    screen: &vt100::Screen,
    i1: Option<u8>,
    params: &[&[u16]],
    c: char,
    identity: &Identity,
) -> Option<Vec<u8>> {
    let first = params.first().and_then(|p| p.first()).copied().unwrap_or(0);
    match (i1, c, first) {
        (None, 'n', 5) => Some(b"\x1b[0n".to_vec()),
        (None, 'n', 6) | (Some(b'?'), 'n', 6) => {
            let (row, col) = screen.cursor_position();
            let q = if i1.is_some() { "?" } else { "" };
            Some(format!("\x1b[{q}{};{}R", row + 1, col + 1).into_bytes())
        }
        (None, 'c', 0) => Some(identity.primary.to_vec()),
        (Some(b'>'), 'c', 0) => Some(identity.secondary.to_vec()),
        _ => None,
    }
}

/// vt100's scrollback count past which a skipped row can no longer change
/// how the screen grows (see the module docs).
pub const COUNT_SETTLED: u64 = 4096;

/// Fewer plain lines than this in a row are not worth the fast path.
const MIN_BURST_ROWS: usize = 8;

/// One session's terminal state.
pub struct Terminal {
    parser: vt100::Parser<Events>,
    /// The last byte processed was a line feed.
    at_line_start: bool,
    /// Checked: parser in ground state, default attributes, full-screen
    /// scroll region, cursor at the bottom-left of a blank row. Any byte fed
    /// the ordinary way clears it; the probe sets it.
    ready: bool,
    /// Use the fast path at all (tests turn it off to compare).
    fast_path: bool,
    /// While ready: the plain lines on the rows just above the cursor, the
    /// last one lowest. Once it covers every row, bursts need no formatting.
    known: std::collections::VecDeque<Box<[u8]>>,
    /// The end of a batch after its last line feed, held back while more
    /// output is already waiting (see [`Terminal::process_batch`]).
    carry: Vec<u8>,
    /// The last byte that mattered was ESC: a `c` next would be a reset.
    esc_pending: bool,
    /// While ready: plain text written at the start of the blank bottom row
    /// (a line whose end has not come yet). The next batch may finish it.
    partial: Vec<u8>,
}

impl Terminal {
    pub fn new(rows: u16, cols: u16) -> Self {
        Terminal::with_history_limit(rows, cols, crate::history::DEFAULT_LIMIT)
    }

    /// A terminal that keeps at most `history_limit` rows of history.
    pub fn with_history_limit(rows: u16, cols: u16, history_limit: usize) -> Self {
        let events = Events { history: History::new(history_limit), ..Events::default() };
        Terminal {
            parser: vt100::Parser::new_with_callbacks(nonzero(rows), nonzero(cols), 0, events),
            at_line_start: false,
            ready: false,
            fast_path: true,
            known: Default::default(),
            carry: Vec::new(),
            partial: Vec::new(),
            esc_pending: false,
        }
    }

    /// Turns the burst fast path off: every byte goes through vt100.
    pub fn without_fast_path(mut self) -> Self {
        self.fast_path = false;
        self
    }

    /// Feeds program output. Returns the bytes to write back to the program
    /// (answers to its queries), usually none.
    pub fn process(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.process_batch(bytes, false)
    }

    /// Like [`Terminal::process`], for a reader that knows more output is
    /// already waiting: then a line cut by the read's end is held back and
    /// joined to the next batch, so a flood keeps arriving in whole lines.
    /// (A PTY read returns at most 4095 bytes.) Nothing is delayed when the
    /// program pauses: then `more_coming` is false and all of it is shown.
    pub fn process_batch(&mut self, bytes: &[u8], more_coming: bool) -> Vec<u8> {
        let mut data = std::mem::take(&mut self.carry);
        let bytes: &[u8] = if data.is_empty() {
            bytes
        } else {
            data.extend_from_slice(bytes);
            &data
        };
        let cut = match memchr::memrchr(b'\n', bytes) {
            Some(nl) if more_coming && bytes.len() - nl - 1 <= 64 * 1024 => nl + 1,
            _ => bytes.len(),
        };
        self.carry = bytes[cut..].to_vec();
        self.process_now(&bytes[..cut]);
        std::mem::take(&mut self.parser.callbacks_mut().replies)
    }

    fn process_now(&mut self, bytes: &[u8]) {
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

    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    /// The size as (cols, rows).
    pub fn size(&self) -> (u16, u16) {
        let (rows, cols) = self.parser.screen().size();
        (cols.get(), rows.get())
    }

    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.process_batch(&[], false);
        let old_rows = self.screen().size().0.get();
        self.parser.set_size(nonzero(rows), nonzero(cols));
        if rows > old_rows {
            self.grew(rows.max(1) - old_rows);
        }
        self.ready = false;
        self.known.clear();
        self.partial.clear();
    }

    /// A taller screen pulls back as many blank rows at the top as vt100's
    /// scrollback count allows. Rows the fast path skipped are missing from
    /// that count, so where feeding every byte would have pulled `k` more,
    /// make the same change: `k` blank rows at the top, the cursor and the
    /// saved cursor `k` rows lower.
    fn grew(&mut self, diff: u16) {
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

    /// The rows that scrolled off the top of the main screen.
    pub fn history(&self) -> &History {
        &self.parser.callbacks().history
    }

    pub fn history_mut(&mut self) -> &mut History {
        &mut self.parser.callbacks_mut().history
    }

    /// The window title the program set, if any.
    pub fn title(&self) -> &str {
        &self.parser.callbacks().title
    }

    /// The program's OSC 9;4 progress state; 0 when it shows none.
    pub fn progress(&self) -> u8 {
        self.parser.callbacks().progress
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

    /// An escape string that never ends must not grow memory: the parser
    /// keeps at most 1 KiB of an OSC (see the workspace's vt100 entry). With
    /// vt100's "std" feature the whole 64 MB would be kept and arrive here.
    #[test]
    fn unterminated_osc_does_not_grow_memory() {
        let mut t = Terminal::new(24, 80);
        t.process(b"\x1b]2;");
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..64 {
            t.process(&chunk);
        }
        t.process(b"\x07after");
        assert!(t.title().len() <= 1024, "the parser kept {} bytes of one OSC", t.title().len());
        assert!(t.title().starts_with("aaa"));
        assert!(t.text().contains("after"));
    }

    /// The fast path must leave exactly the screen and history that feeding
    /// every byte leaves: same cells, attributes, modes, cursor, history rows.
    fn assert_same(fast: &Terminal, slow: &Terminal, what: &str) {
        assert_eq!(fast.screen().state_formatted(), slow.screen().state_formatted(), "screen differs: {what}");
        assert_eq!(fast.screen().cursor_position(), slow.screen().cursor_position(), "cursor differs: {what}");
        let (fh, sh) = (fast.history(), slow.history());
        assert_eq!(fh.total_pushed(), sh.total_pushed(), "history count differs: {what}");
        assert_eq!(fh.len(), sh.len(), "history length differs: {what}");
        for i in 0..fh.len() {
            assert_eq!(fh.row_formatted(i), sh.row_formatted(i), "history row {i} differs: {what}");
            assert_eq!(fh.row_wrapped(i), sh.row_wrapped(i), "history row {i} wrap differs: {what}");
        }
    }

    /// A small deterministic generator (xorshift), so failures replay.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    /// Output mixing floods of plain lines with what breaks the fast path's
    /// assumptions: colours, cursor moves, scroll regions, the alternate
    /// screen, OSC strings, split escapes, bad UTF-8, long and wide lines.
    fn random_output(rng: &mut Rng, len: usize) -> Vec<u8> {
        let pieces: &[&[u8]] = &[
            b"\x1b[31m",
            b"\x1b[0m",
            b"\x1b[1;44m",
            b"\x1b[H",
            b"\x1b[5;3H",
            b"\x1b[2J",
            b"\x1b[K",
            b"\x1b[3;8r",
            b"\x1b[r",
            b"\x1b[?1049h",
            b"\x1b[?1049l",
            b"\x1b]0;title",
            b"\x07",
            b"\x1b[",
            b"\x1b",
            b"\x1b[?25l",
            b"\x1b[?6h",
            b"\x1b[?6l",
            b"\x1b[4h",
            b"\x1b[4l",
            b"\x1b[2S",
            b"\x1bM",
            b"\x1bc",
            b"\x1b\r",
            b"c",
            b"\xe2\x94",
            b"\xe2\x94\x80",
            "日本語".as_bytes(),
            b"\t",
            b"\x18",
            b"\r",
            b"\n",
            b"   ",
        ];
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            match rng.below(10) {
                0..=5 => {
                    // A flood of plain lines, some long enough to wrap.
                    let flood = if rng.below(3) == 0 { 600 } else { 60 };
                    for _ in 0..rng.below(flood) {
                        let max = if rng.below(8) == 0 { 150 } else { 30 };
                        let n = rng.below(max);
                        for _ in 0..n {
                            out.push(b'!' + rng.below(94) as u8);
                        }
                        out.extend_from_slice(b"\r\n");
                    }
                }
                _ => {
                    for _ in 0..rng.below(6) {
                        out.extend_from_slice(pieces[rng.below(pieces.len() as u64) as usize]);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn fast_path_matches_feeding_every_byte_on_random_output() {
        let mut fast_rows = 0;
        for seed in 1..=24u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let (rows, cols) = (2 + rng.below(30) as u16, 10 + rng.below(90) as u16);
            let mut fast = Terminal::with_history_limit(rows, cols, 3000);
            let mut slow = Terminal::with_history_limit(rows, cols, 3000).without_fast_path();
            // Settle vt100's scrollback count first (see COUNT_SETTLED).
            let settle: Vec<u8> =
                (0..COUNT_SETTLED + 10).flat_map(|i| format!("settle {i}\r\n").into_bytes()).collect();
            fast.process(&settle);
            slow.process(&settle);
            assert_same(&fast, &slow, &format!("seed {seed} after settling"));

            for round in 0..12 {
                let data = random_output(&mut rng, 40_000);
                // Random read boundaries, as a PTY gives them.
                let mut at = 0;
                while at < data.len() {
                    let n = (1 + rng.below(9000) as usize).min(data.len() - at);
                    fast.process_batch(&data[at..at + n], rng.below(2) == 0);
                    slow.process(&data[at..at + n]);
                    at += n;
                }
                fast.process_batch(&[], false);
                assert_same(&fast, &slow, &format!("seed {seed} round {round} ({rows}x{cols})"));
                if rng.below(3) == 0 {
                    let (r, c) = (2 + rng.below(30) as u16, 10 + rng.below(90) as u16);
                    fast.resize(c, r);
                    slow.resize(c, r);
                    assert_same(&fast, &slow, &format!("seed {seed} round {round} resized to {r}x{c}"));
                }
            }
            fast_rows += fast.parser.callbacks().fast_rows;
        }
        // The comparison means something only if the fast path ran (random
        // output often leaves scroll regions, colours or the alternate screen
        // on, where it must not; the tests below show it takes real floods).
        assert!(fast_rows > 1000, "the fast path hardly ran: {fast_rows} rows");
    }

    #[test]
    fn fast_path_matches_on_real_output() {
        let seq: Vec<u8> = (1..=200_000).flat_map(|i| format!("{i}\r\n").into_bytes()).collect();
        let log: Vec<u8> = (0..30_000)
            .flat_map(|i| {
                let line = match i % 7 {
                    0 => format!("\x1b[32m   Compiling\x1b[0m crate-{i} v0.1.{i}"),
                    1 => String::new(),
                    2 => format!("warning: unused variable `x{i}` at src/lib.rs:{i}:5 {}", "-".repeat(i % 90)),
                    _ => format!("{i:06} The quick brown fox jumps over the lazy dog; {}", "x".repeat(i % 60)),
                };
                format!("{line}\r\n").into_bytes()
            })
            .collect();
        for (name, data) in [("seq", &seq), ("build log", &log)] {
            for (rows, cols) in [(49, 200), (23, 80), (5, 20)] {
                let mut fast = Terminal::new(rows, cols);
                let mut slow = Terminal::new(rows, cols).without_fast_path();
                // As a PTY gives it: 4095-byte reads, batched while more waits.
                for batch in data.chunks(4095 * 7) {
                    for read in batch.chunks(4095) {
                        fast.process_batch(read, true);
                    }
                    slow.process(batch);
                }
                fast.process_batch(&[], false);
                assert_same(&fast, &slow, &format!("{name} at {rows}x{cols}"));
            }
        }
    }

    #[test]
    fn fast_path_takes_the_bulk_of_a_flood() {
        // Not a timing test: it checks the fast path is actually used, by
        // counting the scrolls vt100 really made.
        let mut t = Terminal::new(49, 200);
        let data: Vec<u8> = (0..100_000).flat_map(|i| format!("{i}\r\n").into_bytes()).collect();
        for chunk in data.chunks(65536) {
            t.process(chunk);
        }
        let made = t.parser.callbacks().scrolls;
        assert!(made < 20_000, "vt100 scrolled {made} times for 100000 lines");
        assert_eq!(t.history().total_pushed(), 100_000 - 48);
    }

    #[test]
    fn zero_size_is_clamped() {
        let mut t = Terminal::new(0, 0);
        t.resize(0, 0);
        assert_eq!(t.size(), (1, 1));
        t.process(b"hello\r\nworld");
    }
}
