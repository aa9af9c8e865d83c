//! The server: owns every session and every attached client.
//!
//! One task owns all state and handles one [`Event`] at a time, so there are
//! no locks on the server's own data. PTY reader threads and per-connection
//! tasks only turn I/O into events, and timers are events that come due.
//!
//! Handlers never draw or resize anything themselves: they mark views dirty
//! and sizes stale. After each event, [`Server::settle`] refits the sizes
//! once and draws each dirty view once, as tmux's server loop does. A slow
//! client never blocks anything: each has at most one frame in flight, and
//! while it is busy its view just stays dirty, so the next frame carries
//! everything that changed since.
//!
//! The rooms, each an `impl Server` block or a type of its own:
//! - [`conn`]: connections, the greeting, send/respond/close;
//! - [`session`]: one session (PTY, terminal, activity, attention, input);
//! - [`sessions`]: the registry: create, resolve, names, indexes, remove;
//! - [`verbs`]: the server half of each CLI verb, and the waiters;
//! - [`agent`]: what each program is doing, and which agent it is;
//! - [`notices`]: the attention log, and notifications of what needs the user;
//! - [`typing`]: messages on their way into a program, and the queue;
//! - [`answer`]: approval questions answered with the agent's own keys;
//! - [`view`]: an attached client's focus, size, messages and alerts;
//! - [`input`]: keys from a client: the prefix table, forwarding;
//! - [`modes`]: the chooser, help, prompts and scroll mode;
//! - [`panes`] and [`layout`]: a view split between sessions;
//! - [`draw`]: the frame for each view;
//! - [`persist`]: saving and restoring sessions over [`crate::persist::Store`];
//! - [`worktrees`]: worktree sessions' git numbers and conflict radar;
//! - [`os`]: the seam around PTYs and the clock.

mod agent;
mod answer;
mod conn;
mod daemons;
mod draw;
mod handoff;
mod hosts;
mod input;
pub mod layout;
mod modes;
mod notices;
pub mod os;
mod panes;
mod persist;
mod session;
mod sessions;
mod typing;
mod verbs;
mod view;
mod worktrees;

#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::os::unix::net::UnixListener as StdUnixListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::net::UnixStream;
use tokio::sync::mpsc;

use crate::config::Config;
use crate::protocol::{NewSession, SessionId, ToServer};
use crate::pty::PtyEvent;

use conn::Connection;
use persist::Saving;
use sessions::Sessions;
use verbs::Waiter;

type ClientId = u64;

pub use layout::Rect;
pub use persist::SAVE_INTERVAL;

enum Event {
    Connected(UnixStream),
    Message(ClientId, ToServer),
    /// A bridge's `ToServer::Bridge`, with the descriptors that came after
    /// it (or why none did).
    Bridge(ClientId, crate::protocol::Bridged, Result<Vec<std::os::fd::OwnedFd>, String>),
    /// A `qmux bridge --tty`'s `ToServer::TtyFrom`, with the descriptors
    /// that came after it (or why none did).
    TtyFrom(ClientId, String, Result<Vec<std::os::fd::OwnedFd>, String>),
    /// The terminal a client handed over went (reading or drawing on it
    /// failed).
    TtyLost(ClientId),
    Disconnected(ClientId),
    /// A client's terminal took its last frame.
    Flushed(ClientId),
    /// Time for a frame with the output of panes beside the focused one.
    Redraw(ClientId),
    Pty(SessionId, PtyEvent),
    /// Status messages may have expired; a server nobody uses may go.
    Tick,
    /// A session's state may have changed with time alone (output settled).
    StateCheck(SessionId),
    /// A session's output may have stopped: time to give back its
    /// screen's blank rows.
    ForgetBlankRows(SessionId),
    /// Time to move on the message being typed into a session.
    Typing(SessionId),
    /// Time to move on the answer to a session's question.
    Answer(SessionId),
    /// Time to look for the conversation a session's agent is on.
    FindConversation(SessionId),
    /// Time to write new history and screens to the state directory.
    Flush,
    /// A session's notice has waited out the settle time.
    NoticeDue(SessionId),
    /// How a notice fared on a channel that answers later.
    NoticeOutcome(Option<SessionId>, crate::notify::Channel, notices::Outcome),
    /// The user clicked a session's desktop notification.
    NoticeClicked(SessionId),
    /// What another machine's server said its sessions are.
    HostSessions(usize, Result<Vec<crate::protocol::SessionInfo>, String>),
    /// Time to ask git about the worktree sessions again.
    SurveyDue,
    /// What git said of the worktree sessions.
    Surveyed(crate::worktree::Survey<SessionId>),
    /// What a killed session left of its worktree, for the client that
    /// killed it (or the status bars).
    WorktreeLeft(Option<ClientId>, String),
    /// The worktree prefix `C` asked for, made (or why not), and the
    /// session to start in it.
    WorktreeMade(ClientId, Box<Result<(crate::worktree::Worktree, NewSession), String>>),
    Shutdown,
}

