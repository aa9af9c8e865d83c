//! [`Term`]: a program in a real PTY, with a `vt100::Parser` as the screen
//! the user would see.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::BorrowedFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::termios::{tcgetattr, LocalFlags, Termios};
use nix::unistd::Pid;
use portable_pty::{native_pty_system, Child, CommandBuilder, ExitStatus, MasterPty, PtySize, SlavePty};

use crate::status::{self, StatusEntry};
use crate::{escape_bytes, poll_until, DEFAULT_TIMEOUT, PREFIX};
use qmux::terminal::{Answers, Identity};

/// A terminal emulator of a given size with a program running in it.
///
/// A reader thread feeds everything the program writes into a
/// `vt100::Parser`, and answers the queries a real terminal answers (cursor
/// position `CSI 6n`, status `CSI 5n`, primary and secondary device
/// attributes `CSI c` / `CSI > c`), so the program behaves as it would for a
/// user.
///
/// The `Term` holds the PTY's slave end open until the program exits, so a
/// program that ends never races the reader for its last output, and the
/// master stays open for the `Term`'s whole life, so [`Term::termios`] still
/// shows the mode the program left the terminal in after it exits.
pub struct Term {
    label: String,
    master: Box<dyn MasterPty + Send>,
    slave: Option<Box<dyn SlavePty + Send>>,
    child: Box<dyn Child + Send + Sync>,
    exit: Option<ExitStatus>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    shared: Arc<Shared>,
}

struct Shared {
    parser: Mutex<vt100::Parser<Answers>>,
    /// Off makes this a terminal that never answers (see
    /// [`Term::answer_queries`]).
    answer_queries: AtomicBool,
    raw: Mutex<Vec<u8>>,
    eof: AtomicBool,
    /// While set, the reader stops reading (see [`Term::pause_reading`]).
    paused: AtomicBool,
}

/// The user's terminal says it is a VT220-class terminal, and tells its
/// colours (black on white), as xterm does.
const VT220: Identity =
    Identity { primary: b"\x1b[?62;22c", secondary: b"\x1b[>1;10;0c", version: None, colours: true };

