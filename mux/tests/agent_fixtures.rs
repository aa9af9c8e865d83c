//! The built-in agent rule sets against recorded output of the real agents.
//!
//! `tests/fixtures/agents/{claude,codex,gemini,qwen,opencode}/*.cast` are asciicast v2
//! recordings of the real programs (made against tests/mockllm; each
//! folder's README says how), with marker events `expect STATE` placed where
//! the screen shows the state begin. Each recording is replayed through the
//! terminal model and the agent's detector on a virtual clock, sampling the
//! state after every event, when output has settled, and just before the
//! next event. A sample while the recording expects busy must never be
//! waiting; waiting and approval must be reached within [`MAX_DELAY`] of
//! their marker and then hold. The delays are printed (`--nocapture`): they
//! are the figures in README's agents table.
//!
//! The Kiro and q chat screens are public captures (see their READMEs),
//! checked by what their source says each shows.

use std::path::{Path, PathBuf};
use std::time::Duration;

use qmux::detect::{Cursor, Signals, State};
use qmux::explain::screen_signals;
use qmux::rules::{RuleSet, Rules};
use qmux::terminal::Terminal;

/// The longest a state may take to show after the screen showed it.
const MAX_DELAY: f64 = 1.0;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/agents")
}

enum Event {
    Output(String),
    Input(String),
    Expect(State),
    End,
}

struct Cast {
    cols: u16,
    rows: u16,
    events: Vec<(f64, Event)>,
}

fn load(path: &Path) -> Cast {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().expect("a header")).expect("header JSON");
    let size = |k: &str| header[k].as_u64().and_then(|v| u16::try_from(v).ok()).expect("width and height");
    let events = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
            let t = v[0].as_f64().expect("a time");
            let data = v[2].as_str().unwrap_or_default().to_string();
            let event = match (v[1].as_str(), data.strip_prefix("expect ")) {
                (Some("o"), _) => Event::Output(data),
                (Some("i"), _) => Event::Input(data),
                (Some("m"), Some("busy")) => Event::Expect(State::Busy),
                (Some("m"), Some("waiting")) => Event::Expect(State::Waiting),
                (Some("m"), Some("approval")) => Event::Expect(State::Approval),
                (Some("m"), Some("exited")) => Event::End,
                other => panic!("unknown event {other:?} in {}", path.display()),
            };
            (t, event)
        })
        .collect();
    Cast { cols: size("width"), rows: size("height"), events }
}

/// What one replay found: for each marker, how long the state took.
struct Replay {
    /// (expected state, marker time, delay to reach it)
    delays: Vec<(State, f64, Option<f64>)>,
    /// Samples that contradicted the expected state, as text.
    wrong: Vec<String>,
    /// Samples taken under a marker, and how many of them had its state.
    samples: usize,
    right: usize,
    /// Samples that said waiting where the recording expects busy.
    false_waiting: usize,
}

/// What the server would know of a session at one moment of a replay.
struct Session<'a> {
    rules: &'a RuleSet,
    terminal: Terminal,
    last_output: f64,
    awaiting: bool,
    state: State,
    has_waited: bool,
    /// The state expected since the marker at that time.
    expected: Option<(State, f64)>,
    out: Replay,
}

