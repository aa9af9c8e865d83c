//! Where a view's panes go: the preset layouts tmux users know, as plain
//! geometry with no I/O. Each pane's rectangle holds a header row (the
//! session's index, name and state) above the session's screen; one-cell
//! borders separate panes.

/// A pane's place on the client's terminal, counted from 0; `h` includes
/// the header row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u16,
    pub y: u16,
    pub w: u16,
    pub h: u16,
}

impl Rect {
    pub fn contains(&self, col: u16, row: u16) -> bool {
        (self.x..self.x + self.w).contains(&col) && (self.y..self.y + self.h).contains(&row)
    }

    /// The size the pane's session gets: all but the header row.
    pub fn session_size(&self) -> (u16, u16) {
        (self.w.max(1), self.h.saturating_sub(1).max(1))
    }
}

/// The layouts `Space` cycles through, as in tmux.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Side by side.
    #[default]
    EvenHorizontal,
    /// One above the other.
    EvenVertical,
    /// The first pane on the left half, the others stacked on the right.
    MainVertical,
    /// A grid.
    Tiled,
}

impl Layout {
    pub fn next(self) -> Layout {
        match self {
            Layout::EvenHorizontal => Layout::EvenVertical,
            Layout::EvenVertical => Layout::MainVertical,
            Layout::MainVertical => Layout::Tiled,
            Layout::Tiled => Layout::EvenHorizontal,
        }
    }

    pub fn from_name(name: &str) -> Option<Layout> {
        [Layout::EvenHorizontal, Layout::EvenVertical, Layout::MainVertical, Layout::Tiled]
            .into_iter()
            .find(|l| l.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Layout::EvenHorizontal => "even-horizontal",
            Layout::EvenVertical => "even-vertical",
            Layout::MainVertical => "main-vertical",
            Layout::Tiled => "tiled",
        }
    }
}

/// Where the user moved borders from where a layout puts them: cells, by
/// border. A border is named by its group (a run of panes sharing one
/// axis: the columns of a row, the rows of a stack) and its place in it.
pub type Moved = std::collections::BTreeMap<(u16, u16), i32>;

/// A border between two panes: a line of cells, vertical (between
/// columns) or horizontal (between rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Border {
    pub key: (u16, u16),
    pub vertical: bool,
    /// Its column (vertical) or row (horizontal) ...
    pub at: u16,
    /// ... where the layout alone would put it ...
    pub even: u16,
    /// ... and the rows (vertical) or columns (horizontal) it runs along.
    pub along: (u16, u16),
}

impl Border {
    /// Whether the border's line passes through a cell.
    pub fn contains(&self, col: u16, row: u16) -> bool {
        let (at, across) = if self.vertical { (col, row) } else { (row, col) };
        at == self.at && (self.along.0..self.along.1).contains(&across)
    }
}

/// `total` cells shared by `n` spans with a one-cell border between each:
/// (start, length) of each, the remainder going to the last; each border
/// moved as `moved` says for `group`, as far as every span keeps a cell.
/// The borders are added to `borders`, running along `along`.
fn spans(
    (start, total, n): (u16, u16, u16),
    (group, moved, vertical, along): (u16, &Moved, bool, (u16, u16)),
    borders: &mut Vec<Border>,
) -> Vec<(u16, u16)> {
    let n = n.max(1);
    let usable = total.saturating_sub(n - 1);
    let each = (usable / n).max(1);
    let end = start.saturating_add(total);
    // The border cells, evenly first, then moved.
    let even: Vec<u16> = (1..n).map(|i| start.saturating_add(i * (each + 1) - 1)).collect();
    let mut at: Vec<i32> = even
        .iter()
        .enumerate()
        .map(|(i, e)| i32::from(*e) + moved.get(&(group, i as u16)).copied().unwrap_or(0))
        .collect();
    // Each span keeps at least a cell: borders stay in order, inside.
    for i in 0..at.len() {
        let low = if i == 0 { i32::from(start) + 1 } else { at[i - 1] + 2 };
        at[i] = at[i].max(low);
    }
    for i in (0..at.len()).rev() {
        let high = if i + 1 == at.len() { i32::from(end) - 2 } else { at[i + 1] - 2 };
        at[i] = at[i].min(high);
    }
    let at: Vec<u16> = at.into_iter().map(|a| u16::try_from(a.max(0)).unwrap_or(u16::MAX)).collect();
    let mut out = Vec::with_capacity(usize::from(n));
    let mut from = start;
    for (i, b) in at.iter().enumerate() {
        out.push((from, b.saturating_sub(from).max(1)));
        borders.push(Border { key: (group, i as u16), vertical, at: *b, even: even[i], along });
        from = b.saturating_add(1);
    }
    out.push((from, end.saturating_sub(from).max(1)));
    out
}

/// The rectangles of `n` panes in a `cols` × `rows` area.
pub fn arrange(layout: Layout, n: usize, cols: u16, rows: u16) -> Vec<Rect> {
    arrange_moved(layout, n, cols, rows, &Moved::new()).0
}

