//! What a session's program is doing: busy, waiting at its prompt, asking
//! for a tool approval, or exited.
//!
//! Silence alone is a poor guess: `q chat` prints nothing while a tool runs,
//! and Codex redraws all the time while it asks a question. Each program
//! gets a [`Detector`], built from its rule set (see [`crate::rules`]), that
//! weighs every signal qmux has:
//! - the line discipline (raw mode) and the screen's modes (bracketed paste,
//!   cursor visibility): rustyline turns paste on only while it reads a line;
//! - how long output has been quiet;
//! - patterns in named regions of the live screen (a busy hint such as
//!   `esc to interrupt`, the approval question, the input box);
//! - the window title (spinner glyphs) and OSC 9;4 progress;
//! - a state the program reported itself through a hook.
//!
//! All of it is plain logic over a snapshot, so tests drive it without a
//! PTY, and `qmux explain` shows every step.

use std::fmt;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// A program that just started is busy until it shows otherwise.
    #[default]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Detect {
    /// Line-editor signals (raw mode, bracketed paste, ...) and the screen.
    Prompt,
    /// Output quiet for a while.
    Quiet,
    /// Prompt signals once the program has shown it uses them, else quiet.
    Auto,
}

/// Whether a visible cursor is part of "at the prompt". Ink and some other
/// TUIs hide the terminal's cursor for their whole life and draw their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cursor {
    Visible,
    Ignore,
    /// A hidden cursor is a TUI drawing its own: not a sign of work, but
    /// its pauses while it streams are, so it needs `quiet`, not `settle`.
    Quiet,
}

/// A part of the live screen a pattern is looked for in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// Every row.
    Screen,
    /// The last N rows.
    Bottom(u16),
    /// The last N non-blank rows: the bottom of what an inline program has
    /// drawn so far, wherever that is on the screen.
    LastLines(u16),
    /// The cursor's row and the non-blank rows above it, N in all: where a
    /// line editor's question stands just above its prompt. Once answered
    /// it scrolls away from the prompt and stops counting.
    AboveCursor(u16),
}

impl Region {
    /// `screen`, `bottom:N`, `last-lines:N`, `above-cursor:N`.
    pub fn parse(spec: &str) -> Option<Region> {
        let (kind, n) = spec.split_once(':').map_or((spec, None), |(k, n)| (k, n.trim().parse::<u16>().ok()));
        match (kind.trim(), n) {
            ("screen", None) => Some(Region::Screen),
            ("bottom", Some(n)) if n > 0 => Some(Region::Bottom(n)),
            ("last-lines", Some(n)) if n > 0 => Some(Region::LastLines(n)),
            ("above-cursor", Some(n)) if n > 0 => Some(Region::AboveCursor(n)),
            _ => None,
        }
    }

    /// The rows of the region, as (row, text), top first.
    fn rows(self, screen: &vt100::Screen) -> Vec<(u16, String)> {
        let (rows, cols) = screen.size();
        let (rows, cols) = (rows.get(), cols.get());
        let text = |first: u16, last: u16| -> Vec<(u16, String)> {
            (first..=last.min(rows - 1)).zip(screen.rows(0, cols).skip(usize::from(first))).collect()
        };
        match self {
            Region::Screen => text(0, rows - 1),
            Region::Bottom(n) => text(rows.saturating_sub(n), rows - 1),
            Region::LastLines(n) => last_non_blank(text(0, rows - 1), n),
            Region::AboveCursor(n) => last_non_blank(text(0, screen.cursor_position().0), n),
        }
    }
}

/// The last `n` of these rows that are not blank, top first.
fn last_non_blank(rows: Vec<(u16, String)>, n: u16) -> Vec<(u16, String)> {
    let mut picked: Vec<(u16, String)> =
        rows.into_iter().rev().filter(|(_, r)| !r.trim().is_empty()).take(usize::from(n)).collect();
    picked.reverse();
    picked
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Region::Screen => write!(f, "screen"),
            Region::Bottom(n) => write!(f, "bottom:{n}"),
            Region::LastLines(n) => write!(f, "last-lines:{n}"),
            Region::AboveCursor(n) => write!(f, "above-cursor:{n}"),
        }
    }
}

