//! A live upgrade: `qmux upgrade` has this server start the new binary as a
//! server and pass it every session, PTY masters included, over a socket
//! pair. The programs never notice: their PTYs stay open, their PIDs are
//! the same, nothing hangs them up.
//!
//! What happens to output: the old server pauses every reader after the
//! batch in hand, which is then in its terminal; the snapshot of that
//! terminal (screen, history, title, and the start of any escape sequence
//! or character the read cut) goes to the new server with the master. All
//! output written from then on waits in the kernel's PTY buffer (a program
//! that fills it blocks, as with any slow terminal) and is the first thing
//! the new server reads. Nothing is read twice and nothing is dropped.
//!
//! The exchange, old (O) and new (N) server:
//! 1. O starts N with the listening socket and its end of the pair.
//! 2. N: `Ready { version }`. A version O cannot speak: O says `Abort`,
//!    saves every session and exits as `kill-server` would; N waits for it,
//!    then restores them (programs restarted, agents resumed).
//! 3. O: `Sessions { count, fds }`, the masters (SCM_RIGHTS, in chunks),
//!    one `Session` each, `Done`.
//! 4. N adopts them and says `Ack`, or `Nack(why)`: then O takes its
//!    sessions back and reads on, and the upgrade fails with N's reason.
//! 5. O tells its attached clients to reconnect (`ToClient::Reconnect`,
//!    with the session each showed) and exits without touching a program.
//!    Clients connecting meanwhile wait in the listening socket's backlog
//!    for N.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::session::{Life, Session, Watch};
use super::{ClientId, Server};
use crate::detect::State;
use crate::protocol::{Attention, Response, SessionId, ToClient};
use crate::pty::OutputPending;
use crate::terminal::{Snapshot, Terminal};

/// Bumped whenever [`Handed`] or the exchange changes shape.
pub const HANDOFF_VERSION: u32 = 2;

/// The environment variable that hands the new server its end of the pair.
pub const HANDOFF_FD_VAR: &str = "QMUX_HANDOFF_FD";

/// How long each side waits for the other's next step.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Serialize, Deserialize)]
enum Message {
    Ready { version: u32 },
    Abort { reason: String },
    Sessions { count: usize, fds: usize },
    Session(Box<Handed>),
    Done,
    Ack,
    Nack(String),
}

/// One session as it passes to the new server.
#[derive(Debug, Serialize, Deserialize)]
struct Handed {
    id: SessionId,
    index: u32,
    name: String,
    command: Vec<String>,
    origin: Vec<String>,
    cwd: PathBuf,
    created: SystemTime,
    env: Vec<(String, String)>,
    key: String,
    saved_upto: u64,
    log_rows: usize,
    last_used: u64,
    by_default: bool,
    pid: Option<u32>,
    /// Its master's place among the descriptors passed; none once exited.
    master: Option<usize>,
    state: State,
    exit_code: Option<i32>,
    unseen_output: bool,
    done: bool,
    bell: bool,
    queue: Vec<(String, bool)>,
    conversation: Option<String>,
    conversation_reported: bool,
    reported: Option<State>,
    terminal: Snapshot,
    worktree: Option<crate::worktree::Worktree>,
}

fn send(stream: &mut UnixStream, msg: &Message) -> std::io::Result<()> {
    let body = postcard::to_allocvec(msg).map_err(std::io::Error::other)?;
    stream.write_all(&(body.len() as u64).to_le_bytes())?;
    stream.write_all(&body)
}

fn receive(stream: &mut UnixStream) -> std::io::Result<Message> {
    let mut len = [0u8; 8];
    stream.read_exact(&mut len)?;
    let mut body = vec![0u8; usize::try_from(u64::from_le_bytes(len)).map_err(std::io::Error::other)?];
    stream.read_exact(&mut body)?;
    postcard::from_bytes(&body).map_err(std::io::Error::other)
}

