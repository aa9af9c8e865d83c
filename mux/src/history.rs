//! A session's history: the rows that scrolled off the top of its screen.
//!
//! vt100 can keep scrollback itself, but a cell costs 32 bytes there, about
//! 61 MB for 10k rows at 200 columns, and parsing with it is slow. So the
//! parser keeps none, and every row that leaves the screen comes here as
//! "basic formatted" text: the characters plus SGR sequences, nothing else.
//! Each row is formatted from default attributes, so any row can be drawn,
//! searched or copied on its own.
//!
//! Rows are packed end to end into a few large chunks and indexed by a
//! 12-byte entry each; a chunk is freed once the limit has dropped all of its
//! rows. Measured against one `Box<str>` per row, 10k rows cost about 330 KB
//! instead of 850 KB for short (`seq`) lines and 1.38 MB instead of 1.68 MB
//! for 100-character colored lines.
//!
//! Lines are numbered two ways. An *index* counts from the oldest row still
//! kept (0..[`History::len`]), and screen rows follow the last index in
//! [`History::search`] and [`capture`]. An *absolute* line number counts every
//! row ever pushed ([`History::first_line`] is the oldest kept), so a position
//! held by absolute number stays on the same text while rows arrive and the
//! oldest are dropped. A screen row `r` has absolute number
//! `total_pushed() + r`, and keeps it when it scrolls into history.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;

use vt100::capture::{basic_formatted_to_plain, BasicFormattedCaptureState, RowContents};

/// The `history-limit` used when the config does not set one.
pub const DEFAULT_LIMIT: usize = 10_000;

/// The `history-bytes` used when the config does not set one: no output,
/// however colourful, makes one session's history hold more.
pub const DEFAULT_BYTE_LIMIT: usize = 8 << 20;

/// New chunks start small, so a session with little history costs little,
/// and double up to the largest size.
const CHUNK_MIN: usize = 4 * 1024;
const CHUNK_MAX: usize = 64 * 1024;

/// The top bit of [`RowRef::len`] holds the row's wrapped flag.
const WRAPPED: u32 = 1 << 31;

/// A place in history-then-screen text: `line` is an index (history rows
/// first, then screen rows), `col` a byte offset into that line's plain text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: usize,
    pub col: usize,
}

/// The rows that scrolled off one session's screen, oldest first, at most
/// `limit` of them in at most about `byte_limit` bytes.
pub struct History {
    limit: usize,
    /// The oldest rows go, a chunk at a time, while the history holds more
    /// than this (give or take the chunk being written).
    byte_limit: usize,
    chunks: VecDeque<Chunk>,
    /// The heap bytes of all chunks, kept as they change.
    chunk_bytes: usize,
    /// The number of the chunk at the front of `chunks`, counting every chunk
    /// ever made (wrapping; rows name their chunk by this number).
    first_chunk: u32,
    rows: VecDeque<RowRef>,
    /// Rows ever pushed, dropped ones included.
    pushed: u64,
    /// Reused buffer for formatting a row that scrolled off.
    scratch: String,
    /// The last sealed chunk read, decompressed: scroll mode and search read
    /// rows in order, so one chunk serves many rows.
    cache: std::cell::RefCell<Option<(u32, String)>>,
}

/// A chunk of rows. Only the newest is written to; when it is full it is
/// compressed (LZ4: rows of a transcript repeat their escape sequences and
/// words, so this takes coloured text to well under half its size) and the
/// next rows go into a new one.
enum Chunk {
    Open(String),
    Sealed { data: Box<[u8]>, len: usize },
}

impl Chunk {
    fn heap_bytes(&self) -> usize {
        match self {
            Chunk::Open(s) => s.capacity(),
            Chunk::Sealed { data, .. } => data.len(),
        }
    }

    fn seal(&mut self) {
        if let Chunk::Open(text) = self {
            let len = text.len();
            *self = Chunk::Sealed { data: lz4_flex::compress(text.as_bytes()).into_boxed_slice(), len };
        }
    }
}

/// Where a row's text is: `len` bytes from `start` in chunk number `chunk`.
#[derive(Debug, Clone, Copy)]
struct RowRef {
    chunk: u32,
    start: u32,
    /// Byte length, with [`WRAPPED`] set when the row continues on the next.
    len: u32,
}

impl Default for History {
    fn default() -> Self {
        History::new(DEFAULT_LIMIT)
    }
}

impl fmt::Debug for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("History")
            .field("len", &self.len())
            .field("limit", &self.limit)
            .field("pushed", &self.pushed)
            .field("memory_bytes", &self.memory_bytes())
            .finish()
    }
}

