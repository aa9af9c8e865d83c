//! The server's saving and restoring policy over [`Store`]: what is written
//! when, what a restore brings back and how it resumes each program, and
//! what the user is told about it once.

use std::path::PathBuf;
use std::time::Duration;

use super::layout::{Layout, Tree};
use super::panes::SavedLayout;
use super::session::from_epoch;
use super::{ClientId, Event, Server};
use crate::config::Restore;
use crate::persist::{read_row, saved_row, Saved, SavedSession, Store};
use crate::protocol::{NewSession, SessionId};
use crate::terminal::Terminal;

/// How often new output is written to the state directory at most, and so
/// how much a SIGKILL of the server can lose.
pub const SAVE_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Default)]
pub(super) struct Saving {
    pub store: Option<Store>,
    /// Sessions saved by a previous server, waiting for `qmux restore`.
    pub saved: Vec<Saved>,
    /// Said once to the user: files moved aside, sessions that failed to
    /// come back, a new session named as a saved one.
    pub notices: Vec<String>,
    /// The layout saved by the previous server: its line (see
    /// [`parse_layout`]) and its sessions' keys, for a restore to put back.
    saved_layout: Option<(String, Vec<String>)>,
    flush_armed: bool,
    /// The histories' [`freed_mark`](crate::history::History::freed_mark)s
    /// summed, and the count of floods ended, when free heap pages were
    /// last handed back.
    trimmed_at: (u32, u64),
}

/// A layout as `last.layout` keeps it: the preset `Space` goes on from,
/// and the tree (`main-vertical {50,50[15,14]}`). A file from before trees
/// has the preset's name alone, and a tree that cannot be read is no tree:
/// the preset's, then. An unknown name is the default preset.
fn parse_layout(line: &str) -> (Layout, Option<Tree>) {
    let (name, tree) = line.split_once(' ').unwrap_or((line, ""));
    (Layout::from_name(name).unwrap_or_default(), Tree::parse(tree))
}

/// History row `i` as the history file keeps it.
fn saved_history_row(history: &crate::history::History, i: usize) -> String {
    saved_row(&history.row_formatted(i), history.row_wrapped(i))
}

/// The rows of a saved screen down to its last one with text.
fn screen_rows(saved: &Saved) -> impl Iterator<Item = (&str, bool)> {
    let last = saved.screen.iter().rposition(|r| !crate::history::plain(read_row(r).0).trim().is_empty());
    saved.screen[..last.map_or(0, |i| i + 1)].iter().map(|r| read_row(r))
}

/// Puts a saved session's history and last screen into a new terminal,
/// laid out at its width, then a marker line; the resumed program draws
/// below it.
pub(super) fn seed(term: &mut Terminal, saved: &Saved) {
    for row in &saved.history {
        let (text, wrapped) = read_row(row);
        term.history_mut().push(text, wrapped);
    }
    // The last screen goes into history too, above the marker: on the live
    // screen, its old prompt or question would look like the new program's
    // before that has drawn anything. Its last line ends there.
    let mut rows = screen_rows(saved).peekable();
    while let Some((text, wrapped)) = rows.next() {
        term.history_mut().push(text, wrapped && rows.peek().is_some());
    }
    term.rewrap_history();
    let when = humantime::format_rfc3339_seconds(from_epoch(saved.meta.saved));
    let marker = format!(" restored from {when} ");
    let side = usize::from(term.size().0).saturating_sub(marker.chars().count()) / 2;
    term.process(format!("\x1b[2m{}{marker}{}\x1b[m\r\n", "─".repeat(side), "─".repeat(side)).as_bytes());
}

/// Puts a saved session whose program had exited back as it was: its
/// history, its last screen where it was, and the exit banner.
pub(super) fn seed_exited(term: &mut Terminal, saved: &Saved, code: i32) {
    let code = crate::pty::exit_text(code);
    for row in &saved.history {
        let (text, wrapped) = read_row(row);
        term.history_mut().push(text, wrapped);
    }
    // A line that goes on in the next row is written on, for the terminal
    // to wrap at its width.
    let mut screen = String::new();
    let mut ended = false;
    for (text, wrapped) in screen_rows(saved) {
        if ended {
            screen.push_str("\x1b[m\r\n");
        }
        screen.push_str("\x1b[m");
        screen.push_str(text);
        ended = !wrapped;
    }
    term.process(screen.as_bytes());
    term.rewrap_history();
    let banner =
        format!("\x1b[0m\r\n\x1b[7m[exited with code {code} before the server stopped: press Enter to close]\x1b[0m");
    term.process(banner.as_bytes());
}

