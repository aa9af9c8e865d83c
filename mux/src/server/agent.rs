//! What each session's program is doing: output and its attention, exits,
//! the detector's verdicts and what follows a change (the "done" marker,
//! notifications, queued messages, waiters), which agent runs in the
//! foreground, and which conversation it is on.

use std::time::{Duration, SystemTime};

use super::modes::Mode;
use super::session::Life;
use super::{ClientId, Event, Server};
use crate::config::Config;
use crate::detect::{Reason, Signals, State};
use crate::protocol::SessionId;
use crate::terminal::{Event as TermEvent, Terminal};

/// The sequence that sets the terminal's title to a program's title, or to
/// the session's label when it set none.
pub(super) fn title_sequence(title: &str, label: &str) -> Vec<u8> {
    let shown: String = if title.is_empty() { format!("qmux {label}") } else { title.to_string() };
    let shown: String = shown.chars().filter(|c| !c.is_control()).collect();
    format!("\x1b]2;{shown}\x07").into_bytes()
}

/// A default `q chat` that ends sooner than this was no chat.
const QUICK_EXIT: Duration = Duration::from_secs(3);

/// How often a session's foreground process group is looked at, at most,
/// while it has changed lately (a shell starting an agent, the agent's
/// wrapper exec'ing it) ...
const FOREGROUND_CHECK: Duration = Duration::from_millis(250);
/// ... and once it has stayed the same this long: each look reads /proc.
const FOREGROUND_SETTLED: Duration = Duration::from_secs(5);
const FOREGROUND_CHECK_SETTLED: Duration = Duration::from_secs(1);

/// How long a session's output must have stopped before its screen's blank
/// rows give back their cells. Until then a program redrawing its lines
/// (erasing each and writing it again) reuses them.
const FORGET_BLANK_ROWS_AFTER: Duration = Duration::from_secs(2);

impl Server {
    /// Gives back the blank rows of a session whose output has stopped,
    /// or looks again when it may have.
    pub(super) fn forget_blank_rows(&mut self, sid: SessionId) {
        let now = self.os.now();
        let Some(s) = self.sessions.get_mut(sid) else { return };
        let quiet = s.last_output.map_or(FORGET_BLANK_ROWS_AFTER, |at| now.saturating_duration_since(at));
        if quiet >= FORGET_BLANK_ROWS_AFTER {
            // A terminal being parsed into is not quiet after all.
            if let Ok(mut t) = s.terminal.try_lock() {
                t.forget_blank_rows();
                s.watch.blank_rows_timer_armed = false;
                return;
            }
        }
        self.after(
            FORGET_BLANK_ROWS_AFTER.saturating_sub(quiet).max(Duration::from_millis(100)),
            Event::ForgetBlankRows(sid),
        );
    }

    pub(super) fn session_output(&mut self, sid: SessionId) {
        let now = self.os.now();
        let watched = !self.views_showing(sid).is_empty();
        let Some(s) = self.sessions.get_mut(sid) else { return };
        s.pending.store(false, std::sync::atomic::Ordering::Release);
        if matches!(s.terminal.try_lock(), Err(std::sync::TryLockError::WouldBlock)) {
            // A flood is being parsed off the event loop: its reader says
            // so again when the batch is in, and this waits for that rather
            // than for the lock.
            return;
        }
        s.last_output = Some(now);
        s.output_seq += 1;
        if !std::mem::replace(&mut s.watch.blank_rows_timer_armed, true) {
            self.after(FORGET_BLANK_ROWS_AFTER, Event::ForgetBlankRows(sid));
        }
        let Some(s) = self.sessions.get_mut(sid) else { return };
        // A message being typed keeps the prompt stale until its Enter is taken.
        if s.typing.is_empty() {
            s.watch.awaiting_reaction = false;
        }
        s.screen_dirty = true;
        let events = s.terminal.lock().map(|mut t| t.take_events()).unwrap_or_default();
        let rang = events.iter().any(TermEvent::wants_attention);
        let label = s.label();
        let before = s.attention;
        if !watched {
            s.attention.unseen_output = true;
            s.attention.bell |= rang;
        }
        let attention_changed = s.attention != before;
        if rang && !watched {
            self.alert_others(sid, &format!("bell in {label}"));
        }
        // What the program asked of its terminal goes to the terminals
        // showing it: a bell, a clipboard write, its title.
        let mut passed = Vec::new();
        for event in &events {
            match event {
                TermEvent::Bell | TermEvent::Notification(_) if watched => passed.push(0x07),
                TermEvent::Clipboard(ty, data) if self.config.set_clipboard => {
                    passed.extend_from_slice(format!("\x1b]52;{ty};{data}\x07").as_bytes());
                }
                TermEvent::Title(title) if self.config.set_titles => passed.extend(title_sequence(title, &label)),
                _ => {}
            }
        }
        if !passed.is_empty() {
            for cid in self.views_showing(sid) {
                if let Some(v) = self.view_mut(cid) {
                    v.alerts.extend_from_slice(&passed);
                }
            }
        }
        self.mark_showing(sid);
        // The output goes to the terminals showing it first; what it means
        // (the session's state, waiters) is worked out after.
        self.draw_dirty();
        self.arm_flush();
        self.typing_saw_output(sid);
        self.evaluate_state(sid);
        self.check_waiters(sid);
        if attention_changed {
            self.mark_all();
        }
    }

