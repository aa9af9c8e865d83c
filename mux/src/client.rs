//! The client side: reaching the server (starting it when needed), sending
//! one request, and the attached loop that owns the user's terminal.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::protocol::{self, Hello, Request, Response, SessionId, ToClient, ToServer};
use crate::remote::{Remote, Ssh, TerminalSsh};
use crate::render::RESET_MODES;

/// The environment variable that hands the server its listening socket.
pub const LISTEN_FD_VAR: &str = "QMUX_LISTEN_FD";

/// A greeted connection to a server: this machine's, over its socket, or
/// another's, over ssh and the bridge there.
pub struct Connection {
    reader: Box<dyn Source>,
    writer: Box<dyn Write + Send>,
    /// The ssh process, for another machine's server.
    ssh: Option<Ssh>,
    timeout: Option<Duration>,
    timed_out: bool,
}

/// A reader that also is a descriptor we can wait on.
pub trait Source: Read + AsRawFd + Send {}
impl<T: Read + AsRawFd + Send> Source for T {}

impl Connection {
    /// Connects to a running server.
    pub fn open(socket: &Path) -> Result<Connection> {
        match UnixStream::connect(socket) {
            Ok(stream) => Connection::local(stream),
            Err(_) => Err(Error::msg(format!("no server running on {}", socket.display()))),
        }
    }

    /// Connects, starting a server first if none is running.
    pub fn open_or_start(socket: &Path, config: Option<&Path>) -> Result<Connection> {
        if let Ok(stream) = UnixStream::connect(socket) {
            return Connection::local(stream);
        }
        start_server(socket, config)?;
        let stream = UnixStream::connect(socket)
            .map_err(|e| Error::msg(format!("cannot reach the new server on {}: {e}", socket.display())))?;
        Connection::local(stream)
    }

    /// Connects to another machine's server over ssh; `start` starts it
    /// there if none runs.
    pub fn open_remote(remote: &Remote, start: bool) -> Result<Connection> {
        let (ssh, stdout, stdin) = remote.dial(start)?;
        let conn = Connection {
            reader: Box::new(stdout),
            writer: Box::new(stdin),
            ssh: Some(ssh),
            timeout: None,
            timed_out: false,
        };
        conn.greet()
    }

    fn local(stream: UnixStream) -> Result<Connection> {
        // The server must be ours (or root's), whoever made the socket.
        let uid = nix::unistd::getuid().as_raw();
        match nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials) {
            Ok(cred) if cred.uid() == uid || cred.uid() == 0 => {}
            Ok(cred) => {
                return Err(Error::msg(format!(
                    "the server on this socket runs as uid {}, not you; refusing",
                    cred.uid()
                )))
            }
            Err(e) => return Err(Error::msg(format!("cannot check who runs the server: {e}"))),
        }
        let writer = Box::new(stream.try_clone()?);
        Connection { reader: Box::new(stream), writer, ssh: None, timeout: None, timed_out: false }.greet()
    }

    fn greet(mut self) -> Result<Connection> {
        let ours = Hello::ours();
        let answer = protocol::write_frame(&mut self.writer, &ToServer::Hello(ours.clone()))
            .and_then(|()| protocol::read_frame::<ToClient>(&mut self.reader));
        match (answer, &mut self.ssh) {
            (Ok(Some(ToClient::Hello(theirs))), _) if theirs.protocol == ours.protocol => Ok(self),
            (Ok(Some(ToClient::Hello(theirs))), Some(ssh)) => Err(ssh.mismatch(&theirs)),
            (Ok(Some(ToClient::Hello(theirs))), None) => Err(Error::msg(format!(
                "server is v{}, client is v{}; run `qmux kill-server` to upgrade",
                theirs.version, ours.version
            ))),
            (_, Some(ssh)) => Err(ssh.failure()),
            _ => Err(Error::msg("the server did not answer as a qmux server of this version; run `qmux kill-server`")),
        }
    }

    /// The reading and writing halves, for the bridge to relay.
    pub fn into_parts(self) -> (Box<dyn Source>, Box<dyn Write + Send>) {
        (self.reader, self.writer)
    }

    /// Limits how long [`Connection::request`] waits for an answer.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.timeout = timeout;
        Ok(())
    }

    /// Whether the last request ran out of time.
    pub fn timed_out(&self) -> bool {
        self.timed_out
    }

    /// Sends one request and waits for its answer.
    pub fn request(&mut self, req: Request) -> Result<Response> {
        protocol::write_frame(&mut self.writer, &ToServer::Request(Box::new(req)))?;
        let deadline = self.timeout.map(|t| Instant::now() + t);
        loop {
            if let Some(deadline) = deadline {
                if !crate::remote::readable(
                    &self.reader.as_raw_fd(),
                    deadline.saturating_duration_since(Instant::now()),
                ) {
                    self.timed_out = true;
                    return Err(Error::msg("timed out"));
                }
            }
            match protocol::read_frame::<ToClient>(&mut self.reader) {
                Ok(Some(ToClient::Response(Response::Error(e)))) => return Err(Error::msg(e)),
                Ok(Some(ToClient::Response(r))) => return Ok(r),
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return Err(self.closed()),
            }
        }
    }

    /// Why the connection closed: for another machine, what ssh said.
    fn closed(&mut self) -> Error {
        match &mut self.ssh {
            Some(ssh) => ssh.failure(),
            None => Error::msg("the server closed the connection"),
        }
    }
}

