//! Panes: a client's view split between sessions. Splitting, moving the
//! focus, zoom, layouts, breaking a pane out and swapping panes. Each
//! handler changes the view and marks it; sizes are refitted and the frame
//! drawn after the event, as for everything else.

use std::path::PathBuf;

use super::layout::{neighbour, Border, Direction, Layout, Split, Tree};
use super::view::View;
use super::{ClientId, Server};
use crate::protocol::{NewSession, SessionId};

/// A view's panes, kept when its client leaves.
pub(super) struct SavedLayout {
    panes: Vec<SessionId>,
    /// `None`: the preset's.
    tree: Option<Tree>,
    layout: Layout,
}

impl SavedLayout {
    /// The panes whose sessions there are (`None` for those gone), in
    /// their places in `tree`: the gone ones closed, as tmux closes panes.
    /// A tree with another number of panes is the preset's.
    pub fn new(panes: Vec<Option<SessionId>>, tree: Option<Tree>, layout: Layout) -> SavedLayout {
        let tree = tree.filter(|t| t.count() == panes.len()).map(|mut tree| {
            for (i, _) in panes.iter().enumerate().rev().filter(|(_, p)| p.is_none()) {
                tree.remove(i);
            }
            tree
        });
        SavedLayout { panes: panes.into_iter().flatten().collect(), tree, layout }
    }
}

impl View {
    /// Puts a layout away (`panes` in the places `tree` gives them) if it
    /// has several panes: the newest put away, and the only one holding
    /// their sessions.
    fn put_away(&mut self, panes: Vec<SessionId>, tree: Tree) {
        if panes.len() > 1 {
            self.away.retain(|l| !l.panes.iter().any(|s| panes.contains(s)));
            self.away.push(SavedLayout { panes, tree: Some(tree), layout: self.layout });
        }
    }

    /// Shows a saved layout again, the focus on `sid`'s pane.
    fn bring_back(&mut self, saved: SavedLayout, sid: SessionId) {
        let focus = saved.panes.iter().position(|s| *s == sid).unwrap_or(0);
        self.layout = saved.layout;
        self.show(saved.panes, saved.tree, focus);
    }
}

/// How many panes tiling every session shows at most.
const TILE_MAX: usize = 16;

impl Server {
    /// Keeps a leaving client's panes: for the next attach, and in the
    /// state directory for `qmux restore`. A view showing one session
    /// keeps the panes it put away last, if it has any.
    pub(super) fn keep_layout(&mut self, view: &View) {
        let (cols, rows) = (view.cols, view.session_rows());
        let (panes, tree, layout) = if view.panes.len() > 1 {
            (view.panes.iter().map(|p| p.session).collect(), view.tree.fitted(cols, rows), view.layout)
        } else {
            let Some(away) = view.away.last().map(|l| self.living(l)).filter(|l| l.panes.len() > 1) else { return };
            let tree = away.tree.unwrap_or_else(|| Tree::preset(away.layout, away.panes.len(), cols, rows));
            (away.panes, tree, away.layout)
        };
        self.save_layout(&panes, &tree, layout);
        self.last_layout = Some(SavedLayout { panes, tree: Some(tree), layout });
    }

    /// Puts back the last layout that showed `sid`, on a client that has
    /// just attached to it, with the panes whose sessions still run; the
    /// focus on `sid`.
    pub(super) fn restore_layout(&mut self, cid: ClientId, sid: SessionId) {
        let Some(saved) = self.last_layout.as_ref().filter(|l| l.panes.contains(&sid)) else { return };
        let saved = self.living(saved);
        let Some(view) = self.view_mut(cid) else { return };
        view.bring_back(saved, sid);
        self.pane_changed(cid, sid);
    }

    /// A saved layout with the panes whose sessions still run.
    fn living(&self, saved: &SavedLayout) -> SavedLayout {
        let alive = saved.panes.iter().map(|s| self.sessions.get(*s).map(|_| *s)).collect();
        SavedLayout::new(alive, saved.tree.clone(), saved.layout)
    }

