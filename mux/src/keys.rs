//! Reading the user's keystrokes: find the prefix key in the raw byte stream
//! (but never inside a bracketed paste), and decode the few keys the modal
//! screens (chooser, prompts) need. Everything else passes through untouched,
//! so the program sees exactly what the terminal sent.

const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";

/// What a run of input bytes means.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    /// Bytes for the focused program.
    Forward(Vec<u8>),
    /// The key pressed after the prefix, whole: one byte, a UTF-8
    /// character, or an escape sequence (PageUp, an arrow).
    Command(Vec<u8>),
}

/// Per-client input state, carried across reads because a paste marker,
/// a prefix or the key after it can arrive in different reads.
#[derive(Debug, Default)]
pub struct InputState {
    /// How much of a multi-byte prefix (`M-a` is ESC a) has come, held back.
    matched: usize,
    /// After a whole prefix: the key's bytes so far.
    key: Option<Vec<u8>>,
    in_paste: bool,
    /// How much of a paste marker the last read ended with.
    marker_progress: usize,
}

impl InputState {
    /// Splits input into bytes for the program and keys after `prefix`
    /// (the bytes the prefix key sends, one or more).
    pub fn feed(&mut self, bytes: &[u8], prefix: &[u8]) -> Vec<Input> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let (inputs, used) = self.feed_to_command(rest, prefix);
            out.extend(inputs);
            rest = &rest[used..];
        }
        out
    }

    /// Like [`InputState::feed`], but stops after the first key after the
    /// prefix: what follows may be for a screen that key opens. Returns the
    /// inputs and how many bytes they took.
    pub fn feed_to_command(&mut self, bytes: &[u8], prefix: &[u8]) -> (Vec<Input>, usize) {
        let mut out = Vec::new();
        let mut forward = Vec::with_capacity(bytes.len());
        for (i, &b) in bytes.iter().enumerate() {
            self.track_paste(b);
            if let Some(key) = &mut self.key {
                key.push(b);
                if key == prefix {
                    // The prefix twice: the program gets it.
                    forward.extend_from_slice(prefix);
                    self.key = None;
                } else if !prefix.starts_with(key) && key_complete(key) {
                    let key = std::mem::take(key);
                    self.key = None;
                    flush(&mut out, &mut forward);
                    out.push(Input::Command(key));
                    return (out, i + 1);
                }
                continue;
            }
            if self.in_paste || prefix.is_empty() {
                forward.extend_from_slice(&prefix[..self.matched]);
                self.matched = 0;
                forward.push(b);
                continue;
            }
            if b != prefix[self.matched] {
                // Not the prefix after all: what was held back is input.
                forward.extend_from_slice(&prefix[..self.matched]);
                self.matched = 0;
            }
            if b == prefix[self.matched] {
                self.matched += 1;
                if self.matched == prefix.len() {
                    self.matched = 0;
                    self.key = Some(Vec::new());
                }
            } else {
                forward.push(b);
            }
        }
        // Terminals send a whole key in one write: an ESC that ends the
        // read is the Escape key, not the start of `M-a`.
        forward.extend_from_slice(&prefix[..self.matched]);
        self.matched = 0;
        if self.key.as_deref() == Some(b"\x1b") {
            self.key = None;
            flush(&mut out, &mut forward);
            out.push(Input::Command(b"\x1b".to_vec()));
        }
        flush(&mut out, &mut forward);
        (out, bytes.len())
    }

    /// Whether a prefix was pressed and its key has not come yet.
    pub fn prefix_pending(&self) -> bool {
        self.key.is_some()
    }

    fn track_paste(&mut self, b: u8) {
        let marker = if self.in_paste { PASTE_END } else { PASTE_START };
        if b == marker[self.marker_progress] {
            self.marker_progress += 1;
            if self.marker_progress == marker.len() {
                self.in_paste = !self.in_paste;
                self.marker_progress = 0;
            }
        } else {
            self.marker_progress = usize::from(b == marker[0]);
        }
    }
}

