//! qmux's own screens over a session: the chooser, the help overlay, the
//! prompts (rename, confirm kill) and scroll mode. Each takes keys here;
//! [`super::draw`] draws them.

use super::answer::AnsweredTo;
use super::{ClientId, Server};
use crate::config::key_name;
use crate::keys::Key;
use crate::protocol::SessionId;
use crate::rules::Choice;
use crate::scroll::{self, ScrollAction, ScrollView};
use crate::status;

pub(super) enum Mode {
    Normal,
    Chooser {
        selected: usize,
    },
    /// The key list, scrolled to its `top` line on a small terminal.
    Help {
        top: usize,
    },
    Rename {
        input: String,
    },
    /// Prefix `C`: the name of a new worktree session.
    WorktreeName {
        input: String,
    },
    ConfirmKill,
    /// Reading history; the session keeps running underneath.
    Scroll(Box<ScrollView>),
}

impl Server {
    pub(super) fn set_mode(&mut self, cid: ClientId, mode: Mode) {
        if let Some(view) = self.view_mut(cid) {
            view.mode = mode;
            view.repaint();
        }
    }

    /// A key while one of qmux's screens is up.
    pub(super) fn mode_key(&mut self, cid: ClientId, key: Key) {
        // The chooser lists saved sessions below the live ones.
        let live = self.sessions.len();
        let saved = self.saving.saved.len();
        let count = (live + saved + self.hosts.rows().len()).max(1);
        let help_rows = self.view(cid).map_or(0, |v| crate::bindings::help(self.prefix(v)).lines().count());
        let Some(view) = self.view_mut(cid) else {
            return;
        };
        let focused = view.focused();
        match std::mem::replace(&mut view.mode, Mode::Normal) {
            Mode::Help { top } => {
                let room = usize::from(view.session_rows()).saturating_sub(2);
                let page = room.max(1);
                let most = help_rows.saturating_sub(1 + room);
                let top = match key {
                    Key::Down | Key::Char('j') => top + 1,
                    Key::Up | Key::Char('k') => top.saturating_sub(1),
                    Key::PageDown | Key::Char(' ') => top + page,
                    Key::PageUp => top.saturating_sub(page),
                    _ => return self.set_mode(cid, Mode::Normal),
                };
                self.set_mode(cid, Mode::Help { top: top.min(most) });
            }
            Mode::Normal => self.set_mode(cid, Mode::Normal),
            Mode::Scroll(sv) => self.scroll_key(cid, sv, key),
            Mode::Chooser { selected } => match key {
                Key::Up | Key::Char('k') => {
                    self.set_mode(cid, Mode::Chooser { selected: (selected + count - 1) % count })
                }
                Key::Down | Key::Char('j') => self.set_mode(cid, Mode::Chooser { selected: (selected + 1) % count }),
                Key::Enter if selected >= live + saved => {
                    let row = self.hosts.rows().into_iter().nth(selected - live - saved);
                    match row {
                        Some(super::hosts::RemoteRow::Session(host, s)) => {
                            let (host, id) = (host.to_string(), s.id);
                            self.hop(cid, host, id);
                        }
                        Some(super::hosts::RemoteRow::Note(host, note)) => {
                            let said = format!("{host}: {note}");
                            self.set_mode(cid, Mode::Chooser { selected });
                            self.show_message(cid, &said);
                        }
                        None => self.set_mode(cid, Mode::Normal),
                    }
                }
                Key::Enter if selected >= live => {
                    let before = self.sessions.ids();
                    let said = self.restore_picked(vec![selected - live]);
                    let restored = self.sessions.ids().into_iter().find(|id| !before.contains(id));
                    match restored {
                        Some(sid) => self.focus(cid, sid),
                        None => self.set_mode(cid, Mode::Normal),
                    }
                    if let Some(line) = said.first() {
                        self.show_message(cid, line);
                    }
                }
                Key::Enter => match self.chooser_session(selected).map(|s| s.id) {
                    Some(sid) => self.focus(cid, sid),
                    None => self.set_mode(cid, Mode::Normal),
                },
                // Opens the session in a new pane beside this one.
                Key::Char('v') if selected < live => match self.chooser_session(selected).map(|s| s.id) {
                    Some(sid) if self.view(cid).is_some_and(|v| !v.panes.iter().any(|p| p.session == sid)) => {
                        self.split(cid, sid, false)
                    }
                    Some(sid) => self.focus(cid, sid),
                    None => self.set_mode(cid, Mode::Normal),
                },
                // Answers the selected session's question, the chooser staying.
                Key::Char(c @ ('y' | 'n')) if selected < live => {
                    self.set_mode(cid, Mode::Chooser { selected });
                    let choice = if c == 'y' { Choice::Yes } else { Choice::No };
                    if let Some(sid) = self.chooser_session(selected).map(|s| s.id) {
                        self.answer(sid, choice, None, AnsweredTo::View(cid));
                    }
                }
                // A worktree session from the selected one's repository.
                Key::Char('w') if selected < live => {
                    if let Some(sid) = self.chooser_session(selected).map(|s| s.id) {
                        self.focus(cid, sid);
                    }
                    self.set_mode(cid, Mode::WorktreeName { input: String::new() });
                }
                Key::Char(c @ '0'..='9') => match self.sessions.by_index(c as u32 - '0' as u32) {
                    Some(sid) => self.focus(cid, sid),
                    None => self.set_mode(cid, Mode::Chooser { selected }),
                },
                Key::Escape | Key::Ctrl('c') | Key::Char('q') => self.set_mode(cid, Mode::Normal),
                _ => self.set_mode(cid, Mode::Chooser { selected }),
            },
            Mode::ConfirmKill => {
                self.set_mode(cid, Mode::Normal);
                if matches!(key, Key::Char('y') | Key::Char('Y')) {
                    self.remove_session(focused);
                }
            }
            Mode::Rename { mut input } => match key {
                Key::Enter => {
                    self.set_mode(cid, Mode::Normal);
                    if let Err(e) = self.rename(focused, &input) {
                        self.show_message(cid, &e);
                    }
                }
                Key::Escape | Key::Ctrl('c') => self.set_mode(cid, Mode::Normal),
                key => {
                    edit_line(&mut input, key);
                    self.set_mode(cid, Mode::Rename { input });
                }
            },
            Mode::WorktreeName { mut input } => match key {
                Key::Enter => {
                    self.set_mode(cid, Mode::Normal);
                    self.new_worktree_here(cid, input);
                }
                Key::Escape | Key::Ctrl('c') => self.set_mode(cid, Mode::Normal),
                key => {
                    edit_line(&mut input, key);
                    self.set_mode(cid, Mode::WorktreeName { input });
                }
            },
        }
    }

