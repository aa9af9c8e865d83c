//! Frames: what each attached client's terminal should show, drawn once
//! per event for the views that changed.

use super::modes::{help_lines, Mode};
use super::view::View;
use super::{ClientId, Server};
use crate::protocol::ToClient;
use crate::{render, status};

impl Server {
    /// Draws every dirty view whose terminal has taken its last frame.
    pub(super) fn draw_dirty(&mut self) {
        let due: Vec<ClientId> =
            self.views().filter(|(_, v)| v.dirty && !v.frame_in_flight).map(|(id, _)| id).collect();
        for cid in due {
            self.draw(cid);
        }
    }

    /// What a view's status bar shows: the sessions, and the message.
    /// Until the prefix is first used, the message says how to find the
    /// keys.
    pub(super) fn status_line(&self, view: &View) -> (Vec<status::Entry>, Option<String>) {
        let hint = || (!self.prefix_used).then(|| format!("{} ? help", crate::config::key_name(&self.config.prefix)));
        let message = view.message.as_ref().map(|(m, _)| m.clone()).or_else(hint);
        (self.status_entries(view), message)
    }

    fn status_entries(&self, view: &View) -> Vec<status::Entry> {
        self.sessions
            .iter()
            .map(|s| status::Entry {
                index: s.index,
                name: s.name.clone(),
                focused: s.id == view.focused,
                last: Some(s.id) == view.last,
                attention: s.attention,
                exit_code: s.exit_code(),
                state: s.state(),
                queued: s.queue.len(),
            })
            .collect()
    }

    fn draw(&mut self, cid: ClientId) {
        let Some(view) = self.view(cid) else {
            return;
        };
        let Some(session) = self.sessions.get(view.focused) else {
            return;
        };
        let status_text = {
            let (entries, message) = self.status_line(view);
            status::render(&entries, message.as_deref(), view.cols)
        };
        // Built before the focused terminal is locked: the chooser locks the
        // selected session's terminal, which may be the same one.
        let chooser = match &view.mode {
            Mode::Chooser { selected } => Some(self.chooser_lines(*selected, view.cols, view.rows)),
            _ => None,
        };
        let Ok(terminal) = session.terminal.lock() else {
            return;
        };
        let screen = terminal.screen();
        let prompt_cursor = |col: u16| Some((view.status_row(), col));
        let (frame, drawn, status_drawn) = match &view.mode {
            Mode::Normal => {
                let status = (view.drawn.is_none() || view.status_drawn.as_deref() != Some(&status_text))
                    .then_some(status_text.as_str());
                let mut frame = render::session_frame(screen, view.drawn.as_ref(), status, (view.cols, view.rows));
                if self.config.mouse {
                    frame.extend_from_slice(render::mouse_modes(screen));
                }
                (frame, Some(screen.clone()), Some(status_text))
            }
            Mode::Chooser { .. } => {
                let lines = chooser.unwrap_or_default();
                (render::overlay_frame(&lines, &status_text, view.rows), None, None)
            }
            Mode::Help { top } => {
                let lines = help_lines(&self.config.prefix, *top, (view.cols, view.rows));
                (render::overlay_frame(&lines, &status_text, view.rows), None, None)
            }
            Mode::Scroll(sv) => {
                let history = terminal.history();
                let lines = sv.render(history, screen, view.session_rows(), view.cols);
                let (status_row, cursor) = if sv.prompting() {
                    let (row, col) = status::render_prompt(&sv.status(history, screen), "", view.cols);
                    (row, (view.status_row(), col))
                } else {
                    let entries = self.status_entries(view);
                    let row = status::render(&entries, Some(&sv.status(history, screen)), view.cols);
                    (row, sv.cursor_position(history, screen))
                };
                let mut frame = render::overlay_frame(&lines, &status_row, view.rows);
                frame.extend(format!("\x1b[{};{}H\x1b[?25h", cursor.0 + 1, cursor.1 + 1).into_bytes());
                (frame, None, None)
            }
            Mode::Rename { input } => {
                let label = format!("rename {}: ", session.label());
                let (row, col) = status::render_prompt(&label, input, view.cols);
                let mut frame = render::session_frame(screen, view.drawn.as_ref(), None, (view.cols, view.rows));
                frame.extend(render::status_frame(&row, view.rows, screen, prompt_cursor(col)));
                (frame, Some(screen.clone()), None)
            }
            Mode::ConfirmKill => {
                let (row, col) = status::render_prompt(&format!("kill {}? (y/n) ", session.label()), "", view.cols);
                let mut frame = render::session_frame(screen, view.drawn.as_ref(), None, (view.cols, view.rows));
                frame.extend(render::status_frame(&row, view.rows, screen, prompt_cursor(col)));
                (frame, Some(screen.clone()), None)
            }
        };
        drop(terminal);
        let Some(conn) = self.connections.get_mut(&cid) else {
            return;
        };
        let Some(view) = conn.view.as_mut() else {
            return;
        };
        // Bells, notifications and clipboard writes go just before the frame.
        let frame = if view.alerts.is_empty() {
            frame
        } else {
            let mut with_alerts = std::mem::take(&mut view.alerts);
            with_alerts.extend_from_slice(&frame);
            with_alerts
        };
        view.dirty = false;
        match conn.tx.try_send(ToClient::Frame(frame)) {
            Ok(()) => {
                view.frame_in_flight = true;
                view.drawn = drawn;
                view.status_drawn = status_drawn;
            }
            // The queue is full: repaint from scratch once it drains.
            Err(_) => view.repaint(),
        }
    }
}