/// An event to handle at a given time.
struct Timer {
    at: Instant,
    /// Timers due at the same time go in the order they were set.
    seq: u64,
    event: Event,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct Server {
    socket: PathBuf,
    config: Config,
    /// Where the config came from, for a reload from a key.
    config_path: Option<PathBuf>,
    os: Box<dyn os::Os>,
    /// Where PTY threads and connection tasks send their events.
    events: mpsc::UnboundedSender<Event>,
    sessions: Sessions,
    connections: HashMap<ClientId, Connection>,
    next_client: ClientId,
    shutting_down: bool,
    /// Writers of closed connections, maybe still flushing a last message.
    closing: Vec<tokio::task::JoinHandle<()>>,
    waiters: Vec<Waiter>,
    /// Answers on their way to sessions' approval questions.
    answering: HashMap<SessionId, answer::Answering>,
    saving: Saving,
    timers: BinaryHeap<Reverse<Timer>>,
    timer_seq: u64,
    /// Some view came, went, changed size or focus: sessions may need new
    /// sizes. Acted on once, after the event.
    refit: bool,
    /// Inputs from clients so far: tells which client was typed in last.
    input_seq: u64,
    /// Someone has used the prefix: the status bar stops teaching it.
    prefix_used: bool,
    /// The panes of the last client that left with several: an attach to
    /// one of their sessions gets them back.
    last_layout: Option<panes::SavedLayout>,
    /// The listening socket, to pass to a new server (a live upgrade).
    listener: Option<std::os::fd::OwnedFd>,
    /// Every session went to a new server: exit, touching none.
    handed_off: bool,
    /// A new server listens on our socket: leave it be when exiting.
    succeeded: bool,
    /// Accepts connections; stopped when a new server takes the socket.
    acceptor: Option<tokio::task::JoinHandle<()>>,
    /// The other machines' sessions.
    hosts: hosts::Hosts,
    /// The attention log and the notices on their way.
    notices: notices::Notices,
    /// What git last said of the worktree sessions.
    radar: worktrees::Radar,
}

/// Runs the server on an already-bound listener until the last session is
/// gone or it is told to stop.
pub fn run(
    socket: PathBuf,
    (config, config_path): (Config, Option<PathBuf>),
    listener: StdUnixListener,
    state_dir: Option<PathBuf>,
) -> crate::error::Result<()> {
    // Every session's reader thread allocates history; glibc would give each
    // its own malloc arena, and their fragments add up per session.
    // SAFETY: mallopt only tunes the allocator; called before any thread starts.
    unsafe {
        nix::libc::mallopt(nix::libc::M_ARENA_MAX, 1);
    }
    // The blocking pool's threads (a flood's parse, a child's wait) go by
    // a name of their own.
    let runtime = tokio::runtime::Builder::new_current_thread().thread_name("qmux-pool").enable_all().build()?;
    runtime.block_on(async move {
        listener.set_nonblocking(true)?;
        let kept = std::os::fd::AsFd::as_fd(&listener).try_clone_to_owned()?;
        let listener = tokio::net::UnixListener::from_std(listener)?;
        let (events, mut rx) = mpsc::unbounded_channel();
        let mut server = Server::new(socket, config, Box::new(os::Real), events.clone());
        server.config_path = config_path;
        server.listener = Some(kept);
        let control_dir = server.socket.parent().map(std::path::Path::to_path_buf);
        server.hosts = hosts::Hosts::start(&server.config, control_dir, &events);
        // Sessions handed over by the server before us come first: the
        // state directory's saved sessions are the others.
        let (live, fallback) = match handoff::inherited() {
            None => (Vec::new(), None),
            Some(fd) => match server.take_over(fd) {
                Ok(keys) => (keys, None),
                Err(handoff::Fallback::Restore(why)) => {
                    handoff::wait_for_parent();
                    (Vec::new(), Some(why))
                }
                Err(handoff::Fallback::Failed(why)) => {
                    // The old server keeps everything, the socket too.
                    eprintln!("qmux: {why}");
                    std::process::exit(1);
                }
            },
        };
        server.acceptor = Some(spawn_acceptor(listener, events.clone()));
        spawn_signal_watch(events);
        server.notices = notices::Notices::new(crate::attention_log::Writer::open(state_dir.as_deref()));
        server.saving_open(state_dir, &live, fallback);
        // If whoever started us never connects, don't linger.
        server.after(Duration::from_secs(10), Event::Tick);
        let started = Instant::now();
        // Whether anyone has connected: a server left with no sessions by
        // the clients it served (`qmux restore` with nothing saved, the
        // last session killed) ends when the last of them goes. Until
        // then only the first moments are its starter's to connect in.
        let mut served = false;
        loop {
            let next = server.timers.peek().map(|t| t.0.at);
            let wake =
                tokio::time::Instant::from_std(next.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600)));
            tokio::select! {
                event = rx.recv() => match event {
                    Some(event) => server.handle(event),
                    None => break,
                },
                _ = tokio::time::sleep_until(wake), if next.is_some() => server.fire_timers(),
            }
            served |= !server.connections.is_empty();
            let idle = server.sessions.is_empty() && server.connections.is_empty() && server.radar.settled();
            if server.shutting_down
                || server.handed_off
                || (idle && (served || started.elapsed() > Duration::from_millis(100)))
            {
                break;
            }
        }
        if server.handed_off {
            server.saving_flush();
            server.flush_writers().await;
            // The programs are the new server's now: exit without dropping
            // (hanging up) a single one.
            std::process::exit(0);
        }
        server.shutdown().await;
        Ok(())
    })
}

