//! An attached client's view: which session it shows, the one before, its
//! size, its mode, and the messages and alerts waiting for its next frame.
//! Also where sessions get their sizes from the views showing them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::layout::{Border, Layout, Rect, Split, Tree};
use super::modes::Mode;
use super::{ClientId, Event, Server};
use crate::keys::InputState;
use crate::protocol::{Caller, SessionId, ToClient};

/// How long a status message stays up.
const MESSAGE_TIME: Duration = Duration::from_secs(3);
/// How long a warning stays up: a sentence to read, not a word.
const WARNING_TIME: Duration = Duration::from_secs(10);
/// The largest terminal a client may claim (cols, rows). Sizes come from
/// the wire: unchecked, one client asking for 65535x65535 (4 billion cells)
/// would take the server down, and every session with it.
const MAX_SIZE: (u16, u16) = (1000, 1000);
/// Rows qmux takes from each client's terminal: the status bar.
const STATUS_ROWS: u16 = 1;

/// A terminal size from a client, each side within 1..=MAX_SIZE, and tall
/// enough for a row of session and the status bar.
pub(super) fn bounded_size((cols, rows): (u16, u16)) -> (u16, u16) {
    (cols.clamp(1, MAX_SIZE.0), rows.clamp(STATUS_ROWS + 1, MAX_SIZE.1))
}

/// The rows a session gets in a terminal `rows` tall.
pub(super) fn session_rows(rows: u16) -> u16 {
    rows.saturating_sub(STATUS_ROWS).max(1)
}

/// What a row of a screen shows, named by vt100 (`Screen::row_version`).
pub(super) type RowVersion = Option<std::num::NonZeroUsize>;

/// A row of a pane as drawn: what it showed, the bytes that drew it, and
/// its cells, to write only the ones a later version changes.
pub(super) struct DrawnRow {
    pub version: RowVersion,
    pub text: String,
    pub cells: Vec<Option<vt100::Cell>>,
}

/// The least time between two frames drawn for output in panes beside the
/// focused one: the focused session's output is drawn at once, its
/// neighbours' at most 60 times a second, as a screen shows them anyway.
/// Three panes streaming a line every 10 ms cost a frame per 16 ms, not
/// one per line.
pub(super) const PANE_FRAME_GAP: std::time::Duration = std::time::Duration::from_millis(16);

/// One pane of a view: a session shown in part of the terminal.
pub(super) struct Pane {
    pub session: SessionId,
    /// The session's screen as this client's terminal shows it here; `None`
    /// forces a repaint.
    pub drawn: Option<vt100::Screen>,
    /// Its rows as drawn beside other panes (taken out while a frame is
    /// composed), and the session's output count then.
    pub rows_drawn: Option<Vec<DrawnRow>>,
    pub drawn_seq: u64,
    /// The header row as drawn.
    pub header_drawn: Option<String>,
}

impl Pane {
    pub fn new(session: SessionId) -> Pane {
        Pane { session, drawn: None, rows_drawn: None, drawn_seq: 0, header_drawn: None }
    }
}

/// An attached client: a layout of panes over one terminal, the status bar
/// below them.
pub(super) struct View {
    pub cols: u16,
    pub rows: u16,
    /// Never empty.
    pub panes: Vec<Pane>,
    /// The pane keys go to.
    pub focus: usize,
    /// Where the panes are, in their order.
    pub tree: Tree,
    /// The preset `Space` goes on from: the one chosen last, or the one a
    /// first split made.
    pub layout: Layout,
    /// The focused pane fills the view for now.
    pub zoomed: bool,
    pub last: Option<SessionId>,
    pub status_drawn: Option<String>,
    pub input: InputState,
    pub mode: Mode,
    pub env: Vec<(String, String)>,
    /// The border being dragged with the mouse; it goes when the panes
    /// change, as another border may have its place in the tree.
    pub dragging: Option<Border>,
    /// The client's terminal draws underline styles and colours (by its
    /// terminfo entry); without, its frames get plain underlines.
    pub styled_underlines: bool,
    pub frame_in_flight: bool,
    /// Needs a frame.
    pub dirty: bool,
    /// When its last frame went, and whether a frame for panes beside the
    /// focused one waits for [`PANE_FRAME_GAP`] to pass since.
    pub last_frame: Option<Instant>,
    pub paced: bool,
    pub message: Option<(String, Instant)>,
    /// When its user last typed, in the server's count of inputs.
    pub last_input: u64,
    /// Bytes for the terminal ahead of the next frame (bells, notifications,
    /// clipboard writes).
    pub alerts: Vec<u8>,
    /// The client's own prefix key, when it brought one (from another
    /// machine); else the server's.
    pub prefix: Option<Vec<u8>>,
    /// The layouts of panes the view showed before, newest last: going to
    /// one of their sessions brings its layout back, as going to a window
    /// does in tmux.
    pub away: Vec<super::panes::SavedLayout>,
}

