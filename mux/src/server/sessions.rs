//! The registry of sessions: creating them, naming them, finding them by
//! target, and removing them.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::modes::Mode;
use super::os::Program;
use super::session::{epoch_secs, from_epoch, Life, Session, Watch};
use super::view::{bounded_size, session_rows};
use super::{ClientId, Event, Server};
use crate::detect::State;
use crate::persist::Saved;
use crate::protocol::{Attention, NewSession, SessionId, SessionInfo};
use crate::pty::{self, OutputPending, SpawnSpec};
use crate::terminal::Terminal;

/// Every session, in index order.
pub(super) struct Sessions {
    list: Vec<Session>,
    next_id: SessionId,
    /// Bumped each time a session is created or shown.
    use_counter: u64,
    /// The index and name of each saved session waiting for `qmux restore`:
    /// a new session takes neither, and a target that names one is not
    /// taken for a live session whose name it begins.
    saved: Vec<(u32, String)>,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions { list: Vec::new(), next_id: 1, use_counter: 0, saved: Vec::new() }
    }
}

impl Sessions {
    pub fn get(&self, sid: SessionId) -> Option<&Session> {
        self.list.iter().find(|s| s.id == sid)
    }

    pub fn get_mut(&mut self, sid: SessionId) -> Option<&mut Session> {
        self.list.iter_mut().find(|s| s.id == sid)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Session> {
        self.list.iter()
    }

    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Session> {
        self.list.iter_mut()
    }

    pub fn ids(&self) -> Vec<SessionId> {
        self.list.iter().map(|s| s.id).collect()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// The session at a position in index order.
    pub fn at(&self, pos: usize) -> Option<&Session> {
        self.list.get(pos)
    }

    pub fn position(&self, sid: SessionId) -> Option<usize> {
        self.list.iter().position(|s| s.id == sid)
    }

    pub fn by_index(&self, index: u32) -> Option<SessionId> {
        self.list.iter().find(|s| s.index == index).map(|s| s.id)
    }

    /// The one used last: the bare `qmux` attaches to it.
    pub fn most_recent(&self) -> Option<SessionId> {
        self.list.iter().max_by_key(|s| s.last_used).map(|s| s.id)
    }

    /// Marks a session as just used.
    pub fn touch(&mut self, sid: SessionId) {
        self.use_counter += 1;
        let counter = self.use_counter;
        if let Some(s) = self.get_mut(sid) {
            s.last_used = counter;
        }
    }

    /// A session by target: name, index or unique name prefix. A saved
    /// session's own name or index is never a live one's prefix: `-t claude`
    /// must not reach `claude-2` while `claude` waits to be restored.
    pub fn resolve(&self, target: &str) -> Result<SessionId, String> {
        let candidates: Vec<crate::target::Candidate<'_>> = self
            .list
            .iter()
            .map(|s| crate::target::Candidate { index: s.index, name: &s.name, id: Some(s.id) })
            .collect();
        let names = |index: u32, name: &str| crate::target::names_exactly(target, index, name);
        if let Some((index, name)) = self.saved.iter().find(|(i, n)| names(*i, n)) {
            if !candidates.iter().any(|c| names(c.index, c.name)) {
                return Err(format!(
                    "{index}:{name} is a saved session, not running: `qmux restore -t ={name}` brings it back"
                ));
            }
        }
        let found = crate::target::find(target, &candidates, "session")?;
        Ok(self.list[found[0]].id)
    }

    /// What the saved sessions hold on to (see [`Sessions::saved`]).
    pub fn set_saved(&mut self, saved: impl Iterator<Item = (u32, String)>) {
        self.saved = saved.collect();
    }

    pub fn check_name(&self, name: &str, except: Option<SessionId>) -> Result<(), String> {
        crate::target::check_name(name)?;
        if self.list.iter().any(|s| s.name == name && Some(s.id) != except) {
            return Err(format!("a session named {name:?} already exists"));
        }
        Ok(())
    }

    /// Whether a live session has this name.
    pub fn name_taken(&self, name: &str) -> bool {
        self.list.iter().any(|s| s.name == name)
    }

    /// Whether a saved session waiting for restore has this name.
    pub fn name_saved(&self, name: &str) -> bool {
        self.saved.iter().any(|(_, n)| n == name)
    }

    /// `base`, or `base-2`, `base-3`… whichever no session, live or saved,
    /// has, made a good name.
    pub fn unique_name(&self, base: &str) -> String {
        let base: String = base.chars().filter(|c| !c.is_control() && *c != ':').collect();
        let base = base.trim_start_matches(['=', '$']);
        let base = match base {
            "" => "chat".to_string(),
            digits if crate::target::is_index(digits) => format!("dir-{digits}"),
            name => name.to_string(),
        };
        let mut name = base.clone();
        let mut n = 2;
        while self.name_taken(&name) || self.name_saved(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        name
    }

    /// `preferred` if no session, live or saved, has it, else the lowest
    /// such index.
    pub fn free_index(&self, preferred: Option<u32>) -> u32 {
        let free = |i: &u32| !self.list.iter().any(|s| s.index == *i) && !self.saved.iter().any(|(s, _)| s == i);
        preferred.filter(free).or_else(|| (0..).find(free)).unwrap_or(0)
    }

    fn next_id(&mut self) -> SessionId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Takes a session a previous server handed over, id and all.
    pub fn adopt(&mut self, session: Session) {
        self.next_id = self.next_id.max(session.id + 1);
        self.use_counter = self.use_counter.max(session.last_used);
        let at = self.list.partition_point(|s| s.index < session.index);
        self.list.insert(at, session);
    }

    fn insert(&mut self, session: Session) {
        let at = self.list.partition_point(|s| s.index < session.index);
        self.list.insert(at, session);
        self.touch(self.list[at].id);
    }

    /// Takes a session out; returns it and where it was.
    fn remove(&mut self, sid: SessionId) -> Option<(usize, Session)> {
        let pos = self.position(sid)?;
        Some((pos, self.list.remove(pos)))
    }
}

impl Server {
    /// The command a session runs when none is given: the config's, else
    /// `q chat` if `q` is installed, else the stand-in chat next to us.
    pub(super) fn default_command(&self, env: &[(String, String)], cwd: &Path) -> Result<Vec<String>, String> {
        if let Some(cmd) = &self.config.default_command {
            return Ok(cmd.clone());
        }
        let path = env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_str());
        if which::which_in("q", path, cwd).is_ok() {
            return Ok(vec!["q".into(), "chat".into()]);
        }
        let standin = std::env::current_exe().ok().and_then(|e| Some(e.parent()?.join("qmux-chat")));
        match standin {
            Some(p) if p.is_file() => Ok(vec![p.to_string_lossy().into_owned()]),
            _ => Err("no default command: install `q`, set default-command in the config, or build qmux-chat \
                      (cargo build --workspace)"
                .into()),
        }
    }

    pub(super) fn create_session(&mut self, spec: NewSession) -> Result<SessionId, String> {
        self.create_or_restore(spec, None)
    }

    /// Starts a session; with `saved`, brings back a saved one: its history
    /// and last screen first, a marker line, then the program resumed.
    pub(super) fn create_or_restore(&mut self, spec: NewSession, saved: Option<&Saved>) -> Result<SessionId, String> {
        if let Some(name) = &spec.name {
            self.sessions.check_name(name, None)?;
            if saved.is_none() && self.sessions.name_saved(name) {
                self.saving.notices.push(format!(
                    "warning: a saved session is also called {name}; `qmux restore` brings it back under another name"
                ));
            }
        }
        let mut worktree = spec.worktree.map(|wt| *wt);
        if let Some(wt) = worktree.as_ref().filter(|wt| !wt.path.is_dir()) {
            return Err(format!("its worktree {} is gone (qmux forget drops a saved session)", wt.path.display()));
        }
        // The setup runs once, before the program's first start.
        let setup = worktree.as_mut().and_then(|wt| wt.setup.take()).filter(|_| saved.is_none());
        let by_default = spec.command.is_empty() && self.config.default_command.is_none();
        let command = if spec.command.is_empty() { self.default_command(&spec.env, &spec.cwd)? } else { spec.command };
        let index = self.sessions.free_index(saved.map(|s| s.meta.index));
        let name = spec.name.unwrap_or_else(|| {
            let dir = spec.cwd.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            self.sessions.unique_name(&dir)
        });
        let (cols, rows) = bounded_size(spec.size.unwrap_or(self.config.default_size));
        let rows = session_rows(rows);
        let ours = |k: &str| matches!(k, "TERM" | "QMUX" | "QMUX_SESSION");
        let saved_env: Vec<(String, String)> = spec.env.into_iter().filter(|(k, _)| !ours(k)).collect();
        let id = self.sessions.next_id();
        let mut env = saved_env.clone();
        env.push(("TERM".into(), pty::child_term().into()));
        env.push(("QMUX".into(), format!("{},{},{id}", self.socket.display(), std::process::id())));
        env.push(("QMUX_SESSION".into(), name.clone()));

        let mut term = Terminal::with_history_limit(rows, cols, self.config.history_limit);
        term.history_mut().set_byte_limit(self.config.history_bytes);
        // A program that had exited comes back exited, its last screen shown.
        let exited = saved.and_then(|s| s.meta.exit_code);
        match (saved, exited) {
            (Some(saved), Some(code)) => super::persist::seed_exited(&mut term, saved, code),
            (Some(saved), None) => super::persist::seed(&mut term, saved),
            (None, _) => {}
        }
        let (saved_upto, log_rows) = (term.history().total_pushed(), term.history().len());
        let terminal = Arc::new(Mutex::new(term));
        let pending = OutputPending::default();
        let child = match exited {
            Some(_) => Box::new(super::os::Ended),
            None => {
                let argv = match &setup {
                    Some(setup) => crate::worktree::with_setup(setup, &command),
                    None => command.clone(),
                };
                let spec = SpawnSpec { argv: &argv, cwd: &spec.cwd, env: &env, cols, rows };
                self.start_program(id, Program::Spawn(spec), &terminal, &pending)?
            }
        };
        let created = saved.map_or_else(SystemTime::now, |s| from_epoch(s.meta.created));
        let key = saved.map(|s| s.meta.key.clone()).unwrap_or_else(|| {
            let nanos = SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            format!("{nanos}-{}-{id}", std::process::id())
        });
        let origin = saved.map_or_else(|| command.clone(), |s| s.meta.command.clone());
        let rules = self.config.rules_for(&command);
        let session = Session {
            id,
            index,
            name,
            command,
            origin,
            cwd: spec.cwd,
            created,
            started: self.os.now(),
            terminal,
            pending,
            child,
            life: exited.map_or(Life::Running(State::Busy), Life::Exited),
            last_output: None,
            output_seq: 0,
            attention: Attention::default(),
            watch: Watch::new(rules, saved.and_then(|s| s.meta.conversation.clone())),
            queue: VecDeque::new(),
            typing: VecDeque::new(),
            env: saved_env,
            key,
            saved_upto,
            log_rows,
            screen_dirty: true,
            meta_dirty: false,
            last_used: 0,
            by_default,
            needs_you_since: None,
            worktree,
        };
        let has_worktree = session.worktree.is_some();
        self.sessions.insert(session);
        self.note_started(id);
        if has_worktree {
            self.survey_active();
        }
        self.save_meta(id);
        self.arm_flush();
        self.evaluate_state(id);
        self.mark_all();
        Ok(id)
    }

    /// Runs a session's program, its output into `terminal` and its news
    /// to this server's event loop.
    pub(super) fn start_program(
        &self,
        id: SessionId,
        program: Program<'_>,
        terminal: &Arc<Mutex<Terminal>>,
        pending: &OutputPending,
    ) -> Result<Box<dyn super::os::Child>, String> {
        let events = self.events.clone();
        let notify = Box::new(move |ev| {
            let _ = events.send(Event::Pty(id, ev));
        });
        self.os.start(program, terminal.clone(), pending.clone(), notify)
    }

    pub(super) fn rename(&mut self, sid: SessionId, name: &str) -> Result<(), String> {
        self.sessions.check_name(name, Some(sid))?;
        if let Some(s) = self.sessions.get_mut(sid) {
            s.name = name.to_string();
        }
        self.save_meta(sid);
        self.mark_all();
        Ok(())
    }

    /// Kills a session: its program is hung up and its saved state goes.
    /// Clients showing it move to their last session, else the next one.
    pub(super) fn remove_session(&mut self, sid: SessionId) {
        self.remove_session_answering(sid, None);
    }

    /// [`Server::remove_session`]; what is left of its worktree is said to
    /// `reply` (which is then answered later), else in the status bars.
    /// Returns whether `reply` will be answered.
    pub(super) fn remove_session_answering(&mut self, sid: SessionId, reply: Option<ClientId>) -> bool {
        let Some((pos, mut removed)) = self.sessions.remove(sid) else {
            return false;
        };
        let worktree = removed.worktree.take();
        let deferred = worktree.is_some() && reply.is_some();
        let label = removed.label();
        self.note_closed(label.clone(), removed.watch.agent_name(), sid);
        for t in std::mem::take(&mut removed.typing) {
            if let Some(client) = t.client {
                self.respond(client, Err(format!("{label} was killed before it took the input")));
            }
        }
        // Killed on purpose: it is not coming back.
        if let Some(store) = &self.saving.store {
            store.forget(&removed.key);
        }
        self.end_session_processes(&mut removed);
        if let Some(wt) = worktree {
            // Once its program is hung up: what it leaves behind is known.
            self.worktree_after_kill(wt, reply);
        }
        drop(removed);
        self.end_waiters(sid, &format!("{label} was killed"));
        if self.sessions.is_empty() {
            let views: Vec<ClientId> = self.views().map(|(id, _)| id).collect();
            for cid in views {
                self.detach(cid, "no sessions left");
            }
            return deferred;
        }
        let nearest = self.sessions.at(pos.min(self.sessions.len() - 1)).map(|s| s.id);
        let views: Vec<ClientId> = self.views().map(|(id, _)| id).collect();
        for cid in views {
            let Some(view) = self.view_mut(cid) else { continue };
            if view.last == Some(sid) {
                view.last = None;
            }
            let was_focused = view.focused() == sid;
            // Its panes close, their neighbours taking their room. The
            // last pane shows the last session instead, else the nearest.
            view.close_panes(sid);
            if view.focused() == sid {
                match view.last.take().or(nearest) {
                    Some(next) => view.panes[view.focus] = super::view::Pane::new(next),
                    None => continue,
                }
            }
            view.zoomed &= view.panes.len() > 1;
            if was_focused {
                view.mode = Mode::Normal;
                let next = view.focused();
                self.mark_seen(next);
            }
        }
        self.refit = true;
        self.repaint_all();
        deferred
    }

    pub(super) fn session_infos(&self) -> Vec<SessionInfo> {
        let now = self.os.now();
        self.sessions
            .iter()
            .map(|s| {
                let (cols, rows, title) =
                    s.terminal.lock().map(|t| (t.size().0, t.size().1, t.title().to_string())).unwrap_or_default();
                let mut info = SessionInfo {
                    index: s.index,
                    name: s.name.clone(),
                    id: s.id,
                    state: s.state(),
                    command: s.command.clone(),
                    cwd: s.cwd.clone(),
                    pid: s.child.pid(),
                    created: epoch_secs(s.created),
                    last_output: s.last_output_time(now).map(epoch_secs),
                    unseen_output: s.attention.unseen_output,
                    done: s.attention.done,
                    bell: s.attention.bell,
                    exit_code: s.exit_code(),
                    queued_messages: s.queue.len() as u32,
                    attached_clients: self.views_showing(s.id).len() as u32,
                    cols,
                    rows,
                    agent: s.watch.agent_name(),
                    conversation: s.watch.conversation.clone(),
                    title,
                    repo: None,
                    worktree: None,
                    branch: None,
                    base: None,
                    ahead: None,
                    behind: None,
                    changed: None,
                    lines_added: None,
                    lines_removed: None,
                    worktree_error: None,
                    conflicts: Vec::new(),
                };
                self.describe_worktree(s, &mut info);
                info
            })
            .collect()
    }
}
