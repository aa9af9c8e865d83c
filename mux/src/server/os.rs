//! The seam between the server's logic and the operating system: starting
//! programs in PTYs, and the clock. The server runs on [`Real`]; its unit
//! tests run on a fake, so focus, sizes, modes, queued input, waiters and
//! attention are tested event by event without a process.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::pty::{OutputPending, Pty, SpawnSpec};
use crate::terminal::Terminal;

/// A running program as the server sees it. Dropping it hangs the program
/// up.
/// What cannot be looked into (a program that ended, a test's fake) says
/// so by the defaults.
pub trait Child {
    /// Sends bytes to the program's input; never blocks.
    fn write(&self, bytes: Vec<u8>);
    fn resize(&self, cols: u16, rows: u16);
    /// Input written earlier is still waiting for the program to take it.
    fn input_pending(&self) -> bool {
        false
    }
    /// Writes the input still waiting, until the program takes it or the
    /// deadline passes.
    fn flush_input(&self, _deadline: Instant) {}
    /// The program reads its terminal raw (ICANON and ECHO off).
    fn raw_mode(&self) -> bool {
        false
    }
    /// Whether a client shows the program's session: its output is read
    /// at once, else on the background ticks.
    fn set_shown(&self, _shown: bool) {}
    /// The PTY's foreground process group.
    fn foreground_group(&self) -> Option<i32> {
        None
    }
    fn pid(&self) -> Option<u32> {
        None
    }
    /// The program's current directory.
    fn cwd(&self) -> Option<PathBuf> {
        None
    }
    /// For a live upgrade: stops reading the program's output (what was
    /// read is in the terminal; the rest waits in the kernel) and gives the
    /// PTY master to pass on. None: nothing runs to hand over.
    fn pause(&mut self) -> Option<BorrowedFd<'_>> {
        None
    }
    /// Reads again: the upgrade did not happen.
    fn resume(&mut self) {}
    /// The processes it started that left its terminal session (setsid):
    /// daemons, which other sessions may use.
    fn detached(&self) -> Vec<crate::foreground::Process> {
        Vec::new()
    }
    /// Hangs the program up now, and everything it started but `spared`
    /// (and theirs). Dropping it does the same, sparing nothing.
    fn end(&mut self, _spared: Vec<i32>) {}
}

pub use crate::pty::Notify;

/// Which program a session runs: one to start, or one another server ran
/// (a live upgrade), by its PTY master and pid.
pub enum Program<'a> {
    Spawn(SpawnSpec<'a>),
    Adopt { master: OwnedFd, pid: Option<u32> },
}

pub trait Os {
    /// Runs a program. Its output goes into `terminal`; `notify` hears of
    /// new output and of its end.
    fn start(
        &self,
        program: Program<'_>,
        terminal: Arc<Mutex<Terminal>>,
        pending: OutputPending,
        notify: Notify,
    ) -> Result<Box<dyn Child>, String>;

    fn now(&self) -> Instant;
}

/// Programs in real PTYs, and the real clock.
pub struct Real;

impl Os for Real {
    fn start(
        &self,
        program: Program<'_>,
        terminal: Arc<Mutex<Terminal>>,
        pending: OutputPending,
        notify: Notify,
    ) -> Result<Box<dyn Child>, String> {
        let pty = match program {
            Program::Spawn(spec) => Pty::spawn(spec, terminal, pending, notify),
            Program::Adopt { master, pid } => Pty::adopt(master, pid, terminal, pending, notify),
        };
        Ok(Box::new(pty.map_err(|e| e.to_string())?))
    }

    fn now(&self) -> Instant {
        Instant::now()
    }
}

impl Child for Pty {
    fn write(&self, bytes: Vec<u8>) {
        Pty::write(self, bytes)
    }
    fn set_shown(&self, shown: bool) {
        Pty::set_shown(self, shown)
    }
    fn input_pending(&self) -> bool {
        Pty::input_pending(self)
    }
    fn flush_input(&self, deadline: Instant) {
        Pty::flush_input(self, deadline)
    }
    fn resize(&self, cols: u16, rows: u16) {
        Pty::resize(self, cols, rows)
    }
    fn raw_mode(&self) -> bool {
        Pty::raw_mode(self)
    }
    fn foreground_group(&self) -> Option<i32> {
        Pty::foreground_group(self)
    }
    fn pid(&self) -> Option<u32> {
        Pty::pid(self)
    }
    fn cwd(&self) -> Option<PathBuf> {
        Pty::cwd(self)
    }
    fn pause(&mut self) -> Option<BorrowedFd<'_>> {
        Pty::pause(self);
        Some(self.master())
    }
    fn resume(&mut self) {
        Pty::resume(self)
    }
    fn detached(&self) -> Vec<crate::foreground::Process> {
        Pty::pid(self).map_or_else(Vec::new, |p| crate::foreground::detached(p as i32))
    }
    fn end(&mut self, spared: Vec<i32>) {
        Pty::terminate(self, spared)
    }
}

/// The program of a session restored as it was: already exited. Nothing
/// runs, so nothing reads or answers.
pub struct Ended;

impl Child for Ended {
    fn write(&self, _: Vec<u8>) {}
    fn resize(&self, _: u16, _: u16) {}
}
