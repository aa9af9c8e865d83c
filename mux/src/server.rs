//! The server: owns every session and every attached client.
//!
//! One task owns all state and handles one [`Event`] at a time, so there are
//! no locks on the server's own data. PTY reader threads and per-connection
//! tasks only turn I/O into events. A slow client never blocks anything: each
//! has at most one frame in flight, and while it is busy its screen is just
//! marked dirty, so the next frame carries everything that changed since.

use std::collections::{HashMap, VecDeque};
use std::os::unix::net::UnixListener as StdUnixListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::net::UnixStream;
use tokio::sync::mpsc;

use crate::config::{key_name, program_name, Config, Notify, Restore};
use crate::keys::{self, InputState, Key};
use crate::persist::{Saved, SavedSession, Store};
use crate::protocol::{
    self, Caller, Hello, NewSession, Request, Response, SessionId, SessionInfo, ToClient, ToServer, WaitFor,
};
use crate::pty::{self, OutputPending, Pty, PtyEvent, SpawnSpec};
use crate::render;
use crate::rules::{Paste, RuleSet};
use crate::scroll::{self, ScrollAction, ScrollView};
use crate::session::Terminal;
use crate::state::{Signals, State};
use crate::status;

type ClientId = u64;

/// How long a status message stays up.
const MESSAGE_TIME: Duration = Duration::from_secs(3);
/// Frames queued per client before we stop queueing and repaint later.
const CLIENT_QUEUE: usize = 64;
/// The terminal size assumed for a session no terminal has shown yet
/// (cols, rows), as tmux's default-size.
const DEFAULT_SIZE: (u16, u16) = (80, 24);
/// The largest terminal a client may claim (cols, rows). Sizes come from
/// the wire: unchecked, one client asking for 65535x65535 (4 billion cells)
/// would take the server down, and every session with it.
const MAX_SIZE: (u16, u16) = (1000, 1000);

/// A terminal size from a client, each side within 1..=MAX_SIZE.
fn bounded_size((cols, rows): (u16, u16)) -> (u16, u16) {
    (cols.clamp(1, MAX_SIZE.0), rows.clamp(1, MAX_SIZE.1))
}

enum Event {
    Connected(UnixStream),
    Message(ClientId, ToServer),
    Disconnected(ClientId),
    Flushed(ClientId),
    Pty(SessionId, PtyEvent),
    /// A status message may have expired.
    Tick,
    /// A session's state may have changed with time alone (output settled).
    StateCheck(SessionId),
    /// Time to move on the message being typed into a session.
    Typing(SessionId),
    /// Time to look for the conversation a session's agent is on.
    FindConversation(SessionId),
    /// Time to write new history and screens to the state directory.
    Flush,
    Shutdown,
}

struct Session {
    id: SessionId,
    index: u32,
    name: String,
    /// What runs: the command, with resume arguments after a restore.
    command: Vec<String>,
    /// The command as the user gave it, which a restore resumes.
    origin: Vec<String>,
    cwd: PathBuf,
    created: SystemTime,
    terminal: Arc<Mutex<Terminal>>,
    pending: OutputPending,
    pty: Pty,
    exit_code: Option<i32>,
    last_output: Option<SystemTime>,
    unseen_output: bool,
    bell: bool,
    bells_seen: u64,
    /// The rule set in force: the agent found in the PTY's foreground, else
    /// the one for its command.
    rules: Arc<RuleSet>,
    /// The foreground group last identified (`foreground::fingerprint`).
    foreground: String,
    /// When the foreground was last looked at.
    foreground_checked: Option<Instant>,
    /// A look is due when the interval is up.
    foreground_recheck: bool,
    /// The agent's process, once identified.
    agent: Option<crate::foreground::Process>,
    /// The state the agent reported through a hook: the authority while set.
    reported: Option<State>,
    /// The agent's own id for its conversation: from a hook, or the session
    /// file its turns write.
    conversation: Option<String>,
    /// The id came from a hook, which knows better than files.
    conversation_reported: bool,
    /// When the current turn began: the session file it writes is newer.
    turn_started: Option<SystemTime>,
    /// The last message qmux typed in: the conversation file holds it.
    last_typed: Option<String>,
    state: State,
    /// The program has turned bracketed paste on at some point.
    uses_bracketed_paste: bool,
    /// Input was sent and no output has answered it yet.
    awaiting_reaction: bool,
    /// Went from busy to waiting/approval while nobody watched.
    done: bool,
    /// Has been waiting at least once since its program started.
    has_waited: bool,
    /// Input reached the program since it last sat at its prompt: the next
    /// prompt ends a turn (a reply, a command), which is worth a "done".
    /// A program merely starting up is not.
    input_since_prompt: bool,
    /// Messages for `send --when-waiting`: (text, press Enter).
    queue: VecDeque<(String, bool)>,
    /// Messages being typed, the first in progress.
    typing: VecDeque<Typing>,
    state_timer_armed: bool,
    last_output_at: Instant,
    /// The environment it was started with (saved for a restore).
    env: Vec<(String, String)>,
    /// Names its saved files; kept across restores.
    key: String,
    /// History rows up to this absolute line number are in the state dir.
    saved_upto: u64,
    /// Rows in the history log file, to know when to compact it.
    log_rows: usize,
    /// The screen changed since it was last saved.
    screen_dirty: bool,
    /// Bumped whenever the session is created or shown; the bare `qmux`
    /// attaches to the highest.
    last_used: u64,
}

/// A message on its way into a program (see `Server::advance_typing`).
struct Typing {
    text: String,
    enter: bool,
    /// The `qmux send` to answer when it is done.
    client: Option<ClientId>,
    phase: Phase,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Queued,
    /// The text is written; `echoed` once output followed.
    Typed {
        at: Instant,
        echoed: bool,
    },
    /// Enter is written; `reacted` once output followed.
    Entered {
        at: Instant,
        reacted: bool,
    },
}

/// How long a program may take to react to typed input before `send`
/// reports that it did not.
const REACTION_TIMEOUT: Duration = Duration::from_secs(3);

impl Session {
    fn label(&self) -> String {
        format!("{}:{}", self.index, self.name)
    }
}

enum Mode {
    Normal,
    Chooser {
        selected: usize,
    },
    Help,
    Rename {
        input: String,
    },
    ConfirmKill,
    /// Reading history; the session keeps running underneath.
    Scroll(Box<ScrollView>),
}

/// An attached client: what it shows and how far its terminal has got.
struct View {
    cols: u16,
    rows: u16,
    focused: SessionId,
    last: Option<SessionId>,
    /// The session screen as this client's terminal shows it; `None` forces
    /// a full repaint.
    drawn: Option<vt100::Screen>,
    status_drawn: Option<String>,
    input: InputState,
    mode: Mode,
    env: Vec<(String, String)>,
    frame_in_flight: bool,
    dirty: bool,
    message: Option<(String, Instant)>,
    /// Bytes for the terminal ahead of the next frame (bells, notifications).
    alerts: Vec<u8>,
}

/// A `qmux wait` still waiting.
struct Waiter {
    client: ClientId,
    session: SessionId,
    until: Until,
}

enum Until {
    State(State),
    Output(regex::Regex),
}

struct Connection {
    tx: mpsc::Sender<ToClient>,
    greeted: bool,
    view: Option<View>,
    writer: tokio::task::JoinHandle<()>,
}

struct Server {
    socket: PathBuf,
    config: Config,
    events: mpsc::UnboundedSender<Event>,
    sessions: Vec<Session>,
    connections: HashMap<ClientId, Connection>,
    next_client: ClientId,
    next_session: SessionId,
    use_counter: u64,
    shutting_down: bool,
    /// Writers of closed connections, maybe still flushing a last message.
    closing: Vec<tokio::task::JoinHandle<()>>,
    waiters: Vec<Waiter>,
    store: Option<Store>,
    /// Sessions saved by a previous server, waiting for `qmux restore`.
    saved: Vec<Saved>,
    /// Said once to the user: saved sessions, files moved aside.
    notices: Vec<String>,
    saved_announced: bool,
    flush_armed: bool,
}

/// How often a session's foreground process group is looked at, at most.
const FOREGROUND_CHECK: Duration = Duration::from_millis(250);

/// Everything observable about a session now, for its detector.
fn signals_of(s: &Session, t: &Terminal) -> Signals {
    let screen = t.screen();
    Signals {
        exited: s.exit_code.is_some(),
        raw_mode: s.exit_code.is_none() && s.pty.raw_mode(),
        bracketed_paste: screen.bracketed_paste(),
        uses_bracketed_paste: s.uses_bracketed_paste,
        cursor_hidden: screen.hide_cursor(),
        quiet_for: s.last_output_at.elapsed(),
        awaiting_reaction: s.awaiting_reaction,
        title: t.title().to_string(),
        progress: t.progress(),
        reported: s.reported,
        was_waiting: s.state == State::Waiting,
        has_waited: s.has_waited,
    }
}

/// What is saved of a session to relaunch it.
fn meta_of(s: &Session) -> SavedSession {
    SavedSession {
        version: crate::persist::FORMAT_VERSION,
        key: s.key.clone(),
        name: s.name.clone(),
        index: s.index,
        command: s.origin.clone(),
        cwd: s.cwd.clone(),
        env: s.env.clone(),
        created: epoch_secs(s.created),
        saved: epoch_secs(SystemTime::now()),
        state: s.state,
        exit_code: s.exit_code,
        agent: (s.rules.source != crate::rules::Source::Generic).then(|| s.rules.name.clone()),
        conversation: s.conversation.clone(),
        agent_argv: s
            .agent
            .as_ref()
            .filter(|_| !s.rules.matcher.matches(&s.origin, program_name(&s.origin)))
            .map(|p| p.argv.clone()),
    }
}

