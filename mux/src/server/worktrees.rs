//! Worktree sessions in the server (`qmux new -w`): their numbers against
//! their base and the conflict radar, asked of git on a thread of its own
//! and never on the event loop; and what a kill leaves of a worktree.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::session::Session;
use super::{ClientId, Event, Server};
use crate::protocol::{NewSession, Response, SessionId, SessionInfo};
use crate::worktree::{self, Cache, Conflict, Numbers, Survey, Worktree};

/// How often the worktrees are looked at while a client shows a session
/// that has one.
pub(super) const SURVEY_INTERVAL: Duration = Duration::from_secs(3);

/// How often while none is shown: the numbers of background sessions
/// are fresh at their turn's end, and when `ls` asks.
const HIDDEN_SURVEY_INTERVAL: Duration = Duration::from_secs(30);

/// An `ls` finding numbers older than this asks for new ones (its
/// answer has the ones there are).
const STALE: Duration = Duration::from_secs(1);

/// What git last said of each worktree session.
#[derive(Default)]
pub(super) struct Radar {
    /// A survey is on its way.
    running: bool,
    /// Another was asked for meanwhile (of every worktree: `again_all`).
    again: bool,
    again_all: bool,
    /// The periodic survey's timer is set.
    armed: bool,
    /// When the last survey started.
    last: Option<Instant>,
    /// Killed sessions' worktrees git is still deciding on: the server
    /// waits for them before it exits.
    leaving: usize,
    numbers: HashMap<SessionId, Result<Numbers, String>>,
    conflicts: HashMap<SessionId, Vec<Conflict>>,
    /// What git said last, for a survey to reuse (away while one runs).
    cache: Option<Cache<SessionId>>,
    /// Each session's output count when git last looked at its worktree:
    /// a session that wrote nothing since ran nothing that changed it.
    looked_at: HashMap<SessionId, u64>,
    /// When every worktree was last looked at, whether anything ran in it
    /// or not (a file edited by hand).
    last_full: Option<Instant>,
}

impl Radar {
    /// No killed session's worktree is waiting for git.
    pub(super) fn settled(&self) -> bool {
        self.leaving == 0
    }
}

impl Server {
    /// Asks git for fresh numbers for every worktree session (a session
    /// came, a turn ended, the timer): on a thread, answered by
    /// `Event::Surveyed`.
    pub(super) fn survey_worktrees(&mut self) {
        self.survey(true);
    }

    /// Asks git again of the worktrees whose session wrote something since
    /// it last looked (a turn ended, a session came): the others, and the
    /// pairs of them, keep what git said.
    pub(super) fn survey_active(&mut self) {
        self.survey(false);
    }

    /// A survey: of every worktree (`all`), or only of those whose session
    /// wrote something since git last looked; none at all if none did.
    fn survey(&mut self, all: bool) {
        if self.radar.running {
            self.radar.again = true;
            self.radar.again_all |= all;
            return;
        }
        let now = self.os.now();
        let all =
            all || self.radar.last_full.is_none_or(|at| now.saturating_duration_since(at) >= HIDDEN_SURVEY_INTERVAL);
        let looked_at = &self.radar.looked_at;
        let list: Vec<(SessionId, String, Worktree, bool)> = self
            .sessions
            .iter()
            .filter_map(|s| {
                let fresh = all || looked_at.get(&s.id) != Some(&s.output_seq);
                Some((s.id, s.label(), s.worktree.clone()?, fresh))
            })
            .collect();
        if list.is_empty() {
            self.radar.numbers.clear();
            self.radar.conflicts.clear();
            return;
        }
        self.radar.last = Some(now);
        self.arm_survey();
        if !list.iter().any(|(_, _, _, fresh)| *fresh) {
            return;
        }
        if all {
            self.radar.last_full = Some(now);
        }
        for s in self.sessions.iter().filter(|s| s.worktree.is_some()) {
            self.radar.looked_at.insert(s.id, s.output_seq);
        }
        let cache = self.radar.cache.take().unwrap_or_default();
        let events = self.events.clone();
        let spawned = std::thread::Builder::new().name("qmux-git".into()).spawn(move || {
            let _ = events.send(Event::Surveyed(worktree::survey(&list, cache)));
        });
        self.radar.running = spawned.is_ok();
    }

    /// `ls` looks: numbers older than [`STALE`] are asked for again.
    pub(super) fn survey_if_stale(&mut self) {
        let now = self.os.now();
        if self.radar.last.is_none_or(|at| now.saturating_duration_since(at) > STALE) {
            self.survey_worktrees();
        }
    }