/// Starts a server for `socket`, daemonized. Two commands racing here are
/// serialized by a lock file, so exactly one server starts. The socket is
/// bound here, before the server runs, so the caller can connect at once
/// with nothing to poll for.
fn start_server(socket: &Path, config: Option<&Path>) -> Result<()> {
    let lock_path = socket.with_extension("lock");
    let lock_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::msg(format!("cannot create {}: {e}", lock_path.display())))?;
    let _lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::msg(format!("cannot lock {}: {e}", lock_path.display())))?;
    if UnixStream::connect(socket).is_ok() {
        return Ok(()); // another command started it while we waited
    }
    // A socket nobody answers on is left by a server that died.
    if std::fs::symlink_metadata(socket).is_ok() {
        std::fs::remove_file(socket)
            .map_err(|e| Error::msg(format!("cannot remove stale socket {}: {e}", socket.display())))?;
    }
    let listener = UnixListener::bind(socket)
        .map_err(|e| Error::msg(format!("cannot create socket {}: {e}", socket.display())))?;
    crate::paths::restrict_socket(socket)?;
    let fd = listener.as_raw_fd();
    let flags = nix::fcntl::fcntl(&listener, nix::fcntl::FcntlArg::F_GETFD).map_err(|e| Error::msg(e.to_string()))?;
    let mut flags = nix::fcntl::FdFlag::from_bits_truncate(flags);
    flags.remove(nix::fcntl::FdFlag::FD_CLOEXEC);
    nix::fcntl::fcntl(&listener, nix::fcntl::FcntlArg::F_SETFD(flags)).map_err(|e| Error::msg(e.to_string()))?;

    let exe = std::env::current_exe().map_err(|e| Error::msg(format!("cannot find the qmux binary: {e}")))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("-S").arg(socket);
    if let Some(config) = config {
        cmd.arg("-f").arg(config);
    }
    cmd.arg("server").env(LISTEN_FD_VAR, fd.to_string()).stdin(Stdio::null()).stdout(Stdio::null());
    match std::env::var_os("QMUX_LOG") {
        Some(log) => {
            let file = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
            cmd.stderr(file);
        }
        None => {
            cmd.stderr(Stdio::null());
        }
    }
    // SAFETY: setsid is async-signal-safe; it detaches the server from this
    // terminal so closing it does not hang the server up.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let mut server = cmd.spawn().map_err(|e| Error::msg(format!("cannot start the server: {e}")))?;
    // The server is our child until we exit; reap it if it ends first (a
    // long attach outliving a kill-server), or it would linger as a zombie.
    std::thread::Builder::new().name("reaper".into()).spawn(move || {
        let _ = server.wait();
    })?;
    drop(listener);
    Ok(())
}

/// Takes the listening socket handed over by [`start_server`].
pub fn inherited_listener() -> Option<UnixListener> {
    let fd: i32 = std::env::var(LISTEN_FD_VAR).ok()?.parse().ok()?;
    std::env::remove_var(LISTEN_FD_VAR);
    // SAFETY: the fd was created for us by start_server and nothing else in
    // this process owns it.
    let listener = unsafe { UnixListener::from_raw_fd(fd) };
    let flags = nix::fcntl::fcntl(&listener, nix::fcntl::FcntlArg::F_GETFD).ok()?;
    let mut flags = nix::fcntl::FdFlag::from_bits_truncate(flags);
    flags.insert(nix::fcntl::FdFlag::FD_CLOEXEC);
    nix::fcntl::fcntl(&listener, nix::fcntl::FcntlArg::F_SETFD(flags)).ok()?;
    Some(listener)
}

