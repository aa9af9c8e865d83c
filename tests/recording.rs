//! The path from a new agent to its rule set, through the real binary:
//! `qmux agents record` runs an agent on a real terminal with the states
//! the user marks (Ctrl-] w / b / a), and `qmux agents check` replays the
//! recording through a rule set and says what it saw at each marker.

use std::path::Path;

use qmux_e2e::{assert_error, Env, Term};

const MARK: u8 = 0x1d;

/// The chat shows `text` and its empty prompt below it.
fn prompt_below(term: &mut Term, text: &str) {
    term.wait_for(
        |s| {
            let screen = s.contents();
            let last = screen.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default().to_string();
            screen.contains(text) && last.trim_end() == ">"
        },
        &format!("{text:?} and the prompt below it"),
    );
}

/// The chat is back at its empty prompt below the reply to `msg`.
fn replied(term: &mut Term, msg: &str) {
    prompt_below(term, &format!("You said: {msg}"));
}

/// Marks a state. A user marks waiting or a question on seeing it and
/// reads the screen before typing: the recording's timing is the
/// scenario's, not a wait for anything (the replay judges a marker up to
/// the next key typed).
fn mark(term: &Term, key: u8) {
    term.send(&[MARK, key]);
    if key != b'b' {
        std::thread::sleep(std::time::Duration::from_millis(700));
    }
}

/// Records the stand-in chat through a greeting, a reply and an approval,
/// marking each state as a user would when the screen shows it.
fn record_a_session(env: &Env, file: &Path) -> Term {
    let file = file.to_string_lossy().into_owned();
    let mut term = env.attach(&["agents", "record", "chat", "-o", &file, "--", "qmux-chat"], 100, 30);
    term.wait_text("You are chatting with stand-in");
    term.wait_for(|s| s.contents().trim_end().ends_with('>'), "the first prompt");
    mark(&term, b'w');
    term.type_str("hello\r");
    mark(&term, b'b');
    // While it works: its redraw is not a prompt's.
    term.resize(90, 28);
    replied(&mut term, "hello");
    mark(&term, b'w');
    term.type_str("use a tool\r");
    mark(&term, b'b');
    prompt_below(&mut term, "Allow this action?");
    mark(&term, b'a');
    term.type_str("y\r");
    mark(&term, b'b');
    replied(&mut term, "use a tool");
    mark(&term, b'w');
    term.send(b"\x04");
    term
}

#[test]
fn a_recorded_session_checks_against_its_rule_set_and_the_terminal_is_given_back() {
    let env = Env::new();
    let file = env.work_dir().join("chat.cast");
    let mut term = record_a_session(&env, &file);
    let status = term.wait_exit();
    assert!(status.success(), "record exits as the chat did: {status:?}\n{}", term.dump());
    // The modes the chat set are reset, the terminal is cooked, and only
    // the recorder's last word follows.
    assert!(term.is_cooked(), "the terminal is cooked again");
    let raw = String::from_utf8_lossy(&term.output_raw()).into_owned();
    let after = raw.rsplit_once("\x1b[?2004l\x1b[?1l\x1b>\x1b[0m\x1b[?25h").map(|(_, t)| t);
    assert_eq!(
        after.map(str::trim_end),
        Some(format!("qmux: recorded {} with 7 markers", file.display()).as_str()),
        "the reset modes, then one line: {:?}",
        &raw[raw.len().saturating_sub(300)..]
    );

    let text = std::fs::read_to_string(&file).expect("the recording was written");
    let markers: Vec<&str> =
        text.lines().filter(|l| l.contains("\"m\"")).map(|l| l.rsplit(',').next().unwrap_or_default()).collect();
    assert_eq!(markers.len(), 8, "seven marks and the end:\n{}", markers.join("\n"));
    assert!(text.contains("\"i\",\"hello\\r\""), "what was typed, without the marker keys:\n{text}");
    assert!(text.contains("\"r\",\"90x28\""), "the resize is in the recording:\n{text}");
    assert!(!text.contains("\\u001d"), "the marker key never reached the chat nor the file");

    let path = file.to_string_lossy().into_owned();
    let out = env.qmux(&["agents", "check", "qmux-chat", &path]);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the stand-in's rule set passes:\n{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = report.lines().filter(|l| l.contains(" at ")).collect();
    let states: Vec<&str> = lines.iter().filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(states, ["waiting", "busy", "waiting", "busy", "approval", "busy", "waiting"], "{report}");
    assert!(
        lines.iter().all(|l| l.contains("after ") && l.ends_with(" ms")),
        "each state seen, with its delay:\n{report}"
    );
    assert!(report.contains("0 waiting while it worked"), "{report}");

    // A marker the rules cannot meet fails the check, naming it: the
    // approval marked as waiting.
    let wrong = text.replacen("expect approval", "expect waiting", 1);
    let wrong_path = env.work_dir().join("wrong.cast");
    std::fs::write(&wrong_path, wrong).expect("write the altered recording");
    let out = env.qmux(&["agents", "check", "qmux-chat", &wrong_path.to_string_lossy()]);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "a missed state fails the check:\n{report}");
    assert!(report.contains("FAIL never waiting") && report.contains("(approval instead)"), "{report}");
}

#[test]
fn bad_input_to_record_and_check_is_one_line_and_a_non_zero_exit() {
    let env = Env::new();
    let taken = env.work_dir().join("taken.cast");
    std::fs::write(&taken, "").expect("write a file");
    let taken = taken.to_string_lossy().into_owned();
    // Not a terminal: the test's pipes.
    assert_error(&env.qmux(&["agents", "record", "x", "--", "qmux-chat"]), &["needs a terminal"]);
    let mut term = env.attach(&["agents", "record", "x", "-o", &taken, "--", "qmux-chat"], 80, 24);
    let status = term.wait_exit();
    assert_eq!(status.exit_code(), 1, "an existing file is not overwritten:\n{}", term.dump());
    assert!(term.screen_text().contains("exists: name another file with -o"), "{}", term.dump());
    assert!(term.is_cooked(), "the terminal was never taken");

    let garbage = env.work_dir().join("garbage.cast");
    std::fs::write(&garbage, "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.5, \"q\", \"\"]\n").unwrap();
    let garbage = garbage.to_string_lossy().into_owned();
    assert_error(&env.qmux(&["agents", "check", "qmux-chat", &garbage]), &["line 2: unknown event kind"]);
    assert_error(&env.qmux(&["agents", "check", "qmux-chat", "/nonexistent.cast"]), &["cannot read /nonexistent.cast"]);
    assert_error(&env.qmux(&["agents", "check", "nobody", &garbage]), &["no agent named \"nobody\""]);
    let broken = env.work_dir().join("broken.toml");
    std::fs::write(&broken, "[detect\n").unwrap();
    assert_error(&env.qmux(&["agents", "check", &broken.to_string_lossy(), &garbage]), &["broken.toml:"]);
}
