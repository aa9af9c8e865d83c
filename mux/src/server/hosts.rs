//! The other machines in the config's `hosts`: their sessions, listed in
//! the chooser beside these and weighed by the attention jump. A thread per
//! host asks its server for the list over ssh (the bridge, as `qmux -H`
//! does) every couple of seconds while a client is attached, and nothing
//! while none is. A host that is down is shown as such and holds up
//! nothing: the threads only ever send events.
//!
//! Showing a remote session is the client's job: the server tells it to
//! hop there (`ToClient::Hop`); it attaches over ssh (the same shared
//! connection) and comes back here when it detaches from there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{ClientId, Event, Server};
use crate::detect::State;
use crate::protocol::{Request, Response, SessionId, SessionInfo, ToClient};
use crate::remote::{Host, Remote};

/// How often a host's sessions are asked for while anyone looks.
const POLL: Duration = Duration::from_secs(2);

/// One machine, as last heard from.
pub(super) struct HostView {
    pub name: String,
    /// None until first heard from.
    pub sessions: Option<Result<Vec<SessionInfo>, String>>,
}

#[derive(Default)]
pub(super) struct Hosts {
    pub list: Vec<HostView>,
    /// Whether any client is attached: the pollers ask only then.
    wanted: Arc<AtomicBool>,
}

impl Hosts {
    /// Starts a poller for each host of the config.
    pub fn start(
        config: &crate::config::Config,
        control_dir: Option<std::path::PathBuf>,
        events: &mpsc::UnboundedSender<Event>,
    ) -> Hosts {
        let wanted = Arc::new(AtomicBool::new(false));
        let mut list = Vec::new();
        for (i, name) in config.hosts.iter().enumerate() {
            let host = match Host::parse(name) {
                Ok(host) => host,
                Err(e) => {
                    list.push(HostView { name: name.clone(), sessions: Some(Err(e.to_string())) });
                    continue;
                }
            };
            list.push(HostView { name: name.clone(), sessions: None });
            let remote = Remote::new(host, config, Vec::new(), control_dir.clone()).batch();
            let (wanted, events) = (wanted.clone(), events.clone());
            let _ =
                std::thread::Builder::new().name("host-poller".into()).spawn(move || poll(i, remote, &wanted, &events));
        }
        Hosts { list, wanted }
    }

    /// Tells the pollers whether anyone is looking.
    pub fn set_wanted(&self, wanted: bool) {
        self.wanted.store(wanted, Ordering::Relaxed);
    }

    /// Every remote session, host by host: (host, session).
    pub fn sessions(&self) -> impl Iterator<Item = (&str, &SessionInfo)> {
        self.list
            .iter()
            .filter_map(|h| Some((h.name.as_str(), h.sessions.as_ref()?.as_ref().ok()?)))
            .flat_map(|(name, sessions)| sessions.iter().map(move |s| (name, s)))
    }

    /// The remote session that needs the user most: asking first, then
    /// finished and unseen.
    pub fn most_needing(&self) -> Option<(&str, &SessionInfo)> {
        self.sessions()
            .filter(|(_, s)| s.state == State::Approval || s.done)
            .min_by_key(|(_, s)| s.state != State::Approval)
    }
}

/// A chooser row of another machine: a session, or what is known of the
/// host when it lists none.
pub(super) enum RemoteRow<'a> {
    Session(&'a str, &'a SessionInfo),
    Note(&'a str, String),
}

impl Hosts {
    pub fn rows(&self) -> Vec<RemoteRow<'_>> {
        let mut rows = Vec::new();
        for h in &self.list {
            match &h.sessions {
                None => rows.push(RemoteRow::Note(&h.name, "asking…".into())),
                Some(Err(e)) => rows.push(RemoteRow::Note(&h.name, format!("unreachable: {e}"))),
                Some(Ok(list)) if list.is_empty() => rows.push(RemoteRow::Note(&h.name, "no sessions".into())),
                Some(Ok(list)) => rows.extend(list.iter().map(|s| RemoteRow::Session(&h.name, s))),
            }
        }
        rows
    }
}