/// Whether the bytes after the prefix make a whole key yet.
fn key_complete(key: &[u8]) -> bool {
    match key {
        [] => false,
        // Anything longer is no key we know: take it as it is.
        _ if key.len() >= 16 => true,
        [0x1b] => false,
        [0x1b, b'[', rest @ ..] => rest.last().is_some_and(|b| (0x40..=0x7e).contains(b)),
        [0x1b, b'O', ..] => key.len() == 3,
        [0x1b, _] => true,
        [lead @ 0xc0..=0xff, ..] => key.len() >= usize::from(lead.leading_ones() as u8).max(2),
        _ => true,
    }
}

fn flush(out: &mut Vec<Input>, forward: &mut Vec<u8>) {
    if !forward.is_empty() {
        out.push(Input::Forward(std::mem::take(forward)));
    }
}

/// A mouse report in SGR encoding (`ESC[<b;x;yM`), which qmux asks the
/// terminal for when the program has not asked for mouse reporting itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mouse {
    pub button: u16,
    /// One-based, as on the wire.
    pub col: u16,
    pub row: u16,
    pub press: bool,
}

impl Mouse {
    pub const WHEEL_UP: u16 = 64;
    pub const WHEEL_DOWN: u16 = 65;

    pub fn encode(&self) -> Vec<u8> {
        format!("\x1b[<{};{};{}{}", self.button, self.col, self.row, if self.press { 'M' } else { 'm' }).into_bytes()
    }
}

/// Takes the SGR mouse reports out of a run of input, keeping the rest.
pub fn split_mouse(bytes: &[u8]) -> (Vec<u8>, Vec<Mouse>) {
    let mut rest = Vec::with_capacity(bytes.len());
    let mut events = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if let Some((event, len)) = parse_sgr_mouse(&bytes[i..]) {
            events.push(event);
            i += len;
        } else {
            rest.push(bytes[i]);
            i += 1;
        }
    }
    (rest, events)
}

fn parse_sgr_mouse(b: &[u8]) -> Option<(Mouse, usize)> {
    let (mouse, len) = parse_sgr_mouse_body(b.strip_prefix(b"\x1b[")?)?;
    Some((mouse, len + 2))
}

/// An SGR mouse report from the bytes after `ESC [`, and its length.
fn parse_sgr_mouse_body(b: &[u8]) -> Option<(Mouse, usize)> {
    let body = b.strip_prefix(b"<")?;
    let end = body.iter().position(|&c| c == b'M' || c == b'm')?;
    let text = std::str::from_utf8(&body[..end]).ok()?;
    let mut nums = text.split(';').map(|n| n.parse::<u16>().ok());
    let (button, col, row) = (nums.next()??, nums.next()??, nums.next()??);
    if nums.next().is_some() {
        return None;
    }
    Some((Mouse { button, col, row, press: body[end] == b'M' }, 1 + end + 1))
}

/// A key, as qmux's own screens (the chooser, prompts, scroll mode)
/// understand it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    /// A control key: `Ctrl('c')` for C-c.
    Ctrl(char),
    Enter,
    Tab,
    Escape,
    Backspace,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    WheelUp,
    WheelDown,
    /// An arrow with Alt held (`ESC [ 1 ; 3 A`…`D`): `b'A'` up, `b'B'`
    /// down, `b'C'` right, `b'D'` left.
    AltArrow(u8),
    /// An arrow with Ctrl held (`ESC [ 1 ; 5 A`…`D`).
    CtrlArrow(u8),
    /// A sequence qmux has no use for (a function key, a mouse click).
    Other,
}

/// Decodes keys from one read of terminal input: the one decoder for
/// every screen of qmux's own. Mouse wheel reports come in SGR (`ESC[<64;…M`)
/// and X10 (`ESC[M` and three bytes) encodings. A lone ESC at the end of a
/// read is the Escape key (terminals send a whole sequence in one write); a
/// sequence cut off at the end is dropped.
pub fn decode(bytes: &[u8]) -> Vec<Key> {
    let mut keys = Vec::new();
    let mut rest = bytes;
    while let Some((key, len)) = decode_one(rest) {
        keys.extend(key);
        rest = &rest[len..];
    }
    keys
}

