//! A recording replayed through a rule set on a virtual clock: the state is
//! worked out after every event, when output has settled, and just before
//! the next event, as the server would have at those moments. A sample
//! while the recording expects busy must never be waiting; waiting and
//! approval must be reached soon after their marker and then hold.

use std::time::Duration;

use super::{Cast, Event};
use crate::detect::{Cursor, Signals, State};
use crate::rules::RuleSet;
use crate::terminal::Terminal;

/// One marker of a recording and what the rule set made of it.
#[derive(Clone, Debug)]
pub struct Mark {
    pub state: State,
    /// When the marker was placed, in seconds from the start.
    pub at: f64,
    /// How long the state took to show, if it did before the next marker.
    pub delay: Option<f64>,
    /// The last state detected while the marker held.
    pub last: State,
}

/// What one replay found.
#[derive(Clone, Debug, Default)]
pub struct Replay {
    pub marks: Vec<Mark>,
    /// Samples that contradicted the expected state, as text.
    pub wrong: Vec<String>,
    /// Samples taken under a marker, and how many of them had its state.
    pub samples: usize,
    pub right: usize,
    /// Samples that said waiting where the recording expects busy.
    pub false_waiting: usize,
}

impl Replay {
    /// The share of samples right, in percent.
    pub fn share_right(&self) -> f64 {
        100.0 * self.right as f64 / self.samples.max(1) as f64
    }

    /// What fails the rule set: a marker whose state never showed or took
    /// longer than `max_delay` seconds (the first one may add the rule
    /// set's longer first settle), and samples that contradicted a marker.
    pub fn failures(&self, rules: &RuleSet, max_delay: f64) -> Vec<String> {
        let mut failures = Vec::new();
        for (i, m) in self.marks.iter().enumerate() {
            let first = rules.detector.first_settle.filter(|_| i == 0).unwrap_or_default();
            let bound = max_delay + first.as_secs_f64();
            match m.delay {
                None => failures.push(format!(
                    "never {} after the marker at {:.3}s ({} instead)",
                    m.state.name(),
                    m.at,
                    m.last.name()
                )),
                Some(d) if d > bound => failures.push(format!(
                    "{} {:.0} ms after the marker at {:.3}s (at most {:.0} ms)",
                    m.state.name(),
                    d * 1000.0,
                    m.at,
                    bound * 1000.0
                )),
                Some(_) => {}
            }
        }
        failures.extend(self.wrong.iter().take(3).cloned());
        failures
    }

    /// A line per marker and one for the samples, as `qmux agents check`
    /// prints them.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for m in &self.marks {
            let seen = match m.delay {
                Some(d) => format!("after {:.0} ms", d * 1000.0),
                None => format!("never ({} instead)", m.last.name()),
            };
            out.push_str(&format!("  {:<8} at {:>8.3}s  {seen}\n", m.state.name(), m.at));
        }
        out.push_str(&format!(
            "  samples: {}/{} right ({:.0}%), {} waiting while it worked\n",
            self.right,
            self.samples,
            self.share_right(),
            self.false_waiting
        ));
        out
    }
}

/// What the server would know of a session at one moment of a replay.
struct Session<'a> {
    rules: &'a RuleSet,
    terminal: Terminal,
    last_output: f64,
    awaiting: bool,
    state: State,
    has_waited: bool,
    /// The absolute line the cursor was on at the last Enter, as the
    /// server keeps it: a line editor's question there or above is answered.
    input_line: Option<u64>,
    /// The state expected since the marker at that time.
    expected: Option<(State, f64)>,
    out: Replay,
}