fn spawn_acceptor(
    listener: tokio::net::UnixListener,
    events: mpsc::UnboundedSender<Event>,
) -> tokio::task::JoinHandle<()> {
    let uid = nix::unistd::getuid().as_raw();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            match stream.peer_cred() {
                Ok(cred) if cred.uid() == uid || cred.uid() == 0 => {
                    if events.send(Event::Connected(stream)).is_err() {
                        break;
                    }
                }
                Ok(cred) => eprintln!("qmux: refused a connection from uid {}", cred.uid()),
                Err(e) => eprintln!("qmux: refused a connection: {e}"),
            }
        }
    })
}

fn spawn_signal_watch(events: mpsc::UnboundedSender<Event>) {
    use tokio::signal::unix::{signal, SignalKind};
    for kind in [SignalKind::terminate(), SignalKind::hangup(), SignalKind::interrupt()] {
        let events = events.clone();
        if let Ok(mut sig) = signal(kind) {
            tokio::spawn(async move {
                sig.recv().await;
                let _ = events.send(Event::Shutdown);
            });
        }
    }
}

impl Server {
    fn new(socket: PathBuf, config: Config, os: Box<dyn os::Os>, events: mpsc::UnboundedSender<Event>) -> Server {
        Server {
            socket,
            config,
            config_path: None,
            os,
            events,
            sessions: Sessions::default(),
            connections: HashMap::new(),
            next_client: 1,
            shutting_down: false,
            closing: Vec::new(),
            waiters: Vec::new(),
            answering: HashMap::new(),
            saving: Saving::default(),
            timers: BinaryHeap::new(),
            timer_seq: 0,
            refit: false,
            input_seq: 0,
            prefix_used: false,
            last_layout: None,
            listener: None,
            handed_off: false,
            succeeded: false,
            acceptor: None,
            hosts: hosts::Hosts::default(),
            notices: notices::Notices::default(),
            radar: worktrees::Radar::default(),
        }
    }

