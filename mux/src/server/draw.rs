//! Frames: what each attached client's terminal should show, drawn once
//! per event for the views that changed.

use super::modes::{help_lines, Mode};
use super::view::{DrawnRow, View};
use super::{ClientId, Event, Server};
use crate::protocol::ToClient;
use crate::{render, status};

/// What a frame drew, to diff the next one against.
enum FrameDrawn {
    /// One session filling the view: its screen.
    Single(Option<Box<vt100::Screen>>),
    /// Each pane's rows (none when unchanged), output count and header.
    Panes(Vec<PaneDrawn>),
}

/// What a frame drew of one pane.
struct PaneDrawn {
    /// Its rows as the client's terminal now shows them (those of the
    /// frame before, for a pane this frame left alone).
    rows: Vec<DrawnRow>,
    seq: u64,
    header: String,
}

/// Prefix `C`'s question.
const WORKTREE_PROMPT: &str = "new session in worktree (name): ";

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
        let hint = || (!self.prefix_used).then(|| format!("{} ? help", crate::config::key_name(self.prefix(view))));
        let message = view.message.as_ref().map(|(m, _)| m.clone()).or_else(|| self.conflict_mark(view.focused()));
        let message = message.or_else(hint);
        (self.status_entries(view), message)
    }

    fn status_entries(&self, view: &View) -> Vec<status::Entry> {
        self.sessions
            .iter()
            .map(|s| status::Entry {
                index: s.index,
                name: s.name.clone(),
                focused: s.id == view.focused(),
                zoomed: s.id == view.focused() && view.zoomed && view.panes.len() > 1,
                last: Some(s.id) == view.last,
                attention: s.attention,
                exit_code: s.exit_code(),
                state: s.state(),
                queued: s.queue.len(),
            })
            .collect()
    }

    fn draw(&mut self, cid: ClientId) {
        // What this client shows, to diff against and then to update in
        // place: no allocation per frame.
        let mut shown = self.view_mut(cid).and_then(|v| {
            let focus = v.focus;
            v.panes[focus].drawn.take()
        });
        // Likewise the rows drawn of each pane beside others.
        let rows_drawn: Vec<Option<Vec<DrawnRow>>> =
            self.view_mut(cid).map(|v| v.panes.iter_mut().map(|p| p.rows_drawn.take()).collect()).unwrap_or_default();
        let Some(view) = self.view(cid) else {
            return;
        };
        let Some(session) = self.sessions.get(view.focused()) else {
            return;
        };
        let focused_drawn = shown.as_ref();
        // The screen now shown, kept in the allocation of the one before.
        let keep = |shown: &mut Option<vt100::Screen>, screen: &vt100::Screen| -> Option<vt100::Screen> {
            match shown.take() {
                Some(mut old) => {
                    old.clone_from(screen);
                    Some(old)
                }
                None => Some(screen.clone()),
            }
        };
        let (entries, message) = self.status_line(view);
        let status_text = status::render(&entries, message.as_deref(), view.cols);
        // Built before the focused terminal is locked: the chooser locks the
        // selected session's terminal, which may be the same one.
        let chooser = match &view.mode {
            Mode::Chooser { selected } => Some(self.chooser_lines(*selected, view.cols, view.rows)),
            _ => None,
        };
        // Beside other panes, the session area is composed pane by pane
        // (each pane's terminal locked in turn, before the focused one is).
        let panes = !view.single()
            && matches!(view.mode, Mode::Normal | Mode::Rename { .. } | Mode::WorktreeName { .. } | Mode::ConfirmKill);
        // A pane with nothing drawn repaints them all, and the status row.
        let repaint = rows_drawn.len() < view.panes.len() || rows_drawn.iter().any(Option::is_none);
        let panes = panes.then(|| self.panes_frame(view, &entries, rows_drawn, repaint));
        let Ok(terminal) = session.terminal.lock() else {
            return;
        };
        let screen = terminal.screen();
        let prompt_cursor = |col: u16| Some((view.status_row(), col));
        if let Some((area, caches)) = panes {
            let (status_row, cursor) = match &view.mode {
                Mode::Rename { input } => {
                    status::render_prompt(&format!("rename {}: ", session.label()), input, view.cols)
                }
                Mode::WorktreeName { input } => status::render_prompt(WORKTREE_PROMPT, input, view.cols),
                Mode::ConfirmKill => status::render_prompt(&format!("kill {}? (y/n) ", session.label()), "", view.cols),
                _ => (status_text.clone(), u16::MAX),
            };
            let mut frame = area;
            // The status row as it is on the terminal is not written again.
            if repaint || view.status_drawn.as_deref() != Some(status_row.as_str()) {
                frame.extend(render::move_to(view.status_row(), 0).into_bytes());
                frame.extend(status_row.as_bytes());
            }
            frame.extend(self.pane_cursor(view, screen, cursor).into_bytes());
            if self.config.mouse {
                frame.extend_from_slice(render::mouse_modes(screen));
            }
            drop(terminal);
            return self.send_frame(cid, frame, FrameDrawn::Panes(caches), Some(status_row));
        }
        let (frame, drawn, status_drawn) = match &view.mode {
            Mode::Normal => {
                let status = (focused_drawn.is_none() || view.status_drawn.as_deref() != Some(&status_text))
                    .then_some(status_text.as_str());
                let mut frame = render::session_frame(screen, focused_drawn, status, (view.cols, view.rows));
                if self.config.mouse {
                    frame.extend_from_slice(render::mouse_modes(screen));
                }
                (frame, keep(&mut shown, screen), Some(status_text))
            }
            Mode::Chooser { .. } => {
                let lines = chooser.unwrap_or_default();
                (render::overlay_frame(&lines, &status_text, view.rows), None, None)
            }
            Mode::Help { top } => {
                let lines = help_lines(self.prefix(view), *top, (view.cols, view.rows));
                (render::overlay_frame(&lines, &status_text, view.rows), None, None)
            }
            Mode::Scroll(sv) => {
                let history = terminal.history();
                let lines = sv.render(history, screen, view.session_rows(), view.cols);
                let (status_row, cursor) = if sv.prompting() {
                    let (row, col) = status::render_prompt(&sv.status(history, screen), "", view.cols);
                    (row, (view.status_row(), col))
                } else {
                    let row = status::render(&entries, Some(&sv.status(history, screen)), view.cols);
                    (row, sv.cursor_position(history, screen))
                };
                let mut frame = render::overlay_frame(&lines, &status_row, view.rows);
                frame.extend(format!("\x1b[{};{}H\x1b[?25h", cursor.0 + 1, cursor.1 + 1).into_bytes());
                (frame, None, None)
            }
            Mode::Rename { input } | Mode::WorktreeName { input } => {
                let label = match &view.mode {
                    Mode::Rename { .. } => format!("rename {}: ", session.label()),
                    _ => WORKTREE_PROMPT.to_string(),
                };
                let (row, col) = status::render_prompt(&label, input, view.cols);
                let mut frame = render::session_frame(screen, focused_drawn, None, (view.cols, view.rows));
                frame.extend(render::status_frame(&row, view.rows, screen, prompt_cursor(col)));
                (frame, keep(&mut shown, screen), None)
            }
            Mode::ConfirmKill => {
                let (row, col) = status::render_prompt(&format!("kill {}? (y/n) ", session.label()), "", view.cols);
                let mut frame = render::session_frame(screen, focused_drawn, None, (view.cols, view.rows));
                frame.extend(render::status_frame(&row, view.rows, screen, prompt_cursor(col)));
                (frame, keep(&mut shown, screen), None)
            }
        };
        drop(terminal);
        self.send_frame(cid, frame, FrameDrawn::Single(drawn.map(Box::new)), status_drawn);
    }

    /// A paced frame's time has come: drawn if a pane's output is not on
    /// the client's terminal yet (a frame for the focused pane may have
    /// taken it since).
    pub(super) fn paced_redraw(&mut self, cid: ClientId) {
        let sessions = &self.sessions;
        let Some(view) = self.connections.get_mut(&cid).and_then(|c| c.view.as_mut()) else { return };
        view.paced = false;
        let seq = |sid| sessions.get(sid).map_or(0, |s| s.output_seq);
        if view.panes.iter().any(|p| p.drawn_seq != seq(p.session)) {
            view.dirty = true;
        }
    }

    /// Sends a frame, alerts first, and remembers what it drew; a full
    /// queue means a repaint once it drains.
    fn send_frame(&mut self, cid: ClientId, frame: Vec<u8>, drawn: FrameDrawn, status_drawn: Option<String>) {
        let now = self.os.now();
        let Some(conn) = self.connections.get_mut(&cid) else {
            return;
        };
        let direct = conn.direct_tty();
        let Some(view) = conn.view.as_mut() else {
            return;
        };
        let frame = if view.styled_underlines { frame } else { crate::render::plain_underlines(frame) };
        // Bells, notifications and clipboard writes go just before the frame.
        let frame = if view.alerts.is_empty() {
            frame
        } else {
            let mut with_alerts = std::mem::take(&mut view.alerts);
            with_alerts.extend_from_slice(&frame);
            with_alerts
        };
        view.dirty = false;
        view.last_frame = Some(now);
        let mut stalled = false;
        // Drawing on the client's terminal itself, with nothing of ours
        // in flight to it: write now, before anything else is worked out.
        // What it does not take goes the usual way, through the writer.
        let (frame, done) = match direct {
            Some(tty) => super::conn::write_now(tty.screen(), frame),
            None => (frame, false),
        };
        let sent = if done { Ok(()) } else { conn.tx.try_send(ToClient::Frame(frame)).map_err(|_| ()) };
        match sent {
            Ok(()) => {
                view.frame_in_flight = !done;
                match drawn {
                    FrameDrawn::Single(drawn) => {
                        let focus = view.focus;
                        view.panes[focus].drawn = drawn.map(|d| *d);
                    }
                    FrameDrawn::Panes(caches) => {
                        for (pane, drawn) in view.panes.iter_mut().zip(caches) {
                            pane.drawn = None;
                            pane.rows_drawn = Some(drawn.rows);
                            pane.drawn_seq = drawn.seq;
                            pane.header_drawn = Some(drawn.header);
                        }
                    }
                }
                view.status_drawn = status_drawn;
            }
            // The queue is full: repaint from scratch once it drains. Until
            // then the view waits as if a frame were in flight, so a client
            // that reads nothing costs no frame per event; a retry comes in
            // case no frame of its own is left to drain.
            Err(_) => {
                view.repaint();
                view.frame_in_flight = true;
                stalled = true;
            }
        }
        if stalled {
            self.after(STALLED_RETRY, Event::Flushed(cid));
        }
    }
}