impl Session<'_> {
    /// Works the state out at time `t` and checks it against the marker.
    fn sample(&mut self, t: f64) {
        let screen = self.terminal.screen();
        let signals = Signals {
            // These TUIs keep the terminal raw for their whole life.
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
            ..Signals::default()
        };
        self.state = self.rules.detector.classify(&signals, screen).state;
        self.has_waited |= self.state == State::Waiting;
        let Some((want, since)) = self.expected else { return };
        let state = self.state;
        self.out.samples += 1;
        self.out.right += usize::from(state == want);
        self.out.false_waiting += usize::from(want == State::Busy && state == State::Waiting);
        if let Some(d) = self.out.delays.last_mut().filter(|d| d.2.is_none() && state == want) {
            d.2 = Some(t - since);
        }
        let reached = self.out.delays.last().is_some_and(|d| d.2.is_some());
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
fn replay(rules: &RuleSet, cast: &Cast) -> Replay {
    let mut s = Session {
        rules,
        terminal: Terminal::new(cast.rows, cast.cols),
        last_output: 0.0,
        awaiting: false,
        state: State::Busy,
        has_waited: false,
        expected: None,
        out: Replay { delays: Vec::new(), wrong: Vec::new(), samples: 0, right: 0, false_waiting: 0 },
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
                if s.expected.is_some_and(|(want, _)| want != State::Busy) {
                    s.expected = None;
                }
            }
            Event::Expect(want) => {
                s.expected = Some((*want, t));
                s.out.delays.push((*want, t, None));
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

/// An agent's recordings, in name order.
fn recordings(agent: &str) -> Vec<PathBuf> {
    let dir = fixtures().join(agent);
    let mut casts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "cast"))
        .collect();
    casts.sort();
    casts
}

fn check_recordings(agent: &str) {
    let rules = Rules::builtin().get(agent).expect("a built-in rule set");
    let casts = recordings(agent);
    assert!(
        casts.len() >= 2,
        "{agent}: recordings of a reply and of an approval in {}",
        fixtures().join(agent).display()
    );
    let mut failures = Vec::new();
    for path in &casts {
        let result = replay(&rules, &load(path));
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        for (i, (state, at, delay)) in result.delays.iter().enumerate() {
            let shown = delay.map_or("never".to_string(), |d| format!("{:.0} ms", d * 1000.0));
            println!("{agent} {name}: {} at {at:.3}s -> {shown}", state.name());
            // The first prompt may need the rule set's longer first settle.
            let first = rules.detector.first_settle.filter(|_| i == 0).unwrap_or_default();
            let bound = MAX_DELAY + first.as_secs_f64();
            match delay {
                None => failures.push(format!("{name}: never {} after the marker at {at:.3}s", state.name())),
                Some(d) if *d > bound => {
                    failures.push(format!("{name}: {} {:.0} ms after the marker at {at:.3}s", state.name(), d * 1000.0))
                }
                Some(_) => {}
            }
        }
        failures.extend(result.wrong.iter().take(3).map(|w| format!("{name}: {w}")));
    }
    assert!(failures.is_empty(), "{agent}:\n{}", failures.join("\n"));
}

#[test]
fn claude_code_recordings() {
    check_recordings("claude");
}

#[test]
fn codex_recordings() {
    check_recordings("codex");
}

#[test]
fn gemini_cli_recordings() {
    check_recordings("gemini");
}

#[test]
fn qwen_code_recordings() {
    check_recordings("qwen");
}

#[test]
fn opencode_recordings() {
    check_recordings("opencode");
}

/// The generic rules alone, on every recording: how often they are right,
/// never waiting while an agent works, and how long they take to see
/// waiting and a question (printed with `--nocapture`: the figures in the
/// README's table for agents without a rule set).
#[test]
fn the_generic_rules_on_every_recording() {
    let mut failures = Vec::new();
    for agent in ["claude", "codex", "gemini", "qwen", "opencode"] {
        let rules = RuleSet::generic(agent);
        for path in recordings(agent) {
            let result = replay(&rules, &load(&path));
            let name = format!("{agent}/{}", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
            let delays: Vec<String> = result
                .delays
                .iter()
                .map(|(s, _, d)| {
                    format!("{} {}", s.name(), d.map_or("never".into(), |d| format!("{:.0} ms", d * 1000.0)))
                })
                .collect();
            println!(
                "generic {name}: {}/{} samples right ({:.0}%), {} false waiting; {}",
                result.right,
                result.samples,
                100.0 * result.right as f64 / result.samples.max(1) as f64,
                result.false_waiting,
                delays.join(", ")
            );
            if result.false_waiting > 0 {
                failures
                    .push(format!("{name}: waiting while it worked: {:?}", &result.wrong[..result.wrong.len().min(3)]));
            }
            // The first prompt: Claude Code redraws its start screen until
            // the recording's user types, less than the quiet apart.
            for (state, at, delay) in result.delays.iter().skip(1) {
                if delay.is_none_or(|d| d > GENERIC_MAX_DELAY) {
                    failures
                        .push(format!("{name}: {} not seen within {GENERIC_MAX_DELAY} s of {at:.3}s", state.name()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The generic rules see waiting only after the longer quiet a TUI needs.
const GENERIC_MAX_DELAY: f64 = 2.5;

/// A public capture, shown on a terminal just tall enough for it (as if it
/// had scrolled there), the cursor left where its text ends.
fn capture_state(rules: &RuleSet, path: &Path, signals: impl Fn(&vt100::Screen) -> Signals) -> State {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = String::from_utf8_lossy(&bytes);
    let rows = text.lines().count().max(1) as u16 + 1;
    let mut terminal = Terminal::new(rows, 200);
    let crlf: String = text.replace("\r\n", "\n").replace('\n', "\r\n");
    terminal.process(crlf.as_bytes());
    let screen = terminal.screen();
    rules.detector.classify(&signals(screen), screen).state
}

/// (file, state its source says it shows, whether a line editor is
/// reading: the classic UI's prompt signals).
const KIRO: &[(&str, State, bool)] = &[
    ("kiro_cli_idle_output.txt", State::Waiting, true),
    ("kiro_cli_completed_output.txt", State::Waiting, true),
    ("kiro_cli_complex_response.txt", State::Waiting, true),
    ("kiro_cli_handoff_successful.txt", State::Waiting, true),
    ("kiro_cli_processing_output.txt", State::Busy, false),
    ("kiro_cli_permission_output.txt", State::Approval, true),
    ("kiro_cli_handoff_with_permission.txt", State::Approval, true),
    ("kiro_cli_permission_active_empty.txt", State::Approval, true),
    ("kiro_cli_permission_active_partial_typing.txt", State::Approval, true),
    ("kiro_cli_permission_active_trailing_text.txt", State::Approval, true),
    ("kiro_cli_permission_active_injection.txt", State::Approval, true),
    ("kiro_cli_permission_stale_answered.txt", State::Waiting, true),
    ("kiro_cli_permission_stale_long_response.txt", State::Waiting, true),
    ("kiro_cli_tui_idle_output.txt", State::Waiting, true),
    ("kiro_cli_tui_processing_output.txt", State::Busy, true),
    ("kiro_cli_tui_completed_output.txt", State::Waiting, true),
    ("kiro_cli_tui_complex_response.txt", State::Waiting, true),
    ("kiro_trust_all_tools_dialog_active.txt", State::Approval, true),
    ("kiro_trust_all_tools_dialog_in_scrollback.txt", State::Waiting, true),
    // Not checked: kiro_trust_all_tools_dialog_stale.txt, the TUI's consent
    // menu a few rows above a classic-UI prompt (the user restarted in the
    // other UI). qmux still calls it approval: one prompt below a question
    // is how the classic UI shows a live one.
];

const Q_CHAT: &[(&str, State, bool)] = &[
    ("q_cli_idle_output.txt", State::Waiting, true),
    ("q_cli_completed_output.txt", State::Waiting, true),
    ("q_cli_complex_response.txt", State::Waiting, true),
    ("q_cli_handoff_successful.txt", State::Waiting, true),
    ("q_cli_processing_output.txt", State::Busy, false),
    ("q_cli_permission_output.txt", State::Approval, true),
    ("q_cli_handoff_with_permission.txt", State::Approval, true),
];

fn check_captures(agent: &str, folder: &str, cases: &[(&str, State, bool)]) {
    let rules = Rules::builtin().get(agent).expect("a built-in rule set");
    let mut wrong = Vec::new();
    for (file, want, reading) in cases {
        let path = fixtures().join(folder).join(file);
        let got = capture_state(&rules, &path, |screen| Signals {
            raw_mode: *reading,
            bracketed_paste: *reading,
            ..screen_signals(screen)
        });
        if got != *want {
            wrong.push(format!("{file}: {} where its source says {}", got.name(), want.name()));
        }
    }
    assert!(wrong.is_empty(), "{agent}:\n{}", wrong.join("\n"));
}

#[test]
fn kiro_cli_public_captures() {
    check_captures("kiro-cli", "kiro", KIRO);
}

#[test]
fn q_chat_public_captures() {
    check_captures("q", "qchat", Q_CHAT);
}

/// What a live upgrade keeps of a terminal: the screen (text, attributes,
/// cursor, input modes), the history and the title. Each recording is cut
/// at every output event; the terminal rebuilt from a snapshot there must
/// equal the one that carried on, then and after the rest of the output.
#[test]
fn a_snapshot_rebuilds_the_terminal_at_every_point_of_every_recording() {
    let look = |t: &Terminal| {
        let s = t.screen();
        let history: Vec<String> = (0..t.history().len()).map(|i| t.history().row_formatted(i).into_owned()).collect();
        (s.contents_formatted(), s.cursor_position(), s.input_mode_formatted(), history, t.title().to_string())
    };
    let mut checked = 0;
    for agent in ["claude", "codex", "gemini", "qwen", "opencode"] {
        for path in recordings(agent) {
            let cast = load(&path);
            let outputs: Vec<&str> = cast
                .events
                .iter()
                .filter_map(|(_, e)| match e {
                    Event::Output(o) => Some(o.as_str()),
                    _ => None,
                })
                .collect();
            let mut whole = Terminal::with_history_limit(cast.rows, cast.cols, 200);
            for out in &outputs {
                whole.process(out.as_bytes());
            }
            let mut original = Terminal::with_history_limit(cast.rows, cast.cols, 200);
            let step = outputs.len().div_ceil(40).max(1);
            for (i, out) in outputs.iter().enumerate() {
                original.process(out.as_bytes());
                let mut rebuilt = Terminal::from_snapshot(&original.snapshot());
                assert_eq!(look(&rebuilt), look(&original), "{} after output {i}", path.display());
                assert_eq!(rebuilt.history().total_pushed(), original.history().total_pushed());
                if i % step == 0 {
                    for rest in &outputs[i + 1..] {
                        rebuilt.process(rest.as_bytes());
                    }
                    assert_eq!(look(&rebuilt), look(&whole), "{}: cut after output {i}, then the rest", path.display());
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "recordings were found and cut ({checked})");
}
