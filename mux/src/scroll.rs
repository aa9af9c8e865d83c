//! Scroll mode: one client reading back through a session's history and
//! screen, searching it and copying lines. Only the model lives here: keys
//! in, lines to draw and text to copy out, no I/O.
//!
//! The view holds its place by absolute line number (see [`crate::history`]),
//! so it stays on the same text while the program keeps printing, even as the
//! oldest rows are dropped at the limit, until the text it shows is dropped
//! itself. Every method takes the history and screen as they are now and
//! clamps to them, so a resize or a cleared history never leaves the view
//! pointing nowhere.

use std::borrow::Cow;

use unicode_width::UnicodeWidthChar as _;

use crate::history::{plain, screen_row_formatted, History, Position};

/// How far one wheel notch scrolls, as in tmux.
const WHEEL_LINES: i64 = 5;

/// Search matches are drawn in reverse video, the current one bold too.
const MATCH: &str = "\x1b[7m";
const CURRENT_MATCH: &str = "\x1b[1;7m";
const SELECTED: &str = "\x1b[7m";

/// A key as scroll mode understands it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrollKey {
    PageUp,
    PageDown,
    Up,
    Down,
    Home,
    End,
    WheelUp,
    WheelDown,
    Char(char),
    Enter,
    Escape,
    Backspace,
}

/// What the server should do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScrollAction {
    /// Stay in scroll mode and redraw.
    Stay,
    /// Leave scroll mode.
    Leave,
    /// Put this text on the clipboard (see [`osc52`]) and leave scroll mode.
    Yank(String),
}

/// One client's place in scroll mode.
#[derive(Debug, Clone)]
pub struct ScrollView {
    /// Absolute line number of the top line shown.
    top: u64,
    /// Absolute line number of the cursor.
    cursor: u64,
    /// Rows the view shows.
    height: u16,
    /// Where `v` started a selection of whole lines, through the cursor.
    anchor: Option<u64>,
    search: Option<Search>,
    /// A search pattern being typed after `/` or `?`.
    prompt: Option<Prompt>,
    /// A note for the status row, until the next key.
    message: Option<String>,
}

#[derive(Debug, Clone)]
struct Search {
    pattern: String,
    backward: bool,
    /// The match the cursor is on: absolute line, byte offset in its text.
    current: Option<(u64, usize)>,
}

#[derive(Debug, Clone)]
struct Prompt {
    backward: bool,
    text: String,
}

/// The lines there are to show, by absolute number: history from `first`,
/// then the screen from `screen_top` to `end` (exclusive).
#[derive(Debug, Clone, Copy)]
struct Extent {
    first: u64,
    screen_top: u64,
    end: u64,
}

impl Extent {
    fn of(history: &History, screen: &vt100::Screen) -> Self {
        let screen_top = history.total_pushed();
        Extent { first: history.first_line(), screen_top, end: screen_top + u64::from(screen.size().0.get()) }
    }

    /// The top line when the view is at the live bottom.
    fn bottom_top(&self, height: u16) -> u64 {
        self.end.saturating_sub(u64::from(height)).max(self.first)
    }

    fn clamp_top(&self, top: u64, height: u16) -> u64 {
        top.clamp(self.first, self.bottom_top(height))
    }

    fn clamp_line(&self, line: u64) -> u64 {
        line.clamp(self.first, self.end.saturating_sub(1).max(self.first))
    }

    fn index(&self, line: u64) -> usize {
        (line - self.first) as usize
    }
}

/// Line `line` (absolute) as text and SGR sequences from default attributes.
fn line_formatted<'h>(history: &'h History, screen: &vt100::Screen, ext: &Extent, line: u64) -> Cow<'h, str> {
    if line < ext.screen_top {
        history.row_formatted(ext.index(line))
    } else {
        Cow::Owned(screen_row_formatted(screen, (line - ext.screen_top) as u16))
    }
}

fn line_wrapped(history: &History, screen: &vt100::Screen, ext: &Extent, line: u64) -> bool {
    if line < ext.screen_top {
        history.row_wrapped(ext.index(line))
    } else {
        screen.row_wrapped((line - ext.screen_top) as u16)
    }
}

