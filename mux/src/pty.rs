//! Running a program in a pseudo-terminal, and the threads that keep it
//! drained.
//!
//! Each session has a reader thread that reads the PTY as fast as the
//! program writes, feeds the bytes to the session's [`Terminal`], and writes
//! query answers back; and a writer thread, so a program that stops reading
//! its input can never block the server. portable-pty has no async API,
//! hence threads.
//!
//! The master is non-blocking and both threads wait in `poll`: a writer
//! stuck on a program that reads nothing must still notice that its session
//! is gone and end, or it would hold its thread, its descriptor and the
//! queued input for the life of the server.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use nix::sys::signal::Signal;
use portable_pty::{CommandBuilder, MasterPty, PtySize};

use crate::error::{Error, Result};
use crate::terminal::Terminal;

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
    /// The master: ours from the start, or handed over by the server
    /// before this one (a live upgrade).
    master: OwnedFd,
    input: Arc<Input>,
    pid: Option<u32>,
    /// [`Pty::terminate`] has begun.
    terminating: bool,
    /// Set once the program has been waited for: its pid may belong to
    /// another process from then on, so it gets no more signals.
    reaped: Arc<AtomicBool>,
    /// Set when this `Pty` is dropped: the writer stops waiting to write.
    dropped: Arc<AtomicBool>,
    /// The reader thread, which gives its state back when paused.
    reader: Option<std::thread::JoinHandle<Option<Reader>>>,
    /// A paused reader, not running until [`Pty::resume`].
    paused: Option<Reader>,
    /// Asks the reader to pause: the flag, and a byte that wakes its poll.
    pause: Arc<AtomicBool>,
    wake: OwnedFd,
}

/// How a reader learns that its program ended, and with what code.
enum Ending {
    /// Ours: waited for, with its exit status.
    Child(Box<dyn portable_pty::Child + Send + Sync>),
    /// Handed over: another process's child, whose status nobody can
    /// give us. Its end shows as the end of its output.
    Adopted,
}

/// The exit code of a program that ended after it was handed over by a
/// live upgrade: its status went to its first server's parent.
pub const EXIT_UNKNOWN: i32 = i32::MIN;

/// An exit code as words: the number, or "unknown" (see [`EXIT_UNKNOWN`]).
pub fn exit_text(code: i32) -> String {
    match code {
        EXIT_UNKNOWN => "unknown".into(),
        code => code.to_string(),
    }
}

/// Everything a reader thread works with; returned whole when it pauses.
struct Reader {
    file: File,
    wake: OwnedFd,
    terminal: Arc<Mutex<Terminal>>,
    pending: OutputPending,
    notify: Box<dyn Fn(PtyEvent) + Send>,
    replies: Arc<Input>,
    ending: Ending,
    reaped: Arc<AtomicBool>,
    pause: Arc<AtomicBool>,
}

/// The most a reader gathers before handing output to the model.
const READ_BATCH: usize = 256 * 1024;

/// How often a writer waiting on a program that reads nothing checks
/// whether its session is gone.
const WRITER_CHECK_MS: u16 = 100;

/// The way into a program's input. A keystroke is written at once when
/// nothing is queued ahead of it (one system call, no thread hop); what
/// the program does not take goes to the writer thread, which waits for it.
/// Query answers from the reader thread take the same way, so the two never
/// overtake each other.
struct Input {
    direct: Mutex<File>,
    /// Messages handed to the writer thread and not yet written. The writer
    /// shares only this: were it to hold the `Input`, it would hold the
    /// queue's sender too, and wait on the queue forever after its session
    /// ended.
    queued: Arc<AtomicUsize>,
    queue: mpsc::Sender<Vec<u8>>,
}

impl Input {
    fn write(&self, mut bytes: Vec<u8>) {
        let Ok(mut direct) = self.direct.lock() else { return };
        if self.queued.load(Ordering::Acquire) == 0 {
            match direct.write(&bytes) {
                Ok(n) if n == bytes.len() => return,
                Ok(n) => {
                    bytes.drain(..n);
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
                Err(_) => return, // the program is gone
            }
        }
        self.queued.fetch_add(1, Ordering::AcqRel);
        if self.queue.send(bytes).is_err() {
            self.queued.fetch_sub(1, Ordering::AcqRel);
        }
    }
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
        // process (SIGPIPE) before it execs the real program. /proc/self/exe
        // still runs this binary after an upgrade replaced its file.
        let exe = match Path::new("/proc/self/exe") {
            p if p.exists() => p.to_path_buf(),
            _ => std::env::current_exe().map_err(|e| Error::msg(format!("cannot find the qmux binary: {e}")))?,
        };
        let mut cmd = CommandBuilder::new(exe);
        cmd.arg("__exec");
        cmd.arg("--");
        cmd.args(spec.argv);
        cmd.cwd(spec.cwd);
        cmd.env_clear();
        for (k, v) in spec.env {
            cmd.env(k, v);
        }
        let child =
            pair.slave.spawn_command(cmd).map_err(|e| Error::msg(format!("cannot run {}: {e}", spec.argv[0])))?;
        // The reader sees EOF only once every slave handle is closed.
        drop(pair.slave);
        let pid = child.process_id();
        let master = dup_master(&*pair.master)?;
        Pty::start(master, pid, Ending::Child(child), terminal, pending, Box::new(notify))
    }