impl Server {
    /// The prefix key of a view's client.
    pub(super) fn prefix<'a>(&'a self, view: &'a View) -> &'a [u8] {
        view.prefix.as_deref().unwrap_or(&self.config.prefix)
    }
}

impl View {
    pub fn new(size: (u16, u16), focused: SessionId, env: Vec<(String, String)>) -> View {
        let (cols, rows) = bounded_size(size);
        let term = env.iter().find(|(k, _)| k == "TERM").map_or("", |(_, v)| v.as_str());
        let styled_underlines = crate::render::styled_underlines(term);
        View {
            dragging: None,
            styled_underlines,
            cols,
            rows,
            panes: vec![Pane::new(focused)],
            focus: 0,
            tree: Tree::Pane,
            layout: Layout::default(),
            zoomed: false,
            last: None,
            status_drawn: None,
            input: InputState::default(),
            mode: Mode::Normal,
            env,
            prefix: None,
            away: Vec::new(),
            frame_in_flight: false,
            last_frame: None,
            paced: false,
            dirty: true,
            message: None,
            last_input: 0,
            alerts: Vec::new(),
        }
    }

    /// The session keys go to.
    pub fn focused(&self) -> SessionId {
        self.panes[self.focus].session
    }

    /// One session fills the view: a single pane, or a zoomed one.
    pub fn single(&self) -> bool {
        self.panes.len() == 1 || self.zoomed
    }

    /// Whether the view shows a session now.
    pub fn shows(&self, sid: SessionId) -> bool {
        if self.single() {
            self.focused() == sid
        } else {
            self.panes.iter().any(|p| p.session == sid)
        }
    }

    /// The panes' places on the terminal (one filling it when single).
    pub fn rects(&self) -> Vec<Rect> {
        self.arranged().0
    }

    /// The panes' places and the borders between them.
    pub fn arranged(&self) -> (Vec<Rect>, Vec<Border>) {
        self.tree.arrange(self.cols, self.session_rows())
    }

    /// Moves a border to `at` (its column or row), as far as the panes on
    /// either side keep their room.
    pub fn move_border(&mut self, border: &Border, at: u16) {
        let (cols, rows) = (self.cols, self.session_rows());
        self.tree.move_border(border, at, cols, rows);
    }

    /// Shows `sid` in a new pane after the focused one, in half of its
    /// place (`split` says which way); the new pane takes the focus.
    pub fn split_focused(&mut self, sid: SessionId, split: Split) {
        let (cols, rows) = (self.cols, self.session_rows());
        self.tree.split(self.focus, split, cols, rows);
        self.dragging = None;
        self.focus += 1;
        self.panes.insert(self.focus, Pane::new(sid));
    }

    /// Closes the panes showing `sid`, their neighbours taking their room;
    /// the last pane stays. The focus stays on its pane, or goes to the
    /// one after it.
    pub fn close_panes(&mut self, sid: SessionId) {
        let (cols, rows) = (self.cols, self.session_rows());
        while let Some(i) = self.panes.iter().rposition(|p| p.session == sid).filter(|_| self.panes.len() > 1) {
            self.tree = self.tree.fitted(cols, rows);
            self.tree.remove(i);
            self.dragging = None;
            self.panes.remove(i);
            if i < self.focus {
                self.focus -= 1;
            }
        }
        self.focus = self.focus.min(self.panes.len() - 1);
    }

    /// Shows `sessions` in the places `tree` gives them (the preset's when
    /// there is none, or it has another number of panes), the focus on pane
    /// `focus`.
    pub fn show(&mut self, sessions: Vec<SessionId>, tree: Option<Tree>, focus: usize) {
        self.tree = match tree.filter(|t| t.count() == sessions.len()) {
            Some(tree) => tree,
            None => Tree::preset(self.layout, sessions.len(), self.cols, self.session_rows()),
        };
        self.panes = sessions.into_iter().map(Pane::new).collect();
        self.focus = focus.min(self.panes.len().saturating_sub(1));
        self.dragging = None;
    }