impl Session<'_> {
    /// Works the state out at time `t` and checks it against the marker.
    fn sample(&mut self, t: f64) {
        let screen = self.terminal.screen();
        let signals = Signals {
            // Agents keep the terminal raw for their whole life. (aider's
            // prompt_toolkit does only while it reads; bracketed paste,
            // which the recording shows, goes off and on with it.)
            raw_mode: true,
            bracketed_paste: screen.bracketed_paste(),
            uses_bracketed_paste: true,
            cursor_hidden: screen.hide_cursor(),
            quiet_for: Duration::from_secs_f64((t - self.last_output).max(0.0)),
            awaiting_reaction: self.awaiting,
            title: self.terminal.title().to_string(),
            progress: self.terminal.progress(),
            was_waiting: self.state == State::Waiting,
            has_waited: self.has_waited,
            input_row: self.input_line.and_then(|line| {
                let row = line.checked_sub(self.terminal.history().total_pushed())?;
                u16::try_from(row).ok().filter(|r| *r < screen.size().0.get())
            }),
            ..Signals::default()
        };
        self.state = self.rules.detector.classify(&signals, screen).state;
        self.has_waited |= self.state == State::Waiting;
        let Some((want, since)) = self.expected else { return };
        let state = self.state;
        self.out.samples += 1;
        self.out.right += usize::from(state == want);
        self.out.false_waiting += usize::from(want == State::Busy && state == State::Waiting);
        if let Some(m) = self.out.marks.last_mut() {
            m.last = state;
            if m.delay.is_none() && state == want {
                m.delay = Some(t - since);
            }
        }
        let reached = self.out.marks.last().is_some_and(|m| m.delay.is_some());
        let bad = match want {
            // Never waiting while the program works.
            State::Busy => state == State::Waiting,
            // Once reached, it holds until the next marker.
            _ => reached && state != want,
        };
        if bad {
            self.out.wrong.push(format!("at {t:.3}s: {} where the recording expects {}", state.name(), want.name()));
        }
    }

    /// When output settles enough for the next verdict.
    fn settles_at(&self) -> f64 {
        let d = &self.rules.detector;
        let settle = if self.has_waited { d.settle } else { d.first_settle.unwrap_or(d.settle) };
        let hidden = d.cursor == Cursor::Quiet && self.terminal.screen().hide_cursor();
        let settle = if hidden { d.quiet } else { settle };
        self.last_output + settle.as_secs_f64() + 0.001
    }
}

/// Replays a recording through `rules` on a virtual clock.
pub fn replay(rules: &RuleSet, cast: &Cast) -> Replay {
    let mut s = Session {
        rules,
        terminal: Terminal::new(cast.rows, cast.cols),
        last_output: 0.0,
        awaiting: false,
        state: State::Busy,
        has_waited: false,
        input_line: None,
        expected: None,
        out: Replay::default(),
    };
    for (i, (t, event)) in cast.events.iter().enumerate() {
        let t = *t;
        match event {
            Event::Output(bytes) => {
                s.terminal.process(bytes.as_bytes());
                s.last_output = t;
                s.awaiting = false;
            }
            // The user acted before the next marker (answered, typed, quit):
            // what follows is the next marker's to judge.
            Event::Input(keys) => {
                s.awaiting |= keys.contains('\r');
                if keys.contains('\r') {
                    let row = s.terminal.screen().cursor_position().0;
                    s.input_line = Some(s.terminal.history().total_pushed() + u64::from(row));
                }
                if s.expected.is_some_and(|(want, _)| want != State::Busy) {
                    s.expected = None;
                }
            }
            Event::Resize(cols, rows) => s.terminal.resize(*cols, *rows),
            Event::Expect(want) => {
                s.expected = Some((*want, t));
                s.out.marks.push(Mark { state: *want, at: t, delay: None, last: s.state });
            }
            Event::End => break,
        }
        s.sample(t);
        let next = cast.events.get(i + 1).map_or(t + 2.0, |(n, _)| *n);
        let settled = s.settles_at();
        if settled > t && settled < next {
            s.sample(settled);
        }
        if next - 0.001 > t {
            s.sample(next - 0.001);
        }
    }
    s.out
}