/// How long a client whose queue is full waits before it is drawn again
/// without having taken a frame.
const STALLED_RETRY: std::time::Duration = std::time::Duration::from_millis(500);

impl Server {
    /// The panes of a view that shows several: borders on a full repaint,
    /// then each pane's header and the rows that changed. Returns the bytes
    /// and what each pane now shows.
    fn panes_frame(
        &self,
        view: &View,
        entries: &[status::Entry],
        mut rows_drawn: Vec<Option<Vec<DrawnRow>>>,
        full: bool,
    ) -> (Vec<u8>, Vec<PaneDrawn>) {
        let rects = view.rects();
        rows_drawn.resize_with(view.panes.len(), || None);
        let mut out = String::from(render::SYNC_BEGIN);
        if full {
            out.push_str(render::RESET_MODES);
            out.push_str("\x1b[H\x1b[2J");
            out.push_str(&render::borders(&rects, view.focus, view.cols, view.session_rows()));
        }
        let mut caches = Vec::with_capacity(view.panes.len());
        for (i, ((pane, rect), before)) in view.panes.iter().zip(&rects).zip(rows_drawn).enumerate() {
            let entry = self.sessions.position(pane.session).and_then(|at| entries.get(at));
            // A worktree session's header says its branch and how much it changed.
            let note = self.sessions.get(pane.session).map(|s| self.worktree_note(s)).unwrap_or_default();
            let label = entry
                .map(|e| status::Entry { focused: false, zoomed: false, last: false, ..e.clone() }.label() + &note);
            let header = render::pane_header(label.as_deref().unwrap_or("gone"), rect.w, i == view.focus);
            if full || pane.header_drawn.as_deref() != Some(header.as_str()) {
                out.push_str(&render::move_to(rect.y, rect.x));
                out.push_str(&header);
            }
            let session = self.sessions.get(pane.session);
            let seq = session.map_or(0, |s| s.output_seq);
            // A pane whose session had no output since it was drawn is as
            // it was: nothing to render. Nor is one beside the focused pane
            // whose output waits for its paced frame: a frame for the
            // focused pane (an echo) stays small, and goes at once.
            if !full && (pane.drawn_seq == seq || (view.paced && i != view.focus)) {
                caches.push(PaneDrawn { rows: before.unwrap_or_default(), seq: pane.drawn_seq, header });
                continue;
            }
            let Some(Ok(terminal)) = session.map(|s| s.terminal.lock()) else {
                caches.push(PaneDrawn { rows: Vec::new(), seq, header });
                continue;
            };
            let screen = terminal.screen();
            // Only the rows whose contents changed since they were drawn
            // (vt100 names each row's contents with a version) are written,
            // and of those only the cells that changed: an echo writes its
            // character, not its row. A row drawn before in another place
            // (the pane scrolled) is taken as it was drawn there, not
            // formatted again.
            let mut before = before.unwrap_or_default();
            let versions: Vec<_> = (0..rect.h.saturating_sub(1)).map(|r| screen.row_version(r)).collect();
            let mut rows = Vec::with_capacity(versions.len());
            for (r, version) in (0..).zip(versions) {
                let at = usize::from(r);
                let unchanged = before.get(at).is_some_and(|d| d.version == version);
                if unchanged && !full {
                    let drawn = &mut before[at];
                    drawn.version = None;
                    let (text, cells) = (std::mem::take(&mut drawn.text), std::mem::take(&mut drawn.cells));
                    rows.push(DrawnRow { version, text, cells });
                    continue;
                }
                // Each version is one row's: its text and cells are taken
                // once. A row moved here is written whole (the pane
                // scrolled: little of it is what was here).
                let (text, cells, moved) = match before.iter_mut().find(|d| d.version.is_some() && d.version == version)
                {
                    Some(drawn) => {
                        drawn.version = None;
                        (std::mem::take(&mut drawn.text), std::mem::take(&mut drawn.cells), true)
                    }
                    None => (render::pane_row(screen, r, rect.w), render::row_cells(screen, r, rect.w), false),
                };
                let shown = before.get(at).filter(|d| !full && !moved && !d.cells.is_empty()).map(|d| &d.cells[..]);
                match shown.map(|shown| render::changed_cols(&cells, shown)) {
                    Some(None) => {}
                    Some(Some(cols)) if cols.len() < usize::from(rect.w) => {
                        let cols = render::whole_chars(screen, r, cols);
                        out.push_str(&render::move_to(rect.y + 1 + r, rect.x + cols.start));
                        out.push_str(&render::pane_cells(screen, r, cols, rect.w));
                    }
                    _ => {
                        out.push_str(&render::move_to(rect.y + 1 + r, rect.x));
                        out.push_str(&text);
                    }
                }
                rows.push(DrawnRow { version, text, cells });
            }
            caches.push(PaneDrawn { rows, seq, header });
        }
        (out.into_bytes(), caches)
    }

    /// The cursor where the focused pane's program has it (or in the status
    /// row at `prompt_col`), with its visibility and input modes.
    fn pane_cursor(&self, view: &View, screen: &vt100::Screen, prompt_col: u16) -> String {
        let mut out = String::from("\x1b[m");
        out.push_str(&screen.input_mode_formatted());
        if prompt_col != u16::MAX {
            out.push_str(&render::move_to(view.status_row(), prompt_col));
            out.push_str("\x1b[?25h");
        } else {
            let rect = view.rects()[view.focus];
            let (row, col) = screen.cursor_position();
            let (row, col) = (row.min(rect.h.saturating_sub(2)), col.min(rect.w.saturating_sub(1)));
            out.push_str(&render::move_to(rect.y + 1 + row, rect.x + col));
            out.push_str(if screen.hide_cursor() { "\x1b[?25l" } else { "\x1b[?25h" });
        }
        out.push_str(render::SYNC_END);
        out
    }
}
