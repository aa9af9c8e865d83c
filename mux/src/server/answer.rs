//! Answering an agent's approval question: `qmux approve` / `qmux deny`,
//! the chooser's `y` / `n`, prefix `y` / `N`. The keys are the ones the
//! agent's rule set names (`[answers]`), pressed only while the question
//! is on screen, and the answer is done once the program has left it.

use std::time::{Duration, Instant};

use super::{ClientId, Event, Server};
use crate::detect::State;
use crate::protocol::{Caller, Response, SessionId};
use crate::rules::Choice;

/// How long a question may take to show on screen (a hook can say
/// "approval" before the dialog is drawn), and the program to leave it
/// once the keys are pressed.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a question must have been asked before its keys are pressed:
/// Ink dialogs drop a key that arrives as they are drawn.
const QUESTION_SETTLE: Duration = Duration::from_millis(400);

/// How often a pending answer looks again while it waits for the question.
const ANSWER_POLL: Duration = Duration::from_millis(100);

/// Who hears how an answer went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AnsweredTo {
    /// A `qmux approve` / `deny`, answered with the result.
    Verb(ClientId),
    /// A key in an attached client: the status bar says what went wrong.
    View(ClientId),
}

/// An answer on its way to a session's question.
pub(super) struct Answering {
    choice: Choice,
    to: AnsweredTo,
    /// When the answer was asked for.
    since: Instant,
    /// When its keys were pressed.
    pressed: Option<Instant>,
}

impl Server {
    /// Answers the question `sid` shows with `choice`, on behalf of
    /// `caller` (a session may not answer its own).
    pub(super) fn answer(&mut self, sid: SessionId, choice: Choice, caller: Option<Caller>, to: AnsweredTo) {
        let Some(s) = self.sessions.get(sid) else { return self.answered(to, Err("no such session".into())) };
        let label = s.label();
        let refused = if caller.is_some_and(|c| c.session == sid) {
            Some(format!("{label} cannot answer its own question; another session or the user must"))
        } else if s.state() != State::Approval {
            Some(format!("{label} is not asking anything (state: {})", s.state().name()))
        } else if !s.watch.rules.answers.any() {
            Some(format!(
                "qmux knows no keys that answer {label}'s questions ({} has no [answers]); `qmux send --now --no-enter KEYS` types them",
                s.watch.rules.name
            ))
        } else if self.answering.contains_key(&sid) {
            Some(format!("{label}'s question is being answered already"))
        } else {
            None
        };
        if let Some(why) = refused {
            return self.answered(to, Err(why));
        }
        let since = self.os.now();
        self.answering.insert(sid, Answering { choice, to, since, pressed: None });
        self.advance_answer(sid);
    }

    /// Moves a pending answer on: presses its keys once the question has
    /// stood on screen a moment, then waits for the program to leave it.
    pub(super) fn advance_answer(&mut self, sid: SessionId) {
        let Some(pending) = self.answering.get(&sid) else { return };
        let (choice, since, pressed) = (pending.choice, pending.since, pending.pressed);
        let now = self.os.now();
        let Some(s) = self.sessions.get_mut(sid) else {
            return self.finish_answer(sid, Err("the session is gone".into()));
        };
        let label = s.label();
        let (on_screen, screen_text) = match s.terminal.lock() {
            Ok(t) => (s.watch.rules.detector.asks_approval(t.screen()), t.text()),
            Err(_) => (false, String::new()),
        };
        let asking = s.state() == State::Approval;
        if let Some(at) = pressed {
            if !asking || !on_screen {
                return self.finish_answer(sid, Ok(()));
            }
            if now >= at + ANSWER_TIMEOUT {
                let why = format!("{label}: the question is still there after {} s", ANSWER_TIMEOUT.as_secs());
                return self.finish_answer(sid, Err(why));
            }
            return self.after(at + ANSWER_TIMEOUT - now, Event::Answer(sid));
        }
        if !asking {
            let why = format!("{label} stopped asking before it was answered (state: {})", s.state().name());
            return self.finish_answer(sid, Err(why));
        }
        let asked_for = s.needs_you_since.map_or(QUESTION_SETTLE, |t| now.saturating_duration_since(t));
        if on_screen && asked_for >= QUESTION_SETTLE {
            let keys = match s.watch.rules.answers.keys(choice, &screen_text) {
                Ok(keys) => keys.to_vec(),
                Err(why) => return self.finish_answer(sid, Err(format!("cannot {} {label}: {why}", choice.verb()))),
            };
            // A line editor's answer ends with Enter: the question is above
            // the line it answered, as after a typed message.
            if keys.ends_with(b"\r") {
                s.watch.answered(&s.terminal);
            }
            s.child.write(keys);
            if let Some(p) = self.answering.get_mut(&sid) {
                p.pressed = Some(now);
            }
            return self.after(ANSWER_TIMEOUT, Event::Answer(sid));
        }
        if now >= since + ANSWER_TIMEOUT {
            let index = s.index;
            let why =
                format!("{label} says it asks, but no question it knows is on its screen: `qmux explain -t {index}`");
            return self.finish_answer(sid, Err(why));
        }
        self.after(ANSWER_POLL, Event::Answer(sid));
    }

    fn finish_answer(&mut self, sid: SessionId, result: Result<(), String>) {
        if let Some(done) = self.answering.remove(&sid) {
            self.answered(done.to, result);
        }
    }

    fn answered(&mut self, to: AnsweredTo, result: Result<(), String>) {
        match (to, result) {
            (AnsweredTo::Verb(cid), result) => self.respond(cid, result.map(|_| Response::Ok)),
            (AnsweredTo::View(cid), Err(why)) => self.show_message(cid, &why),
            (AnsweredTo::View(_), Ok(())) => {}
        }
    }
}
