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
    /// The key pressed after the prefix.
    Command(u8),
}

/// Per-client input state, carried across reads because a paste marker or a
/// prefix and its key can arrive in different reads.
#[derive(Debug, Default)]
pub struct InputState {
    prefix_pending: bool,
    in_paste: bool,
    /// How much of a paste marker the last read ended with.
    marker_progress: usize,
}

impl InputState {
    pub fn feed(&mut self, bytes: &[u8], prefix: u8) -> Vec<Input> {
        let mut out = Vec::new();
        let mut forward = Vec::with_capacity(bytes.len());
        for &b in bytes {
            self.track_paste(b);
            if self.prefix_pending {
                self.prefix_pending = false;
                if b == prefix {
                    forward.push(b);
                } else {
                    flush(&mut out, &mut forward);
                    out.push(Input::Command(b));
                }
            } else if b == prefix && !self.in_paste {
                self.prefix_pending = true;
            } else {
                forward.push(b);
            }
        }
        flush(&mut out, &mut forward);
        out
    }

    /// Whether a prefix was pressed and its key has not come yet.
    pub fn prefix_pending(&self) -> bool {
        self.prefix_pending
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
    let body = b.strip_prefix(b"\x1b[<")?;
    let end = body.iter().position(|&c| c == b'M' || c == b'm')?;
    let text = std::str::from_utf8(&body[..end]).ok()?;
    let mut nums = text.split(';').map(|n| n.parse::<u16>().ok());
    let (button, col, row) = (nums.next()??, nums.next()??, nums.next()??);
    if nums.next().is_some() {
        return None;
    }
    Some((Mouse { button, col, row, press: body[end] == b'M' }, 3 + end + 1))
}

/// A key, as the modal screens understand it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Escape,
    Backspace,
    Up,
    Down,
    CtrlC,
    CtrlU,
    Other,
}

/// Decodes keys from one read of terminal input. A lone ESC at the end of a
/// read is the Escape key (terminals send a whole sequence in one write).
pub fn decode(bytes: &[u8]) -> Vec<Key> {
    let mut keys = Vec::new();
    let text = String::from_utf8_lossy(bytes);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let key = match c {
            '\r' | '\n' => Key::Enter,
            '\x7f' | '\x08' => Key::Backspace,
            '\x03' => Key::CtrlC,
            '\x15' => Key::CtrlU,
            '\x1b' => match chars.peek() {
                None => Key::Escape,
                Some('[') | Some('O') => {
                    chars.next();
                    // Parameters, then the final byte.
                    let mut last = None;
                    for c in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&c) {
                            last = Some(c);
                            break;
                        }
                    }
                    match last {
                        Some('A') => Key::Up,
                        Some('B') => Key::Down,
                        _ => Key::Other,
                    }
                }
                Some(_) => Key::Escape,
            },
            c if c.is_control() => Key::Other,
            c => Key::Char(c),
        };
        keys.push(key);
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fwd(b: &[u8]) -> Input {
        Input::Forward(b.to_vec())
    }

    #[test]
    fn prefix_then_key_is_a_command() {
        let mut s = InputState::default();
        assert_eq!(s.feed(b"ab\x02nc", 2), vec![fwd(b"ab"), Input::Command(b'n'), fwd(b"c")]);
    }

    #[test]
    fn prefix_and_key_split_across_reads() {
        let mut s = InputState::default();
        assert_eq!(s.feed(b"\x02", 2), vec![]);
        assert!(s.prefix_pending());
        assert_eq!(s.feed(b"d", 2), vec![Input::Command(b'd')]);
    }

    #[test]
    fn prefix_twice_sends_the_prefix() {
        let mut s = InputState::default();
        assert_eq!(s.feed(b"\x02\x02", 2), vec![fwd(b"\x02")]);
    }

    #[test]
    fn prefix_inside_a_paste_is_plain_input() {
        let mut s = InputState::default();
        let paste = b"\x1b[200~a\x02nb\x1b[201~";
        assert_eq!(s.feed(paste, 2), vec![fwd(paste)]);
        // After the paste, the prefix works again.
        assert_eq!(s.feed(b"\x02n", 2), vec![Input::Command(b'n')]);
    }

    #[test]
    fn paste_markers_split_across_reads() {
        let mut s = InputState::default();
        assert_eq!(s.feed(b"\x1b[20", 2), vec![fwd(b"\x1b[20")]);
        assert_eq!(s.feed(b"0~x\x02y", 2), vec![fwd(b"0~x\x02y")]);
        assert_eq!(s.feed(b"\x1b[201", 2), vec![fwd(b"\x1b[201")]);
        assert_eq!(s.feed(b"~\x02n", 2), vec![fwd(b"~"), Input::Command(b'n')]);
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
}
