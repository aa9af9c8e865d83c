//! Where rows land when tmux's grid lays them out again at a new width:
//! the arithmetic of a reflow on cell widths alone, with no text.
//!
//! qmux writes the rows again through vt100, whose autowrap breaks them
//! where tmux's reflow does. What the text cannot say is worked out here,
//! the way tmux's `grid_reflow` works it out: where the cursor goes (the
//! same cell of the same line, or the end of its line when it was past the
//! text), and how many history rows a taller screen may pull back, which
//! tmux adjusts as lines join and split (by its rules, quirks included, so
//! that a screen grown afterwards matches).

/// One row as the grid keeps it: the width of each cell it uses (a wide
/// character's second cell is 0, as tmux's padding cell), and whether its
/// line goes on in the next row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Cells {
    pub widths: Vec<u8>,
    pub wrapped: bool,
}

impl Cells {
    /// The cells of a row of formatted text (see
    /// [`crate::history::screen_row_formatted`]).
    pub fn of(formatted: &str, wrapped: bool) -> Cells {
        let mut widths = Vec::new();
        for c in crate::history::plain(formatted).chars() {
            let width = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            if width > 0 {
                widths.push(width as u8);
                widths.extend(std::iter::repeat_n(0, width - 1));
            }
        }
        Cells { widths, wrapped }
    }

    fn width(&self) -> usize {
        self.widths.iter().map(|w| usize::from(*w)).sum()
    }
}

/// A place in a list of rows: `row` an index, `col` a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct At {
    pub row: usize,
    pub col: usize,
}

/// What a reflow made of the old rows.
#[derive(Debug)]
pub(super) struct Laid {
    /// The new rows.
    pub rows: Vec<Cells>,
    /// Where the old rows' cell `cursor` went.
    pub cursor: At,
    /// Old rows that wrapped and now end their line: tmux ends a line
    /// where a join stops at a row that did not fit, when the row after
    /// it ended its own line.
    pub ended: Vec<usize>,
}

/// The rows laid out at width `cols`, as tmux lays them out. `scrolled`
/// counts the history rows a taller screen may pull back; `first` is the
/// index the first of `rows` has in the whole grid (rows older than those
/// given are not laid out again), which tmux's adjustment of that count
/// compares with it.
pub(super) fn reflow(rows: Vec<Cells>, cols: usize, cursor: At, first: usize, scrolled: &mut usize) -> Laid {
    let (line, offset) = wrap_position(&rows, cursor);
    let mut grid =
        Reflow { rows, dead: Vec::new(), out: Vec::new(), ended: Vec::new(), cols, first, scrolled: *scrolled };
    grid.dead = vec![false; grid.rows.len()];
    for y in 0..grid.rows.len() {
        if grid.dead[y] {
            continue;
        }
        let width = grid.rows[y].width();
        if width > cols {
            grid.split(y);
        } else if width < cols && grid.rows[y].wrapped {
            grid.join(y, width, false);
        } else {
            grid.take(y);
        }
    }
    *scrolled = grid.scrolled;
    let cursor = unwrap_position(&grid.out, line, offset);
    Laid { rows: grid.out, cursor, ended: grid.ended }
}

/// The state of one reflow: the old rows (cells consumed by joins are
/// removed from their fronts), which of them are used up, and the new rows.
struct Reflow {
    rows: Vec<Cells>,
    dead: Vec<bool>,
    out: Vec<Cells>,
    ended: Vec<usize>,
    cols: usize,
    first: usize,
    scrolled: usize,
}

impl Reflow {
    /// Row `y` goes across as it is.
    fn take(&mut self, y: usize) {
        self.out.push(std::mem::take(&mut self.rows[y]));
        self.dead[y] = true;
    }

    /// Row `y` is too wide: it becomes as many rows as it fills, and the
    /// last of them takes in what follows when the row wrapped.
    fn split(&mut self, y: usize) {
        let row = std::mem::take(&mut self.rows[y]);
        self.dead[y] = true;
        let mut current = Cells { widths: Vec::new(), wrapped: false };
        let mut width = 0;
        let mut made = 1;
        for w in row.widths {
            let w = usize::from(w);
            if width + w > self.cols {
                current.wrapped = true;
                self.out.push(std::mem::take(&mut current));
                made += 1;
                width = 0;
            }
            width += w;
            current.widths.push(w as u8);
        }
        current.wrapped = row.wrapped;
        self.out.push(current);
        if self.first + y <= self.scrolled {
            self.scrolled += made - 1;
        }
        if width < self.cols && row.wrapped {
            self.join(y, width, true);
        }
    }