impl History {
    /// An empty history that keeps at most `limit` rows.
    pub fn new(limit: usize) -> Self {
        History {
            limit,
            byte_limit: usize::MAX,
            chunks: VecDeque::new(),
            chunk_bytes: 0,
            first_chunk: 0,
            rows: VecDeque::new(),
            pushed: 0,
            scratch: String::new(),
            cache: Default::default(),
        }
    }

    /// Adds a row at the bottom, dropping the oldest beyond the limit.
    /// `formatted` is text and SGR sequences only, starting from default
    /// attributes; `wrapped` says the row's text continues on the next row.
    pub fn push(&mut self, formatted: &str, wrapped: bool) {
        self.pushed += 1;
        if self.limit == 0 {
            return;
        }
        // The top bit of the length is the wrapped flag; no real row is
        // anywhere near 2 GB, but never let one corrupt the index.
        let mut end = formatted.len().min(WRAPPED as usize - 1);
        while !formatted.is_char_boundary(end) {
            end -= 1;
        }
        let formatted = &formatted[..end];

        let room = match self.chunks.back() {
            Some(Chunk::Open(c)) => Some(c.capacity() - c.len()),
            _ => None,
        };
        if room.is_none_or(|room| room < formatted.len()) {
            let capacity = match self.chunks.back_mut() {
                Some(last) => {
                    let size = match last {
                        Chunk::Open(c) => c.capacity(),
                        Chunk::Sealed { len, .. } => *len,
                    };
                    self.chunk_bytes -= last.heap_bytes();
                    last.seal();
                    self.chunk_bytes += last.heap_bytes();
                    size * 2
                }
                None => CHUNK_MIN,
            };
            let open = String::with_capacity(capacity.clamp(CHUNK_MIN, CHUNK_MAX).max(end));
            self.chunk_bytes += open.capacity();
            self.chunks.push_back(Chunk::Open(open));
        }
        let chunk_number = self.first_chunk.wrapping_add(self.chunks.len() as u32 - 1);
        let Some(Chunk::Open(chunk)) = self.chunks.back_mut() else { unreachable!("an open chunk was just ensured") };
        let start = chunk.len() as u32;
        chunk.push_str(formatted);

        if self.rows.len() == self.rows.capacity() && self.rows.len() < self.limit {
            // Grow by doubling, but never past the limit: at 10k rows that
            // saves a third of the index.
            let more = self.rows.len().max(64).min(self.limit - self.rows.len());
            self.rows.reserve_exact(more);
        }
        self.rows.push_back(RowRef { chunk: chunk_number, start, len: end as u32 | if wrapped { WRAPPED } else { 0 } });
        self.trim();
    }

    /// Adds a row from vt100's [`on_scroll`](vt100::Callbacks::on_scroll).
    pub fn push_row(&mut self, row: RowContents<'_>) {
        if self.limit == 0 {
            self.pushed += 1;
            return;
        }
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        let mut state = BasicFormattedCaptureState::new();
        // Writing to a String cannot fail.
        let _ = row.write_formatted_basic(&mut text, &mut state);
        let wrapped = is_wrapped(&row, &mut state);
        self.push(&text, wrapped);
        self.scratch = text;
    }

    /// Counts rows ever pushed from `total` on, for a history rebuilt
    /// from another's rows: line numbers stay what they were.
    pub fn count_from(&mut self, total: u64) {
        self.pushed = self.pushed.max(total);
    }