// ----- the attached client ---------------------------------------------

static TERMINAL_TAKEN: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back as we found it. Safe to call more than once and
/// from a signal-handling thread or a panic hook.
pub fn restore_terminal() {
    // Under the stdout lock, which frames are written under too: once this
    // is done, no frame follows it onto the shell's screen.
    let mut out = std::io::stdout().lock();
    if TERMINAL_TAKEN.swap(false, Ordering::SeqCst) {
        let _ = write!(out, "{RESET_MODES}\x1b[?1049l");
        let _ = out.flush();
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// Writes to the terminal while the client has it taken; after
/// [`restore_terminal`], nothing.
fn draw(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if !TERMINAL_TAKEN.load(Ordering::SeqCst) {
        return Ok(());
    }
    out.write_all(bytes)?;
    out.flush()
}

fn take_terminal() -> Result<()> {
    crossterm::terminal::enable_raw_mode().map_err(|e| Error::msg(format!("cannot use this terminal: {e}")))?;
    TERMINAL_TAKEN.store(true, Ordering::SeqCst);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
    let mut out = std::io::stdout();
    write!(out, "\x1b[?1049h\x1b[H\x1b[2J")?;
    out.flush()?;
    Ok(())
}

/// The terminal size as (cols, rows).
pub fn terminal_size() -> Option<(u16, u16)> {
    crossterm::terminal::size().ok().filter(|(c, r)| *c > 0 && *r > 0)
}

/// How an attached client finds its server again: after a live upgrade
/// (the old server says so), and, for another machine's server, when the
/// connection drops: its sessions live on over there, while a local server
/// that went away took its sessions with it.
pub struct Redial {
    /// Connects to the same server (socket) again.
    pub dial: Box<dyn Fn() -> Result<Connection> + Send>,
    /// The machine, for another one's server.
    pub host: Option<String>,
    pub request: AttachAgain,
}

/// The attach request that shows this session (or the most recent), for a
/// terminal of this size.
pub type AttachAgain = Box<dyn Fn((u16, u16), Option<SessionId>) -> Request + Send>;

/// Sends an attach request and, once the server accepts it, runs the
/// attached loop until detach. Returns the reason the attachment ended.
pub fn attach(mut conn: Connection, req: Request, home: Option<Redial>, hop: Option<HopTo>) -> Result<String> {
    if let Response::Notice(lines) = conn.request(req)? {
        for line in lines {
            eprintln!("qmux: {line}");
        }
    }
    take_terminal()?;
    let result = attached_loop(conn, home, hop);
    restore_terminal();
    result
}

/// Where keys and sizes go.
enum Link {
    Up(Box<dyn Write + Send>),
    /// Reconnecting to an upgraded server, a moment: keys wait for it.
    Held(Vec<u8>),
    /// The connection dropped: keys go nowhere (C-c gives up).
    Down,
}

impl Link {
    /// Back up: what was held goes first.
    fn up(&mut self, mut w: Box<dyn Write + Send>) {
        if let Link::Held(keys) = self {
            if !keys.is_empty() {
                let _ = protocol::write_frame(&mut w, &ToServer::Input(std::mem::take(keys)));
            }
        }
        *self = Link::Up(w);
    }
}

type SharedLink = Arc<Mutex<Link>>;

/// Sends `msg` to the server while the link is up; a failed write is the
/// reading side's to notice.
fn send_up(link: &SharedLink, msg: &ToServer) {
    if let Ok(mut link) = link.lock() {
        if let Link::Up(w) = &mut *link {
            let _ = protocol::write_frame(w, msg);
        }
    }
}

/// Who reads the keys: this client, which relays them, or the server,
/// from the terminal itself (or from the ssh carrying it).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum Keys {
    #[default]
    Relay,
    /// An ssh carrying the terminal reads them, and the far server has yet
    /// to take them from it.
    Handing,
    Server,
}

#[derive(Default)]
struct KeyMode {
    keys: Mutex<Keys>,
    changed: std::sync::Condvar,
}

impl KeyMode {
    fn get(&self) -> Keys {
        self.keys.lock().map(|k| *k).unwrap_or_default()
    }

    fn set(&self, keys: Keys) {
        if let Ok(mut k) = self.keys.lock() {
            *k = keys;
        }
        self.changed.notify_all();
    }

    /// Sets `to` if the mode still is `from`.
    fn replace(&self, from: Keys, to: Keys) {
        if let Ok(mut k) = self.keys.lock() {
            if *k == from {
                *k = to;
            }
        }
        self.changed.notify_all();
    }

    /// Waits until `until` holds of the mode, or the timeout passes.
    fn wait_for(&self, until: impl Fn(Keys) -> bool, timeout: Option<Duration>) {
        let Ok(keys) = self.keys.lock() else { return };
        match timeout {
            Some(t) => drop(self.changed.wait_timeout_while(keys, t, |k| !until(*k))),
            None => drop(self.changed.wait_while(keys, |k| !until(*k))),
        }
    }
}

/// At most this much typing waits for an upgraded server.
const HELD_MAX: usize = 64 * 1024;

fn attached_loop(conn: Connection, home: Option<Redial>, hop: Option<HopTo>) -> Result<String> {
    let Connection { reader, writer, ssh, .. } = conn;
    let link: SharedLink = Arc::new(Mutex::new(Link::Up(writer)));
    // C-c while the connection is down gives up on it.
    let (give_up, given_up) = std::sync::mpsc::channel::<()>();

    let keys = Arc::new(KeyMode::default());
    let to_server = link.clone();
    let reading = keys.clone();
    std::thread::Builder::new().name("stdin".into()).spawn(move || {
        let stdin = std::io::stdin();
        let mut buf = [0u8; 4096];
        loop {
            // While the server reads the terminal itself, this waits.
            reading.wait_for(|k| k == Keys::Relay, None);
            let mut fds = [nix::poll::PollFd::new(stdin.as_fd(), nix::poll::PollFlags::POLLIN)];
            match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16)) {
                Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => break,
                Ok(_) if reading.get() != Keys::Relay => continue,
                Ok(_) => {}
            }
            // Unbuffered: what is not read stays in the terminal for
            // whoever reads next.
            let n = match nix::unistd::read(stdin.as_fd(), &mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => continue,
                Err(_) => break,
            };
            let Ok(mut link) = to_server.lock() else { break };
            match &mut *link {
                // A failed write is the reading side's to notice.
                Link::Up(w) => {
                    let _ = protocol::write_frame(w, &ToServer::Input(buf[..n].to_vec()));
                }
                Link::Held(held) if held.len() + n <= HELD_MAX => held.extend_from_slice(&buf[..n]),
                Link::Held(_) => {}
                Link::Down if buf[..n].contains(&0x03) => {
                    let _ = give_up.send(());
                }
                Link::Down => {}
            }
        }
    })?;

    let to_server = link.clone();
    let releasing = keys.clone();
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGWINCH,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGQUIT,
    ])?;
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        for sig in signals.forever() {
            if sig == signal_hook::consts::SIGWINCH {
                if let Some((cols, rows)) = terminal_size() {
                    send_up(&to_server, &ToServer::Resize(cols, rows));
                }
            } else {
                // The server stops drawing on the terminal before it is
                // restored; a server that does not answer gets half a
                // second.
                if releasing.get() == Keys::Server {
                    send_up(&to_server, &ToServer::TtyRelease);
                    releasing.wait_for(|k| k == Keys::Relay, Some(Duration::from_millis(500)));
                }
                crate::remote::end_terminal_ssh();
                restore_terminal();
                std::process::exit(128 + sig);
            }
        }
    })?;

    let reader = std::io::BufReader::new(reader);
    let mut at = Where { reader, ssh, terminal_ssh: None, link, keys, showing: None, away: None, home, hop, given_up };
    at.offer_terminal();
    loop {
        match protocol::read_frame::<ToClient>(&mut at.reader) {
            Ok(Some(ToClient::Frame(bytes))) => draw(&bytes)?,
            Ok(Some(ToClient::Direct(true))) => {
                // Every frame sent before this is written: the server
                // draws from here on, and reads the keys.
                at.keys.set(Keys::Server);
                send_up(&at.link, &ToServer::TtyReady);
            }
            Ok(Some(ToClient::Direct(false))) => at.take_keys_back(),
            Ok(Some(ToClient::TtyBridge(token))) => at.carry_terminal(&token),
            Ok(Some(ToClient::Detached(reason))) => {
                at.take_keys_back();
                match at.away.take() {
                    // Detached from another machine: back here.
                    Some((redial, back)) => {
                        let host = redial.host.unwrap_or_default();
                        if !at.go_home(back, &format!("qmux: back from {host} ({reason})"))? {
                            return Ok(reason);
                        }
                    }
                    None => return Ok(reason),
                }
            }
            Ok(Some(ToClient::Hop { host, session, from })) => {
                at.take_keys_back();
                if !at.hop_to(&host, session, from)? {
                    return Ok(format!("cannot show {host}'s session, nor come back here"));
                }
            }
            Ok(Some(ToClient::Reconnect(sid))) => {
                // A live upgrade: the new server is already listening.
                at.take_keys_back();
                at.showing = sid.or(at.showing);
                at.hold();
                status_line("qmux: the server was upgraded; reconnecting…")?;
                let Some(redial) = at.current() else { return Ok("server upgraded; attach again".into()) };
                let size = terminal_size().unwrap_or((80, 24));
                match (redial.dial)().and_then(|mut c| c.request((redial.request)(size, at.showing)).map(|_| c)) {
                    Ok(conn) => at.switch(conn),
                    Err(e) if redial.host.is_none() => return Ok(format!("lost server after its upgrade: {e}")),
                    Err(e) => {
                        if !at.retry(&e.to_string())? {
                            return Ok("gave up".into());
                        }
                    }
                }
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => {
                at.take_keys_back();
                let why = at.ssh.as_ref().map(|s| last_line(&s.said())).unwrap_or_default();
                if at.current().is_none_or(|r| r.host.is_none()) {
                    return Ok("lost server".into());
                }
                if !at.retry(&why)? {
                    return Ok("gave up".into());
                }
            }
        }
    }
}

