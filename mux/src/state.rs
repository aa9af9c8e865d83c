//! What a session's program is doing: busy, waiting at its prompt, asking
//! for a tool approval, or exited.
//!
//! Silence alone is a poor guess: `q chat` prints nothing while a tool runs.
//! A line editor gives better signals. rustyline (and readline) put the
//! terminal in raw mode and turn bracketed paste on only while they read a
//! line, so "raw + bracketed paste + quiet for a moment" means "at the
//! prompt". Programs that never turn bracketed paste on fall back to
//! "quiet for a while". All of it is plain logic over a snapshot of signals,
//! so tests can drive it without a PTY.

use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Busy,
    Waiting,
    Approval,
    Exited,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Busy => "busy",
            State::Waiting => "waiting",
            State::Approval => "approval",
            State::Exited => "exited",
        }
    }
}

/// How to tell "at the prompt" for one program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Detect {
    /// Line-editor signals (raw mode + bracketed paste), for known chats.
    Prompt,
    /// Output quiet for a while.
    Quiet,
    /// Prompt signals once the program has shown it uses them, else quiet.
    Auto,
}

/// Per-program detection settings (config `[programs.NAME]`).
#[derive(Debug, Clone)]
pub struct Detector {
    pub detect: Detect,
    /// With prompt signals: how long output must be quiet (spinners redraw
    /// every 80 ms, so this is well above that).
    pub settle: Duration,
    /// Without them: how long output must be quiet to count as waiting.
    pub quiet: Duration,
    pub approval: Regex,
}

/// The approval questions of q chat (old and new), kiro-cli, and the common
/// shapes other agents use.
pub const DEFAULT_APPROVAL: &str =
    r"\[y/n/t\]:|\[y/n\]:|Allow this action\?|Do you want to run this command\?|Run this command\?";

impl Default for Detector {
    fn default() -> Self {
        Detector {
            detect: Detect::Auto,
            settle: Duration::from_millis(250),
            quiet: Duration::from_millis(1500),
            // The pattern is a constant that the tests compile.
            approval: Regex::new(DEFAULT_APPROVAL).unwrap_or_else(|_| Regex::new("$^").expect("empty regex")),
        }
    }
}

/// A snapshot of what can be observed about a session.
#[derive(Debug, Clone, Copy, Default)]
pub struct Signals {
    pub exited: bool,
    /// The PTY's line discipline has ICANON and ECHO off.
    pub raw_mode: bool,
    pub bracketed_paste: bool,
    /// The program has turned bracketed paste on at some point.
    pub uses_bracketed_paste: bool,
    pub cursor_hidden: bool,
    /// Time since the last output.
    pub quiet_for: Duration,
    /// Input was sent and the program has not answered with output yet: its
    /// prompt on screen is stale.
    pub awaiting_reaction: bool,
}

/// The verdict, and when to look again if it may change with time alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub state: State,
    pub recheck_after: Option<Duration>,
}

impl Detector {
    pub fn classify(&self, s: &Signals, screen: &vt100::Screen) -> Verdict {
        let busy = |recheck_after| Verdict { state: State::Busy, recheck_after };
        if s.exited {
            return Verdict { state: State::Exited, recheck_after: None };
        }
        if s.awaiting_reaction {
            return busy(None);
        }
        let use_prompt = match self.detect {
            Detect::Prompt => true,
            Detect::Quiet => false,
            Detect::Auto => s.uses_bracketed_paste,
        };
        let needed = if use_prompt {
            if !(s.raw_mode && s.bracketed_paste && !s.cursor_hidden) {
                return busy(None);
            }
            self.settle
        } else {
            self.quiet
        };
        if s.quiet_for < needed {
            return busy(Some(needed - s.quiet_for));
        }
        let state = if self.asks_approval(screen) { State::Approval } else { State::Waiting };
        Verdict { state, recheck_after: None }
    }

    /// Whether an approval question stands just above the prompt: on the
    /// cursor's row or among the few non-blank rows above it. An answered
    /// question scrolls away from the prompt, so it stops counting.
    pub fn asks_approval(&self, screen: &vt100::Screen) -> bool {
        let (_, cols) = screen.size();
        let cursor_row = usize::from(screen.cursor_position().0);
        let rows: Vec<String> = screen.rows(0, cols.get()).take(cursor_row + 1).collect();
        rows.iter().rev().filter(|r| !r.trim().is_empty()).take(4).any(|r| self.approval.is_match(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/screens");

    /// Puts a captured screen into a terminal, cursor at its end.
    fn screen_of(text: &str) -> crate::session::Terminal {
        let mut p = crate::session::Terminal::new(60, 220);
        p.process(text.replace('\n', "\r\n").as_bytes());
        p
    }

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}/{name}"))
            .unwrap_or_else(|e| panic!("fixture {name} (the shared/ folder beside the repo): {e}"))
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
            let upto = lines.iter().position(|l| d.approval.is_match(l)).expect(name);
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
        assert_eq!(d.classify(&s, screen_of("> run it\r\n").screen()).state, State::Busy);
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
}