    /// How many rows are kept.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The most rows kept.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Changes the limit, dropping the oldest rows beyond it now.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
        self.trim();
        if self.rows.capacity() > 2 * self.rows.len().max(64) {
            self.rows.shrink_to_fit();
        }
    }

    /// Sets the byte budget, dropping the oldest rows beyond it now.
    pub fn set_byte_limit(&mut self, bytes: usize) {
        self.byte_limit = bytes;
        self.trim();
    }

    /// The byte budget.
    pub fn byte_limit(&self) -> usize {
        self.byte_limit
    }

    /// Rows ever pushed, dropped ones included: the absolute line number
    /// that the next row will get, and that screen row 0 has now.
    pub fn total_pushed(&self) -> u64 {
        self.pushed
    }

    /// The absolute line number of row 0, the oldest kept.
    pub fn first_line(&self) -> u64 {
        self.pushed - self.rows.len() as u64
    }

    /// Row `i` (0 is the oldest) as text and SGR sequences, starting from
    /// default attributes. Panics if `i >= len()`.
    pub fn row_formatted(&self, i: usize) -> Cow<'_, str> {
        let row = self.rows[i];
        let range = row.start as usize..(row.start + (row.len & !WRAPPED)) as usize;
        match &self.chunks[row.chunk.wrapping_sub(self.first_chunk) as usize] {
            Chunk::Open(text) => Cow::Borrowed(&text[range]),
            Chunk::Sealed { data, len } => {
                let mut cache = self.cache.borrow_mut();
                if cache.as_ref().is_none_or(|(n, _)| *n != row.chunk) {
                    // Our own compressed UTF-8: it decompresses.
                    let bytes = lz4_flex::decompress(data, *len).unwrap_or_default();
                    *cache = Some((row.chunk, String::from_utf8(bytes).unwrap_or_default()));
                }
                let text = cache.as_ref().map_or("", |(_, t)| t.as_str());
                Cow::Owned(text.get(range).unwrap_or_default().to_string())
            }
        }
    }

    /// Row `i` as plain text. Panics if `i >= len()`.
    pub fn row_text(&self, i: usize) -> String {
        plain(&self.row_formatted(i))
    }

    /// Whether row `i`'s text continues on the next row (it was wrapped at
    /// the screen edge, not ended by a newline). Panics if `i >= len()`.
    pub fn row_wrapped(&self, i: usize) -> bool {
        self.rows[i].len & WRAPPED != 0
    }

    /// Takes the newest `n` rows out, oldest first, for rows laid out
    /// again at a new width. The rows kept keep their line numbers; the
    /// rows pushed next get the numbers the taken ones had.
    pub fn take_newest(&mut self, n: usize) -> Vec<(String, bool)> {
        let keep = self.len().saturating_sub(n);
        let taken = (keep..self.len()).map(|i| (self.row_formatted(i).into_owned(), self.row_wrapped(i))).collect();
        let mut rest = History::new(self.limit);
        rest.byte_limit = self.byte_limit;
        for i in 0..keep {
            rest.push(&self.row_formatted(i), self.row_wrapped(i));
        }
        rest.pushed = self.pushed - (self.len() - keep) as u64;
        *self = rest;
        taken
    }

    /// A number that changes whenever rows' memory is freed (a chunk
    /// dropped), for a server deciding whether to hand free pages back.
    pub fn freed_mark(&self) -> u32 {
        self.first_chunk
    }

    /// Forgets every row. Absolute line numbers keep counting.
    pub fn clear(&mut self) {
        *self.cache.borrow_mut() = None;
        self.first_chunk = self.first_chunk.wrapping_add(self.chunks.len() as u32);
        self.chunks = VecDeque::new();
        self.chunk_bytes = 0;
        self.rows = VecDeque::new();
    }

    /// About how many heap bytes the history holds.
    pub fn memory_bytes(&self) -> usize {
        self.chunk_bytes
            + self.chunks.capacity() * std::mem::size_of::<Chunk>()
            + self.cache.borrow().as_ref().map_or(0, |(_, t)| t.capacity())
            + self.rows.capacity() * std::mem::size_of::<RowRef>()
            + self.scratch.capacity()
    }

    /// Finds `pattern` (plain, case-sensitive) in the history rows followed
    /// by `screen_lines` (plain text, usually the live screen's rows), going
    /// forward or backward from `from` and wrapping round at either end like
    /// vi. The match at `from` itself is found last, so a lone match finds
    /// itself again.
    pub fn search(&self, pattern: &str, from: Position, backward: bool, screen_lines: &[String]) -> Option<Position> {
        let count = self.len() + screen_lines.len();
        if pattern.is_empty() || count == 0 {
            return None;
        }
        let start = from.line.min(count - 1);
        let mut text = String::new();
        for step in 0..=count {
            let line = if backward { (start + count - step % count) % count } else { (start + step) % count };
            text.clear();
            if line < self.len() {
                push_plain(&mut text, &self.row_formatted(line));
            } else {
                text.push_str(&screen_lines[line - self.len()]);
            }
            let col = match (step, backward) {
                (0, false) => find_after(&text, pattern, from.col),
                (0, true) => find_before(&text, pattern, from.col),
                // Back where we started, having wrapped all the way round.
                (s, false) if s == count => text.find(pattern).filter(|&c| c <= from.col),
                (s, true) if s == count => find_before(&text, pattern, text.len()).filter(|&c| c >= from.col),
                (_, false) => text.find(pattern),
                (_, true) => find_before(&text, pattern, text.len()),
            };
            if let Some(col) = col {
                return Some(Position { line, col });
            }
        }
        None
    }

    /// Drops the oldest rows beyond the limit, then the chunks no row uses.
    fn trim(&mut self) {
        let mut excess = self.rows.len().saturating_sub(self.limit);
        // Over budget: every row of the oldest sealed chunks goes too (the
        // chunk being written always stays).
        if self.memory_bytes() > self.byte_limit {
            let mut bytes = self.memory_bytes();
            let mut chunk = self.first_chunk;
            for c in self.chunks.iter().take(self.chunks.len().saturating_sub(1)) {
                if bytes <= self.byte_limit {
                    break;
                }
                bytes -= c.heap_bytes();
                let rows = self.rows.iter().skip(excess).take_while(|r| r.chunk == chunk).count();
                excess += rows;
                chunk = chunk.wrapping_add(1);
            }
        }
        self.rows.drain(..excess);
        let needed = self.rows.front().map(|r| r.chunk);
        while !self.chunks.is_empty() && needed != Some(self.first_chunk) {
            if let Some(dropped) = self.chunks.pop_front() {
                self.chunk_bytes -= dropped.heap_bytes();
            }
            if self.cache.borrow().as_ref().is_some_and(|(n, _)| *n == self.first_chunk) {
                *self.cache.borrow_mut() = None;
            }
            self.first_chunk = self.first_chunk.wrapping_add(1);
        }
    }
}

