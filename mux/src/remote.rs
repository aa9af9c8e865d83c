//! Sessions on other machines, through OpenSSH.
//!
//! `qmux -H HOST VERB` runs `ssh HOST qmux bridge` and speaks qmux's own
//! protocol over that pipe: the bridge, on the far side, reaches the server
//! there (starting it when the verb would) and hands it the pipe, which the
//! server then serves itself. Everything that makes
//! ssh work for the user — keys, agent forwarding, `~/.ssh/config`, jump
//! hosts, known hosts — is ssh's; qmux listens on no port and authenticates
//! nobody. Connections to one host share one ssh connection
//! (ControlMaster), so `ls --all` and repeated verbs pay the handshake once.

use std::ffi::OsString;
use std::io::{BufReader, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::protocol::{self, Bridged, Hello, NewSession, Request, Response, ToClient, ToServer};

/// The exit code of a bridge that found no server and was not asked to
/// start one.
pub const NO_SERVER: i32 = 3;

/// A machine as the user named it, and the ssh arguments that reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// As written: shown in messages and listings.
    pub name: String,
    /// The destination as ssh takes it, with `-p PORT` for `host:port`.
    destination: Vec<String>,
}

impl Host {
    /// Anything ssh accepts: an alias, `user@host`, `ssh://user@host:port`;
    /// and `user@host:port`, which ssh itself does not take.
    pub fn parse(spec: &str) -> Result<Host> {
        let bad =
            || Error::msg(format!("bad host {spec:?}: write it as ssh takes it, e.g. box, me@box:2222, ssh://box"));
        if spec.is_empty() || spec.starts_with('-') || spec.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let mut destination = Vec::new();
        match spec.rsplit_once(':') {
            // ssh:// is ssh's own; an IPv6 address has more than one colon.
            _ if spec.starts_with("ssh://") => destination.push(spec.to_string()),
            Some((host, port)) if !host.contains(':') && !host.is_empty() => {
                let port: u16 = port.parse().map_err(|_| bad())?;
                destination.extend(["-p".to_string(), port.to_string(), host.to_string()]);
            }
            _ => destination.push(spec.to_string()),
        }
        Ok(Host { name: spec.to_string(), destination })
    }
}

/// Everything needed to reach the qmux of one machine.
#[derive(Debug, Clone)]
pub struct Remote {
    pub host: Host,
    ssh_command: Vec<String>,
    remote_command: String,
    /// `-L NAME` / `-S PATH` as the user gave them: the far side's socket.
    socket_args: Vec<OsString>,
    /// Where the shared ssh connection's control socket lives (the local
    /// socket directory, private to the user).
    control_dir: Option<PathBuf>,
    /// Nobody is there to type a password or a passphrase (the server).
    batch: bool,
}

impl Remote {
    pub fn new(host: Host, config: &Config, socket_args: Vec<OsString>, control_dir: Option<PathBuf>) -> Remote {
        Remote {
            host,
            ssh_command: config.ssh_command.clone(),
            remote_command: config.remote_command.clone(),
            socket_args,
            control_dir,
            batch: false,
        }
    }

    /// Never asks: for the server, which has no terminal to ask on.
    pub fn batch(mut self) -> Remote {
        self.batch = true;
        self
    }

    /// The ssh command line for a bridge.
    fn command(&self, bridge: Bridging<'_>) -> Command {
        let mut cmd = Command::new(&self.ssh_command[0]);
        cmd.args(&self.ssh_command[1..]).arg("-T");
        let terminal = matches!(bridge, Bridging::Terminal(_));
        // A terminal's ssh starts while the client has the terminal: it
        // must not ask on it.
        if self.batch || terminal {
            cmd.arg("-o").arg("BatchMode=yes");
        }
        if terminal {
            // Every byte is a key for the far side, none is ssh's.
            cmd.arg("-e").arg("none");
        }
        if let Some(dir) = &self.control_dir {
            // A terminal's bridge only ever joins the connection: it must
            // not become a master that outlives the client holding the
            // terminal.
            let master = if terminal { "no" } else { "auto" };
            cmd.arg("-o").arg(format!("ControlMaster={master}"));
            cmd.arg("-o").arg(format!("ControlPath={}", dir.join("ssh-%C").display()));
            cmd.arg("-o").arg("ControlPersist=60");
        }
        cmd.args(&self.host.destination);
        // One string, which the remote login shell splits: the user's
        // remote-command may carry variables or a ~ path.
        let mut remote = self.remote_command.clone();
        for arg in self.socket_args.iter().map(|a| a.to_string_lossy()).chain(["bridge".into()]) {
            remote.push(' ');
            remote.push_str(&shell_quote(&arg));
        }
        let bridge_args: &[&str] = match bridge {
            Bridging::Client { start: false } => &[],
            Bridging::Client { start: true } => &["--start"],
            Bridging::Terminal(token) => &["--tty", token],
        };
        for arg in bridge_args {
            remote.push(' ');
            remote.push_str(&shell_quote(arg));
        }
        cmd.arg(remote);
        cmd
    }