    /// Marks the views that show a session: in one of their panes, or
    /// previewing it in the chooser.
    fn mark_showing(&mut self, sid: SessionId) {
        let shows = |v: &super::view::View| match v.mode {
            Mode::Chooser { selected } => self.chooser_session(selected).is_some_and(|s| s.id == sid),
            _ => v.shows(sid),
        };
        let showing: Vec<ClientId> = self.views().filter(|(_, v)| shows(v)).map(|(id, _)| id).collect();
        let now = self.os.now();
        for cid in showing {
            let Some(view) = self.view_mut(cid) else { continue };
            let due = view.last_frame.map_or(now, |at| at + super::view::PANE_FRAME_GAP);
            if view.focused() == sid || matches!(view.mode, Mode::Chooser { .. }) || due <= now {
                view.dirty = true;
            } else if !view.paced {
                view.paced = true;
                self.after(due - now, Event::Redraw(cid));
            }
        }
    }

    pub(super) fn session_exited(&mut self, sid: SessionId, code: i32) {
        let watched = !self.views_showing(sid).is_empty();
        let now = self.os.now();
        let Some(s) = self.sessions.get_mut(sid) else { return };
        // A `q` on PATH that is not Amazon Q's ends at once, and the user
        // should hear how to choose what runs instead.
        let hint = (s.by_default
            && s.command.first().is_some_and(|c| c == "q")
            && now.saturating_duration_since(s.started) < QUICK_EXIT)
            .then_some(
                "\r\nqmux ran `q chat`, the default, and it ended at once: if this q is not Amazon Q's, set \
                 default-command in the config (`qmux config` shows it)",
            );
        let old = s.state();
        s.life = Life::Exited(code);
        s.output_seq += 1;
        s.queue.clear();
        let typing = std::mem::take(&mut s.typing);
        let label = s.label();
        let code = crate::pty::exit_text(code);
        if let Ok(mut t) = s.terminal.lock() {
            let hint = hint.unwrap_or_default();
            let banner = format!("\x1b[0m{hint}\r\n\x1b[7m[exited with code {code}: press Enter to close]\x1b[0m");
            t.process(banner.as_bytes());
        }
        let why = format!("{label} exited (code {code}) before it took the input");
        for client in typing.into_iter().filter_map(|t| t.client) {
            self.respond(client, Err(why.clone()));
        }
        if !watched {
            self.alert_others(sid, &format!("{label} exited (code {code})"));
        }
        self.mark_showing(sid);
        self.state_changed(sid, old);
    }

    /// Works out a session's state from its signals, and acts on a change:
    /// the "done" marker, messages, notifications, queued messages, waiters.
    pub(super) fn evaluate_state(&mut self, sid: SessionId) {
        self.identify_agent(sid);
        let now = self.os.now();
        let Some(s) = self.sessions.get_mut(sid) else { return };
        let verdict = {
            let Ok(t) = s.terminal.lock() else { return };
            s.watch.uses_bracketed_paste |= t.screen().bracketed_paste();
            s.watch.rules.detector.classify(&s.signals(&t, now), t.screen())
        };
        // A busy sign shown ends the grace of a turn just submitted; the
        // prompt or a question ends the turn.
        match verdict.reason {
            Reason::BusyHint(_) | Reason::BusyTitle(_) | Reason::Progress(_) => s.watch.busy_since_submit = true,
            _ if verdict.state != State::Busy => s.watch.submitted_at = None,
            _ => {}
        }
        let recheck = verdict.recheck_after.filter(|_| !s.watch.state_timer_armed);
        s.watch.state_timer_armed |= recheck.is_some();
        let old = s.state();
        if let Life::Running(state) = &mut s.life {
            *state = verdict.state;
        }
        if let Some(after) = recheck {
            self.after(after, Event::StateCheck(sid));
        }
        self.state_changed(sid, old);
    }