/// The first key of `bytes` and how many bytes it took; `None` when there
/// are no bytes. A sequence cut off at the end is dropped (no key).
pub fn decode_one(bytes: &[u8]) -> Option<(Option<Key>, usize)> {
    let first = *bytes.first()?;
    Some(match first {
        0x1b => match bytes.get(1) {
            Some(b'[') => csi(&bytes[2..]).map_or((None, bytes.len()), |(k, n)| (Some(k), n + 2)),
            Some(b'O') => (bytes.get(2).map(|&b| cursor_key(b)), 3.min(bytes.len())),
            _ => (Some(Key::Escape), 1),
        },
        b'\r' | b'\n' => (Some(Key::Enter), 1),
        b'\t' => (Some(Key::Tab), 1),
        0x7f | 0x08 => (Some(Key::Backspace), 1),
        b @ 0x01..=0x1a => (Some(Key::Ctrl(char::from(b'a' + b - 1))), 1),
        b if b < 0x20 => (Some(Key::Other), 1),
        b => {
            let len = match b {
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                0xf0..=0xf7 => 4,
                _ => 1,
            };
            let c = bytes.get(..len).and_then(|s| std::str::from_utf8(s).ok()).and_then(|s| s.chars().next());
            (Some(c.map_or(Key::Other, Key::Char)), if c.is_some() { len } else { 1 })
        }
    })
}

/// The key of `ESC O x` or `ESC [ x`.
pub fn cursor_key(b: u8) -> Key {
    match b {
        b'A' => Key::Up,
        b'B' => Key::Down,
        b'C' => Key::Right,
        b'D' => Key::Left,
        b'H' => Key::Home,
        b'F' => Key::End,
        _ => Key::Other,
    }
}

/// A CSI sequence's key and length, from the bytes after `ESC [`; `None`
/// when the sequence is cut off.
fn csi(bytes: &[u8]) -> Option<(Key, usize)> {
    // X10 mouse: `M` and three bytes, button first, each plus 32.
    if bytes.first() == Some(&b'M') {
        let button = *bytes.get(1)?;
        bytes.get(3)?;
        return Some((wheel(u16::from(button.wrapping_sub(32))), 4));
    }
    if let Some((mouse, len)) = parse_sgr_mouse_body(bytes) {
        let key = if mouse.press { wheel(mouse.button) } else { Key::Other };
        return Some((key, len));
    }
    let end = bytes.iter().position(|b| (0x40..=0x7e).contains(b))?;
    let params = std::str::from_utf8(&bytes[..end]).unwrap_or("");
    let key = match (bytes[end], params) {
        (b'~', "1" | "7") => Key::Home,
        (b'~', "4" | "8") => Key::End,
        (b'~', "5") => Key::PageUp,
        (b'~', "6") => Key::PageDown,
        (b'~', _) => Key::Other,
        (b @ b'A'..=b'D', "1;3") => Key::AltArrow(b),
        (b @ b'A'..=b'D', "1;5") => Key::CtrlArrow(b),
        (b, _) => cursor_key(b),
    };
    Some((key, end + 1))
}

