//! Where a view's panes go, as plain geometry with no I/O: a tree, as in
//! tmux, whose leaves are the panes in order and whose nodes split their
//! rectangle left/right or top/bottom among their children; and the preset
//! layouts tmux users know, each of which builds such a tree. Each pane's
//! rectangle holds a header row (the session's index, name and state) above
//! the session's screen; one-cell borders separate panes.

use std::fmt;

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

/// Which way a node of the tree shares its rectangle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Side by side, vertical borders between (prefix `%`, tmux's
    /// `split-window -h`).
    LeftRight,
    /// One above the other (prefix `"`, `split-window -v`).
    TopBottom,
}

impl Split {
    /// A `w` × `h` rectangle's length this way.
    fn along(self, (w, h): (u16, u16)) -> u16 {
        match self {
            Split::LeftRight => w,
            Split::TopBottom => h,
        }
    }

    /// The smallest a pane may be this way: a column, or its header and a
    /// row.
    fn pane_min(self) -> u16 {
        match self {
            Split::LeftRight => 1,
            Split::TopBottom => 2,
        }
    }
}

/// How a view's rectangle is shared among its panes: the panes are the
/// leaves, in order (the view's `panes`), and each node splits its
/// rectangle one way among two or more children, each with its length that
/// way (borders not counted). Lengths that do not fill a rectangle are
/// scaled to it when laid out, so a tree keeps its proportions as the
/// terminal's size changes (and gets them back when it changes back); a
/// split or a border move first fits the tree to the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tree {
    /// One pane: the next of the view's panes in order.
    Pane,
    /// Two or more children, each with its length `Split`'s way.
    Node(Split, Vec<(u16, Tree)>),
}

/// A border between two children of a node: a line of cells, vertical
/// (between columns) or horizontal (between rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Border {
    /// The node it belongs to, as the child taken at each level from the
    /// root ...
    pub node: Vec<usize>,
    /// ... and the child there it follows.
    pub index: usize,
    pub vertical: bool,
    /// Its column (vertical) or row (horizontal) ...
    pub at: u16,
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

/// How deep a tree read from the state directory may go: deeper is taken
/// for a corrupt file.
const MAX_DEPTH: usize = 64;

/// `total` cells shared by `n` spans with a one-cell border between each:
/// the length of each, the remainder going to the last.
fn even(total: u16, n: u16) -> Vec<u16> {
    let n = n.max(1);
    let each = (total.saturating_sub(n - 1) / n).max(1);
    let mut lengths = vec![each; usize::from(n)];
    let taken = u32::from(n - 1) * (u32::from(each) + 1);
    if let Some(last) = lengths.last_mut() {
        *last = u16::try_from(u32::from(total).saturating_sub(taken)).unwrap_or(u16::MAX).max(1);
    }
    lengths
}

/// `lengths` scaled to add up to `total`, in proportion, each kept at its
/// `mins` as far as the others can give (and at a cell after that). Lengths
/// that fit already are kept as they are.
fn scale(lengths: &[u16], mins: &[u16], total: u16) -> Vec<u16> {
    let sum: u64 = lengths.iter().map(|l| u64::from(*l)).sum();
    if sum == u64::from(total) && lengths.iter().zip(mins).all(|(l, m)| l >= m) {
        return lengths.to_vec();
    }
    // Shares rounded down; the cells rounding leaves go to the largest
    // remainders.
    let weights: Vec<u64> = lengths.iter().map(|l| if sum == 0 { 1 } else { u64::from(*l) }).collect();
    let weight: u64 = weights.iter().sum::<u64>().max(1);
    let exact: Vec<u64> = weights.iter().map(|w| w * u64::from(total)).collect();
    let mut out: Vec<u64> = exact.iter().map(|e| e / weight).collect();
    let mut by_remainder: Vec<usize> = (0..out.len()).collect();
    by_remainder.sort_by_key(|i| std::cmp::Reverse(exact[*i] % weight));
    let left = u64::from(total).saturating_sub(out.iter().sum());
    for i in by_remainder.into_iter().take(usize::try_from(left).unwrap_or(usize::MAX)) {
        out[i] += 1;
    }
    for (o, m) in out.iter_mut().zip(mins) {
        *o = (*o).max(u64::from(*m));
    }
    // Raised to their minimums: the others give it back, those with the
    // most to spare first, then those above a cell.
    let mut over = out.iter().sum::<u64>().saturating_sub(u64::from(total));
    while over > 0 {
        let spare = |floor: &dyn Fn(usize) -> u64| {
            (0..out.len()).filter(|i| out[*i] > floor(*i)).max_by_key(|i| (out[*i] - floor(*i), *i))
        };
        let Some(i) = spare(&|i| u64::from(mins[i])).or_else(|| spare(&|_| 1)) else { break };
        out[i] -= 1;
        over -= 1;
    }
    out.into_iter().map(|o| u16::try_from(o).unwrap_or(u16::MAX)).collect()
}