impl Term {
    /// Starts `program ARGS` in a new PTY of `cols`×`rows`, with exactly the
    /// environment `vars`, in `cwd`.
    pub fn spawn(
        program: &Path,
        args: &[String],
        vars: &BTreeMap<String, String>,
        cwd: &Path,
        cols: u16,
        rows: u16,
    ) -> Term {
        let label = format!("{} {}", program.display(), args.join(" "));
        let pair = native_pty_system()
            .openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
            .unwrap_or_else(|e| panic!("cannot open a PTY: {e}"));
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env_clear();
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.cwd(cwd);
        let child = pair.slave.spawn_command(cmd).unwrap_or_else(|e| panic!("cannot start {label}: {e}"));
        let mut reader = pair.master.try_clone_reader().expect("cannot read the PTY");
        let writer = Arc::new(Mutex::new(pair.master.take_writer().expect("cannot write the PTY")));
        let rows_nz = std::num::NonZeroU16::new(rows).expect("a terminal needs rows");
        let cols_nz = std::num::NonZeroU16::new(cols).expect("a terminal needs columns");
        let shared = Arc::new(Shared {
            parser: Mutex::new(vt100::Parser::new_with_callbacks(rows_nz, cols_nz, 0, Answers::new(VT220))),
            answer_queries: AtomicBool::new(true),
            raw: Mutex::new(Vec::new()),
            eof: AtomicBool::new(false),
            paused: AtomicBool::new(false),
        });
        let (thread_shared, thread_writer) = (Arc::clone(&shared), Arc::clone(&writer));
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                // Paused, unless the Term is gone.
                while thread_shared.paused.load(Ordering::SeqCst) && Arc::strong_count(&thread_shared) > 1 {
                    std::thread::sleep(Duration::from_millis(1));
                }
                let n = match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                thread_shared.raw.lock().unwrap().extend_from_slice(&buf[..n]);
                let answers = {
                    let mut parser = thread_shared.parser.lock().unwrap();
                    parser.process(&buf[..n]);
                    std::mem::take(&mut parser.callbacks_mut().pending)
                };
                if !answers.is_empty() && thread_shared.answer_queries.load(Ordering::SeqCst) {
                    let mut w = thread_writer.lock().unwrap();
                    let _ = w.write_all(&answers).and_then(|()| w.flush());
                }
            }
            thread_shared.eof.store(true, Ordering::SeqCst);
        });
        Term { label, master: pair.master, slave: Some(pair.slave), child, exit: None, writer, shared }
    }

    /// Whether this terminal answers cursor-position, status and
    /// device-attribute queries (on by default, as real terminals do). Off
    /// shows what a program does when nobody answers.
    pub fn answer_queries(&self, on: bool) {
        self.shared.answer_queries.store(on, Ordering::SeqCst);
    }

    /// Stops (or resumes) reading what the program writes, as a terminal
    /// that cannot keep up would: once the PTY's buffer is full, the
    /// program's writes block. A read already under way finishes first.
    pub fn pause_reading(&self, paused: bool) {
        self.shared.paused.store(paused, Ordering::SeqCst);
    }

    // ---- input ----

    /// Writes bytes as if typed (or pasted, for several at once).
    pub fn send(&self, bytes: &[u8]) {
        let mut w = self.writer.lock().unwrap();
        w.write_all(bytes).and_then(|()| w.flush()).expect("cannot write to the terminal");
    }

    pub fn type_str(&self, s: &str) {
        self.send(s.as_bytes());
    }

    /// The prefix key (C-b) then `key`.
    pub fn prefix(&self, key: u8) {
        self.send(&[PREFIX, key]);
    }

    /// Resizes the terminal (screen and PTY, which signals SIGWINCH), as a
    /// user dragging the window would.
    pub fn resize(&self, cols: u16, rows: u16) {
        let rows_nz = std::num::NonZeroU16::new(rows).expect("a terminal needs rows");
        let cols_nz = std::num::NonZeroU16::new(cols).expect("a terminal needs columns");
        self.shared.parser.lock().unwrap().set_size(rows_nz, cols_nz);
        self.master.resize(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).expect("cannot resize the PTY");
    }

    // ---- what the screen shows ----

    /// Runs `f` on the current screen.
    pub fn screen<T>(&self, f: impl FnOnce(&vt100::Screen) -> T) -> T {
        f(self.shared.parser.lock().unwrap().screen())
    }

    /// (cols, rows).
    pub fn size(&self) -> (u16, u16) {
        self.screen(|s| {
            let (rows, cols) = s.size();
            (cols.get(), rows.get())
        })
    }

    pub fn screen_text(&self) -> String {
        self.screen(|s| s.contents())
    }

    /// Every row's text, trailing blanks trimmed.
    pub fn rows(&self) -> Vec<String> {
        self.screen(screen_rows)
    }

    pub fn row(&self, n: u16) -> String {
        self.rows().swap_remove(n as usize)
    }

    /// The last row: the status bar.
    pub fn status_row(&self) -> String {
        self.screen(|s| screen_rows(s).pop().unwrap_or_default())
    }

    /// Every row but the status bar: what the focused session shows.
    pub fn session_rows(&self) -> Vec<String> {
        self.screen(session_rows)
    }

    /// The session the status bar marks as focused (`*`).
    pub fn focused(&self) -> Option<StatusEntry> {
        status::parse(&self.status_row()).into_iter().find(StatusEntry::focused)
    }

    /// The status-bar entry of one session.
    pub fn status_entry(&self, name: &str) -> Option<StatusEntry> {
        status::entry(&self.status_row(), name)
    }

    /// (row, col), 0-based.
    pub fn cursor(&self) -> (u16, u16) {
        self.screen(|s| s.cursor_position())
    }

    /// How many BELs the program has written to this terminal.
    pub fn bells(&self) -> usize {
        self.shared.parser.lock().unwrap().callbacks().bells
    }

    /// Every byte the program has written, for asserting escape sequences.
    pub fn output_raw(&self) -> Vec<u8> {
        self.shared.raw.lock().unwrap().clone()
    }

    /// The termios of this terminal, as the program left it.
    pub fn termios(&self) -> Termios {
        let fd = self.master.as_raw_fd().expect("the PTY master has no fd");
        // SAFETY: the master (and so its fd) lives as long as `self`.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        tcgetattr(fd).expect("tcgetattr on the PTY master")
    }

    /// Whether the terminal is in cooked mode: ICANON and ECHO both on.
    pub fn is_cooked(&self) -> bool {
        let flags = self.termios().local_flags;
        flags.contains(LocalFlags::ICANON) && flags.contains(LocalFlags::ECHO)
    }

    /// Asserts the client left the terminal as it found it, and last: the
    /// restore is the last thing written (no frame came after it), and the
    /// terminal is cooked again.
    pub fn assert_restored_last(&self) {
        let raw = self.output_raw();
        assert!(
            raw.ends_with(b"\x1b[?1049l"),
            "the restore is the last thing written; after it came {:?}",
            String::from_utf8_lossy(&raw[raw.len().saturating_sub(200)..])
        );
        assert!(self.is_cooked(), "the terminal is cooked again");
    }

    // ---- waiting ----

    /// Waits until `pred` holds for the screen; on timeout panics with
    /// `what` and the screen.
    pub fn wait_for(&mut self, pred: impl FnMut(&vt100::Screen) -> bool, what: &str) {
        self.wait_for_within(DEFAULT_TIMEOUT, pred, what);
    }

    pub fn wait_for_within(&mut self, timeout: Duration, mut pred: impl FnMut(&vt100::Screen) -> bool, what: &str) {
        let shared = Arc::clone(&self.shared);
        poll_until(timeout, what, || pred(shared.parser.lock().unwrap().screen()).then_some(()), || self.dump());
    }

    /// Waits until `text` appears anywhere on the screen (status bar included).
    pub fn wait_text(&mut self, text: &str) {
        self.wait_for(|s| s.contents().contains(text), &format!("{text:?} on screen"));
    }

    /// Waits until `text` appears in the session's rows (not the status bar).
    pub fn wait_session_text(&mut self, text: &str) {
        self.wait_for(|s| session_rows(s).iter().any(|r| r.contains(text)), &format!("{text:?} in the session"));
    }

    /// Waits until the status bar satisfies `pred`.
    pub fn wait_status(&mut self, mut pred: impl FnMut(&str) -> bool, what: &str) {
        self.wait_for(|s| pred(&screen_rows(s).pop().unwrap_or_default()), what);
    }

    /// Waits until the status bar shows session `name` with `mark`
    /// (`"*"`, `"+"`, `"!"`, `"[exit 3]"`).
    pub fn wait_marker(&mut self, name: &str, mark: &str) {
        self.wait_status(
            |row| status::entry(row, name).is_some_and(|e| e.has(mark)),
            &format!("status bar shows {name} with {mark:?}"),
        );
    }

    /// Waits until the status bar shows session `name` without `mark`.
    pub fn wait_no_marker(&mut self, name: &str, mark: &str) {
        self.wait_status(
            |row| status::entry(row, name).is_some_and(|e| !e.has(mark)),
            &format!("status bar shows {name} without {mark:?}"),
        );
    }

    /// Waits until the raw output contains `needle`.
    pub fn wait_raw(&mut self, needle: &[u8], what: &str) {
        let shared = Arc::clone(&self.shared);
        poll_until(
            DEFAULT_TIMEOUT,
            what,
            || shared.raw.lock().unwrap().windows(needle.len()).any(|w| w == needle).then_some(()),
            || self.dump(),
        );
    }

    // ---- the process ----

    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("the program has no pid")
    }

    pub fn kill(&self, signal: Signal) {
        kill(Pid::from_raw(self.pid() as i32), signal).expect("cannot signal the program");
    }

    /// The exit status, if the program has ended.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().expect("cannot wait for the program");
        }
        self.exit.clone()
    }

    /// Waits for the program to end, and for everything it wrote to reach
    /// the screen.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let child = &mut self.child;
        let exit = &mut self.exit;
        let label = &self.label;
        let shared = Arc::clone(&self.shared);
        let status = poll_until(
            DEFAULT_TIMEOUT,
            &format!("{label} to exit"),
            || {
                if exit.is_none() {
                    *exit = child.try_wait().expect("cannot wait for the program");
                }
                exit.clone()
            },
            || dump_screen(&shared, "still running"),
        );
        self.drain();
        status
    }

    /// Whether the terminal was closed: the program ended, nothing else
    /// holds the terminal open, and all it wrote has been read.
    pub fn closed(&self) -> bool {
        self.shared.eof.load(Ordering::SeqCst)
    }

    /// After the program ended: lets go of our slave end, so that the reader
    /// sees end-of-file once it has read everything, and waits for that. If
    /// something else still holds the terminal open (a daemon that kept its
    /// stdio), settles for the PTY having nothing left to read for 50 ms.
    /// The terminal's mode survives: the master keeps the pair alive.
    fn drain(&mut self) {
        self.slave.take();
        let fd = self.master.as_raw_fd().expect("the PTY master has no fd");
        let shared = Arc::clone(&self.shared);
        let mut quiet_polls = 0;
        poll_until(
            Duration::from_secs(2),
            "the program's last output to be read",
            || {
                if shared.eof.load(Ordering::SeqCst) {
                    return Some(());
                }
                let mut pending: nix::libc::c_int = 0;
                // SAFETY: FIONREAD writes one int to the pointer it is given;
                // the fd is the master, alive as long as `self`.
                let ok = unsafe { nix::libc::ioctl(fd, nix::libc::FIONREAD, &mut pending) } == 0;
                quiet_polls = if ok && pending == 0 { quiet_polls + 1 } else { 0 };
                (quiet_polls >= 5).then_some(())
            },
            || dump_screen(&shared, "exited"),
        );
    }

    /// The screen, the program's state and the tail of its raw output, for
    /// failure messages.
    pub fn dump(&mut self) -> String {
        let state = match self.try_exit() {
            Some(status) => format!("exited: {status}"),
            None => "running".to_string(),
        };
        dump_screen(&self.shared, &state)
    }
}