/// A regular expression looked for row by row in a region of the screen.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub regex: Regex,
    pub region: Region,
}

/// Where a pattern matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    pub row: u16,
    /// The matched text.
    pub text: String,
}

impl Pattern {
    pub fn new(regex: &str, region: Region) -> Result<Pattern, regex::Error> {
        Ok(Pattern { regex: Regex::new(regex)?, region })
    }

    /// The lowest match in the region: the newest text on screen.
    pub fn find(&self, screen: &vt100::Screen) -> Option<Found> {
        self.region
            .rows(screen)
            .into_iter()
            .rev()
            .find_map(|(row, text)| self.regex.find(&text).map(|m| Found { row, text: m.as_str().to_string() }))
    }
}

/// The approval questions of q chat (old and new), kiro-cli, and the common
/// shapes other line-editor agents use: what programs without a rule set of
/// their own are checked for.
pub const DEFAULT_APPROVAL: &str =
    r"\[y/n/t\]:|\[y/n\]:|Allow this action\?|Do you want to run this command\?|Run this command\?";

/// One program's detection rules.
#[derive(Debug, Clone)]
pub struct Detector {
    pub detect: Detect,
    /// With prompt signals: the PTY must be in raw mode.
    pub raw_mode: bool,
    /// With prompt signals: bracketed paste must be on.
    pub bracketed_paste: bool,
    pub cursor: Cursor,
    /// With prompt signals: how long output must be quiet (spinners redraw
    /// every 80 ms, so this is well above that).
    pub settle: Duration,
    /// Without them: how long output must be quiet to count as waiting.
    pub quiet: Duration,
    /// With prompt signals: the quiet needed before the first prompt since
    /// the program started, for TUIs that draw their prompt once before
    /// they can take input (Gemini CLI redraws everything when it has
    /// loaded a resumed conversation, and drops what was typed meanwhile).
    pub first_settle: Option<Duration>,
    /// With prompt signals: must be visible to be waiting (an input box).
    pub prompt: Option<Pattern>,
    /// Visible means busy, whatever else holds (`esc to interrupt`).
    pub busy: Option<Pattern>,
    /// A window title that means busy (spinner glyphs).
    pub busy_title: Option<Regex>,
    /// OSC 9;4 progress (normal, error, indeterminate, paused) means busy.
    pub progress: bool,
    pub approval: Pattern,
    /// The question must also wait out `settle` quiet, as a line editor's
    /// prompt does. Off for TUIs that keep redrawing while they ask.
    pub approval_settles: bool,
    /// A question is answered, so no longer counts, once this many prompt
    /// lines stand below it (a classic chat draws its own prompt right
    /// under a live question; a second one means it moved on).
    pub answered_after: Option<(Regex, usize)>,
    /// Its busy signs are sure enough that, once waiting, output without
    /// one is an idle redraw. Not for the generic ones, which an unknown
    /// program may never show.
    pub hints_hold_waiting: bool,
    /// Also a question by its shape: a line ending in `?` above a numbered
    /// menu, or a `y/n` choice, in the last rows drawn (the generic rules).
    pub menu_questions: bool,
    /// How long after Enter a program with busy signs is taken to be
    /// starting its turn until it shows one ([`TURN_GRACE`] unless its
    /// rules say).
    pub turn_grace: Duration,
    /// A turn is busy for all of `turn_grace`, not only until its first
    /// busy sign: for a program whose busy sign leaves for a while early
    /// in a turn.
    pub turn_grace_holds: bool,
}

/// Busy hints that agents show while they work, and what a window title
/// spinner starts with: what the generic rules look for. GitHub Copilot
/// CLI's footer says `esc esc edit prompt` until the reply starts, then
/// `esc esc interrupt`, and pauses longer than the generic settle while it
/// streams; opencode's says `esc interrupt`.
pub const GENERIC_BUSY: &str = r"(?i)\b(?:esc|escape|ctrl\+c|ctrl-c|\^c) (?:to (?:interrupt|cancel|stop)|interrupt)\b|\(esc to cancel|\besc esc edit prompt\b";
pub const GENERIC_BUSY_TITLE: &str = "^[⠁-⣿◐◑◒◓◴◵◶◷]";