impl Tree {
    /// A preset's tree for `n` panes in a `cols` × `rows` area.
    pub fn preset(layout: Layout, n: usize, cols: u16, rows: u16) -> Tree {
        let n = u16::try_from(n.max(1)).unwrap_or(u16::MAX);
        match layout {
            _ if n == 1 => Tree::Pane,
            Layout::EvenHorizontal => Tree::line(Split::LeftRight, cols, n),
            Layout::EvenVertical => Tree::line(Split::TopBottom, rows, n),
            Layout::MainVertical => {
                let across = even(cols, 2);
                Tree::node(
                    Split::LeftRight,
                    vec![(across[0], Tree::Pane), (across[1], Tree::line(Split::TopBottom, rows, n - 1))],
                )
            }
            Layout::Tiled => {
                let across = (1..=n).find(|c| c * c >= n).unwrap_or(n);
                let down = n.div_ceil(across);
                let rows_of = (0..down).map(|i| Tree::line(Split::LeftRight, cols, across.min(n - i * across)));
                Tree::node(Split::TopBottom, even(rows, down).into_iter().zip(rows_of).collect())
            }
        }
    }

    /// `n` panes sharing `total` cells one way evenly.
    fn line(split: Split, total: u16, n: u16) -> Tree {
        Tree::node(split, even(total, n).into_iter().map(|l| (l, Tree::Pane)).collect())
    }

    /// A node, as it must be: one child is that child, and a child split
    /// the same way gives its children to this node.
    fn node(split: Split, children: Vec<(u16, Tree)>) -> Tree {
        let mut out = Vec::with_capacity(children.len());
        for (len, child) in children {
            match child {
                Tree::Node(s, inner) if s == split => out.extend(inner),
                child => out.push((len, child)),
            }
        }
        match out.len() {
            0 => Tree::Pane,
            1 => out.pop().map_or(Tree::Pane, |(_, child)| child),
            _ => Tree::Node(split, out),
        }
    }

    /// How many panes.
    pub fn count(&self) -> usize {
        match self {
            Tree::Pane => 1,
            Tree::Node(_, children) => children.iter().map(|(_, c)| c.count()).sum(),
        }
    }

    /// The smallest this can be `split`'s way, every pane keeping its
    /// minimum.
    fn min_len(&self, split: Split) -> u16 {
        match self {
            Tree::Pane => split.pane_min(),
            Tree::Node(s, children) if *s == split => {
                let borders = u16::try_from(children.len().saturating_sub(1)).unwrap_or(u16::MAX);
                children.iter().fold(borders, |sum, (_, c)| sum.saturating_add(c.min_len(split)))
            }
            Tree::Node(_, children) => children.iter().map(|(_, c)| c.min_len(split)).max().unwrap_or(1),
        }
    }