/// How often new output is written to the state directory at most, and so
/// how much a SIGKILL of the server can lose.
pub const SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// Runs the server on an already-bound listener until the last session is
/// gone or it is told to stop.
pub fn run(
    socket: PathBuf,
    config: Config,
    listener: StdUnixListener,
    state_dir: Option<PathBuf>,
) -> crate::error::Result<()> {
    // Every session's reader thread allocates history; glibc would give each
    // its own malloc arena, and their fragments add up per session.
    // SAFETY: mallopt only tunes the allocator; called before any thread starts.
    unsafe {
        nix::libc::mallopt(nix::libc::M_ARENA_MAX, 1);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::UnixListener::from_std(listener)?;
        let (events, mut rx) = mpsc::unbounded_channel();
        spawn_acceptor(listener, events.clone());
        spawn_signal_watch(events.clone());
        // If whoever started us never connects, don't linger.
        let tick = events.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            let _ = tick.send(Event::Tick);
        });
        let mut server = Server {
            socket,
            config,
            events,
            sessions: Vec::new(),
            connections: HashMap::new(),
            next_client: 1,
            next_session: 1,
            use_counter: 0,
            shutting_down: false,
            closing: Vec::new(),
            waiters: Vec::new(),
            store: None,
            saved: Vec::new(),
            notices: Vec::new(),
            saved_announced: false,
            flush_armed: false,
        };
        server.open_store(state_dir);
        let started = Instant::now();
        while let Some(event) = rx.recv().await {
            server.handle(event);
            let idle = server.sessions.is_empty() && server.connections.is_empty();
            if server.shutting_down || (idle && started.elapsed() > Duration::from_millis(100)) {
                break;
            }
        }
        server.shutdown().await;
        Ok(())
    })
}

fn spawn_acceptor(listener: tokio::net::UnixListener, events: mpsc::UnboundedSender<Event>) {
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
    });
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

fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Server {
    fn handle(&mut self, event: Event) {
        match event {
            Event::Connected(stream) => self.connected(stream),
            Event::Message(cid, msg) => self.client_message(cid, msg),
            Event::Disconnected(cid) => {
                self.waiters.retain(|w| w.client != cid);
                if self.connections.remove(&cid).is_some_and(|c| c.view.is_some()) {
                    self.apply_sizes();
                }
            }
            Event::Flushed(cid) => {
                if let Some(view) = self.view_mut(cid) {
                    view.frame_in_flight = false;
                    if view.dirty {
                        self.draw(cid);
                    }
                }
            }
            Event::Pty(sid, PtyEvent::Output) => self.session_output(sid),
            Event::Pty(sid, PtyEvent::Exited(code)) => self.session_exited(sid, code),
            Event::Tick => self.expire_messages(),
            Event::Flush => {
                self.flush_armed = false;
                self.save_all();
            }
            Event::Typing(sid) => self.advance_typing(sid),
            Event::FindConversation(sid) => {
                self.find_conversation(sid);
                self.save_meta(sid);
            }
            Event::StateCheck(sid) => {
                if let Some(s) = self.session_mut(sid) {
                    s.state_timer_armed = false;
                }
                self.evaluate_state(sid);
            }
            Event::Shutdown => self.shutting_down = true,
        }
    }

    // ----- connections -------------------------------------------------

    fn connected(&mut self, stream: UnixStream) {
        let cid = self.next_client;
        self.next_client += 1;
        let (mut read, mut write) = stream.into_split();
        let (tx, mut rx) = mpsc::channel::<ToClient>(CLIENT_QUEUE);
        let events = self.events.clone();
        tokio::spawn(async move {
            // A malformed frame ends this connection only.
            while let Ok(Some(msg)) = protocol::read_frame_async::<ToServer>(&mut read).await {
                if events.send(Event::Message(cid, msg)).is_err() {
                    break;
                }
            }
            let _ = events.send(Event::Disconnected(cid));
        });
        let events = self.events.clone();
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            while let Some(msg) = rx.recv().await {
                let is_frame = matches!(msg, ToClient::Frame(_));
                if write.write_all(&protocol::encode(&msg)).await.is_err() {
                    break;
                }
                if is_frame {
                    let _ = events.send(Event::Flushed(cid));
                }
            }
            let _ = write.shutdown().await;
        });
        self.connections.insert(cid, Connection { tx, greeted: false, view: None, writer });
    }

    fn send(&mut self, cid: ClientId, msg: ToClient) {
        if let Some(conn) = self.connections.get(&cid) {
            if conn.tx.try_send(msg).is_err() {
                // A client that stopped reading: drop the connection rather
                // than let it hold the server's memory.
                self.connections.remove(&cid);
            }
        }
    }

    fn respond(&mut self, cid: ClientId, result: Result<Response, String>) {
        let response = result.unwrap_or_else(Response::Error);
        self.send(cid, ToClient::Response(response));
    }

    fn client_message(&mut self, cid: ClientId, msg: ToServer) {
        let Some(conn) = self.connections.get_mut(&cid) else {
            return;
        };
        match msg {
            ToServer::Hello(hello) => {
                conn.greeted = true;
                let ours = Hello::ours();
                let mismatch = hello.protocol != ours.protocol;
                self.send(cid, ToClient::Hello(ours.clone()));
                if mismatch {
                    self.send(
                        cid,
                        ToClient::Response(Response::Error(format!(
                            "server is v{}, client is v{}; run `qmux kill-server` to upgrade",
                            ours.version, hello.version
                        ))),
                    );
                    self.close(cid);
                }
            }
            _ if !conn.greeted => self.close(cid),
            ToServer::Request(req) => self.request(cid, *req),
            ToServer::Input(bytes) => self.input(cid, &bytes),
            ToServer::Resize(cols, rows) => {
                let (cols, rows) = bounded_size((cols, rows));
                if let Some(view) = self.view_mut(cid) {
                    if (view.cols, view.rows) != (cols, rows) {
                        view.cols = cols.max(1);
                        view.rows = rows.max(2);
                        if let Mode::Scroll(sv) = &mut view.mode {
                            sv.resize(view.rows - 1);
                        }
                        view.drawn = None;
                        view.status_drawn = None;
                        self.apply_sizes();
                        self.draw(cid);
                    }
                }
            }
        }
    }

    /// Drops a connection; its writer still flushes what was queued.
    fn close(&mut self, cid: ClientId) {
        let Some(conn) = self.connections.remove(&cid) else {
            return;
        };
        // Keep the writer so a last message (a detach reason) is flushed
        // even if the server is about to exit.
        self.closing.retain(|w| !w.is_finished());
        self.closing.push(conn.writer);
        if conn.view.is_some() {
            self.apply_sizes();
        }
    }

    fn request(&mut self, cid: ClientId, req: Request) {
        match req {
            Request::Attach { target, create, create_if_none, size, env } => {
                self.attach(cid, target, create, create_if_none, size, env)
            }
            Request::New { session, caller, switch_caller } => {
                let result = self.create_session(session).map(|sid| {
                    if switch_caller {
                        if let Some(caller) = caller {
                            for vid in self.views_showing(caller.session) {
                                self.focus(vid, sid);
                            }
                        }
                    }
                    let mut notices = self.take_notices(true);
                    notices.extend(self.shared_resume_slot(sid, false));
                    Response::Notice(notices)
                });
                self.respond(cid, result);
            }
            Request::List => {
                let list = self.session_infos();
                self.respond(cid, Ok(Response::Sessions(list)));
            }
            Request::Kill { target } => {
                let result = self.resolve(&target).map(|sid| {
                    self.remove_session(sid);
                    Response::Ok
                });
                self.respond(cid, result);
            }
            Request::KillServer => {
                self.respond(cid, Ok(Response::Ok));
                self.shutting_down = true;
            }
            Request::Rename { target, name } => {
                let result = self.resolve(&target).and_then(|sid| self.rename(sid, &name)).map(|_| Response::Ok);
                self.respond(cid, result);
            }
            Request::Switch { target, caller } => {
                let result = self.resolve(&target).and_then(|sid| {
                    let views = self.caller_views(caller)?;
                    for vid in views {
                        self.focus(vid, sid);
                    }
                    Ok(Response::Ok)
                });
                self.respond(cid, result);
            }
            Request::Send { target, text, enter, when_waiting } => match self.resolve(&target) {
                Ok(sid) => self.send_text(sid, text, enter, when_waiting, cid),
                Err(e) => self.respond(cid, Err(e)),
            },
            Request::Capture { target, ansi, history } => {
                let result = self.resolve(&target).map(|sid| Response::Text(self.capture(sid, ansi, history)));
                self.respond(cid, result);
            }
            Request::Wait { target, until } => {
                let until = match until {
                    WaitFor::Waiting => Ok(Until::State(State::Waiting)),
                    WaitFor::Approval => Ok(Until::State(State::Approval)),
                    WaitFor::Exited => Ok(Until::State(State::Exited)),
                    WaitFor::Output(pattern) => {
                        regex::Regex::new(&pattern).map(Until::Output).map_err(|e| regex_error(&pattern, &e))
                    }
                };
                match until.and_then(|u| Ok((self.resolve(&target)?, u))) {
                    Ok((sid, until)) => {
                        self.waiters.push(Waiter { client: cid, session: sid, until });
                        self.check_waiters(sid);
                        // An exited session will never get anywhere else.
                        if let Some(s) = self.session(sid).filter(|s| s.state == State::Exited) {
                            let why = format!("{} has exited", s.label());
                            self.end_waiters(sid, &why);
                        }
                    }
                    Err(e) => self.respond(cid, Err(e)),
                }
            }
            Request::ListSaved => {
                let list = self.saved.iter().map(|s| SavedSession { env: Vec::new(), ..s.meta.clone() }).collect();
                self.respond(cid, Ok(Response::Saved(list)));
            }
            Request::Restore { target } => {
                let mut notices = self.take_notices(false);
                let result = self.restore(target.as_deref()).map(|lines| {
                    notices.extend(lines);
                    Response::Notice(notices)
                });
                self.respond(cid, result);
            }
            Request::Forget { target } => {
                let result = self.saved_matching(target.as_deref()).map(|picked| {
                    let mut lines = Vec::new();
                    for i in picked.into_iter().rev() {
                        let s = self.saved.remove(i);
                        if let Some(store) = &self.store {
                            store.forget(&s.meta.key);
                        }
                        lines.push(format!("forgot {}:{}", s.meta.index, s.meta.name));
                    }
                    Response::Notice(lines)
                });
                self.respond(cid, result);
            }
            Request::Explain { target } => {
                let result = self
                    .resolve(&target)
                    .and_then(|sid| self.explain(sid).ok_or_else(|| "the session is gone".to_string()))
                    .map(|e| Response::Explain(Box::new(e)));
                self.respond(cid, result);
            }
            Request::Report { target, caller, state, end, conversation } => {
                let sid = match (target, caller) {
                    (Some(t), _) => self.resolve(&t),
                    (None, Some(c)) if self.session(c.session).is_some() => Ok(c.session),
                    (None, _) => Err("report from outside qmux needs -t TARGET".to_string()),
                };
                let result = sid.map(|sid| {
                    self.report(sid, state, end, conversation);
                    Response::Ok
                });
                self.respond(cid, result);
            }
            Request::Reload { config } => {
                let result = Config::load(config.as_deref()).map_err(|e| e.to_string()).map(|config| {
                    self.reload(config);
                    Response::Ok
                });
                self.respond(cid, result);
            }
            Request::Detach { target, caller } => {
                let result = match target {
                    Some(t) => self.resolve(&t).and_then(|sid| {
                        let views = self.views_showing(sid);
                        if views.is_empty() {
                            let label = self.session(sid).map(Session::label).unwrap_or_default();
                            return Err(format!("no client is attached to {label}"));
                        }
                        Ok(views)
                    }),
                    None => self.caller_views(caller),
                };
                let result = result.map(|views| {
                    for vid in views {
                        self.detach(vid, "detached");
                    }
                    Response::Ok
                });
                self.respond(cid, result);
            }
        }
    }

    fn attach(
        &mut self,
        cid: ClientId,
        target: Option<String>,
        create: Option<NewSession>,
        create_if_none: Option<NewSession>,
        (cols, rows): (u16, u16),
        env: Vec<(String, String)>,
    ) {
        let chosen = match (create, target) {
            (Some(spec), _) => self.create_session(spec),
            (None, Some(t)) => self.resolve(&t),
            (None, None) => match self.sessions.iter().max_by_key(|s| s.last_used) {
                Some(s) => Ok(s.id),
                None => match create_if_none {
                    Some(spec) => self.create_session(spec),
                    None => Err("no sessions".to_string()),
                },
            },
        };
        let sid = match chosen {
            Ok(sid) => sid,
            Err(e) => return self.respond(cid, Err(e)),
        };
        // Said once: to this client before it takes the terminal, and in its
        // status bar.
        let mut notices = self.take_notices(true);
        notices.extend(self.shared_resume_slot(sid, false));
        self.respond(cid, Ok(Response::Notice(notices.clone())));
        let Some(conn) = self.connections.get_mut(&cid) else {
            return;
        };
        let (cols, rows) = bounded_size((cols, rows));
        conn.view = Some(View {
            cols,
            rows: rows.max(2),
            focused: sid,
            last: None,
            drawn: None,
            status_drawn: None,
            input: InputState::default(),
            mode: Mode::Normal,
            env,
            frame_in_flight: false,
            dirty: false,
            message: None,
            alerts: Vec::new(),
        });
        self.focus(cid, sid);
        if let Some(first) = notices.first() {
            self.show_message(cid, first);
        }
    }

    fn detach(&mut self, cid: ClientId, reason: &str) {
        if let Some(conn) = self.connections.get_mut(&cid) {
            conn.view = None;
        }
        self.send(cid, ToClient::Detached(reason.to_string()));
        self.close(cid);
    }

    /// The views a command from inside qmux acts on: those showing the
    /// caller's session. Outside qmux there is no "own" client.
    fn caller_views(&self, caller: Option<Caller>) -> Result<Vec<ClientId>, String> {
        let Some(caller) = caller else {
            return Err("not inside qmux: say which session with -t TARGET".into());
        };
        let views = self.views_showing(caller.session);
        if views.is_empty() {
            return Err("no client is showing this session".into());
        }
        Ok(views)
    }

    fn view_mut(&mut self, cid: ClientId) -> Option<&mut View> {
        self.connections.get_mut(&cid)?.view.as_mut()
    }

    fn views(&self) -> impl Iterator<Item = (ClientId, &View)> {
        self.connections.iter().filter_map(|(id, c)| Some((*id, c.view.as_ref()?)))
    }

    fn views_showing(&self, sid: SessionId) -> Vec<ClientId> {
        self.views().filter(|(_, v)| v.focused == sid).map(|(id, _)| id).collect()
    }

    // ----- sessions ----------------------------------------------------

    fn session(&self, sid: SessionId) -> Option<&Session> {
        self.sessions.iter().find(|s| s.id == sid)
    }

    fn session_mut(&mut self, sid: SessionId) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.id == sid)
    }

    /// A session by name, index, or unique name prefix.
    fn resolve(&self, target: &str) -> Result<SessionId, String> {
        if let Some(s) = self.sessions.iter().find(|s| s.name == target) {
            return Ok(s.id);
        }
        if let Ok(index) = target.parse::<u32>() {
            if let Some(s) = self.sessions.iter().find(|s| s.index == index) {
                return Ok(s.id);
            }
        }
        let matches: Vec<&Session> = self.sessions.iter().filter(|s| s.name.starts_with(target)).collect();
        match matches.as_slice() {
            [one] => Ok(one.id),
            [] => Err(format!("no session {target:?} ({})", self.session_list())),
            many => Err(format!(
                "{target:?} is ambiguous: it matches {}",
                many.iter().map(|s| s.label()).collect::<Vec<_>>().join(", ")
            )),
        }
    }

    fn session_list(&self) -> String {
        if self.sessions.is_empty() {
            return "there are no sessions".into();
        }
        let names: Vec<String> = self.sessions.iter().map(Session::label).collect();
        format!("sessions: {}", names.join(", "))
    }

    fn check_name(&self, name: &str, except: Option<SessionId>) -> Result<(), String> {
        if name.is_empty() || name.chars().any(|c| c.is_control() || c == ':') {
            return Err(format!("bad session name {name:?}: use letters, digits and punctuation other than ':'"));
        }
        if self.sessions.iter().any(|s| s.name == name && Some(s.id) != except) {
            return Err(format!("a session named {name:?} already exists"));
        }
        Ok(())
    }

    fn unique_name(&self, base: &str) -> String {
        let base: String = base.chars().filter(|c| !c.is_control() && *c != ':').collect();
        let base = if base.is_empty() { "chat".to_string() } else { base };
        let mut name = base.clone();
        let mut n = 2;
        while self.sessions.iter().any(|s| s.name == name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        name
    }

    /// The command a session runs when none is given: the config's, else
    /// `q chat` if `q` is installed, else the stand-in chat next to us.
    fn default_command(&self, env: &[(String, String)], cwd: &std::path::Path) -> Result<Vec<String>, String> {
        if let Some(cmd) = &self.config.default_command {
            return Ok(cmd.clone());
        }
        let path = env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_str());
        if which::which_in("q", path, cwd).is_ok() {
            return Ok(vec!["q".into(), "chat".into()]);
        }
        let standin = std::env::current_exe().ok().and_then(|e| Some(e.parent()?.join("qmux-chat")));
        match standin {
            Some(p) if p.is_file() => Ok(vec![p.to_string_lossy().into_owned()]),
            _ => Err("no default command: install `q`, set default-command in the config, or build qmux-chat \
                      (cargo build --workspace)"
                .into()),
        }
    }

    fn create_session(&mut self, spec: NewSession) -> Result<SessionId, String> {
        self.create_or_restore(spec, None)
    }

    /// Starts a session; with `saved`, brings back a saved one: its history
    /// and last screen first, a marker line, then the program resumed.
    fn create_or_restore(&mut self, spec: NewSession, saved: Option<&Saved>) -> Result<SessionId, String> {
        if let Some(name) = &spec.name {
            self.check_name(name, None)?;
        }
        let command = if spec.command.is_empty() { self.default_command(&spec.env, &spec.cwd)? } else { spec.command };
        let id = self.next_session;
        let free = |i: &u32| !self.sessions.iter().any(|s| s.index == *i);
        let index = match saved.map(|s| s.meta.index).filter(free) {
            Some(i) => i,
            None => (0..).find(free).unwrap_or(0),
        };
        let name = spec.name.unwrap_or_else(|| {
            self.unique_name(&spec.cwd.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
        });
        let (cols, rows) = bounded_size(spec.size.unwrap_or(DEFAULT_SIZE));
        let rows = rows.saturating_sub(1); // the status row
        let mut env: Vec<(String, String)> =
            spec.env.into_iter().filter(|(k, _)| !matches!(k.as_str(), "TERM" | "QMUX" | "QMUX_SESSION")).collect();
        env.push(("TERM".into(), pty::child_term().into()));
        env.push(("QMUX".into(), format!("{},{},{id}", self.socket.display(), std::process::id())));
        env.push(("QMUX_SESSION".into(), name.clone()));

        let mut term = Terminal::with_history_limit(rows.max(1), cols.max(1), self.config.history_limit);
        if let Some(saved) = saved {
            for row in &saved.history {
                term.history_mut().push(row, false);
            }
            // The last screen goes into history too, above the marker: on
            // the live screen, its old prompt or question would look like
            // the new program's before that has drawn anything.
            let screen_rows = saved.screen.iter().rposition(|r| !crate::history::plain(r).trim().is_empty());
            for row in &saved.screen[..screen_rows.map_or(0, |i| i + 1)] {
                term.history_mut().push(row, false);
            }
            let when = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(saved.meta.saved));
            let marker = format!(" restored from {when} ");
            let side = usize::from(cols.max(1)).saturating_sub(marker.chars().count()) / 2;
            term.process(format!("\x1b[2m{}{marker}{}\x1b[m\r\n", "─".repeat(side), "─".repeat(side)).as_bytes());
        }
        let (saved_upto, log_rows) = (term.history().total_pushed(), term.history().len());
        let terminal = Arc::new(Mutex::new(term));
        let pending = OutputPending::default();
        let events = self.events.clone();
        let pty = Pty::spawn(
            SpawnSpec { argv: &command, cwd: &spec.cwd, env: &env, cols: cols.max(1), rows: rows.max(1) },
            terminal.clone(),
            pending.clone(),
            move |ev| {
                let _ = events.send(Event::Pty(id, ev));
            },
        )
        .map_err(|e| e.to_string())?;
        self.next_session += 1;
        self.use_counter += 1;
        let command_for_detector = command.clone();
        let created = saved.map_or_else(SystemTime::now, |s| UNIX_EPOCH + Duration::from_secs(s.meta.created));
        let key = saved.map(|s| s.meta.key.clone()).unwrap_or_else(|| {
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            format!("{nanos}-{}-{id}", std::process::id())
        });
        let saved_env =
            env.iter().filter(|(k, _)| !matches!(k.as_str(), "TERM" | "QMUX" | "QMUX_SESSION")).cloned().collect();
        let origin = saved.map_or_else(|| command.clone(), |s| s.meta.command.clone());
        let session = Session {
            id,
            index,
            name,
            command,
            origin,
            cwd: spec.cwd,
            created,
            terminal,
            pending,
            pty,
            exit_code: None,
            last_output: None,
            unseen_output: false,
            bell: false,
            bells_seen: 0,
            rules: self.config.rules_for(&command_for_detector),
            foreground: String::new(),
            foreground_checked: None,
            foreground_recheck: false,
            agent: None,
            reported: None,
            conversation: saved.and_then(|s| s.meta.conversation.clone()),
            conversation_reported: false,
            turn_started: None,
            last_typed: None,
            state: State::Busy,
            uses_bracketed_paste: false,
            awaiting_reaction: false,
            done: false,
            has_waited: false,
            input_since_prompt: false,
            queue: VecDeque::new(),
            typing: VecDeque::new(),
            state_timer_armed: false,
            last_output_at: Instant::now(),
            last_used: self.use_counter,
            env: saved_env,
            key,
            saved_upto,
            log_rows,
            screen_dirty: true,
        };
        let at = self.sessions.partition_point(|s| s.index < index);
        self.sessions.insert(at, session);
        self.save_meta(id);
        self.arm_flush();
        self.evaluate_state(id);
        self.redraw_status();
        Ok(id)
    }

    // ----- saving and restoring -------------------------------------------

    fn open_store(&mut self, dir: Option<PathBuf>) {
        let Some(dir) = dir else { return };
        match Store::open(dir) {
            Ok(store) => {
                let (saved, problems) = store.load_all();
                self.notices.extend(problems);
                self.saved = saved;
                self.store = Some(store);
            }
            Err(e) => self.notices.push(format!("sessions will not be saved: {e}")),
        }
        match self.config.restore {
            Restore::Auto => {
                for line in self.restore(None).unwrap_or_else(|e| vec![e]) {
                    self.notices.push(line);
                }
            }
            Restore::Ask | Restore::Never => {}
        }
    }

    /// What the user should hear once: problems found in the state
    /// directory and, with `restore = "ask"`, the sessions still waiting to
    /// be restored (worked out now, so it is never stale).
    fn take_notices(&mut self, mention_saved: bool) -> Vec<String> {
        let mut notices = std::mem::take(&mut self.notices);
        if mention_saved && !self.saved_announced && self.config.restore == Restore::Ask && !self.saved.is_empty() {
            self.saved_announced = true;
            let names: Vec<String> = self.saved.iter().map(|s| format!("{}:{}", s.meta.index, s.meta.name)).collect();
            notices.push(format!(
                "{} saved session(s) from a previous server ({}): `qmux restore` brings them back",
                names.len(),
                names.join(", ")
            ));
        }
        notices
    }

    fn save_meta(&mut self, sid: SessionId) {
        let (Some(store), Some(s)) = (&self.store, self.session(sid)) else { return };
        if let Err(e) = store.save_meta(&meta_of(s)) {
            eprintln!("qmux: cannot save {}: {e}", s.label());
        }
    }

    fn arm_flush(&mut self) {
        if self.flush_armed || self.store.is_none() {
            return;
        }
        self.flush_armed = true;
        let events = self.events.clone();
        tokio::spawn(async move {
            tokio::time::sleep(SAVE_INTERVAL).await;
            let _ = events.send(Event::Flush);
        });
    }

    /// Writes every session's new history rows and changed screen.
    fn save_all(&mut self) {
        let Some(store) = &self.store else { return };
        for s in &mut self.sessions {
            let Ok(t) = s.terminal.lock() else { continue };
            let history = t.history();
            let first = history.first_line();
            let from = s.saved_upto.max(first);
            let new = (from - first) as usize..history.len();
            let result = if s.log_rows + new.len() > 2 * history.limit().max(1) {
                // Compact: the log becomes exactly what history holds.
                s.log_rows = history.len();
                store.rewrite_history(&s.key, (0..history.len()).map(|i| history.row_formatted(i)))
            } else {
                s.log_rows += new.len();
                store.append_history(&s.key, new.map(|i| history.row_formatted(i)))
            };
            s.saved_upto = history.total_pushed();
            let screen_result = if s.screen_dirty {
                s.screen_dirty = false;
                let screen = t.screen();
                let rows: Vec<String> =
                    (0..screen.size().0.get()).map(|r| crate::history::screen_row_formatted(screen, r)).collect();
                store.save_screen(&s.key, &rows)
            } else {
                Ok(())
            };
            if let Err(e) = result.and(screen_result) {
                eprintln!("qmux: cannot save {}: {e}", s.label());
            }
        }
    }

    /// Saved sessions matching a target (all with none), by name, index or
    /// unique prefix, as live sessions are matched.
    fn saved_matching(&self, target: Option<&str>) -> Result<Vec<usize>, String> {
        let Some(t) = target else { return Ok((0..self.saved.len()).collect()) };
        let by = |f: &dyn Fn(&Saved) -> bool| -> Vec<usize> {
            self.saved.iter().enumerate().filter(|(_, s)| f(s)).map(|(i, _)| i).collect()
        };
        for found in [by(&|s| s.meta.name == t), by(&|s| t.parse() == Ok(s.meta.index))] {
            if !found.is_empty() {
                return Ok(found);
            }
        }
        match by(&|s| s.meta.name.starts_with(t)).as_slice() {
            [one] => Ok(vec![*one]),
            [] if self.saved.is_empty() => Err("there are no saved sessions".into()),
            [] => {
                let names: Vec<String> =
                    self.saved.iter().map(|s| format!("{}:{}", s.meta.index, s.meta.name)).collect();
                Err(format!("no saved session {t:?} (saved: {})", names.join(", ")))
            }
            _ => Err(format!("{t:?} matches more than one saved session")),
        }
    }

    /// Brings saved sessions back; returns what to tell the user.
    fn restore(&mut self, target: Option<&str>) -> Result<Vec<String>, String> {
        let picked = self.saved_matching(target)?;
        let mut taken: Vec<Saved> = Vec::new();
        for i in picked.into_iter().rev() {
            taken.push(self.saved.remove(i));
        }
        taken.reverse();
        let mut lines = Vec::new();
        for saved in taken {
            let command = self.resume_command(&saved.meta);
            let name = (!self.sessions.iter().any(|s| s.name == saved.meta.name)).then(|| saved.meta.name.clone());
            let spec = NewSession {
                name,
                cwd: saved.meta.cwd.clone(),
                command: command.clone(),
                env: saved.meta.env.clone(),
                size: None,
            };
            match self.create_or_restore(spec, Some(&saved)) {
                Ok(sid) => {
                    let label = self.session(sid).map(Session::label).unwrap_or_default();
                    lines.push(format!("restored {label} ({})", command.join(" ")));
                    lines.extend(self.shared_resume_slot(sid, true));
                }
                Err(e) => {
                    lines.push(format!("cannot restore {}:{}: {e}", saved.meta.index, saved.meta.name));
                    self.saved.push(saved);
                }
            }
        }
        Ok(lines)
    }

    /// What relaunches a saved session: its agent with the arguments that
    /// resume its own conversation by id, else the newest one in its
    /// directory; a program with no resume arguments runs again as it was.
    fn resume_command(&self, meta: &SavedSession) -> Vec<String> {
        let rules = meta.agent.as_deref().and_then(|a| self.config.rules.get(a));
        let rules = rules.unwrap_or_else(|| self.config.rules_for(&meta.command));
        let base = match &meta.agent_argv {
            Some(argv) if !argv.is_empty() => argv,
            _ => &meta.command,
        };
        let args = rules.resume.args(meta.conversation.as_deref());
        crate::persist::resume_command(base, args.as_deref())
    }

    /// A program that resumes "the conversation in this directory" cannot
    /// run twice in one directory without the two fighting over it. Agents
    /// whose conversation ids qmux learns come back to their own, unless a
    /// restore had no id to go by.
    fn shared_resume_slot(&self, sid: SessionId, restored: bool) -> Option<String> {
        let s = self.session(sid)?;
        s.rules.resume.latest.as_ref()?;
        let by_id = s.rules.resume.knows_ids();
        if by_id && (!restored || s.conversation.is_some()) {
            return None;
        }
        let program = s.rules.name.as_str();
        let other = self
            .sessions
            .iter()
            .find(|o| o.id != sid && o.exit_code.is_none() && o.cwd == s.cwd && o.rules.name == program)?;
        let why = if by_id {
            "qmux learnt no conversation id for it, so it resumed the newest one there"
        } else {
            "it keeps one conversation per directory, so only one of them can be resumed after a restart"
        };
        Some(format!("warning: {} also runs {program} in {}; {why}", other.label(), s.cwd.display()))
    }

    fn rename(&mut self, sid: SessionId, name: &str) -> Result<(), String> {
        self.check_name(name, Some(sid))?;
        if let Some(s) = self.session_mut(sid) {
            s.name = name.to_string();
        }
        self.save_meta(sid);
        self.redraw_status();
        Ok(())
    }

    fn remove_session(&mut self, sid: SessionId) {
        let Some(pos) = self.sessions.iter().position(|s| s.id == sid) else {
            return;
        };
        let mut removed = self.sessions.remove(pos);
        let label = removed.label();
        for t in std::mem::take(&mut removed.typing) {
            if let Some(client) = t.client {
                self.respond(client, Err(format!("{label} was killed before it took the input")));
            }
        }
        // Killed on purpose: it is not coming back.
        if let Some(store) = &self.store {
            store.forget(&removed.key);
        }
        drop(removed); // hangs the program up
        self.end_waiters(sid, &format!("{label} was killed"));
        for (cid, conn) in self.connections.iter_mut() {
            let Some(view) = conn.view.as_mut() else {
                continue;
            };
            if view.last == Some(sid) {
                view.last = None;
            }
            if view.focused == sid {
                let next = view
                    .last
                    .or_else(|| self.sessions.get(pos.min(self.sessions.len().saturating_sub(1))).map(|s| s.id));
                let _ = cid;
                match next {
                    Some(n) => {
                        view.focused = n;
                        view.last = None;
                        view.drawn = None;
                        view.mode = Mode::Normal;
                    }
                    None => view.mode = Mode::Normal,
                }
            }
        }
        if self.sessions.is_empty() {
            let views: Vec<ClientId> = self.views().map(|(id, _)| id).collect();
            for cid in views {
                self.detach(cid, "no sessions left");
            }
            return;
        }
        let focused: Vec<(ClientId, SessionId)> = self.views().map(|(id, v)| (id, v.focused)).collect();
        for (cid, sid) in focused {
            self.mark_seen(sid);
            let _ = cid;
        }
        self.apply_sizes();
        self.redraw_all();
    }

    fn session_infos(&self) -> Vec<SessionInfo> {
        self.sessions
            .iter()
            .map(|s| {
                let (cols, rows) = s.terminal.lock().map(|t| t.size()).unwrap_or_default();
                SessionInfo {
                    index: s.index,
                    name: s.name.clone(),
                    id: s.id,
                    state: s.state,
                    command: s.command.clone(),
                    cwd: s.cwd.clone(),
                    pid: s.pty.pid(),
                    created: epoch_secs(s.created),
                    last_output: s.last_output.map(epoch_secs),
                    unseen_output: s.unseen_output,
                    done: s.done,
                    bell: s.bell,
                    exit_code: s.exit_code,
                    queued_messages: s.queue.len() as u32,
                    attached_clients: self.views_showing(s.id).len() as u32,
                    cols,
                    rows,
                    agent: (s.rules.source != crate::rules::Source::Generic).then(|| s.rules.name.clone()),
                    conversation: s.conversation.clone(),
                }
            })
            .collect()
    }

    fn session_output(&mut self, sid: SessionId) {
        let watchers = self.views_showing(sid);
        let Some(s) = self.session_mut(sid) else { return };
        s.pending.store(false, std::sync::atomic::Ordering::Release);
        s.last_output = Some(SystemTime::now());
        s.last_output_at = Instant::now();
        // A message being typed keeps the prompt stale until its Enter is taken.
        if s.typing.is_empty() {
            s.awaiting_reaction = false;
        }
        s.screen_dirty = true;
        let bells = s.terminal.lock().map(|t| t.bells()).unwrap_or(0);
        let rang = bells > s.bells_seen;
        s.bells_seen = bells;
        let label = s.label();
        let mut status_changed = false;
        if watchers.is_empty() && !s.unseen_output {
            s.unseen_output = true;
            status_changed = true;
        }
        if rang {
            if watchers.is_empty() {
                s.bell = true;
                status_changed = true;
                self.alert_others(sid, &format!("bell in {label}"));
            } else {
                // The program shown rang: pass the bell on.
                for cid in &watchers {
                    if let Some(v) = self.view_mut(*cid) {
                        v.alerts.push(0x07);
                    }
                }
            }
        }
        for cid in watchers {
            self.draw(cid);
        }
        // A chooser previewing this session is live.
        let previews: Vec<ClientId> = self
            .views()
            .filter(|(_, v)| matches!(v.mode, Mode::Chooser { selected } if self.sessions.get(selected).map(|s| s.id) == Some(sid)))
            .map(|(id, _)| id)
            .collect();
        for cid in previews {
            self.draw(cid);
        }
        self.arm_flush();
        self.typing_saw_output(sid);
        self.evaluate_state(sid);
        self.check_waiters(sid);
        if status_changed {
            self.redraw_status();
        }
    }

    fn session_exited(&mut self, sid: SessionId, code: i32) {
        let watched = !self.views_showing(sid).is_empty();
        let Some(s) = self.session_mut(sid) else { return };
        s.exit_code = Some(code);
        s.queue.clear();
        let typing = std::mem::take(&mut s.typing);
        let why = format!("{} exited (code {code}) before it took the input", s.label());
        for t in typing {
            if let Some(client) = t.client {
                self.respond(client, Err(why.clone()));
            }
        }
        let Some(s) = self.session_mut(sid) else { return };
        if let Ok(mut t) = s.terminal.lock() {
            let banner = format!("\x1b[0m\r\n\x1b[7m[exited with code {code}: press Enter to close]\x1b[0m");
            t.process(banner.as_bytes());
        }
        let msg = format!("{} exited (code {code})", s.label());
        if !watched {
            self.alert_others(sid, &msg);
        }
        for cid in self.views_showing(sid) {
            self.draw(cid);
        }
        self.evaluate_state(sid);
        self.redraw_status();
    }

    /// Works out a session's state from its signals, and acts on a change:
    /// the "done" marker, messages, notifications, queued messages, waiters.
    fn evaluate_state(&mut self, sid: SessionId) {
        self.identify_agent(sid);
        let events = self.events.clone();
        let Some(s) = self.session_mut(sid) else { return };
        let verdict = {
            let Ok(t) = s.terminal.lock() else { return };
            let screen = t.screen();
            s.uses_bracketed_paste |= screen.bracketed_paste();
            s.rules.detector.classify(&signals_of(s, &t), screen)
        };
        if let (Some(after), false) = (verdict.recheck_after, s.state_timer_armed) {
            s.state_timer_armed = true;
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                let _ = events.send(Event::StateCheck(sid));
            });
        }
        let old = s.state;
        let new = verdict.state;
        if old == new {
            return;
        }
        s.state = new;
        s.has_waited |= new == State::Waiting;
        let turn_ended = matches!(new, State::Waiting | State::Approval) && std::mem::take(&mut s.input_since_prompt);
        let label = s.label();
        if turn_ended {
            // Some agents write the turn's file a moment after they show
            // their prompt: look again a little later.
            self.find_conversation(sid);
            self.after(Duration::from_secs(1), Event::FindConversation(sid));
            self.after(Duration::from_secs(3), Event::FindConversation(sid));
        }
        self.save_meta(sid);
        let watched = !self.views_showing(sid).is_empty();
        if old == State::Busy && turn_ended && !watched {
            if let Some(s) = self.session_mut(sid) {
                s.done = true;
            }
            let what = if new == State::Approval { "needs approval" } else { "finished" };
            self.alert_others(sid, &format!("{label} {what}"));
        }
        if new == State::Waiting {
            self.deliver_queued(sid);
        }
        if new == State::Exited {
            self.check_waiters(sid);
            self.end_waiters(sid, &format!("{label} exited"));
        } else {
            self.check_waiters(sid);
        }
        self.redraw_status();
    }

    /// Finds the agent in the session's foreground, whatever started it,
    /// and puts its rule set in force. Cheap when nothing changed: one
    /// ioctl and one small read, at most every [`FOREGROUND_CHECK`].
    fn identify_agent(&mut self, sid: SessionId) {
        let Some(s) = self.sessions.iter_mut().find(|s| s.id == sid) else { return };
        if s.exit_code.is_some() {
            return;
        }
        if let Some(since) = s.foreground_checked.map(|t| t.elapsed()).filter(|e| *e < FOREGROUND_CHECK) {
            // Looked just now: look again when the interval is up, so the
            // last change of a burst (an exec, a fork) is not missed.
            if !std::mem::replace(&mut s.foreground_recheck, true) {
                self.after(FOREGROUND_CHECK - since, Event::StateCheck(sid));
            }
            return;
        }
        s.foreground_recheck = false;
        s.foreground_checked = Some(Instant::now());
        let Some(group) = s.pty.foreground_group() else { return };
        let fingerprint = crate::foreground::fingerprint(group);
        if fingerprint == s.foreground {
            return;
        }
        s.foreground = fingerprint;
        let procs = crate::foreground::group(group);
        let rules = self.config.rules.identify(&procs).unwrap_or_else(|| self.config.rules.for_command(&s.command));
        s.agent = procs.into_iter().find(|p| rules.matcher.matches(&p.argv, &p.exe_name));
        if rules.name != s.rules.name {
            s.reported = None;
        }
        s.rules = rules;
    }

    /// A program's own word on its state: the authority until it ends its
    /// reports, qmux types into it, or another program takes the terminal.
    fn report(&mut self, sid: SessionId, state: Option<State>, end: bool, conversation: Option<String>) {
        let Some(s) = self.session_mut(sid) else { return };
        if let Some(id) = conversation {
            s.conversation = Some(id);
            s.conversation_reported = true;
        }
        if end {
            s.reported = None;
        } else if state.is_some() {
            s.reported = state;
        }
        self.save_meta(sid);
        self.evaluate_state(sid);
    }

    /// Puts a new config in force; every session finds its agent again
    /// under the new rules.
    fn reload(&mut self, config: Config) {
        self.config = config;
        for s in &mut self.sessions {
            s.rules = self.config.rules.for_command(&s.command);
            s.foreground.clear();
            s.foreground_checked = None;
        }
        let ids: Vec<SessionId> = self.sessions.iter().map(|s| s.id).collect();
        for sid in ids {
            self.evaluate_state(sid);
        }
        self.redraw_all();
    }

    /// Learns which conversation the agent is on from the files its last
    /// turn wrote, unless a hook reported it.
    fn find_conversation(&mut self, sid: SessionId) {
        let taken: Vec<String> =
            self.sessions.iter().filter(|o| o.id != sid).filter_map(|o| o.conversation.clone()).collect();
        let Some(s) = self.session_mut(sid) else { return };
        if s.conversation_reported {
            return;
        }
        let lookup = crate::conversation::Lookup {
            env: &s.env,
            pid: s.agent.as_ref().map(|p| p.pid),
            since: s.turn_started,
            taken: &taken,
            typed: s.last_typed.as_deref(),
        };
        if let Some(id) = crate::conversation::find(&s.rules.resume, &lookup) {
            s.conversation = Some(id);
        }
    }

    /// `qmux explain`: the state worked out again, with every step shown.
    fn explain(&mut self, sid: SessionId) -> Option<crate::explain::Explanation> {
        self.identify_agent(sid);
        let s = self.session(sid)?;
        let resume = self.resume_command(&meta_of(s));
        let mut e = match s.terminal.lock() {
            Ok(t) => crate::explain::Explanation::of(s.label(), &s.rules, signals_of(s, &t), t.screen()),
            Err(_) => {
                let t = Terminal::new(1, 1);
                crate::explain::Explanation::of(s.label(), &s.rules, Signals::default(), t.screen())
            }
        };
        e.command = s.command.clone();
        e.foreground_group = s.pty.foreground_group();
        e.process = s.agent.as_ref().map(|p| (p.pid, p.argv.clone()));
        e.conversation = s.conversation.clone();
        e.resume = Some(resume).filter(|cmd| *cmd != s.origin);
        Some(e)
    }

    /// Tells every client not showing `sid`: a status message, and the
    /// outer-terminal notification the config asks for.
    fn alert_others(&mut self, sid: SessionId, text: &str) {
        let notify = self.config.notify;
        let others: Vec<ClientId> = self.views().filter(|(_, v)| v.focused != sid).map(|(id, _)| id).collect();
        for cid in others {
            if let Some(v) = self.view_mut(cid) {
                match notify {
                    Notify::None => {}
                    Notify::Bell => v.alerts.push(0x07),
                    Notify::Osc9 => {
                        let text: String = text.chars().filter(|c| !c.is_control()).collect();
                        v.alerts.extend_from_slice(format!("\x1b]9;qmux: {text}\x07").as_bytes());
                        v.alerts.extend_from_slice(format!("\x1b]777;notify;qmux;{text}\x07").as_bytes());
                    }
                }
            }
            self.show_message(cid, text);
        }
    }

    /// Types text into a session now, or queues it for its next prompt.
    /// `client` (a `qmux send`) is answered once the program has reacted.
    fn send_text(&mut self, sid: SessionId, text: String, enter: bool, when_waiting: bool, client: ClientId) {
        let Some(s) = self.session_mut(sid) else { return self.respond(client, Err("no such session".into())) };
        if s.exit_code.is_some() {
            let e = format!("{} has exited; nothing reads its input", s.label());
            return self.respond(client, Err(e));
        }
        if when_waiting && (s.state != State::Waiting || !s.queue.is_empty() || !s.typing.is_empty()) {
            s.queue.push_back((text, enter));
            self.redraw_status();
            return self.respond(client, Ok(Response::Ok));
        }
        self.type_into(sid, Typing { text, enter, client: Some(client), phase: Phase::Queued });
    }

    fn deliver_queued(&mut self, sid: SessionId) {
        let Some(s) = self.session_mut(sid) else { return };
        if !s.typing.is_empty() {
            return;
        }
        if let Some((text, enter)) = s.queue.pop_front() {
            self.type_into(sid, Typing { text, enter, client: None, phase: Phase::Queued });
            self.redraw_status();
        }
    }

    /// Queues a message to type; the first one starts at once.
    fn type_into(&mut self, sid: SessionId, typing: Typing) {
        let Some(s) = self.session_mut(sid) else { return };
        s.last_typed = Some(typing.text.clone());
        // What it reported before is stale until it reports again.
        s.reported = None;
        s.typing.push_back(typing);
        s.awaiting_reaction = true;
        s.input_since_prompt = true;
        s.turn_started = Some(SystemTime::now());
        s.state = State::Busy;
        if s.typing.len() == 1 {
            self.advance_typing(sid);
        }
    }

    /// Moves the message being typed on: the text first (one bracketed
    /// paste when the rule set says so), then, once the program has echoed
    /// it and the rule set's least delay has passed (or its echo timeout
    /// has), Enter as a write of its own: Ink and ratatui apps take a CR
    /// that comes with the text as part of a paste. Done when the program
    /// reacts to the last write; an error when it never does.
    fn advance_typing(&mut self, sid: SessionId) {
        let Some(s) = self.session_mut(sid) else { return };
        let input = s.rules.input.clone();
        let Some(t) = s.typing.front_mut() else { return };
        let now = Instant::now();
        let mut next_check = None;
        let mut finished: Option<Result<(), String>> = None;
        match t.phase {
            Phase::Queued => {
                let paste = s.terminal.lock().map(|t| t.screen().bracketed_paste()).unwrap_or(false);
                // A line without Enter (an answer to a dialog) goes as keys.
                let as_paste = paste && (t.text.contains('\n') || t.enter && input.paste == Paste::Always);
                let mut bytes = Vec::with_capacity(t.text.len() + 12);
                if as_paste {
                    bytes.extend_from_slice(b"\x1b[200~");
                    bytes.extend_from_slice(t.text.as_bytes());
                    bytes.extend_from_slice(b"\x1b[201~");
                } else {
                    bytes.extend(t.text.bytes().map(|b| if b == b'\n' { b'\r' } else { b }));
                }
                if !bytes.is_empty() {
                    s.pty.write(bytes);
                }
                t.phase = Phase::Typed { at: now, echoed: t.text.is_empty() };
                next_check = Some(if t.enter { input.echo_timeout } else { REACTION_TIMEOUT });
            }
            Phase::Typed { at, echoed } if t.enter => {
                let delay = if echoed { input.submit_delay } else { input.echo_timeout };
                if now >= at + delay {
                    s.pty.write(b"\r".to_vec());
                    t.phase = Phase::Entered { at: now, reacted: false };
                    next_check = Some(REACTION_TIMEOUT);
                } else {
                    next_check = Some(at + delay - now);
                }
            }
            Phase::Typed { echoed: true, .. } | Phase::Entered { reacted: true, .. } => finished = Some(Ok(())),
            Phase::Typed { at, .. } | Phase::Entered { at, .. } => {
                if now >= at + REACTION_TIMEOUT {
                    finished = Some(Err(format!(
                        "{} did not react to the input within {}s; `qmux explain -t {}` shows what it is doing",
                        s.label(),
                        REACTION_TIMEOUT.as_secs(),
                        s.name
                    )));
                } else {
                    next_check = Some(at + REACTION_TIMEOUT - now);
                }
            }
        }
        if let Some(after) = next_check {
            self.after(after, Event::Typing(sid));
        }
        let Some(result) = finished else { return };
        let Some(s) = self.session_mut(sid) else { return };
        let Some(done) = s.typing.pop_front() else { return };
        let label = s.label();
        let more = !s.typing.is_empty();
        if !more {
            s.awaiting_reaction = false;
        }
        match (done.client, result) {
            (Some(client), result) => self.respond(client, result.map(|_| Response::Ok)),
            (None, Err(_)) => {
                let views: Vec<ClientId> = self.views().map(|(id, _)| id).collect();
                for cid in views {
                    self.show_message(cid, &format!("{label} did not react to a queued message"));
                }
            }
            (None, Ok(())) => {}
        }
        if more {
            self.advance_typing(sid);
        } else {
            self.evaluate_state(sid);
        }
    }

    /// The program wrote something: the message being typed was echoed, or
    /// its Enter was taken. Output while the program has not yet taken all
    /// of the input is only the echo of what it took so far.
    fn typing_saw_output(&mut self, sid: SessionId) {
        let Some(s) = self.session_mut(sid) else { return };
        if s.pty.input_pending() {
            return;
        }
        let Some(t) = s.typing.front_mut() else { return };
        match &mut t.phase {
            Phase::Typed { echoed, .. } if !*echoed => *echoed = true,
            Phase::Entered { reacted, .. } if !*reacted => *reacted = true,
            _ => return,
        }
        self.advance_typing(sid);
    }

    /// Sends `event` to the server's loop after `delay`.
    fn after(&self, delay: Duration, event: Event) {
        let events = self.events.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = events.send(event);
        });
    }

    fn capture(&self, sid: SessionId, ansi: bool, history_rows: usize) -> String {
        let Some(s) = self.session(sid) else { return String::new() };
        let Ok(t) = s.terminal.lock() else { return String::new() };
        crate::history::capture(t.history(), t.screen(), history_rows, ansi)
    }

    /// Answers the waiters on a session whose condition now holds.
    fn check_waiters(&mut self, sid: SessionId) {
        if !self.waiters.iter().any(|w| w.session == sid) {
            return;
        }
        let Some(s) = self.session(sid) else { return };
        let state = s.state;
        let text = s.terminal.lock().map(|t| t.text()).unwrap_or_default();
        let (done, rest): (Vec<Waiter>, Vec<Waiter>) = std::mem::take(&mut self.waiters).into_iter().partition(|w| {
            w.session == sid
                && match &w.until {
                    Until::State(want) => *want == state,
                    Until::Output(re) => re.is_match(&text),
                }
        });
        self.waiters = rest;
        for w in done {
            self.respond(w.client, Ok(Response::Ok));
        }
    }

    /// The session is gone or exited: nothing else it waits for can happen.
    fn end_waiters(&mut self, sid: SessionId, why: &str) {
        let (ended, rest): (Vec<Waiter>, Vec<Waiter>) =
            std::mem::take(&mut self.waiters).into_iter().partition(|w| w.session == sid);
        self.waiters = rest;
        for w in ended {
            self.send(w.client, ToClient::Response(Response::SessionEnded(why.to_string())));
        }
    }

    /// Sizes each session to the smallest client showing it, so every
    /// client can show all of it; a session nobody shows keeps its size.
    fn apply_sizes(&mut self) {
        let mut wanted: HashMap<SessionId, (u16, u16)> = HashMap::new();
        for (_, v) in self.views() {
            let size = (v.cols, v.rows.saturating_sub(1).max(1));
            wanted.entry(v.focused).and_modify(|w| *w = (w.0.min(size.0), w.1.min(size.1))).or_insert(size);
        }
        let mut resized = Vec::new();
        for s in &mut self.sessions {
            let Some(&(cols, rows)) = wanted.get(&s.id) else {
                continue;
            };
            let Ok(mut t) = s.terminal.lock() else {
                continue;
            };
            if t.size() != (cols, rows) {
                t.resize(cols, rows);
                s.pty.resize(cols, rows);
                resized.push(s.id);
            }
        }
        for sid in resized {
            for cid in self.views_showing(sid) {
                if let Some(v) = self.view_mut(cid) {
                    v.drawn = None;
                }
                self.draw(cid);
            }
        }
    }

    fn mark_seen(&mut self, sid: SessionId) {
        self.use_counter += 1;
        let counter = self.use_counter;
        if let Some(s) = self.session_mut(sid) {
            s.unseen_output = false;
            s.bell = false;
            s.done = false;
            s.last_used = counter;
        }
    }

    /// Shows a session in a client.
    fn focus(&mut self, cid: ClientId, sid: SessionId) {
        let Some(view) = self.view_mut(cid) else {
            return;
        };
        if view.focused != sid {
            view.last = Some(view.focused);
        }
        view.focused = sid;
        view.drawn = None;
        view.mode = Mode::Normal;
        self.mark_seen(sid);
        self.apply_sizes();
        self.draw(cid);
        self.redraw_status();
    }

    // ----- input ---------------------------------------------------------

    fn input(&mut self, cid: ClientId, bytes: &[u8]) {
        let prefix = self.config.prefix;
        let Some(view) = self.view_mut(cid) else {
            return;
        };
        if matches!(view.mode, Mode::Scroll(_)) {
            return self.scroll_input(cid, bytes);
        }
        if !matches!(view.mode, Mode::Normal) {
            for key in keys::decode(bytes) {
                self.modal_key(cid, key);
            }
            return;
        }
        let inputs = view.input.feed(bytes, prefix);
        for input in inputs {
            match input {
                keys::Input::Forward(bytes) => self.forward(cid, bytes),
                keys::Input::Command(key) => self.binding(cid, key),
            }
        }
    }

    fn forward(&mut self, cid: ClientId, bytes: Vec<u8>) {
        let Some(sid) = self.view_mut(cid).map(|v| v.focused) else {
            return;
        };
        let Some(s) = self.session_mut(sid) else {
            return;
        };
        if s.exit_code.is_some() {
            if bytes.contains(&b'\r') {
                self.remove_session(sid);
            }
            return;
        }
        let (program_mouse, alternate) = s
            .terminal
            .lock()
            .map(|t| {
                (t.screen().mouse_protocol_mode() != vt100::MouseProtocolMode::None, t.screen().alternate_screen())
            })
            .unwrap_or((false, false));
        // PageUp over a line-mode program opens the history; full-screen
        // programs get their PageUp.
        if bytes == b"\x1b[5~" && !alternate {
            return self.enter_scroll(cid, Some(scroll::ScrollKey::PageUp));
        }
        let (mut bytes, mouse) = keys::split_mouse(&bytes);
        let status_row = self.view_mut(cid).map_or(0, |v| v.rows);
        for m in mouse {
            if program_mouse {
                // The program asked for the mouse: pass it on, except over
                // the status row, which is ours.
                if m.row < status_row {
                    bytes.extend(m.encode());
                }
            } else if m.button == keys::Mouse::WHEEL_UP && !alternate {
                return self.enter_scroll(cid, Some(scroll::ScrollKey::WheelUp));
            }
        }
        if let (false, Some(s)) = (bytes.is_empty(), self.session_mut(sid)) {
            s.input_since_prompt = true;
            s.pty.write(bytes);
        }
    }

    fn enter_scroll(&mut self, cid: ClientId, first: Option<scroll::ScrollKey>) {
        let Some(view) = self.connections.get(&cid).and_then(|c| c.view.as_ref()) else {
            return;
        };
        let height = view.rows.saturating_sub(1).max(1);
        let Some(s) = self.session(view.focused) else {
            return;
        };
        let mut sv = {
            let Ok(t) = s.terminal.lock() else {
                return;
            };
            let mut sv = ScrollView::new(t.history(), t.screen(), height);
            if let Some(key) = first {
                sv.handle(key, t.history(), t.screen());
            }
            sv
        };
        sv.resize(height);
        self.set_mode(cid, Mode::Scroll(Box::new(sv)));
    }

    fn scroll_input(&mut self, cid: ClientId, bytes: &[u8]) {
        let Some(view) = self.view_mut(cid) else {
            return;
        };
        let sid = view.focused;
        let Mode::Scroll(mut sv) = std::mem::replace(&mut view.mode, Mode::Normal) else {
            return;
        };
        let mut leave = None;
        if let Some(s) = self.session(sid) {
            if let Ok(t) = s.terminal.lock() {
                for key in scroll::decode(bytes) {
                    match sv.handle(key, t.history(), t.screen()) {
                        ScrollAction::Stay => {}
                        ScrollAction::Leave => leave = Some(None),
                        ScrollAction::Yank(text) => leave = Some(Some(text)),
                    }
                    if leave.is_some() {
                        break;
                    }
                }
            }
        }
        match leave {
            None => self.set_mode(cid, Mode::Scroll(sv)),
            Some(yanked) => {
                if let (Some(text), Some(v)) = (yanked, self.view_mut(cid)) {
                    v.alerts.extend_from_slice(scroll::osc52(&text).as_bytes());
                }
                self.set_mode(cid, Mode::Normal);
            }
        }
    }

    fn binding(&mut self, cid: ClientId, key: u8) {
        let Some(view) = self.connections.get(&cid).and_then(|c| c.view.as_ref()) else {
            return;
        };
        let (focused, last) = (view.focused, view.last);
        match key {
            b'c' => {
                let env = view.env.clone();
                let size = Some((view.cols, view.rows));
                let cwd = self
                    .session(focused)
                    .map(|s| s.pty.cwd().unwrap_or_else(|| s.cwd.clone()))
                    .unwrap_or_else(|| PathBuf::from("/"));
                let spec = NewSession { name: None, cwd, command: Vec::new(), env, size };
                match self.create_session(spec) {
                    Ok(sid) => self.focus(cid, sid),
                    Err(e) => self.show_message(cid, &e),
                }
            }
            b'n' | b'p' => {
                if let Some(pos) = self.sessions.iter().position(|s| s.id == focused) {
                    let len = self.sessions.len();
                    let next = if key == b'n' { (pos + 1) % len } else { (pos + len - 1) % len };
                    let sid = self.sessions[next].id;
                    self.focus(cid, sid);
                }
            }
            b'0'..=b'9' => {
                let index = u32::from(key - b'0');
                match self.sessions.iter().find(|s| s.index == index) {
                    Some(s) => {
                        let sid = s.id;
                        self.focus(cid, sid);
                    }
                    None => self.show_message(cid, &format!("no session {index}")),
                }
            }
            b'l' => match last.filter(|l| self.session(*l).is_some()) {
                Some(last) => self.focus(cid, last),
                None => self.show_message(cid, "no last session"),
            },
            b'w' => {
                let selected = self.sessions.iter().position(|s| s.id == focused).unwrap_or(0);
                self.set_mode(cid, Mode::Chooser { selected });
            }
            b'd' => self.detach(cid, "detached"),
            b'x' => self.set_mode(cid, Mode::ConfirmKill),
            b',' => {
                let input = self.session(focused).map(|s| s.name.clone()).unwrap_or_default();
                self.set_mode(cid, Mode::Rename { input });
            }
            b'?' => self.set_mode(cid, Mode::Help),
            b'[' => self.enter_scroll(cid, None),
            _ => {}
        }
    }

    fn set_mode(&mut self, cid: ClientId, mode: Mode) {
        if let Some(view) = self.view_mut(cid) {
            view.mode = mode;
            view.drawn = None;
            view.status_drawn = None;
        }
        self.draw(cid);
    }

    fn modal_key(&mut self, cid: ClientId, key: Key) {
        let count = self.sessions.len().max(1);
        let Some(view) = self.view_mut(cid) else {
            return;
        };
        let focused = view.focused;
        let mode = std::mem::replace(&mut view.mode, Mode::Normal);
        match mode {
            Mode::Normal | Mode::Help | Mode::Scroll(_) => self.set_mode(cid, Mode::Normal),
            Mode::Chooser { selected } => match key {
                Key::Up | Key::Char('k') => {
                    self.set_mode(cid, Mode::Chooser { selected: (selected + count - 1) % count })
                }
                Key::Down | Key::Char('j') => self.set_mode(cid, Mode::Chooser { selected: (selected + 1) % count }),
                Key::Enter => match self.sessions.get(selected).map(|s| s.id) {
                    Some(sid) => self.focus(cid, sid),
                    None => self.set_mode(cid, Mode::Normal),
                },
                Key::Char(c @ '0'..='9') => {
                    let index = c as u32 - '0' as u32;
                    match self.sessions.iter().find(|s| s.index == index).map(|s| s.id) {
                        Some(sid) => self.focus(cid, sid),
                        None => self.set_mode(cid, Mode::Chooser { selected }),
                    }
                }
                Key::Escape | Key::CtrlC | Key::Char('q') => self.set_mode(cid, Mode::Normal),
                _ => self.set_mode(cid, Mode::Chooser { selected }),
            },
            Mode::ConfirmKill => {
                self.set_mode(cid, Mode::Normal);
                if matches!(key, Key::Char('y') | Key::Char('Y')) {
                    self.remove_session(focused);
                }
            }
            Mode::Rename { mut input } => match key {
                Key::Enter => {
                    self.set_mode(cid, Mode::Normal);
                    if let Err(e) = self.rename(focused, &input) {
                        self.show_message(cid, &e);
                    }
                }
                Key::Escape | Key::CtrlC => self.set_mode(cid, Mode::Normal),
                key => {
                    match key {
                        Key::Char(c) => input.push(c),
                        Key::Backspace => {
                            input.pop();
                        }
                        Key::CtrlU => input.clear(),
                        _ => {}
                    }
                    self.set_mode(cid, Mode::Rename { input });
                }
            },
        }
    }

    // ----- drawing -------------------------------------------------------

    fn show_message(&mut self, cid: ClientId, text: &str) {
        if let Some(view) = self.view_mut(cid) {
            view.message = Some((text.to_string(), Instant::now() + MESSAGE_TIME));
        }
        self.schedule_tick();
        self.draw(cid);
    }

    fn schedule_tick(&self) {
        let events = self.events.clone();
        tokio::spawn(async move {
            tokio::time::sleep(MESSAGE_TIME + Duration::from_millis(10)).await;
            let _ = events.send(Event::Tick);
        });
    }

    fn expire_messages(&mut self) {
        let now = Instant::now();
        let expired: Vec<ClientId> = self
            .views()
            .filter(|(_, v)| v.message.as_ref().is_some_and(|(_, until)| *until <= now))
            .map(|(id, _)| id)
            .collect();
        for cid in expired {
            if let Some(v) = self.view_mut(cid) {
                v.message = None;
            }
            self.draw(cid);
        }
    }

    fn redraw_status(&mut self) {
        let views: Vec<ClientId> = self.views().map(|(id, _)| id).collect();
        for cid in views {
            self.draw(cid);
        }
    }

    fn redraw_all(&mut self) {
        let views: Vec<ClientId> = self.views().map(|(id, _)| id).collect();
        for cid in views {
            if let Some(v) = self.view_mut(cid) {
                v.drawn = None;
            }
            self.draw(cid);
        }
    }

    fn status_entries(&self, view: &View) -> Vec<status::Entry> {
        self.sessions
            .iter()
            .map(|s| status::Entry {
                index: s.index,
                name: s.name.clone(),
                focused: s.id == view.focused,
                last: Some(s.id) == view.last,
                unseen_output: s.unseen_output,
                bell: s.bell,
                exit_code: s.exit_code,
                state: s.state,
                done: s.done,
                queued: s.queue.len(),
            })
            .collect()
    }

    /// Draws a client now, or marks it dirty if its terminal is still busy
    /// with the previous frame.
    fn draw(&mut self, cid: ClientId) {
        let Some(view) = self.connections.get(&cid).and_then(|c| c.view.as_ref()) else {
            return;
        };
        if view.frame_in_flight {
            if let Some(v) = self.view_mut(cid) {
                v.dirty = true;
            }
            return;
        }
        let Some(session) = self.session(view.focused) else {
            return;
        };
        let status_text = {
            let entries = self.status_entries(view);
            let message = view.message.as_ref().map(|(m, _)| m.as_str());
            status::render(&entries, message, view.cols)
        };
        // Built before the focused terminal is locked: the chooser locks the
        // selected session's terminal, which may be the same one.
        let chooser = match &view.mode {
            Mode::Chooser { selected } => Some(self.chooser_lines(*selected, view.cols, view.rows)),
            _ => None,
        };
        let Ok(terminal) = session.terminal.lock() else {
            return;
        };
        let screen = terminal.screen();
        let (frame, drawn, status_drawn) = match &view.mode {
            Mode::Normal => {
                let status = (view.drawn.is_none() || view.status_drawn.as_deref() != Some(&status_text))
                    .then_some(status_text.as_str());
                let mut frame = render::session_frame(screen, view.drawn.as_ref(), status, view.rows);
                if self.config.mouse {
                    frame.extend_from_slice(render::mouse_modes(screen));
                }
                (frame, Some(screen.clone()), Some(status_text))
            }
            Mode::Chooser { .. } => {
                let lines = chooser.unwrap_or_default();
                (render::overlay_frame(&lines, &status_text, view.rows), None, None)
            }
            Mode::Help => {
                let lines = help_lines(self.config.prefix);
                (render::overlay_frame(&lines, &status_text, view.rows), None, None)
            }
            Mode::Scroll(sv) => {
                let (history, height) = (terminal.history(), view.rows.saturating_sub(1));
                let lines = sv.render(history, screen, height, view.cols);
                let (status_row, cursor) = if sv.prompting() {
                    let (row, col) = status::render_prompt(&sv.status(history, screen), "", view.cols);
                    (row, (view.rows - 1, col))
                } else {
                    let entries = self.status_entries(view);
                    let row = status::render(&entries, Some(&sv.status(history, screen)), view.cols);
                    (row, sv.cursor_position(history, screen))
                };
                let mut frame = render::overlay_frame(&lines, &status_row, view.rows);
                frame.extend(format!("\x1b[{};{}H\x1b[?25h", cursor.0 + 1, cursor.1 + 1).into_bytes());
                (frame, None, None)
            }
            Mode::Rename { input } => {
                let label = format!("rename {}: ", session.label());
                let (row, col) = status::render_prompt(&label, input, view.cols);
                let mut frame = render::session_frame(screen, view.drawn.as_ref(), None, view.rows);
                frame.extend(render::status_frame(&row, view.rows, screen, Some((view.rows - 1, col))));
                (frame, Some(screen.clone()), None)
            }
            Mode::ConfirmKill => {
                let (row, col) = status::render_prompt(&format!("kill {}? (y/n) ", session.label()), "", view.cols);
                let mut frame = render::session_frame(screen, view.drawn.as_ref(), None, view.rows);
                frame.extend(render::status_frame(&row, view.rows, screen, Some((view.rows - 1, col))));
                (frame, Some(screen.clone()), None)
            }
        };
        drop(terminal);
        let Some(conn) = self.connections.get_mut(&cid) else {
            return;
        };
        let Some(view) = conn.view.as_mut() else {
            return;
        };
        // Bells, notifications and clipboard writes go just before the frame.
        let frame = if view.alerts.is_empty() {
            frame
        } else {
            let mut with_alerts = std::mem::take(&mut view.alerts);
            with_alerts.extend_from_slice(&frame);
            with_alerts
        };
        match conn.tx.try_send(ToClient::Frame(frame)) {
            Ok(()) => {
                view.frame_in_flight = true;
                view.dirty = false;
                view.drawn = drawn;
                view.status_drawn = status_drawn;
            }
            Err(_) => {
                // The queue is full: repaint from scratch when it drains.
                view.drawn = None;
                view.dirty = true;
            }
        }
    }

    /// The chooser: every session with its state, and below the list a
    /// live preview of the selected one's screen.
    fn chooser_lines(&self, selected: usize, cols: u16, rows: u16) -> Vec<String> {
        let width = usize::from(cols);
        let mut lines = vec![
            "\x1b[1mChoose a session\x1b[0m  (up/down or j/k, Enter to show, Esc to cancel)".to_string(),
            String::new(),
        ];
        for (i, s) in self.sessions.iter().enumerate() {
            let state = match s.exit_code {
                Some(code) => format!("exited {code}"),
                None => s.state.name().to_string(),
            };
            let mut flags = String::new();
            for (on, mark) in [(s.done, '✓'), (s.unseen_output, '+'), (s.bell, '!')] {
                if on {
                    flags.push(mark);
                }
            }
            if !s.queue.is_empty() {
                flags.push_str(&format!(" {} queued", s.queue.len()));
            }
            let text = format!(
                "{} {:<16} {:<9} {:<4} {}  ({})",
                if i == selected { ">" } else { " " },
                s.label(),
                state,
                flags,
                s.command.join(" "),
                s.cwd.display()
            );
            let text = status::truncate(&text, width);
            lines.push(if i == selected { format!("\x1b[7m{text}\x1b[0m") } else { text });
        }
        let room = usize::from(rows.saturating_sub(1)).saturating_sub(lines.len() + 2);
        if let Some(s) = self.sessions.get(selected).filter(|_| room > 0) {
            lines.push(String::new());
            lines.push(format!("\x1b[2m{}\x1b[0m", "─".repeat(width)));
            if let Ok(t) = s.terminal.lock() {
                let screen = t.screen();
                let (_, scols) = screen.size();
                let shown: Vec<String> = screen.rows_formatted(0, scols.get().min(cols)).collect();
                let plain: Vec<String> = screen.rows(0, scols.get()).collect();
                // The bottom of the screen is where a chat's news is.
                let last = plain.iter().rposition(|r| !r.trim().is_empty()).map_or(0, |i| i + 1);
                let start = last.saturating_sub(room);
                lines.extend(shown[start..last].iter().cloned());
            }
        }
        lines
    }

    async fn shutdown(&mut self) {
        self.shutting_down = true;
        self.save_all();
        let views: Vec<ClientId> = self.views().map(|(id, _)| id).collect();
        for cid in views {
            self.detach(cid, "server exited");
        }
        self.sessions.clear();
        let _ = std::fs::remove_file(&self.socket);
        // No program may outlive the server that ran it.
        let _ = tokio::task::spawn_blocking(crate::pty::finish_terminations).await;
        let mut writers: Vec<_> = self.connections.drain().map(|(_, c)| c.writer).collect();
        writers.append(&mut self.closing);
        for w in writers {
            let _ = tokio::time::timeout(Duration::from_secs(1), w).await;
        }
    }
}

/// A regex error on one line: the regex crate's message spans several.
fn regex_error(pattern: &str, e: &regex::Error) -> String {
    let text = e.to_string();
    let what = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("invalid");
    format!("bad REGEX {pattern:?}: {}", what.trim().trim_start_matches("error: "))
}

fn help_lines(prefix: u8) -> Vec<String> {
    let mut lines =
        vec![format!("\x1b[1mqmux keys\x1b[0m (prefix is {}; any key closes this)", key_name(prefix)), String::new()];
    lines.extend(crate::cli::KEYS_HELP.lines().skip(1).map(|l| l.replace("C-b", &key_name(prefix))));
    lines
}