    /// Shows `sid`, which no pane of the view shows, as tmux shows another
    /// window: the view's panes, if it has several, are put away, and
    /// `sid` comes with the panes it was put away with, or alone. A
    /// session is in one layout put away at most: the newest.
    pub(super) fn show_elsewhere(&mut self, cid: ClientId, sid: SessionId) {
        let Some(view) = self.view_mut(cid) else { return };
        let next = view.away.iter().position(|l| l.panes.contains(&sid)).map(|i| view.away.remove(i));
        let panes = view.panes.iter().map(|p| p.session).collect();
        let tree = view.tree.fitted(view.cols, view.session_rows());
        view.put_away(panes, tree);
        let next = next.map(|saved| self.living(&saved));
        let Some(view) = self.view_mut(cid) else { return };
        match next {
            Some(saved) => view.bring_back(saved, sid),
            None => view.show(vec![sid], Some(Tree::Pane), 0),
        }
        view.zoomed = false;
    }

    /// The sessions named, those that run, as the panes of the view in a
    /// layout: a team's view (`qmux up`).
    pub(super) fn show_panes(&mut self, cid: ClientId, panes: &crate::protocol::Panes) {
        let ids: Vec<SessionId> = panes
            .sessions
            .iter()
            .filter_map(|name| self.sessions.resolve(&format!("={name}")).ok())
            .take(TILE_MAX)
            .collect();
        let Some(first) = ids.first().copied() else { return };
        let Some(view) = self.view_mut(cid) else { return };
        view.layout = Layout::from_name(&panes.layout).unwrap_or(Layout::Tiled);
        view.show(ids, None, 0);
        view.zoomed = false;
        self.pane_changed(cid, first);
    }

    /// Every session in one tiled view (up to [`TILE_MAX`]), the focused
    /// one kept in focus: the dashboard of who needs you. Keys go to the
    /// focused tile, as in any view of panes; for `qmux watch` (`watch`)
    /// the status bar says so, and how to take a tile full size.
    pub(super) fn tile_all(&mut self, cid: ClientId, watch: bool) {
        let ids: Vec<SessionId> = self.sessions.ids().into_iter().take(TILE_MAX).collect();
        let Some(view) = self.view_mut(cid) else { return };
        let focused = view.focused();
        let mut panes: Vec<SessionId> = ids;
        if !panes.contains(&focused) {
            panes[0] = focused;
        }
        let focus = panes.iter().position(|s| *s == focused).unwrap_or(0);
        view.layout = Layout::Tiled;
        view.show(panes, None, focus);
        view.zoomed = false;
        let tiles = view.panes.len();
        self.pane_changed(cid, focused);
        if watch && tiles > 1 {
            let prefix = crate::config::key_name(self.view(cid).map_or(&self.config.prefix[..], |v| self.prefix(v)));
            let text = format!("watch: keys go to the focused tile; {prefix} z full size and back, {prefix} o next");
            self.show_message(cid, &text);
        }
    }

    /// The session that needs the user next, after `from`: those asking
    /// for approval, longest first, then those that finished unseen,
    /// longest first, in turn.
    pub(super) fn most_needing(&self, from: SessionId) -> Option<SessionId> {
        use crate::detect::State;
        let mut order: Vec<(bool, std::time::Instant, SessionId)> = self
            .sessions
            .iter()
            .filter(|s| s.state() == State::Approval || s.attention.done)
            .filter_map(|s| Some((s.state() != State::Approval, s.needs_you_since?, s.id)))
            .collect();
        order.sort();
        let at = order.iter().position(|(_, _, id)| *id == from).map_or(0, |i| i + 1);
        order.iter().cycle().skip(at).take(order.len()).map(|(_, _, id)| *id).find(|id| *id != from)
    }

    /// Goes to the session that needs the user most, in this client.
    pub(super) fn jump_to_attention(&mut self, cid: ClientId) -> Result<(), String> {
        let from = self.view(cid).map(|v| v.focused()).ok_or("not attached")?;
        if let Some(sid) = self.most_needing(from) {
            self.focus(cid, sid);
            return Ok(());
        }
        // Here, nobody: another machine's session, if one needs you.
        let (host, s) = self.hosts.most_needing().ok_or("no session is waiting for you")?;
        let (host, id) = (host.to_string(), s.id);
        self.hop(cid, host, id);
        Ok(())
    }

