//! One session: a program in its PTY, the terminal model its output feeds,
//! what the program is doing, what asks for the user's look, and the input
//! on its way in.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::os::Child;
use super::typing::Typing;
use crate::config::program_name;
use crate::detect::{Signals, State};
use crate::foreground::Process;
use crate::persist::SavedSession;
use crate::protocol::{Attention, SessionId};
use crate::pty::OutputPending;
use crate::rules::{RuleSet, Source};
use crate::terminal::Terminal;

/// Whether the program still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Life {
    /// Running; what its detector last said it is doing.
    Running(State),
    Exited(i32),
}

pub(super) struct Session {
    pub id: SessionId,
    pub index: u32,
    pub name: String,
    /// What runs: the command, with resume arguments after a restore.
    pub command: Vec<String>,
    /// The command as the user gave it, which a restore resumes.
    pub origin: Vec<String>,
    pub cwd: PathBuf,
    pub created: SystemTime,
    /// When the program started, by the server's clock.
    pub started: Instant,
    pub terminal: Arc<Mutex<Terminal>>,
    pub pending: OutputPending,
    pub child: Box<dyn Child>,
    pub life: Life,
    pub last_output: Option<Instant>,
    /// Counts the batches of output its screen took: a pane that drew it
    /// at this count needs no redraw.
    pub output_seq: u64,
    pub attention: Attention,
    /// What qmux knows of the program and its agent.
    pub watch: Watch,
    /// Messages for `send --when-waiting`: (text, press Enter).
    pub queue: VecDeque<(String, bool)>,
    /// Messages being typed, the first in progress.
    pub typing: VecDeque<Typing>,
    /// The environment it was started with (saved for a restore).
    pub env: Vec<(String, String)>,
    /// Names its saved files; kept across restores.
    pub key: String,
    /// History rows up to this absolute line number are in the state dir.
    pub saved_upto: u64,
    /// Rows in the history log file, to know when to compact it.
    pub log_rows: usize,
    /// The screen changed since it was last saved.
    pub screen_dirty: bool,
    /// The session's state changed since its metadata was last saved.
    pub meta_dirty: bool,
    /// Bumped whenever the session is created or shown; the bare `qmux`
    /// attaches to the highest.
    pub last_used: u64,
    /// qmux chose its command (no command given, none in the config).
    pub by_default: bool,
    /// Since when it has asked for approval, or finished unseen: the
    /// attention jump goes to the oldest first.
    pub needs_you_since: Option<Instant>,
    /// Its own checkout (`qmux new -w`), if it has one.
    pub worktree: Option<crate::worktree::Worktree>,
}

/// What qmux has learnt about a session's program: which agent it is, and
/// the signals its detector weighs besides the screen.
pub(super) struct Watch {
    /// The rule set in force: the agent found in the PTY's foreground, else
    /// the one for its command.
    pub rules: Arc<RuleSet>,
    /// The foreground group last identified (`foreground::fingerprint`).
    pub foreground: String,
    /// When the foreground was last looked at.
    pub foreground_checked: Option<Instant>,
    /// A look is due when the interval is up.
    pub foreground_recheck: bool,
    /// When the foreground last changed.
    pub foreground_changed: Option<Instant>,
    /// The agent's process, once identified.
    pub agent: Option<Process>,
    /// The state the agent reported through a hook: the authority while set.
    pub reported: Option<State>,
    /// The agent's own id for its conversation: from a hook, or the session
    /// file its turns write.
    pub conversation: Option<String>,
    /// The id came from a hook, which knows better than files.
    pub conversation_reported: bool,
    /// When the current turn began: the session file it writes is newer.
    pub turn_started: Option<SystemTime>,
    /// The last message qmux typed in: the conversation file holds it.
    pub last_typed: Option<String>,
    /// The program has turned bracketed paste on at some point.
    pub uses_bracketed_paste: bool,
    /// Input was sent and no output has answered it yet.
    pub awaiting_reaction: bool,
    /// Has been waiting at least once since its program started.
    pub has_waited: bool,
    /// Input reached the program since it last sat at its prompt: the next
    /// prompt ends a turn (a reply, a command), which is worth a "done".
    /// A program merely starting up is not.
    pub input_since_prompt: bool,
    /// Where the cursor was, as an absolute line, when the program was
    /// last sent Enter: questions above it were asked before.
    pub input_line: Option<u64>,
    /// When the program was last sent Enter, until its turn shows a busy
    /// sign or ends.
    pub submitted_at: Option<Instant>,
    pub busy_since_submit: bool,
    /// Enter went to the program (not into a question) since it last
    /// waited at its prompt: its next prompt ends a turn the user asked
    /// for, questions on the way included. Keystrokes alone are no turn.
    pub submitted_since_prompt: bool,
    pub state_timer_armed: bool,
    /// A timer will give back the screen's blank rows once the output
    /// stops (see [`crate::terminal::Terminal::forget_blank_rows`]).
    pub blank_rows_timer_armed: bool,
}

impl Watch {
    pub fn new(rules: Arc<RuleSet>, conversation: Option<String>) -> Watch {
        Watch {
            rules,
            foreground: String::new(),
            foreground_checked: None,
            foreground_recheck: false,
            foreground_changed: None,
            agent: None,
            reported: None,
            conversation,
            conversation_reported: false,
            turn_started: None,
            last_typed: None,
            uses_bracketed_paste: false,
            awaiting_reaction: false,
            has_waited: false,
            input_since_prompt: false,
            input_line: None,
            submitted_at: None,
            busy_since_submit: false,
            submitted_since_prompt: false,
            state_timer_armed: false,
            blank_rows_timer_armed: false,
        }
    }