    /// Acts on a session's change of state from `old`.
    fn state_changed(&mut self, sid: SessionId, old: State) {
        let Some(s) = self.sessions.get_mut(sid) else { return };
        let new = s.state();
        if old == new {
            return;
        }
        s.watch.has_waited |= new == State::Waiting;
        let turn_ended =
            matches!(new, State::Waiting | State::Approval) && std::mem::take(&mut s.watch.input_since_prompt);
        let submitted = new == State::Waiting && std::mem::take(&mut s.watch.submitted_since_prompt);
        let label = s.label();
        self.note_state(sid, old, new, submitted);
        if turn_ended {
            // Some agents write the turn's file a moment after they show
            // their prompt: look again a little later.
            self.find_conversation(sid);
            self.after(Duration::from_secs(1), Event::FindConversation(sid));
            self.after(Duration::from_secs(3), Event::FindConversation(sid));
            if self.sessions.get(sid).is_some_and(|s| s.worktree.is_some()) {
                self.survey_active();
            }
        }
        // Saved with the next flush, not here: a state flips with every
        // echo, and a synchronous write would hold up the next key.
        if let Some(s) = self.sessions.get_mut(sid) {
            s.meta_dirty = true;
        }
        self.arm_flush();
        let watched = !self.views_showing(sid).is_empty();
        let now = self.os.now();
        if let Some(s) = self.sessions.get_mut(sid) {
            let needs_you = new == State::Approval || (old == State::Busy && turn_ended && !watched);
            s.needs_you_since = if needs_you { s.needs_you_since.or(Some(now)) } else { None };
        }
        if old == State::Busy && turn_ended && !watched {
            if let Some(s) = self.sessions.get_mut(sid) {
                s.attention.done = true;
            }
            let what = if new == State::Approval { "needs approval" } else { "finished" };
            self.alert_others(sid, &format!("{label} {what}"));
        }
        if new == State::Waiting {
            self.deliver_queued(sid);
        }
        self.advance_answer(sid);
        self.check_waiters(sid);
        if new == State::Exited {
            self.end_waiters(sid, &format!("{label} exited"));
        }
        self.mark_all();
    }

    /// Finds the agent in the session's foreground, whatever started it,
    /// and puts its rule set in force. Cheap when nothing changed: one
    /// ioctl and one small read, at most every [`FOREGROUND_CHECK`].
    fn identify_agent(&mut self, sid: SessionId) {
        let now = self.os.now();
        let Some(s) = self.sessions.get_mut(sid) else { return };
        if !s.running() {
            return;
        }
        let w = &mut s.watch;
        let settled = w.foreground_changed.is_none_or(|t| now.saturating_duration_since(t) >= FOREGROUND_SETTLED);
        let interval = if settled { FOREGROUND_CHECK_SETTLED } else { FOREGROUND_CHECK };
        if let Some(since) = w.foreground_checked.map(|t| now.saturating_duration_since(t)) {
            if since < interval {
                // Looked just now: look again when the interval is up, so the
                // last change of a burst (an exec, a fork) is not missed.
                if !std::mem::replace(&mut w.foreground_recheck, true) {
                    self.after(interval - since, Event::StateCheck(sid));
                }
                return;
            }
        }
        w.foreground_recheck = false;
        w.foreground_checked = Some(now);
        let Some(group) = s.child.foreground_group() else { return };
        let fingerprint = crate::foreground::fingerprint(group);
        if fingerprint == w.foreground {
            return;
        }
        w.foreground = fingerprint;
        w.foreground_changed = Some(now);
        let procs = crate::foreground::group(group);
        let rules = self.config.rules.identify(&procs).unwrap_or_else(|| self.config.rules.for_command(&s.command));
        w.agent = procs.into_iter().find(|p| rules.matcher.matches(&p.argv, &p.exe_name));
        if rules.name != w.rules.name {
            w.reported = None;
        }
        w.rules = rules;
    }