    /// A new session for prefix `c` or a new pane: the default command, in
    /// the focused session's directory, named for the program it runs. The
    /// directory's name is what the sessions there are named already, so
    /// a stand-in chat split from Claude's pane would read `claude-2`.
    pub(super) fn new_session_here(&mut self, cid: ClientId) -> Result<SessionId, String> {
        let mut spec = self.spec_here(cid)?;
        let command = self.default_command(&spec.env, &spec.cwd)?;
        spec.name = Some(self.sessions.unique_name(crate::config::program_name(&command)));
        self.create_session(spec)
    }

    /// A session with the default command, in the focused session's
    /// directory, sized for the client.
    pub(super) fn spec_here(&self, cid: ClientId) -> Result<NewSession, String> {
        let view = self.view(cid).ok_or("not attached")?;
        let (env, size) = (view.env.clone(), Some((view.cols, view.rows)));
        let cwd = self
            .sessions
            .get(view.focused())
            .map(|s| s.child.cwd().unwrap_or_else(|| s.cwd.clone()))
            .unwrap_or_else(|| PathBuf::from("/"));
        Ok(NewSession { name: None, cwd, command: Vec::new(), env, size, worktree: None })
    }

    /// Shows `sid` in a new pane after the focused one, in half of its
    /// place, which takes the focus: beside it (`vertical` false) or below
    /// it.
    pub(super) fn split(&mut self, cid: ClientId, sid: SessionId, vertical: bool) {
        let Some(view) = self.view_mut(cid) else { return };
        let before = view.focused();
        let (split, preset) = if vertical {
            (Split::TopBottom, Layout::EvenVertical)
        } else {
            (Split::LeftRight, Layout::EvenHorizontal)
        };
        view.split_focused(sid, split);
        view.zoomed = false;
        // Two panes are a preset's: Space goes on from it.
        if view.panes.len() == 2 {
            view.layout = preset;
        }
        view.last = Some(before);
        self.pane_changed(cid, sid);
    }

    /// Focuses pane `index` of a client's view.
    pub(super) fn focus_pane(&mut self, cid: ClientId, index: usize) {
        let Some(view) = self.view_mut(cid) else { return };
        if index >= view.panes.len() || index == view.focus {
            return;
        }
        view.last = Some(view.focused());
        view.focus = index;
        let sid = view.focused();
        self.pane_changed(cid, sid);
    }

    pub(super) fn next_pane(&mut self, cid: ClientId) {
        let Some(view) = self.view(cid) else { return };
        let next = (view.focus + 1) % view.panes.len();
        self.focus_pane(cid, next);
    }

    /// Prefix and an arrow: the pane that way.
    pub(super) fn move_focus(&mut self, cid: ClientId, towards: Direction) -> bool {
        let Some(view) = self.view(cid).filter(|v| !v.single()) else { return false };
        if let Some(next) = neighbour(&view.rects(), view.focus, towards) {
            self.focus_pane(cid, next);
        }
        true
    }

    /// Moves a border of the focused pane `cells` towards `towards`: the
    /// one on that side, else the one on the other side, as tmux's
    /// `resize-pane` does. False when the view has no border to move.
    pub(super) fn resize_pane(&mut self, cid: ClientId, towards: Direction, cells: u16) -> bool {
        let Some(view) = self.view_mut(cid).filter(|v| !v.single()) else { return false };
        let (rects, borders) = view.arranged();
        let Some(here) = rects.get(view.focus).copied() else { return false };
        let vertical = matches!(towards, Direction::Left | Direction::Right);
        // The pane's own borders: the line just past each of its edges,
        // alongside it.
        let beside = |b: &&Border, at: u16| {
            let (from, to) = if vertical { (here.y, here.y + here.h) } else { (here.x, here.x + here.w) };
            b.vertical == vertical && b.at == at && b.along.0 < to && from < b.along.1
        };
        let (before, after) =
            if vertical { (here.x.checked_sub(1), here.x + here.w) } else { (here.y.checked_sub(1), here.y + here.h) };
        let first = borders.iter().find(|b| before.is_some_and(|at| beside(b, at)));
        let last = borders.iter().find(|b| beside(b, after));
        let forward = matches!(towards, Direction::Right | Direction::Down);
        let Some(border) = (if forward { last.or(first) } else { first.or(last) }).cloned() else {
            return false;
        };
        let at = if forward { border.at.saturating_add(cells) } else { border.at.saturating_sub(cells) };
        view.move_border(&border, at);
        let sid = view.focused();
        self.pane_changed(cid, sid);
        true
    }

