use super::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/screens");

/// Puts a captured screen into a terminal, cursor at its end.
fn screen_of(text: &str) -> crate::terminal::Terminal {
    sized(60, text)
}

fn sized(rows: u16, text: &str) -> crate::terminal::Terminal {
    let mut p = crate::terminal::Terminal::new(rows, 220);
    p.process(text.replace('\n', "\r\n").as_bytes());
    p
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}"))
        .unwrap_or_else(|e| panic!("fixture {name} (tests/fixtures/screens): {e}"))
}

fn at_prompt() -> Signals {
    Signals {
        raw_mode: true,
        bracketed_paste: true,
        uses_bracketed_paste: true,
        quiet_for: Duration::from_secs(1),
        ..Signals::default()
    }
}

#[test]
fn real_q_chat_screens() {
    let d = Detector { detect: Detect::Prompt, ..Detector::default() };
    let confirm = fixture("amazonq/confirmation_box.txt");
    assert_eq!(d.classify(&at_prompt(), screen_of(&confirm).screen()).state, State::Approval);
    // Two questions answered with `t`, the tool done, the prompt back.
    for plain in ["amazonq/first_message.txt", "amazonq/startup_ready.txt", "amazonq/second_message.txt"] {
        let text = fixture(plain);
        assert_eq!(d.classify(&at_prompt(), screen_of(&text).screen()).state, State::Waiting, "{plain}");
    }
    // The spinner: the line editor is not reading, so busy.
    let thinking = fixture("amazonq/thinking.txt");
    let spinning = Signals { raw_mode: false, bracketed_paste: false, cursor_hidden: true, ..at_prompt() };
    assert_eq!(d.classify(&spinning, screen_of(&thinking).screen()).state, State::Busy);
}

#[test]
fn other_agents_approval_boxes() {
    let d = Detector::default();
    for name in ["other/copilot_confirmation_box.txt", "other/cursor_confirmation_box.txt"] {
        let text = fixture(name);
        let lines: Vec<&str> = text.lines().collect();
        // Their question sits inside a box further up; place the cursor
        // just below it.
        let upto = lines.iter().position(|l| d.approval.regex.is_match(l)).expect(name);
        let screen = screen_of(&lines[..=upto + 1].join("\n"));
        assert!(d.asks_approval(screen.screen()), "{name}");
    }
}

#[test]
fn a_silent_tool_run_is_not_waiting() {
    // q chat prints nothing while a tool runs, but the line editor is
    // not reading: cooked mode, no bracketed paste.
    let d = Detector { detect: Detect::Prompt, ..Detector::default() };
    let s = Signals { raw_mode: false, bracketed_paste: false, quiet_for: Duration::from_secs(30), ..at_prompt() };
    let v = d.classify(&s, screen_of("> run it\r\n").screen());
    assert_eq!((v.state, v.reason), (State::Busy, Reason::NotRaw));
}

#[test]
fn the_prompt_must_settle_first() {
    let d = Detector { detect: Detect::Prompt, ..Detector::default() };
    let s = Signals { quiet_for: Duration::from_millis(50), ..at_prompt() };
    let v = d.classify(&s, screen_of("> ").screen());
    assert_eq!(v.state, State::Busy);
    assert_eq!(v.recheck_after, Some(Duration::from_millis(200)));
}

#[test]
fn answered_question_no_longer_counts() {
    let d = Detector { detect: Detect::Prompt, ..Detector::default() };
    let text = "Allow this action? [y/n/t]:\n\n> y\n\nran it\nline\nline\nline\nline\n\n> ";
    assert_eq!(d.classify(&at_prompt(), screen_of(text).screen()).state, State::Waiting);
}

#[test]
fn programs_without_a_line_editor_fall_back_to_quiet() {
    let d = Detector::default();
    let quiet = |ms| Signals { quiet_for: Duration::from_millis(ms), ..Signals::default() };
    assert_eq!(d.classify(&quiet(100), screen_of("$ make").screen()).state, State::Busy);
    assert_eq!(d.classify(&quiet(2000), screen_of("$ make").screen()).state, State::Waiting);
    assert_eq!(d.classify(&quiet(2000), screen_of("Continue? [y/n]:").screen()).state, State::Approval);
}

