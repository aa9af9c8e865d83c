//! When the user hears of a session: every state change goes into the
//! attention log; an approval, a finished turn or an exit becomes a notice
//! once it has held for the settle time, unless a client shows the session
//! or its quiet period runs; then it goes out on the config's channels
//! (`crate::notify`). What could not be sent stays in the log.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use super::{Event, Server};
use crate::attention_log::{Entry, Writer};
use crate::detect::State;
use crate::notify::{self, Channel, Facts, Kind, Notice, TermKind};
use crate::protocol::SessionId;

/// The notices' own state.
pub(super) struct Notices {
    pub log: Writer,
    /// A notice waiting out the settle time.
    pending: HashMap<SessionId, Pending>,
    /// When each session (by its label, a remote one's with its host)
    /// last sent one.
    last_sent: HashMap<String, Instant>,
    /// When each session's current turn started.
    turn_started: HashMap<SessionId, Instant>,
    /// Each session's last desktop notification, which its next replaces.
    desktop_ids: HashMap<SessionId, u32>,
    /// Failures already shown to the user: each is shown once.
    shown_failures: HashSet<String>,
}

struct Pending {
    kind: Kind,
    notice: Notice,
}

impl Notices {
    pub fn new(log: Writer) -> Notices {
        Notices {
            log,
            pending: HashMap::new(),
            last_sent: HashMap::new(),
            turn_started: HashMap::new(),
            desktop_ids: HashMap::new(),
            shown_failures: HashSet::new(),
        }
    }
}

impl Default for Notices {
    fn default() -> Self {
        Notices::new(Writer::open(None))
    }
}

/// A notice's outcome on a channel that answers later.
pub(super) enum Outcome {
    Failed { session: String, agent: Option<String>, why: String },
    DesktopShown(u32),
}

impl Server {
    /// Logs a change of state and, for one the user may want to hear of,
    /// readies a notice: it goes out if the state still holds after the
    /// settle time.
    /// `submitted`: the prompt ends a turn the user (or `send`) started
    /// with Enter, questions on the way included.
    pub(super) fn note_state(&mut self, sid: SessionId, old: State, new: State, submitted: bool) {
        let now = self.os.now();
        self.log_state(sid, Some(old), new);
        let Some(s) = self.sessions.get(sid) else { return };
        let agent = s.watch.agent_name();
        if new == State::Busy && old != State::Busy {
            self.notices.turn_started.entry(sid).or_insert(now);
        }
        let kind = match new {
            State::Approval => Kind::Approval,
            State::Waiting if old == State::Busy && submitted => Kind::Finished,
            State::Exited => Kind::Exited,
            _ => {
                self.notices.pending.remove(&sid);
                if new == State::Waiting {
                    // Keystrokes echoed, no turn: the next one starts anew.
                    self.notices.turn_started.remove(&sid);
                }
                return;
            }
        };
        let took = match kind {
            Kind::Approval => None,
            _ => self.notices.turn_started.remove(&sid).map(|t| now.saturating_duration_since(t)),
        };
        let Some(s) = self.sessions.get(sid) else { return };
        let (detail, code) = {
            let Ok(t) = s.terminal.lock() else { return };
            let screen = t.screen();
            let rules = &s.watch.rules;
            match kind {
                Kind::Approval => {
                    let found = rules.detector.live_question(screen);
                    (found.map(|f| notify::screen::question(screen, f.row, &rules.notices)), None)
                }
                Kind::Finished => {
                    let input_row = rules.detector.input_row(screen);
                    (notify::screen::reply_last_line(screen, input_row, &rules.notices), None)
                }
                Kind::Exited => match s.life {
                    super::session::Life::Exited(code) => (None, Some(crate::pty::exit_text(code))),
                    _ => (None, None),
                },
            }
        };
        let notice = Notice::new(Facts {
            index: s.index,
            name: &s.name,
            agent: agent.as_deref(),
            kind,
            detail: detail.as_deref(),
            took,
            code: code.as_deref(),
        });
        self.notices.pending.insert(sid, Pending { kind, notice });
        let settle = self.config.notify.settle;
        self.after(settle, Event::NoticeDue(sid));
    }

    /// A new session's first state, into the log.
    pub(super) fn note_started(&mut self, sid: SessionId) {
        if let Some(state) = self.sessions.get(sid).map(|s| s.state()) {
            self.log_state(sid, None, state);
        }
    }

    fn log_state(&self, sid: SessionId, was: Option<State>, state: State) {
        let Some(s) = self.sessions.get(sid) else { return };
        let mut entry = Entry::new(s.label(), s.watch.agent_name());
        entry.state = Some(state.name().to_string());
        entry.was = was.map(|w| w.name().to_string());
        self.notices.log.write(entry);
    }

    /// A session went: its notices with it, and the log says so.
    pub(super) fn note_closed(&mut self, label: String, agent: Option<String>, sid: SessionId) {
        let mut entry = Entry::new(label, agent);
        entry.state = Some("closed".into());
        self.notices.log.write(entry);
        self.notices.pending.remove(&sid);
        self.notices.turn_started.remove(&sid);
        self.notices.desktop_ids.remove(&sid);
    }

    /// The settle time of a session's notice is over: send it if its state
    /// still holds and nothing says to keep quiet.
    pub(super) fn notice_due(&mut self, sid: SessionId) {
        let Some(pending) = self.notices.pending.remove(&sid) else { return };
        let Some(s) = self.sessions.get(sid) else { return };
        let holds = match pending.kind {
            Kind::Approval => s.state() == State::Approval,
            Kind::Finished => s.state() == State::Waiting,
            Kind::Exited => s.state() == State::Exited,
        };
        if !holds {
            return;
        }
        let shown = !self.views_showing(sid).is_empty();
        self.dispatch(Some(sid), pending.notice, shown);
    }

