//! The server half of each CLI verb: one function per [`Request`], each
//! answering its client. Also the `qmux wait` waiters.

use super::answer::AnsweredTo;
use super::typing::Typing;
use super::view::View;
use super::{ClientId, Server};
use crate::config::Config;
use crate::detect::State;
use crate::persist::SavedSession;
use crate::protocol::{Caller, NewSession, Request, Response, SessionId, ToClient, WaitFor};

/// A `qmux wait` still waiting.
pub(super) struct Waiter {
    pub client: ClientId,
    session: SessionId,
    until: Until,
}

enum Until {
    State(State),
    Output(regex::Regex),
}

type Answer = Result<Response, String>;

impl Server {
    pub(super) fn request(&mut self, cid: ClientId, req: Request) {
        let answer = match req {
            Request::Attach { target, create, create_if_none, size, env, watch, panes, prefix } => {
                self.attach(cid, target, create, create_if_none, size, env);
                // A prefix is one key: a few bytes, never none.
                if let Some(view) = self.view_mut(cid) {
                    view.prefix = prefix.filter(|p| (1..=16).contains(&p.len()));
                }
                if watch {
                    self.tile_all(cid, true);
                }
                if let Some(panes) = panes {
                    self.show_panes(cid, &panes);
                }
                return;
            }
            Request::NextAttention { caller: Some(caller) } => {
                self.caller_view(Some(caller)).and_then(|cid| self.jump_to_attention(cid)).map(|_| Response::Ok)
            }
            // From outside qmux: its index, a TARGET for `qmux attach -t`.
            Request::NextAttention { caller: None } => self
                .most_needing(SessionId::MAX)
                .and_then(|sid| self.sessions.get(sid))
                .map(|s| Response::Text(format!("{}\n", s.index)))
                .ok_or_else(|| "no session is waiting for you".to_string()),
            Request::Send { target, text, enter, when_waiting, now } => {
                return match self.sessions.resolve(&target) {
                    Ok(sid) => self.send_text(sid, Typing::new(text, enter, now, Some(cid)), when_waiting),
                    Err(e) => self.respond(cid, Err(e)),
                };
            }
            Request::Answer { target, choice, caller } => {
                return match self.sessions.resolve(&target) {
                    Ok(sid) => self.answer(sid, choice, caller, AnsweredTo::Verb(cid)),
                    Err(e) => self.respond(cid, Err(e)),
                };
            }
            Request::Wait { target, until } => return self.wait(cid, &target, until),
            Request::New { session, caller, switch_caller } => self.new_session(session, caller, switch_caller),
            Request::List => {
                self.survey_if_stale();
                Ok(Response::Sessions(self.session_infos()))
            }
            Request::Kill { target } => return self.kill(cid, &target),
            Request::Info { target } => self
                .sessions
                .resolve(&target)
                .map(|sid| Response::Sessions(self.session_infos().into_iter().filter(|s| s.id == sid).collect())),
            Request::Handoff { exe } => self.hand_off(exe),
            Request::KillServer => {
                self.shutting_down = true;
                Ok(Response::Ok)
            }
            Request::Rename { target, name } => {
                self.sessions.resolve(&target).and_then(|sid| self.rename(sid, &name)).map(|_| Response::Ok)
            }
            Request::Switch { target, caller } => self.switch(&target, caller),
            Request::Detach { target, caller } => self.detach_clients(target, caller),
            Request::Split { target, create, horizontal, caller } => {
                self.split_verb(target, create, horizontal, caller)
            }
            Request::Capture { target, ansi, history } => self.capture(&target, ansi, history),
            Request::ListSaved => Ok(self.list_saved()),
            Request::Restore { target } => self.restore_verb(target.as_deref()),
            Request::Forget { target } => self.forget(target.as_deref()),
            Request::Explain { target } => self
                .sessions
                .resolve(&target)
                .and_then(|sid| self.explain(sid).ok_or_else(|| "the session is gone".to_string()))
                .map(|e| Response::Explain(Box::new(e))),
            Request::Report { target, caller, state, end, conversation } => {
                let sid = match (target, caller) {
                    (Some(t), _) => self.sessions.resolve(&t),
                    (None, Some(c)) if self.sessions.get(c.session).is_some() => Ok(c.session),
                    (None, _) => Err("report from outside qmux needs -t TARGET".to_string()),
                };
                sid.map(|sid| {
                    self.report(sid, state, end, conversation);
                    Response::Ok
                })
            }
            Request::Reload { config } => Config::load(config.as_deref())
                .map_err(|e| e.to_string())
                .map(|config| Response::Text(format!("{}\n", self.reload(config)))),
        };
        self.respond(cid, answer);
    }