/// Which server an attached client is talking to: its own (home), or, after
/// a hop from the chooser, another machine's (away), and how to reach each
/// again.
struct Where {
    /// Buffered: a frame is taken in one read, its length and body together.
    reader: std::io::BufReader<Box<dyn Source>>,
    ssh: Option<Ssh>,
    /// The second ssh, carrying the terminal to another machine's server.
    terminal_ssh: Option<TerminalSsh>,
    link: SharedLink,
    keys: Arc<KeyMode>,
    /// The session last shown, as far as the server said.
    showing: Option<SessionId>,
    /// Another machine's server, and the session to come back to at home.
    away: Option<(Redial, SessionId)>,
    home: Option<Redial>,
    hop: Option<HopTo>,
    given_up: std::sync::mpsc::Receiver<()>,
}

/// How to reach another machine's server by its name.
pub type HopTo = Box<dyn Fn(&str) -> Result<Redial> + Send>;

impl Where {
    fn current(&self) -> Option<&Redial> {
        self.away.as_ref().map(|(r, _)| r).or(self.home.as_ref())
    }

    /// The terminal is this client's again: whatever carried it to the far
    /// server has written all it carried and let go of it.
    fn take_keys_back(&mut self) {
        if let Some(ssh) = self.terminal_ssh.take() {
            ssh.finish(Duration::from_secs(1));
        }
        self.keys.set(Keys::Relay);
    }