    /// The tree with every node's lengths scaled to fill a `w` × `h`
    /// rectangle.
    pub fn fitted(&self, w: u16, h: u16) -> Tree {
        let Tree::Node(split, children) = self else { return Tree::Pane };
        let borders = u16::try_from(children.len().saturating_sub(1)).unwrap_or(u16::MAX);
        let total = split.along((w, h)).saturating_sub(borders);
        let lengths: Vec<u16> = children.iter().map(|(l, _)| *l).collect();
        let mins: Vec<u16> = children.iter().map(|(_, c)| c.min_len(*split)).collect();
        let fitted = scale(&lengths, &mins, total).into_iter().zip(children).map(|(len, (_, child))| {
            let (cw, ch) = match split {
                Split::LeftRight => (len, h),
                Split::TopBottom => (w, len),
            };
            (len, child.fitted(cw, ch))
        });
        Tree::Node(*split, fitted.collect())
    }

    /// The panes' rectangles in a `cols` × `rows` area, in order, and the
    /// borders between them.
    pub fn arrange(&self, cols: u16, rows: u16) -> (Vec<Rect>, Vec<Border>) {
        let (mut rects, mut borders) = (Vec::new(), Vec::new());
        let area = Rect { x: 0, y: 0, w: cols, h: rows };
        self.fitted(cols, rows).place(area, &mut Vec::new(), &mut rects, &mut borders);
        (rects, borders)
    }

    /// Lays a fitted tree out in `area`; `node` is where it is in the
    /// whole tree.
    fn place(&self, area: Rect, node: &mut Vec<usize>, rects: &mut Vec<Rect>, borders: &mut Vec<Border>) {
        let Tree::Node(split, children) = self else { return rects.push(area) };
        let mut at = match split {
            Split::LeftRight => area.x,
            Split::TopBottom => area.y,
        };
        for (i, (len, child)) in children.iter().enumerate() {
            let (part, along) = match split {
                Split::LeftRight => (Rect { x: at, w: *len, ..area }, (area.y, area.y + area.h)),
                Split::TopBottom => (Rect { y: at, h: *len, ..area }, (area.x, area.x + area.w)),
            };
            node.push(i);
            child.place(part, node, rects, borders);
            node.pop();
            at = at.saturating_add(*len);
            if i + 1 < children.len() {
                let vertical = *split == Split::LeftRight;
                borders.push(Border { node: node.clone(), index: i, vertical, at, along });
                at = at.saturating_add(1);
            }
        }
    }

    /// Where pane `index` is: the child taken at each level from the root.
    fn path_to(&self, index: usize) -> Option<Vec<usize>> {
        let Tree::Node(_, children) = self else { return (index == 0).then(Vec::new) };
        let mut first = 0;
        for (i, (_, child)) in children.iter().enumerate() {
            let count = child.count();
            if index < first + count {
                let mut path = child.path_to(index - first)?;
                path.insert(0, i);
                return Some(path);
            }
            first += count;
        }
        None
    }

    fn at_mut(&mut self, path: &[usize]) -> Option<&mut Tree> {
        let Some((first, rest)) = path.split_first() else { return Some(self) };
        match self {
            Tree::Node(_, children) => children.get_mut(*first)?.1.at_mut(rest),
            Tree::Pane => None,
        }
    }

    /// Splits pane `index` of a tree laid out in `cols` × `rows` in two, as
    /// tmux's `split-window` does: the new pane comes after it and takes
    /// half its length, rounded down, less the border. Beside panes split
    /// the same way, the new one is their sibling.
    pub fn split(&mut self, index: usize, split: Split, cols: u16, rows: u16) {
        let (rects, _) = self.arrange(cols, rows);
        let (Some(rect), Some(path)) = (rects.get(index), self.path_to(index)) else { return };
        let len = split.along((rect.w, rect.h));
        let new = len.saturating_sub(1) / 2;
        let old = len.saturating_sub(1) - new;
        *self = self.fitted(cols, rows);
        match path.split_last() {
            Some((i, parent)) => match self.at_mut(parent) {
                Some(Tree::Node(s, children)) if *s == split => {
                    if let Some((l, _)) = children.get_mut(*i) {
                        *l = old;
                        children.insert(i + 1, (new, Tree::Pane));
                    }
                }
                Some(Tree::Node(_, children)) => {
                    if let Some((_, pane)) = children.get_mut(*i) {
                        *pane = Tree::line_of(split, old, new);
                    }
                }
                _ => {}
            },
            None => *self = Tree::line_of(split, old, new),
        }
        *self = self.fitted(cols, rows);
    }

