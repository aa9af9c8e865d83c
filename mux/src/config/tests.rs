//! The config's parsing and its errors.

use super::*;

#[test]
fn no_config_means_no_agent_rule_files_either() {
    assert_eq!(agents_dir(Path::new("/dev/null")), None);
    assert_eq!(agents_dir(Path::new("/home/u/.config/qmux/config.toml")), Some("/home/u/.config/qmux/agents".into()));
}

#[test]
fn prefix_and_command() {
    let c = Config::parse("prefix = \"C-a\"\ndefault-command = [\"q\", \"chat\"]\n").unwrap();
    assert_eq!(c.prefix, [1]);
    assert_eq!(c.default_command.unwrap(), vec!["q", "chat"]);
    let c = Config::parse("default-command = \"exec bash\"").unwrap();
    assert_eq!(c.default_command.unwrap(), vec!["/bin/sh", "-c", "exec bash"]);
}

#[test]
fn errors_name_line_and_column() {
    let e = Config::parse("prefix = \"C-a\"\nbogus = 1\n").unwrap_err();
    assert!(e.starts_with("2:1:"), "{e}");
    let e = Config::parse("prefix = \"C-a\"\nprefix = \n").unwrap_err();
    assert!(e.starts_with("2:"), "{e}");
    let e = Config::parse("\n  prefix = \"x\"\n").unwrap_err();
    assert!(e.starts_with("2:3:"), "{e}");
}

#[test]
fn history_bytes_reads_sizes_and_refuses_the_rest() {
    assert_eq!(Config::parse("").unwrap().history_bytes, 8 << 20);
    assert_eq!(Config::parse("history-bytes = \"512K\"").unwrap().history_bytes, 512 << 10);
    assert_eq!(Config::parse("history-bytes = \"2g\"").unwrap().history_bytes, 2 << 30);
    assert_eq!(Config::parse("history-bytes = \"100000\"").unwrap().history_bytes, 100000);
    for bad in ["\"8X\"", "\"lots\"", "\"1K\"", "\"\""] {
        let e = Config::parse(&format!("\nhistory-bytes = {bad}")).unwrap_err();
        assert!(e.starts_with("2:1: history-bytes") && e.contains("\"8M\""), "{bad}: {e}");
    }
    assert!(Config::default().describe().contains("history-bytes = \"8M\""));
}

#[test]
fn program_detection_settings() {
    let c = Config::parse("notify = \"osc9\"\n[programs.make]\ndetect = \"quiet\"\nquiet-ms = 300\n").unwrap();
    // The old single value still works: the terminal channel, OSC 9.
    assert_eq!(c.notify.channels, vec![crate::notify::Channel::Terminal]);
    assert_eq!(c.notify.terminal, Some(crate::notify::TermKind::Osc9));
    let d = &c.rules_for(&["/usr/bin/make".into()]).detector;
    assert_eq!(d.detect, Detect::Quiet);
    assert_eq!(d.quiet, Duration::from_millis(300));
    assert_eq!(c.rules_for(&["q".into(), "chat".into()]).detector.detect, Detect::Prompt);
    assert_eq!(c.rules_for(&["bash".into()]).detector.detect, Detect::Auto);
    // Tuning a known agent keeps the rest of its rules.
    let c = Config::parse(
        "[programs.claude]
settle-ms = 50
",
    )
    .unwrap();
    let claude = c.rules_for(&["claude".into()]);
    assert_eq!(claude.detector.settle, Duration::from_millis(50));
    assert!(claude.detector.busy.is_some() && claude.tuned);
    let e = Config::parse("[programs.x]\napproval = \"(\"\n").unwrap_err();
    assert!(e.starts_with("2:1:"), "{e}");
    let e = Config::parse("notify = \"loud\"\n").unwrap_err();
    assert!(e.starts_with("1:"), "{e}");
}

#[test]
fn key_names_round_trip() {
    for k in 0..=26u8 {
        assert_eq!(parse_key(&key_name(&[k])), Some(vec![k]));
    }
    for spec in ["C-Space", "M-a", "M-Space", "M-C-a", "C-]"] {
        let key = parse_key(spec).expect(spec);
        assert_eq!(parse_key(&key_name(&key)), Some(key), "{spec}");
    }
    assert_eq!(parse_key("M-a"), Some(b"\x1ba".to_vec()));
    assert_eq!(key_name(b"\x1b[A"), "Up");
    assert_eq!(key_name(b"\x1b[5~"), "PageUp");
    assert_eq!(parse_key("b"), None);
    assert_eq!(parse_key("C-bb"), None);
}

#[test]
fn values_that_cannot_work_are_refused_where_they_are() {
    let cases = [
        ("default-command = \"\"", "1:1: default-command is empty"),
        ("\ndefault-command = \"  \"", "2:1: default-command is empty"),
        ("default-command = [\"\", \"x\"]", "1:1: default-command names no program"),
        ("default-command = []", "1:1: default-command names no program"),
        ("ssh-command = []", "1:1: ssh-command names no program"),
        ("ssh-command = [\" \"]", "1:1: ssh-command names no program"),
        ("remote-command = \"\"", "1:1: remote-command is empty"),
        ("hosts = [\"a\", \"\"]", "1:1: hosts names an empty host"),
        ("[programs.x]\n  approval = \"\"", "2:3: approval pattern for \"x\" is empty"),
        ("[programs.x]\nquiet-ms = 0", "2:1: quiet-ms for \"x\" is 0"),
    ];
    for (text, want) in cases {
        let e = Config::parse(text).unwrap_err();
        assert!(e.starts_with(want), "{text:?}: {e}");
    }
    // Zeros that mean something still parse: no history, a prompt that
    // counts at once.
    let c = Config::parse("history-limit = 0\n[programs.x]\nsettle-ms = 0\n").unwrap();
    assert_eq!(c.history_limit, 0);
}