    /// Opens scroll mode on the focused session, maybe with a first key
    /// (the PageUp or wheel notch that opened it).
    pub(super) fn enter_scroll(&mut self, cid: ClientId, first: Option<Key>) {
        let Some(view) = self.view(cid) else {
            return;
        };
        let height = view.session_rows();
        let Some(s) = self.sessions.get(view.focused()) else {
            return;
        };
        let sv = {
            let Ok(t) = s.terminal.lock() else {
                return;
            };
            let mut sv = ScrollView::new(t.history(), t.screen(), height);
            if let Some(key) = first {
                sv.handle(key, t.history(), t.screen());
            }
            sv
        };
        self.set_mode(cid, Mode::Scroll(Box::new(sv)));
    }

    fn scroll_key(&mut self, cid: ClientId, mut sv: Box<ScrollView>, key: Key) {
        let Some(sid) = self.view(cid).map(|v| v.focused()) else { return };
        let action = match self.sessions.get(sid).map(|s| s.terminal.lock()) {
            Some(Ok(t)) => sv.handle(key, t.history(), t.screen()),
            _ => ScrollAction::Leave,
        };
        match action {
            ScrollAction::Stay => self.set_mode(cid, Mode::Scroll(sv)),
            ScrollAction::Leave => self.set_mode(cid, Mode::Normal),
            ScrollAction::Yank(text) => {
                if let Some(v) = self.view_mut(cid) {
                    v.alerts.extend_from_slice(scroll::osc52(&text).as_bytes());
                }
                self.set_mode(cid, Mode::Normal);
            }
        }
    }

    /// The live sessions in the chooser's order: by index, those on
    /// worktrees of one repository together after the others.
    pub(super) fn chooser_order(&self) -> Vec<SessionId> {
        let mut order: Vec<(Option<std::path::PathBuf>, SessionId)> =
            self.sessions.iter().map(|s| (s.worktree.as_ref().map(|w| w.repo.clone()), s.id)).collect();
        order.sort_by(|a, b| a.0.cmp(&b.0));
        order.into_iter().map(|(_, sid)| sid).collect()
    }

    /// The live session on the chooser's row `selected`.
    pub(super) fn chooser_session(&self, selected: usize) -> Option<&super::session::Session> {
        self.chooser_order().get(selected).and_then(|sid| self.sessions.get(*sid))
    }