impl Server {
    /// `qmux upgrade`: hands every session to a new server running `exe`.
    /// Answers the caller once the new server has them (or not).
    pub(super) fn hand_off(&mut self, exe: PathBuf) -> Result<Response, String> {
        if let Some(s) = self.sessions.iter().find(|s| !s.typing.is_empty()) {
            return Err(format!("{} is being typed into; upgrade when qmux send is done", s.label()));
        }
        let Some(listener) = &self.listener else {
            return Err("this server cannot hand over its socket; use kill-server and restore".into());
        };
        let (mut ours, theirs) = UnixStream::pair().map_err(|e| format!("cannot make a socket pair: {e}"))?;
        ours.set_read_timeout(Some(STEP_TIMEOUT)).map_err(|e| e.to_string())?;
        let mut new = self.start_successor(&exe, listener.as_fd(), theirs.as_fd())?;
        drop(theirs);
        let version = match receive(&mut ours) {
            Ok(Message::Ready { version }) => version,
            Ok(other) => return Err(self.abandon(&mut new, format!("the new server said {other:?} first"))),
            Err(e) => return Err(self.abandon(&mut new, format!("the new server did not start ({e})"))),
        };
        if version != HANDOFF_VERSION {
            // The normal save and restore: the new server restores what we
            // save as we exit.
            let reason = format!(
                "the new qmux takes live sessions in format {version}, this one gives {HANDOFF_VERSION}: \
                 saved every session instead, and the new server restores them (their programs restart)"
            );
            let _ = send(&mut ours, &Message::Abort { reason: reason.clone() });
            self.reconnect_clients();
            self.shutting_down = true;
            self.succeeded = true;
            return Ok(Response::Notice(vec![reason]));
        }
        // Input still queued for a program goes in before its PTY moves.
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        for s in self.sessions.iter() {
            s.child.flush_input(deadline);
        }
        let views: Vec<_> = self.views().map(|(id, _)| id).collect();
        for cid in views {
            if let Some(view) = self.connections.get_mut(&cid).and_then(|c| c.view.take()) {
                self.keep_layout(&view);
                if let Some(c) = self.connections.get_mut(&cid) {
                    c.view = Some(view);
                }
            }
        }
        match self.send_sessions(&mut ours) {
            Ok(count) => {
                self.reconnect_clients();
                self.handed_off = true;
                let pid = new.id();
                // The new server is not ours to wait for.
                std::mem::forget(new);
                Ok(Response::Notice(vec![format!("handed {count} session(s) to the new server (pid {pid})")]))
            }
            Err(why) => {
                for s in self.sessions.iter_mut() {
                    s.child.resume();
                }
                Err(self.abandon(&mut new, why))
            }
        }
    }

