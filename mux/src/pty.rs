//! Running a program in a pseudo-terminal, and keeping it drained.
//!
//! A session costs no thread. Its PTY master is non-blocking and
//! registered with the server's tokio reactor (`AsyncFd`): a reader task
//! reads what the program writes as soon as it is readable, feeds it to the
//! session's [`Terminal`] and writes query answers back; a writer task
//! holds input the program has not taken yet, so a program that stops
//! reading can never block the server. Both run on the server's thread, as
//! tmux's event loop does: an echoed keystroke goes from the program to the
//! client's frame without waking another thread.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use portable_pty::{CommandBuilder, MasterPty, PtySize};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::error::{Error, Result};
use crate::terminal::Terminal;

mod ending;
mod reader;
mod writer;
use ending::escalate;
pub use ending::{end_processes, finish_terminations, KILL_GRACE};
pub(crate) use writer::WriteEnd;
use writer::{Input, Watched};

/// What a PTY tells the server.
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

/// Hears of new output and of the program's end.
pub type Notify = Box<dyn Fn(PtyEvent) + Send + Sync + 'static>;

/// A running program in its PTY. Dropping it hangs the program up.
///
/// Must be made inside a tokio runtime, whose thread then does its I/O.
pub struct Pty {
    /// The master: ours from the start, or handed over by the server
    /// before this one (a live upgrade).
    master: OwnedFd,
    input: Arc<Input>,
    pid: Option<u32>,
    /// [`Pty::terminate`] has begun.
    terminating: bool,
    /// What the reader task works with, kept here so a paused reader can
    /// start again.
    reading: Arc<Reading>,
    /// The reader task; None while paused.
    reader: Option<tokio::task::JoinHandle<()>>,
    writer: tokio::task::JoinHandle<()>,
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

/// Everything a reader task works with. A paused reader's task is gone;
/// this stays, for the next one.
struct Reading {
    /// The master, non-blocking: registered with the reactor by the reader
    /// task while it waits for output, read directly on the ticks.
    master: File,
    /// A client shows the session: its output is read as soon as it comes.
    /// Unseen, a session that keeps writing is read on the ticks of
    /// [`BACKGROUND_TICK`] instead.
    shown: AtomicBool,
    /// Wakes a reader waiting for a tick when the session comes into view.
    came_into_view: tokio::sync::Notify,
    terminal: Arc<Mutex<Terminal>>,
    pending: OutputPending,
    notify: Notify,
    replies: Arc<Input>,
    /// Taken by the reader that sees the output end.
    ending: Mutex<Option<Ending>>,
    /// Set once the program has been waited for: its pid may belong to
    /// another process from then on, so it gets no more signals.
    reaped: Arc<AtomicBool>,
    /// Floods handed to the blocking pool and not yet parsed to their end.
    parsing: Arc<Parsing>,
}

/// Counts the floods being parsed off the event loop, so that a pause can
/// wait for the last one: a handoff that snapshots the terminal while a
/// flood is half parsed would lose the other half.
#[derive(Default)]
struct Parsing {
    count: Mutex<usize>,
    done: std::sync::Condvar,
}

impl Parsing {
    /// Counts one flood in; the token counts it out when dropped, whether
    /// its closure ran to the end or was never run at all.
    fn start(self: &Arc<Self>) -> ParsingToken {
        if let Ok(mut count) = self.count.lock() {
            *count += 1;
        }
        ParsingToken(self.clone())
    }