    /// Lays the panes out in a preset, in place of their splits, as tmux's
    /// `select-layout` does.
    pub fn use_layout(&mut self, layout: Layout) {
        self.layout = layout;
        self.tree = Tree::preset(layout, self.panes.len(), self.cols, self.session_rows());
        self.dragging = None;
    }

    /// The size each session shown wants from this view.
    pub fn wanted_sizes(&self) -> Vec<(SessionId, (u16, u16))> {
        if self.single() {
            return vec![(self.focused(), (self.cols, self.session_rows()))];
        }
        self.panes.iter().zip(self.rects()).map(|(p, r)| (p.session, r.session_size())).collect()
    }

    /// The rows the session shown gets.
    pub fn session_rows(&self) -> u16 {
        session_rows(self.rows)
    }

    /// The status bar's row, counted from 0.
    pub fn status_row(&self) -> u16 {
        self.rows - STATUS_ROWS
    }

    /// Forgets what the terminal shows: the next frame repaints it all.
    pub fn repaint(&mut self) {
        for pane in &mut self.panes {
            pane.drawn = None;
            pane.rows_drawn = None;
            pane.header_drawn = None;
        }
        self.status_drawn = None;
        self.dirty = true;
    }
}

impl Server {
    pub(super) fn view_mut(&mut self, cid: ClientId) -> Option<&mut View> {
        self.connections.get_mut(&cid)?.view.as_mut()
    }

    pub(super) fn view(&self, cid: ClientId) -> Option<&View> {
        self.connections.get(&cid)?.view.as_ref()
    }

    pub(super) fn views(&self) -> impl Iterator<Item = (ClientId, &View)> {
        self.connections.iter().filter_map(|(id, c)| Some((*id, c.view.as_ref()?)))
    }

    pub(super) fn views_showing(&self, sid: SessionId) -> Vec<ClientId> {
        self.views().filter(|(_, v)| v.shows(sid)).map(|(id, _)| id).collect()
    }

    /// The views a command from inside qmux acts on: those showing the
    /// caller's session. Outside qmux there is no "own" client.
    pub(super) fn caller_views(&self, caller: Option<Caller>) -> Result<Vec<ClientId>, String> {
        let Some(caller) = caller else {
            return Err("not inside qmux: say which session with -t TARGET".into());
        };
        let views = self.views_showing(caller.session);
        if views.is_empty() {
            return Err("no client is showing this session".into());
        }
        Ok(views)
    }

    /// The client a command from inside qmux came from, as tmux finds it:
    /// of those showing the caller's session, the one typed in last.
    pub(super) fn caller_view(&self, caller: Option<Caller>) -> Result<ClientId, String> {
        let views = self.caller_views(caller)?;
        let typed_last = views.iter().max_by_key(|cid| self.view(**cid).map_or(0, |v| v.last_input));
        typed_last.copied().ok_or_else(|| "no client is showing this session".into())
    }

    /// The client needs a frame.
    /// Every client needs a frame (the status bar changed).
    pub(super) fn mark_all(&mut self) {
        for conn in self.connections.values_mut() {
            if let Some(v) = conn.view.as_mut() {
                v.dirty = true;
            }
        }
    }

    pub(super) fn repaint_all(&mut self) {
        for conn in self.connections.values_mut() {
            if let Some(v) = conn.view.as_mut() {
                v.repaint();
            }
        }
    }

    /// Shows a session in a client's view, as tmux switches windows: a
    /// pane of the view that shows it is focused; else the view's panes
    /// are put away and the session shown with the panes it was last split
    /// with, or alone ([`Server::show_elsewhere`]).
    pub(super) fn focus(&mut self, cid: ClientId, sid: SessionId) {
        let Some(view) = self.view_mut(cid) else {
            return;
        };
        let before = view.focused();
        if before != sid {
            view.last = Some(before);
        }
        match view.panes.iter().position(|p| p.session == sid) {
            Some(i) => view.focus = i,
            None => self.show_elsewhere(cid, sid),
        }
        let Some(view) = self.view_mut(cid) else { return };
        view.mode = Mode::Normal;
        view.repaint();
        if self.config.set_titles {
            let title = self.sessions.get(sid).map(|s| {
                let title = s.terminal.lock().map(|t| t.title().to_string()).unwrap_or_default();
                super::agent::title_sequence(&title, &s.label())
            });
            if let (Some(title), Some(view)) = (title, self.view_mut(cid)) {
                view.alerts.extend(title);
            }
        }
        self.mark_seen(sid);
        self.refit = true;
        self.mark_all();
    }