impl Server {
    /// Opens the state directory; `live` are the keys of sessions a
    /// previous server handed over running, which are not saved ones.
    /// With a reason to (an upgrade that fell back to saving them), the
    /// saved ones come back whatever the config says.
    pub(super) fn saving_open(&mut self, dir: Option<PathBuf>, live: &[String], restore: Option<String>) {
        let Some(dir) = dir else { return };
        match Store::open(dir) {
            Ok(store) => {
                let (mut saved, problems) = store.load_all();
                saved.retain(|s| !live.contains(&s.meta.key));
                self.saving.notices.extend(problems);
                self.saving.saved_layout = store.load_layout();
                self.saving.saved = saved;
                self.saving.store = Some(store);
                self.saved_changed();
            }
            Err(e) => self.saving.notices.push(format!("sessions will not be saved: {e}")),
        }
        if !live.is_empty() {
            self.restore_saved_layout();
        }
        let forced = restore.is_some();
        self.saving.notices.extend(restore);
        if forced || self.config.restore == Restore::Auto {
            let lines = self.restore(None).unwrap_or_else(|e| vec![e]);
            self.saving.notices.extend(lines);
        }
    }

    /// What the user should hear: problems found in the state directory
    /// (once) and, with `restore = "ask"`, the sessions still waiting to be
    /// restored (at every attach until they are restored or forgotten).
    pub(super) fn take_notices(&mut self, mention_saved: bool) -> Vec<String> {
        let saving = &mut self.saving;
        let mut notices = std::mem::take(&mut saving.notices);
        if mention_saved && self.config.restore == Restore::Ask && !saving.saved.is_empty() {
            let names: Vec<String> = saving.saved.iter().map(|s| format!("{}:{}", s.meta.index, s.meta.name)).collect();
            notices.push(format!(
                "{} saved session(s) from a previous server ({}): `qmux restore` brings them back",
                names.len(),
                names.join(", ")
            ));
        }
        notices
    }

    pub(super) fn save_meta(&mut self, sid: SessionId) {
        let (Some(store), Some(s)) = (&self.saving.store, self.sessions.get(sid)) else { return };
        if let Err(e) = store.save_meta(&s.meta()) {
            eprintln!("qmux: cannot save {}: {e}", s.label());
        }
    }

    /// Waits for what was saved to be on disk: the server is about to exit.
    pub(super) fn saving_flush(&self) {
        if let Some(store) = &self.saving.store {
            store.flush();
        }
    }

    /// New output will be saved within [`SAVE_INTERVAL`].
    pub(super) fn arm_flush(&mut self) {
        if self.saving.flush_armed || self.saving.store.is_none() {
            return;
        }
        self.saving.flush_armed = true;
        self.after(SAVE_INTERVAL, Event::Flush);
    }

    pub(super) fn save_due(&mut self) {
        self.saving.flush_armed = false;
        let freed = self.save_all(false);
        // History that went over its budget freed chunks all over the heap,
        // and a flood's buffer is freed when the flood ends: hand the free
        // pages back, or the budget would bound only what is used, not what
        // the server holds. Only when some were freed, and on the writing
        // thread, after the writes that hold big buffers.
        let mark = (freed, crate::pty::floods_ended());
        if mark != self.saving.trimmed_at {
            self.saving.trimmed_at = mark;
            if let Some(store) = &self.saving.store {
                store.trim_behind();
            }
        }
    }