    /// Starts `exe` as a server on our listening socket, daemonized as the
    /// first one was, its end of the pair in `QMUX_HANDOFF_FD`.
    fn start_successor(
        &self,
        exe: &std::path::Path,
        listener: std::os::fd::BorrowedFd<'_>,
        pair: std::os::fd::BorrowedFd<'_>,
    ) -> Result<std::process::Child, String> {
        let inherit = |fd: std::os::fd::BorrowedFd<'_>| -> Result<OwnedFd, String> {
            // A duplicate without close-on-exec: the one the child keeps.
            let raw = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_DUPFD(3)).map_err(|e| e.to_string())?;
            // SAFETY: F_DUPFD returned a new descriptor we own.
            Ok(unsafe { OwnedFd::from_raw_fd(raw) })
        };
        let (listener, pair) = (inherit(listener)?, inherit(pair)?);
        let mut cmd = std::process::Command::new(exe);
        cmd.arg("-S").arg(&self.socket);
        if let Some(config) = &self.config_path {
            cmd.arg("-f").arg(config);
        }
        cmd.arg("server")
            .env(crate::client::LISTEN_FD_VAR, listener.as_raw_fd().to_string())
            .env(HANDOFF_FD_VAR, pair.as_raw_fd().to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null());
        // SAFETY: setsid is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                Ok(())
            });
        }
        cmd.spawn().map_err(|e| format!("cannot start {}: {e}", exe.display()))
    }

    /// Gives up on a new server that failed: it goes, we stay.
    fn abandon(&self, new: &mut std::process::Child, why: String) -> String {
        let _ = new.kill();
        let _ = new.wait();
        format!("upgrade failed, nothing changed: {why}")
    }

    /// Pauses every reader and sends the sessions; the count on success.
    fn send_sessions(&mut self, stream: &mut UnixStream) -> Result<usize, String> {
        let io = |e: std::io::Error| format!("the new server stopped taking sessions ({e})");
        let mut masters = Vec::new();
        let mut handed = Vec::new();
        for s in self.sessions.iter_mut() {
            let master = match (&s.life, s.child.pause()) {
                (Life::Running(_), Some(fd)) => {
                    masters.push(fd.as_raw_fd());
                    Some(masters.len() - 1)
                }
                _ => None,
            };
            handed.push(handed_session(s, master));
        }
        send(stream, &Message::Sessions { count: handed.len(), fds: masters.len() }).map_err(io)?;
        crate::fds::send(stream, &masters).map_err(io)?;
        let count = handed.len();
        for h in handed {
            send(stream, &Message::Session(Box::new(h))).map_err(io)?;
        }
        send(stream, &Message::Done).map_err(io)?;
        match receive(stream).map_err(io)? {
            Message::Ack => Ok(count),
            Message::Nack(why) => Err(why),
            other => Err(format!("the new server answered {other:?}")),
        }
    }

    /// Every attached client reconnects (to the new server) by itself;
    /// new connections wait in the socket's backlog for the new server.
    fn reconnect_clients(&mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.abort();
        }
        let views: Vec<(ClientId, SessionId)> = self.views().map(|(id, v)| (id, v.focused())).collect();
        for (cid, sid) in views {
            self.send(cid, ToClient::Reconnect(Some(sid)));
            self.close(cid);
        }
    }

    /// The new server's side: takes the sessions the old one hands over.
    /// Returns the keys of the sessions taken, or, when the old server fell
    /// back to saving them, says so (they are then to be restored).
    pub(super) fn take_over(&mut self, fd: OwnedFd) -> Result<Vec<String>, Fallback> {
        let mut stream = UnixStream::from(fd);
        let _ = stream.set_read_timeout(Some(STEP_TIMEOUT));
        let failed = |e: String| Fallback::Failed(format!("the handoff failed: {e}"));
        send(&mut stream, &Message::Ready { version: handoff_version() }).map_err(|e| failed(e.to_string()))?;
        let (count, fds) = match receive(&mut stream).map_err(|e| failed(e.to_string()))? {
            Message::Sessions { count, fds } => (count, fds),
            Message::Abort { reason } => return Err(Fallback::Restore(reason)),
            other => return Err(failed(format!("the old server sent {other:?}"))),
        };
        let mut masters: Vec<Option<OwnedFd>> =
            crate::fds::receive_all(&stream, fds).map_err(|e| failed(e.to_string()))?.into_iter().map(Some).collect();
        let mut handed = Vec::with_capacity(count);
        loop {
            match receive(&mut stream).map_err(|e| failed(e.to_string()))? {
                Message::Session(h) => handed.push(*h),
                Message::Done => break,
                other => return Err(failed(format!("the old server sent {other:?}"))),
            }
        }
        let mut keys = Vec::new();
        for h in handed {
            let master = h.master.and_then(|i| masters.get_mut(i)?.take());
            keys.push(h.key.clone());
            if let Err(e) = self.adopt(h, master) {
                let _ = send(&mut stream, &Message::Nack(e.clone()));
                return Err(failed(e));
            }
        }
        send(&mut stream, &Message::Ack).map_err(|e| failed(e.to_string()))?;
        for sid in self.sessions.ids() {
            self.evaluate_state(sid);
        }
        self.arm_flush();
        Ok(keys)
    }

    fn adopt(&mut self, h: Handed, master: Option<OwnedFd>) -> Result<(), String> {
        let mut term = Terminal::from_snapshot(&h.terminal);
        term.history_mut().set_limit(self.config.history_limit);
        term.history_mut().set_byte_limit(self.config.history_bytes);
        let terminal = Arc::new(Mutex::new(term));
        let pending = OutputPending::default();
        let id = h.id;
        let child: Box<dyn super::os::Child> = match (master, h.exit_code) {
            (Some(master), None) => {
                self.start_program(id, super::os::Program::Adopt { master, pid: h.pid }, &terminal, &pending)?
            }
            _ => Box::new(super::os::Ended),
        };
        let rules = self.config.rules_for(&h.command);
        let mut watch = Watch::new(rules, h.conversation);
        watch.conversation_reported = h.conversation_reported;
        watch.reported = h.reported;
        // What the old server worked out stands until the program writes
        // again: a session that was not busy has been quiet since before
        // the handoff (since it started, as far as this server can tell),
        // not since it was adopted, and one waiting has waited. A busy one
        // settles again from now, as it would have there.
        let now = self.os.now();
        let started = match h.state {
            State::Busy => now,
            _ => SystemTime::now().duration_since(h.created).ok().and_then(|d| now.checked_sub(d)).unwrap_or(now),
        };
        watch.has_waited = h.state == State::Waiting;
        let session = Session {
            id,
            index: h.index,
            name: h.name,
            command: h.command,
            origin: h.origin,
            cwd: h.cwd,
            created: h.created,
            started,
            terminal,
            pending,
            child,
            life: h.exit_code.map_or(Life::Running(h.state), Life::Exited),
            // Output after the handoff is news; before it, it was counted.
            last_output: None,
            output_seq: 0,
            attention: Attention { unseen_output: h.unseen_output, done: h.done, bell: h.bell },
            watch,
            queue: VecDeque::from(h.queue),
            typing: VecDeque::new(),
            env: h.env,
            key: h.key,
            saved_upto: h.saved_upto,
            log_rows: h.log_rows,
            screen_dirty: true,
            meta_dirty: false,
            last_used: h.last_used,
            by_default: h.by_default,
            needs_you_since: None,
            worktree: h.worktree,
        };
        self.sessions.adopt(session);
        Ok(())
    }
}