    /// A program's own word on its state: the authority until it ends its
    /// reports, qmux types into it, or another program takes the terminal.
    pub(super) fn report(&mut self, sid: SessionId, state: Option<State>, end: bool, conversation: Option<String>) {
        let Some(s) = self.sessions.get_mut(sid) else { return };
        if let Some(id) = conversation {
            s.watch.conversation = Some(id);
            s.watch.conversation_reported = true;
        }
        if end {
            s.watch.reported = None;
        } else if state.is_some() {
            s.watch.reported = state;
        }
        self.save_meta(sid);
        self.evaluate_state(sid);
    }

    /// Puts a new config in force; every session finds its agent again
    /// under the new rules. Says how many keys and rule sets changed.
    pub(super) fn reload(&mut self, config: Config) -> String {
        let said = match config.changes_from(&self.config) {
            0 => "reloaded (no changes)".to_string(),
            1 => "reloaded (1 change)".to_string(),
            n => format!("reloaded ({n} changes)"),
        };
        self.config = config;
        for s in self.sessions.iter_mut() {
            s.watch.rules = self.config.rules.for_command(&s.command);
            s.watch.foreground.clear();
            s.watch.foreground_checked = None;
            // Running sessions take the history limits too.
            if let Ok(mut t) = s.terminal.lock() {
                t.history_mut().set_limit(self.config.history_limit);
                t.history_mut().set_byte_limit(self.config.history_bytes);
            }
        }
        for sid in self.sessions.ids() {
            self.evaluate_state(sid);
        }
        self.repaint_all();
        said
    }

    /// Learns which conversation the agent is on from the files its last
    /// turn wrote, unless a hook reported it.
    pub(super) fn find_conversation(&mut self, sid: SessionId) {
        let taken: Vec<String> =
            self.sessions.iter().filter(|o| o.id != sid).filter_map(|o| o.watch.conversation.clone()).collect();
        let Some(s) = self.sessions.get_mut(sid) else { return };
        let w = &mut s.watch;
        if w.conversation_reported {
            return;
        }
        let lookup = crate::conversation::Lookup {
            env: &s.env,
            pid: w.agent.as_ref().map(|p| p.pid),
            since: w.turn_started,
            taken: &taken,
            typed: w.last_typed.as_deref(),
        };
        if let Some(id) = crate::conversation::find(&w.rules.resume, &lookup) {
            w.conversation = Some(id);
        }
    }

    /// `qmux explain`: the state worked out again, with every step shown.
    pub(super) fn explain(&mut self, sid: SessionId) -> Option<crate::explain::Explanation> {
        self.identify_agent(sid);
        let now = self.os.now();
        let s = self.sessions.get(sid)?;
        let resume = self.resume_command(&s.meta());
        let w = &s.watch;
        let mut e = match s.terminal.lock() {
            Ok(t) => crate::explain::Explanation::of(s.label(), &w.rules, s.signals(&t, now), t.screen()),
            Err(_) => {
                let t = Terminal::new(1, 1);
                crate::explain::Explanation::of(s.label(), &w.rules, Signals::default(), t.screen())
            }
        };
        e.command = s.command.clone();
        e.foreground_group = s.child.foreground_group();
        e.process = w.agent.as_ref().map(|p| (p.pid, p.argv.clone()));
        e.conversation = w.conversation.clone();
        e.resume = Some(resume).filter(|cmd| *cmd != s.origin);
        e.conflicts = self.conflicts_of(sid).to_vec();
        Some(e)
    }

    /// Marks the start of a turn qmux typed: the agent's files written from
    /// now on are this turn's.
    pub(super) fn turn_started(&mut self, sid: SessionId, text: &str) {
        if let Some(s) = self.sessions.get_mut(sid) {
            let w = &mut s.watch;
            w.last_typed = Some(text.to_string());
            // What it reported before is stale until it reports again.
            w.reported = None;
            w.awaiting_reaction = true;
            w.input_since_prompt = true;
            w.turn_started = Some(SystemTime::now());
            if let Life::Running(state) = &mut s.life {
                let old = std::mem::replace(state, State::Busy);
                if old != State::Busy {
                    self.note_state(sid, old, State::Busy, false);
                }
            }
        }
    }
}