    /// Starts ssh and the bridge behind it; the caller greets.
    pub fn dial(&self, start: bool) -> Result<(Ssh, ChildStdout, ChildStdin)> {
        let mut cmd = self.command(Bridging::Client { start });
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
        let (mut child, said) = self.spawn(cmd, || {})?;
        let (Some(stdout), Some(stdin)) = (child.stdout.take(), child.stdin.take()) else {
            return Err(Error::msg("cannot talk to ssh: its pipes are missing"));
        };
        let ssh = Ssh { child, said, remote: self.clone() };
        Ok((ssh, stdout, stdin))
    }

    /// Starts ssh with its standard error kept: ssh's own words (a refused
    /// key, an unknown host) are shown if the connection fails; a live
    /// connection's stderr is not the user's screen. `ended` runs once ssh
    /// and everything it handed the stream to have closed it.
    fn spawn(&self, mut cmd: Command, ended: impl FnOnce() + Send + 'static) -> Result<(Child, Said)> {
        cmd.stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| {
            Error::msg(format!(
                "cannot run {}: {e}; install OpenSSH, or set ssh-command in the config",
                self.ssh_command[0]
            ))
        })?;
        let Some(mut stderr) = child.stderr.take() else {
            return Err(Error::msg("cannot talk to ssh: its pipes are missing"));
        };
        let said = Said::default();
        let sink = said.clone();
        std::thread::Builder::new().name("ssh-stderr".into()).spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = stderr.read(&mut buf) {
                if let Ok(mut said) = sink.lock() {
                    said.extend_from_slice(&buf[..n]);
                }
            }
            ended();
        })?;
        Ok((child, said))
    }
}

type Said = Arc<Mutex<Vec<u8>>>;

/// What a bridge over there is for.
#[derive(Clone, Copy)]
enum Bridging<'a> {
    /// A client's connection; `start` starts the server there if none runs.
    Client { start: bool },
    /// The terminal of the client given this token (`qmux bridge --tty`).
    Terminal(&'a str),
}

/// Quotes an argument for the remote login shell.
fn shell_quote(arg: &str) -> String {
    if !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=,:@%+".contains(&b)) {
        return arg.to_string();
    }
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// The ssh process behind a remote connection. Dropping it ends the
/// connection (the bridge sees its input close) and reaps ssh.
pub struct Ssh {
    child: Child,
    said: Said,
    remote: Remote,
}

impl Ssh {
    pub fn host(&self) -> &str {
        &self.remote.host.name
    }

    /// A second ssh, over the same connection, that carries this
    /// terminal to the far server for the client given `token` (see
    /// `ToServer::TtyFrom`): ssh reads the keys and writes the frames
    /// itself, so no process of ours is in their way. `ended` runs once it
    /// has written all it carried and let go of the terminal.
    pub fn carry_terminal(&self, token: &str, ended: impl FnOnce() + Send + 'static) -> Result<TerminalSsh> {
        let mut cmd = self.remote.command(Bridging::Terminal(token));
        let (stdin, stdout) =
            (std::io::stdin().as_fd().try_clone_to_owned()?, std::io::stdout().as_fd().try_clone_to_owned()?);
        cmd.stdin(Stdio::from(stdin)).stdout(Stdio::from(stdout));
        let (done, ended_rx) = std::sync::mpsc::channel();
        let (child, _) = self.remote.spawn(cmd, move || {
            let _ = done.send(());
            ended();
        })?;
        TERMINAL_SSH.store(child.id() as i32, Ordering::SeqCst);
        Ok(TerminalSsh { child, ended: ended_rx })
    }