    /// Takes over a program another server ran (a live upgrade): its PTY
    /// master and pid. What the program wrote while nobody read waits in
    /// the kernel and comes first.
    pub fn adopt(
        master: OwnedFd,
        pid: Option<u32>,
        terminal: Arc<Mutex<Terminal>>,
        pending: OutputPending,
        notify: impl Fn(PtyEvent) + Send + 'static,
    ) -> Result<Pty> {
        Pty::start(master, pid, Ending::Adopted, terminal, pending, Box::new(notify))
    }

    fn start(
        master: OwnedFd,
        pid: Option<u32>,
        ending: Ending,
        terminal: Arc<Mutex<Terminal>>,
        pending: OutputPending,
        notify: Box<dyn Fn(PtyEvent) + Send>,
    ) -> Result<Pty> {
        let (mut writer, reader) = (nonblocking_handle(&master)?, nonblocking_handle(&master)?);
        let (queue, input_rx) = mpsc::channel::<Vec<u8>>();
        let input = Arc::new(Input {
            direct: Mutex::new(nonblocking_handle(&master)?),
            queued: Arc::new(AtomicUsize::new(0)),
            queue,
        });
        let dropped = Arc::new(AtomicBool::new(false));
        let dropped_for_writer = dropped.clone();
        let queued = input.queued.clone();
        std::thread::Builder::new().name("pty-writer".into()).spawn(move || {
            while let Ok(bytes) = input_rx.recv() {
                let written = write_unless_dropped(&mut writer, &bytes, &dropped_for_writer);
                queued.fetch_sub(1, Ordering::AcqRel);
                if written.is_err() {
                    break;
                }
            }
        })?;
        let (wake_read, wake) = nix::unistd::pipe().map_err(io::Error::from)?;
        let reaped = Arc::new(AtomicBool::new(false));
        let pause = Arc::new(AtomicBool::new(false));
        let reader = Reader {
            file: reader,
            wake: wake_read,
            terminal,
            pending,
            notify,
            replies: input.clone(),
            ending,
            reaped: reaped.clone(),
            pause: pause.clone(),
        };
        let mut pty = Pty {
            master,
            input,
            pid,
            terminating: false,
            reaped,
            dropped,
            reader: None,
            paused: Some(reader),
            pause,
            wake,
        };
        pty.resume();
        Ok(pty)
    }

    /// Stops reading the program's output, for a live upgrade: the reader
    /// finishes the batch it has (into the terminal) and stops; the rest
    /// waits in the kernel for whoever reads next.
    pub fn pause(&mut self) {
        let Some(thread) = self.reader.take() else { return };
        self.pause.store(true, Ordering::Release);
        let _ = nix::unistd::write(&self.wake, b"p");
        self.paused = thread.join().ok().flatten();
    }