impl ScrollView {
    /// Enters scroll mode at the live bottom, the cursor on the program's
    /// cursor row. `height` is the rows the view has (the session's rows).
    pub fn new(history: &History, screen: &vt100::Screen, height: u16) -> Self {
        let ext = Extent::of(history, screen);
        let height = height.max(1);
        let mut view = ScrollView {
            top: ext.bottom_top(height),
            cursor: ext.screen_top + u64::from(screen.cursor_position().0),
            height,
            anchor: None,
            search: None,
            prompt: None,
            message: None,
        };
        view.clamp(&ext);
        view
    }

    /// The client or session changed size.
    pub fn resize(&mut self, height: u16) {
        self.height = height.max(1);
    }

    /// Handles one key. Call [`render`](Self::render) afterwards.
    pub fn handle(&mut self, key: ScrollKey, history: &History, screen: &vt100::Screen) -> ScrollAction {
        let ext = Extent::of(history, screen);
        self.clamp(&ext);
        self.message = None;
        if self.prompt.is_some() {
            self.handle_prompt(key, history, screen);
            return ScrollAction::Stay;
        }
        let page = i64::from(self.height.saturating_sub(1).max(1));
        match key {
            ScrollKey::Up | ScrollKey::Char('k') => self.move_cursor(&ext, -1),
            ScrollKey::Down | ScrollKey::Char('j') => self.move_cursor(&ext, 1),
            ScrollKey::PageUp => self.scroll(&ext, -page),
            ScrollKey::PageDown => self.scroll(&ext, page),
            ScrollKey::WheelUp => self.scroll(&ext, -WHEEL_LINES),
            ScrollKey::WheelDown => self.scroll(&ext, WHEEL_LINES),
            ScrollKey::Home | ScrollKey::Char('g') => {
                self.top = ext.first;
                self.cursor = ext.first;
            }
            ScrollKey::End | ScrollKey::Char('G') => {
                self.top = ext.bottom_top(self.height);
                self.cursor = ext.clamp_line(ext.end.saturating_sub(1));
            }
            ScrollKey::Char(c @ ('/' | '?')) => self.prompt = Some(Prompt { backward: c == '?', text: String::new() }),
            ScrollKey::Char('n') => self.find(history, screen, false),
            ScrollKey::Char('N') => self.find(history, screen, true),
            ScrollKey::Char('v') => self.anchor = if self.anchor.is_some() { None } else { Some(self.cursor) },
            ScrollKey::Char('y') => return ScrollAction::Yank(self.selected_text(history, screen, &ext)),
            ScrollKey::Char('q') | ScrollKey::Escape => return ScrollAction::Leave,
            _ => {}
        }
        self.clamp(&ext);
        ScrollAction::Stay
    }

    fn handle_prompt(&mut self, key: ScrollKey, history: &History, screen: &vt100::Screen) {
        let Some(prompt) = &mut self.prompt else { return };
        match key {
            ScrollKey::Char(c) => prompt.text.push(c),
            ScrollKey::Backspace if prompt.text.is_empty() => self.prompt = None,
            ScrollKey::Backspace => {
                prompt.text.pop();
            }
            ScrollKey::Escape => self.prompt = None,
            ScrollKey::Enter => {
                let Prompt { backward, text } = self.prompt.take().expect("checked above");
                // An empty pattern repeats the last search, as in vi.
                let pattern = match (text.is_empty(), &self.search) {
                    (false, _) => text,
                    (true, Some(search)) => search.pattern.clone(),
                    (true, None) => return,
                };
                self.search = Some(Search { pattern, backward, current: None });
                self.find(history, screen, false);
            }
            _ => {}
        }
    }