    /// Sends a notice that is due on the config's channels, unless nothing
    /// should be said; logs it and what became of it either way. `sid` is
    /// the local session's (a remote one has none here).
    pub(super) fn dispatch(&mut self, sid: Option<SessionId>, notice: Notice, shown: bool) {
        let now = self.os.now();
        let settings = self.config.notify.clone();
        let mut entry = Entry::new(notice.session.clone(), notice.agent.clone());
        entry.event = Some(notice.event.name().into());
        entry.text = Some(notice.text.clone());
        let quiet = self
            .notices
            .last_sent
            .get(&notice.session)
            .is_some_and(|t| now.saturating_duration_since(*t) < settings.quiet);
        entry.skipped = if !settings.on.contains(&notice.event) {
            Some("not in notify-on".into())
        } else if settings.channels.is_empty() {
            Some("no channels in notify".into())
        } else if shown && !settings.focused {
            Some("the session is shown in a client".into())
        } else if quiet {
            Some("in the session's quiet period".into())
        } else {
            None
        };
        if entry.skipped.is_none() {
            self.notices.last_sent.insert(notice.session.clone(), now);
            for channel in &settings.channels {
                match self.send_notice(sid, *channel, &notice) {
                    Ok(()) => entry.sent.push(channel.name().into()),
                    Err(why) => self.notice_failed(notice.session.clone(), notice.agent.clone(), *channel, why),
                }
            }
        }
        self.notices.log.write(entry);
    }

    /// Sends a notice on one channel; the channels that answer later tell
    /// the event loop how it went ([`Event::NoticeOutcome`]).
    fn send_notice(&mut self, sid: Option<SessionId>, channel: Channel, notice: &Notice) -> Result<(), String> {
        match channel {
            Channel::Terminal => {
                let forced = self.config.notify.terminal;
                let mut reached = 0;
                for conn in self.connections.values_mut() {
                    let Some(v) = conn.view.as_mut() else { continue };
                    let kind = forced.unwrap_or_else(|| TermKind::detect(&v.env));
                    let tmux = notify::terminal::inside_tmux(&v.env);
                    v.alerts.extend_from_slice(&kind.escape(notice, tmux));
                    v.dirty = true;
                    reached += 1;
                }
                if reached == 0 {
                    return Err("no client is attached".into());
                }
            }
            Channel::Desktop => {
                let (done, clicked) = (self.events.clone(), self.events.clone());
                let (session, agent) = (notice.session.clone(), notice.agent.clone());
                notify::desktop::show(
                    notice.clone(),
                    sid.and_then(|sid| self.notices.desktop_ids.get(&sid).copied()),
                    move |shown| {
                        let outcome = match shown {
                            Ok(id) => Outcome::DesktopShown(id),
                            Err(why) => Outcome::Failed { session, agent, why },
                        };
                        let _ = done.send(Event::NoticeOutcome(sid, Channel::Desktop, outcome));
                    },
                    move || {
                        if let Some(sid) = sid {
                            let _ = clicked.send(Event::NoticeClicked(sid));
                        }
                    },
                );
            }
            Channel::Command => {
                let (argv, timeout) = (self.config.notify.command.clone(), self.config.notify.command_timeout);
                let (notice, events) = (notice.clone(), self.events.clone());
                tokio::spawn(async move {
                    if let Err(why) = notify::command::run(&argv, &notice, timeout).await {
                        let (session, agent) = (notice.session, notice.agent);
                        let failed = Outcome::Failed { session, agent, why };
                        let _ = events.send(Event::NoticeOutcome(sid, Channel::Command, failed));
                    }
                });
            }
        }
        Ok(())
    }

    /// How a notice fared on a channel that answers later.
    pub(super) fn notice_outcome(&mut self, sid: Option<SessionId>, channel: Channel, outcome: Outcome) {
        match outcome {
            Outcome::DesktopShown(id) => {
                if let Some(sid) = sid.filter(|sid| self.sessions.get(*sid).is_some()) {
                    self.notices.desktop_ids.insert(sid, id);
                }
            }
            Outcome::Failed { session, agent, why } => self.notice_failed(session, agent, channel, why),
        }
    }

    /// A notice a channel could not deliver: into the log, to the server's
    /// log, and (the first time for this reason) to the user.
    fn notice_failed(&mut self, session: String, agent: Option<String>, channel: Channel, why: String) {
        eprintln!("qmux: a notification for {session} was not delivered: {why}");
        let mut entry = Entry::new(session, agent);
        entry.failed = Some(format!("{}: {why}", channel.name()));
        self.notices.log.write(entry);
        if self.notices.shown_failures.insert(why.clone()) {
            let views: Vec<super::ClientId> = self.views().map(|(id, _)| id).collect();
            for cid in views {
                self.show_warning(cid, &format!("notification not delivered: {why}"));
            }
        }
    }

    /// A desktop notification was clicked: the client typed in last shows
    /// its session.
    pub(super) fn notice_clicked(&mut self, sid: SessionId) {
        if self.sessions.get(sid).is_none() {
            return;
        }
        let typed_last = self.views().max_by_key(|(_, v)| v.last_input).map(|(id, _)| id);
        if let Some(cid) = typed_last {
            self.focus(cid, sid);
        }
    }
}
