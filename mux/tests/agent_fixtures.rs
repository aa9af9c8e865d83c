//! The built-in agent rule sets against recorded output of the real agents.
//!
//! `tests/fixtures/agents/{claude,codex,gemini,qwen,pi,copilot,aider,opencode}/*.cast` are asciicast v2
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

use qmux::casts::{replay, Cast};
use qmux::detect::{Signals, State};
use qmux::explain::screen_signals;
use qmux::rules::{RuleSet, Rules};
use qmux::terminal::Terminal;

/// The longest a state may take to show after the screen showed it.
const MAX_DELAY: f64 = 1.0;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/agents")
}

fn load(path: &Path) -> Cast {
    Cast::load(path).unwrap_or_else(|e| panic!("{e}"))
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
        for m in &result.marks {
            let shown = m.delay.map_or("never".to_string(), |d| format!("{:.0} ms", d * 1000.0));
            println!("{agent} {name}: {} at {:.3}s -> {shown}", m.state.name(), m.at);
        }
        failures.extend(result.failures(&rules, MAX_DELAY).into_iter().map(|f| format!("{name}: {f}")));
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
fn pi_recordings() {
    check_recordings("pi");
}

#[test]
fn copilot_recordings() {
    check_recordings("copilot");
}

#[test]
fn aider_recordings() {
    check_recordings("aider");
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
    for agent in ["claude", "codex", "gemini", "qwen", "pi", "copilot", "aider", "opencode"] {
        let rules = RuleSet::generic(agent);
        for path in recordings(agent) {
            let result = replay(&rules, &load(&path));
            let name = format!("{agent}/{}", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
            let delays: Vec<String> = result
                .marks
                .iter()
                .map(|m| {
                    format!(
                        "{} {}",
                        m.state.name(),
                        m.delay.map_or("never".into(), |d| format!("{:.0} ms", d * 1000.0))
                    )
                })
                .collect();
            println!(
                "generic {name}: {}/{} samples right ({:.0}%), {} false waiting; {}",
                result.right,
                result.samples,
                result.share_right(),
                result.false_waiting,
                delays.join(", ")
            );
            if result.false_waiting > 0 {
                failures
                    .push(format!("{name}: waiting while it worked: {:?}", &result.wrong[..result.wrong.len().min(3)]));
            }
            // The first prompt: Claude Code redraws its start screen until
            // the recording's user types, less than the quiet apart.
            for m in result.marks.iter().skip(1) {
                if m.delay.is_none_or(|d| d > GENERIC_MAX_DELAY) {
                    failures.push(format!(
                        "{name}: {} not seen within {GENERIC_MAX_DELAY} s of {:.3}s",
                        m.state.name(),
                        m.at
                    ));
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
    for agent in ["claude", "codex", "gemini", "qwen", "pi", "copilot", "aider", "opencode"] {
        for path in recordings(agent) {
            let cast = load(&path);
            let outputs: Vec<&str> = cast.outputs().collect();
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

/// The screen of a recording as it stood when the user acted on the first
/// `want` marker after the first busy one (answered the question, typed the
/// next message): what a notification of that moment quotes.
fn screen_at(cast: &Cast, want: State) -> Option<Terminal> {
    let mut t = Terminal::new(cast.rows, cast.cols);
    let mut busy_seen = false;
    let mut marked = false;
    for (_, event) in &cast.events {
        match event {
            qmux::casts::Event::Output(bytes) => {
                t.process(bytes.as_bytes());
            }
            qmux::casts::Event::Resize(cols, rows) => t.resize(*cols, *rows),
            qmux::casts::Event::Expect(State::Busy) => busy_seen = true,
            qmux::casts::Event::Expect(state) => marked |= busy_seen && *state == want,
            qmux::casts::Event::Input(_) | qmux::casts::Event::End if marked => return Some(t),
            _ => {}
        }
    }
    None
}

/// What a notification says, from every recording: an approval quotes the
/// question and the command it asks about, a finished reply its last line
/// (the mock's replies end "End of reply."), not the chrome around it.
#[test]
fn a_notice_quotes_the_question_and_the_reply_from_every_recording() {
    let mut failures = Vec::new();
    for agent in ["claude", "codex", "gemini", "qwen", "pi", "copilot", "aider", "opencode"] {
        let rules = Rules::builtin().get(agent).expect("a built-in rule set");
        for path in recordings(agent) {
            let cast = load(&path);
            let name = format!("{agent} {}", path.file_name().unwrap().to_string_lossy());
            if let Some(t) = screen_at(&cast, State::Approval) {
                let found = rules.detector.live_question(t.screen());
                let text = found.map(|f| qmux::notify::screen::question(t.screen(), f.row, &rules.notices));
                println!("{name}: approval quotes {text:?}");
                if !text.as_deref().is_some_and(|q| q.contains("qmux-")) {
                    failures.push(format!("{name}: the question {text:?} does not name the command"));
                }
            }
            if let Some(t) = screen_at(&cast, State::Waiting) {
                let row = rules.detector.input_row(t.screen());
                let last = qmux::notify::screen::reply_last_line(t.screen(), row, &rules.notices);
                println!("{name}: finished quotes {last:?}");
                // A line editor's reply wraps: its last row ends the reply.
                if !last.as_deref().is_some_and(|l| l.ends_with("End of reply.")) && name.ends_with("hello.cast") {
                    failures.push(format!("{name}: the reply's last line is {last:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