/// Why a new server has no sessions handed to it.
pub(super) enum Fallback {
    /// The old server saved them instead: restore them once it is gone.
    Restore(String),
    Failed(String),
}

fn handed_session(s: &Session, master: Option<usize>) -> Handed {
    let terminal = s.terminal.lock().map(|mut t| t.snapshot());
    let terminal = terminal.unwrap_or_else(|_| Terminal::new(1, 1).snapshot());
    Handed {
        id: s.id,
        index: s.index,
        name: s.name.clone(),
        command: s.command.clone(),
        origin: s.origin.clone(),
        cwd: s.cwd.clone(),
        created: s.created,
        env: s.env.clone(),
        key: s.key.clone(),
        saved_upto: s.saved_upto,
        log_rows: s.log_rows,
        last_used: s.last_used,
        by_default: s.by_default,
        pid: s.child.pid(),
        master,
        state: s.state(),
        exit_code: s.ended(),
        unseen_output: s.attention.unseen_output,
        done: s.attention.done,
        bell: s.attention.bell,
        queue: s.queue.iter().cloned().collect(),
        conversation: s.watch.conversation.clone(),
        conversation_reported: s.watch.conversation_reported,
        reported: s.watch.reported,
        terminal,
        worktree: s.worktree.clone(),
    }
}

/// The new server's end of the pair, when this server is one.
pub(super) fn inherited() -> Option<OwnedFd> {
    let fd: RawFd = std::env::var(HANDOFF_FD_VAR).ok()?.parse().ok()?;
    std::env::remove_var(HANDOFF_FD_VAR);
    // SAFETY: the old server made this descriptor for us alone.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let _ = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC));
    Some(fd)
}

/// Waits for the old server, our parent, to have exited (its programs
/// hung up and saved) before restoring what it saved.
pub(super) fn wait_for_parent() {
    let parent = nix::unistd::getppid();
    let deadline = std::time::Instant::now() + STEP_TIMEOUT;
    while nix::unistd::getppid() == parent && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The format this server takes sessions in. `QMUX_HANDOFF_VERSION`
/// pretends another, so the fallback to save and restore can be tested.
fn handoff_version() -> u32 {
    std::env::var("QMUX_HANDOFF_VERSION").ok().and_then(|v| v.parse().ok()).unwrap_or(HANDOFF_VERSION)
}