    /// `qmux`, `attach`, `new` without `-d`: the client takes a view.
    fn attach(
        &mut self,
        cid: ClientId,
        target: Option<String>,
        create: Option<NewSession>,
        create_if_none: Option<NewSession>,
        size: (u16, u16),
        env: Vec<(String, String)>,
    ) {
        let created = create.is_some() || (target.is_none() && self.sessions.is_empty());
        let chosen = match (create, target) {
            (Some(spec), _) => self.create_session(spec),
            (None, Some(t)) => self.sessions.resolve(&t),
            (None, None) => match (self.sessions.most_recent(), create_if_none) {
                (Some(sid), _) => Ok(sid),
                (None, Some(spec)) => self.create_session(spec),
                (None, None) => Err("no sessions".to_string()),
            },
        };
        let sid = match chosen {
            Ok(sid) => sid,
            Err(e) => return self.respond(cid, Err(e)),
        };
        // Said once: to this client before it takes the terminal, and in its
        // status bar. The shared-directory warning only when it is new.
        let mut notices = self.take_notices(true);
        if created {
            notices.extend(self.shared_resume_slot(sid, false));
        }
        self.respond(cid, Ok(Response::Notice(notices.clone())));
        let Some(conn) = self.connections.get_mut(&cid) else {
            return;
        };
        let mut view = View::new(size, sid, env);
        // What the client's terminal answers comes back as input.
        view.alerts.extend_from_slice(crate::terminal::COLOUR_QUERY);
        conn.view = Some(view);
        self.focus(cid, sid);
        self.restore_layout(cid, sid);
        if let Some(first) = notices.first() {
            self.show_message(cid, first);
        }
    }

    fn new_session(&mut self, spec: NewSession, caller: Option<Caller>, switch_caller: bool) -> Answer {
        let sid = self.create_session(spec)?;
        if let Some(caller) = caller.filter(|_| switch_caller) {
            for vid in self.views_showing(caller.session) {
                self.focus(vid, sid);
            }
        }
        let mut notices = self.take_notices(true);
        notices.extend(self.shared_resume_slot(sid, false));
        Ok(Response::Notice(notices))
    }

    /// `qmux kill`: answered at once, or, for a session with a worktree,
    /// once git has said what is left of it.
    fn kill(&mut self, cid: ClientId, target: &str) {
        match self.sessions.resolve(target) {
            Ok(sid) if self.remove_session_answering(sid, Some(cid)) => {}
            Ok(_) => self.respond(cid, Ok(Response::Ok)),
            Err(e) => self.respond(cid, Err(e)),
        }
    }

    fn switch(&mut self, target: &str, caller: Option<Caller>) -> Answer {
        let sid = self.sessions.resolve(target)?;
        if caller.is_none() {
            return Err(format!("not inside qmux: `qmux attach -t {target}` shows it in this terminal"));
        }
        for vid in self.caller_views(caller)? {
            self.focus(vid, sid);
        }
        Ok(Response::Ok)
    }

    /// `qmux detach`: the clients showing a session, or the caller's own
    /// client.
    fn detach_clients(&mut self, target: Option<String>, caller: Option<Caller>) -> Answer {
        let views = match target {
            Some(t) => {
                let sid = self.sessions.resolve(&t)?;
                let views = self.views_showing(sid);
                if views.is_empty() {
                    let label = self.sessions.get(sid).map(|s| s.label()).unwrap_or_default();
                    return Err(format!("no client is attached to {label}"));
                }
                views
            }
            None => vec![self.caller_view(caller)?],
        };
        for vid in views {
            self.detach(vid, "detached");
        }
        Ok(Response::Ok)
    }

    /// `qmux split`: a pane in the caller's client.
    fn split_verb(
        &mut self,
        target: Option<String>,
        create: Option<NewSession>,
        horizontal: bool,
        caller: Option<Caller>,
    ) -> Answer {
        let cid = self.caller_view(caller)?;
        let sid = match (target, create) {
            (Some(t), _) => self.sessions.resolve(&t)?,
            (None, Some(spec)) => self.create_session(spec)?,
            (None, None) => return Err("split needs -t TARGET or a command".into()),
        };
        if self.view(cid).is_some_and(|v| v.panes.iter().any(|p| p.session == sid)) {
            return Err("that session is in a pane of this client already".into());
        }
        self.split(cid, sid, !horizontal);
        let mut notices = self.take_notices(false);
        notices.extend(self.shared_resume_slot(sid, false));
        Ok(Response::Notice(notices))
    }