    /// Writes every session's new history rows and changed screen.
    /// Without `wait`, a session whose terminal a flood's parse holds is
    /// left for the next save rather than stalling the event loop.
    /// Returns the histories' freed marks, summed.
    pub(super) fn save_all(&mut self, wait: bool) -> u32 {
        let mut freed = 0u32;
        let Some(store) = &self.saving.store else { return freed };
        for s in self.sessions.iter_mut() {
            if std::mem::take(&mut s.meta_dirty) {
                if let Err(e) = store.save_meta(&s.meta()) {
                    eprintln!("qmux: cannot save {}: {e}", s.label());
                }
            }
            let t = match s.terminal.try_lock() {
                Ok(t) => t,
                // Its next output arms the next save.
                Err(std::sync::TryLockError::WouldBlock) if !wait => continue,
                Err(std::sync::TryLockError::WouldBlock) => match s.terminal.lock() {
                    Ok(t) => t,
                    Err(_) => continue,
                },
                Err(std::sync::TryLockError::Poisoned(_)) => continue,
            };
            let history = t.history();
            freed = freed.wrapping_add(history.freed_mark());
            let first = history.first_line();
            let from = s.saved_upto.max(first);
            let new = (from - first) as usize..history.len();
            let result = if s.log_rows + new.len() > 2 * history.limit().max(1) {
                // Compact: the log becomes exactly what history holds.
                s.log_rows = history.len();
                store.rewrite_history(&s.key, (0..history.len()).map(|i| saved_history_row(history, i)))
            } else {
                s.log_rows += new.len();
                store.append_history(&s.key, new.map(|i| saved_history_row(history, i)))
            };
            s.saved_upto = history.total_pushed();
            let screen_result = if s.screen_dirty {
                s.screen_dirty = false;
                let screen = t.screen();
                let rows: Vec<String> = (0..screen.size().0.get())
                    .map(|r| saved_row(&crate::history::screen_row_formatted(screen, r), screen.row_wrapped(r)))
                    .collect();
                store.save_screen(&s.key, &rows)
            } else {
                Ok(())
            };
            if let Err(e) = result.and(screen_result) {
                eprintln!("qmux: cannot save {}: {e}", s.label());
            }
        }
        freed
    }

    /// Brings saved sessions back; returns what to tell the user.
    pub(super) fn restore(&mut self, target: Option<&str>) -> Result<Vec<String>, String> {
        let picked = crate::persist::pick(&self.saving.saved, target)?;
        Ok(self.restore_picked(picked))
    }

    /// Brings back the saved sessions at these positions of the list, each
    /// at its own index and under its own name unless a live session has
    /// it; then the line says so. The others keep theirs meanwhile.
    pub(super) fn restore_picked(&mut self, picked: Vec<usize>) -> Vec<String> {
        let keys: Vec<String> = picked.iter().map(|&i| self.saving.saved[i].meta.key.clone()).collect();
        let mut lines = Vec::new();
        for key in keys {
            let Some(at) = self.saving.saved.iter().position(|s| s.meta.key == key) else { continue };
            let saved = self.take_saved(at);
            let (index, name) = (saved.meta.index, saved.meta.name.clone());
            // Why it cannot have its own index or name, if it cannot.
            let holder = |what: &str, has: &dyn Fn(&super::session::Session) -> bool| {
                let who = self.sessions.iter().find(|s| has(s)).map_or("a saved session".into(), |s| s.label());
                format!("{who} has its {what}")
            };
            let index_holder =
                (self.sessions.free_index(Some(index)) != index).then(|| holder("index", &|s| s.index == index));
            let name_taken = self.sessions.name_taken(&name) || self.sessions.name_saved(&name);
            let name_holder = name_taken.then(|| holder("name", &|s| s.name == name));
            let moved = [index_holder, name_holder];
            let command = self.resume_command(&saved.meta);
            let spec = NewSession {
                name: Some(if name_taken { self.sessions.unique_name(&name) } else { name.clone() }),
                cwd: saved.meta.cwd.clone(),
                command: command.clone(),
                env: saved.meta.env.clone(),
                size: None,
                worktree: saved.meta.worktree.clone().map(Box::new),
            };
            match self.create_or_restore(spec, Some(&saved)) {
                Ok(sid) => {
                    let label = self.sessions.get(sid).map(|s| s.label()).unwrap_or_default();
                    match saved.meta.exit_code {
                        Some(code) => {
                            lines.push(format!("restored {label} as it ended (exited {})", crate::pty::exit_text(code)))
                        }
                        None => lines.push(format!("restored {label} ({})", command.join(" "))),
                    }
                    let why: Vec<String> = moved.into_iter().flatten().collect();
                    if !why.is_empty() {
                        lines.push(format!("{index}:{name} came back as {label}: {}", why.join(", ")));
                    }
                    lines.extend(self.shared_resume_slot(sid, true));
                }
                Err(e) => {
                    lines.push(format!("cannot restore {index}:{name}: {e}"));
                    self.saving.saved.insert(at, saved);
                    self.saved_changed();
                }
            }
        }
        self.restore_saved_layout();
        lines
    }