    /// Two panes, `a` and `b` long.
    fn line_of(split: Split, a: u16, b: u16) -> Tree {
        Tree::Node(split, vec![(a, Tree::Pane), (b, Tree::Pane)])
    }

    /// Takes pane `index` out, as tmux closes a pane: the one before it
    /// takes its room (the one after it, if it was first), and a node left
    /// with one child is that child. The last pane stays. Lengths are the
    /// tree's own: fit it first to close a pane of what a view shows.
    pub fn remove(&mut self, index: usize) {
        let Some(path) = self.path_to(index) else { return };
        let Some((i, parent)) = path.split_last() else { return };
        if let Some(Tree::Node(_, children)) = self.at_mut(parent) {
            let (len, _) = children.remove(*i);
            if let Some((l, _)) = children.get_mut(i.saturating_sub(1)) {
                *l = l.saturating_add(len).saturating_add(1);
            }
        }
        *self = std::mem::replace(self, Tree::Pane).normalized();
    }

    /// Every node as [`Tree::node`] makes them.
    fn normalized(self) -> Tree {
        match self {
            Tree::Pane => Tree::Pane,
            Tree::Node(split, children) => {
                Tree::node(split, children.into_iter().map(|(l, c)| (l, c.normalized())).collect())
            }
        }
    }

    /// Moves a border (found as [`Tree::arrange`] gave it) to `to`, its
    /// column or row: the children on either side of it change lengths, as
    /// far as each keeps room for its panes.
    pub fn move_border(&mut self, border: &Border, to: u16, cols: u16, rows: u16) {
        let (_, borders) = self.arrange(cols, rows);
        let Some(now) = borders.iter().find(|b| b.node == border.node && b.index == border.index) else { return };
        *self = self.fitted(cols, rows);
        let Some(Tree::Node(split, children)) = self.at_mut(&now.node) else { return };
        let Some([(a, before), (b, after)]) = children.get_mut(now.index..now.index + 2) else { return };
        let pair = i32::from(*a) + i32::from(*b);
        let (low, high) = (i32::from(before.min_len(*split)), pair - i32::from(after.min_len(*split)));
        if low > high {
            return;
        }
        let wanted = (i32::from(*a) + i32::from(to) - i32::from(now.at)).clamp(low, high);
        *a = u16::try_from(wanted).unwrap_or(*a);
        *b = u16::try_from(pair - wanted).unwrap_or(*b);
        *self = self.fitted(cols, rows);
    }

    /// A tree as `to_string` wrote it; `None` for anything else.
    pub fn parse(text: &str) -> Option<Tree> {
        if text == "*" {
            return Some(Tree::Pane);
        }
        let mut rest = text.as_bytes();
        let tree = Tree::parse_node(&mut rest, 0)?;
        rest.is_empty().then(|| tree.normalized())
    }

    fn parse_node(rest: &mut &[u8], depth: usize) -> Option<Tree> {
        let (split, close) = match rest.first()? {
            b'{' => (Split::LeftRight, b'}'),
            b'[' => (Split::TopBottom, b']'),
            _ => return None,
        };
        if depth > MAX_DEPTH {
            return None;
        }
        *rest = &rest[1..];
        let mut children = Vec::new();
        loop {
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let len: u16 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
            *rest = &rest[digits..];
            let child = match rest.first()? {
                b'{' | b'[' => Tree::parse_node(rest, depth + 1)?,
                _ => Tree::Pane,
            };
            children.push((len, child));
            let next = *rest.first()?;
            *rest = &rest[1..];
            match next {
                b',' => continue,
                c if c == close => break,
                _ => return None,
            }
        }
        (children.len() > 1).then_some(Tree::Node(split, children))
    }
}

