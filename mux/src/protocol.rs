//! The client–server protocol: length-prefixed postcard messages over a Unix
//! socket.
//!
//! Every connection starts with a [`Hello`] each way. `Hello` is variant 0 of
//! both message enums and only ever grows at the end, so a client and a server
//! of different versions can always read each other's greeting and say so in
//! plain words instead of misreading the rest.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Bumped whenever a message changes shape.
pub const PROTOCOL_VERSION: u32 = 11;

/// No frame may be larger than this. Lengths from the wire are checked
/// against it before anything is allocated.
pub const MAX_FRAME: usize = 16 << 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Hello {
    pub protocol: u32,
    /// The crate version, for the mismatch message.
    pub version: String,
}

impl Hello {
    pub fn ours() -> Self {
        Hello { protocol: PROTOCOL_VERSION, version: env!("CARGO_PKG_VERSION").to_string() }
    }
}

/// A stable session identity; indexes and names can change, ids never do.
pub type SessionId = u64;

/// Who is asking, when the command runs inside a qmux session (from `$QMUX`).
/// Lets `detach` and `switch` with no target act on the caller's own client.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Caller {
    pub session: SessionId,
}

/// What a new session runs, and where.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewSession {
    pub name: Option<String>,
    pub cwd: PathBuf,
    /// Empty means the default command.
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Terminal size (cols, rows) of the creating terminal, if it has one.
    pub size: Option<(u16, u16)>,
    /// The worktree made for it (`qmux new -w`), which it starts in.
    pub worktree: Option<Box<crate::worktree::Worktree>>,
}

/// A view of several sessions: their names, in order, and a layout
/// (`even-horizontal`, `even-vertical`, `main-vertical`, `tiled`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Panes {
    pub sessions: Vec<String>,
    pub layout: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ToServer {
    Hello(Hello),
    Request(Box<Request>),
    /// Raw terminal input from an attached client.
    Input(Vec<u8>),
    /// The attached client's terminal size changed (cols, rows).
    Resize(u16, u16),
    /// The attached client's terminal, for the server to read keys from
    /// and draw on itself, as tmux does: no hop through the client. Sent
    /// once the client has taken the terminal; the server answers
    /// [`ToClient::Direct`].
    Tty {
        /// Its name (ttyname(3) of standard input).
        path: String,
        /// Its device number, so the server opens the same terminal.
        rdev: u64,
    },
    /// The client has written every frame sent before
    /// `ToClient::Direct(true)`: the server may draw on the terminal now.
    TtyReady,
    /// The client wants its terminal back (it is about to exit): the
    /// server stops using it and answers `ToClient::Direct(false)`.
    TtyRelease,
    /// From `qmux bridge`, once greeted: what requests from its client need
    /// filled in. One byte follows on the socket carrying the bridge's
    /// standard input and output (SCM_RIGHTS); the server then serves the
    /// client on those itself and answers `Response::Ok`, and the bridge
    /// only waits. Any other answer: the bridge relays.
    Bridge(Bridged),
    /// From a client on another machine, attached over ssh: it will hand
    /// its terminal over through a second bridge (`qmux bridge --tty`),
    /// so keys and frames cross only ssh. The server answers
    /// [`ToClient::TtyBridge`] with the token that bridge brings.
    TtyBridge,
    /// From `qmux bridge --tty TOKEN`, once greeted: its standard input and
    /// output are the terminal of the client given `TOKEN`. One byte
    /// follows carrying them (SCM_RIGHTS), as after `Bridge`; the server
    /// answers `Response::Ok` and offers the client its terminal
    /// ([`ToClient::Direct`]), or refuses.
    TtyFrom(String),
}