    /// Takes a saved session out of the list waiting for restore.
    pub(super) fn take_saved(&mut self, at: usize) -> Saved {
        let saved = self.saving.saved.remove(at);
        self.saved_changed();
        saved
    }

    /// New sessions keep off the indexes and names of the saved ones.
    fn saved_changed(&mut self) {
        let held = self.saving.saved.iter().map(|s| (s.meta.index, s.meta.name.clone()));
        self.sessions.set_saved(held);
    }

    /// The previous server's last layout, over the sessions now restored
    /// from it: the next attach to one of them gets it back.
    pub(super) fn restore_saved_layout(&mut self) {
        let Some((line, keys)) = &self.saving.saved_layout else { return };
        let panes: Vec<Option<SessionId>> =
            keys.iter().map(|k| self.sessions.iter().find(|s| s.key == *k).map(|s| s.id)).collect();
        if panes.iter().flatten().count() > 1 {
            let (layout, tree) = parse_layout(line);
            self.last_layout = Some(SavedLayout::new(panes, tree, layout));
        }
    }

    /// Keeps a layout in the state directory too, for `qmux restore`.
    pub(super) fn save_layout(&mut self, panes: &[SessionId], tree: &Tree, layout: Layout) {
        let Some(store) = &self.saving.store else { return };
        let keys: Vec<String> = panes.iter().filter_map(|id| self.sessions.get(*id)).map(|s| s.key.clone()).collect();
        if let Err(e) = store.save_layout(&keys, &format!("{} {tree}", layout.name())) {
            eprintln!("qmux: cannot save the layout: {e}");
        }
    }

    /// What relaunches a saved session: its agent with the arguments that
    /// resume its own conversation by id, else the newest one in its
    /// directory; a program with no resume arguments runs again as it was.
    pub(super) fn resume_command(&self, meta: &SavedSession) -> Vec<String> {
        let rules = meta.agent.as_deref().and_then(|a| self.config.rules.get(a));
        let rules = rules.unwrap_or_else(|| self.config.rules_for(&meta.command));
        let base = match &meta.agent_argv {
            Some(argv) if !argv.is_empty() => argv,
            _ => &meta.command,
        };
        let args = rules.resume.args(meta.conversation.as_deref());
        crate::persist::resume_command(base, args.as_deref())
    }

    /// A program that resumes "the conversation in this directory" cannot
    /// run twice in one directory without the two fighting over it. Agents
    /// whose conversation ids qmux learns come back to their own, unless a
    /// restore had no id to go by.
    pub(super) fn shared_resume_slot(&self, sid: SessionId, restored: bool) -> Option<String> {
        let (other, program, by_id) = self.resume_rival(sid, restored)?;
        let why = if by_id {
            "qmux learnt no conversation id for it, so it resumed the newest one there"
        } else {
            "it keeps one conversation per directory, so only one of them can be resumed after a restart"
        };
        let cwd = self.sessions.get(sid)?.cwd.display();
        Some(format!("warning: {other} also runs {program} in {cwd}; {why}"))
    }

    /// The same warning on a client's status bar, for a session just
    /// opened there: short enough to read whole beside the focused
    /// session, and up long enough to read. Says whether there was one.
    pub(super) fn warn_of_shared_resume_slot(&mut self, cid: ClientId, sid: SessionId) -> bool {
        let Some((other, program, _)) = self.resume_rival(sid, false) else { return false };
        let text = format!("{other} runs {program} here too: only one resumes after a restart");
        self.show_warning(cid, &text);
        true
    }

    /// The running session that resumes the same conversation as `sid`
    /// would (its label), the program, and whether the program's
    /// conversations have ids.
    fn resume_rival(&self, sid: SessionId, restored: bool) -> Option<(String, String, bool)> {
        let s = self.sessions.get(sid)?;
        let rules = &s.watch.rules;
        rules.resume.latest.as_ref()?;
        let by_id = rules.resume.knows_ids();
        if by_id && (!restored || s.watch.conversation.is_some()) {
            return None;
        }
        let program = rules.name.as_str();
        let other = self
            .sessions
            .iter()
            .find(|o| o.id != sid && o.running() && o.cwd == s.cwd && o.watch.rules.name == program)?;
        Some((other.label(), program.to_string(), by_id))
    }
}