    fn capture(&self, target: &str, ansi: bool, history_rows: usize) -> Answer {
        let s = self.sessions.get(self.sessions.resolve(target)?).ok_or("the session is gone")?;
        let t = s.terminal.lock().map_err(|_| "the session's terminal is broken")?;
        Ok(Response::Text(crate::history::capture(t.history(), t.screen(), history_rows, ansi)))
    }

    fn list_saved(&self) -> Response {
        Response::Saved(self.saving.saved.iter().map(|s| SavedSession { env: Vec::new(), ..s.meta.clone() }).collect())
    }

    fn restore_verb(&mut self, target: Option<&str>) -> Answer {
        let mut notices = self.take_notices(false);
        notices.extend(self.restore(target)?);
        Ok(Response::Notice(notices))
    }

    fn forget(&mut self, target: Option<&str>) -> Answer {
        let picked = crate::persist::pick(&self.saving.saved, target)?;
        if picked.is_empty() {
            return Err("there are no saved sessions".into());
        }
        let mut lines = Vec::new();
        for i in picked.into_iter().rev() {
            let s = self.take_saved(i);
            if let Some(store) = &self.saving.store {
                store.forget(&s.meta.key);
            }
            lines.push(format!("forgot {}:{}", s.meta.index, s.meta.name));
        }
        lines.reverse();
        Ok(Response::Notice(lines))
    }

    /// `qmux wait`: answered when the condition holds, or when it never can.
    fn wait(&mut self, cid: ClientId, target: &str, until: WaitFor) {
        let until = match until {
            WaitFor::Busy => Ok(Until::State(State::Busy)),
            WaitFor::Waiting => Ok(Until::State(State::Waiting)),
            WaitFor::Approval => Ok(Until::State(State::Approval)),
            WaitFor::Exited => Ok(Until::State(State::Exited)),
            WaitFor::Output(pattern) => {
                regex::Regex::new(&pattern).map(Until::Output).map_err(|e| regex_error(&pattern, &e))
            }
        };
        let (sid, until) = match until.and_then(|u| Ok((self.sessions.resolve(target)?, u))) {
            Ok(found) => found,
            Err(e) => return self.respond(cid, Err(e)),
        };
        self.waiters.push(Waiter { client: cid, session: sid, until });
        self.check_waiters(sid);
        // An exited session will never get anywhere else.
        if let Some(s) = self.sessions.get(sid).filter(|s| !s.running()) {
            let why = format!("{} has exited", s.label());
            self.end_waiters(sid, &why);
        }
    }

    /// Answers the waiters on a session whose condition now holds.
    pub(super) fn check_waiters(&mut self, sid: SessionId) {
        if !self.waiters.iter().any(|w| w.session == sid) {
            return;
        }
        let Some(s) = self.sessions.get(sid) else { return };
        let state = s.state();
        let text = s.terminal.lock().map(|t| t.text()).unwrap_or_default();
        let (done, rest): (Vec<Waiter>, Vec<Waiter>) = std::mem::take(&mut self.waiters).into_iter().partition(|w| {
            w.session == sid
                && match &w.until {
                    Until::State(want) => *want == state,
                    Until::Output(re) => re.is_match(&text),
                }
        });
        self.waiters = rest;
        for w in done {
            self.respond(w.client, Ok(Response::Ok));
        }
    }

    /// The session is gone or exited: nothing else it waits for can happen.
    pub(super) fn end_waiters(&mut self, sid: SessionId, why: &str) {
        let (ended, rest): (Vec<Waiter>, Vec<Waiter>) =
            std::mem::take(&mut self.waiters).into_iter().partition(|w| w.session == sid);
        self.waiters = rest;
        for w in ended {
            self.send(w.client, ToClient::Response(Response::SessionEnded(why.to_string())));
        }
    }
}

/// A regex error on one line: the regex crate's message spans several.
fn regex_error(pattern: &str, e: &regex::Error) -> String {
    let text = e.to_string();
    let what = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("invalid");
    format!("bad REGEX {pattern:?}: {}", what.trim().trim_start_matches("error: "))
}