/// The wheel direction of a mouse button code (modifier bits ignored).
fn wheel(button: u16) -> Key {
    match button & !(4 | 8 | 16) {
        Mouse::WHEEL_UP => Key::WheelUp,
        Mouse::WHEEL_DOWN => Key::WheelDown,
        _ => Key::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fwd(b: &[u8]) -> Input {
        Input::Forward(b.to_vec())
    }

    fn cmd(b: &[u8]) -> Input {
        Input::Command(b.to_vec())
    }

    #[test]
    fn prefix_then_key_is_a_command() {
        let mut s = InputState::default();
        assert_eq!(s.feed(b"ab\x02nc", &[2]), vec![fwd(b"ab"), cmd(b"n"), fwd(b"c")]);
    }

    #[test]
    fn prefix_and_key_split_across_reads() {
        let mut s = InputState::default();
        assert_eq!(s.feed(b"\x02", &[2]), vec![]);
        assert!(s.prefix_pending());
        assert_eq!(s.feed(b"d", &[2]), vec![cmd(b"d")]);
    }

    #[test]
    fn prefix_twice_sends_the_prefix() {
        let mut s = InputState::default();
        assert_eq!(s.feed(b"\x02\x02", &[2]), vec![fwd(b"\x02")]);
    }

    #[test]
    fn prefix_inside_a_paste_is_plain_input() {
        let mut s = InputState::default();
        let paste = b"\x1b[200~a\x02nb\x1b[201~";
        assert_eq!(s.feed(paste, &[2]), vec![fwd(paste)]);
        // After the paste, the prefix works again.
        assert_eq!(s.feed(b"\x02n", &[2]), vec![cmd(b"n")]);
    }

    #[test]
    fn paste_markers_split_across_reads() {
        let mut s = InputState::default();
        assert_eq!(s.feed(b"\x1b[20", &[2]), vec![fwd(b"\x1b[20")]);
        assert_eq!(s.feed(b"0~x\x02y", &[2]), vec![fwd(b"0~x\x02y")]);
        assert_eq!(s.feed(b"\x1b[201", &[2]), vec![fwd(b"\x1b[201")]);
        assert_eq!(s.feed(b"~\x02n", &[2]), vec![fwd(b"~"), cmd(b"n")]);
    }

    #[test]
    fn the_key_after_the_prefix_is_taken_whole() {
        let mut s = InputState::default();
        // PageUp, an arrow, a UTF-8 character: none leaks into the program.
        assert_eq!(s.feed(b"\x02\x1b[5~a", &[2]), vec![cmd(b"\x1b[5~"), fwd(b"a")]);
        assert_eq!(s.feed(b"\x02\x1bOA", &[2]), vec![cmd(b"\x1bOA")]);
        assert_eq!(s.feed(b"\x02\xc3\xa9!", &[2]), vec![cmd("é".as_bytes()), fwd(b"!")]);
        // Split across reads.
        assert_eq!(s.feed(b"\x02\x1b[", &[2]), vec![]);
        assert_eq!(s.feed(b"6~", &[2]), vec![cmd(b"\x1b[6~")]);
        // Escape alone.
        assert_eq!(s.feed(b"\x02\x1b", &[2]), vec![cmd(b"\x1b")]);
    }

    #[test]
    fn a_prefix_of_two_bytes_works_like_one() {
        let m_a = b"\x1ba";
        let mut s = InputState::default();
        assert_eq!(s.feed(b"x\x1ban", m_a), vec![fwd(b"x"), cmd(b"n")]);
        // Other Alt keys and escape sequences pass through untouched.
        assert_eq!(s.feed(b"\x1bb\x1b[A", m_a), vec![fwd(b"\x1bb\x1b[A")]);
        assert_eq!(s.feed(b"\x1b", m_a), vec![fwd(b"\x1b")]);
        // Twice sends it once.
        assert_eq!(s.feed(b"\x1ba\x1ba", m_a), vec![fwd(m_a)]);
        // C-Space is NUL.
        assert_eq!(s.feed(b"\x00w", &[0]), vec![cmd(b"w")]);
    }

    #[test]
    fn mouse_reports_are_split_from_keys() {
        let (rest, events) = split_mouse(b"a\x1b[<64;10;5Mb\x1b[<0;1;2m\x1b[A");
        assert_eq!(rest, b"ab\x1b[A");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0], Mouse { button: 64, col: 10, row: 5, press: true });
        assert_eq!(events[1].encode(), b"\x1b[<0;1;2m");
        let (rest, events) = split_mouse(b"\x1b[<64;oops");
        assert_eq!(rest, b"\x1b[<64;oops");
        assert!(events.is_empty());
    }

    #[test]
    fn decodes_modal_keys() {
        assert_eq!(
            decode(b"a\x1b[A\x1bOB\r\x7f\x1b"),
            vec![Key::Char('a'), Key::Up, Key::Down, Key::Enter, Key::Backspace, Key::Escape]
        );
    }

    #[test]
    fn decodes_scroll_keys_and_the_wheel() {
        use Key::*;
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
        assert_eq!(
            decode(b"\x1b[<64;10;5M\x1b[<65;1;1M\x1b[<0;1;1M\x1b[<0;1;1m"),
            vec![WheelUp, WheelDown, Other, Other]
        );
        assert_eq!(decode(b"\x1b[M`!!\x1b[Ma!!x"), vec![WheelUp, WheelDown, Char('x')]);
        // Unknown sequences are one key qmux has no use for; a cut-off one
        // is dropped.
        assert_eq!(decode(b"\x1b[15~a\x1b[1;5"), vec![Other, Char('a')]);
        assert_eq!(decode(b"\x03\x15\t\x1b[D\x1b[C"), vec![Ctrl('c'), Ctrl('u'), Tab, Left, Right]);
    }
}