#[test]
fn sent_input_makes_the_prompt_stale() {
    let d = Detector::default();
    let s = Signals { awaiting_reaction: true, ..at_prompt() };
    assert_eq!(d.classify(&s, screen_of("> ").screen()).state, State::Busy);
}

/// A TUI that hides the cursor for its life and redraws while it asks.
fn tui() -> Detector {
    Detector {
        detect: Detect::Prompt,
        cursor: Cursor::Ignore,
        busy: Some(Pattern::new("esc to interrupt", Region::Bottom(4)).unwrap()),
        approval: Pattern::new(r"Do you want to proceed\?", Region::Bottom(12)).unwrap(),
        approval_settles: false,
        busy_title: Some(Regex::new("^[⠁-⣿]").unwrap()),
        ..Detector::default()
    }
}

#[test]
fn a_hidden_cursor_can_be_ignored() {
    let s = Signals { cursor_hidden: true, ..at_prompt() };
    assert_eq!(tui().classify(&s, screen_of("> ").screen()).state, State::Waiting);
    let v = Detector::default().classify(&s, screen_of("> ").screen());
    assert_eq!((v.state, v.reason), (State::Busy, Reason::CursorHidden));
}

#[test]
fn busy_hints_titles_and_progress_hold_off_waiting() {
    let d = tui();
    let screen = sized(6, "> hello\n\n* Thinking (esc to interrupt)\n> ");
    let v = d.classify(&at_prompt(), screen.screen());
    assert_eq!(v.reason, Reason::BusyHint(Found { row: 2, text: "esc to interrupt".into() }));
    let spinner = Signals { title: "⠋ claude".into(), ..at_prompt() };
    assert_eq!(d.classify(&spinner, screen_of("> ").screen()).state, State::Busy);
    let progress = Signals { progress: 3, ..at_prompt() };
    assert_eq!(d.classify(&progress, screen_of("> ").screen()).reason, Reason::Progress(3));
}

#[test]
fn a_question_counts_at_once_while_the_program_redraws() {
    let d = tui();
    let s = Signals { quiet_for: Duration::from_millis(10), ..at_prompt() };
    let screen = sized(12, "Bash command\n  echo hi\nDo you want to proceed?\n> 1. Yes\n  2. No\n");
    assert_eq!(d.classify(&s, screen.screen()).state, State::Approval);
    // Scrolled out of the region: no longer the live question.
    let stale = format!("Do you want to proceed?\n{}", "x\n".repeat(40));
    assert_eq!(d.classify(&at_prompt(), sized(12, &stale).screen()).state, State::Waiting);
}

#[test]
fn a_tui_stays_waiting_through_idle_redraws_until_a_busy_sign() {
    let redrawn = Signals { quiet_for: Duration::from_millis(5), was_waiting: true, ..at_prompt() };
    assert_eq!(tui().classify(&redrawn, screen_of("> ").screen()).state, State::Waiting);
    let working = sized(4, "> hi\n* Thinking (esc to interrupt)\n");
    assert_eq!(tui().classify(&redrawn, working.screen()).state, State::Busy);
    // A line editor without busy signs still needs quiet again.
    let d = Detector { detect: Detect::Prompt, ..Detector::default() };
    assert_eq!(d.classify(&redrawn, screen_of("> ").screen()).state, State::Busy);
}

#[test]
fn a_half_drawn_frame_does_not_end_waiting() {
    let d = Detector { prompt: Some(Pattern::new("^ > ", Region::LastLines(3)).unwrap()), ..tui() };
    let blank = sized(6, "banner\n");
    let redrawing = Signals { quiet_for: Duration::from_millis(10), was_waiting: true, ..at_prompt() };
    assert_eq!(d.classify(&redrawing, blank.screen()).state, State::Waiting);
    let settled = Signals { quiet_for: Duration::from_secs(1), ..redrawing };
    assert_eq!(d.classify(&settled, blank.screen()).reason, Reason::NoPrompt);
    let fresh = Signals { was_waiting: false, ..at_prompt() };
    assert_eq!(d.classify(&fresh, sized(6, "banner\n > \n").screen()).state, State::Waiting);
}

