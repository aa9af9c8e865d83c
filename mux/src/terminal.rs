//! The model of one session's terminal: the vt100 screen, the answers to the
//! terminal queries the program sends, and the events (bells, notifications)
//! it raises. No PTY, socket or thread here: tests feed it bytes directly.
//! Floods of plain lines take a fast path ([`fast_path`]), proved the same
//! as feeding every byte.
//!

use std::num::NonZeroU16;

use crate::history::History;

mod answers;
mod fast_path;
mod reflow;
mod rewrap;
#[cfg(test)]
mod tests;

pub use answers::{osc_answer, query_answer, take_colour_replies, Answers, Identity, COLOUR_QUERY, TMUX_IDENTITY};
pub use fast_path::COUNT_SETTLED;

/// What happened in a program's output besides drawing, for the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An audible bell.
    Bell,
    /// A desktop notification (OSC 9, 777 or 99) and its text.
    Notification(String),
    /// The window title changed (OSC 0 or 2).
    Title(String),
    /// The program puts text on the clipboard (OSC 52): the selection
    /// (`c`, `p`…) and the base64 data, as it sent them.
    Clipboard(String, String),
}

impl Event {
    /// The program asks for the user's attention, as a bell does.
    pub fn wants_attention(&self) -> bool {
        matches!(self, Event::Bell | Event::Notification(_))
    }
}

/// Events not yet taken: a program ringing in a loop must not grow memory
/// while nothing takes them.
const MAX_EVENTS: usize = 256;

/// What a program's output asked of its terminal, besides drawing.
#[derive(Debug, Default)]
struct Events {
    /// Answers to queries (DSR, DA, XTVERSION), as tmux gives them, to be
    /// written back to the program.
    answers: Answers,
    /// What happened since [`Terminal::take_events`] last looked.
    events: Vec<Event>,
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
    /// The newest history rows that scrolled off the main screen since it
    /// was last erased whole, which a taller screen pulls back (tmux's
    /// `hscrolled`; see [`rewrap`]).
    pullable: usize,
    /// The window title the program set (OSC 0 or 2).
    title: String,
    /// The last OSC 9;4 progress state (0 none, 1 normal, 2 error,
    /// 3 indeterminate, 4 paused).
    progress: u8,
}

impl Events {
    fn push(&mut self, event: Event) {
        if self.events.len() < MAX_EVENTS {
            self.events.push(event);
        }
    }
}

impl vt100::Callbacks for Events {
    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.push(Event::Bell);
    }

    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        let title = String::from_utf8_lossy(title).into_owned();
        if title != self.title {
            self.title.clone_from(&title);
            self.push(Event::Title(title));
        }
    }

    fn copy_to_clipboard(&mut self, _: &mut vt100::Screen, ty: &[u8], data: &[u8]) {
        let ty = String::from_utf8_lossy(ty).into_owned();
        self.push(Event::Clipboard(ty, String::from_utf8_lossy(data).into_owned()));
    }

    // The parser keeps no scrollback (too costly); rows leaving the main
    // screen go to our compact history. Full-screen programs' rows do not.
    fn on_scroll(&mut self, row: vt100::capture::RowContents<'_>, alternate_screen: bool) {
        if alternate_screen {
            return;
        }
        self.scrolls += 1;
        self.pullable += 1;
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
            [b"9" | b"777" | b"99", rest @ ..] => {
                let text = rest.iter().map(|p| String::from_utf8_lossy(p)).collect::<Vec<_>>().join(";");
                self.push(Event::Notification(text));
            }
            // The user's terminal's colours, when a client's told us.
            [b"10" | b"11", b"?"] => {
                let answer = answers::osc_answer(params, &self.answers.identity).unwrap_or_default();
                self.answers.pending.extend(answer);
            }
            _ => {}
        }
    }

    /// Rows that scrolled off before the screen was erased stay in history
    /// when it grows taller, as in tmux.
    fn erased_in_display(&mut self, screen: &mut vt100::Screen, _mode: u16) {
        if !screen.alternate_screen() {
            self.pullable = 0;
        }
    }

    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        self.answers.unhandled_csi(screen, i1, i2, params, c);
    }
}

/// A terminal as escape sequences and history rows, for a live upgrade.
/// The main screen under an alternate one is not kept: a program that
/// leaves its alternate screen after the upgrade finds it blank.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub cols: u16,
    pub rows: u16,
    /// Oldest first: each row formatted, and whether it wraps.
    pub history: Vec<(String, bool)>,
    /// Rows ever pushed into history: line numbers stay the same.
    pub history_pushed: u64,
    pub history_limit: usize,
    pub alternate: bool,
    /// The visible screen, cursor and input modes.
    pub screen: String,
    /// Insert mode (IRM), which the screen's escapes do not carry.
    #[serde(default)]
    pub insert_mode: bool,
    /// The program's tab stops, when not the default, as escapes.
    #[serde(default)]
    pub tab_stops: String,
    pub title: String,
    /// The start of an escape sequence or character the output had not
    /// finished: fed last, so the rest of it, read by the next server,
    /// finishes it.
    pub unfinished: Vec<u8>,
}

/// How much of the latest output a terminal keeps for [`unfinished`].
const RECENT: usize = 4096;

fn note_recent(recent: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.len() >= RECENT {
        recent.clear();
        recent.extend_from_slice(&bytes[bytes.len() - RECENT..]);
        return;
    }
    recent.extend_from_slice(bytes);
    if recent.len() > 2 * RECENT {
        recent.drain(..recent.len() - RECENT);
    }
}

