use super::*;

#[test]
fn every_builtin_rule_set_parses() {
    for (name, text) in BUILTIN {
        let set = RuleSet::parse(name, text, Source::Builtin).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!set.matcher.names.is_empty() || !set.matcher.args.is_empty(), "{name} matches nothing");
    }
    assert_eq!(Rules::builtin().all().count(), BUILTIN.len());
}

#[test]
fn matching_by_name_or_script() {
    let rules = Rules::builtin();
    let argv = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(rules.for_command(&argv(&["/usr/bin/q", "chat"])).name, "q");
    assert_eq!(rules.for_command(&argv(&["cat"])).source, Source::Generic);
    let node = crate::foreground::Process {
        pid: 7,
        argv: argv(&["node", "/x/node_modules/@google/gemini-cli/dist/index.js"]),
        exe_name: "node".into(),
    };
    assert_eq!(rules.identify(&[node]).map(|s| s.name.clone()), Some("gemini".into()));
}

#[test]
fn a_rule_set_may_wait_longer_for_a_turn_to_show() {
    let opencode = Rules::builtin().get("opencode").unwrap();
    assert_eq!(opencode.detector.turn_grace, std::time::Duration::from_secs(5));
    let claude = Rules::builtin().get("claude").unwrap();
    assert_eq!(claude.detector.turn_grace, crate::detect::TURN_GRACE);
}

#[test]
fn bad_files_say_where() {
    let e = RuleSet::parse("x", "[busy]\npatterns = ['(']\n", Source::Builtin).unwrap_err();
    assert!(e.starts_with("2:1: a busy pattern is not a valid regex"), "{e}");
    let e = RuleSet::parse("x", "[busy]\nregion = 'top:3'\n", Source::Builtin).unwrap_err();
    assert!(e.contains("busy region \"top:3\""), "{e}");
    let e = RuleSet::parse("x", "[prompt]\ncolour = 1\n", Source::Builtin).unwrap_err();
    assert!(e.starts_with("2:1: unknown field `colour`"), "{e}");
}

#[test]
fn user_files_replace_builtins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("claude.toml"), "[match]\nnames = ['claude']\n[busy]\npatterns = ['zzz']\n")
        .unwrap();
    let rules = Rules::load(Some(dir.path())).unwrap();
    let claude = rules.get("claude").unwrap();
    assert_eq!(claude.source, Source::File(dir.path().join("claude.toml")));
    assert_eq!(claude.detector.busy.as_ref().unwrap().regex.as_str(), "(?:zzz)");
    std::fs::write(dir.path().join("bad.toml"), "[busy\n").unwrap();
    let e = Rules::load(Some(dir.path())).unwrap_err();
    assert!(e.contains("bad.toml:1:"), "{e}");
}

#[test]
fn hook_events_report_states() {
    use crate::detect::State;
    let claude = Rules::builtin().get("claude").unwrap();
    let hooks = claude.hooks.as_ref().expect("Claude Code has hooks");
    assert_eq!(hooks.report("UserPromptSubmit", None), Some(Report::State(State::Busy)));
    assert_eq!(hooks.report("Notification", Some("permission_prompt")), Some(Report::State(State::Approval)));
    assert_eq!(hooks.report("Notification", Some("something_else")), None);
    assert_eq!(hooks.report("SessionEnd", None), Some(Report::End));
    let e = RuleSet::parse("x", "[hooks]\nsettings = '~/s.json'\nevents = { Stop = 'idle' }\n", Source::Builtin)
        .unwrap_err();
    assert!(e.contains("hook event Stop reports \"idle\""), "{e}");
}

#[test]
fn resume_args() {
    let r = Resume {
        latest: Some(vec!["--continue".into()]),
        by_id: Some(vec!["--resume".into(), "{id}".into()]),
        ..Resume::default()
    };
    assert_eq!(r.args(Some("abc")), Some(vec!["--resume".to_string(), "abc".to_string()]));
    assert_eq!(r.args(None), Some(vec!["--continue".to_string()]));
}

/// A screen just tall enough for `text`, as a full-screen program fills
/// it, the cursor at its end.
fn screen_of(text: &str) -> crate::terminal::Terminal {
    let rows = u16::try_from(text.lines().count()).unwrap_or(u16::MAX).max(1);
    let mut t = crate::terminal::Terminal::new(rows, 120);
    t.process(text.replace('\n', "\r\n").as_bytes());
    t
}

/// A raw-mode program with bracketed paste on, quiet for a second.
fn settled() -> crate::detect::Signals {
    crate::detect::Signals {
        raw_mode: true,
        bracketed_paste: true,
        uses_bracketed_paste: true,
        quiet_for: std::time::Duration::from_secs(1),
        ..Default::default()
    }
}

#[test]
fn copilot_knows_an_older_builds_question_and_its_always() {
    use crate::detect::State;
    let copilot = Rules::builtin().get("copilot").expect("built in");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/screens/other/copilot_confirmation_box.txt");
    let text = std::fs::read_to_string(path).expect("the capture");
    let t = screen_of(&text);
    assert_eq!(copilot.detector.classify(&settled(), t.screen()).state, State::Approval);
    let answers = &copilot.answers;
    assert_eq!(answers.keys(Choice::Always, &text).expect("always offered"), b"2");
}

/// Crush cannot be installed here: its screens as its source lays them
/// out (internal/ui/model/ui.go, internal/ui/dialog/permissions.go).
#[test]
fn crush_as_its_source_draws_it() {
    use crate::detect::State;
    let crush = Rules::builtin().get("crush").expect("built in");
    let classify = |text: &str| crush.detector.classify(&settled(), screen_of(text).screen()).state;
    let chat = "\n\n  hello\n\n  Reply 1: hello\n\n";
    let ready = format!("{chat}  > Ready for instructions\n\n  / or ctrl+p commands • tab focus chat • ctrl+c quit");
    assert_eq!(classify(&ready), State::Waiting);
    let working = format!("{chat}  > Thinking...\n\n  esc cancel • / or ctrl+p commands • tab focus chat");
    assert_eq!(classify(&working), State::Busy);
    let asking = format!(
        "{chat}      Permission Required ////////\n      Tool  bash\n      Path  ~/proj\n\n      printf qmux-ok\n\n        Allow    Allow for Session    Deny\n{}",
        "  esc cancel"
    );
    assert_eq!(classify(&asking), State::Approval);
    let answers = &crush.answers;
    assert_eq!(answers.keys(Choice::Always, &asking).expect("always offered"), b"s");
    assert_eq!(answers.keys(Choice::No, &asking).expect("no"), b"d");
}

#[test]
fn a_rule_set_may_give_its_program_longer_to_react_to_a_message() {
    let set = RuleSet::parse("slow", "[input]\nreaction-timeout-ms = 10000\n", Source::Builtin).expect("parses");
    assert_eq!(set.input.reaction_timeout, Duration::from_secs(10));
    let plain = RuleSet::parse("plain", "", Source::Builtin).expect("parses");
    assert_eq!(plain.input.reaction_timeout, Duration::from_secs(3), "the default");
    let opencode = Rules::builtin().get("opencode").expect("built in");
    assert_eq!(opencode.input.reaction_timeout, Duration::from_secs(10));
}