#[test]
fn the_first_prompt_can_need_longer_quiet() {
    let d = Detector { first_settle: Some(Duration::from_secs(1)), ..tui() };
    let s = Signals { quiet_for: Duration::from_millis(500), ..at_prompt() };
    let v = d.classify(&s, screen_of("> ").screen());
    assert_eq!((v.state, v.recheck_after), (State::Busy, Some(Duration::from_millis(500))));
    let later = Signals { has_waited: true, ..s };
    assert_eq!(d.classify(&later, screen_of("> ").screen()).state, State::Waiting);
}

#[test]
fn a_report_is_the_authority() {
    let s = Signals { reported: Some(State::Busy), ..at_prompt() };
    assert_eq!(tui().classify(&s, screen_of("> ").screen()).reason, Reason::Reported);
    let typed = Signals { awaiting_reaction: true, reported: Some(State::Waiting), ..at_prompt() };
    assert_eq!(tui().classify(&typed, screen_of("> ").screen()).reason, Reason::AwaitingReaction);
    let exited = Signals { exited: true, ..s };
    assert_eq!(tui().classify(&exited, screen_of("> ").screen()).state, State::Exited);
}

#[test]
fn last_lines_follow_an_inline_program_down_the_screen() {
    let p = Pattern::new("^ > ", Region::LastLines(2)).unwrap();
    let early = sized(12, "banner\n\n > type here\nfooter\n");
    assert_eq!(p.find(early.screen()).map(|f| f.row), Some(2));
    let bottom = Pattern::new("^ > ", Region::Bottom(2)).unwrap();
    assert_eq!(bottom.find(early.screen()), None, "rows 10 and 11 are blank");
}

#[test]
fn regions_parse() {
    assert_eq!(Region::parse("bottom:5"), Some(Region::Bottom(5)));
    assert_eq!(Region::parse("above-cursor:4"), Some(Region::AboveCursor(4)));
    assert_eq!(Region::parse("screen"), Some(Region::Screen));
    assert_eq!(Region::parse("last-lines:6"), Some(Region::LastLines(6)));
    for bad in ["bottom", "bottom:0", "top:3", "bottom:x"] {
        assert_eq!(Region::parse(bad), None, "{bad}");
    }
}

/// Just after Enter, a program with busy signs has not shown one yet: its
/// prompt is the old one until it does, or until the grace is over.
#[test]
fn a_turn_just_submitted_is_busy_until_a_busy_sign_or_the_grace() {
    let d = Detector {
        detect: Detect::Prompt,
        busy: Some(Pattern::new("esc to interrupt", Region::Bottom(4)).unwrap()),
        ..Detector::default()
    };
    let prompt = screen_of("> ");
    let just = Signals { since_submit: Some(Duration::from_millis(300)), ..at_prompt() };
    let v = d.classify(&just, prompt.screen());
    assert_eq!((v.state, v.reason), (State::Busy, Reason::TurnStarting));
    assert_eq!(v.recheck_after, Some(TURN_GRACE - Duration::from_millis(300)));
    let seen_busy = Signals { busy_since_submit: true, ..just.clone() };
    assert_eq!(d.classify(&seen_busy, prompt.screen()).state, State::Waiting, "a turn that showed work and ended");
    let late = Signals { since_submit: Some(TURN_GRACE), ..at_prompt() };
    assert_eq!(d.classify(&late, prompt.screen()).state, State::Waiting, "no busy sign within the grace");
    // A program with no busy signs (a line editor) is not held.
    let plain = Detector { detect: Detect::Prompt, ..Detector::default() };
    assert_eq!(plain.classify(&just, prompt.screen()).state, State::Waiting);
}

#[test]
fn the_generic_rules_take_a_hidden_cursor_as_a_tuis_and_wait_for_quiet() {
    let d = Detector::generic();
    let hidden = |ms| Signals { cursor_hidden: true, quiet_for: Duration::from_millis(ms), ..at_prompt() };
    let screen = screen_of("╭────╮\n│ >  │\n╰────╯");
    // A pause while it streams is not the prompt...
    assert_eq!(d.classify(&hidden(600), screen.screen()).reason, Reason::Settling);
    // ...a longer quiet is.
    assert_eq!(d.classify(&hidden(1600), screen.screen()).state, State::Waiting);
    // A line editor's shown cursor still settles at once.
    assert_eq!(d.classify(&at_prompt(), screen.screen()).state, State::Waiting);
    // The hints agents show while they work, and title spinners.
    for hint in ["* Thinking… (esc to interrupt)", "⠧ Thinking... (esc to cancel, 3s)", "working · ctrl+c to stop"]
    {
        let v = d.classify(&hidden(5000), sized(6, &format!("{hint}\n > ")).screen());
        assert!(matches!(v.reason, Reason::BusyHint(_)), "{hint}: {v:?}");
    }
    let spinning = Signals { title: "◐ doing it".into(), ..hidden(5000) };
    assert_eq!(d.classify(&spinning, screen.screen()).state, State::Busy);
}