/// One host's poller: connects while wanted, asks, reports, and starts
/// over when the connection fails.
fn poll(i: usize, remote: Remote, wanted: &AtomicBool, events: &mpsc::UnboundedSender<Event>) {
    loop {
        if !wanted.load(Ordering::Relaxed) {
            std::thread::sleep(POLL / 4);
            continue;
        }
        let mut conn = match crate::client::Connection::open_remote(&remote, false) {
            Ok(conn) => conn,
            Err(e) if e.to_string().starts_with("no server running") => {
                if events.send(Event::HostSessions(i, Ok(Vec::new()))).is_err() {
                    return;
                }
                std::thread::sleep(POLL);
                continue;
            }
            Err(e) => {
                let why = e.preface.as_deref().and_then(|p| p.lines().last()).map(str::to_string);
                if events.send(Event::HostSessions(i, Err(why.unwrap_or_else(|| e.to_string())))).is_err() {
                    return;
                }
                std::thread::sleep(POLL * 2);
                continue;
            }
        };
        while wanted.load(Ordering::Relaxed) {
            let answer = match conn.request(Request::List) {
                Ok(Response::Sessions(list)) => Ok(list),
                Ok(_) => Err("the server there gave an odd answer".to_string()),
                Err(e) => Err(e.to_string()),
            };
            let failed = answer.is_err();
            if events.send(Event::HostSessions(i, answer)).is_err() {
                return;
            }
            if failed {
                break;
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Server {
    /// A host's news: redraw the choosers.
    pub(super) fn host_sessions(&mut self, i: usize, sessions: Result<Vec<SessionInfo>, String>) {
        let mut notices = Vec::new();
        if let Some(h) = self.hosts.list.get_mut(i) {
            if let (Some(Ok(before)), Ok(now)) = (&h.sessions, &sessions) {
                notices = remote_notices(&h.name, before, now);
            }
            h.sessions = Some(sessions);
        }
        // A session someone is attached to over there is being looked at.
        for (notice, shown) in notices {
            self.dispatch(None, notice, shown);
        }
        let choosing: Vec<ClientId> = self
            .views()
            .filter(|(_, v)| matches!(v.mode, super::modes::Mode::Chooser { .. }))
            .map(|(id, _)| id)
            .collect();
        for cid in choosing {
            if let Some(v) = self.view_mut(cid) {
                v.repaint();
            }
        }
    }

    /// Sends a client to a session of another machine; it comes back
    /// when it detaches from there.
    pub(super) fn hop(&mut self, cid: ClientId, host: String, session: SessionId) {
        let Some(from) = self.view(cid).map(|v| v.focused()) else { return };
        self.send(cid, ToClient::Hop { host, session, from });
        self.close(cid);
    }
}

/// What changed on another machine that the user should hear of, through
/// this machine's channels: a question, a finished turn nobody saw, an
/// exit. Each with whether a client over there shows the session.
fn remote_notices(host: &str, before: &[SessionInfo], now: &[SessionInfo]) -> Vec<(crate::notify::Notice, bool)> {
    use crate::notify::{Facts, Kind, Notice};
    let mut out = Vec::new();
    for s in now {
        let Some(old) = before.iter().find(|o| o.id == s.id) else { continue };
        let kind = match (old.state, s.state) {
            (o, State::Approval) if o != State::Approval => Kind::Approval,
            (State::Busy, State::Waiting) if s.done => Kind::Finished,
            (o, State::Exited) if o != State::Exited => Kind::Exited,
            _ => continue,
        };
        let code = s.exit_code.map(crate::pty::exit_text);
        let notice = Notice::new(Facts {
            index: s.index,
            name: &s.name,
            agent: s.agent.as_deref(),
            kind,
            detail: None,
            took: None,
            code: code.as_deref(),
        });
        // Named as the chooser names it: box/3:codex.
        let label = format!("{host}/{}", notice.session);
        let on = |t: &str| t.replacen(&notice.session, &label, 1);
        let notice = Notice {
            title: on(&notice.title),
            text: on(&notice.text),
            session: label,
            host: host.to_string(),
            ..notice
        };
        out.push((notice, s.attached_clients > 0));
    }
    out
}
