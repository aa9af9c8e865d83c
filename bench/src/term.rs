//! [`Term`]: the user's terminal, played by the harness.
//!
//! A real 200×50 PTY runs the multiplexer's client (or, for the bare
//! subject, the measured command itself). Everything the client writes is
//! read by a dedicated thread as soon as it arrives, stamped with its arrival
//! time, and fed to a `vt100::Parser` on a second thread, which also answers
//! the queries a real terminal answers.
//!
//! A measurement asks "when did the screen first show X?" with
//! [`Term::expect`] and [`Term::wait`]. The answer is the arrival time of the
//! chunk of output after which the parsed screen shows X. So "drawn" means the
//! terminal would show it, and the time is that of an infinitely fast
//! terminal: the harness's own parsing speed (vt100 manages only a few MB/s)
//! never limits what is measured.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};

use crate::Result;
use qmux::terminal::{Answers, Identity};

/// The terminal size every benchmark uses, as issue 6 asks.
pub const COLS: u16 = 200;
pub const ROWS: u16 = 50;

/// In deferred mode, output is parsed only once it has paused this long.
const QUIET: Duration = Duration::from_millis(20);

/// A condition on the screen, evaluated after every chunk of output.
pub type Predicate = Box<dyn FnMut(&vt100::Screen) -> bool + Send>;

/// A program running in the harness's PTY, and the screen it has drawn.
pub struct Term {
    label: String,
    // Kept so the PTY stays open for the Term's whole life.
    _master: Box<dyn MasterPty + Send>,
    child: Box<dyn Child + Send + Sync>,
    writer: Writer,
    shared: Arc<Shared>,
}

/// The PTY's one writer (portable-pty hands it out once, and dropping it
/// sends ^D), shared by typing and by query answers.
type Writer = Arc<Mutex<Box<dyn Write + Send>>>;

struct Shared {
    display: Mutex<Display>,
    /// Signalled when a watched condition is met or the program closes the PTY.
    changed: Condvar,
    /// See [`Term::set_deferred`].
    deferred: AtomicBool,
    bytes_received: AtomicU64,
}

struct Display {
    parser: vt100::Parser<Answers>,
    watch: Option<Predicate>,
    met_at: Option<Instant>,
    closed: bool,
}

/// One read's worth of output and when it arrived.
struct Chunk {
    at: Instant,
    bytes: Vec<u8>,
}

/// DA1: a VT100 with advanced video; DA2: a VT220-class terminal; an
/// XTVERSION and colours besides, which tmux asks its outer terminal at
/// attach.
const TERMINAL: Identity = Identity {
    primary: b"\x1b[?1;2c",
    secondary: b"\x1b[>1;10;0c",
    version: Some(b"\x1bP>|qmux-bench\x1b\\"),
    colours: true,
};