    /// Has a second ssh carry the terminal to the far server, which gave
    /// `token` for it: from here that ssh reads the keys, not this client.
    fn carry_terminal(&mut self, token: &str) {
        let Some(ssh) = &self.ssh else { return };
        self.keys.set(Keys::Handing);
        // An ssh that ended before the far server took the terminal gives
        // the keys back here.
        let keys = self.keys.clone();
        match ssh.carry_terminal(token, move || keys.replace(Keys::Handing, Keys::Relay)) {
            Ok(carrier) => self.terminal_ssh = Some(carrier),
            Err(_) => self.keys.set(Keys::Relay),
        }
    }

    /// Keys wait while the client changes servers.
    fn hold(&mut self) {
        if let Ok(mut link) = self.link.lock() {
            *link = Link::Held(Vec::new());
        }
        drop(self.ssh.take());
    }

    fn switch(&mut self, conn: Connection) {
        let Connection { reader, writer, ssh, .. } = conn;
        (self.reader, self.ssh) = (std::io::BufReader::new(reader), ssh);
        if let Ok(mut link) = self.link.lock() {
            link.up(writer);
        }
        self.offer_terminal();
    }

    /// Offers the server the terminal, to read and draw on itself: this
    /// machine's by its name (`ToServer::Tty`), another machine's through a
    /// second ssh that carries it (`ToServer::TtyBridge`). Until the server
    /// takes it, keys and frames go through this client.
    fn offer_terminal(&mut self) {
        if self.ssh.is_some() {
            return send_up(&self.link, &ToServer::TtyBridge);
        }
        let stdin = std::io::stdin();
        let (Ok(path), Ok(stat)) = (nix::unistd::ttyname(stdin.as_fd()), nix::sys::stat::fstat(stdin.as_fd())) else {
            return;
        };
        let offer = ToServer::Tty { path: path.to_string_lossy().into_owned(), rdev: stat.st_rdev };
        send_up(&self.link, &offer);
    }

