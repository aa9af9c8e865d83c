//! The client side: reaching the server (starting it when needed), sending
//! one request, and the attached loop that owns the user's terminal.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::protocol::{self, Hello, Request, Response, ToClient, ToServer};
use crate::render::RESET_MODES;

/// The environment variable that hands the server its listening socket.
pub const LISTEN_FD_VAR: &str = "QMUX_LISTEN_FD";

/// A greeted connection to the server.
pub struct Connection {
    stream: UnixStream,
    timed_out: bool,
}

impl Connection {
    /// Connects to a running server.
    pub fn open(socket: &Path) -> Result<Connection> {
        match UnixStream::connect(socket) {
            Ok(stream) => Connection::greet(stream),
            Err(_) => Err(Error::msg(format!("no server running on {}", socket.display()))),
        }
    }

    /// Connects, starting a server first if none is running.
    pub fn open_or_start(socket: &Path, config: Option<&Path>) -> Result<Connection> {
        if let Ok(stream) = UnixStream::connect(socket) {
            return Connection::greet(stream);
        }
        start_server(socket, config)?;
        let stream = UnixStream::connect(socket)
            .map_err(|e| Error::msg(format!("cannot reach the new server on {}: {e}", socket.display())))?;
        Connection::greet(stream)
    }

    fn greet(mut stream: UnixStream) -> Result<Connection> {
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
        let ours = Hello::ours();
        protocol::write_frame(&mut stream, &ToServer::Hello(ours.clone()))?;
        match protocol::read_frame::<ToClient>(&mut stream) {
            Ok(Some(ToClient::Hello(theirs))) if theirs.protocol == ours.protocol => {
                Ok(Connection { stream, timed_out: false })
            }
            Ok(Some(ToClient::Hello(theirs))) => Err(Error::msg(format!(
                "server is v{}, client is v{}; run `qmux kill-server` to upgrade",
                theirs.version, ours.version
            ))),
            _ => Err(Error::msg("the server did not answer as a qmux server of this version; run `qmux kill-server`")),
        }
    }

    /// Limits how long [`Connection::request`] waits for an answer.
    pub fn set_timeout(&mut self, timeout: Option<std::time::Duration>) -> Result<()> {
        self.stream.set_read_timeout(timeout)?;
        Ok(())
    }

    /// Whether the last request ran out of time.
    pub fn timed_out(&self) -> bool {
        self.timed_out
    }

    /// Sends one request and waits for its answer.
    pub fn request(&mut self, req: Request) -> Result<Response> {
        protocol::write_frame(&mut self.stream, &ToServer::Request(Box::new(req)))?;
        loop {
            let frame = protocol::read_frame::<ToClient>(&mut self.stream).inspect_err(|e| {
                self.timed_out = matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut);
            });
            match frame? {
                Some(ToClient::Response(Response::Error(e))) => return Err(Error::msg(e)),
                Some(ToClient::Response(r)) => return Ok(r),
                Some(_) => continue,
                None => return Err(Error::msg("the server closed the connection")),
            }
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
    if TERMINAL_TAKEN.swap(false, Ordering::SeqCst) {
        let mut out = std::io::stdout();
        let _ = write!(out, "{RESET_MODES}\x1b[?1049l");
        let _ = out.flush();
        let _ = crossterm::terminal::disable_raw_mode();
    }
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

/// Sends an attach request and, once the server accepts it, runs the
/// attached loop until detach. Returns the reason the attachment ended.
pub fn attach(mut conn: Connection, req: Request) -> Result<String> {
    if let Response::Notice(lines) = conn.request(req)? {
        for line in lines {
            eprintln!("qmux: {line}");
        }
    }
    take_terminal()?;
    let result = attached_loop(conn);
    restore_terminal();
    result
}

fn attached_loop(conn: Connection) -> Result<String> {
    let mut reader = conn.stream.try_clone()?;
    let writer = Arc::new(Mutex::new(conn.stream));

    let to_server = writer.clone();
    std::thread::Builder::new().name("stdin".into()).spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 4096];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let Ok(mut w) = to_server.lock() else { break };
                    if protocol::write_frame(&mut *w, &ToServer::Input(buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    })?;

    let to_server = writer.clone();
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
                if let (Some((cols, rows)), Ok(mut w)) = (terminal_size(), to_server.lock()) {
                    let _ = protocol::write_frame(&mut *w, &ToServer::Resize(cols, rows));
                }
            } else {
                restore_terminal();
                std::process::exit(128 + sig);
            }
        }
    })?;

    // Not locked for the loop's life: the signal thread must be able to
    // write the terminal restore while this thread waits on the socket.
    let mut out = std::io::stdout();
    loop {
        match protocol::read_frame::<ToClient>(&mut reader) {
            Ok(Some(ToClient::Frame(bytes))) => {
                out.write_all(&bytes)?;
                out.flush()?;
            }
            Ok(Some(ToClient::Detached(reason))) => return Ok(reason),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return Ok("lost server".into()),
        }
    }
}