    /// Goes to the next match in the search's direction, or the opposite
    /// one with `reverse` (`N`).
    fn find(&mut self, history: &History, screen: &vt100::Screen, reverse: bool) {
        let ext = Extent::of(history, screen);
        let Some(search) = &self.search else {
            self.message = Some("no search yet: type / or ?".into());
            return;
        };
        let backward = search.backward != reverse;
        let count = ext.index(ext.end).max(1);
        let from = match search.current {
            Some((line, col)) if line >= ext.first => Position { line: ext.index(line), col },
            // From the cursor: a forward search starts with the cursor's
            // line (so, from the end of the line before), a backward search
            // with the line above.
            _ if backward => Position { line: ext.index(self.cursor), col: 0 },
            _ => Position { line: (ext.index(self.cursor) + count - 1) % count, col: usize::MAX },
        };
        let screen_lines: Vec<String> =
            (0..screen.size().0.get()).map(|r| plain(&screen_row_formatted(screen, r))).collect();
        let found = history.search(&search.pattern, from, backward, &screen_lines);
        let pattern = search.pattern.clone();
        match found {
            Some(at) => {
                let line = ext.first + at.line as u64;
                if let Some(search) = &mut self.search {
                    search.current = Some((line, at.col));
                }
                self.cursor = line;
                if line < self.top || line >= self.top + u64::from(self.height) {
                    self.top = ext.clamp_top(line.saturating_sub(u64::from(self.height / 2)), self.height);
                }
            }
            None => {
                if let Some(search) = &mut self.search {
                    search.current = None;
                }
                self.message = Some(format!("not found: {pattern}"));
            }
        }
    }

    fn move_cursor(&mut self, ext: &Extent, delta: i64) {
        self.cursor = ext.clamp_line(self.cursor.saturating_add_signed(delta));
        if self.cursor < self.top {
            self.top = self.cursor;
        } else if self.cursor >= self.top + u64::from(self.height) {
            self.top = self.cursor + 1 - u64::from(self.height);
        }
    }

    /// Moves the view and the cursor together.
    fn scroll(&mut self, ext: &Extent, delta: i64) {
        self.top = ext.clamp_top(self.top.saturating_add_signed(delta), self.height);
        self.cursor = ext.clamp_line(self.cursor.saturating_add_signed(delta));
    }

    /// Keeps the view within the lines there are and the cursor within the
    /// view.
    fn clamp(&mut self, ext: &Extent) {
        self.top = ext.clamp_top(self.top, self.height);
        self.cursor = self.clamped_cursor(ext, self.top, self.height);
        self.anchor = self.anchor.map(|a| ext.clamp_line(a));
    }

    fn clamped_cursor(&self, ext: &Extent, top: u64, height: u16) -> u64 {
        ext.clamp_line(self.cursor.clamp(top, top + u64::from(height) - 1))
    }

    /// The selected lines (or the cursor's line, with no selection) as plain
    /// text. A row the program's text wrapped at the screen edge is joined to
    /// the next without a newline.
    fn selected_text(&self, history: &History, screen: &vt100::Screen, ext: &Extent) -> String {
        let anchor = self.anchor.unwrap_or(self.cursor);
        let (from, to) = (anchor.min(self.cursor), anchor.max(self.cursor));
        let mut text = String::new();
        for line in from..=to.min(ext.end.saturating_sub(1)) {
            let row = plain(&line_formatted(history, screen, ext, line));
            if line < to && line_wrapped(history, screen, ext, line) {
                text.push_str(&row);
            } else {
                text.push_str(row.trim_end());
                if line < to {
                    text.push('\n');
                }
            }
        }
        text
    }

    /// The lines to draw over the session area, `rows` of them, each at most
    /// `cols` wide. Each line starts and ends with an SGR reset and holds no
    /// cursor movement: move to the row, write it, then erase to the end of
    /// the line (`ESC[K`).
    pub fn render(&self, history: &History, screen: &vt100::Screen, rows: u16, cols: u16) -> Vec<String> {
        let ext = Extent::of(history, screen);
        let rows = rows.max(1);
        let top = ext.clamp_top(self.top, rows);
        let cursor = self.clamped_cursor(&ext, top, rows);
        let selection = self.anchor.map(|a| (a.min(cursor), a.max(cursor)));
        (0..u64::from(rows))
            .map(|i| {
                let line = top + i;
                if line >= ext.end {
                    return String::from("\x1b[m");
                }
                let formatted = line_formatted(history, screen, &ext, line);
                let selected = selection.is_some_and(|(from, to)| (from..=to).contains(&line));
                let marks = self.matches(&formatted, line);
                decorate(&formatted, usize::from(cols), &marks, selected.then_some(SELECTED))
            })
            .collect()
    }