/// What this machine fills in for a client on another one, which leaves
/// the directory and the environment to the far side (see
/// `remote::Bridged::localize`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Bridged {
    /// The bridge's environment, under the client's terminal variables.
    pub env: Vec<(String, String)>,
    /// Where a session with no directory starts.
    pub home: Option<PathBuf>,
    /// The qmux a `Handoff` upgrades to: the one installed here.
    pub exe: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Turn this connection into an attached client.
    Attach {
        target: Option<String>,
        /// Create this session first (the bare `qmux` and `qmux new`).
        create: Option<NewSession>,
        /// With no target and no sessions, create one with this (bare `qmux`).
        create_if_none: Option<NewSession>,
        size: (u16, u16),
        /// The client's environment, for sessions it creates with prefix `c`.
        env: Vec<(String, String)>,
        /// Tile every session in the view (`qmux watch`).
        watch: bool,
        /// Show these sessions as panes in this layout (`qmux up`).
        panes: Option<Panes>,
        /// The client's own prefix key, when its config is not the
        /// server's (a client on another machine).
        prefix: Option<Vec<u8>>,
    },
    New {
        session: NewSession,
        caller: Option<Caller>,
        switch_caller: bool,
    },
    List,
    Kill {
        target: String,
    },
    KillServer,
    Rename {
        target: String,
        name: String,
    },
    Switch {
        target: String,
        caller: Option<Caller>,
    },
    Detach {
        target: Option<String>,
        caller: Option<Caller>,
    },
    /// Go to the session that needs the user most, in the caller's client;
    /// from outside qmux, name it.
    NextAttention {
        caller: Option<Caller>,
    },
    /// Show a session in a new pane of the caller's client: `target`, or a
    /// new one from `create`.
    Split {
        target: Option<String>,
        create: Option<NewSession>,
        /// Beside the focused pane rather than below it.
        horizontal: bool,
        caller: Option<Caller>,
    },
    /// Type text in. While the program asks for approval it is queued
    /// until the program waits, unless `now`.
    Send {
        target: String,
        text: String,
        enter: bool,
        when_waiting: bool,
        now: bool,
    },
    Capture {
        target: String,
        ansi: bool,
        /// Rows of history to print above the screen.
        history: usize,
    },
    /// Answered when the condition holds (or the session ends).
    Wait {
        target: String,
        until: WaitFor,
    },
    /// Sessions saved by a previous server, not running now.
    ListSaved,
    Restore {
        target: Option<String>,
    },
    Forget {
        target: Option<String>,
    },
    /// Why a session's state is what it is.
    Explain {
        target: String,
    },
    /// A program's own word on its state (through a hook): `state` None
    /// with `end` set ends its reports.
    Report {
        target: Option<String>,
        caller: Option<Caller>,
        state: Option<crate::detect::State>,
        end: bool,
        conversation: Option<String>,
    },
    /// Load this config (and the agent rules beside it) in place of the
    /// running one.
    Reload {
        config: Option<PathBuf>,
    },
    /// Start `exe` as a new server and hand it every session, live.
    Handoff {
        exe: PathBuf,
    },
    /// Answer the approval question on screen with the keys the agent's
    /// rule set names; done once the program has left the question.
    Answer {
        target: String,
        choice: crate::rules::Choice,
        /// The session asking for it, which may not answer its own
        /// question.
        caller: Option<Caller>,
    },
    /// One session's row of `ls`, answered as `Sessions` (for `diff` and
    /// `merge`, which work on its worktree).
    Info {
        target: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum WaitFor {
    Waiting,
    Approval,
    Exited,
    /// A regular expression the screen must match.
    Output(String),
    Busy,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ToClient {
    Hello(Hello),
    Response(Response),
    /// Bytes to write to the terminal as they are.
    Frame(Vec<u8>),
    /// The answer to `ToServer::Tty`: true, the server reads and draws on
    /// the terminal from now on (the client stops reading keys, writes
    /// the frames sent so far, then says `ToServer::TtyReady`); false, the
    /// client goes on relaying both.
    Direct(bool),
    /// The server ended this attachment; the text says why.
    Detached(String),
    /// The server handed its sessions to a new one (a live upgrade):
    /// connect again, to show this session.
    Reconnect(Option<SessionId>),
    /// Show a session of another machine (from the config's `hosts`):
    /// attach there, and come back here on detaching from it.
    Hop {
        host: String,
        session: SessionId,
        /// The session shown here, to come back to.
        from: SessionId,
    },
    /// The answer to `ToServer::TtyBridge`: the token for
    /// `qmux bridge --tty`.
    TtyBridge(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Response {
    Ok,
    Sessions(Vec<SessionInfo>),
    Text(String),
    Error(String),
    /// The session ended before a `wait` condition held.
    SessionEnded(String),
    Saved(Vec<crate::persist::SavedSession>),
    /// Done, with things the user should know (warnings), one per line.
    Notice(Vec<String>),
    Explain(Box<crate::explain::Explanation>),
}

/// What in a session asks for the user's look. The status bar, the chooser
/// and `qmux ls` all show it through [`Attention::marks`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attention {
    /// Output arrived while no client was showing it.
    pub unseen_output: bool,
    /// Went from busy to waiting or approval while nobody watched.
    pub done: bool,
    /// A bell or a desktop notification while nobody watched.
    pub bell: bool,
}

impl Attention {
    /// `✓` finished, `+` unseen output, `!` bell, in that order.
    pub fn marks(&self) -> String {
        [(self.done, '✓'), (self.unseen_output, '+'), (self.bell, '!')]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, mark)| mark)
            .collect()
    }

    /// Worth a highlight: something ended or rang.
    pub fn alert(&self) -> bool {
        self.done || self.bell
    }
}

/// One row of `qmux ls`. The JSON names are a documented, stable interface.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SessionInfo {
    pub index: u32,
    pub name: String,
    pub id: SessionId,
    pub state: crate::detect::State,
    pub command: Vec<String>,
    pub cwd: PathBuf,
    pub pid: Option<u32>,
    /// Seconds since the Unix epoch.
    pub created: u64,
    /// Seconds since the Unix epoch; `None` before any output.
    pub last_output: Option<u64>,
    pub unseen_output: bool,
    /// Went from busy to waiting or approval while nobody watched.
    pub done: bool,
    pub bell: bool,
    pub exit_code: Option<i32>,
    pub queued_messages: u32,
    pub attached_clients: u32,
    pub cols: u16,
    pub rows: u16,
    /// The agent found in it (its rule set's name), if any.
    pub agent: Option<String>,
    /// The agent's own conversation id, when qmux knows it.
    pub conversation: Option<String>,
    /// The title the program set (OSC 0/2); empty if none.
    pub title: String,
    /// A session made with `qmux new -w`: its repository's main checkout,
    /// its worktree, branch and base; `None` for the others.
    pub repo: Option<PathBuf>,
    pub worktree: Option<PathBuf>,
    pub branch: Option<String>,
    pub base: Option<String>,
    /// Its changes against its base, once git has been asked (worker thread).
    pub ahead: Option<u32>,
    pub behind: Option<u32>,
    /// Files changed, committed or not, new files included.
    pub changed: Option<u32>,
    pub lines_added: Option<u32>,
    pub lines_removed: Option<u32>,
    /// Why the numbers cannot be had (the worktree is gone).
    pub worktree_error: Option<String>,
    /// Other sessions of the same repository whose changes would conflict.
    pub conflicts: Vec<crate::worktree::Conflict>,
}

