//! Keys from an attached client: the prefix and its bindings, the keys of
//! qmux's own screens, and everything else forwarded to the focused
//! program untouched.

use super::answer::AnsweredTo;
use super::layout::Direction;
use super::modes::Mode;
use super::{ClientId, Server};
use crate::bindings::{self, Action};
use crate::config::key_name;
use crate::keys::{self, Key};
use crate::rules::Choice;

impl Server {
    /// Input from a client, a key at a time where a key changes what the
    /// rest of the read is for: a prefix key may open a screen, and a key
    /// in a screen may close it.
    pub(super) fn input(&mut self, cid: ClientId, bytes: &[u8]) {
        // The client's terminal answering what qmux asked at attach (its
        // colours) is not for the program.
        let answered = crate::terminal::take_colour_replies(bytes);
        let bytes = answered.as_deref().unwrap_or(bytes);
        let Some(prefix) = self.view(cid).map(|v| self.prefix(v).to_vec()) else { return };
        self.input_seq += 1;
        let seq = self.input_seq;
        let mut rest = bytes;
        while !rest.is_empty() {
            let Some(view) = self.view_mut(cid) else {
                return;
            };
            view.last_input = seq;
            if !matches!(view.mode, Mode::Normal) {
                let Some((key, used)) = keys::decode_one(rest) else { return };
                rest = &rest[used..];
                if let Some(key) = key {
                    self.mode_key(cid, key);
                }
                continue;
            }
            let (inputs, used) = view.input.feed_to_command(rest, &prefix);
            rest = &rest[used..];
            for input in inputs {
                match input {
                    keys::Input::Forward(bytes) => self.forward(cid, bytes),
                    keys::Input::Command(key) => {
                        if !std::mem::replace(&mut self.prefix_used, true) {
                            self.mark_all();
                        }
                        self.prefix_key(cid, &key)
                    }
                }
            }
        }
    }

    /// Sends input to the focused program, but for what qmux keeps: PageUp
    /// and the wheel over a line-mode program open the history, and the
    /// mouse over the status row is ours.
    fn forward(&mut self, cid: ClientId, bytes: Vec<u8>) {
        let Some(view) = self.view(cid) else {
            return;
        };
        let (sid, status_row) = (view.focused(), view.status_row());
        let now = self.os.now();
        // Beside other panes: which pane (or border) each mouse report is
        // over, laid out once for the whole read.
        let (panes, borders) = match (!view.single()).then(|| view.arranged()) {
            Some((rects, borders)) => (Some((rects, view.focus)), borders),
            None => (None, Vec::new()),
        };
        let dragging = view.dragging.is_some();
        let Some(s) = self.sessions.get_mut(sid) else {
            return;
        };
        if !s.running() {
            if bytes.contains(&b'\r') {
                self.remove_session(sid);
            }
            return;
        }
        let (program_mouse, alternate) = s
            .terminal
            .lock()
            .map(|t| {
                (t.screen().mouse_protocol_mode() != vt100::MouseProtocolMode::None, t.screen().alternate_screen())
            })
            .unwrap_or((false, false));
        // Full-screen programs get their PageUp.
        if !alternate && keys::decode_one(&bytes) == Some((Some(Key::PageUp), bytes.len())) {
            return self.enter_scroll(cid, Some(Key::PageUp));
        }
        let (mut bytes, mouse) = keys::split_mouse(&bytes);
        // A press on a border between panes, and what follows it until
        // the button is let go, drags the border.
        let on_border =
            |m: &keys::Mouse| borders.iter().any(|b| b.contains(m.col.saturating_sub(1), m.row.saturating_sub(1)));
        if dragging || mouse.iter().any(|m| m.press && m.button == 0 && on_border(m)) {
            return self.drag_border(cid, &mouse);
        }
        for mut m in mouse {
            // Rows on the wire count from 1: the status row is ours, and a
            // click on a session's name there shows it.
            if m.row > status_row {
                if m.press && m.button == 0 {
                    return self.status_click(cid, m.col.saturating_sub(1));
                }
                continue;
            }
            if let Some((rects, focus)) = &panes {
                let (col, row) = (m.col.saturating_sub(1), m.row.saturating_sub(1));
                match rects.iter().position(|r| r.contains(col, row)) {
                    // A click in another pane focuses it.
                    Some(i) if i != *focus => {
                        if m.press && m.button == 0 {
                            return self.focus_pane(cid, i);
                        }
                        continue;
                    }
                    // Its program gets the report in its own coordinates;
                    // borders and the header are ours.
                    Some(i) if row > rects[i].y => {
                        m.col -= rects[i].x;
                        m.row -= rects[i].y + 1;
                    }
                    _ => continue,
                }
            }
            if program_mouse {
                bytes.extend(m.encode());
            } else if m.button == keys::Mouse::WHEEL_UP && !alternate {
                return self.enter_scroll(cid, Some(Key::WheelUp));
            }
        }
        if bytes.contains(&b'\r') {
            s.watch.input_since_prompt = true;
            s.write_line(bytes, now);
        } else if !bytes.is_empty() {
            s.watch.input_since_prompt = true;
            s.child.write(bytes);
        }
    }

    /// A click on the status row at column `col`.
    fn status_click(&mut self, cid: ClientId, col: u16) {
        let Some(view) = self.view(cid) else { return };
        let (entries, message) = self.status_line(view);
        let picked = crate::status::entry_at(&entries, message.as_deref(), view.cols, col);
        if let Some(sid) = picked.and_then(|i| self.sessions.at(i)).map(|s| s.id) {
            self.focus(cid, sid);
        }
    }

