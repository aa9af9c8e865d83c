//! [`Witness`]: a client typing into a `cat` session of its own, to show that
//! whatever a test does to other clients and sessions, the server still
//! serves this one, and how fast.

use std::time::{Duration, Instant};

use crate::term::session_rows;
use crate::{scaled, Env, Term, DEFAULT_TIMEOUT};

/// A 100×30 client attached to the session [`Witness::SESSION`], which runs
/// `cat`.
pub struct Witness {
    pub term: Term,
    lines: usize,
}

impl Witness {
    /// The witness session's name.
    pub const SESSION: &'static str = "witness";

    /// Starts the session and attaches a client to it.
    pub fn start(env: &Env) -> Witness {
        env.start_detached(Self::SESSION, &["cat"]);
        let mut term = env.attach(&["attach", "-t", Self::SESSION], 100, 30);
        term.wait_marker(Self::SESSION, "*");
        Witness { term, lines: 0 }
    }

    /// Types a fresh line and waits for it to come back: the server read
    /// this client, wrote the session's PTY, read the echo and `cat`'s copy,
    /// and drew both on this terminal.
    pub fn check(&mut self) {
        self.lines += 1;
        let token = format!("witness-{}", self.lines);
        self.term.type_str(&format!("{token}\r"));
        // The tty echoes the line as typed and cat prints it again.
        self.term.wait_for(
            |s| session_rows(s).iter().filter(|r| **r == token).count() >= 2,
            &format!("the witness session to echo {token:?} (typed, and again from cat)"),
        );
    }

    /// Types `n` keys one at a time and times each from the write until its
    /// echo is on this terminal: the keystroke latency a user feels.
    pub fn echo_times(&mut self, n: usize) -> Vec<Duration> {
        const PER_LINE: usize = 40;
        let mut times = Vec::with_capacity(n);
        let mut line = String::new();
        for i in 0..n {
            if line.len() == PER_LINE {
                self.end_line(&std::mem::take(&mut line));
            }
            let key = b'a' + (i % 26) as u8;
            let (row, col) = self.term.cursor();
            let start = Instant::now();
            self.term.send(&[key]);
            self.spin_until(&format!("the echo of {:?} at row {row} col {col}", key as char), |s| {
                s.cursor_position() == (row, col + 1)
                    && s.cell(row, col).is_some_and(|c| c.contents().as_bytes() == [key])
            });
            times.push(start.elapsed());
            line.push(key as char);
        }
        if !line.is_empty() {
            self.end_line(&line);
        }
        times
    }

    /// Enter, then waits for `cat` to print the line back: the typed line
    /// (the terminal's echo) and cat's copy right below it, the cursor
    /// under both. The echo alone is not enough: a key typed before cat's
    /// copy arrives would have the copy land after it.
    fn end_line(&mut self, line: &str) {
        self.term.type_str("\r");
        self.term.wait_for(
            |s| {
                let (row, col) = s.cursor_position();
                let rows = session_rows(s);
                let above = |n: u16| row.checked_sub(n).and_then(|r| rows.get(usize::from(r)));
                col == 0 && above(1).is_some_and(|r| r == line) && above(2).is_some_and(|r| r == line)
            },
            &format!("cat to print {line:?} back"),
        );
    }

    /// Polls far more often than the harness's usual 10 ms, for timing.
    fn spin_until(&mut self, what: &str, mut pred: impl FnMut(&vt100::Screen) -> bool) {
        let deadline = Instant::now() + scaled(DEFAULT_TIMEOUT);
        while !self.term.screen(&mut pred) {
            if Instant::now() >= deadline {
                panic!("timed out waiting for {what}\n{}", self.term.dump());
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }
}

/// The `p`-th quantile (0..=1) of some durations, by the nearest-rank rule.
pub fn quantile(times: &[Duration], p: f64) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or_default()
}