static GENERIC_BUSY_PATTERN: std::sync::LazyLock<Pattern> = std::sync::LazyLock::new(|| {
    Pattern::new(GENERIC_BUSY, Region::Bottom(8))
        .unwrap_or_else(|_| Pattern::new("$^", Region::Screen).expect("empty regex"))
});
static GENERIC_BUSY_TITLE_REGEX: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
    Regex::new(GENERIC_BUSY_TITLE).unwrap_or_else(|_| Regex::new("$^").expect("empty regex"))
});
/// The first choice of a numbered menu (`❯ 1. Yes`, `│ ● 1. Allow once`).
static MENU_FIRST_CHOICE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
    Regex::new(r"^[\s│┃║|]*(?:[❯›>●▶→*]\s*)?1[.)]\s+\S").unwrap_or_else(|_| Regex::new("$^").expect("empty regex"))
});
/// An input prompt (`> `, `│ > Type…`): below a list, it means the list
/// was a reply and the program reads a message.
static PROMPT_ROW: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
    Regex::new(r"^[\s│┃║|]*[>❯›]\s*(?:$|[^\d\s])").unwrap_or_else(|_| Regex::new("$^").expect("empty regex"))
});
/// A yes/no choice written out: `[y/n]`, `(Y)es/(N)o`, or a row of
/// buttons from "Allow" to "Reject" / "Deny" (opencode's
/// `Allow once   Allow always   Reject`).
static YES_NO_CHOICE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
    Regex::new(r"(?i)[\[(]y/n(?:/[a-z])*[\])]|\(Y\)es/\(N\)o|^[\s│┃║|]*Allow(?: once)?\s{2,}.*\s(?:Reject|Deny)\b")
        .unwrap_or_else(|_| Regex::new("$^").expect("empty regex"))
});

/// [`DEFAULT_APPROVAL`], compiled once: every session of a program with no
/// rules of its own has it, and a clone shares the compiled regex (24 KB
/// each, compiled per session, were most of an idle session's memory).
static DEFAULT_APPROVAL_PATTERN: std::sync::LazyLock<Pattern> = std::sync::LazyLock::new(|| {
    // The pattern is a constant that the tests compile.
    Pattern::new(DEFAULT_APPROVAL, Region::AboveCursor(4))
        .unwrap_or_else(|_| Pattern::new("$^", Region::Screen).expect("empty regex"))
});

impl Default for Detector {
    fn default() -> Self {
        Detector {
            detect: Detect::Auto,
            raw_mode: true,
            bracketed_paste: true,
            cursor: Cursor::Visible,
            settle: Duration::from_millis(250),
            quiet: Duration::from_millis(1500),
            first_settle: None,
            prompt: None,
            busy: None,
            busy_title: None,
            progress: true,
            approval: DEFAULT_APPROVAL_PATTERN.clone(),
            approval_settles: true,
            answered_after: None,
            hints_hold_waiting: true,
            menu_questions: false,
            turn_grace: TURN_GRACE,
            turn_grace_holds: false,
        }
    }
}

impl Detector {
    /// The rules for a program qmux knows nothing about: line-editor
    /// signals or quiet, the busy hints and title spinners agents commonly
    /// show, a hidden cursor taken as a TUI's (needing quiet, not taken as
    /// work), and questions by their shape.
    pub fn generic() -> Detector {
        Detector {
            cursor: Cursor::Quiet,
            busy: Some(GENERIC_BUSY_PATTERN.clone()),
            busy_title: Some(GENERIC_BUSY_TITLE_REGEX.clone()),
            hints_hold_waiting: false,
            menu_questions: true,
            ..Detector::default()
        }
    }
}