/// The end of `bytes` that starts an escape sequence or a UTF-8 character
/// and does not finish it; empty when everything is finished.
pub fn unfinished(bytes: &[u8]) -> &[u8] {
    if let Some(esc) = memchr::memrchr(0x1b, bytes) {
        let seq = &bytes[esc..];
        let done = match seq.get(1) {
            None => false,
            // CSI: parameters and intermediates, then a final byte.
            Some(b'[') => seq[2..].iter().any(|b| (0x40..=0x7e).contains(b)),
            // OSC, DCS, SOS, PM, APC: strings that end with BEL (OSC) or
            // ESC \, whose ESC would be the last one.
            Some(b']' | b'P' | b'X' | b'^' | b'_') => seq[2..].contains(&0x07),
            // nF: intermediates, then a final byte.
            Some(b) if (0x20..=0x2f).contains(b) => seq[2..].iter().any(|b| (0x30..=0x7e).contains(b)),
            Some(_) => true,
        };
        if !done {
            return seq;
        }
    }
    let n = bytes.len();
    for back in 1..=n.min(3) {
        match bytes[n - back] {
            b if b & 0xc0 == 0x80 => continue,
            b if b >= 0xc0 => {
                let needs = if b >= 0xf0 {
                    4
                } else if b >= 0xe0 {
                    3
                } else {
                    2
                };
                if back < needs {
                    return &bytes[n - back..];
                }
                break;
            }
            _ => break,
        }
    }
    &[]
}

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
    /// The last few KB of output, where a snapshot finds an escape
    /// sequence or a character that the last read cut in two.
    recent: Vec<u8>,
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
            recent: Vec::new(),
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
        note_recent(&mut self.recent, &bytes[..cut]);
        self.process_now(&bytes[..cut]);
        std::mem::take(&mut self.parser.callbacks_mut().answers.pending)
    }

    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    /// Gives back the cells of the screen's blank rows, which erasing and
    /// scrolling keep for the text that usually follows: for a program
    /// whose output has stopped. The screen reads the same.
    pub fn forget_blank_rows(&mut self) {
        self.parser.screen_mut().forget_blank_rows();
    }

    /// The size as (cols, rows).
    pub fn size(&self) -> (u16, u16) {
        let (rows, cols) = self.parser.screen().size();
        (cols.get(), rows.get())
    }

    /// Resizes the screen. The main screen is laid out again as tmux lays
    /// it out, width and height in one step, rewrapping its lines and the
    /// newest history (see [`rewrap`]). A program on the alternate screen
    /// redraws at the new size into a clean one, with nothing of its old
    /// layout left to show where it draws nothing.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.process_batch(&[], false);
        let (cols, rows) = (cols.max(1), rows.max(1));
        let (old_cols, old_rows) = self.size();
        if self.rewrappable() {
            if (cols, rows) != (old_cols, old_rows) {
                self.relayout(cols, rows, cols != old_cols);
            }
        } else {
            self.parser.set_size(nonzero(rows), nonzero(cols));
            if rows > old_rows {
                self.grew(rows - old_rows);
            }
            if self.screen().alternate_screen() && (cols, rows) != (old_cols, old_rows) {
                let pen = self.screen().attributes_formatted();
                self.parser.process(format!("\x1b[m\x1b[2J{pen}").as_bytes());
            }
        }
        self.ready = false;
        self.known.clear();
        self.partial.clear();
    }

    /// Everything another process needs to rebuild this terminal (a live
    /// upgrade). Output held back for a line's end is taken in first.
    pub fn snapshot(&mut self) -> Snapshot {
        self.process_batch(&[], false);
        let history = self.history();
        let rows =
            (0..history.len()).map(|i| (history.row_formatted(i).into_owned(), history.row_wrapped(i))).collect();
        let screen = self.screen();
        let (cols, rows_) = self.size();
        Snapshot {
            cols,
            rows: rows_,
            history: rows,
            history_pushed: history.total_pushed(),
            history_limit: history.limit(),
            alternate: screen.alternate_screen(),
            screen: screen.state_formatted(),
            insert_mode: screen.insert_mode(),
            tab_stops: screen.tab_stops_formatted(),
            title: self.title().to_string(),
            unfinished: unfinished(&self.recent).to_vec(),
        }
    }

    /// The terminal a [`Snapshot`] describes.
    pub fn from_snapshot(snap: &Snapshot) -> Terminal {
        let mut term = Terminal::with_history_limit(snap.rows, snap.cols, snap.history_limit);
        for (row, wrapped) in &snap.history {
            term.history_mut().push(row, *wrapped);
        }
        term.history_mut().count_from(snap.history_pushed);
        term.process(snap.tab_stops.as_bytes());
        if snap.alternate {
            term.process(b"\x1b[?1049h");
        }
        term.process(snap.screen.as_bytes());
        if snap.insert_mode {
            term.process(b"\x1b[4h");
        }
        term.process(&snap.unfinished);
        term.parser.callbacks_mut().title = snap.title.clone();
        // Rebuilding is not news: no title change, no bell to report.
        let _ = term.take_events();
        term
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

    /// What happened since the last call: bells, notifications, title
    /// changes, in order.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.parser.callbacks_mut().events)
    }

    /// The screen as plain text, trailing blanks trimmed.
    pub fn text(&self) -> String {
        self.screen().contents()
    }
}

fn nonzero(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN)
}