impl SessionInfo {
    /// ` [qmux/fix ↑2 ↓0, 3 files +40 −7] ⚠ 1:other src/lib.rs`: a worktree
    /// session's branch, its numbers and its would-be conflicts.
    pub fn worktree_note(&self) -> String {
        let s = self;
        let Some(branch) = &s.branch else { return String::new() };
        let mut note = match (&s.worktree_error, s.ahead, s.behind, s.changed) {
            (Some(why), ..) => format!(" [{branch}: {why}]"),
            (None, Some(ahead), Some(behind), Some(changed)) => {
                let (plus, minus) = (s.lines_added.unwrap_or(0), s.lines_removed.unwrap_or(0));
                let files = if changed == 1 { "file" } else { "files" };
                format!(" [{branch} ↑{ahead} ↓{behind}, {changed} {files} +{plus} −{minus}]")
            }
            _ => format!(" [{branch}]"),
        };
        for c in &s.conflicts {
            note.push_str(&format!(" ⚠ {} {}", c.session, c.files.join(" ")));
        }
        note
    }

    pub fn attention(&self) -> Attention {
        Attention { unseen_output: self.unseen_output, done: self.done, bell: self.bell }
    }
}

/// Encodes one frame: a 4-byte little-endian length, then the postcard body.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    let mut out = vec![0u8; 4];
    // Serializing our own plain data types into a Vec cannot fail.
    let body = postcard::to_extend(msg, Vec::new()).unwrap_or_default();
    out[..4].copy_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Checks a length read from the wire.
pub fn frame_len(header: [u8; 4]) -> io::Result<usize> {
    let len = u32::from_le_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("frame of {len} bytes is over the limit")));
    }
    Ok(len)
}

pub fn decode<T: for<'de> Deserialize<'de>>(body: &[u8]) -> io::Result<T> {
    postcard::from_bytes(body)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("malformed message: {e}")))
}

/// Reads one frame, blocking. `Ok(None)` is a clean end of stream.
pub fn read_frame<T: for<'de> Deserialize<'de>>(r: &mut impl Read) -> io::Result<Option<T>> {
    let mut header = [0u8; 4];
    match r.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut body = vec![0u8; frame_len(header)?];
    r.read_exact(&mut body)?;
    decode(&body).map(Some)
}

pub fn write_frame<T: Serialize>(w: &mut impl Write, msg: &T) -> io::Result<()> {
    w.write_all(&encode(msg))
}

/// The async twin of [`read_frame`], for the server.
pub async fn read_frame_async<T: for<'de> Deserialize<'de>>(
    r: &mut (impl tokio::io::AsyncRead + Unpin),
) -> io::Result<Option<T>> {
    use tokio::io::AsyncReadExt;
    let mut header = [0u8; 4];
    match r.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut body = vec![0u8; frame_len(header)?];
    r.read_exact(&mut body).await?;
    decode(&body).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let msg = ToServer::Input(b"hello\x02".to_vec());
        let bytes = encode(&msg);
        let back: ToServer = read_frame(&mut &bytes[..]).unwrap().unwrap();
        assert!(matches!(back, ToServer::Input(v) if v == b"hello\x02"));
    }

    #[test]
    fn oversized_length_is_refused_before_allocating() {
        let mut bytes = (u32::MAX).to_le_bytes().to_vec();
        bytes.extend_from_slice(b"xx");
        let err = read_frame::<ToServer>(&mut &bytes[..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn garbage_body_is_an_error_not_a_panic() {
        let mut bytes = 5u32.to_le_bytes().to_vec();
        bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff]);
        assert!(read_frame::<ToServer>(&mut &bytes[..]).is_err());
    }

    #[test]
    fn hello_is_variant_zero_both_ways() {
        // A different-version peer must always be able to read the greeting.
        let a = encode(&ToServer::Hello(Hello::ours()));
        let b = encode(&ToClient::Hello(Hello::ours()));
        assert_eq!(a[4], 0);
        assert_eq!(b[4], 0);
    }
}