/// The rectangles of `n` panes, and the borders between them, with the
/// borders the user moved where the user put them.
pub fn arrange_moved(layout: Layout, n: usize, cols: u16, rows: u16, moved: &Moved) -> (Vec<Rect>, Vec<Border>) {
    let n16 = u16::try_from(n.max(1)).unwrap_or(u16::MAX);
    let mut borders = Vec::new();
    let row = |group: u16, y: u16, h: u16, count: u16, borders: &mut Vec<Border>| -> Vec<Rect> {
        spans((0, cols, count), (group, moved, true, (y, y + h)), borders)
            .into_iter()
            .map(|(x, w)| Rect { x, y, w, h })
            .collect()
    };
    let rects = match (layout, n) {
        (_, 0 | 1) => vec![Rect { x: 0, y: 0, w: cols, h: rows }],
        (Layout::EvenHorizontal, _) => row(0, 0, rows, n16, &mut borders),
        (Layout::EvenVertical, _) => spans((0, rows, n16), (0, moved, false, (0, cols)), &mut borders)
            .into_iter()
            .map(|(y, h)| Rect { x: 0, y, w: cols, h })
            .collect(),
        (Layout::MainVertical, _) => {
            // The main pane's border is one of a pair of spans across,
            // the stack beside it a run of rows.
            let across = spans((0, cols, 2), (0, moved, true, (0, rows)), &mut borders);
            let (main_w, x) = (across[0].1, across[1].0);
            let mut out = vec![Rect { x: 0, y: 0, w: main_w, h: rows }];
            let w = cols.saturating_sub(x).max(1);
            let stack = spans((0, rows, n16 - 1), (1, moved, false, (x, x + w)), &mut borders);
            out.extend(stack.into_iter().map(|(y, h)| Rect { x, y, w, h }));
            out
        }
        (Layout::Tiled, _) => {
            let across = (1..=n16).find(|c| c * c >= n16).unwrap_or(n16);
            let down = n16.div_ceil(across);
            let mut out = Vec::with_capacity(n);
            for (i, (y, h)) in
                spans((0, rows, down), (0, moved, false, (0, cols)), &mut borders).into_iter().enumerate()
            {
                let i = u16::try_from(i).unwrap_or(0);
                let count = across.min(n16 - i * across);
                out.extend(row(1 + i, y, h, count, &mut borders));
            }
            out
        }
    };
    (rects, borders)
}

/// A direction to move the focus in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Left,
    Right,
    Up,
    Down,
}

/// The pane nearest `from` in a direction, if there is one there: the
/// closest across, then one beside it (overlapping it), then the first.
pub fn neighbour(rects: &[Rect], from: usize, towards: Direction) -> Option<usize> {
    let here = rects.get(from)?;
    let overlaps = |a0: u16, a1: u16, b0: u16, b1: u16| a0 < b1 && b0 < a1;
    rects
        .iter()
        .enumerate()
        .filter(|(i, r)| {
            *i != from
                && match towards {
                    Direction::Left => r.x + r.w <= here.x,
                    Direction::Right => r.x >= here.x + here.w,
                    Direction::Up => r.y + r.h <= here.y,
                    Direction::Down => r.y >= here.y + here.h,
                }
        })
        .min_by_key(|(i, r)| {
            let (gap, beside) = match towards {
                Direction::Left => (here.x - (r.x + r.w), overlaps(r.y, r.y + r.h, here.y, here.y + here.h)),
                Direction::Right => (r.x - (here.x + here.w), overlaps(r.y, r.y + r.h, here.y, here.y + here.h)),
                Direction::Up => (here.y - (r.y + r.h), overlaps(r.x, r.x + r.w, here.x, here.x + here.w)),
                Direction::Down => (r.y - (here.y + here.h), overlaps(r.x, r.x + r.w, here.x, here.x + here.w)),
            };
            (gap, !beside, *i)
        })
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No two panes overlap, none leaves the area, and each has room for its
    /// header and a row.
    fn check(rects: &[Rect], cols: u16, rows: u16) {
        for (i, a) in rects.iter().enumerate() {
            assert!(a.x + a.w <= cols && a.y + a.h <= rows, "{a:?} leaves {cols}x{rows}");
            assert!(a.w >= 1 && a.h >= 2, "{a:?}");
            for b in &rects[i + 1..] {
                let apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
                assert!(apart, "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn every_layout_fills_the_area_without_overlap() {
        for layout in [Layout::EvenHorizontal, Layout::EvenVertical, Layout::MainVertical, Layout::Tiled] {
            for n in 1..=6 {
                let rects = arrange(layout, n, 120, 40);
                assert_eq!(rects.len(), n, "{layout:?}");
                check(&rects, 120, 40);
            }
        }
        assert_eq!(
            arrange(Layout::EvenHorizontal, 2, 81, 24),
            [Rect { x: 0, y: 0, w: 40, h: 24 }, Rect { x: 41, y: 0, w: 40, h: 24 }]
        );
        assert_eq!(arrange(Layout::Tiled, 4, 81, 25)[3], Rect { x: 41, y: 13, w: 40, h: 12 });
        assert_eq!(Rect { x: 41, y: 13, w: 40, h: 12 }.session_size(), (40, 11));
    }

    #[test]
    fn focus_moves_to_the_nearest_pane_in_a_direction() {
        let rects = arrange(Layout::MainVertical, 3, 80, 24);
        assert_eq!(neighbour(&rects, 0, Direction::Right), Some(1));
        assert_eq!(neighbour(&rects, 2, Direction::Left), Some(0));
        assert_eq!(neighbour(&rects, 1, Direction::Down), Some(2));
        assert_eq!(neighbour(&rects, 2, Direction::Up), Some(1));
        assert_eq!(neighbour(&rects, 0, Direction::Left), None);
    }

    #[test]
    fn layouts_cycle_as_in_tmux() {
        let mut l = Layout::EvenHorizontal;
        let mut names = Vec::new();
        for _ in 0..4 {
            names.push(l.name());
            l = l.next();
        }
        assert_eq!(names, ["even-horizontal", "even-vertical", "main-vertical", "tiled"]);
        assert_eq!(l, Layout::EvenHorizontal);
    }
}