    /// Where search matches are on a line: byte ranges of its plain text.
    fn matches(&self, formatted: &str, line: u64) -> Vec<Mark> {
        let Some(search) = &self.search else { return Vec::new() };
        let text = plain(formatted);
        let current = search.current.filter(|&(l, _)| l == line).map(|(_, col)| Mark {
            start: col,
            end: col + search.pattern.len(),
            sgr: CURRENT_MATCH,
        });
        let mut marks: Vec<Mark> = text
            .match_indices(search.pattern.as_str())
            .map(|(i, m)| Mark { start: i, end: i + m.len(), sgr: MATCH })
            .filter(|m| !current.is_some_and(|c| m.start < c.end && c.start < m.end))
            .collect();
        marks.extend(current);
        marks.sort_by_key(|m| m.start);
        marks
    }

    /// Where the terminal cursor goes in the view: (row, col), zero-based.
    pub fn cursor_position(&self, history: &History, screen: &vt100::Screen) -> (u16, u16) {
        let ext = Extent::of(history, screen);
        let top = ext.clamp_top(self.top, self.height);
        let cursor = self.clamped_cursor(&ext, top, self.height);
        let col = match &self.search {
            Some(Search { current: Some((line, col)), .. }) if *line == cursor => {
                let text = plain(&line_formatted(history, screen, &ext, cursor));
                text.get(..*col).map_or(0, |before| before.chars().filter_map(|c| c.width()).sum::<usize>())
            }
            _ => 0,
        };
        ((cursor - top) as u16, col.min(usize::from(u16::MAX)) as u16)
    }

    /// The position for the status row, as tmux shows it: lines above the
    /// live bottom, then rows of history, e.g. `[120/9800]`.
    pub fn position(&self, history: &History, screen: &vt100::Screen) -> String {
        let ext = Extent::of(history, screen);
        let top = ext.clamp_top(self.top, self.height);
        format!("[{}/{}]", ext.bottom_top(self.height) - top, history.len())
    }

    /// What the status row should say: the search prompt while one is being
    /// typed, otherwise any message and the position.
    pub fn status(&self, history: &History, screen: &vt100::Screen) -> String {
        if let Some(prompt) = &self.prompt {
            return format!("{}{}", if prompt.backward { '?' } else { '/' }, prompt.text);
        }
        let position = self.position(history, screen);
        match &self.message {
            Some(message) => format!("{message} {position}"),
            None => position,
        }
    }

    /// Whether a search pattern is being typed (the status row is a prompt).
    pub fn prompting(&self) -> bool {
        self.prompt.is_some()
    }
}

/// A stretch of a line's plain text to draw with `sgr`.
#[derive(Debug, Clone, Copy)]
struct Mark {
    start: usize,
    end: usize,
    sgr: &'static str,
}

/// A formatted line cut to `cols` columns, with `marks` (sorted, not
/// overlapping) drawn in their SGR and, with `whole`, all of it (padded to
/// `cols`) in that SGR. The line's own attribute changes are kept; a mark is
/// switched back on after each, and off by restoring the line's attributes.
fn decorate(formatted: &str, cols: usize, marks: &[Mark], whole: Option<&str>) -> String {
    let mut out = String::with_capacity(formatted.len() + 16);
    out.push_str("\x1b[m");
    out.extend(whole);
    // The line's own SGR sequences since its last reset.
    let mut own = String::new();
    let mut width = 0;
    let mut at = 0;
    let mut marks = marks.iter().peekable();
    let mut in_mark: Option<&Mark> = None;
    let mut rest = formatted;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b' {
            let end = rest.find('m').map_or(rest.len(), |i| i + 1);
            let sgr = &rest[..end];
            rest = &rest[end..];
            if sgr == "\x1b[m" || sgr == "\x1b[0m" {
                own.clear();
            } else {
                own.push_str(sgr);
            }
            out.push_str(sgr);
            out.extend(in_mark.map(|m| m.sgr).or(whole));
            continue;
        }
        if in_mark.is_some_and(|m| at >= m.end) {
            in_mark = None;
            out.push_str("\x1b[m");
            out.push_str(&own);
            out.extend(whole);
        }
        if in_mark.is_none() {
            while marks.next_if(|m| m.end <= at).is_some() {}
            if let Some(m) = marks.next_if(|m| m.start <= at) {
                out.push_str(m.sgr);
                in_mark = Some(m);
            }
        }
        let w = c.width().unwrap_or(0);
        if width + w > cols {
            break;
        }
        width += w;
        out.push(c);
        at += c.len_utf8();
        rest = &rest[c.len_utf8()..];
    }
    if let Some(whole) = whole {
        out.push_str("\x1b[m");
        out.push_str(whole);
        out.push_str(&" ".repeat(cols.saturating_sub(width)));
    }
    out.push_str("\x1b[m");
    out
}