    /// Reads again after [`Pty::pause`] (the upgrade did not happen).
    pub fn resume(&mut self) {
        let Some(reader) = self.paused.take() else { return };
        self.pause.store(false, Ordering::Release);
        // Drain the wake-up byte of an earlier pause.
        let mut byte = [0u8; 8];
        let _ = nix::fcntl::fcntl(&reader.wake, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK));
        while matches!(nix::unistd::read(&reader.wake, &mut byte), Ok(1..)) {}
        let spawned = std::thread::Builder::new().name("pty-reader".into()).spawn(move || reader.run());
        self.reader = spawned.ok();
    }

    /// The PTY master, to hand over.
    pub fn master(&self) -> BorrowedFd<'_> {
        self.master.as_fd()
    }

    /// Sends bytes to the program's input; never blocks.
    pub fn write(&self, bytes: Vec<u8>) {
        self.input.write(bytes);
    }

    /// Whether input written earlier is still waiting for the program to
    /// take it.
    pub fn input_pending(&self) -> bool {
        self.input.queued.load(Ordering::Acquire) > 0
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        let size = nix::libc::winsize { ws_row: rows.max(1), ws_col: cols.max(1), ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: TIOCSWINSZ reads one winsize from the pointer, which lives
        // for the call; the descriptor is our open master.
        unsafe {
            nix::libc::ioctl(self.master.as_raw_fd(), nix::libc::TIOCSWINSZ, &size);
        }
    }

    /// Whether the program put its terminal in raw mode (ICANON and ECHO
    /// off), as a line editor does while it reads a line.
    pub fn raw_mode(&self) -> bool {
        use nix::sys::termios::LocalFlags;
        nix::sys::termios::tcgetattr(&self.master)
            .map(|t| !t.local_flags.intersects(LocalFlags::ICANON | LocalFlags::ECHO))
            .unwrap_or(false)
    }

    /// The PTY's foreground process group: the program the user is
    /// talking to (the agent, or the shell that started it).
    pub fn foreground_group(&self) -> Option<i32> {
        nix::unistd::tcgetpgrp(&self.master).ok().map(|g| g.as_raw()).filter(|g| *g > 0)
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The program's current directory, for new sessions "here".
    pub fn cwd(&self) -> Option<PathBuf> {
        std::fs::read_link(format!("/proc/{}/cwd", self.pid?)).ok()
    }

    /// Ends the program and everything it started, as closing a terminal
    /// would, but without leaving anything behind: SIGHUP (and SIGCONT, so
    /// a stopped process gets it) to every process of its terminal session;
    /// whatever still runs after [`KILL_GRACE`] gets SIGTERM, and after
    /// another, SIGKILL. A node wrapper that survives SIGHUP, and the child
    /// it never signals, both end. The escalation runs on its own thread;
    /// [`finish_terminations`] waits for every one still going.
    pub fn terminate(&mut self) {
        let Some(leader) = self.pid.map(|p| p as i32) else { return };
        if self.terminating {
            return;
        }
        self.terminating = true;
        let reaped = self.reaped.clone();
        let members = move || {
            let mut m = crate::foreground::session_members(leader);
            if reaped.load(Ordering::Acquire) {
                m.retain(|p| *p != leader);
            }
            m
        };
        let first = members();
        if first.is_empty() {
            return;
        }
        signal_all(&first, Signal::SIGHUP);
        signal_all(&first, Signal::SIGCONT);
        let handle = std::thread::Builder::new().name("pty-terminate".into()).spawn(move || {
            for signal in [Signal::SIGTERM, Signal::SIGKILL] {
                let deadline = std::time::Instant::now() + KILL_GRACE;
                loop {
                    let left = members();
                    if left.is_empty() {
                        return;
                    }
                    if std::time::Instant::now() >= deadline {
                        signal_all(&left, signal);
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            }
        });
        if let (Ok(handle), Ok(mut pending)) = (handle, TERMINATIONS.lock()) {
            pending.retain(|h| !h.is_finished());
            pending.push(handle);
        }
    }
}

impl Reader {
    /// Reads until the program's output ends, then reports its exit; or
    /// until paused, then gives itself back.
    fn run(mut self) -> Option<Reader> {
        // A small buffer for the usual trickle; a big one only while a
        // flood lasts, freed after, so an idle session holds none.
        let mut small = [0u8; 4096];
        let mut flood: Vec<u8> = Vec::new();
        let mut open = true;
        while open {
            if self.pause.load(Ordering::Acquire) {
                return Some(self);
            }
            // Everything readable now, in one batch: a PTY read gives at
            // most 4095 bytes, and the model is fastest on whole floods.
            let (buf, n) = match read_available(&mut self.file, &mut small, &mut open) {
                0 => {
                    if open {
                        let mut fds = [
                            nix::poll::PollFd::new(self.file.as_fd(), nix::poll::PollFlags::POLLIN),
                            nix::poll::PollFd::new(self.wake.as_fd(), nix::poll::PollFlags::POLLIN),
                        ];
                        let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE);
                    }
                    continue;
                }
                n if n < small.len() - 1 || !open => (&small[..], n),
                n => {
                    flood.resize(READ_BATCH, 0);
                    flood[..n].copy_from_slice(&small[..n]);
                    let more = read_available(&mut self.file, &mut flood[n..], &mut open);
                    (&flood[..], n + more)
                }
            };
            // A full batch means the program is still pouring.
            let more_coming = open && n == READ_BATCH;
            let answer = match self.terminal.lock() {
                Ok(mut t) => t.process_batch(&buf[..n], more_coming),
                Err(_) => break,
            };
            if !answer.is_empty() {
                self.replies.write(answer);
            }
            if !self.pending.swap(true, Ordering::AcqRel) {
                (self.notify)(PtyEvent::Output);
            }
            if !more_coming && !flood.is_empty() {
                flood = Vec::new();
            }
        }
        let code = match &mut self.ending {
            Ending::Child(child) => match child.wait() {
                Ok(status) if status.signal().is_some() => 128 + signal_number(status.signal()),
                Ok(status) => status.exit_code() as i32,
                Err(_) => -1,
            },
            Ending::Adopted => EXIT_UNKNOWN,
        };
        self.reaped.store(true, Ordering::Release);
        (self.notify)(PtyEvent::Exited(code));
        None
    }
}

/// How long a program gets after SIGHUP before SIGTERM, and after SIGTERM
/// before SIGKILL.
pub const KILL_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Escalations still running (see [`Pty::terminate`]).
static TERMINATIONS: Mutex<Vec<std::thread::JoinHandle<()>>> = Mutex::new(Vec::new());

/// Waits until every program being terminated has ended, for a server
/// about to exit: its threads would die with it.
pub fn finish_terminations() {
    let pending = TERMINATIONS.lock().map(|mut p| std::mem::take(&mut *p)).unwrap_or_default();
    for handle in pending {
        let _ = handle.join();
    }
}

fn signal_all(pids: &[i32], signal: Signal) {
    for pid in pids {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), signal);
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        self.terminate();
        self.dropped.store(true, Ordering::Release);
    }
}