    /// Enter goes to the program now: where its cursor was, and when.
    pub fn submitted(&mut self, terminal: &Mutex<Terminal>, now: Instant) {
        self.input_line = cursor_line(terminal).or(self.input_line);
        self.submitted_at = Some(now);
        self.busy_since_submit = false;
        self.submitted_since_prompt = true;
    }

    /// Enter goes to the program's question, answering it: the question is
    /// above the line it answered. No turn starts, so no grace for a busy
    /// sign either: a line editor's prompt that comes back after the
    /// answer is a new one, not the old one still standing.
    pub fn answered(&mut self, terminal: &Mutex<Terminal>) {
        self.input_line = cursor_line(terminal).or(self.input_line);
    }

    /// The rule set's name if it is an agent's, not the generic one.
    pub fn agent_name(&self) -> Option<String> {
        (self.rules.source != Source::Generic).then(|| self.rules.name.clone())
    }
}

impl Session {
    /// `2:review`.
    pub fn label(&self) -> String {
        format!("{}:{}", self.index, self.name)
    }

    pub fn state(&self) -> State {
        match self.life {
            Life::Running(state) => state,
            Life::Exited(_) => State::Exited,
        }
    }

    /// The code the program exited with, once known: a program that ended
    /// after a live upgrade gave its code to the server before (see
    /// [`crate::pty::EXIT_UNKNOWN`]), and shows as plainly exited.
    pub fn exit_code(&self) -> Option<i32> {
        match self.life {
            Life::Exited(code) if code != crate::pty::EXIT_UNKNOWN => Some(code),
            _ => None,
        }
    }

    /// The program has exited, with this code or [`crate::pty::EXIT_UNKNOWN`].
    pub fn ended(&self) -> Option<i32> {
        match self.life {
            Life::Exited(code) => Some(code),
            Life::Running(_) => None,
        }
    }

    pub fn running(&self) -> bool {
        matches!(self.life, Life::Running(_))
    }

    /// Everything observable about the session now, for its detector.
    pub fn signals(&self, t: &Terminal, now: Instant) -> Signals {
        let screen = t.screen();
        let w = &self.watch;
        Signals {
            exited: !self.running(),
            raw_mode: self.running() && self.child.raw_mode(),
            bracketed_paste: screen.bracketed_paste(),
            uses_bracketed_paste: w.uses_bracketed_paste,
            cursor_hidden: screen.hide_cursor(),
            quiet_for: now.saturating_duration_since(self.last_output.unwrap_or(self.started)),
            awaiting_reaction: w.awaiting_reaction,
            title: t.title().to_string(),
            progress: t.progress(),
            reported: w.reported,
            was_waiting: self.state() == State::Waiting,
            has_waited: w.has_waited,
            input_row: w.input_line.and_then(|line| {
                let row = line.checked_sub(t.history().total_pushed())?;
                u16::try_from(row).ok().filter(|r| *r < screen.size().0.get())
            }),
            since_submit: w.submitted_at.map(|at| now.saturating_duration_since(at)),
            busy_since_submit: w.busy_since_submit,
        }
    }

    /// Whether the program asks for approval: its state says so, or its
    /// screen does while typed input keeps its state at busy (the question
    /// came up as the text went in). A key typed now would answer it.
    pub fn asks(&self, now: Instant) -> bool {
        if self.state() == State::Approval {
            return true;
        }
        let Ok(t) = self.terminal.lock() else { return false };
        // As if the output had settled: a question that is up counts now.
        let settled = Duration::from_secs(3600);
        let signals = Signals { awaiting_reaction: false, reported: None, quiet_for: settled, ..self.signals(&t, now) };
        self.running() && self.watch.rules.detector.classify(&signals, t.screen()).state == State::Approval
    }

    /// Sends Enter (or a line) to the program, and marks where its cursor
    /// was: the line it answers is above. Into a question, it is the answer.
    pub fn write_line(&mut self, bytes: Vec<u8>, now: Instant) {
        if self.asks(now) {
            self.watch.answered(&self.terminal);
        } else {
            self.watch.submitted(&self.terminal, now);
        }
        self.child.write(bytes);
    }

    /// What is saved of the session to relaunch it.
    pub fn meta(&self) -> SavedSession {
        let w = &self.watch;
        SavedSession {
            version: crate::persist::FORMAT_VERSION,
            key: self.key.clone(),
            name: self.name.clone(),
            index: self.index,
            command: self.origin.clone(),
            cwd: self.cwd.clone(),
            env: self.env.clone(),
            created: epoch_secs(self.created),
            saved: epoch_secs(SystemTime::now()),
            state: self.state(),
            exit_code: self.ended(),
            agent: w.agent_name(),
            conversation: w.conversation.clone(),
            agent_argv: w
                .agent
                .as_ref()
                .filter(|_| !w.rules.matcher.matches(&self.origin, program_name(&self.origin)))
                .map(|p| p.argv.clone()),
            worktree: self.worktree.clone(),
        }
    }

    /// When the last output came, by the wall clock.
    pub fn last_output_time(&self, now: Instant) -> Option<SystemTime> {
        self.last_output.map(|at| SystemTime::now() - now.saturating_duration_since(at))
    }
}

/// The cursor's row as an absolute line (rows ever scrolled into history
/// plus the row), on the main screen.
pub(super) fn cursor_line(terminal: &Mutex<Terminal>) -> Option<u64> {
    let t = terminal.lock().ok()?;
    let screen = t.screen();
    (!screen.alternate_screen()).then(|| t.history().total_pushed() + u64::from(screen.cursor_position().0))
}

pub(super) fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The time `secs` seconds after the epoch.
pub(super) fn from_epoch(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}