    /// What ssh (and the far side) printed, trimmed.
    pub fn said(&self) -> String {
        let said = self.said.lock().map(|s| s.clone()).unwrap_or_default();
        String::from_utf8_lossy(&said).trim().to_string()
    }

    /// The connection ended before the far side's greeting: says why, in
    /// ssh's words when ssh failed.
    pub fn failure(&mut self) -> Error {
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status.code(),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                _ => break None,
            }
        };
        // Let the stderr thread take ssh's last words.
        std::thread::sleep(Duration::from_millis(20));
        let said = self.said();
        let host = self.host();
        let version = env!("CARGO_PKG_VERSION");
        match status {
            // ssh's own message, whole, then ours.
            Some(255) => Error::msg(format!("cannot reach {host} over ssh; `ssh {host}` shows the same problem"))
                .with_preface(said),
            Some(127) => Error::msg(format!(
                "qmux is not installed on {host} ({:?} was not found there): install qmux {version} on {host}, \
                 or set remote-command in the config to its path",
                self.remote.remote_command
            )),
            Some(NO_SERVER) => Error::msg(format!("no server running on {host}")),
            Some(_) if said.contains("unrecognized subcommand") => Error::msg(format!(
                "qmux on {host} is too old to be reached with --host: install qmux {version} on {host}"
            )),
            _ => {
                let last = said.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("the connection closed");
                let last = last.strip_prefix("qmux: ").unwrap_or(last);
                Error::msg(format!("on {host}: {last}"))
            }
        }
    }

    /// The greeting came back, but from another version of qmux.
    pub fn mismatch(&self, theirs: &Hello) -> Error {
        let ours = Hello::ours();
        Error::msg(format!(
            "qmux on {host} is {} (protocol {}), this is {} (protocol {}): install qmux {} on {host}",
            theirs.version,
            theirs.protocol,
            ours.version,
            ours.protocol,
            ours.version,
            host = self.host()
        ))
    }
}

/// The ssh that carries a terminal (`Ssh::carry_terminal`). Dropping it
/// ends it.
pub struct TerminalSsh {
    child: Child,
    ended: std::sync::mpsc::Receiver<()>,
}

/// The process id of the ssh carrying the terminal, for an exit that runs
/// no destructors (a signal). Until `TerminalSsh` reaps it, no other
/// process can have that id, even once it ended.
static TERMINAL_SSH: AtomicI32 = AtomicI32::new(0);

impl TerminalSsh {
    /// Lets it write what it still carries, for at most `timeout` (the far
    /// side ends it), then ends it.
    pub fn finish(self, timeout: Duration) {
        let _ = self.ended.recv_timeout(timeout);
    }
}