/// Whether the row just written with `state` was wrapped. vt100 keeps the
/// flag private, but its capture state remembers it: a row that was not
/// wrapped leaves a newline pending, written first by the next row. So write
/// the row once more into a writer that stops at the first character.
fn is_wrapped(row: &RowContents<'_>, state: &mut BasicFormattedCaptureState) -> bool {
    struct FirstChar(Option<char>);
    impl fmt::Write for FirstChar {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            match s.chars().next() {
                Some(c) => {
                    self.0 = Some(c);
                    Err(fmt::Error)
                }
                None => Ok(()),
            }
        }
    }
    let mut probe = FirstChar(None);
    let _ = row.write_formatted_basic(&mut probe, state);
    probe.0 != Some('\n')
}

/// Basic formatted text without its SGR sequences.
pub fn plain(formatted: &str) -> String {
    let mut text = String::with_capacity(formatted.len());
    push_plain(&mut text, formatted);
    text
}

fn push_plain(text: &mut String, formatted: &str) {
    text.extend(basic_formatted_to_plain(formatted));
}

/// The first match starting after byte `after`.
fn find_after(text: &str, pattern: &str, after: usize) -> Option<usize> {
    let next = text.get(after..)?.chars().next().map(|c| after + c.len_utf8())?;
    text[next..].find(pattern).map(|i| next + i)
}

/// The last match starting before byte `before` (matches may overlap it).
fn find_before(text: &str, pattern: &str, before: usize) -> Option<usize> {
    text.char_indices().map(|(i, _)| i).take_while(|&i| i < before).filter(|&i| text[i..].starts_with(pattern)).last()
}

/// Screen row `row` in the format history rows have: text, SGR sequences
/// from default attributes and OSC 8 hyperlinks (closed by the row's end),
/// trailing blank cells left out, so a
/// row reads the same before and after it scrolls off.
pub fn screen_row_formatted(screen: &vt100::Screen, row: u16) -> String {
    let (_, cols) = screen.size();
    let mut out = String::new();
    let mut current: Option<&vt100::Cell> = None;
    let mut blanks = 0;
    for col in 0..cols.get() {
        let Some(cell) = screen.cell(row, col) else { break };
        if cell.is_wide_continuation() {
            continue;
        }
        if !cell.has_contents() && cell.has_default_attributes() {
            blanks += 1;
            continue;
        }
        // Blank cells between as spaces, as vt100's basic format writes them.
        out.push_str(&" ".repeat(std::mem::take(&mut blanks)));
        cell.write_attributes_diff(&mut out, current, screen.hyperlinks());
        current = Some(cell);
        if cell.has_contents() {
            out.push_str(cell.contents());
        } else {
            out.push(' ');
        }
    }
    // A hyperlink ends with its row, as vt100 ends it in rows that scroll
    // off, so that nothing after the row takes it.
    if current.is_some_and(|c| c.hyperlink_id() != 0) {
        out.push_str(LINK_END);
    }
    out
}

/// OSC 8 with no URI: ends a hyperlink.
pub const LINK_END: &str = "\x1b]8;;\x1b\\";

/// History plus screen as text, for `qmux capture`: the last `history_rows`
/// history rows, then every screen row, one line each. With `ansi`, each line
/// keeps its SGR sequences and ends with a reset; otherwise plain text with
/// trailing blanks trimmed. Lines are the ones scroll mode shows.
pub fn capture(history: &History, screen: &vt100::Screen, history_rows: usize, ansi: bool) -> String {
    let (rows, _) = screen.size();
    let first = history.len().saturating_sub(history_rows);
    let history_lines = (first..history.len()).map(|i| history.row_formatted(i).to_string());
    let screen_lines = (0..rows.get()).map(|r| screen_row_formatted(screen, r));
    let mut lines: Vec<String> = history_lines.chain(screen_lines).collect();
    // Blank rows below the last output are the screen's, not the program's.
    while lines.len() > 1 && lines.last().is_some_and(|l| plain(l).trim().is_empty()) {
        lines.pop();
    }
    let mut out = String::new();
    for line in lines {
        if ansi {
            out.push_str(&line);
            out.push_str("\x1b[m");
        } else {
            out.push_str(plain(&line).trim_end());
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