    /// Row `y` (or, `already` there, the last new row) is narrower than
    /// the width and its line goes on: cells of the rows after it move up
    /// into it until it is full or the line ends.
    fn join(&mut self, y: usize, mut width: usize, already: bool) {
        if !already {
            self.take(y);
        }
        let to = self.out.len() - 1;
        let mut lines = 0;
        let mut wrapped = true;
        let mut consumed = 0;
        let mut from = None;
        loop {
            let line = y + 1 + lines;
            if line >= self.rows.len() {
                break;
            }
            if !self.rows[line].wrapped {
                wrapped = false;
            }
            if self.rows[line].widths.is_empty() {
                if !wrapped {
                    break;
                }
                lines += 1;
                continue;
            }
            let widths = &self.rows[line].widths;
            let mut n = 0;
            while n < widths.len() && width + usize::from(widths[n]) <= self.cols {
                width += usize::from(widths[n]);
                n += 1;
            }
            if n == 0 {
                break;
            }
            consumed = n;
            self.out[to].widths.extend_from_slice(&widths[..n]);
            from = Some(line);
            lines += 1;
            if !wrapped || consumed != self.rows[line].widths.len() || width == self.cols {
                break;
            }
        }
        if lines == 0 {
            return;
        }
        match from {
            Some(line) if consumed < self.rows[line].widths.len() => {
                self.rows[line].widths.drain(..consumed);
                lines -= 1;
            }
            _ if !wrapped => {
                self.out[to].wrapped = false;
                if let Some(line) = from.filter(|line| self.rows[*line].wrapped) {
                    self.ended.push(line);
                }
            }
            _ => {}
        }
        for dead in &mut self.dead[y + 1..y + 1 + lines] {
            *dead = true;
        }
        let to = self.first + to;
        if self.scrolled > to + lines {
            self.scrolled -= lines;
        } else if self.scrolled > to {
            self.scrolled = to;
        }
    }
}

/// The cursor as (line, cells into it), lines counted as the rows that do
/// not wrap; `None` for the end of its line (it was past its row's text).
fn wrap_position(rows: &[Cells], at: At) -> (usize, Option<usize>) {
    let mut line = 0;
    let mut offset = 0;
    for row in rows.iter().take(at.row) {
        if row.wrapped {
            offset += row.widths.len();
        } else {
            offset = 0;
            line += 1;
        }
    }
    let used = rows.get(at.row).map_or(0, |r| r.widths.len());
    (line, (at.col < used).then_some(offset + at.col))
}

/// The row and cell of a [`wrap_position`] in the new rows.
fn unwrap_position(rows: &[Cells], line: usize, offset: Option<usize>) -> At {
    if rows.is_empty() {
        return At { row: 0, col: 0 };
    }
    let mut y = 0;
    let mut seen = 0;
    while y < rows.len() - 1 && seen != line {
        if !rows[y].wrapped {
            seen += 1;
        }
        y += 1;
    }
    let Some(mut col) = offset else {
        while y < rows.len() - 1 && rows[y].wrapped {
            y += 1;
        }
        return At { row: y, col: rows[y].widths.len() };
    };
    while y < rows.len() - 1 && rows[y].wrapped && col >= rows[y].widths.len() {
        col -= rows[y].widths.len();
        y += 1;
    }
    At { row: y, col }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(widths: &[u8], wrapped: bool) -> Cells {
        Cells { widths: widths.to_vec(), wrapped }
    }

    #[test]
    fn a_line_splits_and_joins_with_its_cursor_on_the_same_cell() {
        // "abcdef" wrapped at 4, cursor on "e"; at 3: "abc" "def".
        let rows = vec![row(&[1; 4], true), row(&[1; 2], false)];
        let mut scrolled = 0;
        let laid = reflow(rows, 3, At { row: 1, col: 0 }, 0, &mut scrolled);
        assert_eq!(laid.rows, [row(&[1; 3], true), row(&[1; 3], false)]);
        assert_eq!(laid.cursor, At { row: 1, col: 1 });
        // At 6, one row, the cursor past the text goes to the line's end.
        let laid = reflow(laid.rows, 6, At { row: 1, col: 3 }, 0, &mut scrolled);
        assert_eq!(laid.rows, [row(&[1; 6], false)]);
        assert_eq!(laid.cursor, At { row: 0, col: 6 });
    }

    #[test]
    fn a_wide_character_that_does_not_fit_goes_to_the_next_row() {
        let rows = vec![row(&[1, 1, 2, 0], false)];
        let mut scrolled = 0;
        let laid = reflow(rows, 3, At { row: 0, col: 0 }, 0, &mut scrolled);
        assert_eq!(laid.rows, [row(&[1, 1], true), row(&[2, 0], false)]);
    }

    #[test]
    fn a_join_stopped_by_a_row_that_ended_its_line_ends_the_line_as_in_tmux() {
        // At 4: "ab" goes on in "c" then in a wide character that cannot
        // follow "abc" at width 4; tmux ends the line after "c".
        let rows = vec![row(&[1, 1], true), row(&[1], true), row(&[2, 0], false)];
        let mut scrolled = 0;
        let laid = reflow(rows, 4, At { row: 2, col: 0 }, 0, &mut scrolled);
        assert_eq!(laid.rows, [row(&[1, 1, 1], false), row(&[2, 0], false)]);
        assert_eq!(laid.ended, [1]);
    }

    #[test]
    fn pullable_rows_follow_the_history_rows_they_became() {
        // Two history rows of 6 cells and a screen row; at 3 each history
        // line is two rows.
        let rows = vec![row(&[1; 6], false), row(&[1; 6], false), row(&[1], false)];
        let mut scrolled = 2;
        reflow(rows, 3, At { row: 2, col: 1 }, 0, &mut scrolled);
        assert_eq!(scrolled, 4);
    }
}