/// A descriptor of our own for portable-pty's master, which closes its own
/// when dropped.
fn dup_master(master: &dyn MasterPty) -> Result<OwnedFd> {
    let fd = master.as_raw_fd().ok_or_else(|| Error::msg("pty: the master has no descriptor"))?;
    // SAFETY: the master's fd is open while `master` lives; we only dup it.
    Ok(unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()?)
}

/// A descriptor of our own for the master, in non-blocking mode (which the
/// master shares: all its descriptors are one open file).
fn nonblocking_handle(master: &OwnedFd) -> Result<File> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let owned = master.try_clone()?;
    let flags = OFlag::from_bits_truncate(fcntl(&owned, FcntlArg::F_GETFL).map_err(io::Error::from)?);
    fcntl(&owned, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).map_err(io::Error::from)?;
    Ok(File::from(owned))
}

/// Reads what is readable now into `buf`, without waiting; returns how much.
/// Clears `open` at the end of the program's output.
fn read_available(reader: &mut File, buf: &mut [u8], open: &mut bool) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => *open = false,
            Ok(k) => {
                n += k;
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => *open = false,
        }
        break;
    }
    n
}

/// Waits until `file` is ready for `events` (or the timeout passes).
fn wait_for(file: &File, events: nix::poll::PollFlags, timeout: nix::poll::PollTimeout) {
    let mut fds = [nix::poll::PollFd::new(file.as_fd(), events)];
    let _ = nix::poll::poll(&mut fds, timeout);
}

/// Writes all of `bytes`, waiting while the program does not read, until
/// done or until the `Pty` is dropped.
fn write_unless_dropped(file: &mut File, mut bytes: &[u8], dropped: &AtomicBool) -> io::Result<()> {
    while !bytes.is_empty() {
        match file.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if dropped.load(Ordering::Acquire) {
                    return Err(e);
                }
                wait_for(file, nix::poll::PollFlags::POLLOUT, nix::poll::PollTimeout::from(WRITER_CHECK_MS));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// portable-pty names the signal that ended a program by its strsignal(3)
/// description ("Segmentation fault"), or "Signal N" when it has none.
fn signal_number(name: Option<&str>) -> i32 {
    use nix::sys::signal::Signal;
    let Some(name) = name else { return 0 };
    if let Some(n) = name.strip_prefix("Signal ").and_then(|n| n.trim().parse().ok()) {
        return n;
    }
    let description = |sig: Signal| {
        // SAFETY: strsignal returns a valid C string (for a known signal, a
        // static one); it is copied out at once.
        unsafe { std::ffi::CStr::from_ptr(nix::libc::strsignal(sig as i32)) }.to_string_lossy().into_owned()
    };
    Signal::iterator()
        .find(|&sig| name.parse::<Signal>() == Ok(sig) || description(sig) == name)
        .map_or(0, |sig| sig as i32)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_is_read_back_from_its_description() {
        assert_eq!(signal_number(Some("Segmentation fault")), 11);
        assert_eq!(signal_number(Some("Hangup")), 1);
        assert_eq!(signal_number(Some("Killed")), 9);
        assert_eq!(signal_number(Some("SIGTERM")), 15);
        assert_eq!(signal_number(Some("Signal 40")), 40);
        assert_eq!(signal_number(None), 0);
    }
}