impl Drop for TerminalSsh {
    fn drop(&mut self) {
        TERMINAL_SSH.store(0, Ordering::SeqCst);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Ends the ssh carrying the terminal, if one is, for an exit that runs no
/// destructors: it must not go on reading the shell's keys.
pub fn end_terminal_ssh() {
    let pid = TERMINAL_SSH.swap(0, Ordering::SeqCst);
    if pid > 0 {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
    }
}

impl Drop for Ssh {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The environment a client sends to another machine: only what describes
/// its terminal. The rest (PATH, HOME) is the far side's own.
pub fn terminal_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| {
            matches!(
                k.as_str(),
                "TERM"
                    | "COLORTERM"
                    | "LANG"
                    | "TERM_PROGRAM"
                    | "TERM_PROGRAM_VERSION"
                    // What picks the terminal's notification escape.
                    | "KITTY_WINDOW_ID"
                    | "WT_SESSION"
                    | "VTE_VERSION"
                    | "WEZTERM_PANE"
                    | "GHOSTTY_RESOURCES_DIR"
            ) || k.starts_with("LC_")
        })
        .collect()
}

// ----- the far side -----------------------------------------------------

/// `qmux bridge`: connects a client on another machine (our stdin and
/// stdout, over ssh) to this machine's server. Once both are greeted, the
/// server takes our stdin and stdout and serves the client on them itself,
/// so keys and frames cross no process of ours; we only wait for it to end
/// that connection, so ssh's session lasts exactly as long. A server that
/// will not take them gets relayed to, as before.
pub fn bridge(connect: impl Fn() -> Result<crate::client::Connection>) -> Result<i32> {
    // Unbuffered: what follows the greeting on stdin is the server's to
    // read, and a frame must leave as soon as the server sends it.
    let mut input = std::fs::File::from(std::io::stdin().as_fd().try_clone_to_owned()?);
    let mut output = std::fs::File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
    let ours = Hello::ours();
    match protocol::read_frame::<ToServer>(&mut input) {
        Ok(Some(ToServer::Hello(theirs))) if theirs.protocol == ours.protocol => {}
        Ok(Some(ToServer::Hello(_))) => {
            // The client words the mismatch: it knows which side is which.
            protocol::write_frame(&mut output, &ToClient::Hello(ours))?;
            return Ok(0);
        }
        _ => return Err(Error::msg("bridge: expected a qmux client on standard input")),
    }
    let conn = connect()?;
    protocol::write_frame(&mut output, &ToClient::Hello(ours))?;
    let here = Bridged::here();
    let (mut from_server, mut to_server) = conn.into_parts();
    let fds = [input.as_raw_fd(), output.as_raw_fd()];
    let handed = hand_over(&mut from_server, &mut to_server, &ToServer::Bridge(here.clone()), &fds);
    let (from_server, to_server) = match handed {
        Ok(Some(ToClient::Response(Response::Ok))) => {
            drop((input, output));
            return Ok(until_let_go(from_server));
        }
        // Refused (it could not use them): this connection goes on.
        Ok(Some(ToClient::Response(Response::Error(_)))) => (from_server, to_server),
        // It closed on us: a new one, relayed.
        _ => connect()?.into_parts(),
    };
    // A server that refused may have set them non-blocking (they are its
    // copies' too) before it found what it could not use.
    for fd in [input.as_fd(), output.as_fd()] {
        blocking(fd)?;
    }
    relay(BufReader::new(input), output, from_server, to_server, &here)
}

/// `qmux bridge --tty TOKEN`: hands our standard input and output, a
/// terminal's keys and screen carried by ssh, to this machine's server for
/// the client given `TOKEN`, then waits for the server to let them go, so
/// ssh's session lasts exactly as long.
pub fn bridge_tty(conn: crate::client::Connection, token: &str) -> Result<i32> {
    let (mut from_server, mut to_server) = conn.into_parts();
    match hand_over(&mut from_server, &mut to_server, &ToServer::TtyFrom(token.to_string()), &[0, 1]) {
        Ok(Some(ToClient::Response(Response::Ok))) => Ok(until_let_go(from_server)),
        Ok(Some(ToClient::Response(Response::Error(e)))) => Err(Error::msg(e)),
        Ok(_) => Err(Error::msg("bridge: the server did not answer; attach again")),
        Err(e) => Err(Error::msg(format!("bridge: cannot hand the terminal to the server: {e}"))),
    }
}

/// Sends the server `msg` and, after it, `fds` (SCM_RIGHTS); its answer.
fn hand_over(
    from_server: &mut Box<dyn crate::client::Source>,
    to_server: &mut Box<dyn Write + Send>,
    msg: &ToServer,
    fds: &[std::os::fd::RawFd],
) -> std::io::Result<Option<ToClient>> {
    protocol::write_frame(to_server, msg)
        .and_then(|()| crate::fds::send(&**from_server, fds))
        .and_then(|()| protocol::read_frame::<ToClient>(from_server))
}

/// The server holds what was handed over; it closes this socket when it
/// lets go of them (or exits), and the bridge ends then, with ssh's
/// session. The exit code.
fn until_let_go(mut from_server: Box<dyn crate::client::Source>) -> i32 {
    let _ = std::io::copy(&mut from_server, &mut std::io::sink());
    0
}

/// Relays frames between the client and the server, filling in requests.
fn relay(
    mut input: impl Read,
    mut output: std::fs::File,
    mut from_server: Box<dyn crate::client::Source>,
    mut to_server: Box<dyn Write + Send>,
    here: &Bridged,
) -> Result<i32> {
    std::thread::Builder::new().name("bridge-out".into()).spawn(move || {
        let _ = std::io::copy(&mut from_server, &mut output);
        // The server closed: so does the bridge, and with it ssh.
        std::process::exit(0);
    })?;
    loop {
        match protocol::read_frame::<ToServer>(&mut input) {
            Ok(Some(mut frame)) => {
                if let ToServer::Request(req) = &mut frame {
                    here.localize(req);
                }
                protocol::write_frame(&mut to_server, &frame)?;
            }
            Ok(None) => return Ok(0),
            Err(e) => return Err(Error::msg(format!("bridge: bad frame from the client: {e}"))),
        }
    }
}

/// Clears O_NONBLOCK on a descriptor.
fn blocking(fd: std::os::fd::BorrowedFd<'_>) -> Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL).map_err(|e| Error::msg(e.to_string()))?);
    fcntl(fd, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK)).map_err(|e| Error::msg(e.to_string()))?;
    Ok(())
}