/// Every row's text, trailing blanks trimmed.
pub fn screen_rows(s: &vt100::Screen) -> Vec<String> {
    let (_, cols) = s.size();
    s.rows(0, cols.get()).map(|r| r.trim_end().to_string()).collect()
}

/// Every row but the last (the status bar), trailing blanks trimmed.
pub fn session_rows(s: &vt100::Screen) -> Vec<String> {
    let mut rows = screen_rows(s);
    rows.pop();
    rows
}

fn dump_screen(shared: &Shared, state: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    {
        let parser = shared.parser.lock().unwrap();
        let s = parser.screen();
        let (rows, cols) = s.size();
        let (cr, cc) = s.cursor_position();
        let _ =
            writeln!(out, "--- screen {}x{}, cursor row {cr} col {cc}, program {state} ---", cols.get(), rows.get());
        for (i, row) in screen_rows(s).iter().enumerate() {
            let _ = writeln!(out, "{i:>3}|{row}");
        }
    }
    let raw = shared.raw.lock().unwrap();
    let tail = &raw[raw.len().saturating_sub(600)..];
    let _ = writeln!(out, "--- last {} of {} bytes written ---\n{}", tail.len(), raw.len(), escape_bytes(tail));
    if shared.eof.load(Ordering::SeqCst) {
        out.push_str("(terminal closed)\n");
    }
    out
}

impl Drop for Term {
    fn drop(&mut self) {
        // Closing a terminal hangs up its program; then insist. Nothing here
        // may panic: this may run while a failed test unwinds.
        let running = self.exit.is_none() && self.child.try_wait().ok().flatten().is_none();
        if let (true, Some(pid)) = (running, self.child.process_id()) {
            let pid = Pid::from_raw(pid as i32);
            let _ = kill(pid, Signal::SIGHUP);
            let deadline = Instant::now() + Duration::from_secs(1);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if self.child.try_wait().ok().flatten().is_none() {
                let _ = kill(pid, Signal::SIGKILL);
                let _ = self.child.wait();
            }
        }
        self.slave.take();
    }
}