/// Decodes the keys scroll mode uses from one read of terminal input,
/// including mouse wheel reports (X10 and SGR encodings). A lone ESC at the
/// end of a read is the Escape key; sequences it does not know are skipped.
pub fn decode(bytes: &[u8]) -> Vec<ScrollKey> {
    let mut keys = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let (key, len) = match bytes[i] {
            0x1b => match bytes.get(i + 1) {
                Some(b'[') => csi(&bytes[i + 2..]).map_or((None, bytes.len() - i), |(k, n)| (k, n + 2)),
                Some(b'O') => {
                    let key = match bytes.get(i + 2) {
                        Some(b'A') => Some(ScrollKey::Up),
                        Some(b'B') => Some(ScrollKey::Down),
                        Some(b'H') => Some(ScrollKey::Home),
                        Some(b'F') => Some(ScrollKey::End),
                        _ => None,
                    };
                    (key, 3)
                }
                _ => (Some(ScrollKey::Escape), 1),
            },
            b'\r' | b'\n' => (Some(ScrollKey::Enter), 1),
            0x7f | 0x08 => (Some(ScrollKey::Backspace), 1),
            // Ctrl-C leaves, as in tmux.
            0x03 => (Some(ScrollKey::Escape), 1),
            b if b < 0x20 => (None, 1),
            b => {
                let len = match b {
                    0xc0..=0xdf => 2,
                    0xe0..=0xef => 3,
                    0xf0..=0xf7 => 4,
                    _ => 1,
                };
                let c = bytes.get(i..i + len).and_then(|s| std::str::from_utf8(s).ok()).and_then(|s| s.chars().next());
                (c.map(ScrollKey::Char), if c.is_some() { len } else { 1 })
            }
        };
        keys.extend(key);
        i += len;
    }
    keys
}

/// A CSI sequence's key and length, from the bytes after `ESC [`; `None`
/// when the sequence is cut off.
fn csi(bytes: &[u8]) -> Option<(Option<ScrollKey>, usize)> {
    // X10 mouse: `M` and three bytes, button first, each plus 32.
    if bytes.first() == Some(&b'M') {
        let button = *bytes.get(1)?;
        bytes.get(3)?;
        return Some((wheel(u16::from(button.wrapping_sub(32))), 4));
    }
    let end = bytes.iter().position(|b| (0x40..=0x7e).contains(b))?;
    let params = std::str::from_utf8(&bytes[..end]).unwrap_or("");
    let key = match (bytes[end], params) {
        (b'A', _) => Some(ScrollKey::Up),
        (b'B', _) => Some(ScrollKey::Down),
        (b'H', _) => Some(ScrollKey::Home),
        (b'F', _) => Some(ScrollKey::End),
        (b'~', "1" | "7") => Some(ScrollKey::Home),
        (b'~', "4" | "8") => Some(ScrollKey::End),
        (b'~', "5") => Some(ScrollKey::PageUp),
        (b'~', "6") => Some(ScrollKey::PageDown),
        // SGR mouse: `<button;x;y` then M (press) or m (release).
        (b'M', p) if p.starts_with('<') => p[1..].split(';').next().and_then(|b| b.parse().ok()).and_then(wheel),
        _ => None,
    };
    Some((key, end + 1))
}

/// The wheel direction of a mouse button code (modifier bits ignored).
fn wheel(button: u16) -> Option<ScrollKey> {
    match button & !(4 | 8 | 16) {
        64 => Some(ScrollKey::WheelUp),
        65 => Some(ScrollKey::WheelDown),
        _ => None,
    }
}