    fn arm_survey(&mut self) {
        if !self.radar.armed {
            self.radar.armed = true;
            self.after(SURVEY_INTERVAL, Event::SurveyDue);
        }
    }

    /// The periodic survey, while any session has a worktree: every
    /// [`SURVEY_INTERVAL`] while one is shown, else now and then.
    pub(super) fn survey_due(&mut self) {
        self.radar.armed = false;
        let with_worktree: Vec<SessionId> =
            self.sessions.iter().filter(|s| s.worktree.is_some()).map(|s| s.id).collect();
        if with_worktree.is_empty() {
            return;
        }
        let shown = with_worktree.iter().any(|&sid| !self.views_showing(sid).is_empty());
        let since = self.radar.last.map_or(Duration::MAX, |at| self.os.now().saturating_duration_since(at));
        if shown || since >= HIDDEN_SURVEY_INTERVAL {
            self.survey(false);
        } else {
            self.arm_survey();
        }
    }

    /// A survey's answer. A worktree that went from under its session is
    /// said once, in the status bars.
    pub(super) fn surveyed(&mut self, mut survey: Survey<SessionId>) {
        self.radar.running = false;
        // A session killed meanwhile has no numbers.
        survey.numbers.retain(|sid, _| self.sessions.get(*sid).is_some());
        for (sid, numbers) in &survey.numbers {
            let was_fine = !matches!(self.radar.numbers.get(sid), Some(Err(_)));
            if let (Err(why), true, Some(s)) = (numbers, was_fine, self.sessions.get(*sid)) {
                let line = format!("{}: {why}", s.label());
                self.show_message_everywhere(&line);
            }
        }
        let marks_changed = self.radar.conflicts != survey.conflicts;
        self.radar.numbers = survey.numbers;
        self.radar.conflicts = survey.conflicts;
        self.radar.cache = Some(survey.cache);
        if marks_changed {
            self.mark_all();
        }
        if std::mem::take(&mut self.radar.again) {
            let all = std::mem::take(&mut self.radar.again_all);
            self.survey(all);
        }
    }

    /// The worktree fields of a session's `ls` row.
    pub(super) fn describe_worktree(&self, s: &Session, info: &mut SessionInfo) {
        let Some(wt) = &s.worktree else { return };
        info.repo = Some(wt.repo.clone());
        info.worktree = Some(wt.path.clone());
        info.branch = Some(wt.branch.clone());
        info.base = Some(wt.base.clone());
        match self.radar.numbers.get(&s.id) {
            Some(Ok(n)) => {
                (info.ahead, info.behind, info.changed) = (Some(n.ahead), Some(n.behind), Some(n.changed));
                (info.lines_added, info.lines_removed) = (Some(n.added), Some(n.removed));
            }
            Some(Err(why)) => info.worktree_error = Some(why.clone()),
            None => {}
        }
        info.conflicts = self.radar.conflicts.get(&s.id).cloned().unwrap_or_default();
    }

    /// The conflicts of a session, for its status bar and `explain`.
    pub(super) fn conflicts_of(&self, sid: SessionId) -> &[Conflict] {
        self.radar.conflicts.get(&sid).map_or(&[], Vec::as_slice)
    }

    /// `⚠ 3:codex src/lib.rs`: what the status bar of a client showing a
    /// session with would-be conflicts says while it has nothing else to.
    /// ` [qmux/fix ↑2 ↓0, 3 files +40 −7] ⚠ 1:other f`, as `qmux ls` has it;
    /// empty for a session with no worktree.
    pub(super) fn worktree_note(&self, s: &Session) -> String {
        let mut info = SessionInfo::default();
        self.describe_worktree(s, &mut info);
        info.worktree_note()
    }