/// A snapshot of what can be observed about a session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signals {
    pub exited: bool,
    /// The PTY's line discipline has ICANON and ECHO off.
    pub raw_mode: bool,
    pub bracketed_paste: bool,
    /// The program has turned bracketed paste on at some point.
    pub uses_bracketed_paste: bool,
    pub cursor_hidden: bool,
    /// Time since the last output.
    #[serde(rename = "quiet_ms", with = "millis")]
    pub quiet_for: Duration,
    /// Input was sent and the program has not answered with output yet: its
    /// prompt on screen is stale.
    pub awaiting_reaction: bool,
    /// The window title (OSC 0/2).
    pub title: String,
    /// The last OSC 9;4 progress state (0 = none).
    pub progress: u8,
    /// What the program itself reported through a hook, the authority
    /// while it reports.
    pub reported: Option<State>,
    /// The last verdict was waiting: a TUI's idle redraws (a blinking
    /// hint, a clock) then keep it waiting until a busy sign shows.
    pub was_waiting: bool,
    /// It has been waiting at least once since the program started.
    pub has_waited: bool,
    /// The screen row the cursor was on when the program last took a line
    /// of input (Enter), if that row is still on screen. A line editor's
    /// question on or above it was asked before that input, so answered.
    #[serde(default)]
    pub input_row: Option<u16>,
    /// Time since the program was last sent Enter, while a turn may be
    /// starting.
    #[serde(skip)]
    pub since_submit: Option<Duration>,
    /// A busy sign has shown since that Enter.
    #[serde(skip)]
    pub busy_since_submit: bool,
}

/// How long after Enter a program with busy signs is taken to be starting
/// its turn, until it shows one: under load an agent may take a while to
/// show "esc to interrupt", and the prompt it still shows is the old one.
pub const TURN_GRACE: Duration = Duration::from_secs(2);

/// A duration as whole milliseconds.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// Why a verdict is what it is: the rule that decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Exited,
    Reported,
    AwaitingReaction,
    Question(Found),
    BusyHint(Found),
    BusyTitle(String),
    Progress(u8),
    NotRaw,
    NoPaste,
    CursorHidden,
    NoPrompt,
    Settling,
    TurnStarting,
    AtPrompt,
    Quiet,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Exited => write!(f, "the program exited"),
            Reason::Reported => write!(f, "the program reported it through its hook"),
            Reason::AwaitingReaction => write!(f, "input was sent and the program has not reacted yet"),
            Reason::Question(m) => write!(f, "approval question {:?} on row {}", m.text, m.row),
            Reason::BusyHint(m) => write!(f, "busy hint {:?} on row {}", m.text, m.row),
            Reason::BusyTitle(t) => write!(f, "window title {t:?} shows work"),
            Reason::Progress(p) => write!(f, "OSC 9;4 progress state {p}"),
            Reason::NotRaw => write!(f, "the terminal is not in raw mode: no line editor is reading"),
            Reason::NoPaste => write!(f, "bracketed paste is off: no line editor is reading"),
            Reason::CursorHidden => write!(f, "the cursor is hidden"),
            Reason::NoPrompt => write!(f, "the prompt pattern is not on screen"),
            Reason::Settling => write!(f, "output has not been quiet long enough"),
            Reason::TurnStarting => write!(f, "Enter was just sent and no busy sign has shown yet"),
            Reason::AtPrompt => write!(f, "at the prompt, output settled"),
            Reason::Quiet => write!(f, "output quiet long enough"),
        }
    }
}

/// The verdict, and when to look again if it may change with time alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub state: State,
    pub recheck_after: Option<Duration>,
    pub reason: Reason,
}

impl Detector {
    pub fn classify(&self, s: &Signals, screen: &vt100::Screen) -> Verdict {
        let mut verdict = self.weigh(s, screen);
        // A TUI's question that has not settled yet counts once it has,
        // though its busy hint ("esc to cancel") stands meanwhile.
        if self.cursor == Cursor::Quiet && self.approval_settles && s.quiet_for < self.settle {
            let question = self.settle - s.quiet_for;
            verdict.recheck_after = Some(verdict.recheck_after.map_or(question, |r| r.min(question)));
        }
        verdict
    }