    /// Mouse reports while a border is pressed: the press takes the border
    /// under it, motion with the button held moves it there, and letting
    /// go ends the drag.
    pub(super) fn drag_border(&mut self, cid: ClientId, mouse: &[crate::keys::Mouse]) {
        let Some(view) = self.view_mut(cid) else { return };
        let mut moved = false;
        for m in mouse {
            let (col, row) = (m.col.saturating_sub(1), m.row.saturating_sub(1));
            if m.press && m.button == 0 {
                view.dragging = view.arranged().1.into_iter().find(|b| b.contains(col, row));
            } else if m.press && m.button & 32 != 0 {
                if let Some(border) = view.dragging.clone() {
                    view.move_border(&border, if border.vertical { col } else { row });
                    moved = true;
                }
            } else if !m.press {
                view.dragging = None;
            }
        }
        if moved {
            let sid = view.focused();
            self.pane_changed(cid, sid);
        }
    }

    pub(super) fn toggle_zoom(&mut self, cid: ClientId) {
        let Some(view) = self.view_mut(cid) else { return };
        if view.panes.len() < 2 {
            return self.show_message(cid, "one pane: nothing to zoom");
        }
        view.zoomed = !view.zoomed;
        let sid = view.focused();
        self.pane_changed(cid, sid);
    }

    pub(super) fn next_layout(&mut self, cid: ClientId) {
        let Some(view) = self.view_mut(cid) else { return };
        view.use_layout(view.layout.next());
        view.zoomed = false;
        let (sid, name) = (view.focused(), view.layout.name());
        self.pane_changed(cid, sid);
        self.show_message(cid, &format!("layout {name}"));
    }

    /// Back to one pane: the focused one. The others are put away, as
    /// tmux's `break-pane` leaves them in their window, and are the last
    /// thing shown (prefix `l` brings them back).
    pub(super) fn break_pane(&mut self, cid: ClientId) {
        let Some(view) = self.view_mut(cid) else { return };
        let (kept, focus) = (view.focused(), view.focus);
        let mut rest: Vec<SessionId> = view.panes.iter().map(|p| p.session).collect();
        rest.remove(focus);
        if let Some(next) = rest.get(focus.min(rest.len().saturating_sub(1))) {
            view.last = Some(*next);
            let mut tree = view.tree.fitted(view.cols, view.session_rows());
            tree.remove(focus);
            view.put_away(rest, tree);
        }
        view.show(vec![kept], Some(Tree::Pane), 0);
        view.zoomed = false;
        let sid = view.focused();
        self.pane_changed(cid, sid);
    }

    /// Swaps the focused pane with the one before (`forward` false) or
    /// after it; the focus goes with it.
    pub(super) fn swap_pane(&mut self, cid: ClientId, forward: bool) {
        let Some(view) = self.view_mut(cid) else { return };
        let n = view.panes.len();
        if n < 2 {
            return;
        }
        let other = if forward { (view.focus + 1) % n } else { (view.focus + n - 1) % n };
        view.panes.swap(view.focus, other);
        view.focus = other;
        let sid = view.focused();
        self.pane_changed(cid, sid);
    }

    /// After any change to a view's panes: the focused session is seen,
    /// sizes are refitted, and the view repainted.
    fn pane_changed(&mut self, cid: ClientId, sid: SessionId) {
        if let Some(view) = self.view_mut(cid) {
            view.mode = super::modes::Mode::Normal;
            view.repaint();
        }
        self.mark_seen(sid);
        self.refit = true;
        self.mark_all();
    }
}