impl Bridged {
    /// This machine, as the bridge running here sees it.
    pub fn here() -> Bridged {
        Bridged {
            env: std::env::vars().collect(),
            home: std::env::var_os("HOME").map(PathBuf::from).or_else(|| std::env::current_dir().ok()),
            exe: std::env::current_exe().ok(),
        }
    }

    /// Fills in what a remote client left to this machine: the directory
    /// (empty: home) and the environment under its terminal variables. The
    /// bridge does it while it relays; the server, for a connection a
    /// bridge handed it.
    pub fn localize(&self, req: &mut Request) {
        let fill_env = |env: &mut Vec<(String, String)>| {
            let theirs = std::mem::take(env);
            env.extend(self.env.iter().filter(|(k, _)| !theirs.iter().any(|(t, _)| t == k)).cloned());
            env.extend(theirs);
        };
        let fill = |spec: &mut NewSession| {
            if spec.cwd.as_os_str().is_empty() {
                if let Some(home) = &self.home {
                    spec.cwd = home.clone();
                }
            }
            fill_env(&mut spec.env);
        };
        match req {
            Request::Attach { create, create_if_none, env, .. } => {
                create.iter_mut().chain(create_if_none.iter_mut()).for_each(fill);
                fill_env(env);
            }
            Request::New { session, .. } => fill(session),
            Request::Split { create: Some(spec), .. } => fill(spec),
            // The qmux to upgrade to is this machine's: the one running here.
            Request::Handoff { exe } => {
                if let Some(ours) = &self.exe {
                    *exe = ours.clone();
                }
            }
            _ => {}
        }
    }
}

/// Waits until `fd` has something to read; false if `timeout` passed
/// first.
pub fn readable(fd: &impl AsRawFd, timeout: Duration) -> bool {
    // SAFETY: the descriptor is borrowed from a live owner for this call.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd.as_raw_fd()) };
    let mut fds = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    matches!(nix::poll::poll(&mut fds, nix::poll::PollTimeout::try_from(ms).unwrap_or(nix::poll::PollTimeout::MAX)), Ok(n) if n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_taken_as_ssh_takes_them_and_host_port_too() {
        assert_eq!(Host::parse("box").unwrap().destination, ["box"]);
        assert_eq!(Host::parse("me@box").unwrap().destination, ["me@box"]);
        assert_eq!(Host::parse("me@box:2222").unwrap().destination, ["-p", "2222", "me@box"]);
        assert_eq!(Host::parse("ssh://me@box:2222").unwrap().destination, ["ssh://me@box:2222"]);
        assert_eq!(Host::parse("fe80::1").unwrap().destination, ["fe80::1"]);
        for bad in ["", "-oProxyCommand=x", "a b", "box:port"] {
            assert!(Host::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn remote_arguments_are_quoted_for_the_login_shell() {
        assert_eq!(shell_quote("-L"), "-L");
        assert_eq!(shell_quote("my sock"), "'my sock'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn a_remote_request_gets_this_machines_home_and_environment_under_its_terminal() {
        let spec = NewSession {
            name: None,
            cwd: PathBuf::new(),
            command: vec![],
            env: vec![("TERM".into(), "xterm-kitty".into())],
            size: None,
            worktree: None,
        };
        let mut req = Request::New { session: spec, caller: None, switch_caller: false };
        let here = Bridged { home: Some("/home/me".into()), ..Bridged::here() };
        here.localize(&mut req);
        let Request::New { session, .. } = req else { unreachable!() };
        assert_eq!(session.cwd, std::path::Path::new("/home/me"));
        let term: Vec<_> = session.env.iter().filter(|(k, _)| k == "TERM").collect();
        assert_eq!(term, [&("TERM".to_string(), "xterm-kitty".to_string())]);
        if let Ok(path) = std::env::var("PATH") {
            assert!(session.env.contains(&("PATH".into(), path)));
        }
    }
}