    fn weigh(&self, s: &Signals, screen: &vt100::Screen) -> Verdict {
        let verdict = |state, reason| Verdict { state, recheck_after: None, reason };
        let busy = |reason| verdict(State::Busy, reason);
        if s.exited {
            return verdict(State::Exited, Reason::Exited);
        }
        // Input qmux typed makes any earlier report and prompt stale.
        if s.awaiting_reaction {
            return busy(Reason::AwaitingReaction);
        }
        if let Some(state) = s.reported {
            return verdict(state, Reason::Reported);
        }
        let use_prompt = match self.detect {
            Detect::Prompt => true,
            Detect::Quiet => false,
            Detect::Auto => s.uses_bracketed_paste,
        };
        let needed = match (use_prompt, self.first_settle) {
            (true, Some(first)) if !s.has_waited => first,
            (true, _) if self.cursor == Cursor::Quiet && s.cursor_hidden => self.quiet,
            (true, _) => self.settle,
            (false, _) => self.quiet,
        };
        // A program with positive busy signs stays waiting through idle
        // redraws; the others need quiet again after any output.
        let held = use_prompt
            && s.was_waiting
            && self.hints_hold_waiting
            && (self.busy.is_some() || self.busy_title.is_some());
        let settling = s.quiet_for < needed && !held;
        // A TUI's question counts sooner than its prompt: look again then.
        let recheck = match self.cursor {
            Cursor::Quiet if s.quiet_for < self.settle => self.settle - s.quiet_for,
            _ => needed.saturating_sub(s.quiet_for),
        };
        let settled = |state, reason| {
            if settling {
                Verdict { state: State::Busy, recheck_after: Some(recheck), reason: Reason::Settling }
            } else {
                verdict(state, reason)
            }
        };
        if use_prompt {
            if let Some(reason) = self.not_reading(s) {
                return busy(reason);
            }
        }
        // While output has not settled, a question that must settle could
        // not count yet: no need to look (floods pass through here). A TUI
        // that keeps blinking while it asks settles as a line editor does.
        let question_settling = if self.cursor == Cursor::Quiet { s.quiet_for < self.settle } else { settling };
        if !(self.approval_settles && question_settling) {
            if let Some(found) = self.question(screen, s.input_row) {
                return verdict(State::Approval, Reason::Question(found));
            }
        }
        if let Some(found) = self.busy.as_ref().and_then(|p| p.find(screen)) {
            return busy(Reason::BusyHint(found));
        }
        if self.busy_title.as_ref().is_some_and(|re| re.is_match(&s.title)) {
            return busy(Reason::BusyTitle(s.title.clone()));
        }
        if self.progress && s.progress != 0 {
            return busy(Reason::Progress(s.progress));
        }
        // A turn just submitted: a program with busy signs shows one soon;
        // until it has, or the grace is over, its prompt is the old one.
        let has_busy_signs = self.busy.is_some() || self.busy_title.is_some();
        let grace_open =
            |d: &Duration| has_busy_signs && (self.turn_grace_holds || !s.busy_since_submit) && *d < self.turn_grace;
        if let Some(since) = s.since_submit.filter(grace_open) {
            return Verdict {
                state: State::Busy,
                recheck_after: Some(self.turn_grace - since),
                reason: Reason::TurnStarting,
            };
        }
        if use_prompt && self.prompt.as_ref().is_some_and(|p| p.find(screen).is_none()) {
            // A frame drawn in several writes hides the prompt for a moment:
            // only a settled screen without it counts.
            if held && s.quiet_for < needed {
                return Verdict {
                    state: State::Waiting,
                    recheck_after: Some(needed - s.quiet_for),
                    reason: Reason::AtPrompt,
                };
            }
            return busy(Reason::NoPrompt);
        }
        settled(State::Waiting, if use_prompt { Reason::AtPrompt } else { Reason::Quiet })
    }

    /// Why a line editor cannot be reading now, if it cannot.
    fn not_reading(&self, s: &Signals) -> Option<Reason> {
        if self.raw_mode && !s.raw_mode {
            Some(Reason::NotRaw)
        } else if self.bracketed_paste && !s.bracketed_paste {
            Some(Reason::NoPaste)
        } else if self.cursor == Cursor::Visible && s.cursor_hidden {
            Some(Reason::CursorHidden)
        } else {
            None
        }
    }

