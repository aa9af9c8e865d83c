use std::time::Duration;

use super::*;

fn notice(kind: Kind, detail: Option<&str>) -> Notice {
    Notice::new(Facts {
        index: 3,
        name: "codex",
        agent: Some("codex"),
        kind,
        detail,
        took: Some(Duration::from_secs(134)),
        code: Some("1"),
    })
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn a_notice_names_the_session_the_event_and_why() {
    let n = notice(Kind::Approval, Some("Would you like to run the following command?  $ rm -rf build"));
    assert_eq!(n.text, "3:codex needs approval: Would you like to run the following command? $ rm -rf build");
    let n = notice(Kind::Finished, Some("End of reply."));
    assert_eq!(n.text, "3:codex finished after 2m 14s: \"End of reply.\"");
    assert_eq!(notice(Kind::Exited, None).text, "3:codex exited with code 1");
    let other = Notice::new(Facts { name: "api", ..facts_of(Kind::Approval) });
    assert_eq!(other.title, "3:api (codex) needs approval");
    let long = "x".repeat(500);
    assert!(notice(Kind::Approval, Some(&long)).body.chars().count() <= MAX_TEXT + 1);
}

fn facts_of(kind: Kind) -> Facts<'static> {
    Facts { index: 3, name: "codex", agent: Some("codex"), kind, detail: None, took: None, code: None }
}

#[test]
fn each_terminal_gets_its_own_escape() {
    assert_eq!(TermKind::detect(&env(&[("TERM_PROGRAM", "iTerm.app")])), TermKind::Osc9);
    assert_eq!(TermKind::detect(&env(&[("TERM_PROGRAM", "WezTerm")])), TermKind::Osc9);
    assert_eq!(TermKind::detect(&env(&[("TERM_PROGRAM", "ghostty")])), TermKind::Osc9);
    assert_eq!(TermKind::detect(&env(&[("WT_SESSION", "x")])), TermKind::Osc9);
    assert_eq!(TermKind::detect(&env(&[("TERM", "foot")])), TermKind::Osc777);
    assert_eq!(TermKind::detect(&env(&[("TERM", "rxvt-unicode-256color")])), TermKind::Osc777);
    assert_eq!(TermKind::detect(&env(&[("TERM", "xterm-kitty")])), TermKind::Osc99);
    assert_eq!(TermKind::detect(&env(&[("TERM", "xterm-256color")])), TermKind::Bell);
    let n = notice(Kind::Exited, None);
    assert_eq!(TermKind::Osc9.escape(&n, false), b"\x1b]9;qmux: 3:codex exited with code 1\x07");
    let n = notice(Kind::Finished, Some("done; all good"));
    assert_eq!(
        String::from_utf8(TermKind::Osc777.escape(&n, false)).unwrap(),
        "\x1b]777;notify;qmux: 3:codex finished after 2m 14s;\"done; all good\"\x07"
    );
    let kitty = String::from_utf8(TermKind::Osc99.escape(&n, false)).unwrap();
    assert!(kitty.starts_with("\x1b]99;i=3:d=0;qmux: 3:codex finished after 2m 14s\x1b\\"), "{kitty:?}");
    assert!(kitty.ends_with("\x1b]99;i=3:p=body;\"done; all good\"\x1b\\"), "{kitty:?}");
    assert_eq!(TermKind::Bell.escape(&n, true), b"\x07");
    // Inside tmux: passed through, every ESC doubled.
    assert_eq!(
        TermKind::Osc9.escape(&notice(Kind::Exited, None), true),
        b"\x1bPtmux;\x1b\x1b]9;qmux: 3:codex exited with code 1\x07\x1b\\"
    );
}

#[test]
fn settings_read_lists_old_values_and_refuse_the_rest() {
    let file = |notify: Option<ChannelsSpec>| SettingsFile { notify, ..SettingsFile::default() };
    let s = Settings::from_file(file(Some(ChannelsSpec::Many(vec!["terminal".into(), "desktop".into()])))).unwrap();
    assert_eq!(s.channels, vec![Channel::Terminal, Channel::Desktop]);
    let s = Settings::from_file(file(Some(ChannelsSpec::One("bell".into())))).unwrap();
    assert_eq!((s.channels, s.terminal), (vec![Channel::Terminal], Some(TermKind::Bell)));
    assert!(Settings::from_file(file(Some(ChannelsSpec::One("none".into())))).unwrap().channels.is_empty());
    let e = Settings::from_file(file(Some(ChannelsSpec::Many(vec!["pager".into()])))).unwrap_err();
    assert_eq!(e.0, "notify");
    assert!(e.1.contains("\"pager\" is not a channel"), "{}", e.1);
    let e = Settings::from_file(file(Some(ChannelsSpec::Many(vec!["command".into()])))).unwrap_err();
    assert!(e.1.contains("notify-command is not set"), "{}", e.1);
    let e = Settings::from_file(SettingsFile { notify_on: Some(vec!["lunch".into()]), ..SettingsFile::default() })
        .unwrap_err();
    assert_eq!(e.0, "notify-on");
}

#[test]
fn durations_read_short() {
    assert_eq!(short_duration(Duration::from_secs(14)), "14s");
    assert_eq!(short_duration(Duration::from_secs(134)), "2m 14s");
    assert_eq!(short_duration(Duration::from_secs(3780)), "1h 3m");
}

#[test]
fn the_reply_and_the_question_are_read_off_the_screen() {
    let mut parser = crate::terminal::Terminal::new(10, 60);
    parser.process(
        "• Reply 1: hello\r\n  End of reply.\r\n  Worked for 1s • 04:19\r\n\r\n› anything\r\n  ? for shortcuts"
            .as_bytes(),
    );
    let rules = crate::rules::Notices::default();
    assert_eq!(screen::reply_last_line(parser.screen(), 4, &rules).as_deref(), Some("End of reply."));
    let mut parser = crate::terminal::Terminal::new(10, 60);
    parser.process("  Would you like to run the following command?\r\n\r\n  $ rm -rf build\r\n› 1. Yes".as_bytes());
    let rules =
        crate::rules::Notices { detail: Some(regex::Regex::new(r"(?m)^\s*\$ (.+)$").unwrap()), ..Default::default() };
    assert_eq!(
        screen::question(parser.screen(), 0, &rules),
        "Would you like to run the following command? rm -rf build"
    );
}