impl Term {
    /// Starts `argv` in a new PTY of [`COLS`]×[`ROWS`] with exactly the
    /// environment `env`.
    pub fn spawn(argv: &[String], env: &[(String, String)], cwd: &std::path::Path) -> Result<Term> {
        let label = argv.join(" ");
        let pair = native_pty_system()
            .openpty(PtySize { rows: ROWS, cols: COLS, pixel_width: 0, pixel_height: 0 })
            .map_err(|e| format!("cannot open a PTY: {e}"))?;
        let mut cmd = CommandBuilder::new(&argv[0]);
        cmd.args(&argv[1..]);
        cmd.env_clear();
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.cwd(cwd);
        let child = pair.slave.spawn_command(cmd).map_err(|e| format!("cannot start {label}: {e}"))?;
        // Our copy of the slave would hide the program's exit from the reader.
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().map_err(|e| format!("cannot read the PTY: {e}"))?;
        let writer: Writer =
            Arc::new(Mutex::new(pair.master.take_writer().map_err(|e| format!("cannot write the PTY: {e}"))?));
        let answer_writer = Arc::clone(&writer);

        let rows = std::num::NonZeroU16::new(ROWS).expect("ROWS > 0");
        let cols = std::num::NonZeroU16::new(COLS).expect("COLS > 0");
        let shared = Arc::new(Shared {
            display: Mutex::new(Display {
                parser: vt100::Parser::new_with_callbacks(rows, cols, 0, Answers::new(TERMINAL)),
                watch: None,
                met_at: None,
                closed: false,
            }),
            changed: Condvar::new(),
            deferred: AtomicBool::new(false),
            bytes_received: AtomicU64::new(0),
        });

        // The reader does nothing but read, so the client is never held up
        // by the harness.
        let (chunks, incoming) = mpsc::channel::<Chunk>();
        let counter = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("term-reader".into())
            .spawn(move || {
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let at = Instant::now();
                            counter.bytes_received.fetch_add(n as u64, Ordering::Relaxed);
                            if chunks.send(Chunk { at, bytes: buf[..n].to_vec() }).is_err() {
                                break;
                            }
                        }
                    }
                }
            })
            .map_err(|e| format!("cannot start a thread: {e}"))?;

        let parsing = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("term-parser".into())
            .spawn(move || parse_loop(&parsing, &incoming, answer_writer))
            .map_err(|e| format!("cannot start a thread: {e}"))?;

        Ok(Term { label, _master: pair.master, child, writer, shared })
    }

    /// In deferred mode the parser waits until output pauses before it
    /// parses what arrived, so that during a burst the harness only reads
    /// and leaves the CPU to the subject. Arrival times are kept, so
    /// results are the same either way; only the wait for them is longer.
    pub fn set_deferred(&self, on: bool) {
        self.shared.deferred.store(on, Ordering::SeqCst);
    }

    /// Writes bytes as if typed; returns when they were written.
    pub fn send(&self, bytes: &[u8]) -> Result<Instant> {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let at = Instant::now();
        w.write_all(bytes).and_then(|()| w.flush()).map_err(|e| format!("cannot type into {}: {e}", self.label))?;
        Ok(at)
    }

    /// Starts watching for `pred`. If it already holds, it counts as met now.
    pub fn expect(&self, mut pred: impl FnMut(&vt100::Screen) -> bool + Send + 'static) {
        let mut d = self.display();
        d.met_at = pred(d.parser.screen()).then(Instant::now);
        d.watch = Some(Box::new(pred));
    }

    /// Waits until the condition given to [`Term::expect`] holds, and
    /// returns the arrival time of the output that made it hold.
    pub fn wait(&self, timeout: Duration, what: &str) -> Result<Instant> {
        let deadline = Instant::now() + timeout;
        let mut d = self.display();
        loop {
            if let Some(at) = d.met_at {
                d.watch = None;
                return Ok(at);
            }
            if d.closed {
                let screen = screen_text(d.parser.screen());
                return Err(format!("{} closed the terminal before {what}; screen:\n{screen}", self.label));
            }
            let now = Instant::now();
            if now >= deadline {
                let screen = screen_text(d.parser.screen());
                d.watch = None;
                return Err(format!(
                    "timed out after {timeout:?} waiting for {what} ({}); screen:\n{screen}",
                    self.label
                ));
            }
            d = self.shared.changed.wait_timeout(d, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// [`Term::expect`] then [`Term::wait`].
    pub fn wait_for(
        &self,
        timeout: Duration,
        what: &str,
        pred: impl FnMut(&vt100::Screen) -> bool + Send + 'static,
    ) -> Result<Instant> {
        self.expect(pred);
        self.wait(timeout, what)
    }

    /// Runs `f` on the screen as parsed so far.
    pub fn screen<T>(&self, f: impl FnOnce(&vt100::Screen) -> T) -> T {
        f(self.display().parser.screen())
    }

    /// How many bytes the program has written to this terminal.
    pub fn bytes_received(&self) -> u64 {
        self.shared.bytes_received.load(Ordering::Relaxed)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }

    fn display(&self) -> MutexGuard<'_, Display> {
        self.shared.display.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        // SIGHUP, as when a terminal window closes; clients exit on it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The parser thread: feeds chunks to vt100 in order, answers queries, and
/// checks the watched condition after each chunk.
fn parse_loop(shared: &Shared, incoming: &mpsc::Receiver<Chunk>, answer_to: Writer) {
    let mut batch = Vec::new();
    while let Ok(first) = incoming.recv() {
        batch.push(first);
        if shared.deferred.load(Ordering::SeqCst) {
            while let Ok(chunk) = incoming.recv_timeout(QUIET) {
                batch.push(chunk);
            }
        } else {
            batch.extend(incoming.try_iter());
        }
        let mut answers = Vec::new();
        {
            let mut d = shared.display.lock().unwrap_or_else(|e| e.into_inner());
            let Display { parser, watch, met_at, .. } = &mut *d;
            for chunk in batch.drain(..) {
                parser.process(&chunk.bytes);
                answers.append(&mut parser.callbacks_mut().pending);
                if met_at.is_none() {
                    if let Some(pred) = watch.as_mut() {
                        if pred(parser.screen()) {
                            *met_at = Some(chunk.at);
                            shared.changed.notify_all();
                        }
                    }
                }
            }
        }
        if !answers.is_empty() {
            let mut w = answer_to.lock().unwrap_or_else(|e| e.into_inner());
            let _ = w.write_all(&answers).and_then(|()| w.flush());
        }
    }
    let mut d = shared.display.lock().unwrap_or_else(|e| e.into_inner());
    d.closed = true;
    shared.changed.notify_all();
}

/// The whole screen as text, for error messages.
pub fn screen_text(screen: &vt100::Screen) -> String {
    let (_, cols) = screen.size();
    screen.rows(0, cols.get()).map(|r| r.trim_end().to_string()).collect::<Vec<_>>().join("\n")
}

/// Whether row `row` starts with `prefix`. Cheap enough to run after every
/// chunk of a 64 MB burst: it looks at one cell before it builds any string.
pub fn row_starts_with(screen: &vt100::Screen, row: u16, prefix: &str) -> bool {
    let Some(first) = prefix.chars().next() else { return true };
    let starts = screen.cell(row, 0).is_some_and(|c| c.contents().starts_with(first));
    starts && screen.contents_between(row, 0, row, prefix.len() as u16) == prefix
}

/// Whether any row starts with `prefix`.
pub fn any_row_starts_with(screen: &vt100::Screen, prefix: &str) -> bool {
    (0..screen.size().0.get()).any(|row| row_starts_with(screen, row, prefix))
}

/// Whether some row holds exactly `text` (trailing blanks aside).
pub fn any_row_is(screen: &vt100::Screen, text: &str) -> bool {
    let width = text.len() as u16;
    (0..screen.size().0.get()).any(|row| {
        let ends = !matches!(screen.cell(row, width), Some(c) if c.has_contents());
        ends && row_starts_with(screen, row, text)
    })
}
