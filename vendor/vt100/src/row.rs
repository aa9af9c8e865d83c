use crate::term::BufWrite as _;
use alloc::{string::String, vec::Vec};
use core::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug)]
pub struct Row {
    /// The row's cells, or none at all while every one of them is the
    /// default cell: most rows of most screens are blank, and a blank row
    /// then costs no allocation. When not empty, it holds `cols` cells.
    cells: Vec<crate::Cell>,
    /// How many cells the row has, whether `cells` holds them or not.
    cols: u16,
    /// Every cell from this column on is the default cell: erasing the row
    /// to the default attributes need not look past it. A row's text is
    /// usually much shorter than the row.
    used: u16,
    wrapped: bool,
    /// Names this row's contents: 0 until asked for (see
    /// [`Row::version`]), then a number no other contents ever had, kept
    /// by copies until either changes. Two rows with the same version have
    /// the same contents, so a diff or a copy can skip comparing cells.
    version: AtomicUsize,
}

/// The last version handed out, for all rows of all screens: a copy of a
/// row compares equal to its source in any screen it was copied into.
static VERSIONS: AtomicUsize = AtomicUsize::new(0);

/// What every cell of a row without cells is, lent out by reference.
static BLANK: crate::Cell = crate::Cell::DEFAULT;

#[cfg(test)]
extern crate std;