    /// A key after the prefix: its binding's action. PageUp opens scroll
    /// mode, as in tmux; anything else unbound says so.
    fn prefix_key(&mut self, cid: ClientId, key: &[u8]) {
        if let [byte] = key {
            if let Some(action) = bindings::action(*byte) {
                return self.act(cid, action, *byte);
            }
        }
        let prefix = key_name(self.view(cid).map_or(&self.config.prefix[..], |v| self.prefix(v)));
        let name = key_name(key);
        let towards = |key: &Key| match key {
            Key::Up => Some(Direction::Up),
            Key::Down => Some(Direction::Down),
            Key::Left => Some(Direction::Left),
            Key::Right => Some(Direction::Right),
            _ => None,
        };
        let arrow = |b: &u8| towards(&keys::cursor_key(*b));
        let text = match keys::decode(key).as_slice() {
            [Key::PageUp] => return self.enter_scroll(cid, Some(Key::PageUp)),
            // As tmux binds them: Alt moves a border 5 cells, Ctrl one.
            [Key::AltArrow(b)] if arrow(b).is_some_and(|d| self.resize_pane(cid, d, 5)) => return,
            [Key::CtrlArrow(b)] if arrow(b).is_some_and(|d| self.resize_pane(cid, d, 1)) => return,
            [Key::AltArrow(_) | Key::CtrlArrow(_)] => {
                format!("{prefix} {name} moves a border between panes; split with {prefix} % or {prefix} \"")
            }
            [arrow] if towards(arrow).is_some() => {
                if towards(arrow).is_some_and(|d| self.move_focus(cid, d)) {
                    return;
                }
                format!("{prefix} {name} moves between panes; split with {prefix} % or {prefix} \"")
            }
            _ => format!("{prefix} {name} is not bound ({prefix} ? lists keys)"),
        };
        self.show_message(cid, &text);
    }

    /// Carries out a binding's action for a client.
    fn act(&mut self, cid: ClientId, action: Action, key: u8) {
        let Some(view) = self.view(cid) else {
            return;
        };
        let (focused, last) = (view.focused(), view.last);
        match action {
            Action::NewSession => match self.new_session_here(cid) {
                Ok(sid) => {
                    self.focus(cid, sid);
                    self.warn_of_shared_resume_slot(cid, sid);
                }
                Err(e) => self.show_message(cid, &e),
            },
            Action::Next | Action::Previous => {
                if let Some(pos) = self.sessions.position(focused) {
                    let len = self.sessions.len();
                    let next = if action == Action::Next { (pos + 1) % len } else { (pos + len - 1) % len };
                    if let Some(sid) = self.sessions.at(next).map(|s| s.id) {
                        self.focus(cid, sid);
                    }
                }
            }
            Action::ByIndex => {
                let index = u32::from(key.wrapping_sub(b'0'));
                match self.sessions.by_index(index) {
                    Some(sid) => self.focus(cid, sid),
                    None => self.show_message(cid, &format!("no session {index}")),
                }
            }
            Action::Last => match last.filter(|l| self.sessions.get(*l).is_some()) {
                Some(last) => self.focus(cid, last),
                None => self.show_message(cid, "no last session"),
            },
            Action::Choose => {
                let selected = self.chooser_order().iter().position(|sid| *sid == focused).unwrap_or(0);
                self.set_mode(cid, Mode::Chooser { selected });
            }
            Action::Detach => self.detach(cid, "detached"),
            Action::Kill => self.set_mode(cid, Mode::ConfirmKill),
            Action::NewWorktree => self.set_mode(cid, Mode::WorktreeName { input: String::new() }),
            Action::Diff => match self.diff_pane(cid) {
                Ok(sid) => self.split(cid, sid, false),
                Err(e) => self.show_message(cid, &e),
            },
            Action::Rename => {
                let input = self.sessions.get(focused).map(|s| s.name.clone()).unwrap_or_default();
                self.set_mode(cid, Mode::Rename { input });
            }
            Action::Help => self.set_mode(cid, Mode::Help { top: 0 }),
            Action::Scroll => self.enter_scroll(cid, None),
            Action::SplitHorizontal | Action::SplitVertical => match self.new_session_here(cid) {
                Ok(sid) => {
                    self.split(cid, sid, action == Action::SplitVertical);
                    let started = self.sessions.get(sid).map(|s| format!("split: started {}", s.label()));
                    if !self.warn_of_shared_resume_slot(cid, sid) {
                        if let Some(text) = started {
                            self.show_message(cid, &text);
                        }
                    }
                }
                Err(e) => self.show_message(cid, &e),
            },
            Action::NextPane => self.next_pane(cid),
            Action::TileAll => self.tile_all(cid, false),
            Action::Attention => {
                if let Err(e) = self.jump_to_attention(cid) {
                    self.show_message(cid, &e);
                }
            }
            Action::Approve => self.answer(focused, Choice::Yes, None, AnsweredTo::View(cid)),
            Action::Deny => self.answer(focused, Choice::No, None, AnsweredTo::View(cid)),
            Action::Zoom => self.toggle_zoom(cid),
            Action::NextLayout => self.next_layout(cid),
            Action::BreakPane => self.break_pane(cid),
            Action::SwapPrevious | Action::SwapNext => self.swap_pane(cid, action == Action::SwapNext),
            Action::Reload => match crate::config::Config::load(self.config_path.as_deref()) {
                Ok(config) => {
                    let said = self.reload(config);
                    self.show_message(cid, &said);
                }
                Err(e) => self.show_message(cid, &format!("config not reloaded: {e}")),
            },
        }
    }
}