    /// Handles one event, then refits sizes and draws what it changed.
    fn handle(&mut self, event: Event) {
        match event {
            Event::Connected(stream) => self.connected(stream),
            Event::Message(cid, msg) => self.client_message(cid, msg),
            Event::Bridge(cid, bridged, fds) => self.bridged(cid, bridged, fds),
            Event::TtyFrom(cid, token, fds) => self.tty_from(cid, token, fds),
            Event::TtyLost(cid) => self.tty_lost(cid),
            Event::Disconnected(cid) => self.disconnected(cid),
            Event::Flushed(cid) => self.flushed(cid),
            Event::Redraw(cid) => self.paced_redraw(cid),
            Event::Pty(sid, PtyEvent::Output) => self.session_output(sid),
            Event::Pty(sid, PtyEvent::Exited(code)) => self.session_exited(sid, code),
            Event::Tick => self.expire_messages(),
            Event::Flush => self.save_due(),
            Event::HostSessions(i, sessions) => self.host_sessions(i, sessions),
            Event::NoticeDue(sid) => self.notice_due(sid),
            Event::NoticeOutcome(sid, channel, outcome) => self.notice_outcome(sid, channel, outcome),
            Event::NoticeClicked(sid) => self.notice_clicked(sid),
            Event::Typing(sid) => self.advance_typing(sid),
            Event::Answer(sid) => self.advance_answer(sid),
            Event::FindConversation(sid) => {
                self.find_conversation(sid);
                self.save_meta(sid);
            }
            Event::StateCheck(sid) => {
                if let Some(s) = self.sessions.get_mut(sid) {
                    s.watch.state_timer_armed = false;
                }
                self.evaluate_state(sid);
            }
            Event::ForgetBlankRows(sid) => self.forget_blank_rows(sid),
            Event::SurveyDue => self.survey_due(),
            Event::Surveyed(survey) => self.surveyed(survey),
            Event::WorktreeLeft(reply, line) => self.worktree_left(reply, line),
            Event::WorktreeMade(cid, made) => self.worktree_made(cid, *made),
            Event::Shutdown => self.shutting_down = true,
        }
        self.settle();
    }

    /// The one place sizes are fitted and frames drawn.
    fn settle(&mut self) {
        if std::mem::take(&mut self.refit) {
            self.fit_sizes();
            self.hosts.set_wanted(self.views().next().is_some());
        }
        self.draw_dirty();
    }

    /// Handles `event` after `delay`.
    fn after(&mut self, delay: Duration, event: Event) {
        self.timer_seq += 1;
        self.timers.push(Reverse(Timer { at: self.os.now() + delay, seq: self.timer_seq, event }));
    }

    /// Handles every timer that has come due.
    fn fire_timers(&mut self) {
        let now = self.os.now();
        while self.timers.peek().is_some_and(|t| t.0.at <= now) {
            if let Some(Reverse(timer)) = self.timers.pop() {
                self.handle(timer.event);
            }
        }
    }

    async fn shutdown(&mut self) {
        self.shutting_down = true;
        let _ = self.save_all(true);
        let views: Vec<ClientId> = self.views().map(|(id, _)| id).collect();
        for cid in views {
            self.detach(cid, "server exited");
        }
        let agents: Vec<_> = self.sessions.iter().map(|s| s.watch.rules.clone()).collect();
        self.sessions.clear();
        self.end_daemons(&agents);
        if !self.succeeded {
            let _ = std::fs::remove_file(&self.socket);
        }
        self.saving_flush();
        // No program may outlive the server that ran it.
        let _ = tokio::task::spawn_blocking(crate::pty::finish_terminations).await;
        self.flush_writers().await;
    }

    /// Waits (a little) for every connection's last messages to go out.
    async fn flush_writers(&mut self) {
        let mut writers: Vec<_> = self.connections.drain().filter_map(|(_, c)| c.writer).collect();
        writers.append(&mut self.closing);
        for w in writers {
            let _ = tokio::time::timeout(Duration::from_secs(1), w).await;
        }
    }
}