    /// Someone looks at the session: nothing in it is unseen any more.
    pub(super) fn mark_seen(&mut self, sid: SessionId) {
        self.sessions.touch(sid);
        if let Some(s) = self.sessions.get_mut(sid) {
            s.attention = Default::default();
            if s.state() != crate::detect::State::Approval {
                s.needs_you_since = None;
            }
        }
    }

    pub(super) fn detach(&mut self, cid: ClientId, reason: &str) {
        self.send(cid, ToClient::Detached(reason.to_string()));
        self.close(cid);
    }

    pub(super) fn resized(&mut self, cid: ClientId, size: (u16, u16)) {
        let (cols, rows) = bounded_size(size);
        let Some(view) = self.view_mut(cid) else { return };
        if (view.cols, view.rows) == (cols, rows) {
            return;
        }
        (view.cols, view.rows) = (cols, rows);
        let height = view.session_rows();
        if let Mode::Scroll(sv) = &mut view.mode {
            sv.resize(height);
        }
        view.repaint();
        self.refit = true;
    }

    pub(super) fn show_message(&mut self, cid: ClientId, text: &str) {
        self.show_message_for(cid, text, MESSAGE_TIME);
    }

    /// A message that says something went or may go wrong, up longer.
    pub(super) fn show_warning(&mut self, cid: ClientId, text: &str) {
        self.show_message_for(cid, text, WARNING_TIME);
    }

    fn show_message_for(&mut self, cid: ClientId, text: &str, time: Duration) {
        let until = self.os.now() + time;
        if let Some(view) = self.view_mut(cid) {
            view.message = Some((text.to_string(), until));
            view.dirty = true;
        }
        self.after(time + Duration::from_millis(10), Event::Tick);
    }

    pub(super) fn show_message_everywhere(&mut self, text: &str) {
        let views: Vec<ClientId> = self.views().map(|(id, _)| id).collect();
        for cid in views {
            self.show_message(cid, text);
        }
    }

    pub(super) fn expire_messages(&mut self) {
        let now = self.os.now();
        for conn in self.connections.values_mut() {
            let Some(v) = conn.view.as_mut() else { continue };
            if v.message.as_ref().is_some_and(|(_, until)| *until <= now) {
                v.message = None;
                v.dirty = true;
            }
        }
    }

    /// Tells every client not showing `sid`, in its status bar (the
    /// notifications are `notices.rs`').
    pub(super) fn alert_others(&mut self, sid: SessionId, text: &str) {
        let others: Vec<ClientId> = self.views().filter(|(_, v)| !v.shows(sid)).map(|(id, _)| id).collect();
        for cid in others {
            self.show_message(cid, text);
        }
    }

    /// Sizes each session to the smallest client showing it, so every
    /// client can show all of it; a session nobody shows keeps its size.
    pub(super) fn fit_sizes(&mut self) {
        let mut wanted: HashMap<SessionId, (u16, u16)> = HashMap::new();
        for (_, v) in self.views() {
            for (sid, size) in v.wanted_sizes() {
                wanted.entry(sid).and_modify(|w| *w = (w.0.min(size.0), w.1.min(size.1))).or_insert(size);
            }
        }
        let mut resized = Vec::new();
        for s in self.sessions.iter_mut() {
            // What nobody sees is read on the background ticks.
            s.child.set_shown(wanted.contains_key(&s.id));
            let Some(&(cols, rows)) = wanted.get(&s.id) else {
                continue;
            };
            let Ok(mut t) = s.terminal.lock() else {
                continue;
            };
            if t.size() != (cols, rows) {
                t.resize(cols, rows);
                s.child.resize(cols, rows);
                resized.push(s.id);
            }
        }
        for conn in self.connections.values_mut() {
            if let Some(v) = conn.view.as_mut().filter(|v| resized.iter().any(|sid| v.shows(*sid))) {
                v.repaint();
            }
        }
    }
}