    /// Waits until no flood is being parsed.
    fn wait_idle(&self) {
        let Ok(mut count) = self.count.lock() else { return };
        while *count > 0 {
            match self.done.wait(count) {
                Ok(c) => count = c,
                Err(_) => return,
            }
        }
    }
}

struct ParsingToken(Arc<Parsing>);

impl Drop for ParsingToken {
    fn drop(&mut self) {
        if let Ok(mut count) = self.0.count.lock() {
            *count = count.saturating_sub(1);
        }
        self.0.done.notify_all();
    }
}

/// The most a reader gathers before handing output to the model.
const READ_BATCH: usize = 256 * 1024;

/// How much of a flood is parsed under one hold of the terminal's lock.
const LOCK_PIECE: usize = 16 * 1024;

/// Set by the reader when it has news; cleared by the server when it
/// looks. Keeps the event channel at one message per batch of output.
pub type OutputPending = Arc<AtomicBool>;

impl Pty {
    pub fn spawn(
        spec: SpawnSpec<'_>,
        terminal: Arc<Mutex<Terminal>>,
        pending: OutputPending,
        notify: Notify,
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
        Pty::start(master, pid, Ending::Child(child), terminal, pending, notify)
    }

    /// Takes over a program another server ran (a live upgrade): its PTY
    /// master and pid. What the program wrote while nobody read waits in
    /// the kernel and comes first.
    pub fn adopt(
        master: OwnedFd,
        pid: Option<u32>,
        terminal: Arc<Mutex<Terminal>>,
        pending: OutputPending,
        notify: Notify,
    ) -> Result<Pty> {
        Pty::start(master, pid, Ending::Adopted, terminal, pending, notify)
    }

    fn start(
        master: OwnedFd,
        pid: Option<u32>,
        ending: Ending,
        terminal: Arc<Mutex<Terminal>>,
        pending: OutputPending,
        notify: Notify,
    ) -> Result<Pty> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::msg("pty: no tokio runtime to read the program's output on"));
        }
        let writing = WriteEnd::new(nonblocking_handle(&master)?);
        let input = Arc::new(Input { master: writing, queue: Mutex::default(), queued: tokio::sync::Notify::new() });
        let writer = tokio::spawn(input.clone().run());
        let reading = Arc::new(Reading {
            master: nonblocking_handle(&master)?,
            shown: AtomicBool::new(false),
            came_into_view: tokio::sync::Notify::new(),
            terminal,
            pending,
            notify,
            replies: input.clone(),
            ending: Mutex::new(Some(ending)),
            reaped: Arc::new(AtomicBool::new(false)),
            parsing: Arc::default(),
        });
        let mut pty = Pty { master, input, pid, terminating: false, reading, reader: None, writer };
        pty.resume();
        Ok(pty)
    }

    /// Stops reading the program's output, for a live upgrade. What was
    /// read is in the terminal once this returns (a flood being parsed on
    /// the blocking pool is waited for); the rest waits in the kernel for
    /// whoever reads next.
    pub fn pause(&mut self) {
        if let Some(task) = self.reader.take() {
            task.abort();
        }
        self.reading.parsing.wait_idle();
    }

    /// Reads again after [`Pty::pause`] (the upgrade did not happen).
    pub fn resume(&mut self) {
        if self.reader.is_none() {
            self.reader = Some(tokio::spawn(self.reading.clone().run()));
        }
    }

    /// Whether a client shows the session (see [`BACKGROUND_TICK`]).
    pub fn set_shown(&self, shown: bool) {
        if !self.reading.shown.swap(shown, Ordering::AcqRel) && shown {
            self.reading.came_into_view.notify_one();
        }
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
        self.input.pending()
    }

    /// Writes the input still queued, waiting for the program to take it
    /// until `deadline`: for a live upgrade, whose writer task will not run
    /// again.
    pub fn flush_input(&self, deadline: Instant) {
        while self.input.pending() {
            match self.input.write_queued() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return;
                    }
                    let timeout = nix::poll::PollTimeout::try_from(left).unwrap_or(nix::poll::PollTimeout::MAX);
                    let mut fds = [nix::poll::PollFd::new(self.master.as_fd(), nix::poll::PollFlags::POLLOUT)];
                    let _ = nix::poll::poll(&mut fds, timeout);
                }
                _ => {}
            }
        }
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
    /// a stopped process gets it) to every process of its terminal session
    /// and their descendants, daemons that left it included, except
    /// `spared` (and theirs: a daemon other sessions use); whatever still
    /// runs after [`KILL_GRACE`] gets SIGTERM, and after another, SIGKILL.
    /// A node wrapper that survives SIGHUP, and the child it never signals,
    /// both end. The escalation runs on its own thread;
    /// [`finish_terminations`] waits for every one still going.
    pub fn terminate(&mut self, spared: Vec<i32>) {
        let Some(leader) = self.pid.map(|p| p as i32) else { return };
        if self.terminating {
            return;
        }
        self.terminating = true;
        let reaped = self.reading.reaped.clone();
        escalate(move || {
            let mut m = crate::foreground::session_members(leader, &spared);
            if reaped.load(Ordering::Acquire) {
                m.retain(|p| *p != leader);
            }
            m
        });
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        self.terminate(Vec::new());
        // Input for a program being hung up is moot. The reader goes on to
        // the end of its output, and reaps it.
        self.writer.abort();
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
pub(crate) fn nonblocking_handle(master: &OwnedFd) -> Result<File> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let owned = master.try_clone()?;
    let flags = OFlag::from_bits_truncate(fcntl(&owned, FcntlArg::F_GETFL).map_err(io::Error::from)?);
    fcntl(&owned, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).map_err(io::Error::from)?;
    Ok(File::from(owned))
}

