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
use crate::keys::Key;

/// How far one wheel notch scrolls, as in tmux.
const WHEEL_LINES: i64 = 5;

/// Search matches are drawn in reverse video, the current one bold too.
const MATCH: &str = "\x1b[7m";
const CURRENT_MATCH: &str = "\x1b[1;7m";
const SELECTED: &str = "\x1b[7m";

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
    pub fn handle(&mut self, key: Key, history: &History, screen: &vt100::Screen) -> ScrollAction {
        let ext = Extent::of(history, screen);
        self.clamp(&ext);
        self.message = None;
        if self.prompt.is_some() {
            self.handle_prompt(key, history, screen);
            return ScrollAction::Stay;
        }
        let page = i64::from(self.height.saturating_sub(1).max(1));
        match key {
            Key::Up | Key::Char('k') => self.move_cursor(&ext, -1),
            Key::Down | Key::Char('j') => self.move_cursor(&ext, 1),
            Key::PageUp => self.scroll(&ext, -page),
            Key::PageDown => self.scroll(&ext, page),
            Key::WheelUp => self.scroll(&ext, -WHEEL_LINES),
            Key::WheelDown => {
                self.scroll(&ext, WHEEL_LINES);
                // Wheeled back to the bottom: back to the live session.
                if self.top >= ext.bottom_top(self.height) {
                    return ScrollAction::Leave;
                }
            }
            Key::Home | Key::Char('g') => {
                self.top = ext.first;
                self.cursor = ext.first;
            }
            Key::End | Key::Char('G') => {
                self.top = ext.bottom_top(self.height);
                self.cursor = ext.clamp_line(ext.end.saturating_sub(1));
            }
            Key::Char(c @ ('/' | '?')) => self.prompt = Some(Prompt { backward: c == '?', text: String::new() }),
            Key::Char('n') => self.find(history, screen, false),
            Key::Char('N') => self.find(history, screen, true),
            Key::Char('v') => self.anchor = if self.anchor.is_some() { None } else { Some(self.cursor) },
            Key::Char('y') => return ScrollAction::Yank(self.selected_text(history, screen, &ext)),
            Key::Char('q') | Key::Escape | Key::Ctrl('c') => return ScrollAction::Leave,
            _ => {}
        }
        self.clamp(&ext);
        ScrollAction::Stay
    }

    fn handle_prompt(&mut self, key: Key, history: &History, screen: &vt100::Screen) {
        let Some(prompt) = &mut self.prompt else { return };
        match key {
            Key::Char(c) => prompt.text.push(c),
            Key::Backspace if prompt.text.is_empty() => self.prompt = None,
            Key::Backspace => {
                prompt.text.pop();
            }
            Key::Escape => self.prompt = None,
            Key::Enter => {
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
    // Whether an OSC 8 hyperlink is open: one cut off by the view's edge
    // is closed there, so it does not run on into the next row.
    let mut linked = false;
    let mut rest = formatted;
    while let Some(c) = rest.chars().next() {
        if let Some(osc) = rest.strip_prefix("\x1b]") {
            // A hyperlink, up to its terminator (BEL or ESC \\); it is no
            // SGR, so marks and resets leave it alone.
            let end = osc
                .find(['\x07', '\x1b'])
                .map_or(osc.len(), |i| i + if osc[i..].starts_with("\x1b\\") { 2 } else { 1 });
            let link = &rest[..2 + end];
            rest = &rest[2 + end..];
            linked = !link.starts_with("\x1b]8;;\x1b") && !link.starts_with("\x1b]8;;\x07");
            out.push_str(link);
            continue;
        }
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
    if linked {
        out.push_str(crate::history::LINK_END);
    }
    if let Some(whole) = whole {
        out.push_str("\x1b[m");
        out.push_str(whole);
        out.push_str(&" ".repeat(cols.saturating_sub(width)));
    }
    out.push_str("\x1b[m");
    out
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
mod tests;
