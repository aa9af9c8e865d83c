//! Messages on their way into a program (`qmux send`, queued messages):
//! typed, echoed, entered, and answered once the program reacts.

use std::time::Instant;

use super::{ClientId, Event, Server};
use crate::detect::State;
use crate::protocol::{Response, SessionId};
use crate::rules::Paste;

/// A message on its way into a program (see `Server::advance_typing`).
pub(super) struct Typing {
    pub text: String,
    pub enter: bool,
    /// Typed even into an approval question (`send --now`).
    pub now: bool,
    /// The `qmux send` to answer when it is done.
    pub client: Option<ClientId>,
    pub phase: Phase,
}

impl Typing {
    pub fn new(text: String, enter: bool, now: bool, client: Option<ClientId>) -> Typing {
        Typing { text, enter, now, client, phase: Phase::Queued }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Phase {
    Queued,
    /// The text is written; `echoed` once output followed.
    Typed {
        at: Instant,
        echoed: bool,
    },
    /// Enter is written; `reacted` once output followed.
    Entered {
        at: Instant,
        reacted: bool,
    },
}

impl Server {
    /// Types text into a session now, or queues it for its next prompt:
    /// with `when_waiting`, or while the program asks for approval (an
    /// Enter would answer the question), unless the send says `now`. A
    /// `qmux send` is answered once the program has reacted, or at once
    /// with a notice when its message was queued.
    pub(super) fn send_text(&mut self, sid: SessionId, typing: Typing, when_waiting: bool) {
        let Some(s) = self.sessions.get_mut(sid) else {
            return self.answer_typing(typing.client, Err("no such session".into()));
        };
        if !s.running() {
            let e = format!("{} has exited; nothing reads its input", s.label());
            return self.answer_typing(typing.client, Err(e));
        }
        let asking = !typing.now && s.asks(self.os.now());
        if asking || when_waiting && (s.state() != State::Waiting || !s.queue.is_empty() || !s.typing.is_empty()) {
            let notice = queued_notice(&s.label(), s.state());
            s.queue.push_back((typing.text, typing.enter));
            self.mark_all();
            return self.answer_typing(typing.client, Ok(Response::Notice(vec![notice])));
        }
        self.type_into(sid, typing);
    }

    fn answer_typing(&mut self, client: Option<ClientId>, result: Result<Response, String>) {
        if let Some(client) = client {
            self.respond(client, result);
        }
    }

    pub(super) fn deliver_queued(&mut self, sid: SessionId) {
        let Some(s) = self.sessions.get_mut(sid) else { return };
        if !s.typing.is_empty() {
            return;
        }
        if let Some((text, enter)) = s.queue.pop_front() {
            self.type_into(sid, Typing::new(text, enter, false, None));
            self.mark_all();
        }
    }

    /// Queues a message to type; the first one starts at once.
    pub(super) fn type_into(&mut self, sid: SessionId, typing: Typing) {
        self.turn_started(sid, &typing.text);
        let Some(s) = self.sessions.get_mut(sid) else { return };
        s.typing.push_back(typing);
        if s.typing.len() == 1 {
            self.advance_typing(sid);
        }
    }

    /// Moves the message being typed on: the text first (one bracketed
    /// paste when the rule set says so), then, once the program has echoed
    /// it and the rule set's least delay has passed (or its echo timeout
    /// has), Enter as a write of its own: Ink and ratatui apps take a CR
    /// that comes with the text as part of a paste. Done when the program
    /// reacts to the last write; an error when it never does.
    pub(super) fn advance_typing(&mut self, sid: SessionId) {
        let Some(s) = self.sessions.get_mut(sid) else { return };
        let input = s.watch.rules.input.clone();
        let label = s.label();
        let now = self.os.now();
        let asks = s.asks(now);
        let Some(t) = s.typing.front_mut() else { return };
        let mut next_check = None;
        let mut finished: Option<Result<(), String>> = None;
        let asking = asks && !t.now;
        match t.phase {
            Phase::Queued if asking => {
                // Its turn came while the program asks: back to the queue,
                // for when it waits again.
                if let Some(t) = s.typing.pop_front() {
                    let notice = queued_notice(&label, State::Approval);
                    s.queue.push_front((t.text, t.enter));
                    self.answer_typing(t.client, Ok(Response::Notice(vec![notice])));
                }
                self.mark_all();
                return self.advance_typing(sid);
            }
            Phase::Typed { .. } if t.enter && asking => {
                // A question came up while the text was typed: an Enter now
                // would answer it.
                finished = Some(Err(format!(
                    "{label} started asking for approval while the text was typed: Enter was not pressed; \
                     `qmux approve` or `qmux deny` answers it"
                )));
            }
            Phase::Queued => {
                let paste = s.terminal.lock().map(|t| t.screen().bracketed_paste()).unwrap_or(false);
                // A line without Enter (an answer to a dialog) goes as keys.
                let as_paste = paste && (t.text.contains('\n') || t.enter && input.paste == Paste::Always);
                let mut bytes = Vec::with_capacity(t.text.len() + 12);
                if as_paste {
                    bytes.extend_from_slice(b"\x1b[200~");
                    bytes.extend_from_slice(t.text.as_bytes());
                    bytes.extend_from_slice(b"\x1b[201~");
                } else {
                    bytes.extend(t.text.bytes().map(|b| if b == b'\n' { b'\r' } else { b }));
                }
                if !bytes.is_empty() {
                    s.child.write(bytes);
                }
                t.phase = Phase::Typed { at: now, echoed: t.text.is_empty() };
                next_check = Some(if t.enter { input.echo_timeout } else { input.reaction_timeout });
            }
            Phase::Typed { at, echoed } if t.enter => {
                let delay = if echoed { input.submit_delay } else { input.echo_timeout };
                if now >= at + delay {
                    // `send --now` into a question answers it.
                    if asks {
                        s.watch.answered(&s.terminal);
                    } else {
                        s.watch.submitted(&s.terminal, now);
                    }
                    s.child.write(b"\r".to_vec());
                    t.phase = Phase::Entered { at: now, reacted: false };
                    next_check = Some(input.reaction_timeout);
                } else {
                    next_check = Some(at + delay - now);
                }
            }
            Phase::Typed { echoed: true, .. } | Phase::Entered { reacted: true, .. } => finished = Some(Ok(())),
            Phase::Typed { at, .. } | Phase::Entered { at, .. } => {
                if now >= at + input.reaction_timeout {
                    finished = Some(Err(format!(
                        "{} did not react to the input within {}s; `qmux explain -t {}` shows what it is doing",
                        s.label(),
                        input.reaction_timeout.as_secs(),
                        s.name
                    )));
                } else {
                    next_check = Some(at + input.reaction_timeout - now);
                }
            }
        }
        if let Some(after) = next_check {
            self.after(after, Event::Typing(sid));
        }
        let Some(result) = finished else { return };
        let Some(s) = self.sessions.get_mut(sid) else { return };
        let Some(done) = s.typing.pop_front() else { return };
        let label = s.label();
        let more = !s.typing.is_empty();
        if !more {
            s.watch.awaiting_reaction = false;
        }
        match (done.client, result) {
            (Some(client), result) => self.respond(client, result.map(|_| Response::Ok)),
            (None, Err(e)) if e.contains("started asking") => self.show_message_everywhere(&e),
            (None, Err(_)) => self.show_message_everywhere(&format!("{label} did not react to a queued message")),
            (None, Ok(())) => {}
        }
        if more {
            self.advance_typing(sid);
        } else {
            self.evaluate_state(sid);
        }
    }

    /// The program wrote something: the message being typed was echoed, or
    /// its Enter was taken. Output while the program has not yet taken all
    /// of the input is only the echo of what it took so far.
    pub(super) fn typing_saw_output(&mut self, sid: SessionId) {
        let Some(s) = self.sessions.get_mut(sid) else { return };
        if s.child.input_pending() {
            return;
        }
        let Some(t) = s.typing.front_mut() else { return };
        match &mut t.phase {
            Phase::Typed { echoed, .. } if !*echoed => *echoed = true,
            Phase::Entered { reacted, .. } if !*reacted => *reacted = true,
            _ => return,
        }
        self.advance_typing(sid);
    }
}

/// What `send` says when its message waits in the queue.
fn queued_notice(label: &str, state: State) -> String {
    match state {
        State::Approval => format!("queued: {label} is asking for approval; qmux approve/deny answers it"),
        State::Waiting => format!("queued behind the messages already on their way into {label}"),
        state => format!("queued: {label} is {}; delivered when it waits at its prompt", state.name()),
    }
}