/// A tree as one line, as tmux writes layouts: a lone pane is `*`; a node
/// is its children's lengths in braces (side by side) or brackets
/// (stacked), each child node after its length: `{50,50[15,14]}`.
impl fmt::Display for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Tree::Node(split, children) = self else { return f.write_str("*") };
        let (open, close) = match split {
            Split::LeftRight => ('{', '}'),
            Split::TopBottom => ('[', ']'),
        };
        write!(f, "{open}")?;
        for (i, (len, child)) in children.iter().enumerate() {
            let comma = if i > 0 { "," } else { "" };
            write!(f, "{comma}{len}")?;
            if let Tree::Node(..) = child {
                write!(f, "{child}")?;
            }
        }
        write!(f, "{close}")
    }
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

    /// The rectangles of `n` panes in a preset layout.
    fn arrange(layout: Layout, n: usize, cols: u16, rows: u16) -> Vec<Rect> {
        let (rects, borders) = Tree::preset(layout, n, cols, rows).arrange(cols, rows);
        check(&rects, &borders, cols, rows);
        rects
    }

    /// Every cell of the area is in one pane or on one border, and each
    /// pane has room for its header and a row.
    fn check(rects: &[Rect], borders: &[Border], cols: u16, rows: u16) {
        let mut covered = vec![0u8; usize::from(cols) * usize::from(rows)];
        let mut cover = |col: u16, row: u16| {
            assert!(col < cols && row < rows, "({col}, {row}) is outside {cols}x{rows}: {rects:?} {borders:?}");
            covered[usize::from(row) * usize::from(cols) + usize::from(col)] += 1;
        };
        for r in rects {
            assert!(r.w >= 1 && r.h >= 2, "{r:?}");
            for (col, row) in (r.x..r.x + r.w).flat_map(|c| (r.y..r.y + r.h).map(move |r| (c, r))) {
                cover(col, row);
            }
        }
        for b in borders {
            for across in b.along.0..b.along.1 {
                if b.vertical {
                    cover(b.at, across);
                } else {
                    cover(across, b.at);
                }
            }
        }
        if let Some(i) = covered.iter().position(|c| *c != 1) {
            let (col, row) = (i % usize::from(cols), i / usize::from(cols));
            panic!("({col}, {row}) is in {} panes or borders: {rects:?} {borders:?}", covered[i]);
        }
    }

    /// `splits` done one after the other, each on the pane just made (as
    /// the focus follows a split), from one pane filling `cols` × `rows`.
    fn split(splits: &[Split], cols: u16, rows: u16) -> Tree {
        let mut tree = Tree::Pane;
        for (i, s) in splits.iter().enumerate() {
            tree.split(i, *s, cols, rows);
        }
        tree
    }

    fn rects(tree: &Tree, cols: u16, rows: u16) -> Vec<(u16, u16, u16, u16)> {
        let (rects, borders) = tree.arrange(cols, rows);
        check(&rects, &borders, cols, rows);
        rects.iter().map(|r| (r.x, r.y, r.w, r.h)).collect()
    }

    #[test]
    fn every_layout_fills_the_area_without_overlap() {
        for layout in [Layout::EvenHorizontal, Layout::EvenVertical, Layout::MainVertical, Layout::Tiled] {
            for n in 1..=6 {
                let rects = arrange(layout, n, 120, 40);
                assert_eq!(rects.len(), n, "{layout:?}");
            }
        }
        assert_eq!(
            arrange(Layout::EvenHorizontal, 2, 81, 24),
            [Rect { x: 0, y: 0, w: 40, h: 24 }, Rect { x: 41, y: 0, w: 40, h: 24 }]
        );
        assert_eq!(arrange(Layout::Tiled, 4, 81, 25)[3], Rect { x: 41, y: 13, w: 40, h: 12 });
        assert_eq!(Rect { x: 41, y: 13, w: 40, h: 12 }.session_size(), (40, 11));
        assert_eq!(arrange(Layout::MainVertical, 3, 81, 25)[2], Rect { x: 41, y: 13, w: 40, h: 12 });
        assert_eq!(arrange(Layout::Tiled, 5, 100, 31)[4], Rect { x: 50, y: 16, w: 50, h: 15 });
    }

    /// What tmux 3.3a's list-panes says after the same splits in a window
    /// of the same size.
    #[test]
    fn a_split_halves_the_focused_pane_as_tmux_does() {
        use Split::*;
        assert_eq!(rects(&split(&[LeftRight], 101, 30), 101, 30), [(0, 0, 50, 30), (51, 0, 50, 30)]);
        assert_eq!(
            rects(&split(&[LeftRight, TopBottom], 101, 30), 101, 30),
            [(0, 0, 50, 30), (51, 0, 50, 15), (51, 16, 50, 14)]
        );
        // The same way as its node: a sibling, and only the split pane
        // gives up room.
        let tree = split(&[LeftRight, LeftRight, TopBottom], 100, 30);
        assert_eq!(rects(&tree, 100, 30), [(0, 0, 50, 30), (51, 0, 24, 30), (76, 0, 24, 15), (76, 16, 24, 14)]);
        assert_eq!(tree.to_string(), "{50,24,24[15,14]}");
        // A split of the first pane, beside a node split the other way.
        let mut tree = split(&[LeftRight, TopBottom], 101, 30);
        tree.split(0, TopBottom, 101, 30);
        assert_eq!(rects(&tree, 101, 30)[..2], [(0, 0, 50, 15), (0, 16, 50, 14)]);
        assert_eq!(tree.count(), 4);
    }

    #[test]
    fn a_closed_pane_gives_its_room_to_its_neighbour_and_a_node_of_one_is_its_child() {
        use Split::*;
        let two = split(&[LeftRight], 101, 30);
        let mut tree = split(&[LeftRight, TopBottom], 101, 30);
        tree.remove(2);
        assert_eq!(tree, two, "the pane above takes the room below");
        let mut tree = split(&[LeftRight, TopBottom], 101, 30);
        tree.remove(1);
        assert_eq!(tree, two, "the first of a node: the one after it takes its room");
        // The first pane of three side by side: the second takes its room.
        let mut tree = split(&[LeftRight, LeftRight], 100, 30);
        tree.remove(0);
        assert_eq!(rects(&tree, 100, 30), [(0, 0, 75, 30), (76, 0, 24, 30)]);
        // A node left with one child that is split as its parent is: its
        // children join the parent.
        let mut tree = Tree::parse("{40,59[20{30,29},9]}").expect("a tree");
        tree.remove(3);
        assert_eq!(tree.to_string(), "{40,30,29}");
        let mut alone = Tree::Pane;
        alone.remove(0);
        assert_eq!(alone, Tree::Pane, "the last pane stays");
    }

    #[test]
    fn a_tree_scales_with_the_terminal_and_keeps_panes_their_room() {
        let mut tree = split(&[Split::LeftRight, Split::TopBottom], 101, 30);
        tree.move_border(&tree.arrange(101, 30).1[0].clone(), 30, 101, 30);
        assert_eq!(rects(&tree, 101, 30), [(0, 0, 30, 30), (31, 0, 70, 15), (31, 16, 70, 14)]);
        assert_eq!(rects(&tree, 201, 60), [(0, 0, 60, 60), (61, 0, 140, 31), (61, 32, 140, 28)], "in proportion");
        // Too small for the proportions: each pane keeps a column and its
        // header and a row.
        assert_eq!(rects(&tree, 4, 6), [(0, 0, 1, 6), (2, 0, 2, 3), (2, 4, 2, 2)]);
        // A tree fitted to the area is as it was laid out.
        assert_eq!(rects(&tree.fitted(201, 60), 201, 60), rects(&tree, 201, 60));
    }

    #[test]
    fn a_border_moves_at_the_node_that_owns_it() {
        let mut tree = split(&[Split::LeftRight, Split::TopBottom], 101, 30);
        let borders = tree.arrange(101, 30).1;
        let stack = borders.iter().find(|b| !b.vertical).expect("the border between the right two").clone();
        assert_eq!((stack.node.as_slice(), stack.index, stack.at, stack.along), (&[1][..], 0, 15, (51, 101)));
        tree.move_border(&stack, 20, 101, 30);
        assert_eq!(
            rects(&tree, 101, 30),
            [(0, 0, 50, 30), (51, 0, 50, 20), (51, 21, 50, 9)],
            "the left pane as it was"
        );
        // Its own position is looked up again: a border found before it
        // moved still moves to where it is asked to.
        tree.move_border(&stack, 10, 101, 30);
        assert_eq!(rects(&tree, 101, 30)[1], (51, 0, 50, 10));
        let across = tree.arrange(101, 30).1.into_iter().find(|b| b.vertical).expect("the border down the middle");
        tree.move_border(&across, 70, 101, 30);
        assert_eq!(rects(&tree, 101, 30), [(0, 0, 70, 30), (71, 0, 30, 10), (71, 11, 30, 19)]);
        // As far as each side keeps its room.
        tree.move_border(&stack, 0, 101, 30);
        assert_eq!(rects(&tree, 101, 30)[1], (71, 0, 30, 2));
        tree.move_border(&across, 200, 101, 30);
        assert_eq!(rects(&tree, 101, 30)[0], (0, 0, 99, 30));
    }

    #[test]
    fn a_tree_is_written_and_read_back_and_anything_else_is_not_a_tree() {
        for tree in [
            Tree::Pane,
            split(&[Split::LeftRight, Split::TopBottom, Split::LeftRight], 101, 30),
            Tree::preset(Layout::Tiled, 7, 120, 40),
        ] {
            assert_eq!(Tree::parse(&tree.to_string()), Some(tree));
        }
        let deep = format!("{}{}", "{1,1".repeat(200), "}".repeat(200));
        for text in ["", "{", "{50}", "{50,x}", "{50,50", "{50,50]", "{50,50}x", "{70000,1}", "main-vertical", &deep] {
            assert_eq!(Tree::parse(text), None, "{text:?}");
        }
    }

    /// What a user can do to a view's tree.
    #[derive(Debug, Clone)]
    enum Change {
        Split(usize, bool),
        Close(usize),
        Move(usize, u16),
        Resize(u16, u16),
    }

    fn change() -> impl proptest::strategy::Strategy<Value = Change> {
        use proptest::prelude::*;
        prop_oneof![
            (0..16usize, any::<bool>()).prop_map(|(i, down)| Change::Split(i, down)),
            (0..16usize).prop_map(Change::Close),
            (0..16usize, 0..130u16).prop_map(|(b, to)| Change::Move(b, to)),
            (1..130u16, 2..50u16).prop_map(|(cols, rows)| Change::Resize(cols, rows)),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 300, failure_persistence: None, ..Default::default() })]

        /// Whatever is split, closed, moved or resized, the panes fill the
        /// area whenever it has room for them, and the tree is written and
        /// read back as it is.
        #[test]
        fn any_splits_closes_moves_and_sizes_fill_the_area(changes in proptest::collection::vec(change(), 0..30)) {
            let (mut tree, mut cols, mut rows) = (Tree::Pane, 120u16, 40u16);
            for c in changes {
                let n = tree.count();
                match c {
                    Change::Split(i, down) if n < 12 => {
                        tree.split(i % n, if down { Split::TopBottom } else { Split::LeftRight }, cols, rows)
                    }
                    Change::Split(..) => {}
                    Change::Close(i) => {
                        tree = tree.fitted(cols, rows);
                        tree.remove(i % n);
                    }
                    Change::Move(b, to) => {
                        let borders = tree.arrange(cols, rows).1;
                        if let Some(border) = borders.get(b % borders.len().max(1)) {
                            tree.move_border(border, to, cols, rows);
                        }
                    }
                    Change::Resize(c, r) => (cols, rows) = (c, r),
                }
                let (rects, borders) = tree.arrange(cols, rows);
                proptest::prop_assert_eq!(rects.len(), tree.count());
                if tree.min_len(Split::LeftRight) <= cols && tree.min_len(Split::TopBottom) <= rows {
                    check(&rects, &borders, cols, rows);
                }
                proptest::prop_assert_eq!(Tree::parse(&tree.to_string()), Some(tree.clone()));
            }
        }
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