    /// Attaches to `session` on `host`; on failure, says why and stays
    /// (goes back) home. False if home is gone too.
    fn hop_to(&mut self, host: &str, session: SessionId, from: SessionId) -> Result<bool> {
        self.hold();
        status_line(&format!("qmux: connecting to {host}…"))?;
        let size = terminal_size().unwrap_or((80, 24));
        let attempt = match &self.hop {
            Some(hop) => hop(host).and_then(|redial| {
                let conn =
                    (redial.dial)().and_then(|mut c| c.request((redial.request)(size, Some(session))).map(|_| c))?;
                Ok((redial, conn))
            }),
            None => Err(Error::msg("this client cannot reach other machines")),
        };
        match attempt {
            Ok((redial, conn)) => {
                self.away = Some((redial, from));
                self.switch(conn);
                Ok(true)
            }
            Err(e) => {
                let why = last_line(e.preface.as_deref().unwrap_or(&e.to_string()));
                self.go_home(from, &format!("qmux: cannot reach {host}: {why}"))
            }
        }
    }

    /// Back to this machine's server, showing `session`, with a word on
    /// the last row. False if it cannot be reached.
    fn go_home(&mut self, session: SessionId, message: &str) -> Result<bool> {
        self.away = None;
        self.hold();
        let Some(home) = &self.home else { return Ok(false) };
        let size = terminal_size().unwrap_or((80, 24));
        match (home.dial)().and_then(|mut c| c.request((home.request)(size, Some(session))).map(|_| c)) {
            Ok(conn) => {
                self.switch(conn);
                self.showing = Some(session);
                status_line(message)?;
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    }

    /// The connection to another machine dropped: retries until it is
    /// back, or the user gives up (then, if away, back home). False when
    /// there is nowhere left to go.
    fn retry(&mut self, why: &str) -> Result<bool> {
        if let Ok(mut link) = self.link.lock() {
            *link = Link::Down;
        }
        drop(self.ssh.take());
        let Some(redial) = self.current() else { return Ok(false) };
        let host = redial.host.clone().unwrap_or_default();
        match reconnect(redial, &host, why, &self.given_up, self.showing)? {
            Some(conn) => {
                self.switch(conn);
                Ok(true)
            }
            None => match self.away.take() {
                Some((_, back)) => self.go_home(back, &format!("qmux: gave up on {host}")),
                None => Ok(false),
            },
        }
    }
}

/// Tries again and again, waiting longer each time, until the far side
/// takes the attach again or the user gives up (None).
fn reconnect(
    redial: &Redial,
    host: &str,
    why: &str,
    given_up: &std::sync::mpsc::Receiver<()>,
    showing: Option<SessionId>,
) -> Result<Option<Connection>> {
    let mut why = why.to_string();
    let mut delay = Duration::from_millis(250);
    loop {
        let because = if why.is_empty() { String::new() } else { format!(" ({why})") };
        status_line(&format!(
            "qmux: lost the connection to {host}{because}; retrying in {:.0?}, C-c gives up",
            delay.max(Duration::from_secs(1))
        ))?;
        match given_up.recv_timeout(delay) {
            Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(None),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        status_line(&format!("qmux: reconnecting to {host}…"))?;
        let size = terminal_size().unwrap_or((80, 24));
        match (redial.dial)().and_then(|mut c| c.request((redial.request)(size, showing)).map(|_| c)) {
            Ok(conn) => return Ok(Some(conn)),
            Err(e) => why = last_line(e.preface.as_deref().unwrap_or(&e.to_string())),
        }
        delay = (delay * 2).min(Duration::from_secs(15));
    }
}

fn last_line(text: &str) -> String {
    text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string()
}

/// A message on the terminal's last row, over whatever is there; the next
/// frame from the server paints over it.
fn status_line(text: &str) -> Result<()> {
    let (cols, rows) = terminal_size().unwrap_or((80, 24));
    let text: String = text.chars().take(cols as usize).collect();
    draw(format!("\x1b7\x1b[{rows};1H\x1b[0;7m\x1b[2K{text}\x1b[0m\x1b8").as_bytes())?;
    Ok(())
}