    /// The chooser: every session with its state, and below the list a
    /// live preview of the selected one's screen.
    pub(super) fn chooser_lines(&self, selected: usize, cols: u16, rows: u16) -> Vec<String> {
        let width = usize::from(cols);
        let saved = &self.saving.saved;
        let remote = self.hosts.rows();
        let count = self.sessions.len() + saved.len() + remote.len();
        // The list scrolls so the selected row is always on screen.
        let list_room = usize::from(super::view::session_rows(rows)).saturating_sub(2).max(1);
        let start = selected.saturating_sub(list_room - 1).min(count.saturating_sub(list_room));
        let end = (start + list_room).min(count);
        let range = if end - start < count { format!("{}-{} of {count}, ", start + 1, end) } else { String::new() };
        let mut lines =
            vec![format!("\x1b[1mChoose a session\x1b[0m ({range}{})", crate::bindings::chooser_hint()), String::new()];
        let live = self.chooser_order().into_iter().filter_map(|sid| self.sessions.get(sid)).map(|s| {
            let state = match s.exit_code() {
                Some(code) => format!("exited {code}"),
                None => s.state().name().to_string(),
            };
            let mut flags = s.attention.marks();
            if !s.queue.is_empty() {
                flags.push_str(&format!(" {} queued", s.queue.len()));
            }
            // A worktree session's branch and numbers before its command,
            // which may be long.
            flags.push_str(&self.worktree_note(s));
            (s.label(), state, flags, s.command.join(" "), s.cwd.display().to_string())
        });
        let saved_rows = saved.iter().map(|s| {
            let label = format!("{}:{}", s.meta.index, s.meta.name);
            (
                label,
                "saved".to_string(),
                String::new(),
                "Enter restores it".to_string(),
                s.meta.cwd.display().to_string(),
            )
        });
        // Other machines' sessions, each led by its host.
        let remote_rows = remote.iter().map(|row| match row {
            super::hosts::RemoteRow::Session(host, s) => {
                let state = match s.exit_code {
                    Some(code) => format!("exited {code}"),
                    None => s.state.name().to_string(),
                };
                let label = format!("{host}/{}:{}", s.index, s.name);
                (label, state, s.attention().marks(), s.command.join(" "), s.cwd.display().to_string())
            }
            super::hosts::RemoteRow::Note(host, note) => {
                (format!("{host}/"), String::new(), String::new(), note.clone(), String::new())
            }
        });
        for (i, (label, state, flags, command, cwd)) in
            live.chain(saved_rows).chain(remote_rows).enumerate().take(end).skip(start)
        {
            let mark = if i == selected { ">" } else { " " };
            let place = if cwd.is_empty() { String::new() } else { format!("  ({cwd})") };
            let text = format!("{mark} {label:<16} {state:<9} {flags:<4} {command}{place}");
            let text = status::truncate(&text, width);
            lines.push(if i == selected { format!("\x1b[7m{text}\x1b[0m") } else { text });
        }
        let room = usize::from(super::view::session_rows(rows)).saturating_sub(lines.len() + 2);
        if let Some(s) = self.chooser_session(selected).filter(|_| room > 0) {
            lines.push(String::new());
            lines.push(format!("\x1b[2m{}\x1b[0m", "─".repeat(width)));
            if let Ok(t) = s.terminal.lock() {
                let screen = t.screen();
                let (_, scols) = screen.size();
                let shown: Vec<String> = screen.rows_formatted(0, scols.get().min(cols)).collect();
                let plain: Vec<String> = screen.rows(0, scols.get()).collect();
                // The bottom of the screen is where a chat's news is.
                let last = plain.iter().rposition(|r| !r.trim().is_empty()).map_or(0, |i| i + 1);
                let start = last.saturating_sub(room);
                lines.extend(shown[start..last].iter().cloned());
            }
        }
        lines
    }
}

/// The help overlay: the bindings table with this server's prefix, from
/// line `top` on where the terminal is too small for all of it.
pub(super) fn help_lines(prefix: &[u8], top: usize, (cols, rows): (u16, u16)) -> Vec<String> {
    let body: Vec<String> = crate::bindings::help(prefix).lines().skip(1).map(str::to_string).collect();
    let room = usize::from(super::view::session_rows(rows)).saturating_sub(2);
    let top = top.min(body.len().saturating_sub(room));
    let more = if body.len() > room { "; j/k or PageUp/PageDown scroll" } else { "" };
    let title = format!("\x1b[1mqmux keys\x1b[0m (prefix is {}; any key closes this{more})", key_name(prefix));
    let mut lines = vec![title, String::new()];
    lines.extend(body.iter().skip(top).take(room).map(|l| status::truncate(l, usize::from(cols))));
    lines
}

/// A key typed into a one-line prompt.
fn edit_line(input: &mut String, key: Key) {
    match key {
        Key::Char(c) => input.push(c),
        Key::Backspace => {
            input.pop();
        }
        Key::Ctrl('u') => input.clear(),
        _ => {}
    }
}