#[cfg(test)]
std::thread_local! {
    /// Makes this thread's rows hold their cells at all times, as they did
    /// before rows without cells: the reference that tests compare the
    /// lazy rows against.
    static EAGER: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// Runs `f` with this thread's rows holding their cells at all times (see
/// `EAGER`).
#[cfg(test)]
pub fn eagerly<T>(f: impl FnOnce() -> T) -> T {
    EAGER.with(|eager| eager.set(true));
    let result = f();
    EAGER.with(|eager| eager.set(false));
    result
}

impl Clone for Row {
    fn clone(&self) -> Self {
        Self {
            cells: self.cells.clone(),
            cols: self.cols,
            used: self.used,
            wrapped: self.wrapped,
            version: AtomicUsize::new(self.version()),
        }
    }

    /// Copies `source`'s cells into this row's own (see
    /// `Screen::clone_from`); nothing when this row already holds them.
    /// A blank source leaves this row's allocation empty but kept, for the
    /// next copy to fill without allocating.
    fn clone_from(&mut self, source: &Self) {
        let version = source.version();
        if *self.version.get_mut() == version {
            return;
        }
        self.cells.clone_from(&source.cells);
        self.cols = source.cols;
        self.used = source.used;
        self.wrapped = source.wrapped;
        *self.version.get_mut() = version;
    }
}

impl Row {
    pub fn new(cols: u16) -> Self {
        let mut row = Self {
            cells: Vec::new(),
            cols,
            used: 0,
            wrapped: false,
            version: AtomicUsize::new(0),
        };
        row.settle();
        row
    }

    /// This contents' version, handed out on first asking.
    pub(crate) fn version(&self) -> usize {
        let version = self.version.load(Ordering::Relaxed);
        if version != 0 {
            return version;
        }
        let new = VERSIONS.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        // Only `&mut self` changes the contents, so nobody else can be
        // setting a version for different ones; another reader may have
        // set one for these, which serves as well.
        match self.version.compare_exchange(
            0,
            new,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => new,
            Err(theirs) => theirs,
        }
    }

    /// The contents are about to change: they get a new version when next
    /// asked. Every `&mut self` method calls this first.
    fn touch(&mut self) {
        *self.version.get_mut() = 0;
    }

    fn cols(&self) -> u16 {
        self.cols
    }

    /// Whether the row holds its cells (it does not while all are blank).
    pub fn is_allocated(&self) -> bool {
        !self.cells.is_empty()
    }

    /// The row's cells, to change: a blank row gets its cells now.
    fn cells_mut(&mut self) -> &mut Vec<crate::Cell> {
        if self.cells.is_empty() {
            self.cells
                .resize(usize::from(self.cols), crate::Cell::new());
        }
        &mut self.cells
    }

    /// Every cell is blank again: the row gives its cells back.
    fn forget_cells(&mut self) {
        self.cells = Vec::new();
        self.used = 0;
        self.settle();
    }

    /// In tests run `eagerly`, a row holds its cells whenever it could go
    /// without; otherwise nothing.
    #[cfg_attr(
        not(test),
        allow(clippy::unused_self, clippy::needless_pass_by_ref_mut)
    )]
    fn settle(&mut self) {
        #[cfg(test)]
        if EAGER.with(core::cell::Cell::get) {
            self.cells_mut();
        }
    }

    /// Gives the cells back if every one is blank. Returns whether it did.
    /// The contents stay the same, and so does the version.
    pub fn forget_cells_if_blank(&mut self) -> bool {
        if self.is_allocated()
            && self.cells.iter().all(|cell| *cell == crate::Cell::DEFAULT)
        {
            self.forget_cells();
            return !self.is_allocated();
        }
        false
    }

    /// Erases every cell to `attrs`. A row erased to the default
    /// attributes keeps the cells it holds (the next text would want them
    /// back at once) until [`Row::forget_cells_if_blank`]; one without
    /// cells stays without.
    pub fn clear(&mut self, attrs: crate::attrs::Attrs) {
        self.touch();
        if attrs != crate::attrs::Attrs::default() {
            for cell in self.cells_mut() {
                cell.clear(attrs);
            }
            self.used = self.cols;
        } else if self.is_allocated() {
            let used = usize::from(self.used).min(self.cells.len());
            debug_assert!(
                self.cells[used..]
                    .iter()
                    .all(|cell| *cell == crate::Cell::DEFAULT),
                "a cell past the used ones is not blank"
            );
            for cell in &mut self.cells[..used] {
                cell.clear(attrs);
            }
            self.used = 0;
        }
        self.wrapped = false;
    }

    pub fn reset(&mut self) {
        self.clear(crate::attrs::Attrs::default());
    }

    fn cells(&self) -> impl Iterator<Item = &crate::Cell> {
        // A row without cells reads as `cols` blank ones.
        let blank = if self.cells.is_empty() {
            usize::from(self.cols)
        } else {
            0
        };
        self.cells.iter().chain(core::iter::repeat_n(&BLANK, blank))
    }

    pub fn get(&self, col: u16) -> Option<&crate::Cell> {
        if self.cells.is_empty() {
            (col < self.cols).then_some(&BLANK)
        } else {
            self.cells.get(usize::from(col))
        }
    }

    /// The cell at `col`, which the caller knows is in the row.
    #[track_caller]
    fn cell(&self, col: u16) -> &crate::Cell {
        self.get(col).unwrap_or_else(|| {
            panic!("column {col} is past a row of {}", self.cols)
        })
    }

    pub fn get_mut(&mut self, col: u16) -> Option<&mut crate::Cell> {
        self.touch();
        if col >= self.cols {
            return None;
        }
        self.used = self.used.max(col + 1);
        self.cells_mut().get_mut(usize::from(col))
    }

    /// Inserts empty cells without changing the size of the row.
    ///
    /// Cells at the end are dropped.
    pub fn insert(&mut self, i: u16, count: u16) {
        self.touch();
        let count =
            usize::from(count).min(usize::from(self.cols) - usize::from(i));
        if count == 0 || !self.is_allocated() {
            // Always "truncate", even when `count` is 0. However, because we
            // didn't actually insert any cells, we don't need to follow the
            // whole truncation procedure in `Self::set_truncated`; we can just
            // clear the `wrapped` flag. Blank cells shifted into a blank row
            // leave it as it was, with nothing wide to truncate.
            self.wrapped = false;
            return;
        }

        let is_wide_continuation = self.get_mut(i).is_some_and(|cell| {
            let is_wc = cell.is_wide_continuation();
            if is_wc {
                cell.set_wide_continuation(false);
            }
            is_wc
        });

        self.used = self.cols;
        let slice = &mut self.cells[usize::from(i)..];
        slice.rotate_right(count);
        slice[..count].fill(crate::Cell::new());
        if is_wide_continuation {
            if let Some(cell) = self.get_mut(i) {
                cell.set_wide_continuation(true);
            }
        }
        self.set_truncated();
    }

    /// Removes cells without changing the size of the row.
    ///
    /// Empty cells are added to the end.
    pub fn remove(&mut self, range: core::ops::Range<u16>) {
        self.touch();
        self.wrapped = false;
        // Blank cells removed from a blank row and blank ones added at its
        // end leave it blank.
        if range.start >= range.end || !self.is_allocated() {
            return;
        }

        self.clear_wide(range.start);
        let last = range.end - 1;
        if last != range.start {
            self.clear_wide(last);
        }

        let count = usize::from(range.end - range.start);
        let slice = &mut self.cells[usize::from(range.start)..];
        slice[..count].fill(crate::Cell::new());
        slice.rotate_left(count);
    }

    pub fn erase(&mut self, i: u16, attrs: crate::attrs::Attrs) {
        self.touch();
        let wide = self.cell(i).is_wide();
        self.clear_wide(i);
        // A blank cell erased to the default attributes stays blank.
        if self.is_allocated() || attrs != crate::attrs::Attrs::default() {
            self.cells_mut()[usize::from(i)].clear(attrs);
            if attrs != crate::attrs::Attrs::default() {
                self.used = self.used.max(i + 1);
            }
        }
        // `wide` is captured pre-erase on purpose: a 2-wide char occupies the
        // logical last column at cols() - 2. saturating_sub guards the
        // degenerate case of an orphaned wide cell in a one-column row, where
        // cols() - 2 would underflow.
        if i == self.cols().saturating_sub(if wide { 2 } else { 1 }) {
            self.wrapped = false;
        }
    }

    pub fn truncate(&mut self, len: u16) {
        self.touch();
        self.cells.truncate(usize::from(len));
        self.cols = self.cols.min(len);
        self.used = self.used.min(len);
        self.set_truncated();
    }

    fn set_truncated(&mut self) {
        self.touch();
        self.wrapped = false;
        if let Some(last_cell) = self.cells.last_mut() {
            if last_cell.is_wide() {
                last_cell.clear(*last_cell.attrs());
            }
        }
    }

    fn grow_unchecked(&mut self, len: u16, cell: crate::Cell) {
        self.touch();
        debug_assert!(self.cols < len);
        // Blank cells added to a blank row leave it without cells.
        if self.is_allocated() || cell != crate::Cell::DEFAULT {
            if cell != crate::Cell::DEFAULT {
                self.used = len;
            }
            self.cells_mut().resize(len.into(), cell);
        }
        self.cols = len;
        self.settle();
        self.wrapped = false;
    }

    /// Like [`Self::resize`], but never decreases the size of the row.
    pub fn grow(&mut self, len: u16, cell: crate::Cell) {
        self.touch();
        if self.cols < len {
            self.grow_unchecked(len, cell);
        }
    }

    pub fn resize(&mut self, len: u16, cell: crate::Cell) {
        self.touch();
        match len.cmp(&self.cols) {
            core::cmp::Ordering::Equal => {}
            core::cmp::Ordering::Less => {
                self.truncate(len);
            }
            core::cmp::Ordering::Greater => {
                self.grow_unchecked(len, cell);
            }
        }
    }

    /// Trims trailing blank cells from the row.
    pub fn trim(&mut self) {
        self.touch();
        let excess = if self.is_allocated() {
            self.cells
                .iter()
                .rev()
                .take_while(|c| **c == crate::cell::Cell::DEFAULT)
                .count()
        } else {
            usize::from(self.cols)
        };
        let len = usize::from(self.cols) - excess;
        self.cells.truncate(len);
        self.cells.shrink_to_fit();
        // we limit the number of cols to a u16 (see Size), and this is less
        self.cols = u16::try_from(len).unwrap_or(self.cols);
        self.used = self.used.min(self.cols);
    }

    pub fn wrap(&mut self, wrap: bool) {
        self.touch();
        self.wrapped = wrap;
    }

    pub fn wrapped(&self) -> bool {
        self.wrapped
    }

    pub fn clear_wide(&mut self, col: u16) {
        self.touch();
        // A row without cells has no wide ones.
        if !self.is_allocated() {
            return;
        }
        let col_idx = usize::from(col);
        let cell = &self.cells[col_idx];
        let other = if cell.is_wide() {
            let next = col_idx + 1;
            if next >= self.cells.len() {
                // Wide char at the last column with no continuation
                // (e.g. a shrinking resize that split the pair).
                // Clear the cell in place instead of indexing past
                // the end.
                let attrs = *self.cells[col_idx].attrs();
                self.cells[col_idx].clear(attrs);
                return;
            }
            &mut self.cells[next]
        } else if cell.is_wide_continuation() {
            &mut self.cells[usize::from(col - 1)]
        } else {
            return;
        };
        other.clear(*other.attrs());
    }

    pub fn write_contents(
        &self,
        contents: &mut String,
        start: u16,
        width: u16,
        wrapping: bool,
    ) {
        let mut prev_was_wide = false;

        let mut prev_col = start;
        for (col, cell) in self
            .cells()
            .enumerate()
            .skip(usize::from(start))
            .take(usize::from(width))
        {
            if prev_was_wide {
                prev_was_wide = false;
                continue;
            }
            prev_was_wide = cell.is_wide();

            // we limit the number of cols to a u16 (see Size)
            let col: u16 = col.try_into().unwrap();
            if cell.has_contents() {
                for _ in 0..(col - prev_col) {
                    contents.push(' ');
                }
                prev_col += col - prev_col;

                contents.push_str(cell.contents());
                prev_col += if cell.is_wide() { 2 } else { 1 };
            }
        }
        if prev_col == start && wrapping {
            contents.push('\n');
        }
    }

    pub fn write_contents_formatted(
        &self,
        contents: &mut String,
        start: u16,
        width: u16,
        row: u16,
        wrapping: bool,
        prev_pos: Option<crate::grid::Pos>,
        prev_attrs: Option<crate::attrs::Attrs>,
        links: &crate::hyperlink::Hyperlinks,
    ) -> (crate::grid::Pos, crate::attrs::Attrs) {
        let mut prev_was_wide = false;

        let mut prev_pos = prev_pos.unwrap_or_else(|| {
            if wrapping {
                crate::grid::Pos {
                    row: row - 1,
                    col: self.cols(),
                }
            } else {
                crate::grid::Pos { row, col: start }
            }
        });
        let mut prev_attrs = prev_attrs.unwrap_or_default();

        let first_cell = self.cell(start);
        if wrapping && first_cell == &crate::cell::Cell::DEFAULT {
            let default_attrs = crate::cell::Cell::DEFAULT.attrs();
            if prev_attrs != *default_attrs {
                default_attrs.write_escape_code_diff(
                    contents,
                    &prev_attrs,
                    links,
                );
                prev_attrs = *default_attrs;
            }
            contents.push(' ');
            crate::term::Backspace.write_buf(contents);
            crate::term::EraseChar::new(1).write_buf(contents);
            prev_pos = crate::grid::Pos { row, col: 0 };
        }

        let mut erase: Option<(u16, &crate::attrs::Attrs)> = None;
        for (col, cell) in self
            .cells()
            .enumerate()
            .skip(usize::from(start))
            .take(usize::from(width))
        {
            if prev_was_wide {
                prev_was_wide = false;
                continue;
            }
            prev_was_wide = cell.is_wide();

            // we limit the number of cols to a u16 (see Size)
            let col: u16 = col.try_into().unwrap();
            let pos = crate::grid::Pos { row, col };

            if let Some((prev_col, attrs)) = erase {
                if cell.has_contents() || cell.attrs() != attrs {
                    let new_pos = crate::grid::Pos { row, col: prev_col };
                    if wrapping
                        && prev_pos.row + 1 == new_pos.row
                        && prev_pos.col >= self.cols()
                    {
                        if new_pos.col > 0 {
                            contents.push_str(
                                &" ".repeat(usize::from(new_pos.col)),
                            );
                        } else {
                            contents.push(' ');
                            crate::term::Backspace.write_buf(contents);
                        }
                    } else {
                        crate::term::MoveFromTo::new(prev_pos, new_pos)
                            .write_buf(contents);
                    }
                    prev_pos = new_pos;
                    if &prev_attrs != attrs {
                        attrs.write_escape_code_diff(
                            contents,
                            &prev_attrs,
                            links,
                        );
                        prev_attrs = *attrs;
                    }
                    crate::term::EraseChar::new(pos.col - prev_col)
                        .write_buf(contents);
                    erase = None;
                }
            }

            if *cell != crate::cell::Cell::DEFAULT {
                let attrs = cell.attrs();
                if cell.has_contents() {
                    if pos != prev_pos {
                        if !wrapping
                            || prev_pos.row + 1 != pos.row
                            || prev_pos.col
                                < self.cols() - u16::from(cell.is_wide())
                            || pos.col != 0
                        {
                            crate::term::MoveFromTo::new(prev_pos, pos)
                                .write_buf(contents);
                        }
                        prev_pos = pos;
                    }

                    if &prev_attrs != attrs {
                        attrs.write_escape_code_diff(
                            contents,
                            &prev_attrs,
                            links,
                        );
                        prev_attrs = *attrs;
                    }

                    prev_pos.col += if cell.is_wide() { 2 } else { 1 };
                    let cell_contents = cell.contents();
                    contents.push_str(cell_contents);
                } else if erase.is_none() {
                    erase = Some((pos.col, attrs));
                }
            }
        }
        if let Some((prev_col, attrs)) = erase {
            let new_pos = crate::grid::Pos { row, col: prev_col };
            if wrapping
                && prev_pos.row + 1 == new_pos.row
                && prev_pos.col >= self.cols()
            {
                if new_pos.col > 0 {
                    contents.push_str(&" ".repeat(usize::from(new_pos.col)));
                } else {
                    contents.push(' ');
                    crate::term::Backspace.write_buf(contents);
                }
            } else {
                crate::term::MoveFromTo::new(prev_pos, new_pos)
                    .write_buf(contents);
            }
            prev_pos = new_pos;
            if &prev_attrs != attrs {
                attrs.write_escape_code_diff(contents, &prev_attrs, links);
                prev_attrs = *attrs;
            }
            crate::term::ClearRowForward.write_buf(contents);
        }

        end_link(contents, &mut prev_attrs, links);
        (prev_pos, prev_attrs)
    }

    pub fn write_contents_formatted_basic(
        &self,
        writer: &mut impl alloc::fmt::Write,
        current_attrs: &mut crate::attrs::Attrs,
        links: &crate::hyperlink::Hyperlinks,
    ) -> alloc::fmt::Result {
        let mut prev_was_wide = false;
        let mut num_empty = 0;

        for cell in self.cells() {
            if core::mem::take(&mut prev_was_wide) {
                continue;
            }
            prev_was_wide = cell.is_wide();

            if *cell == crate::cell::Cell::DEFAULT {
                num_empty += 1;
                continue;
            }

            for _ in 0..core::mem::take(&mut num_empty) {
                writer.write_char(' ')?;
            }

            let new_attrs = *cell.attrs();
            new_attrs.write_escape_code_diff_fmt(
                writer,
                current_attrs,
                links,
            )?;
            *current_attrs = new_attrs;
            if cell.has_contents() {
                writer.write_str(cell.contents())?;
            } else {
                writer.write_char(' ')?;
            }
        }
        // A link ends with its row, as in the other formats: the next row
        // may come much later (a row scrolled off, written by a callback).
        if current_attrs.link() != 0 {
            let unlinked = current_attrs.without_link();
            unlinked.write_escape_code_diff_fmt(
                writer,
                current_attrs,
                links,
            )?;
            *current_attrs = unlinked;
        }
        Ok(())
    }

    // while it's true that most of the logic in this is identical to
    // write_contents_formatted, i can't figure out how to break out the
    // common parts without making things noticeably slower.
    /// Whether every cell equals the other row's, as
    /// [`Row::write_contents_diff`] compares them.
    pub fn same_cells(&self, other: &Self) -> bool {
        self.version() == other.version()
            || (self.cols == other.cols
                && match (self.is_allocated(), other.is_allocated()) {
                    (true, true) => self.cells == other.cells,
                    (false, false) => true,
                    _ => self.cells().eq(other.cells()),
                })
    }

    pub fn write_contents_diff(
        &self,
        contents: &mut String,
        prev: &Self,
        start: u16,
        width: u16,
        row: u16,
        wrapping: bool,
        prev_wrapping: bool,
        mut prev_pos: crate::grid::Pos,
        mut prev_attrs: crate::attrs::Attrs,
        links: &crate::hyperlink::Hyperlinks,
    ) -> (crate::grid::Pos, crate::attrs::Attrs) {
        let mut prev_was_wide = false;

        let first_cell = self.cell(start);
        let prev_first_cell = prev.cell(start);
        if wrapping
            && !prev_wrapping
            && first_cell == prev_first_cell
            && prev_pos.row + 1 == row
            && prev_pos.col
                >= self.cols() - u16::from(prev_first_cell.is_wide())
        {
            let first_cell_attrs = first_cell.attrs();
            if &prev_attrs != first_cell_attrs {
                first_cell_attrs.write_escape_code_diff(
                    contents,
                    &prev_attrs,
                    links,
                );
                prev_attrs = *first_cell_attrs;
            }
            let mut cell_contents = prev_first_cell.contents();
            let need_erase = if cell_contents.is_empty() {
                cell_contents = " ";
                true
            } else {
                false
            };
            contents.push_str(cell_contents);
            crate::term::Backspace.write_buf(contents);
            if prev_first_cell.is_wide() {
                crate::term::Backspace.write_buf(contents);
            }
            if need_erase {
                crate::term::EraseChar::new(1).write_buf(contents);
            }
            prev_pos = crate::grid::Pos { row, col: 0 };
        }

        let mut erase: Option<(u16, &crate::attrs::Attrs)> = None;
        for (col, (cell, prev_cell)) in self
            .cells()
            .zip(prev.cells())
            .enumerate()
            .skip(usize::from(start))
            .take(usize::from(width))
        {
            if prev_was_wide {
                prev_was_wide = false;
                continue;
            }
            prev_was_wide = cell.is_wide();

            // we limit the number of cols to a u16 (see Size)
            let col: u16 = col.try_into().unwrap();
            let pos = crate::grid::Pos { row, col };

            if let Some((prev_col, attrs)) = erase {
                if cell.has_contents() || cell.attrs() != attrs {
                    let new_pos = crate::grid::Pos { row, col: prev_col };
                    if wrapping
                        && prev_pos.row + 1 == new_pos.row
                        && prev_pos.col >= self.cols()
                    {
                        if new_pos.col > 0 {
                            contents.push_str(
                                &" ".repeat(usize::from(new_pos.col)),
                            );
                        } else {
                            contents.push(' ');
                            crate::term::Backspace.write_buf(contents);
                        }
                    } else {
                        crate::term::MoveFromTo::new(prev_pos, new_pos)
                            .write_buf(contents);
                    }
                    prev_pos = new_pos;
                    if &prev_attrs != attrs {
                        attrs.write_escape_code_diff(
                            contents,
                            &prev_attrs,
                            links,
                        );
                        prev_attrs = *attrs;
                    }
                    crate::term::EraseChar::new(pos.col - prev_col)
                        .write_buf(contents);
                    erase = None;
                }
            }

            if cell != prev_cell {
                let attrs = cell.attrs();
                if cell.has_contents() {
                    if pos != prev_pos {
                        if !wrapping
                            || prev_pos.row + 1 != pos.row
                            || prev_pos.col
                                < self.cols() - u16::from(cell.is_wide())
                            || pos.col != 0
                        {
                            crate::term::MoveFromTo::new(prev_pos, pos)
                                .write_buf(contents);
                        }
                        prev_pos = pos;
                    }

                    if &prev_attrs != attrs {
                        attrs.write_escape_code_diff(
                            contents,
                            &prev_attrs,
                            links,
                        );
                        prev_attrs = *attrs;
                    }

                    prev_pos.col += if cell.is_wide() { 2 } else { 1 };
                    contents.push_str(cell.contents());
                } else if erase.is_none() {
                    erase = Some((pos.col, attrs));
                }
            }
        }
        if let Some((prev_col, attrs)) = erase {
            let new_pos = crate::grid::Pos { row, col: prev_col };
            if wrapping
                && prev_pos.row + 1 == new_pos.row
                && prev_pos.col >= self.cols()
            {
                if new_pos.col > 0 {
                    contents.push_str(&" ".repeat(usize::from(new_pos.col)));
                } else {
                    contents.push(' ');
                    crate::term::Backspace.write_buf(contents);
                }
            } else {
                crate::term::MoveFromTo::new(prev_pos, new_pos)
                    .write_buf(contents);
            }
            prev_pos = new_pos;
            if &prev_attrs != attrs {
                attrs.write_escape_code_diff(contents, &prev_attrs, links);
                prev_attrs = *attrs;
            }
            crate::term::ClearRowForward.write_buf(contents);
        }

        // if this row is going from wrapped to not wrapped, we need to erase
        // and redraw the last character to break wrapping. if this row is
        // wrapped, we need to redraw the last character without erasing it to
        // position the cursor after the end of the line correctly so that
        // drawing the next line can just start writing and be wrapped.
        if (!self.wrapped && prev.wrapped) || (!prev.wrapped && self.wrapped)
        {
            let end_pos = if self.cell(self.cols() - 1).is_wide_continuation()
            {
                crate::grid::Pos {
                    row,
                    col: self.cols() - 2,
                }
            } else {
                crate::grid::Pos {
                    row,
                    col: self.cols() - 1,
                }
            };
            crate::term::MoveFromTo::new(prev_pos, end_pos)
                .write_buf(contents);
            prev_pos = end_pos;
            if !self.wrapped {
                crate::term::EraseChar::new(1).write_buf(contents);
            }
            let end_cell = self.cell(end_pos.col);
            if end_cell.has_contents() {
                let attrs = end_cell.attrs();
                if &prev_attrs != attrs {
                    attrs.write_escape_code_diff(
                        contents,
                        &prev_attrs,
                        links,
                    );
                    prev_attrs = *attrs;
                }
                contents.push_str(end_cell.contents());
                prev_pos.col += if end_cell.is_wide() { 2 } else { 1 };
            }
        }

        end_link(contents, &mut prev_attrs, links);
        (prev_pos, prev_attrs)
    }
}