    /// Prefix `D`: a session that prints the focused session's diff
    /// against its base (`qmux diff`, coloured, no pager) and ends, its
    /// screen and history left to read, scroll and search.
    pub(super) fn diff_pane(&mut self, cid: ClientId) -> Result<SessionId, String> {
        let focused = self.view(cid).map(|v| v.focused()).ok_or("not attached")?;
        let s = self.sessions.get(focused).ok_or("no session")?;
        let Some(wt) = &s.worktree else {
            return Err(format!("{} has no worktree to diff (qmux new -w NAME makes one)", s.label()));
        };
        let (id, name, path) = (s.id, format!("diff-{}", s.name), wt.path.clone());
        let exe = std::env::current_exe().map_err(|e| format!("cannot find the qmux binary: {e}"))?;
        let mut command =
            vec![exe.to_string_lossy().into_owned(), "-S".into(), self.socket.to_string_lossy().into_owned()];
        if let Some(config) = &self.config_path {
            command.extend(["-f".into(), config.to_string_lossy().into_owned()]);
        }
        command.extend(["diff".into(), "-t".into(), format!("${id}")]);
        let mut spec = self.spec_here(cid)?;
        spec.cwd = path;
        spec.name = Some(self.sessions.unique_name(&name));
        spec.command = command;
        spec.env.retain(|(k, _)| k != "GIT_PAGER" && k != "PAGER");
        spec.env.extend([("GIT_PAGER".into(), "cat".into()), ("PAGER".into(), "cat".into())]);
        self.create_session(spec)
    }

    pub(super) fn conflict_mark(&self, sid: SessionId) -> Option<String> {
        let marks: Vec<String> =
            self.conflicts_of(sid).iter().map(|c| format!("⚠ {} {}", c.session, c.files.join(" "))).collect();
        (!marks.is_empty()).then(|| marks.join("  "))
    }

    /// A killed session's worktree: git decides, on a thread, whether it
    /// goes (clean and merged) or stays; the line saying which goes to
    /// `reply`, else to the status bars.
    pub(super) fn worktree_after_kill(&mut self, wt: Worktree, reply: Option<ClientId>) {
        let events = self.events.clone();
        let spawned = std::thread::Builder::new().name("qmux-git".into()).spawn(move || {
            let _ = events.send(Event::WorktreeLeft(reply, worktree::after_kill(&wt)));
        });
        self.radar.leaving += 1;
        if spawned.is_err() {
            self.worktree_left(reply, "could not look at the worktree: it is kept".into());
        }
        let sessions = &self.sessions;
        self.radar.numbers.retain(|sid, _| sessions.get(*sid).is_some());
        self.radar.conflicts.retain(|sid, _| sessions.get(*sid).is_some());
    }

    /// Prefix `C`: makes worktree `name` of the focused session's
    /// repository on a thread, then (`Event::WorktreeMade`) starts the
    /// default command there and shows it.
    pub(super) fn new_worktree_here(&mut self, cid: ClientId, name: String) {
        let spec = match self.spec_here(cid) {
            Ok(spec) => spec,
            Err(e) => return self.show_message(cid, &e),
        };
        let c = &self.config;
        let (prefix, dir, setup) = (c.worktree_branch_prefix.clone(), c.worktree_dir.clone(), c.worktree_setup.clone());
        let events = self.events.clone();
        let spawned = std::thread::Builder::new().name("qmux-git".into()).spawn(move || {
            let req = worktree::Request { name: &name, base: None, reuse: false, prefix: &prefix, dir: &dir };
            let made = worktree::prepare(&spec.cwd, &req, setup.as_deref()).map(|p| (p.worktree, spec));
            let _ = events.send(Event::WorktreeMade(cid, Box::new(made)));
        });
        match spawned {
            Ok(_) => self.show_message(cid, "making the worktree…"),
            Err(e) => self.show_message(cid, &format!("cannot make a worktree: {e}")),
        }
    }

    pub(super) fn worktree_made(&mut self, cid: ClientId, made: Result<(Worktree, NewSession), String>) {
        let (wt, mut spec) = match made {
            Ok(made) => made,
            Err(e) => return self.show_message(cid, &e),
        };
        spec.name = Some(self.sessions.unique_name(&wt.name));
        spec.cwd = wt.path.clone();
        spec.worktree = Some(Box::new(wt.clone()));
        match self.create_session(spec) {
            Ok(sid) => {
                if self.view(cid).is_some() {
                    self.focus(cid, sid);
                    self.show_message(cid, &format!("worktree {} on branch {}", wt.path.display(), wt.branch));
                }
            }
            Err(e) => {
                self.show_message(cid, &e);
                let _ = std::thread::Builder::new().name("qmux-git".into()).spawn(move || worktree::undo(&wt, false));
            }
        }
    }

    pub(super) fn worktree_left(&mut self, reply: Option<ClientId>, line: String) {
        self.radar.leaving = self.radar.leaving.saturating_sub(1);
        match reply {
            Some(cid) => self.respond(cid, Ok(Response::Notice(vec![line]))),
            None => self.show_message_everywhere(&line),
        }
        self.survey_worktrees();
    }
}
