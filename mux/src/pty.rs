//! Running a program in a pseudo-terminal, and the threads that keep it
//! drained.
//!
//! Each session has a reader thread that reads the PTY as fast as the
//! program writes, feeds the bytes to the session's [`Terminal`], and writes
//! query answers back; and a writer thread, so a program that stops reading
//! its input can never block the server. Reads block (portable-pty has no
//! async API), hence threads.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use portable_pty::{ChildKiller, CommandBuilder, MasterPty, PtySize};

use crate::error::{Error, Result};
use crate::session::Terminal;

/// What the PTY threads tell the server.
pub enum PtyEvent {
    /// New output was processed (sent once per batch, not per read).
    Output,
    /// The program ended; all its output has been processed.
    Exited(i32),
}

pub struct SpawnSpec<'a> {
    pub argv: &'a [String],
    pub cwd: &'a Path,
    pub env: &'a [(String, String)],
    pub cols: u16,
    pub rows: u16,
}

/// A running program in its PTY. Dropping it hangs the program up.
pub struct Pty {
    master: Box<dyn MasterPty + Send>,
    input: mpsc::Sender<Vec<u8>>,
    killer: Box<dyn ChildKiller + Send + Sync>,
    pid: Option<u32>,
}

/// Set by the reader thread when it has news; cleared by the server when it
/// looks. Keeps the event channel at one message per batch of output.
pub type OutputPending = Arc<AtomicBool>;

impl Pty {
    pub fn spawn(
        spec: SpawnSpec<'_>,
        terminal: Arc<Mutex<Terminal>>,
        pending: OutputPending,
        notify: impl Fn(PtyEvent) + Send + 'static,
    ) -> Result<Pty> {
        check_runnable(spec.argv, spec.cwd, spec.env)?;
        let system = portable_pty::native_pty_system();
        let pair = system
            .openpty(PtySize { rows: spec.rows.max(1), cols: spec.cols.max(1), pixel_width: 0, pixel_height: 0 })
            .map_err(|e| Error::msg(format!("cannot open a pseudo-terminal: {e}")))?;
        // The trampoline resets the signal dispositions Rust changed in this
        // process (SIGPIPE) before it execs the real program.
        let exe = std::env::current_exe().map_err(|e| Error::msg(format!("cannot find the qmux binary: {e}")))?;
        let mut cmd = CommandBuilder::new(exe);
        cmd.arg("__exec");
        cmd.arg("--");
        cmd.args(spec.argv);
        cmd.cwd(spec.cwd);
        cmd.env_clear();
        for (k, v) in spec.env {
            cmd.env(k, v);
        }
        let mut child =
            pair.slave.spawn_command(cmd).map_err(|e| Error::msg(format!("cannot run {}: {e}", spec.argv[0])))?;
        // The reader sees EOF only once every slave handle is closed.
        drop(pair.slave);
        let pid = child.process_id();
        let killer = child.clone_killer();
        let mut reader = pair.master.try_clone_reader().map_err(|e| Error::msg(format!("pty: {e}")))?;
        let mut writer = pair.master.take_writer().map_err(|e| Error::msg(format!("pty: {e}")))?;

        let (input, input_rx) = mpsc::channel::<Vec<u8>>();
        std::thread::Builder::new().name("pty-writer".into()).spawn(move || {
            while let Ok(bytes) = input_rx.recv() {
                if writer.write_all(&bytes).and_then(|_| writer.flush()).is_err() {
                    break;
                }
            }
        })?;

        let replies = input.clone();
        std::thread::Builder::new().name("pty-reader".into()).spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let answer = match terminal.lock() {
                    Ok(mut t) => t.process(&buf[..n]),
                    Err(_) => break,
                };
                if !answer.is_empty() {
                    let _ = replies.send(answer);
                }
                if !pending.swap(true, Ordering::AcqRel) {
                    notify(PtyEvent::Output);
                }
            }
            let code = match child.wait() {
                Ok(status) if status.signal().is_some() => 128 + signal_number(status.signal()),
                Ok(status) => status.exit_code() as i32,
                Err(_) => -1,
            };
            notify(PtyEvent::Exited(code));
        })?;

        Ok(Pty { master: pair.master, input, killer, pid })
    }

    /// Queues bytes for the program's input; never blocks.
    pub fn write(&self, bytes: Vec<u8>) {
        let _ = self.input.send(bytes);
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        let _ = self.master.resize(PtySize { rows: rows.max(1), cols: cols.max(1), pixel_width: 0, pixel_height: 0 });
    }

    /// Whether the program put its terminal in raw mode (ICANON and ECHO
    /// off), as a line editor does while it reads a line.
    pub fn raw_mode(&self) -> bool {
        use nix::sys::termios::LocalFlags;
        let Some(fd) = self.master.as_raw_fd() else { return false };
        // SAFETY: the master fd is owned by self.master and open while self lives.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        nix::sys::termios::tcgetattr(fd)
            .map(|t| !t.local_flags.intersects(LocalFlags::ICANON | LocalFlags::ECHO))
            .unwrap_or(false)
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The program's current directory, for new sessions "here".
    pub fn cwd(&self) -> Option<PathBuf> {
        std::fs::read_link(format!("/proc/{}/cwd", self.pid?)).ok()
    }

    /// Hangs the program up (SIGHUP), as closing a terminal does.
    pub fn hangup(&mut self) {
        let _ = self.killer.kill();
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        self.hangup();
    }
}