#[test]
fn the_generic_rules_know_a_question_by_its_shape() {
    let d = Detector::generic();
    let s = Signals { cursor_hidden: true, quiet_for: Duration::from_millis(300), ..at_prompt() };
    for (menu, question) in [
        ("Bash command\n  rm -rf build\nDo you want to proceed?\n❯ 1. Yes\n  2. No\n", "Do you want to proceed?"),
        (
            "│ Allow execution of [Shell]?   │\n│                               │\n│ ● 1. Allow once               │\n│   2. No (esc)                 │\n╰───────────────────────────────╯",
            "Allow execution of [Shell]?",
        ),
        ("Would you like to run the following command?\n\n  $ make\n\n› 1. Yes, proceed (y)\n  2. No (esc)", "Would you like to run the following command?"),
        ("Run shell command? (Y)es/(N)o [Yes]:", "Run shell command? (Y)es/(N)o [Yes]:"),
        (
            "  ┃  △ Permission required\n  ┃  $ make\n  ┃\n  ┃   Allow once   Allow always   Reject     ⇆ select\n  ┃",
            "┃   Allow once   Allow always   Reject     ⇆ select",
        ),
    ] {
        let v = d.classify(&s, sized(20, menu).screen());
        assert!(matches!(&v.reason, Reason::Question(f) if f.text == question), "{menu}: {v:?}");
    }
    // A numbered list in a reply, with the prompt below it, is no question.
    let reply = "Which do you want?\n1. Red\n2. Blue\n\n\n\n\n\n\n\n\n > ";
    assert_ne!(d.classify(&s, sized(20, reply).screen()).state, State::Approval);
    // Nor a sentence that allows and rejects.
    let prose = "Allow the change, or reject it? I would allow it.\n > ";
    assert_ne!(d.classify(&s, sized(20, prose).screen()).state, State::Approval);
    // Nor a list with no question above it.
    let tips = "Tips for getting started:\n1. Create GEMINI.md files\n2. /help for more information\n > ";
    assert_ne!(d.classify(&s, sized(20, tips).screen()).state, State::Approval);
}

/// aider's question stays just above its next prompt once answered: a line
/// editor's y/n question on or above the row it took its answer on is no
/// longer asked. A TUI's cursor (hidden) says nothing of where it took input.
#[test]
fn the_generic_rules_know_an_answered_y_n_question() {
    let d = Detector::generic();
    let answered = "Add command output to the chat? (Y)es/(N)o [Yes]: y\nAdded 2 lines of output.\n───\ndiff> ";
    let s = Signals { input_row: Some(0), ..at_prompt() };
    assert_eq!(d.classify(&s, sized(20, answered).screen()).state, State::Waiting);
    let hidden = Signals { cursor_hidden: true, quiet_for: Duration::from_secs(2), ..s.clone() };
    let tui = format!("\x1b[?25l{answered}");
    assert_eq!(d.classify(&hidden, sized(20, &tui).screen()).state, State::Approval);
    let asked_below = Signals { input_row: None, ..s };
    assert_eq!(d.classify(&asked_below, sized(20, answered).screen()).state, State::Approval);
}

#[test]
fn the_generic_rules_know_opencodes_busy_hint() {
    let d = Detector::generic();
    let s = Signals { quiet_for: Duration::from_millis(300), ..at_prompt() };
    let screen = sized(6, "  ┃  hello\n  ╹▀▀▀▀▀▀▀▀\n   ■■⬝⬝⬝⬝⬝⬝  esc interrupt     ctrl+p commands");
    assert_eq!(d.classify(&s, screen.screen()).state, State::Busy);
}
