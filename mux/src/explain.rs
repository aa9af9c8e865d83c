//! `qmux explain`: why a session's state is what it is. The program found in
//! its foreground, the rule set in force and where it came from, every
//! signal's value, what each pattern found, and the rule that decided, so a
//! user can report a wrong state with evidence.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::detect::{Found, Signals, State};
use crate::rules::RuleSet;

/// Everything `explain` shows; `--json` prints it as it is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Explanation {
    /// `INDEX:NAME`, or the screen file explained.
    pub session: String,
    pub command: Vec<String>,
    /// The PTY's foreground process group.
    pub foreground_group: Option<i32>,
    /// The agent's process, when one was identified: (pid, argv).
    pub process: Option<(i32, Vec<String>)>,
    /// The rule set's name, its description and where it came from.
    pub rules: String,
    pub description: String,
    pub source: String,
    /// `[programs.NAME]` in the config tunes it too.
    pub tuned: bool,
    pub signals: Signals,
    pub patterns: Vec<PatternFinding>,
    pub state: State,
    /// The rule that decided.
    pub reason: String,
    /// The agent's own conversation id, when known.
    pub conversation: Option<String>,
    /// What `qmux restore` would run.
    pub resume: Option<Vec<String>>,
    /// Sessions on worktrees of the same repository whose changes would
    /// conflict with this one's (`qmux new -w`).
    #[serde(default)]
    pub conflicts: Vec<crate::worktree::Conflict>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PatternFinding {
    /// `approval`, `busy` or `prompt`.
    pub rule: String,
    /// `/REGEX/ in REGION`.
    pub pattern: String,
    pub found: Option<Found>,
}

impl Explanation {
    /// Explains one screen under one rule set.
    pub fn of(session: String, rules: &RuleSet, signals: Signals, screen: &vt100::Screen) -> Explanation {
        let verdict = rules.detector.classify(&signals, screen);
        let patterns = rules
            .detector
            .findings(screen)
            .into_iter()
            .map(|(rule, pattern, found)| PatternFinding { rule: rule.into(), pattern, found })
            .collect();
        Explanation {
            session,
            command: Vec::new(),
            foreground_group: None,
            process: None,
            rules: rules.name.clone(),
            description: rules.description.clone(),
            source: rules.source.to_string(),
            tuned: rules.tuned,
            signals,
            patterns,
            state: verdict.state,
            reason: verdict.reason.to_string(),
            conversation: None,
            resume: None,
            conflicts: Vec::new(),
        }
    }

    /// The report for people.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let yes = |b: bool| if b { "yes" } else { "no" };
        let _ = writeln!(out, "session    {}", self.session);
        if !self.command.is_empty() {
            let _ = writeln!(out, "command    {}", self.command.join(" "));
        }
        match (&self.process, self.foreground_group) {
            (Some((pid, argv)), _) => {
                let _ = writeln!(out, "program    pid {pid}: {}", argv.join(" "));
            }
            (None, Some(group)) => {
                let _ = writeln!(out, "program    foreground group {group}: no known agent in it");
            }
            (None, None) => {}
        }
        let tuned = if self.tuned { ", tuned by [programs] in the config" } else { "" };
        let _ = writeln!(out, "rules      {} ({}): {}{tuned}", self.rules, self.description, self.source);
        let s = &self.signals;
        let _ = writeln!(
            out,
            "signals    raw mode {} · bracketed paste {} · cursor {} · quiet {} ms · input pending {}",
            yes(s.raw_mode),
            if s.bracketed_paste { "on" } else { "off" },
            if s.cursor_hidden { "hidden" } else { "shown" },
            s.quiet_for.as_millis(),
            yes(s.awaiting_reaction),
        );
        let report = s.reported.map_or("none".to_string(), |r| r.name().to_string());
        let progress = if s.progress == 0 { "none".to_string() } else { s.progress.to_string() };
        let _ = writeln!(out, "           title {:?} · progress {progress} · hook report {report}", s.title);
        for p in &self.patterns {
            let found = match &p.found {
                Some(f) => format!("{:?} on row {}", f.text, f.row),
                None => "not on screen".into(),
            };
            let _ = writeln!(out, "{:<10} {} → {found}", p.rule, p.pattern);
        }
        let _ = writeln!(out, "state      {}: {}", self.state.name(), self.reason);
        if let Some(id) = &self.conversation {
            let _ = writeln!(out, "conversation {id}");
        }
        if let Some(cmd) = &self.resume {
            let _ = writeln!(out, "resume     {}", cmd.join(" "));
        }
        for c in &self.conflicts {
            let both = c.overlap.join(", ");
            let _ = writeln!(out, "conflict   with {} in {} (both changed {both})", c.session, c.files.join(", "));
        }
        out
    }
}

/// Signals for a saved screen: a program reading at its prompt (raw mode,
/// bracketed paste on, output long quiet), so the screen's text decides.
pub fn screen_signals(screen: &vt100::Screen) -> Signals {
    Signals {
        raw_mode: true,
        bracketed_paste: true,
        uses_bracketed_paste: true,
        cursor_hidden: screen.hide_cursor(),
        quiet_for: std::time::Duration::from_secs(10),
        ..Signals::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Rules;

    #[test]
    fn explains_a_question_on_screen() {
        let rules = Rules::builtin().get("claude").expect("built in");
        let mut t = crate::terminal::Terminal::new(10, 80);
        t.process(b"\x1b[?25l Bash command\r\n   echo hi\r\n Do you want to proceed?\r\n > 1. Yes\r\n   2. No\r\n");
        let e = Explanation::of("screen.txt".into(), &rules, screen_signals(t.screen()), t.screen());
        assert_eq!(e.state, State::Approval);
        assert!(e.reason.contains("Do you want to proceed?"), "{}", e.reason);
        let text = e.text();
        assert!(text.contains("rules      claude (Claude Code): built in"), "{text}");
        assert!(text.contains("cursor hidden"), "{text}");
        assert!(text.contains("state      approval: approval question"), "{text}");
    }
}
