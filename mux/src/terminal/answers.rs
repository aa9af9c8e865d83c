//! The answers a terminal gives to the queries programs send: qmux's own,
//! and those of the user's terminal as the tests and the benchmark play it.

/// What a terminal says it is, in answer to device-attributes queries.
#[derive(Debug, Clone, Copy)]
pub struct Identity {
    /// The DA1 answer (`ESC [ c`).
    pub primary: &'static [u8],
    /// The DA2 answer (`ESC [ > c`).
    pub secondary: &'static [u8],
    /// The XTVERSION answer (`ESC [ > q`), if it gives one.
    pub version: Option<&'static [u8]>,
    /// Answers OSC 10/11 colour queries (black on white), as an xterm with
    /// default colours does.
    pub colours: bool,
}

/// qmux answers device attributes as tmux does, matching the TERM its
/// children get, and XTVERSION with its own name.
pub const TMUX_IDENTITY: Identity = Identity {
    primary: b"\x1b[?1;2c",
    secondary: b"\x1b[>84;0;0c",
    version: Some(concat!("\x1bP>|qmux ", env!("CARGO_PKG_VERSION"), "\x1b\\").as_bytes()),
    colours: false,
};

/// The answer a terminal gives to a query in a CSI sequence, if it is one:
/// DSR "status" (`5n`) and "cursor position" (`6n`, also `?6n`), DA1, DA2,
/// XTVERSION and the text area's size in characters (`18t`: rows, then
/// columns). rustyline asks for the cursor position at every prompt and
/// waits 100 ms without an answer.
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
        (Some(b'>'), 'q', 0) => identity.version.map(<[u8]>::to_vec),
        (None, 't', 18) => {
            let (rows, cols) = screen.size();
            Some(format!("\x1b[8;{rows};{cols}t").into_bytes())
        }
        _ => None,
    }
}

/// The colours of the user's terminal, foreground and background, as its
/// answers to OSC 10/11 gave them (`rgb:…`), from the last client whose
/// terminal answered: programs that ask (agents choosing a light or dark
/// theme) get them.
static OUTER_COLOURS: std::sync::Mutex<[Option<String>; 2]> = std::sync::Mutex::new([None, None]);

/// What qmux asks a client's terminal when it attaches: its foreground and
/// background colours.
pub const COLOUR_QUERY: &[u8] = b"\x1b]10;?\x1b\\\x1b]11;?\x1b\\";

/// The answer to an OSC query: from the identity's fixed colours, else
/// from the user's terminal's, once known.
pub fn osc_answer(params: &[&[u8]], identity: &Identity) -> Option<Vec<u8>> {
    match params {
        [which @ (b"10" | b"11"), b"?"] => {
            let background = *which == b"11";
            let colour = if identity.colours {
                if background { "rgb:ffff/ffff/ffff" } else { "rgb:0000/0000/0000" }.to_string()
            } else {
                OUTER_COLOURS.lock().ok()?[usize::from(background)].clone()?
            };
            let which = if background { "11" } else { "10" };
            Some(format!("\x1b]{which};{colour}\x1b\\").into_bytes())
        }
        _ => None,
    }
}

/// Takes the answers to [`COLOUR_QUERY`] out of a client's input, keeping
/// the colours they give; returns the input without them, or None when it
/// holds none (the usual case, found without copying).
pub fn take_colour_replies(input: &[u8]) -> Option<Vec<u8>> {
    memchr::memmem::find(input, b"\x1b]1")?;
    let mut rest = Vec::with_capacity(input.len());
    let mut found = false;
    let mut i = 0;
    while i < input.len() {
        let tail = &input[i..];
        let which = match tail {
            [0x1b, b']', b'1', b'0', b';', ..] => Some(0),
            [0x1b, b']', b'1', b'1', b';', ..] => Some(1),
            _ => None,
        };
        let reply = which.and_then(|which| {
            let body = &tail[5..];
            let end = body.iter().take(64).position(|b| *b == 0x07 || *b == 0x1b)?;
            let terminator = if body[end] == 0x07 { 1 } else { 2 };
            (body[end] == 0x07 || body.get(end + 1) == Some(&b'\\')).then_some((
                which,
                &body[..end],
                5 + end + terminator,
            ))
        });
        match reply {
            Some((which, colour, used)) => {
                if let Ok(colour) = std::str::from_utf8(colour) {
                    if colour.starts_with("rgb:") && colour.chars().all(|c| c.is_ascii_graphic()) {
                        if let Ok(mut colours) = OUTER_COLOURS.lock() {
                            colours[which] = Some(colour.to_string());
                        }
                    }
                }
                found = true;
                i += used;
            }
            None => {
                rest.push(input[i]);
                i += 1;
            }
        }
    }
    found.then_some(rest)
}

/// A user's terminal as the tests and the benchmark play it: a vt100
/// parser's callbacks that answer the queries such a terminal answers and
/// count its bells. Answers are collected while parsing, so each sees the
/// screen (the cursor) at the moment of its query.
#[derive(Debug)]
pub struct Answers {
    pub identity: Identity,
    /// Answers not yet written back.
    pub pending: Vec<u8>,
    pub bells: usize,
}

/// qmux's own answers, as tmux gives them (so TERM=tmux-256color holds).
impl Default for Answers {
    fn default() -> Answers {
        Answers::new(TMUX_IDENTITY)
    }
}

impl Answers {
    pub fn new(identity: Identity) -> Answers {
        Answers { identity, pending: Vec::new(), bells: 0 }
    }
}

impl vt100::Callbacks for Answers {
    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.bells += 1;
    }

    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        _i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        self.pending.extend(query_answer(screen, i1, params, c, &self.identity).unwrap_or_default());
    }

    fn unhandled_osc(&mut self, _: &mut vt100::Screen, params: &[&[u8]]) {
        self.pending.extend(osc_answer(params, &self.identity).unwrap_or_default());
    }
}