/// The OSC 52 sequence that puts `text` on the outer terminal's clipboard.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64(text.as_bytes()))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Terminal;

    /// A 10×30 terminal that has printed `line 0` .. `line {n-1}`, the
    /// cursor on an empty last row.
    fn terminal(n: usize) -> Terminal {
        let mut t = Terminal::new(10, 30);
        feed(&mut t, 0..n);
        t
    }

    fn feed(t: &mut Terminal, lines: std::ops::Range<usize>) {
        let text: String = lines.map(|i| format!("line {i}\r\n")).collect();
        t.process(text.as_bytes());
    }

    fn press(view: &mut ScrollView, t: &Terminal, keys: &[u8]) -> ScrollAction {
        let mut last = ScrollAction::Stay;
        for key in decode(keys) {
            last = view.handle(key, t.history(), t.screen());
        }
        last
    }

    fn shown(view: &ScrollView, t: &Terminal) -> Vec<String> {
        let (cols, rows) = t.size();
        view.render(t.history(), t.screen(), rows, cols).iter().map(|l| plain(l).trim_end().to_string()).collect()
    }

    #[test]
    fn starts_at_the_bottom_and_pages_up_and_down() {
        let t = terminal(100);
        let mut view = ScrollView::new(t.history(), t.screen(), 10);
        assert_eq!(t.history().len(), 91);
        assert_eq!(view.position(t.history(), t.screen()), "[0/91]");
        assert_eq!(shown(&view, &t)[0], "line 91");
        assert_eq!(view.cursor_position(t.history(), t.screen()), (9, 0));

        press(&mut view, &t, b"\x1b[5~");
        assert_eq!(view.position(t.history(), t.screen()), "[9/91]");
        assert_eq!(shown(&view, &t)[0], "line 82");
        press(&mut view, &t, b"\x1b[6~\x1b[6~");
        assert_eq!(view.position(t.history(), t.screen()), "[0/91]");

        press(&mut view, &t, b"g");
        assert_eq!(view.position(t.history(), t.screen()), "[91/91]");
        assert_eq!(shown(&view, &t)[0], "line 0");
        assert_eq!(view.cursor_position(t.history(), t.screen()), (0, 0));
        // The cursor moves down through the view, then the view follows.
        press(&mut view, &t, &b"j".repeat(12));
        assert_eq!(view.cursor_position(t.history(), t.screen()), (9, 0));
        assert_eq!(shown(&view, &t)[0], "line 3");
        press(&mut view, &t, b"\x1b[A\x1bOAk");
        assert_eq!(view.cursor_position(t.history(), t.screen()), (6, 0));
        press(&mut view, &t, b"G");
        assert_eq!(view.position(t.history(), t.screen()), "[0/91]");
        assert_eq!(press(&mut view, &t, b"q"), ScrollAction::Leave);
        assert_eq!(press(&mut view, &t, b"\x1b"), ScrollAction::Leave);
    }

    #[test]
    fn view_stays_still_while_output_arrives() {
        let mut t = terminal(200);
        let mut view = ScrollView::new(t.history(), t.screen(), 10);
        press(&mut view, &t, b"\x1b[5~\x1b[5~");
        let before = shown(&view, &t);
        assert_eq!(before[0], "line 173");
        feed(&mut t, 200..1200);
        assert_eq!(shown(&view, &t), before);
        assert_eq!(view.position(t.history(), t.screen()), "[1018/1191]");
        // Keys still work from where the view is.
        press(&mut view, &t, b"k");
        assert_eq!(shown(&view, &t)[0], "line 173");
    }

    #[test]
    fn view_survives_the_oldest_rows_being_dropped() {
        let mut t = Terminal::with_history_limit(10, 30, 500);
        feed(&mut t, 0..600);
        let mut view = ScrollView::new(t.history(), t.screen(), 10);
        press(&mut view, &t, b"\x1b[5~");
        assert_eq!(shown(&view, &t)[0], "line 582");
        feed(&mut t, 600..700);
        assert_eq!(shown(&view, &t)[0], "line 582");
        // Once its own text is dropped, the view holds at the oldest row.
        press(&mut view, &t, b"g");
        feed(&mut t, 700..750);
        assert_eq!(shown(&view, &t)[0], "line 241");
        press(&mut view, &t, b"j");
        assert_eq!(view.position(t.history(), t.screen()), "[500/500]");
    }

    #[test]
    fn resize_clamps() {
        let mut t = terminal(30);
        let mut view = ScrollView::new(t.history(), t.screen(), 10);
        press(&mut view, &t, b"g");
        t.history_mut().set_limit(5);
        t.resize(30, 4);
        view.resize(4);
        let lines = shown(&view, &t);
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], "line 22");
        assert_eq!(view.cursor_position(t.history(), t.screen()), (0, 0));
        // Taller than everything there is: the rest is blank.
        t.resize(30, 20);
        view.resize(40);
        let (history, screen) = (t.history(), t.screen());
        let lines = view.render(history, screen, 40, 30);
        assert_eq!(lines.len(), 40);
        assert_eq!(view.position(history, screen), "[0/5]");
        press(&mut view, &t, b"\x1b[6~G\x1b[5~gkj");
        let (row, _) = view.cursor_position(t.history(), t.screen());
        assert!(row < 40);
        // Narrower than the history's rows: cut to the width.
        let narrow = view.render(t.history(), t.screen(), 3, 4);
        assert_eq!(plain(&narrow[0]), "line");
    }

    #[test]
    fn search_finds_text_in_history_and_on_screen() {
        let mut t = terminal(50);
        t.process(b"the needle here\r\nmore\r\n");
        let mut view = ScrollView::new(t.history(), t.screen(), 10);
        press(&mut view, &t, b"g/line 4");
        assert_eq!(view.status(t.history(), t.screen()), "/line 4");
        assert!(view.prompting());
        press(&mut view, &t, b"\r");
        assert!(!view.prompting());
        assert_eq!(view.cursor_position(t.history(), t.screen()), (4, 0));
        press(&mut view, &t, b"n");
        assert_eq!(shown(&view, &t)[5], "line 40");
        assert_eq!(view.cursor_position(t.history(), t.screen()), (5, 0));
        press(&mut view, &t, b"nN");
        assert_eq!(view.cursor_position(t.history(), t.screen()), (5, 0));
        press(&mut view, &t, b"N");
        assert_eq!(view.cursor_position(t.history(), t.screen()), (4, 0));
        assert_eq!(shown(&view, &t)[4], "line 4");

        // On the screen, and highlighted there.
        press(&mut view, &t, b"/needle\r");
        assert_eq!(view.position(t.history(), t.screen()), "[0/43]");
        let (row, col) = view.cursor_position(t.history(), t.screen());
        assert_eq!(col, 4);
        let drawn = view.render(t.history(), t.screen(), 10, 30);
        assert!(drawn[usize::from(row)].contains("the \x1b[1;7mneedle\x1b[m here"), "{:?}", drawn[usize::from(row)]);

        // Backward with ?, all matches highlighted, the current one bold.
        press(&mut view, &t, b"?line 1\r");
        let drawn = view.render(t.history(), t.screen(), 10, 30);
        let (row, _) = view.cursor_position(t.history(), t.screen());
        assert!(drawn[usize::from(row)].contains("\x1b[1;7mline 1\x1b[m"), "{drawn:?}");
        assert!(drawn.iter().filter(|l| l.contains("\x1b[7mline 1")).count() > 0, "{drawn:?}");

        press(&mut view, &t, b"/nowhere\r");
        assert!(view.status(t.history(), t.screen()).starts_with("not found: nowhere"));
    }

    #[test]
    fn search_prompt_edits_and_cancels() {
        let t = terminal(50);
        let mut view = ScrollView::new(t.history(), t.screen(), 10);
        press(&mut view, &t, b"/lx\x7fine 7");
        assert_eq!(view.status(t.history(), t.screen()), "/line 7");
        assert_eq!(press(&mut view, &t, b"\x1b"), ScrollAction::Stay);
        assert!(!view.prompting());
        assert_eq!(view.position(t.history(), t.screen()), "[0/41]");
        press(&mut view, &t, b"?x\x7f\x7f");
        assert!(!view.prompting());
    }

    #[test]
    fn highlights_keep_the_rows_own_colors() {
        // "bc" marked: it starts in the default colors and ends in red.
        let marks = [Mark { start: 1, end: 3, sgr: MATCH }];
        let line = decorate("ab\x1b[31mcd\x1b[32mef\x1b[m g", 80, &marks, None);
        assert_eq!(line, "\x1b[ma\x1b[7mb\x1b[31m\x1b[7mc\x1b[m\x1b[31md\x1b[32mef\x1b[m g\x1b[m");
        let mut t = Terminal::new(1, 10);
        t.process(line.as_bytes());
        let cell = |c| t.screen().cell(0, c).unwrap().clone();
        assert!(!cell(0).inverse() && cell(1).inverse() && cell(2).inverse() && !cell(3).inverse());
        assert_eq!(cell(2).fgcolor(), vt100::Color::Idx(1));
        assert_eq!(cell(3).fgcolor(), vt100::Color::Idx(1));
        assert_eq!(cell(4).fgcolor(), vt100::Color::Idx(2));
        assert_eq!(cell(7).fgcolor(), vt100::Color::Default);

        // A mark across a reset in the row stays on; a selected line is
        // reversed to the full width.
        let marks = [Mark { start: 0, end: 2, sgr: MATCH }];
        let line = decorate("\x1b[31ma\x1b[mb", 4, &marks, Some(SELECTED));
        let mut t = Terminal::new(1, 10);
        t.process(line.as_bytes());
        assert!((0..4).all(|c| t.screen().cell(0, c).unwrap().inverse()));
        assert!(!t.screen().cell(0, 4).unwrap().inverse());
    }

    #[test]
    fn selection_is_drawn_and_yanked() {
        let mut t = terminal(30);
        t.process(b"0123456789012345678901234567890123456789\r\n");
        let mut view = ScrollView::new(t.history(), t.screen(), 10);
        press(&mut view, &t, b"\x1b[5~");
        let first = shown(&view, &t)[view.cursor_position(t.history(), t.screen()).0 as usize].clone();
        assert_eq!(first, "line 23");
        press(&mut view, &t, b"vjj");
        let drawn = view.render(t.history(), t.screen(), 10, 30);
        let selected = drawn.iter().filter(|l| l.starts_with("\x1b[m\x1b[7m")).count();
        assert_eq!(selected, 3);
        assert_eq!(press(&mut view, &t, b"y"), ScrollAction::Yank("line 23\nline 24\nline 25".into()));

        // Upward, and a wrapped row joined to its continuation.
        let mut view = ScrollView::new(t.history(), t.screen(), 10);
        press(&mut view, &t, b"kvkkk");
        assert_eq!(
            press(&mut view, &t, b"y"),
            ScrollAction::Yank("line 28\nline 29\n0123456789012345678901234567890123456789".into())
        );
        // With no selection, the cursor's line.
        let mut view = ScrollView::new(t.history(), t.screen(), 10);
        press(&mut view, &t, b"kkkk");
        assert_eq!(press(&mut view, &t, b"y"), ScrollAction::Yank("line 28".into()));
    }

    #[test]
    fn decodes_keys() {
        use ScrollKey::*;
        assert_eq!(
            decode(b"\x1b[5~\x1b[6~\x1b[A\x1bOA\x1b[B\x1bOB\x1b[H\x1b[1~\x1b[F\x1b[4~q/\xc3\xa9\r\x7f\x1b"),
            vec![
                PageUp,
                PageDown,
                Up,
                Up,
                Down,
                Down,
                Home,
                Home,
                End,
                End,
                Char('q'),
                Char('/'),
                Char('é'),
                Enter,
                Backspace,
                Escape
            ]
        );
        assert_eq!(decode(b"\x1b[<64;10;5M\x1b[<65;1;1M\x1b[<0;1;1M\x1b[<0;1;1m"), vec![WheelUp, WheelDown]);
        assert_eq!(decode(b"\x1b[M`!!\x1b[Ma!!x"), vec![WheelUp, WheelDown, Char('x')]);
        // Unknown and cut-off sequences are skipped.
        assert_eq!(decode(b"\x1b[15~a\x1b[1;5"), vec![Char('a')]);
        assert_eq!(decode(b"\x03"), vec![Escape]);
    }

    #[test]
    fn osc52_encodes_base64() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(osc52("héllo\n"), "\x1b]52;c;aMOpbGxvCg==\x07");
    }
}