fn signal_number(name: Option<&str>) -> i32 {
    name.and_then(|n| n.parse::<nix::sys::signal::Signal>().ok()).map_or(0, |s| s as i32)
}

/// Refuses, up front, a program that cannot start, so a typo is an error
/// message rather than a session that dies at once.
fn check_runnable(argv: &[String], cwd: &Path, env: &[(String, String)]) -> Result<()> {
    let Some(program) = argv.first() else {
        return Err(Error::msg("no command given"));
    };
    if !cwd.is_dir() {
        return Err(Error::msg(format!("cannot run {program}: no such directory {}", cwd.display())));
    }
    let path = env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_str()).unwrap_or("/usr/bin:/bin");
    which::which_in(program, Some(path), cwd)
        .map(|_| ())
        .map_err(|_| Error::msg(format!("cannot run {program:?}: command not found or not executable")))
}

/// The `__exec` trampoline, run in the child: restore default signal
/// handling, then become the program.
pub fn exec_trampoline(argv: &[String]) -> ! {
    use nix::sys::signal::{signal, SigHandler, Signal};
    use std::os::unix::process::CommandExt;
    for sig in [Signal::SIGPIPE, Signal::SIGINT, Signal::SIGQUIT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGCHLD] {
        // SAFETY: resetting to the default disposition installs no handler.
        unsafe {
            let _ = signal(sig, SigHandler::SigDfl);
        }
    }
    let Some((program, args)) = argv.split_first() else {
        eprintln!("qmux: no command given");
        std::process::exit(127)
    };
    let err = std::process::Command::new(program).args(args).exec();
    eprintln!("qmux: cannot run {program}: {err}");
    std::process::exit(127)
}

/// The `TERM` children get: one whose terminfo matches what vt100 renders
/// (UTF-8 line drawing), falling back if the machine lacks it.
pub fn child_term() -> &'static str {
    let dirs = [
        std::env::var("HOME").map(|h| format!("{h}/.terminfo")).unwrap_or_default(),
        "/etc/terminfo".into(),
        "/lib/terminfo".into(),
        "/usr/share/terminfo".into(),
    ];
    for term in ["tmux-256color", "screen-256color"] {
        let first = &term[..1];
        let hex = format!("{:x}", term.as_bytes()[0]);
        if dirs
            .iter()
            .filter(|d| !d.is_empty())
            .any(|d| Path::new(d).join(first).join(term).exists() || Path::new(d).join(&hex).join(term).exists())
        {
            return term;
        }
    }
    "screen"
}