    /// Whether an approval question is visible where this program asks it.
    pub fn asks_approval(&self, screen: &vt100::Screen) -> bool {
        self.question(screen, None).is_some()
    }

    /// The approval question on screen, if any, and its row.
    pub fn live_question(&self, screen: &vt100::Screen) -> Option<Found> {
        self.question(screen, None)
    }

    /// The row where the program takes its input: its prompt's, or the
    /// cursor's if that is shown and higher. What is above it is the
    /// conversation.
    pub fn input_row(&self, screen: &vt100::Screen) -> u16 {
        let prompt = self.prompt.as_ref().and_then(|p| p.find(screen)).map(|f| f.row);
        let cursor = (!screen.hide_cursor()).then(|| screen.cursor_position().0);
        match (prompt, cursor) {
            (Some(p), Some(c)) => p.min(c),
            (Some(row), None) | (None, Some(row)) => row,
            (None, None) => screen.size().0.get(),
        }
    }

    /// The live approval question on screen, if any: found in its region,
    /// not followed by the prompts that show it was answered and, for a
    /// line editor's question above its cursor, not on or above the row
    /// where the program last took input (the answer).
    fn question(&self, screen: &vt100::Screen, input_row: Option<u16>) -> Option<Found> {
        let found = match self.approval.find(screen) {
            Some(found) => found,
            None if self.menu_questions => return menu_question(screen, input_row),
            None => return None,
        };
        let inline = matches!(self.approval.region, Region::AboveCursor(_));
        if inline && input_row.is_some_and(|input| found.row <= input) {
            return None;
        }
        if let Some((prompt, answered)) = &self.answered_after {
            let (rows, cols) = screen.size();
            let below = screen
                .rows(0, cols.get())
                .skip(usize::from(found.row) + 1)
                .take(usize::from(rows.get()))
                .filter(|row| prompt.is_match(row))
                .count();
            if below >= *answered {
                return None;
            }
        }
        Some(found)
    }

    /// Every pattern's finding on this screen, for `qmux explain`.
    pub fn findings(&self, screen: &vt100::Screen) -> Vec<(&'static str, String, Option<Found>)> {
        let mut out = vec![("approval", describe(&self.approval), self.approval.find(screen))];
        if let Some(p) = &self.busy {
            out.push(("busy", describe(p), p.find(screen)));
        }
        if let Some(p) = &self.prompt {
            out.push(("prompt", describe(p), p.find(screen)));
        }
        out
    }
}

fn describe(p: &Pattern) -> String {
    format!("/{}/ in {}", p.regex.as_str(), p.region)
}

#[cfg(test)]
mod tests;

/// A question by its shape, in the last rows drawn: a line ending in `?`
/// at most 8 rows above the first choice of a numbered menu that is itself
/// among the last 8 rows with no input prompt below it, or a `y/n` choice
/// among the last 4. A line editor's `y/n` question (the cursor shown) on or
/// above the row where it last took a line was answered there (aider's
/// stays just above its next prompt).
fn menu_question(screen: &vt100::Screen, input_row: Option<u16>) -> Option<Found> {
    let rows = Region::LastLines(16).rows(screen);
    let last = |n: usize| rows.len().saturating_sub(n);
    let answered = |row: u16| !screen.hide_cursor() && input_row.is_some_and(|input| row <= input);
    let yes_no = rows[last(4)..].iter().rev().find(|(row, t)| YES_NO_CHOICE.is_match(t) && !answered(*row));
    if let Some((row, text)) = yes_no {
        return Some(Found { row: *row, text: text.trim().to_string() });
    }
    let choice = rows[last(8)..].iter().rposition(|(_, t)| MENU_FIRST_CHOICE.is_match(t))? + last(8);
    if rows[choice + 1..].iter().any(|(_, t)| PROMPT_ROW.is_match(t)) {
        return None;
    }
    rows[choice.saturating_sub(8)..choice].iter().rev().find_map(|(row, text)| {
        let bare = text.trim_matches(|c: char| c.is_whitespace() || "│┃║|".contains(c));
        bare.ends_with('?').then(|| Found { row: *row, text: bare.to_string() })
    })
}