/// Ends the hyperlink `attrs` has open, if any: a link written out does not
/// run on past its row, whose end the cursor moves away from (and a row
/// written on its own, or the last, leaves no link open behind it).
fn end_link(
    contents: &mut String,
    attrs: &mut crate::attrs::Attrs,
    links: &crate::hyperlink::Hyperlinks,
) {
    if attrs.link() != 0 {
        let unlinked = attrs.without_link();
        unlinked.write_escape_code_diff(contents, attrs, links);
        *attrs = unlinked;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A blank row holds no cells and reads as blank ones; a copy kept
    /// with `clone_from` takes a blank row's state without allocating and
    /// keeps its allocation for the next row with cells.
    #[test]
    // The clone is what is tested.
    #[allow(clippy::redundant_clone)]
    fn a_blank_row_holds_no_cells_and_copies_keep_their_allocation() {
        let attrs = crate::attrs::Attrs::default();
        let blank = Row::new(4);
        assert!(!blank.is_allocated());
        assert_eq!(blank.cells().count(), 4);
        assert_eq!(blank.get(3), Some(&crate::Cell::DEFAULT));
        assert_eq!(blank.get(4), None);
        assert!(!blank.clone().is_allocated(), "a clone of a blank row");

        let mut full = Row::new(4);
        full.get_mut(1).expect("column 1 of 4").set('x', attrs);
        assert!(full.is_allocated());
        let mut copy = full.clone();
        let allocation = copy.cells.as_ptr();
        copy.clone_from(&blank);
        assert!(!copy.is_allocated(), "the copy of a blank row");
        assert!(copy.same_cells(&blank));
        copy.clone_from(&full);
        assert_eq!(copy.cells.as_ptr(), allocation, "the allocation reused");
        assert!(copy.same_cells(&full));

        full.clear(attrs);
        assert!(full.is_allocated(), "cleared, kept for the next text");
        assert!(full.same_cells(&blank));
        assert!(full.forget_cells_if_blank());
        assert!(!full.is_allocated(), "given back when asked");
        assert!(full.same_cells(&blank));
        full.get_mut(0).expect("column 0 of 4").set('x', attrs);
        assert!(!full.forget_cells_if_blank(), "a row with text keeps its");
    }

    // An orphaned wide cell (wide flag set, no continuation) in a
    // one-column row must not make Row::erase underflow when it derives the
    // logical last column as cols() - 2. Covers the Copilot review note on
    // the clear_wide OOB fix: clear_wide itself was hardened, but its caller
    // erase computed cols() - 2 == 1 - 2 from the captured `wide` value.
    #[test]
    fn erase_wide_cell_in_one_column_row_does_not_underflow() {
        let attrs = crate::attrs::Attrs::default();
        let mut row = Row::new(1);
        // A 2-wide char in the only column: a wide cell with no room for a
        // continuation cell.
        row.get_mut(0).unwrap().set('中', attrs);
        assert!(row.get(0).unwrap().is_wide());

        row.erase(0, attrs);

        let cell = row.get(0).unwrap();
        assert!(!cell.is_wide(), "erased cell must no longer be wide");
        assert!(!cell.has_contents(), "erased cell must be empty");
    }
}