/// Registers a descriptor with the runtime's reactor, owned, for one
/// direction (a client's terminal, for its keys).
pub(crate) fn register(file: File, interest: Interest) -> io::Result<AsyncFd<File>> {
    // SAFETY: the File owns its descriptor, open and unchanged until the
    // AsyncFd (which owns the File) is dropped.
    unsafe { AsyncFd::register_with_interest(file, interest) }.map_err(io::Error::from)
}

/// Floods whose buffer was freed, in every session: the heap has free
/// pages to hand back (see [`floods_ended`]).
static FLOODS_ENDED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many floods have ended so far, for the server to know when a trim
/// of the heap is worth its walk.
pub fn floods_ended() -> u64 {
    FLOODS_ENDED.load(Ordering::Relaxed)
}

/// How often a program nobody sees is read while it keeps writing: the
/// server wakes once a tick for all of them (the same tick for every
/// session), rather than once for each write of each, and the spinners and
/// streamed words of background agents are read a few frames at a time.
/// Their state, bells and answers come at most this much later.
pub const BACKGROUND_TICK: std::time::Duration = std::time::Duration::from_millis(50);

/// Ticks in a row with nothing to read after which an unseen program's
/// reader goes back to waiting on the reactor, which costs nothing while it
/// stays quiet.
const QUIET_TICKS: u32 = 10;

/// The next tick of [`BACKGROUND_TICK`], counted from one moment for the
/// whole process, so that every background reader wakes on the same one.
fn next_background_tick() -> tokio::time::Instant {
    static EPOCH: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);
    let tick = BACKGROUND_TICK.as_nanos().max(1);
    let ticks = EPOCH.elapsed().as_nanos() / tick + 1;
    let next = u64::try_from(ticks * tick).map_or(BACKGROUND_TICK, std::time::Duration::from_nanos);
    tokio::time::Instant::from_std(*EPOCH + next)
}

/// The most one read of a PTY master gives: its line discipline's buffer.
const PTY_READ_MAX: usize = 4095;

/// Reads what is readable now into `buf`, without waiting; returns how much.
/// Clears `open` at the end of the program's output, and sets `drained`
/// when the program has nothing more for now.
///
/// A read that gives less than it could means the line discipline is empty:
/// that is drained, without another read to hear EAGAIN. That read would
/// cost more than the first: with nothing buffered, the kernel waits for
/// its worker to push what the program wrote last before it answers, and
/// on a busy machine that wait is where the server's event loop stalls.
/// Whatever the program writes next wakes the poller again.
fn read_available(reader: &mut &File, buf: &mut [u8], open: &mut bool, drained: &mut bool) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => *open = false,
            Ok(k) => {
                let short = k < (buf.len() - n).min(PTY_READ_MAX);
                n += k;
                if short {
                    *drained = true;
                    break;
                }
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => *drained = true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => *open = false,
        }
        break;
    }
    n
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
mod tests;
