use crate::term::BufWrite as _;
use alloc::{string::String, string::ToString as _};
use unicode_width::UnicodeWidthChar as _;

const MODE_APPLICATION_KEYPAD: u8 = 0b0000_0001;
const MODE_APPLICATION_CURSOR: u8 = 0b0000_0010;
const MODE_HIDE_CURSOR: u8 = 0b0000_0100;
const MODE_ALTERNATE_SCREEN: u8 = 0b0000_1000;
const MODE_BRACKETED_PASTE: u8 = 0b0001_0000;
/// DECAWM reset (`CSI ? 7 l`): text stops at the right margin.
const MODE_NO_AUTOWRAP: u8 = 0b0010_0000;
/// IRM (`CSI 4 h`): text pushes what is right of the cursor along.
const MODE_INSERT: u8 = 0b0100_0000;

/// The xterm mouse handling mode currently in use.
#[derive(Copy, Clone, Debug, Eq, PartialEq, Default)]
pub enum MouseProtocolMode {
    /// Mouse handling is disabled.
    #[default]
    None,

    /// Mouse button events should be reported on button press. Also known as
    /// X10 mouse mode.
    Press,

    /// Mouse button events should be reported on button press and release.
    /// Also known as VT200 mouse mode.
    PressRelease,

    // Highlight,
    /// Mouse button events should be reported on button press and release, as
    /// well as when the mouse moves between cells while a button is held
    /// down.
    ButtonMotion,

    /// Mouse button events should be reported on button press and release,
    /// and mouse motion events should be reported when the mouse moves
    /// between cells regardless of whether a button is held down or not.
    AnyMotion,
    // DecLocator,
}

/// The encoding to use for the enabled [`MouseProtocolMode`].
#[derive(Copy, Clone, Debug, Eq, PartialEq, Default)]
pub enum MouseProtocolEncoding {
    /// Default single-printable-byte encoding.
    #[default]
    Default,

    /// UTF-8-based encoding.
    Utf8,

    /// SGR-like encoding.
    Sgr,
    // Urxvt,
}

/// The cursor's visual style.
#[derive(Copy, Clone, Debug, Eq, PartialEq, Default)]
pub enum CursorStyle {
    /// The cursor should match the terminal's default.
    #[default]
    Default,

    /// The cursor should be a blinking block.
    BlinkBlock,

    /// The cursor should be a steady block.
    SteadyBlock,

    /// The cursor should be a blinking underline.
    BlinkUnderline,

    /// The cursor should be a steady underline.
    SteadyUnderline,

    /// The cursor should be a blinking vertical bar.
    BlinkVerticalBar,

    /// The cursor should be a steady vertical bar.
    SteadyVerticalBar,
}

/// Represents the overall terminal state.
#[derive(Debug)]
pub struct Screen {
    grid: crate::grid::Grid,
    alternate_grid: crate::grid::Grid,

    attrs: crate::attrs::Attrs,
    saved_attrs: crate::attrs::Attrs,

    modes: u8,
    mouse_protocol_mode: MouseProtocolMode,
    mouse_protocol_encoding: MouseProtocolEncoding,
    cursor_style: CursorStyle,

    last_char: Option<char>,

    /// The character sets designated as G0 and G1, and whether SO made G1
    /// the one in use.
    charsets: [Charset; 2],
    shifted_out: bool,
    /// What DECSC saved of them, with the cursor and the attributes.
    saved_charsets: [Charset; 2],
    saved_shifted_out: bool,

    /// The tab stops, once a program has set or cleared one (HTS, TBC),
    /// in column order; `None`: a stop every eighth column.
    tab_stops: Option<alloc::vec::Vec<u16>>,

    /// The OSC 8 hyperlinks the cells of both grids name by id.
    links: crate::hyperlink::Hyperlinks,
    /// The id of the link printed text takes (0: none). It is not part of
    /// `attrs`, since it is no SGR attribute: `CSI 0 m` leaves it, erases
    /// do not take it, and DECSC does not save it.
    link: u16,
}

impl Clone for Screen {
    fn clone(&self) -> Self {
        Self {
            grid: self.grid.clone(),
            alternate_grid: self.alternate_grid.clone(),
            attrs: self.attrs,
            saved_attrs: self.saved_attrs,
            modes: self.modes,
            mouse_protocol_mode: self.mouse_protocol_mode,
            mouse_protocol_encoding: self.mouse_protocol_encoding,
            cursor_style: self.cursor_style,
            last_char: self.last_char,
            charsets: self.charsets,
            shifted_out: self.shifted_out,
            saved_charsets: self.saved_charsets,
            saved_shifted_out: self.saved_shifted_out,
            tab_stops: self.tab_stops.clone(),
            links: self.links.clone(),
            link: self.link,
        }
    }

    /// Copies `source` into this screen's own allocations: a copy kept to
    /// diff against (a client's last frame) costs no allocation per frame.
    fn clone_from(&mut self, source: &Self) {
        // Every field, so a new one cannot be forgotten here.
        let Self {
            grid,
            alternate_grid,
            attrs,
            saved_attrs,
            modes,
            mouse_protocol_mode,
            mouse_protocol_encoding,
            cursor_style,
            last_char,
            charsets,
            shifted_out,
            saved_charsets,
            saved_shifted_out,
            tab_stops,
            links,
            link,
        } = source;
        self.grid.clone_from(grid);
        self.alternate_grid.clone_from(alternate_grid);
        self.attrs = *attrs;
        self.saved_attrs = *saved_attrs;
        self.modes = *modes;
        self.mouse_protocol_mode = *mouse_protocol_mode;
        self.mouse_protocol_encoding = *mouse_protocol_encoding;
        self.cursor_style = *cursor_style;
        self.last_char = *last_char;
        self.charsets = *charsets;
        self.shifted_out = *shifted_out;
        self.saved_charsets = *saved_charsets;
        self.saved_shifted_out = *saved_shifted_out;
        self.tab_stops.clone_from(tab_stops);
        self.links.clone_from(links);
        self.link = *link;
    }
}

/// A character set a program can designate (`ESC ( 0`, `ESC ) B`).
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum Charset {
    #[default]
    Ascii,
    /// DEC Special Graphics: the line drawing set.
    DecSpecialGraphics,
}

impl Charset {
    /// The character a printed one stands for in this set.
    fn map(self, c: char) -> char {
        const GRAPHICS: [char; 32] = [
            ' ', '◆', '▒', '␉', '␌', '␍', '␊', '°', '±', '␤', '␋', '┘', '┐',
            '┌', '└', '┼', '⎺', '⎻', '─', '⎼', '⎽', '├', '┤', '┴', '┬', '│',
            '≤', '≥', 'π', '≠', '£', '·',
        ];
        match (self, c) {
            // The arrows and the block of the VT100's set, as xterm and
            // tmux draw them (terminfo's acsc: `+,-.0`).
            (Self::DecSpecialGraphics, '+') => '→',
            (Self::DecSpecialGraphics, ',') => '←',
            (Self::DecSpecialGraphics, '-') => '↑',
            (Self::DecSpecialGraphics, '.') => '↓',
            (Self::DecSpecialGraphics, '0') => '▮',
            (Self::DecSpecialGraphics, '\x5f'..='\x7e') => {
                let i = usize::try_from(u32::from(c) - 0x5f).unwrap_or(0);
                GRAPHICS[i]
            }
            _ => c,
        }
    }
}

impl Screen {
    pub(crate) fn new(
        size: crate::grid::Size,
        scrollback_capacity: usize,
    ) -> Self {
        let mut grid = crate::grid::Grid::new(
            size,
            crate::grid::Scrollback::Enabled {
                capacity: scrollback_capacity,
            },
        );
        grid.allocate_rows();
        Self {
            grid,
            alternate_grid: crate::grid::Grid::new(
                size,
                crate::grid::Scrollback::Disabled,
            ),

            attrs: crate::attrs::Attrs::default(),
            saved_attrs: crate::attrs::Attrs::default(),

            modes: 0,
            mouse_protocol_mode: MouseProtocolMode::default(),
            mouse_protocol_encoding: MouseProtocolEncoding::default(),
            cursor_style: CursorStyle::default(),

            last_char: None,

            charsets: [Charset::Ascii; 2],
            shifted_out: false,
            saved_charsets: [Charset::Ascii; 2],
            saved_shifted_out: false,

            tab_stops: None,

            links: crate::hyperlink::Hyperlinks::default(),
            link: 0,
        }
    }

    /// The attributes printed text takes: the SGR ones and the link.
    fn pen(&self) -> crate::attrs::Attrs {
        let mut attrs = self.attrs;
        attrs.set_link(self.link);
        attrs
    }

    /// The grid in use, and the links its cells name (for the `on_scroll`
    /// callback while the grid changes).
    fn grid_and_links_mut(
        &mut self,
    ) -> (&mut crate::grid::Grid, &crate::hyperlink::Hyperlinks) {
        let grid = if self.mode(MODE_ALTERNATE_SCREEN) {
            &mut self.alternate_grid
        } else {
            &mut self.grid
        };
        (grid, &self.links)
    }

    /// The table of the OSC 8 hyperlinks this screen's cells name by id
    /// ([`Cell::hyperlink_id`](crate::Cell::hyperlink_id)); for
    /// [`Cell::write_attributes_diff`](crate::Cell::write_attributes_diff).
    ///
    /// It holds at most [`MAX_HYPERLINKS`](crate::MAX_HYPERLINKS) links
    /// ([`MAX_HYPERLINK_BYTES`](crate::MAX_HYPERLINK_BYTES) in all), kept
    /// while the screen lives: text in a link opened after that shows
    /// without it.
    #[must_use]
    pub fn hyperlinks(&self) -> &crate::Hyperlinks {
        &self.links
    }

    /// The OSC 8 hyperlink of a cell of this screen, if it has one.
    #[must_use]
    pub fn hyperlink(&self, cell: &crate::Cell) -> Option<&crate::Hyperlink> {
        self.links.get(cell.hyperlink_id())
    }

    /// `OSC 8 ; params ; uri ST`: text printed from now on links to `uri`
    /// (no link for an empty one, which is how a link ends).
    pub(crate) fn set_hyperlink(&mut self, params: &[u8], uri: &[u8]) {
        self.link = self.links.intern(params, uri);
    }

    /// The first tab stop right of `col`, if any.
    fn next_tab_stop(&self, col: u16) -> Option<u16> {
        let cols = self.grid().size().cols();
        let stop = self.tab_stops.as_ref().map_or_else(
            || Some(col - col % 8 + 8),
            |stops| stops.iter().copied().find(|s| *s > col),
        );
        stop.filter(|s| *s < cols)
    }

    /// The last tab stop left of `col`, or the first column.
    fn prev_tab_stop(&self, col: u16) -> u16 {
        match &self.tab_stops {
            None if col == 0 => 0,
            None => (col - 1) - (col - 1) % 8,
            Some(stops) => {
                stops.iter().copied().rfind(|s| *s < col).unwrap_or(0)
            }
        }
    }

    /// The stops, listed (materialized from the default when needed).
    fn tab_stops_mut(&mut self) -> &mut alloc::vec::Vec<u16> {
        let cols = self.grid().size().cols();
        self.tab_stops
            .get_or_insert_with(|| (8..cols).step_by(8).collect())
    }

    /// Escape sequences that set the program's tab stops on a terminal
    /// with the default ones (then the cursor is left anywhere); empty
    /// while they are the default.
    #[must_use]
    pub fn tab_stops_formatted(&self) -> String {
        let Some(stops) = &self.tab_stops else {
            return String::new();
        };
        let mut out = String::from("\x1b[3g");
        for stop in stops {
            // Writing to a String cannot fail.
            let _ = core::fmt::Write::write_fmt(
                &mut out,
                format_args!("\x1b[{}G\x1bH", stop + 1),
            );
        }
        out
    }

    /// Whether printed characters are translated: the character set in use
    /// is not ASCII (the DEC line drawing set, after `ESC ( 0` or SO).
    #[must_use]
    pub fn translates_charset(&self) -> bool {
        self.charsets[usize::from(self.shifted_out)] != Charset::Ascii
    }

    pub(crate) fn designate_charset(&mut self, which: usize, set: Charset) {
        self.charsets[which] = set;
    }

    pub(crate) fn shift_out(&mut self, on: bool) {
        self.shifted_out = on;
    }

    /// Resizes the screen **without calling** the [`on_scroll`] callback.
    ///
    /// This method behaves the same as [`Parser::set_size`] but does not call
    /// the [`on_scroll`] callback. If you want that, use [`Parser::set_size`].
    ///
    /// [`on_scroll`]: crate::Callbacks::on_scroll
    /// [`Parser::set_size`]: crate::Parser::set_size
    pub fn set_size(
        &mut self,
        rows: core::num::NonZeroU16,
        cols: core::num::NonZeroU16,
    ) {
        self.grid.set_size(crate::grid::Size { rows, cols }, |_| {});
        self.alternate_grid
            .set_size(crate::grid::Size { rows, cols }, |_| {});
    }

    /// Returns the current size of the terminal.
    ///
    /// The return value will be (rows, cols).
    #[must_use]
    pub fn size(&self) -> (core::num::NonZeroU16, core::num::NonZeroU16) {
        let size = self.grid().size();
        (size.rows, size.cols)
    }

    /// Returns the number of lines in the scrollback.
    #[must_use]
    pub fn scrollback_len(&self) -> usize {
        self.grid().scrollback_len()
    }

    /// Returns the maximum capacity of the scrollback.
    #[must_use]
    pub fn scrollback_capacity(&self) -> usize {
        self.grid().scrollback_capacity()
    }

    /// Scrolls to the given position in the scrollback.
    ///
    /// This position indicates the offset from the top of the screen, and
    /// should be `0` to put the normal screen in view.
    ///
    /// This affects the return values of methods called on the screen: for
    /// instance, `screen.cell(0, 0)` will return the top left corner of the
    /// screen after taking the scrollback offset into account.
    ///
    /// The value given will be clamped to the actual size of the scrollback.
    pub fn set_scrollback(&mut self, rows: usize) {
        self.grid_mut().set_scrollback(rows);
    }

    /// Clears the scrollback history for the active screen and returns the
    /// scrollback position to the live viewport.
    ///
    /// This does not erase the visible screen contents, reset terminal
    /// modes, or call the `on_row` callback. To model a terminal action that
    /// clears both the visible display and scrollback history, process both
    /// `CSI 2 J` and `CSI 3 J`.
    pub fn clear_scrollback(&mut self) {
        self.grid_mut().erase_all_scrollback(|_| {});
    }

    /// Returns the current position in the scrollback.
    ///
    /// This position indicates the offset from the top of the screen, and is
    /// `0` when the normal screen is in view.
    #[must_use]
    pub fn scrollback(&self) -> usize {
        self.grid().scrollback()
    }

    /// Returns the text contents of the terminal.
    ///
    /// This will not include any formatting information, and will be in plain
    /// text format.
    #[must_use]
    pub fn contents(&self) -> String {
        let mut contents = String::new();
        self.write_contents(&mut contents);
        contents
    }

    fn write_contents(&self, contents: &mut String) {
        self.grid().write_contents(contents);
    }

    /// Returns the text contents of the terminal by row, restricted to the
    /// given subset of columns.
    ///
    /// This will not include any formatting information, and will be in plain
    /// text format.
    ///
    /// Newlines will not be included.
    pub fn rows(
        &self,
        start: u16,
        width: u16,
    ) -> impl Iterator<Item = String> + '_ {
        self.grid().visible_rows().map(move |row| {
            let mut contents = String::new();
            row.write_contents(&mut contents, start, width, false);
            contents
        })
    }

    /// Returns the text contents of the terminal logically between two cells.
    /// This will include the remainder of the starting row after `start_col`,
    /// followed by the entire contents of the rows between `start_row` and
    /// `end_row`, followed by the beginning of the `end_row` up until
    /// `end_col`. This is useful for things like determining the contents of
    /// a clipboard selection.
    #[must_use]
    pub fn contents_between(
        &self,
        start_row: u16,
        start_col: u16,
        end_row: u16,
        end_col: u16,
    ) -> String {
        match start_row.cmp(&end_row) {
            core::cmp::Ordering::Less => {
                let (_, cols) = self.size();
                let cols = cols.get();
                let mut contents = String::new();
                for (i, row) in self
                    .grid()
                    .visible_rows()
                    .enumerate()
                    .skip(usize::from(start_row))
                    .take(usize::from(end_row) - usize::from(start_row) + 1)
                {
                    if i == usize::from(start_row) {
                        row.write_contents(
                            &mut contents,
                            start_col,
                            cols - start_col,
                            false,
                        );
                        if !row.wrapped() {
                            contents.push('\n');
                        }
                    } else if i == usize::from(end_row) {
                        row.write_contents(&mut contents, 0, end_col, false);
                    } else {
                        row.write_contents(&mut contents, 0, cols, false);
                        if !row.wrapped() {
                            contents.push('\n');
                        }
                    }
                }
                contents
            }
            core::cmp::Ordering::Equal => {
                if start_col < end_col {
                    self.rows(start_col, end_col - start_col)
                        .nth(usize::from(start_row))
                        .unwrap_or_default()
                } else {
                    String::new()
                }
            }
            core::cmp::Ordering::Greater => String::new(),
        }
    }

    /// Return escape codes sufficient to reproduce the entire contents of the
    /// current terminal state. This is a convenience wrapper around
    /// [`contents_formatted`](Self::contents_formatted) and
    /// [`input_mode_formatted`](Self::input_mode_formatted).
    #[must_use]
    pub fn state_formatted(&self) -> String {
        let mut contents = String::new();
        self.write_contents_formatted(&mut contents);
        self.write_input_mode_formatted(&mut contents);
        contents
    }

    /// Return escape codes sufficient to turn the terminal state of the
    /// screen `prev` into the current terminal state. This is a convenience
    /// wrapper around [`contents_diff`](Self::contents_diff) and
    /// [`input_mode_diff`](Self::input_mode_diff).
    #[must_use]
    pub fn state_diff(&self, prev: &Self) -> String {
        let mut contents = String::new();
        self.write_contents_diff(&mut contents, prev);
        self.write_input_mode_diff(&mut contents, prev);
        contents
    }

    /// Returns the formatted visible contents of the terminal.
    ///
    /// Formatting information will be included inline as terminal escape
    /// codes. The result will be suitable for feeding directly to a raw
    /// terminal parser, and will result in the same visual output.
    #[must_use]
    pub fn contents_formatted(&self) -> String {
        let mut contents = String::new();
        self.write_contents_formatted(&mut contents);
        contents
    }

    fn write_contents_formatted(&self, contents: &mut String) {
        crate::term::HideCursor::new(self.hide_cursor()).write_buf(contents);
        let prev_attrs =
            self.grid().write_contents_formatted(contents, &self.links);
        // The output ends with no link open (each row closes its own), so
        // what the terminal shows after it cannot take one by accident.
        self.attrs
            .write_escape_code_diff(contents, &prev_attrs, &self.links);
    }

    /// Returns the formatted visible contents of the terminal in a "basic"
    /// format.
    ///
    /// The contents will contain no escape sequences except SGR sequences
    /// and OSC 8 hyperlinks (each closed by the end of its row),
    /// and no control characters except `'\n'`.
    ///
    /// A newline will be inserted after each row that does not wrap onto the
    /// next line, except the last. Trailing whitespace will not be trimmed
    /// from the string; a blank terminal *n* rows tall will result in a string
    /// with *n* - 1 newlines.
    ///
    /// Terminal attributes should be reset before and after displaying the
    /// returned string; it will not begin or end with a reset sequence.
    #[must_use]
    pub fn contents_formatted_basic(&self) -> String {
        let mut contents = String::new();
        // Writing to a `String` cannot fail.
        #[allow(clippy::missing_panics_doc)]
        self.write_contents_formatted_basic(
            &mut contents,
            crate::capture::BasicFormattedCaptureRange::Visible,
        )
        .unwrap();
        contents
    }

    /// Like [`Self::contents_formatted_basic`] but writes into the provided
    /// writer.
    ///
    /// For the `range` parameter, if you used the callback to write terminal
    /// data into this writer in a streaming fashion, pass
    /// [`BasicFormattedCaptureRange::Full`][full] with your existing
    /// [`BasicFormattedCaptureState`][state]. Otherwise, if you want the same
    /// result as [`Self::contents_formatted_basic`], pass
    /// [`BasicFormattedCaptureRange::Visible`][visible].
    ///
    /// [`on_scroll`]: crate::Callbacks::on_scroll
    /// [full]: crate::capture::BasicFormattedCaptureRange::Full
    /// [state]: crate::capture::BasicFormattedCaptureState
    /// [visible]: crate::capture::BasicFormattedCaptureRange::Visible
    ///
    /// # Errors
    ///
    /// If the writer returns an error, this method will forward that error.
    /// Otherwise, this method will not return any errors of its own.
    pub fn write_contents_formatted_basic(
        &self,
        writer: &mut impl alloc::fmt::Write,
        range: crate::capture::BasicFormattedCaptureRange<'_>,
    ) -> alloc::fmt::Result {
        self.grid()
            .write_contents_formatted_basic(writer, range, &self.links)
    }

    /// Returns the formatted visible contents of the terminal by row,
    /// restricted to the given subset of columns.
    ///
    /// Formatting information will be included inline as terminal escape
    /// codes. The result will be suitable for feeding directly to a raw
    /// terminal parser, and will result in the same visual output.
    ///
    /// You are responsible for positioning the cursor before printing each
    /// row, and the final cursor position after displaying each row is
    /// unspecified.
    // the unwraps in this method shouldn't be reachable
    #[allow(clippy::missing_panics_doc)]
    pub fn rows_formatted(
        &self,
        start: u16,
        width: u16,
    ) -> impl Iterator<Item = String> + '_ {
        let mut wrapping = false;
        self.grid().visible_rows().enumerate().map(move |(i, row)| {
            // number of rows in a grid is stored in a u16 (see Size), so
            // visible_rows can never return enough rows to overflow here
            let i = i.try_into().unwrap();
            let mut contents = String::new();
            row.write_contents_formatted(
                &mut contents,
                start,
                width,
                i,
                wrapping,
                None,
                None,
                &self.links,
            );
            if start == 0 && width == self.grid.size().cols() {
                wrapping = row.wrapped();
            }
            contents
        })
    }

    /// Returns a string containing escape sequences sufficient to turn the
    /// visible contents of the screen described by `prev` into the visible
    /// contents of the screen described by `self`.
    ///
    /// The result of rendering `prev.contents_formatted()` followed by
    /// `self.contents_diff(prev)` should be equivalent to the result of
    /// rendering `self.contents_formatted()`. This is primarily useful when
    /// you already have a terminal parser whose state is described by `prev`,
    /// since the diff will likely require less memory and cause less
    /// flickering than redrawing the entire screen contents.
    #[must_use]
    pub fn contents_diff(&self, prev: &Self) -> String {
        let mut contents = String::new();
        self.write_contents_diff(&mut contents, prev);
        contents
    }

    fn write_contents_diff(&self, contents: &mut String, prev: &Self) {
        if self.hide_cursor() != prev.hide_cursor() {
            crate::term::HideCursor::new(self.hide_cursor())
                .write_buf(contents);
        }
        let prev_attrs = self.grid().write_contents_diff(
            contents,
            prev.grid(),
            prev.attrs,
            &self.links,
        );
        self.attrs
            .write_escape_code_diff(contents, &prev_attrs, &self.links);
    }

    /// Returns a sequence of strings containing escape sequences sufficient to
    /// turn the visible contents of the subset of each row from `prev` (as
    /// described by `start` and `width`) into the visible contents of the
    /// corresponding row subset in `self`.
    ///
    /// You are responsible for positioning the cursor before printing each
    /// row, and the final cursor position after displaying each row is
    /// unspecified.
    // the unwraps in this method shouldn't be reachable
    #[allow(clippy::missing_panics_doc)]
    pub fn rows_diff<'a>(
        &'a self,
        prev: &'a Self,
        start: u16,
        width: u16,
    ) -> impl Iterator<Item = String> + 'a {
        self.grid()
            .visible_rows()
            .zip(prev.grid().visible_rows())
            .enumerate()
            .map(move |(i, (row, prev_row))| {
                // number of rows in a grid is stored in a u16 (see Size), so
                // visible_rows can never return enough rows to overflow here
                let i = i.try_into().unwrap();
                let mut contents = String::new();
                row.write_contents_diff(
                    &mut contents,
                    prev_row,
                    start,
                    width,
                    i,
                    false,
                    false,
                    crate::grid::Pos { row: i, col: start },
                    crate::attrs::Attrs::default(),
                    &self.links,
                );
                contents
            })
    }

    /// Returns terminal escape sequences sufficient to set the current
    /// terminal's input modes.
    ///
    /// Supported modes are:
    /// * application keypad
    /// * application cursor
    /// * bracketed paste
    /// * xterm mouse support
    #[must_use]
    pub fn input_mode_formatted(&self) -> String {
        let mut contents = String::new();
        self.write_input_mode_formatted(&mut contents);
        contents
    }

    fn write_input_mode_formatted(&self, contents: &mut String) {
        crate::term::ApplicationKeypad::new(
            self.mode(MODE_APPLICATION_KEYPAD),
        )
        .write_buf(contents);
        crate::term::ApplicationCursor::new(
            self.mode(MODE_APPLICATION_CURSOR),
        )
        .write_buf(contents);
        crate::term::BracketedPaste::new(self.mode(MODE_BRACKETED_PASTE))
            .write_buf(contents);
        crate::term::MouseProtocolMode::new(
            self.mouse_protocol_mode,
            MouseProtocolMode::None,
        )
        .write_buf(contents);
        crate::term::MouseProtocolEncoding::new(
            self.mouse_protocol_encoding,
            MouseProtocolEncoding::Default,
        )
        .write_buf(contents);
        crate::term::CursorStyle::new(
            self.cursor_style,
            CursorStyle::Default,
        )
        .write_buf(contents);
    }

    /// Returns terminal escape sequences sufficient to change the previous
    /// terminal's input modes to the input modes enabled in the current
    /// terminal.
    #[must_use]
    pub fn input_mode_diff(&self, prev: &Self) -> String {
        let mut contents = String::new();
        self.write_input_mode_diff(&mut contents, prev);
        contents
    }

    fn write_input_mode_diff(&self, contents: &mut String, prev: &Self) {
        if self.mode(MODE_APPLICATION_KEYPAD)
            != prev.mode(MODE_APPLICATION_KEYPAD)
        {
            crate::term::ApplicationKeypad::new(
                self.mode(MODE_APPLICATION_KEYPAD),
            )
            .write_buf(contents);
        }
        if self.mode(MODE_APPLICATION_CURSOR)
            != prev.mode(MODE_APPLICATION_CURSOR)
        {
            crate::term::ApplicationCursor::new(
                self.mode(MODE_APPLICATION_CURSOR),
            )
            .write_buf(contents);
        }
        if self.mode(MODE_BRACKETED_PASTE) != prev.mode(MODE_BRACKETED_PASTE)
        {
            crate::term::BracketedPaste::new(self.mode(MODE_BRACKETED_PASTE))
                .write_buf(contents);
        }
        crate::term::MouseProtocolMode::new(
            self.mouse_protocol_mode,
            prev.mouse_protocol_mode,
        )
        .write_buf(contents);
        crate::term::MouseProtocolEncoding::new(
            self.mouse_protocol_encoding,
            prev.mouse_protocol_encoding,
        )
        .write_buf(contents);
        crate::term::CursorStyle::new(self.cursor_style, prev.cursor_style)
            .write_buf(contents);
    }

    /// Returns terminal escape sequences sufficient to set the current
    /// terminal's drawing attributes.
    ///
    /// Supported drawing attributes are:
    /// * fgcolor
    /// * bgcolor
    /// * bold
    /// * dim
    /// * italic
    /// * underline
    /// * inverse
    ///
    /// This is not typically necessary, since
    /// [`contents_formatted`](Self::contents_formatted) will leave
    /// the current active drawing attributes in the correct state, but this
    /// can be useful in the case of drawing additional things on top of a
    /// terminal output, since you will need to restore the terminal state
    /// without the terminal contents necessarily being the same.
    #[must_use]
    pub fn attributes_formatted(&self) -> String {
        let mut contents = String::new();
        self.write_attributes_formatted(&mut contents);
        contents
    }

    fn write_attributes_formatted(&self, contents: &mut String) {
        crate::term::ClearAttrs.write_buf(contents);
        self.attrs.write_escape_code_diff(
            contents,
            &crate::attrs::Attrs::default(),
            &self.links,
        );
    }

    /// Returns the current cursor position of the terminal.
    ///
    /// The return value will be (row, col).
    #[must_use]
    pub fn cursor_position(&self) -> (u16, u16) {
        let pos = self.grid().pos();
        (pos.row, pos.col)
    }

    /// Returns terminal escape sequences sufficient to set the current
    /// cursor state of the terminal.
    ///
    /// This is not typically necessary, since
    /// [`contents_formatted`](Self::contents_formatted) will leave
    /// the cursor in the correct state, but this can be useful in the case of
    /// drawing additional things on top of a terminal output, since you will
    /// need to restore the terminal state without the terminal contents
    /// necessarily being the same.
    ///
    /// Note that the string returned by this function may alter the active
    /// drawing attributes, because it may require redrawing existing cells in
    /// order to position the cursor correctly (for instance, in the case
    /// where the cursor is past the end of a row). Therefore, you should
    /// ensure to reset the active drawing attributes if necessary after
    /// processing this data, for instance by using
    /// [`attributes_formatted`](Self::attributes_formatted).
    #[must_use]
    pub fn cursor_state_formatted(&self) -> String {
        let mut contents = String::new();
        self.write_cursor_state_formatted(&mut contents);
        contents
    }

    fn write_cursor_state_formatted(&self, contents: &mut String) {
        crate::term::HideCursor::new(self.hide_cursor()).write_buf(contents);
        self.grid().write_cursor_position_formatted(
            contents,
            None,
            None,
            &self.links,
        );

        // we don't just call write_attributes_formatted here, because that
        // would still be confusing - consider the case where the user sets
        // their own unrelated drawing attributes (on a different parser
        // instance) and then calls cursor_state_formatted. just documenting
        // it and letting the user handle it on their own is more
        // straightforward.
    }

    /// Returns the [`Cell`](crate::Cell) object at the given location in the
    /// terminal, if it exists.
    #[must_use]
    pub fn cell(&self, row: u16, col: u16) -> Option<&crate::Cell> {
        self.grid().visible_cell(crate::grid::Pos { row, col })
    }

    /// A name for what row `row` now shows (at the scrollback offset in
    /// force): its cells and whether it wraps. A later call that returns the
    /// same name means the row shows the same, on this screen or a clone of
    /// it, so a caller drawing rows itself can skip the unchanged ones
    /// without comparing their cells. Names are never 0, and `None` is a
    /// row past the screen's last.
    #[must_use]
    pub fn row_version(&self, row: u16) -> Option<core::num::NonZeroUsize> {
        self.grid()
            .visible_row(row)
            .and_then(|row| core::num::NonZeroUsize::new(row.version()))
    }

    /// Returns whether the text in row `row` should wrap to the next line.
    #[must_use]
    pub fn row_wrapped(&self, row: u16) -> bool {
        self.grid()
            .visible_row(row)
            .is_some_and(crate::row::Row::wrapped)
    }

    /// Returns whether the alternate screen is currently in use.
    #[must_use]
    pub fn alternate_screen(&self) -> bool {
        self.mode(MODE_ALTERNATE_SCREEN)
    }

    /// Returns whether the terminal should be in application keypad mode.
    #[must_use]
    pub fn application_keypad(&self) -> bool {
        self.mode(MODE_APPLICATION_KEYPAD)
    }

    /// Returns whether the terminal should be in application cursor mode.
    #[must_use]
    pub fn application_cursor(&self) -> bool {
        self.mode(MODE_APPLICATION_CURSOR)
    }

    /// Returns whether the terminal should be in hide cursor mode.
    #[must_use]
    pub fn hide_cursor(&self) -> bool {
        self.mode(MODE_HIDE_CURSOR)
    }

    /// How many rows of both grids, scrollback included, hold cells: a
    /// blank row holds none. For tests and memory accounting.
    #[doc(hidden)]
    #[must_use]
    pub fn allocated_rows(&self) -> usize {
        self.grid.allocated_rows() + self.alternate_grid.allocated_rows()
    }

    /// Gives back the cells of every row that is blank (all default
    /// cells), on both screens: it then reads the same and costs a row's
    /// header only. Erasing and scrolling keep a row's cells for the text
    /// that usually follows (a full-screen program redraws a line by
    /// erasing it and writing it again), so a caller calls this once the
    /// output has stopped for a while. Returns how many rows it freed.
    pub fn forget_blank_rows(&mut self) -> usize {
        self.grid.forget_blank_rows()
            + self.alternate_grid.forget_blank_rows()
    }

    /// Returns whether insert mode (IRM, `CSI 4 h`) is on: printed text
    /// moves the rest of the row right instead of overwriting it.
    #[must_use]
    pub fn insert_mode(&self) -> bool {
        self.mode(MODE_INSERT)
    }

    /// Returns whether autowrap (DECAWM, `CSI ? 7 h`) is on: text at the
    /// right margin goes on to the next line. It is on until a program
    /// turns it off.
    #[must_use]
    pub fn autowrap(&self) -> bool {
        !self.mode(MODE_NO_AUTOWRAP)
    }

    /// Returns whether origin mode (DECOM, `CSI ? 6 h`) is on: cursor
    /// positions count from the top of the scroll region.
    #[must_use]
    pub fn origin_mode(&self) -> bool {
        self.grid().origin_mode()
    }

    /// Returns whether the terminal should be in bracketed paste mode.
    #[must_use]
    pub fn bracketed_paste(&self) -> bool {
        self.mode(MODE_BRACKETED_PASTE)
    }

    /// Returns the currently active [`MouseProtocolMode`].
    #[must_use]
    pub fn mouse_protocol_mode(&self) -> MouseProtocolMode {
        self.mouse_protocol_mode
    }

    /// Returns the currently active [`MouseProtocolEncoding`].
    #[must_use]
    pub fn mouse_protocol_encoding(&self) -> MouseProtocolEncoding {
        self.mouse_protocol_encoding
    }

    /// Returns the currently active [`CursorStyle`].
    #[must_use]
    pub fn cursor_style(&self) -> CursorStyle {
        self.cursor_style
    }

    /// Returns the currently active foreground color.
    #[must_use]
    pub fn fgcolor(&self) -> crate::Color {
        self.attrs.fgcolor
    }

    /// Returns the currently active background color.
    #[must_use]
    pub fn bgcolor(&self) -> crate::Color {
        self.attrs.bgcolor
    }

    /// Returns whether newly drawn text should be rendered with the bold text
    /// attribute.
    #[must_use]
    pub fn bold(&self) -> bool {
        self.attrs.bold()
    }

    /// Returns whether newly drawn text should be rendered with the dim text
    /// attribute.
    #[must_use]
    pub fn dim(&self) -> bool {
        self.attrs.dim()
    }

    /// Returns whether newly drawn text should be rendered with the italic
    /// text attribute.
    #[must_use]
    pub fn italic(&self) -> bool {
        self.attrs.italic()
    }

    /// Returns whether newly drawn text should be rendered with the
    /// underlined text attribute.
    #[must_use]
    pub fn underline(&self) -> bool {
        self.attrs.underline()
    }

    /// Returns whether newly drawn text should be rendered with the inverse
    /// text attribute.
    #[must_use]
    pub fn inverse(&self) -> bool {
        self.attrs.inverse()
    }

    pub(crate) fn grid(&self) -> &crate::grid::Grid {
        if self.mode(MODE_ALTERNATE_SCREEN) {
            &self.alternate_grid
        } else {
            &self.grid
        }
    }

    fn grid_mut(&mut self) -> &mut crate::grid::Grid {
        if self.mode(MODE_ALTERNATE_SCREEN) {
            &mut self.alternate_grid
        } else {
            &mut self.grid
        }
    }

    fn enter_alternate_grid(&mut self) {
        self.grid_mut().set_scrollback(0);
        self.set_mode(MODE_ALTERNATE_SCREEN);
        self.alternate_grid.allocate_rows();
    }

    fn exit_alternate_grid(&mut self) {
        self.clear_mode(MODE_ALTERNATE_SCREEN);
    }

    /// Switches to a cleared alternate screen with the cursor where it is
    /// (`?47`, `?1047`, and `?1049` after saving it), as xterm and tmux
    /// have one cursor for both screens. Nothing when already there.
    fn enter_alternate_screen(&mut self) {
        if self.mode(MODE_ALTERNATE_SCREEN) {
            return;
        }
        let pos = self.grid().pos();
        self.alternate_grid.clear();
        self.enter_alternate_grid();
        self.grid_mut().move_to(pos);
    }

    /// Back to the main screen, the cursor where it is. Nothing when not
    /// on the alternate screen.
    fn exit_alternate_screen(&mut self) {
        if !self.mode(MODE_ALTERNATE_SCREEN) {
            return;
        }
        let pos = self.grid().pos();
        self.exit_alternate_grid();
        self.grid_mut().move_to(pos);
    }

    // DECSC saves the character sets and the shift with the cursor, as in
    // xterm and tmux: vttest's save/restore screen draws half a line in
    // the line drawing set, saves, prints in ASCII elsewhere and restores.
    fn save_cursor(&mut self) {
        self.grid_mut().save_cursor();
        self.saved_attrs = self.attrs;
        self.saved_charsets = self.charsets;
        self.saved_shifted_out = self.shifted_out;
    }

    fn restore_cursor(&mut self) {
        self.grid_mut().restore_cursor();
        self.attrs = self.saved_attrs;
        self.charsets = self.saved_charsets;
        self.shifted_out = self.saved_shifted_out;
    }

    fn set_mode(&mut self, mode: u8) {
        self.modes |= mode;
    }

    fn clear_mode(&mut self, mode: u8) {
        self.modes &= !mode;
    }

    fn mode(&self, mode: u8) -> bool {
        self.modes & mode != 0
    }

    fn set_mouse_mode(&mut self, mode: MouseProtocolMode) {
        self.mouse_protocol_mode = mode;
    }

    fn clear_mouse_mode(&mut self, mode: MouseProtocolMode) {
        if self.mouse_protocol_mode == mode {
            self.mouse_protocol_mode = MouseProtocolMode::default();
        }
    }

    fn set_mouse_encoding(&mut self, encoding: MouseProtocolEncoding) {
        self.mouse_protocol_encoding = encoding;
    }

    fn clear_mouse_encoding(&mut self, encoding: MouseProtocolEncoding) {
        if self.mouse_protocol_encoding == encoding {
            self.mouse_protocol_encoding = MouseProtocolEncoding::default();
        }
    }

    fn set_cursor_style(&mut self, style: CursorStyle) {
        self.cursor_style = style;
    }

    // determine the width of the character we're about to draw, and whether
    // it makes sense to even attempt to draw a character of that width.
    fn calculate_width(&self, c: char) -> Option<u16> {
        let pos = self.grid().pos();
        let size = self.grid().size();

        let width = c.width();
        if width.is_none() && (u32::from(c)) < 256 {
            // don't even try to draw control characters
            return None;
        }
        let width = u16::try_from(width.unwrap_or(1))
            // char::width() can only return 0, 1, 2, or 3
            .unwrap();
        // TODO: this is invalid for U+17D8 which has a width of 3 for some
        // reason, but adding triple width characters is going to be a
        // massive pain just for this one character
        let width = width.min(2);

        // if the character is wider than the screen, we can't draw it, so
        // just ignore it
        if width > size.cols() {
            return None;
        }

        // a continuation character without a base character before it is
        // meaningless
        if width == 0 && pos.col == 0 {
            return None;
        }

        Some(width)
    }

    // if this is the initial codepoint in a new cell, we need to determine
    // whether wrapping that character to the next row should set the row's
    // wrapping flag
    fn new_character_should_wrap(&self, width: u16) -> bool {
        // A character that does not fit goes on in the next row, which
        // continues this one's line, as in tmux: also when it is a wide
        // character with only the (empty) last column left, so that a
        // line rewrapped at another width stays one line.
        let pos = self.grid().pos();
        pos.col + width > self.grid().size().cols()
    }

    /// Prints `c` the short way when it is printable ASCII landing in a
    /// plain cell: the character set is ASCII, insert mode is off, the
    /// cursor is on the screen (not waiting to wrap), and neither the cell
    /// nor the one before it is part of a wide character. Then the
    /// character takes the cell and the cursor moves on, which is all the
    /// general path would do. Returns false, having changed nothing, when
    /// the general path must print it.
    fn text_plain(&mut self, c: char) -> bool {
        #[cfg(test)]
        if SLOW_TEXT.with(core::cell::Cell::get) {
            return false;
        }
        let Ok(byte @ b' '..=b'~') = u8::try_from(c) else {
            return false;
        };
        if self.charsets[usize::from(self.shifted_out)] != Charset::Ascii
            || self.mode(MODE_INSERT)
        {
            return false;
        }
        let attrs = self.pen();
        let grid = self.grid_mut();
        let pos = grid.pos();
        if pos.col >= grid.size().cols() {
            return false;
        }
        let Some(row) = grid.drawing_row_mut(pos.row) else {
            return false;
        };
        let wide = |cell: Option<&crate::Cell>| {
            cell.is_none_or(|c| c.is_wide() || c.is_wide_continuation())
        };
        if wide(row.get(pos.col))
            || (pos.col > 0 && wide(row.get(pos.col - 1)))
        {
            return false;
        }
        let Some(cell) = row.get_mut(pos.col) else {
            return false;
        };
        cell.set_ascii(byte, attrs);
        grid.col_inc(1);
        self.last_char = Some(c);
        true
    }

    // if we already have a character in a cell, but adding a continuation
    // character widened the cell off the end of the row, we need to move the
    // base character to the beginning of the next row
    fn wrap_widened_cell(
        &mut self,
        old_pos: crate::grid::Pos,
        new_pos: crate::grid::Pos,
    ) {
        if new_pos.col == 0 {
            let attrs = self.pen();
            let contents = self
                .grid()
                .drawing_cell(old_pos)
                .unwrap()
                .contents()
                .to_string();
            self.grid_mut()
                .drawing_cell_mut(new_pos)
                .unwrap()
                .set_contents(&contents, attrs);
            self.grid_mut()
                .drawing_cell_mut(old_pos)
                .unwrap()
                .clear(attrs);
            self.grid_mut().col_inc(2);
        } else {
            self.grid_mut().col_inc(1);
        }
    }

    // once we have drawn a character, clean up the wide character state of
    // nearby cells that may have been disrupted.
    fn text_cleanup(
        &mut self,
        base_pos: crate::grid::Pos,
        cell_was_wide: bool,
        cell_is_wide: bool,
    ) {
        let size = self.grid().size();
        let attrs = self.pen();

        if base_pos.col > 0 {
            let prev_cell = self
                .grid_mut()
                .drawing_cell_mut(crate::grid::Pos {
                    row: base_pos.row,
                    col: base_pos.col - 1,
                })
                // pos.row is assumed valid, and pos.col was just
                // checked to be greater than 0.
                .unwrap();
            if prev_cell.is_wide() {
                prev_cell.clear(*prev_cell.attrs());
            }
        }

        if cell_was_wide && !cell_is_wide {
            let next_cell = self
                .grid_mut()
                .drawing_cell_mut(crate::grid::Pos {
                    row: base_pos.row,
                    col: base_pos.col + 1,
                })
                // base_pos.row is assumed valid, and this cell previously
                // was wide, so there must have been a continuation cell
                // after it.
                .unwrap();
            next_cell.set(' ', attrs);
        }

        if !cell_was_wide && cell_is_wide {
            let next_cell = self
                .grid_mut()
                .drawing_cell_mut(crate::grid::Pos {
                    row: base_pos.row,
                    col: base_pos.col + 1,
                })
                // base_pos.row is assumed valid, and the cell at base_pos
                // has become wide, so it must have a cell after it (if it
                // didn't, we would have wrapped earlier when widening the
                // cell).
                .unwrap();
            let next_cell_was_wide = next_cell.is_wide();
            next_cell.clear(crate::attrs::Attrs::default());
            next_cell.set_wide_continuation(true);
            if next_cell_was_wide {
                let next_next_cell = self
                    .grid_mut()
                    .drawing_cell_mut(crate::grid::Pos {
                        row: base_pos.row,
                        col: base_pos.col + 2,
                    })
                    // the cell at base_pos.col + 1 was previously wide, so
                    // it must have had a continuation cell after it.
                    .unwrap();
                next_next_cell.clear(attrs);
                if base_pos.col + 2 == size.cols() - 1 {
                    self.grid_mut()
                        .drawing_row_mut(base_pos.row)
                        .unwrap()
                        .wrap(false);
                }
            }
        }
    }
}

#[cfg(test)]
std::thread_local! {
    /// Every character goes the general way: the reference that tests
    /// compare the short way (`Screen::text_plain`) against.
    static SLOW_TEXT: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// Runs `f` with this thread's screens printing every character the
/// general way (see `SLOW_TEXT`).
#[cfg(test)]
pub fn text_slowly<T>(f: impl FnOnce() -> T) -> T {
    SLOW_TEXT.with(|slow| slow.set(true));
    let result = f();
    SLOW_TEXT.with(|slow| slow.set(false));
    result
}

pub struct WrappedScreen<CB: crate::Callbacks> {
    pub screen: Screen,
    pub callbacks: CB,
}

impl<CB: crate::Callbacks> WrappedScreen<CB> {
    /// Gets the `on_row` callback for methods like
    /// [`crate::grid::Grid::scroll_up`].
    fn on_row<'cb>(
        is_alternate: bool,
        links: &'cb crate::hyperlink::Hyperlinks,
        callbacks: &'cb mut CB,
    ) -> impl FnMut(&crate::row::Row) + 'cb {
        move |row| {
            callbacks.on_scroll(
                crate::capture::RowContents(row, links),
                is_alternate,
            );
        }
    }

    /// Resizes the screen, calling [`on_scroll`] for each row that is pushed
    /// off the top of the screen's scrollback.
    ///
    /// [`on_scroll`]: crate::Callbacks::on_scroll
    pub fn set_size_with_cb(
        &mut self,
        rows: core::num::NonZeroU16,
        cols: core::num::NonZeroU16,
    ) {
        let callbacks = &mut self.callbacks;
        let links = &self.screen.links;
        self.screen
            .grid
            .set_size(crate::grid::Size { rows, cols }, |row| {
                callbacks.on_scroll(
                    crate::capture::RowContents(row, links),
                    false,
                );
            });
        self.screen.alternate_grid.set_size(
            crate::grid::Size { rows, cols },
            |row| {
                callbacks
                    .on_scroll(crate::capture::RowContents(row, links), true);
            },
        );
    }

    pub fn text(&mut self, c: char) {
        if self.screen.text_plain(c) {
            return;
        }
        let screen = &mut self.screen;
        let c = screen.charsets[usize::from(screen.shifted_out)].map(c);
        let pos = screen.grid().pos();
        let attrs = screen.pen();

        let Some(width) = screen.calculate_width(c) else {
            return;
        };

        // base_pos will always be set to a valid cell, so
        // .drawing_cell(base_pos).unwrap() will always be valid
        let mut base_pos;
        let cell_was_wide;

        if width > 0 {
            // Without autowrap, text at the right margin overwrites its last
            // column(s) instead of going on to the next line.
            let cols = screen.grid().size().cols();
            if screen.mode(MODE_NO_AUTOWRAP) && pos.col + width > cols {
                screen.grid_mut().col_set(cols.saturating_sub(width));
            }
            let wrap = screen.new_character_should_wrap(width);
            let is_alternate = screen.mode(MODE_ALTERNATE_SCREEN);
            let (grid, links) = screen.grid_and_links_mut();
            let on_row =
                Self::on_row(is_alternate, links, &mut self.callbacks);
            grid.col_wrap(width, wrap, on_row);
            // In insert mode the character makes room for itself; what
            // is pushed past the right margin is lost.
            if screen.mode(MODE_INSERT) {
                screen.grid_mut().insert_cells(width);
            }
            // col_wrap always sets self.grid().pos() to a valid cell
            base_pos = screen.grid().pos();
            cell_was_wide =
                screen.grid().drawing_cell(base_pos).unwrap().is_wide();

            screen
                .grid_mut()
                .drawing_cell_mut(base_pos)
                .unwrap()
                .set(c, attrs);
            screen.last_char = Some(c);
            screen.grid_mut().col_inc(width);
        } else {
            // pos.row is valid, since it comes directly from
            // self.grid().pos() which we assume to always have a
            // valid row value. pos.col - 1 is valid because we just
            // returned early if pos.col == 0.
            base_pos = crate::grid::Pos {
                row: pos.row,
                col: pos.col - 1,
            };
            if screen
                .grid_mut()
                .drawing_cell_mut(base_pos)
                .unwrap()
                .is_wide_continuation()
            {
                // pos.row is valid, since it comes directly from
                // self.grid().pos() which we assume to always have a
                // valid row value. we know pos.col - 2 is valid
                // because the cell at pos.col - 1 is a wide
                // continuation character, which means there must be
                // the first half of the wide character before it.
                base_pos = crate::grid::Pos {
                    row: pos.row,
                    col: pos.col - 2,
                };
            }
            cell_was_wide =
                screen.grid().drawing_cell(base_pos).unwrap().is_wide();

            screen
                .grid_mut()
                .drawing_cell_mut(base_pos)
                .unwrap()
                .append(c);
            let cell_is_wide =
                screen.grid().drawing_cell(base_pos).unwrap().is_wide();
            if !cell_was_wide && cell_is_wide {
                let is_alternate = screen.mode(MODE_ALTERNATE_SCREEN);
                let (grid, links) = screen.grid_and_links_mut();
                let on_row =
                    Self::on_row(is_alternate, links, &mut self.callbacks);
                grid.col_wrap(1, false, on_row);
                // col_wrap always leaves self.grid().pos() on a valid cell,
                // so .drawing_cell(new_pos).unwrap() will always be valid.
                let new_pos = screen.grid().pos();
                screen.wrap_widened_cell(base_pos, new_pos);
                if new_pos.col == 0 {
                    base_pos = new_pos;
                }
            }
        }

        let cell_is_wide =
            screen.grid().drawing_cell(base_pos).unwrap().is_wide();

        screen.text_cleanup(base_pos, cell_was_wide, cell_is_wide);
    }

    // control codes

    pub fn bs(&mut self) {
        self.screen.grid_mut().col_dec(1);
    }

    pub fn tab(&mut self) {
        self.cht(1);
    }

    // ESC H
    pub fn hts(&mut self) {
        let col = self.screen.grid().pos().col;
        let stops = self.screen.tab_stops_mut();
        if let Err(at) = stops.binary_search(&col) {
            stops.insert(at, col);
        }
    }

    // CSI g
    pub fn tbc(&mut self, mode: u16) {
        let col = self.screen.grid().pos().col;
        match mode {
            0 => self.screen.tab_stops_mut().retain(|s| *s != col),
            3 => self.screen.tab_stops_mut().clear(),
            _ => {}
        }
    }

    // CSI I
    pub fn cht(&mut self, count: u16) {
        let last = self.screen.grid().size().cols() - 1;
        // Past the last column, waiting to wrap, the cursor stays there:
        // the next character goes on to the next line, as in xterm and
        // tmux (vttest's CHT screen: tabs after a character in the last
        // column wrap once).
        if self.screen.grid().pos().col > last {
            return;
        }
        for _ in 0..count {
            let col = self.screen.grid().pos().col;
            let next = self.screen.next_tab_stop(col).unwrap_or(last);
            self.screen.grid_mut().col_set(next);
        }
    }

    // CSI Z
    pub fn cbt(&mut self, count: u16) {
        for _ in 0..count {
            let col = self.screen.grid().pos().col;
            let prev = self.screen.prev_tab_stop(col);
            self.screen.grid_mut().col_set(prev);
        }
    }

    pub fn lf(&mut self) {
        let is_alternate = self.screen.mode(MODE_ALTERNATE_SCREEN);
        let (grid, links) = self.screen.grid_and_links_mut();
        let on_row = Self::on_row(is_alternate, links, &mut self.callbacks);
        grid.row_inc_scroll(1, on_row);
    }

    pub fn vt(&mut self) {
        self.lf();
    }

    pub fn ff(&mut self) {
        self.lf();
    }

    pub fn cr(&mut self) {
        self.screen.grid_mut().col_set(0);
    }

    // escape codes

    // ESC 7
    pub fn decsc(&mut self) {
        self.screen.save_cursor();
    }

    // ESC 8
    pub fn decrc(&mut self) {
        self.screen.restore_cursor();
    }

    // ESC =
    pub fn deckpam(&mut self) {
        self.screen.set_mode(MODE_APPLICATION_KEYPAD);
    }

    // ESC >
    pub fn deckpnm(&mut self) {
        self.screen.clear_mode(MODE_APPLICATION_KEYPAD);
    }

    // ESC M
    pub fn ri(&mut self) {
        self.screen.grid_mut().row_dec_scroll(1);
    }

    // ESC D
    pub fn ind(&mut self) {
        self.lf();
    }

    // ESC E
    pub fn nel(&mut self) {
        self.cr();
        self.lf();
    }

    // ESC # 8
    pub fn decaln(&mut self) {
        let size = self.screen.grid().size();
        let grid = self.screen.grid_mut();
        grid.set_scroll_region(0, size.rows.get() - 1);
        for row in 0..size.rows.get() {
            if let Some(r) = grid.drawing_row_mut(row) {
                r.wrap(false);
                for col in 0..size.cols.get() {
                    if let Some(cell) = r.get_mut(col) {
                        cell.set('E', crate::attrs::Attrs::default());
                    }
                }
            }
        }
        grid.set_pos(crate::grid::Pos { row: 0, col: 0 });
    }

    // ESC c
    pub fn ris(&mut self) {
        // The links are kept: a copy of the screen from before the reset
        // must still agree with it on what every link id means.
        let links = core::mem::take(&mut self.screen.links);
        self.screen = Screen::new(
            self.screen.grid.size(),
            self.screen.grid.scrollback_capacity(),
        );
        self.screen.links = links;
    }

    // csi codes

    // CSI SP
    pub(crate) fn decscusr(
        &mut self,
        cursor_style: u16,
        mut unhandled: impl FnMut(&mut Self),
    ) {
        match cursor_style {
            0 => self.screen.set_cursor_style(CursorStyle::Default),
            1 => self.screen.set_cursor_style(CursorStyle::BlinkBlock),
            2 => self.screen.set_cursor_style(CursorStyle::SteadyBlock),
            3 => self.screen.set_cursor_style(CursorStyle::BlinkUnderline),
            4 => self.screen.set_cursor_style(CursorStyle::SteadyUnderline),
            5 => self.screen.set_cursor_style(CursorStyle::BlinkVerticalBar),
            6 => self.screen.set_cursor_style(CursorStyle::SteadyVerticalBar),
            _ => unhandled(self),
        }
    }

    // CSI @
    pub fn ich(&mut self, count: u16) {
        self.screen.grid_mut().insert_cells(count);
    }

    // CSI A
    pub fn cuu(&mut self, offset: u16) {
        self.screen.grid_mut().row_dec_clamp(offset);
    }

    // CSI B
    pub fn cud(&mut self, offset: u16) {
        self.screen.grid_mut().row_inc_clamp(offset);
    }

    // CSI C
    pub fn cuf(&mut self, offset: u16) {
        self.screen.grid_mut().col_inc_clamp(offset);
    }

    // CSI D
    pub fn cub(&mut self, offset: u16) {
        self.screen.grid_mut().col_dec(offset);
    }

    // CSI E
    pub fn cnl(&mut self, offset: u16) {
        self.screen.grid_mut().col_set(0);
        self.screen.grid_mut().row_inc_clamp(offset);
    }

    // CSI F
    pub fn cpl(&mut self, offset: u16) {
        self.screen.grid_mut().col_set(0);
        self.screen.grid_mut().row_dec_clamp(offset);
    }

    // CSI G
    pub fn cha(&mut self, col: u16) {
        self.screen.grid_mut().col_set(col - 1);
    }

    // CSI `  (HPA - Horizontal Position Absolute, equivalent to CHA)
    pub(crate) fn hpa(&mut self, col: u16) {
        self.cha(col);
    }

    // CSI b (REP - Repeat last printed character)
    pub(crate) fn rep(&mut self, count: u16) {
        if let Some(c) = self.screen.last_char {
            for _ in 0..count {
                self.text(c);
            }
        }
    }

    // CSI H
    pub fn cup(&mut self, (row, col): (u16, u16)) {
        self.screen.grid_mut().set_pos(crate::grid::Pos {
            row: row - 1,
            col: col - 1,
        });
    }

    // CSI J
    pub fn ed(&mut self, mode: u16, mut unhandled: impl FnMut(&mut Self)) {
        let attrs = self.screen.attrs;
        match mode {
            0 => self.screen.grid_mut().erase_all_forward(attrs),
            1 => self.screen.grid_mut().erase_all_backward(attrs),
            2 => {
                self.screen.grid_mut().erase_all(attrs);
                self.callbacks.erased_in_display(&mut self.screen, mode);
            }
            3 => {
                let is_alternate = self.screen.mode(MODE_ALTERNATE_SCREEN);
                let (grid, links) = self.screen.grid_and_links_mut();
                let on_row =
                    Self::on_row(is_alternate, links, &mut self.callbacks);
                grid.erase_all_scrollback(on_row);
                self.callbacks.erased_in_display(&mut self.screen, mode);
            }
            _ => unhandled(self),
        }
    }

    // CSI ? J
    pub fn decsed(&mut self, mode: u16, unhandled: impl FnMut(&mut Self)) {
        self.ed(mode, unhandled);
    }

    // CSI K
    pub fn el(&mut self, mode: u16, mut unhandled: impl FnMut(&mut Self)) {
        let attrs = self.screen.attrs;
        match mode {
            0 => self.screen.grid_mut().erase_row_forward(attrs),
            1 => self.screen.grid_mut().erase_row_backward(attrs),
            2 => self.screen.grid_mut().erase_row(attrs),
            _ => unhandled(self),
        }
    }

    // CSI ? K
    pub fn decsel(&mut self, mode: u16, unhandled: impl FnMut(&mut Self)) {
        self.el(mode, unhandled);
    }

    // CSI L
    pub fn il(&mut self, count: u16) {
        self.screen.grid_mut().insert_lines(count);
    }

    // CSI M
    pub fn dl(&mut self, count: u16) {
        self.screen.grid_mut().delete_lines(count);
    }

    // CSI P
    pub fn dch(&mut self, count: u16) {
        self.screen.grid_mut().delete_cells(count);
    }

    // CSI S
    pub fn su(&mut self, count: u16) {
        let is_alternate = self.screen.mode(MODE_ALTERNATE_SCREEN);
        let (grid, links) = self.screen.grid_and_links_mut();
        let on_row = Self::on_row(is_alternate, links, &mut self.callbacks);
        grid.scroll_up(count, on_row);
    }

    // CSI T
    pub fn sd(&mut self, count: u16) {
        self.screen.grid_mut().scroll_down(count);
    }

    // CSI X
    pub fn ech(&mut self, count: u16) {
        let attrs = self.screen.attrs;
        self.screen.grid_mut().erase_cells(count, attrs);
    }

    // CSI d
    pub fn vpa(&mut self, row: u16) {
        self.screen.grid_mut().row_set(row - 1);
    }

    // CSI h
    pub fn sm(
        &mut self,
        params: &vte::Params,
        mut unhandled: impl FnMut(&mut Self),
    ) {
        for param in params {
            match param {
                [4] => self.screen.set_mode(MODE_INSERT),
                _ => unhandled(self),
            }
        }
    }

    // CSI l
    pub fn rm(
        &mut self,
        params: &vte::Params,
        mut unhandled: impl FnMut(&mut Self),
    ) {
        for param in params {
            match param {
                [4] => self.screen.clear_mode(MODE_INSERT),
                _ => unhandled(self),
            }
        }
    }

    // CSI ? 3 h, CSI ? 3 l
    /// DECCOLM asks for 132 or 80 columns. The width is the terminal's to
    /// choose and stays; the screen is cleared and the cursor homed, as
    /// xterm and tmux do, which programs switching it expect.
    pub fn deccolm(&mut self) {
        let attrs = self.screen.attrs;
        self.screen.grid_mut().erase_all(attrs);
        self.screen
            .grid_mut()
            .set_pos(crate::grid::Pos { row: 0, col: 0 });
    }

    // CSI ? h
    pub fn decset(
        &mut self,
        params: &vte::Params,
        mut unhandled: impl FnMut(&mut Self),
    ) {
        for param in params {
            let screen = &mut self.screen;
            match param {
                [1] => screen.set_mode(MODE_APPLICATION_CURSOR),
                [3] => self.deccolm(),
                [6] => screen.grid_mut().set_origin_mode(true),
                [7] => screen.clear_mode(MODE_NO_AUTOWRAP),
                [9] => screen.set_mouse_mode(MouseProtocolMode::Press),
                [25] => screen.clear_mode(MODE_HIDE_CURSOR),
                [47 | 1047] => screen.enter_alternate_screen(),
                [1000] => {
                    screen.set_mouse_mode(MouseProtocolMode::PressRelease);
                }
                [1002] => {
                    screen.set_mouse_mode(MouseProtocolMode::ButtonMotion);
                }
                [1003] => screen.set_mouse_mode(MouseProtocolMode::AnyMotion),
                [1005] => {
                    screen.set_mouse_encoding(MouseProtocolEncoding::Utf8);
                }
                [1006] => {
                    screen.set_mouse_encoding(MouseProtocolEncoding::Sgr);
                }
                [1049] => {
                    if !self.screen.mode(MODE_ALTERNATE_SCREEN) {
                        self.decsc();
                    }
                    self.screen.enter_alternate_screen();
                }
                [2004] => screen.set_mode(MODE_BRACKETED_PASTE),
                _ => unhandled(self),
            }
        }
    }

    // CSI ? l
    pub fn decrst(
        &mut self,
        params: &vte::Params,
        mut unhandled: impl FnMut(&mut Self),
    ) {
        for param in params {
            let screen = &mut self.screen;
            match param {
                [1] => screen.clear_mode(MODE_APPLICATION_CURSOR),
                [3] => self.deccolm(),
                [6] => screen.grid_mut().set_origin_mode(false),
                [7] => screen.set_mode(MODE_NO_AUTOWRAP),
                [9] => screen.clear_mouse_mode(MouseProtocolMode::Press),
                [25] => screen.set_mode(MODE_HIDE_CURSOR),
                [47 | 1047] => screen.exit_alternate_screen(),
                [1000] => {
                    screen.clear_mouse_mode(MouseProtocolMode::PressRelease);
                }
                [1002] => {
                    screen.clear_mouse_mode(MouseProtocolMode::ButtonMotion);
                }
                [1003] => {
                    screen.clear_mouse_mode(MouseProtocolMode::AnyMotion);
                }
                [1005] => {
                    screen.clear_mouse_encoding(MouseProtocolEncoding::Utf8);
                }
                [1006] => {
                    screen.clear_mouse_encoding(MouseProtocolEncoding::Sgr);
                }
                [1049] => {
                    if screen.mode(MODE_ALTERNATE_SCREEN) {
                        screen.exit_alternate_screen();
                        self.decrc();
                    }
                }
                [2004] => screen.clear_mode(MODE_BRACKETED_PASTE),
                _ => unhandled(self),
            }
        }
    }

    // CSI m
    pub fn sgr(
        &mut self,
        params: &vte::Params,
        mut unhandled: impl FnMut(&mut Self),
    ) {
        // XXX really i want to just be able to pass in a default Params
        // instance with a 0 in it, but vte doesn't allow creating new Params
        // instances
        if params.is_empty() {
            self.screen.attrs = crate::attrs::Attrs::default();
            return;
        }

        let mut iter = params.iter();

        macro_rules! next_param {
            () => {
                match iter.next() {
                    Some(n) => n,
                    _ => return,
                }
            };
        }

        macro_rules! to_u8 {
            ($n:expr) => {
                if let Some(n) = u16_to_u8($n) {
                    n
                } else {
                    return;
                }
            };
        }

        macro_rules! next_param_u8 {
            () => {
                if let &[n] = next_param!() {
                    to_u8!(n)
                } else {
                    return;
                }
            };
        }

        loop {
            let screen = &mut self.screen;
            match next_param!() {
                [0] => screen.attrs = crate::attrs::Attrs::default(),
                [1] => screen.attrs.set_bold(),
                [2] => screen.attrs.set_dim(),
                [3] => screen.attrs.set_italic(true),
                // The underline styles: `4:1` single, `4:2` (or `21`)
                // double, `4:3` curly, `4:4` dotted, `4:5` dashed.
                [4] => screen.attrs.set_underline(true),
                [21] => screen.attrs.set_underline_style(
                    crate::attrs::UnderlineStyle::Double,
                ),
                [4, style @ 1..=5] => {
                    let style = to_u8!(*style);
                    screen.attrs.set_underline_style(
                        crate::attrs::UnderlineStyle::from_sgr(style),
                    );
                }
                [n @ (5 | 8 | 9 | 25 | 28 | 29)] => screen.attrs.set_flag(*n),
                [53] => screen.attrs.set_overline(true),
                [55] => screen.attrs.set_overline(false),
                [7] => screen.attrs.set_inverse(true),
                [22] => screen.attrs.set_normal_intensity(),
                [23] => screen.attrs.set_italic(false),
                [4, 0] | [24] => screen.attrs.set_underline(false),
                [27] => screen.attrs.set_inverse(false),
                [n] if (30..=37).contains(n) => {
                    screen
                        .attrs
                        .set_fgcolor(crate::Color::Idx(to_u8!(*n) - 30));
                }
                // Text (38), background (48) and underline (58) colours:
                // `38:2:r:g:b`, and `38:2:ID:r:g:b` with a colour space
                // (empty in the usual `38:2::r:g:b`), `38:5:i`, and the
                // same with semicolons.
                [n @ (38 | 48 | 58), 2, r, g, b]
                | [n @ (38 | 48 | 58), 2, _, r, g, b] => {
                    let color =
                        crate::Color::Rgb(to_u8!(*r), to_u8!(*g), to_u8!(*b));
                    screen.attrs.set_color(*n, color);
                }
                [n @ (38 | 48 | 58), 5, i] => {
                    screen.attrs.set_color(*n, crate::Color::Idx(to_u8!(*i)));
                }
                [n @ (38 | 48 | 58)] => {
                    let n = *n;
                    let color = match next_param!() {
                        [2] => {
                            let r = next_param_u8!();
                            let g = next_param_u8!();
                            let b = next_param_u8!();
                            crate::Color::Rgb(r, g, b)
                        }
                        [5] => crate::Color::Idx(next_param_u8!()),
                        _ => {
                            unhandled(self);
                            return;
                        }
                    };
                    self.screen.attrs.set_color(n, color);
                }
                [59] => screen.attrs.ulcolor = crate::Color::Default,
                [39] => {
                    screen.attrs.set_fgcolor(crate::Color::Default);
                }
                [n] if (40..=47).contains(n) => {
                    screen
                        .attrs
                        .set_bgcolor(crate::Color::Idx(to_u8!(*n) - 40));
                }
                [49] => {
                    screen.attrs.set_bgcolor(crate::Color::Default);
                }
                [n] if (90..=97).contains(n) => {
                    screen
                        .attrs
                        .set_fgcolor(crate::Color::Idx(to_u8!(*n) - 82));
                }
                [n] if (100..=107).contains(n) => {
                    screen
                        .attrs
                        .set_bgcolor(crate::Color::Idx(to_u8!(*n) - 92));
                }
                _ => unhandled(self),
            }
        }
    }

    // CSI r
    pub fn decstbm(&mut self, (top, bottom): (u16, u16)) {
        self.screen
            .grid_mut()
            .set_scroll_region(top - 1, bottom - 1);
    }
}

fn u16_to_u8(i: u16) -> Option<u8> {
    if i > u16::from(u8::MAX) {
        None
    } else {
        // safe because we just ensured that the value fits in a u8
        Some(i.try_into().unwrap())
    }
}

#[cfg(test)]
mod diff_tests {
    use alloc::vec::Vec;

    fn parser() -> crate::Parser {
        let size = |n| core::num::NonZeroU16::new(n).unwrap();
        crate::Parser::new(size(6), size(12), 0)
    }

    /// The diff from one screen to the next, applied to a terminal that
    /// shows the first, shows the second: with unchanged rows skipped,
    /// wrapped rows, wide characters and attributes.
    #[test]
    fn a_screen_cloned_into_another_is_the_same_screen() {
        let mut a = parser();
        a.process(b"one\r\n\x1b[31mtwo\x1b[m\r\n\xe4\xb8\x80\x1b[?1049hALT\x1b[3g\x1bH\x1b[?25l");
        let mut b = parser();
        b.process(b"something else entirely, longer than a row");
        let mut copy = b.screen().clone();
        copy.clone_from(a.screen());
        assert_eq!(
            copy.contents_formatted(),
            a.screen().contents_formatted()
        );
        assert_eq!(copy.state_formatted(), a.screen().state_formatted());
        assert_eq!(
            copy.tab_stops_formatted(),
            a.screen().tab_stops_formatted()
        );
        assert_eq!(copy.contents_diff(a.screen()), "");
        assert_eq!(a.screen().contents_diff(&copy), "");
    }

    /// A copy kept with `clone_from`, which skips the rows it already
    /// holds (by their version), follows every kind of change to a row; and
    /// a diff from it, which skips rows by version too, draws the screen.
    #[test]
    fn a_copy_kept_with_clone_from_follows_every_change() {
        let steps: [&[u8]; 14] = [
            b"first\r\nsecond row that wraps around\r\nthird",
            b"\x1b[1;3H\x1b[2@",
            b"\x1b[2;2H\x1b[3P",
            b"\x1b[3;1H\x1b[4X",
            b"\x1b[1;4H\x1b[K",
            b"\x1b[2;1H\x1b[L",
            b"\x1b[3;1H\x1b[M",
            b"\x1b[2S",
            b"\x1b[1T",
            b"\x1b[6;1H\xe4\xb8\x80\xe4\xb8\x80 wide\x1b[6;2H!",
            b"\x1b[?1049hon the alternate screen\x1b[?1049l",
            b"\x1b[4;1H\x1b[1J",
            b"\x1b[#8",
            b"\x1b[2J",
        ];
        let mut screen = parser();
        let mut shown = parser();
        let mut copy = screen.screen().clone();
        for step in steps {
            screen.process(step);
            let diff = screen.screen().contents_diff(&copy);
            shown.process(diff.as_bytes());
            copy.clone_from(screen.screen());
            for (what, got) in
                [("the copy", &copy), ("the diffed", shown.screen())]
            {
                assert_eq!(
                    got.contents_formatted(),
                    screen.screen().contents_formatted(),
                    "{what} after {step:?}"
                );
            }
            assert_eq!(copy.contents_diff(screen.screen()), "");
        }
        screen.set_size(
            core::num::NonZeroU16::new(4).unwrap(),
            core::num::NonZeroU16::new(8).unwrap(),
        );
        copy.clone_from(screen.screen());
        assert_eq!(
            copy.contents_formatted(),
            screen.screen().contents_formatted(),
            "after a resize"
        );
    }

    /// A row's version changes whenever what the row shows does, and a
    /// row whose version stayed the same shows the same.
    #[test]
    fn a_rows_version_follows_what_it_shows() {
        let steps: [&[u8]; 12] = [
            b"first\r\nsecond row that wraps around\r\nthird",
            b"\x1b[1;3H\x1b[2@",
            b"\x1b[2;2H\x1b[3P",
            b"\x1b[3;1H\x1b[4X",
            b"\x1b[2;1H\x1b[L",
            b"\x1b[2S",
            b"\x1b[1T",
            b"\x1b[6;1H\xe4\xb8\x80 \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
            b"\x1b[?1049hon the alternate screen",
            b"\x1b[?1049l\x1b[5;1H\x1b[31mred",
            b"\x1b[6;12Hx\r\n\r\n",
            b"\x1b[2J",
        ];
        let mut parser = parser();
        let shown = |screen: &crate::Screen| -> Vec<_> {
            (0..6)
                .zip(screen.rows_formatted(0, 12))
                .map(|(row, text)| {
                    (screen.row_version(row), text, screen.row_wrapped(row))
                })
                .collect()
        };
        let mut before = shown(parser.screen());
        assert!(before.iter().all(|(version, ..)| version.is_some()));
        // Rows a change leaves alone keep their versions.
        parser.process(b"\x1b[2;1Hx");
        let after = shown(parser.screen());
        assert_ne!(after[1].0, before[1].0);
        assert_eq!((after[0].0, after[2].0), (before[0].0, before[2].0));
        before = after;
        assert_eq!(parser.screen().row_version(6), None);
        for step in steps {
            parser.process(step);
            let after = shown(parser.screen());
            let copy = parser.screen().clone();
            assert_eq!(shown(&copy), after, "a clone after {step:?}");
            for (row, (was, now)) in before.iter().zip(&after).enumerate() {
                if was.0 == now.0 {
                    assert_eq!(was, now, "row {row} after {step:?}");
                } else {
                    assert_ne!(now.0, None);
                }
                if was.1 != now.1 || was.2 != now.2 {
                    assert_ne!(was.0, now.0, "row {row} after {step:?}");
                }
            }
            before = after;
        }
    }

    /// A cell is looked up by its row's index: the same row, at every
    /// scrollback offset, as walking the visible rows finds.
    #[test]
    fn a_cell_is_found_in_the_row_the_visible_rows_show() {
        let size = |n| core::num::NonZeroU16::new(n).unwrap();
        let mut parser = crate::Parser::new(size(4), size(6), 10);
        for i in 0..20 {
            parser.process(alloc::format!("{i:02}\r\n").as_bytes());
        }
        for offset in 0..=12 {
            parser.screen_mut().set_scrollback(offset);
            let screen = parser.screen();
            let walked: Vec<_> = screen.rows(0, 6).collect();
            for (row, text) in (0..).zip(&walked) {
                let first = screen.cell(row, 0).map(crate::Cell::contents);
                let expected = text.get(..1).unwrap_or("");
                assert_eq!(
                    first,
                    Some(expected),
                    "row {row} at offset {offset}"
                );
            }
            assert!(screen.cell(4, 0).is_none());
        }
    }

    #[test]
    fn a_diff_that_skips_unchanged_rows_still_draws_the_next_screen() {
        let steps: [&[u8]; 7] = [
            b"first\r\nsecond row that wraps around\r\nthird",
            b"\x1b[2;3H\x1b[31mX",
            b"\x1b[6;1H\xe4\xb8\x80\xe4\xb8\x80 wide",
            b"\x1b[1;1H\x1b[K\x1b[4mnew top\x1b[m",
            b"\x1b[3;1H\x1b[2K",
            b"\r\n\r\n\r\n\r\nscrolled",
            b"\x1b[?7l\x1b[5;1Hno wrap here at the margin\x1b[?7h",
        ];
        let mut screen = parser();
        let mut shown = parser();
        let mut before: Vec<u8> = screen.screen().contents_formatted().into();
        shown.process(&before);
        for step in steps {
            let prev = screen.screen().clone();
            screen.process(step);
            let diff = screen.screen().contents_diff(&prev);
            shown.process(diff.as_bytes());
            assert_eq!(
                shown.screen().contents_formatted(),
                screen.screen().contents_formatted(),
                "after {step:?}"
            );
            assert_eq!(
                shown.screen().cursor_position(),
                screen.screen().cursor_position()
            );
            before = screen.screen().contents_formatted().into();
        }
        assert!(!before.is_empty());
    }
}

#[cfg(test)]
mod sgr_tests {
    fn cell_of(bytes: &[u8]) -> crate::Cell {
        let size = |n| core::num::NonZeroU16::new(n).unwrap();
        let mut parser = crate::Parser::new(size(2), size(10), 0);
        parser.process(bytes);
        parser.screen().cell(0, 0).unwrap().clone()
    }

    #[test]
    fn colon_colours_with_and_without_a_colour_space() {
        let rgb = crate::Color::Rgb(1, 2, 3);
        assert_eq!(cell_of(b"\x1b[38:2::1:2:3mx").fgcolor(), rgb);
        assert_eq!(cell_of(b"\x1b[38:2:1:2:3mx").fgcolor(), rgb);
        assert_eq!(cell_of(b"\x1b[48:2:0:1:2:3mx").bgcolor(), rgb);
        assert_eq!(
            cell_of(b"\x1b[38:5:200mx").fgcolor(),
            crate::Color::Idx(200)
        );
        assert_eq!(cell_of(b"\x1b[38;2;1;2;3mx").fgcolor(), rgb);
    }

    #[test]
    fn a_low_index_in_the_256_colour_form_is_written_back_in_it() {
        let formatted = |bytes: &[u8]| {
            let size = |n| core::num::NonZeroU16::new(n).unwrap();
            let mut parser = crate::Parser::new(size(2), size(40), 0);
            parser.process(bytes);
            String::from_utf8(parser.screen().contents_formatted().into()).unwrap()
        };
        // The same palette entry, two forms: each kept as it came.
        let both =
            formatted(b"\x1b[38;5;8ma\x1b[90mb\x1b[48;5;15mc\x1b[107md");
        assert!(
            both.contains("\x1b[38;5;8ma\x1b[90mb\x1b[48;5;15mc\x1b[107md"),
            "{both:?}"
        );
        let low = formatted(b"\x1b[38:5:1;48;5;2mx\x1b[39;49my");
        assert!(low.contains("\x1b[38;5;1;48;5;2mx\x1b[my"), "{low:?}");
        // A later 3x / 9x / 39 takes the 256-colour form away again.
        let cell = cell_of(b"\x1b[38;5;8m\x1b[90mx");
        assert_eq!(cell.fgcolor(), crate::Color::Idx(8));
        assert_eq!(
            formatted(b"\x1b[38;5;8m\x1b[90mx"),
            formatted(b"\x1b[90mx")
        );
        assert_eq!(
            formatted(b"\x1b[38;5;200mx"),
            formatted(b"\x1b[38:5:200mx"),
            "from 16 up there is only one form"
        );
    }

    #[test]
    fn strikethrough_blink_and_conceal_are_kept_and_written_back() {
        let cell = cell_of(b"\x1b[9;5;8mx");
        assert!(cell.strikethrough() && cell.blink() && cell.conceal());
        let cell = cell_of(b"\x1b[9;5;8m\x1b[29;25;28mx");
        assert!(!cell.strikethrough() && !cell.blink() && !cell.conceal());
        let size = |n| core::num::NonZeroU16::new(n).unwrap();
        let mut parser = crate::Parser::new(size(1), size(10), 0);
        parser.process(b"\x1b[3;9ma\x1b[29;5mb\x1b[m");
        let drawn = parser.screen().contents_formatted();
        let mut copy = crate::Parser::new(size(1), size(10), 0);
        copy.process(drawn.as_bytes());
        for col in 0..2 {
            let (a, b) = (
                parser.screen().cell(0, col).unwrap(),
                copy.screen().cell(0, col).unwrap(),
            );
            assert_eq!(a, b, "column {col} survives being written out");
        }
        assert!(copy.screen().cell(0, 1).unwrap().blink());
    }

    #[test]
    fn underline_styles_underline_and_4_0_ends_it() {
        for style in [
            &b"\x1b[4:1mx"[..],
            b"\x1b[4:2mx",
            b"\x1b[4:3mx",
            b"\x1b[4:5mx",
            b"\x1b[21mx",
        ] {
            assert!(cell_of(style).underline(), "{style:?}");
        }
        assert!(!cell_of(b"\x1b[4m\x1b[4:0mx").underline());
    }

    #[test]
    fn underline_styles_colours_and_overline_are_kept_and_written_back() {
        use crate::UnderlineStyle as U;
        for (sgr, style) in [
            (&b"\x1b[4mx"[..], U::Single),
            (b"\x1b[4:1mx", U::Single),
            (b"\x1b[4:2mx", U::Double),
            (b"\x1b[21mx", U::Double),
            (b"\x1b[4:3mx", U::Curly),
            (b"\x1b[4:4mx", U::Dotted),
            (b"\x1b[4:5mx", U::Dashed),
            (b"\x1b[4:3;24mx", U::None),
        ] {
            assert_eq!(cell_of(sgr).underline_style(), style, "{sgr:?}");
        }
        let rgb = crate::Color::Rgb(250, 1, 2);
        assert_eq!(cell_of(b"\x1b[58:2::250:1:2mx").underline_color(), rgb);
        assert_eq!(cell_of(b"\x1b[58;2;250;1;2mx").underline_color(), rgb);
        assert_eq!(
            cell_of(b"\x1b[58:5:9mx").underline_color(),
            crate::Color::Idx(9)
        );
        assert_eq!(
            cell_of(b"\x1b[58;5;9;59mx").underline_color(),
            crate::Color::Default
        );
        assert!(cell_of(b"\x1b[53mx").overline());
        assert!(!cell_of(b"\x1b[53;55mx").overline());
        // The text colour is not the underline's.
        assert_eq!(
            cell_of(b"\x1b[58;5;9mx").fgcolor(),
            crate::Color::Default
        );

        let size = |n| core::num::NonZeroU16::new(n).unwrap();
        let mut parser = crate::Parser::new(size(1), size(10), 0);
        parser
            .process(b"\x1b[4:3;58:2::1:2:3ma\x1b[53;4mb\x1b[24;59mc\x1b[m");
        let drawn = parser.screen().contents_formatted();
        let mut copy = crate::Parser::new(size(1), size(10), 0);
        copy.process(drawn.as_bytes());
        for col in 0..3 {
            let (a, b) = (
                parser.screen().cell(0, col).unwrap(),
                copy.screen().cell(0, col).unwrap(),
            );
            assert_eq!(a, b, "column {col} survives being written out");
        }
        let c = copy.screen().cell(0, 2).unwrap();
        assert!(c.overline() && !c.underline());
    }

    #[test]
    fn a_cells_attributes_are_written_as_a_change_from_another_cells() {
        let size = |n| core::num::NonZeroU16::new(n).unwrap();
        let mut parser = crate::Parser::new(size(1), size(10), 0);
        parser.process(b"\x1b[1;31ma\x1b[22;2mb\x1b[mc\x1b[4:3;58:5:1md");
        let screen = parser.screen();
        let cell = |col| screen.cell(0, col).unwrap();
        let mut out = alloc::string::String::new();
        let mut prev = None;
        for col in 0..4 {
            cell(col).write_attributes_diff(
                &mut out,
                prev,
                screen.hyperlinks(),
            );
            out.push_str(cell(col).contents());
            prev = Some(cell(col));
        }
        assert_eq!(out, "\x1b[31;1ma\x1b[22;2mb\x1b[mc\x1b[4:3;58:5:1md");
        assert!(
            cell(2).has_default_attributes()
                && !cell(3).has_default_attributes()
        );
        assert!(!cell(0).same_attributes(cell(1)));
        let mut again = crate::Parser::new(size(1), size(10), 0);
        again.process(out.as_bytes());
        for col in 0..4 {
            assert_eq!(again.screen().cell(0, col).unwrap(), cell(col));
        }
    }
}

#[cfg(test)]
mod charset_tests {
    fn screen_of(bytes: &[u8]) -> alloc::string::String {
        let size = |n| core::num::NonZeroU16::new(n).unwrap();
        let mut parser = crate::Parser::new(size(3), size(20), 0);
        parser.process(bytes);
        parser.screen().contents()
    }

    #[test]
    fn dec_line_drawing_through_g0() {
        assert_eq!(screen_of(b"\x1b(0lqqk\x1b(Bx"), "┌──┐x");
        assert_eq!(screen_of(b"\x1b(0x `afg~\x1b(B"), "│ ◆▒°±·");
        // The arrows and the block, as xterm and tmux draw them; other
        // characters outside 0x5f..=0x7e are themselves.
        assert_eq!(screen_of(b"\x1b(0+,-.0_q\x1b(B"), "→←↑↓▮ ─");
        assert_eq!(screen_of(b"\x1b(0AZ 1/\x1b(B"), "AZ 1/");
    }

    #[test]
    fn decsc_and_decrc_save_and_restore_the_character_sets() {
        // vttest's save/restore screen: half a line drawn in the line
        // drawing set, saved, ASCII printed elsewhere, restored.
        assert_eq!(
            screen_of(b"\x1b(0qq\x1b7\x1b[3;1H\x1b(BA\x1b8qq"),
            "────\n\nA"
        );
        // The shift too, and CSI s / CSI u alike.
        assert_eq!(
            screen_of(b"\x1b)0\x0eq\x1b[s\x0f\x1b)B\x1b[uq\x0fq"),
            "──q"
        );
    }

    #[test]
    fn dec_line_drawing_through_g1_with_shift_out_and_in() {
        assert_eq!(screen_of(b"\x1b)0a\x0elqk\x0fb"), "a┌─┐b");
        let size = |n| core::num::NonZeroU16::new(n).unwrap();
        let mut parser = crate::Parser::new(size(3), size(20), 0);
        parser.process(b"\x1b)0\x0e");
        assert!(parser.screen().translates_charset());
        parser.process(b"\x0f");
        assert!(!parser.screen().translates_charset());
        parser.process(b"\x1b(0");
        assert!(parser.screen().translates_charset());
        // A reset goes back to ASCII.
        parser.process(b"\x1bc");
        assert!(!parser.screen().translates_charset());
    }
}

#[cfg(test)]
mod index_tests {
    use alloc::string::String;

    fn parser(rows: u16, cols: u16) -> crate::Parser {
        let size = |n| core::num::NonZeroU16::new(n).unwrap();
        crate::Parser::new(size(rows), size(cols), 0)
    }

    #[test]
    fn a_wide_character_wrapped_early_continues_the_line() {
        // One column left: the wide character goes on in the next row,
        // and the row it left wraps, as in tmux.
        let mut p = parser(3, 5);
        p.process("abcd\u{4e00}e\r\nx".as_bytes());
        assert!(p.screen().row_wrapped(0));
        assert!(!p.screen().row_wrapped(1));
        let rows: alloc::vec::Vec<String> = p.screen().rows(0, 5).collect();
        assert_eq!(rows, ["abcd", "\u{4e00}e", "x"]);
    }

    #[test]
    fn erasing_the_display_is_told_to_the_callbacks() {
        #[derive(Default)]
        struct Erased(alloc::vec::Vec<(u16, bool)>);
        impl crate::Callbacks for Erased {
            fn erased_in_display(
                &mut self,
                screen: &mut crate::Screen,
                mode: u16,
            ) {
                self.0.push((mode, screen.alternate_screen()));
            }
        }
        let size = |n| core::num::NonZeroU16::new(n).unwrap();
        let mut p = crate::Parser::new_with_callbacks(
            size(3),
            size(10),
            0,
            Erased::default(),
        );
        p.process(b"a\x1b[J\x1b[1J\x1b[2J\x1b[3J\x1b[?1049h\x1b[2J");
        assert_eq!(p.callbacks().0, [(2, false), (3, false), (2, true)]);
    }

    #[test]
    fn ind_moves_down_and_nel_to_the_next_line_start() {
        let mut p = parser(3, 10);
        p.process(b"ab\x1bDc\x1bEd");
        assert_eq!(p.screen().contents(), "ab\n  c\nd");
        // At the bottom, IND scrolls.
        p.process(b"\x1bDe");
        let rows: alloc::vec::Vec<String> = p.screen().rows(0, 10).collect();
        assert_eq!(rows, ["  c", "d", " e"]);
    }

    #[test]
    fn insert_mode_pushes_the_rest_of_the_row_along() {
        let mut p = parser(2, 8);
        p.process(b"abcdef\r\x1b[2C\x1b[4hXY\x1b[4lZ");
        assert!(!p.screen().insert_mode());
        // XY went in before c; Z overwrote c; what passed the margin is gone.
        assert_eq!(p.screen().contents(), "abXYZdef");
        p.process(b"\r\n12345678\r\x1b[4h\xe4\xb8\x80");
        assert!(p.screen().insert_mode());
        let rows: alloc::vec::Vec<String> = p.screen().rows(0, 8).collect();
        assert_eq!(rows[1], "\u{4e00}123456");
        // Other modes of CSI h/l are still someone else's to handle.
        p.process(b"\x1b[20h\x1b[4l");
        assert!(!p.screen().insert_mode());
    }

    #[test]
    fn tab_stops_are_set_cleared_and_followed_both_ways() {
        let mut p = parser(3, 30);
        // The default: every eighth column; the last column at the end.
        p.process(b"a\tb\tc\t\t\td");
        let rows: alloc::vec::Vec<String> = p.screen().rows(0, 30).collect();
        assert_eq!(rows[0], "a       b       c            d");
        assert!(p.screen().tab_stops_formatted().is_empty());
        // All cleared, stops at 4 and 19, then forward and back.
        p.process(
            b"\r\n\x1b[3g\x1b[5G\x1bH\x1b[20G\x1bH\rA\tB\tC\x1b[2ZD\x1b[2IE",
        );
        let rows: alloc::vec::Vec<String> = p.screen().rows(0, 30).collect();
        assert_eq!(rows[1], "A   D              C         E");
        // One cleared where the cursor is.
        p.process(b"\r\n\x1b[5G\x1b[g\r1\t2");
        let rows: alloc::vec::Vec<String> = p.screen().rows(0, 30).collect();
        assert_eq!(rows[2], "1                  2");
        assert_eq!(p.screen().tab_stops_formatted(), "\x1b[3g\x1b[20G\x1bH");
        // A reset brings the default back.
        p.process(b"\x1bc");
        assert!(p.screen().tab_stops_formatted().is_empty());
    }

    #[test]
    fn a_tab_waiting_to_wrap_leaves_the_wrap_pending() {
        // As in xterm and tmux: after a character in the last column, HT
        // and CHT stay there and the next character wraps.
        let mut p = parser(3, 20);
        p.process(b"\t\t\t*\tA\x1b[2IB\x1b[IC");
        let rows: alloc::vec::Vec<String> = p.screen().rows(0, 20).collect();
        assert_eq!(rows[0], "                   *");
        assert_eq!(rows[1], "A               B  C");
        // Without autowrap, the cursor is in the last column and stays.
        p.process(b"\x1b[?7l\r\n\x1b[20G\tD\x1b[IE");
        let rows: alloc::vec::Vec<String> = p.screen().rows(0, 20).collect();
        assert_eq!(rows[2], "                   E");
    }

    #[test]
    fn the_alternate_screens_keep_the_cursor_and_1049_restores_it() {
        let mut p = parser(4, 10);
        p.process(b"main\r\nrow2\x1b[2;3H");
        // ?47 and ?1047: a cleared screen, the cursor where it was.
        p.process(b"\x1b[?1047h");
        assert!(p.screen().alternate_screen());
        assert_eq!(p.screen().cursor_position(), (1, 2));
        assert_eq!(p.screen().contents(), "");
        p.process(b"x\x1b[4;5H\x1b[?1047l");
        assert_eq!(p.screen().contents(), "main\nrow2");
        assert_eq!(p.screen().cursor_position(), (3, 4), "the cursor stays");
        p.process(b"\x1b[1;2H\x1b[?47hy\x1b[?47l");
        assert_eq!(p.screen().cursor_position(), (0, 2));
        // ?1049: saved on the way in, restored on the way out.
        p.process(b"\x1b[2;2H\x1b[?1049h");
        assert_eq!(p.screen().cursor_position(), (1, 1));
        p.process(b"\x1b[4;1Hz\x1b[?1049h\x1b[?1049l");
        assert_eq!(p.screen().cursor_position(), (1, 1));
        assert_eq!(p.screen().contents(), "main\nrow2");
        // Leaving twice changes nothing.
        p.process(b"\x1b[3;3H\x1b[?1049l\x1b[?47l");
        assert_eq!(p.screen().cursor_position(), (2, 2));
    }

    #[test]
    fn deccolm_clears_the_screen_and_homes_the_cursor_either_way() {
        for mode in [b'h', b'l'] {
            let mut p = parser(3, 10);
            p.process(b"one\r\ntwo\x1b[?3");
            p.process(&[mode]);
            assert_eq!(p.screen().contents(), "");
            assert_eq!(p.screen().cursor_position(), (0, 0));
            assert_eq!(p.screen().size().1.get(), 10, "the width stays");
        }
    }

    #[test]
    fn decaln_fills_the_screen_with_e_and_homes_the_cursor() {
        let mut p = parser(2, 4);
        p.process(b"\x1b[1;31m\xe4\xb8\x80x\r\n\x1b[2;2r\x1b#8");
        assert_eq!(p.screen().contents(), "EEEE\nEEEE");
        assert_eq!(p.screen().cursor_position(), (0, 0));
        assert!(!p.screen().cell(0, 0).unwrap().is_wide());
        assert_eq!(
            p.screen().cell(1, 3).unwrap().fgcolor(),
            crate::Color::Default
        );
    }

    #[test]
    fn without_autowrap_text_stops_at_the_right_margin() {
        let mut p = parser(3, 5);
        p.process(b"\x1b[?7labcdefg\r\nx");
        assert_eq!(p.screen().contents(), "abcdg\nx");
        // Back on, text wraps again.
        p.process(b"\x1b[?7h\r\x1b[3;1H123456");
        let rows: alloc::vec::Vec<String> = p.screen().rows(0, 5).collect();
        assert_eq!(rows, ["x", "12345", "6"], "wrapped, and scrolled");
    }

    #[test]
    fn autowrap_and_origin_mode_are_read_back() {
        let mut p = parser(3, 5);
        assert!(p.screen().autowrap() && !p.screen().origin_mode());
        p.process(b"\x1b[?7l\x1b[?6h");
        assert!(!p.screen().autowrap() && p.screen().origin_mode());
        p.process(b"\x1b[?7h\x1b[?6l");
        assert!(p.screen().autowrap() && !p.screen().origin_mode());
        // The alternate screen has its own origin mode, as its own grid.
        p.process(b"\x1b[?6h\x1b[?1049h");
        assert!(!p.screen().origin_mode());
        p.process(b"\x1b[?1049l");
        assert!(p.screen().origin_mode());
    }

    #[test]
    fn csi_s_and_u_save_and_restore_the_cursor() {
        let mut p = parser(3, 10);
        p.process(b"ab\x1b[s\x1b[3;5Hx\x1b[uc");
        assert_eq!(p.screen().contents(), "abc\n\n    x");
    }
}

#[cfg(test)]
mod lazy_row_tests {
    use alloc::{format, string::String, vec::Vec};

    fn size(n: u16) -> core::num::NonZeroU16 {
        core::num::NonZeroU16::new(n).expect("a size above zero")
    }

    /// A blank row holds no cells: a fresh screen holds none, text gives
    /// its rows cells, and erasing them to the default attributes (or
    /// scrolling them away) gives the cells back; an erase in a colour
    /// must keep them.
    #[test]
    fn blank_rows_hold_no_cells() {
        let mut parser = crate::Parser::new(size(49), size(200), 0);
        // Rows erased or scrolled keep their cells for the next text, and
        // give them back when asked to.
        let forgotten = |parser: &mut crate::Parser| {
            parser.screen_mut().forget_blank_rows();
            parser.screen().allocated_rows()
        };
        assert_eq!(parser.screen().allocated_rows(), 0, "a fresh screen");
        parser.process(b"one\r\ntwo");
        assert_eq!(parser.screen().allocated_rows(), 2, "two rows of text");
        assert_eq!(forgotten(&mut parser), 2, "rows with text keep theirs");
        parser.process(b"\x1b[2J");
        assert_eq!(parser.screen().allocated_rows(), 2, "kept through ED 2");
        assert_eq!(forgotten(&mut parser), 0, "after ED 2");
        parser.process(b"\x1b[41m\x1b[2J\x1b[m");
        assert_eq!(parser.screen().allocated_rows(), 49, "a red erase");
        assert_eq!(forgotten(&mut parser), 49, "a red erase is not blank");
        assert_eq!(
            parser.screen().cell(10, 10).map(crate::Cell::bgcolor),
            Some(crate::Color::Idx(1)),
            "the red erase is kept"
        );
        parser.process(b"\x1b[2J");
        assert_eq!(forgotten(&mut parser), 0, "after ED 2 again");
        parser.process(b"\x1b[5;1Htext\x1b[5;1H\x1b[K");
        assert_eq!(forgotten(&mut parser), 0, "text erased by EL");
        parser.process(b"\x1b[5;3Htext\x1b[5;10H\x1b[1K");
        assert_eq!(forgotten(&mut parser), 0, "by EL 1");
        parser.process(b"\x1b[5;3Htext\x1b[5;1H\x1b[20X");
        assert_eq!(forgotten(&mut parser), 0, "by ECH");
        parser.process(b"\x1b[49;1Hbottom");
        for _ in 0..49 {
            parser.process(b"\n");
        }
        assert_eq!(forgotten(&mut parser), 0, "scrolled away");
        parser.process(b"\x1b[?1049h\x1b[1;1Halternate\x1b[?1049l");
        assert_eq!(
            forgotten(&mut parser),
            1,
            "the alternate screen keeps its text until entered again"
        );
        parser.process(b"\x1b[?1049h\x1b[?1049l");
        assert_eq!(
            forgotten(&mut parser),
            0,
            "the alternate screen is cleared on the way in"
        );
        // Reading a blank screen in every way does not give it cells.
        let screen = parser.screen();
        let _ = screen.contents_formatted();
        let _ = screen.contents_diff(&screen.clone());
        let _: Vec<_> = screen.rows_formatted(0, 200).collect();
        assert_eq!(screen.cell(48, 199), Some(&crate::Cell::DEFAULT));
        assert_eq!(screen.cell(48, 200), None);
        assert_eq!(screen.cell(49, 0), None);
        assert_eq!(screen.clone().allocated_rows(), 0, "a clone");
        // A line redrawn by erasing and writing it again keeps its cells.
        parser.process(b"\x1b[3;1Hredrawn");
        let before = parser.screen().allocated_rows();
        for _ in 0..3 {
            parser.process(b"\x1b[3;1H\x1b[2Kredrawn");
            assert_eq!(parser.screen().allocated_rows(), before);
        }
    }

    /// A xorshift generator: the same sequence for the same seed, so a
    /// failing case can be run again.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u16 {
            u16::try_from(self.next() % n).expect("a small number")
        }
    }

    /// One random piece of output, heavy in what changes rows: cursor
    /// moves, erases with and without colours, inserts and deletes of
    /// characters and lines, scroll regions, wide characters, the
    /// alternate screen.
    fn piece(rng: &mut Rng) -> String {
        let n = rng.below(4) + 1;
        match rng.below(32) {
            0..=3 => {
                let texts =
                    ["ab", "XYZ w", "\u{4e00}", "e\u{301}", "q", "  "];
                let text = texts[usize::from(rng.below(6))];
                text.repeat(usize::from(n))
            }
            4 => "\r\n".into(),
            5 => "\n".into(),
            6 => "\x08\t".into(),
            7 | 8 => {
                format!("\x1b[{};{}H", rng.below(9) + 1, rng.below(14) + 1)
            }
            9 => {
                let sgr = ["41", "", "1;32", "7", "44;33", "0"];
                format!("\x1b[{}m", sgr[usize::from(rng.below(6))])
            }
            10 | 11 => format!("\x1b[{}K", rng.below(3)),
            12 => format!("\x1b[{}J", rng.below(4)),
            13 => format!("\x1b[{n}@"),
            14 => format!("\x1b[{n}P"),
            15 => format!("\x1b[{n}X"),
            16 => format!("\x1b[{n}L"),
            17 => format!("\x1b[{n}M"),
            18 => format!("\x1b[{n}S"),
            19 => format!("\x1b[{n}T"),
            20 => {
                let top = rng.below(5) + 1;
                format!("\x1b[{top};{}r", top + rng.below(5))
            }
            21 => "\x1b[r".into(),
            22 => {
                let alt = [
                    "\x1b[?1049h",
                    "\x1b[?1049l",
                    "\x1b[?47h",
                    "\x1b[?1047l",
                ];
                alt[usize::from(rng.below(4))].into()
            }
            23 => ["\x1b[?7l", "\x1b[?7h"][usize::from(rng.below(2))].into(),
            24 => ["\x1b[4h", "\x1b[4l"][usize::from(rng.below(2))].into(),
            25 => {
                ["\x1bD", "\x1bM", "\x1bE"][usize::from(rng.below(3))].into()
            }
            27 => ["\x1b(0", "\x1b(B", "\x0e", "\x0f", "\x1b)0"]
                [usize::from(rng.below(5))]
            .into(),
            28 => format!(
                "\x1b[{}G{}",
                rng.below(14) + 1,
                "wxyz".repeat(usize::from(n))
            ),
            26 => {
                if rng.below(8) == 0 {
                    "\x1b#8".into()
                } else {
                    "\x1bc".into()
                }
            }
            _ => "some longer text that wraps".into(),
        }
    }

    /// Everything the screens show, compared: every cell, the wrapping of
    /// every row, the formatted contents, each row formatted (whole and in
    /// part) and the plain contents.
    fn assert_same(lazy: &crate::Screen, eager: &crate::Screen, what: &str) {
        assert_eq!(lazy.size(), eager.size(), "{what}");
        let (rows, cols) = (eager.size().0.get(), eager.size().1.get());
        for row in 0..=rows {
            for col in 0..=cols {
                assert_eq!(
                    lazy.cell(row, col),
                    eager.cell(row, col),
                    "cell {row},{col}: {what}"
                );
            }
            assert_eq!(
                lazy.row_wrapped(row),
                eager.row_wrapped(row),
                "row {row} wrapped: {what}"
            );
        }
        assert_eq!(lazy.contents(), eager.contents(), "{what}");
        assert_eq!(
            lazy.contents_formatted(),
            eager.contents_formatted(),
            "{what}"
        );
        for (start, width) in [(0, cols), (cols / 2, cols), (1, cols / 2)] {
            if start < cols {
                let lazy_rows: Vec<_> =
                    lazy.rows_formatted(start, width).collect();
                let eager_rows: Vec<_> =
                    eager.rows_formatted(start, width).collect();
                assert_eq!(lazy_rows, eager_rows, "{start}+{width}: {what}");
                let lazy_rows: Vec<_> = lazy.rows(start, width).collect();
                let eager_rows: Vec<_> = eager.rows(start, width).collect();
                assert_eq!(lazy_rows, eager_rows, "{start}+{width}: {what}");
            }
        }
    }

    /// The same random output fed to a screen that prints plain ASCII the
    /// short way and to one that prints every character the general way
    /// leaves them the same in every way they can be read: wide and
    /// combining characters, the line drawing set, insert mode, autowrap
    /// on and off, text up to and past the right margin.
    #[test]
    fn plain_text_printed_the_short_way_is_printed_as_the_long_way_would() {
        for seed in 1..=200_u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut short = crate::Parser::new(size(6), size(10), 8);
            let mut long = crate::Parser::new(size(6), size(10), 8);
            let mut input = String::new();
            for step in 0..150 {
                let bytes = piece(&mut rng);
                short.process(bytes.as_bytes());
                crate::screen::text_slowly(|| long.process(bytes.as_bytes()));
                input.push_str(&bytes);
                let what = format!("seed {seed} step {step} after {input:?}");
                assert_same(short.screen(), long.screen(), &what);
                assert_eq!(
                    short.screen().cursor_position(),
                    long.screen().cursor_position(),
                    "{what}"
                );
            }
        }
    }

    /// The same random output fed to a screen whose blank rows hold no
    /// cells and to one whose rows always hold them (as before) leaves
    /// them the same in every way they can be read; and the diff of each
    /// from its previous frame (kept by `clone_from`, and against the
    /// other's, whose rows hold cells differently) is the same.
    #[test]
    fn blank_rows_without_cells_behave_as_rows_with_them() {
        let mut saw_blank_rows = false;
        for seed in 1..=60_u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut lazy = crate::Parser::new(size(6), size(10), 8);
            let mut eager = crate::row::eagerly(|| {
                crate::Parser::new(size(6), size(10), 8)
            });
            let mut lazy_prev = lazy.screen().clone();
            let mut eager_prev = eager.screen().clone();
            let mut input = String::new();
            for step in 0..150 {
                let what = match rng.below(40) {
                    0 => {
                        let (rows, cols) =
                            (rng.below(8) + 1, rng.below(14) + 1);
                        lazy.set_size(size(rows), size(cols));
                        crate::row::eagerly(|| {
                            eager.set_size(size(rows), size(cols));
                        });
                        format!("<resize {rows}x{cols}>")
                    }
                    2 => {
                        let freed = lazy.screen_mut().forget_blank_rows();
                        format!("<forgot {freed} blank rows>")
                    }
                    1 => {
                        let offset = usize::from(rng.below(10));
                        lazy.screen_mut().set_scrollback(offset);
                        crate::row::eagerly(|| {
                            eager.screen_mut().set_scrollback(offset);
                        });
                        format!("<scrollback {offset}>")
                    }
                    _ => {
                        let bytes = piece(&mut rng);
                        lazy.process(bytes.as_bytes());
                        crate::row::eagerly(|| {
                            eager.process(bytes.as_bytes());
                        });
                        bytes
                    }
                };
                input.push_str(&what);
                let what = format!("seed {seed} step {step} after {input:?}");
                assert_same(lazy.screen(), eager.screen(), &what);
                let diff = eager.screen().contents_diff(&eager_prev);
                assert_eq!(
                    lazy.screen().contents_diff(&lazy_prev),
                    diff,
                    "diff: {what}"
                );
                assert_eq!(
                    lazy.screen().contents_diff(&eager_prev),
                    diff,
                    "diff from the eager frame: {what}"
                );
                assert_eq!(
                    eager.screen().contents_diff(&lazy_prev),
                    diff,
                    "diff from the lazy frame: {what}"
                );
                lazy_prev.clone_from(lazy.screen());
                crate::row::eagerly(|| eager_prev.clone_from(eager.screen()));
                assert_same(
                    &lazy_prev,
                    lazy.screen(),
                    &format!("copy: {what}"),
                );
                assert_eq!(lazy.screen().contents_diff(&lazy_prev), "");
                let rows = usize::from(lazy.screen().size().0.get());
                saw_blank_rows |= lazy.screen().allocated_rows() < rows;
            }
        }
        assert!(saw_blank_rows, "some rows went without cells");
    }
}

#[cfg(test)]
mod hyperlink_tests {
    use alloc::{format, string::String, vec::Vec};

    fn parser(rows: u16, cols: u16) -> crate::Parser {
        let size =
            |n| core::num::NonZeroU16::new(n).expect("a non-zero size");
        crate::Parser::new(size(rows), size(cols), 10)
    }

    /// The URI of each cell of row `row`'s first `n` columns ("" for none).
    fn uris(screen: &crate::Screen, row: u16, n: u16) -> Vec<String> {
        (0..n)
            .map(|col| {
                let cell = screen.cell(row, col).expect("a cell on screen");
                screen
                    .hyperlink(cell)
                    .map_or_else(String::new, |link| link.uri().into())
            })
            .collect()
    }

    const OPEN: &[u8] = b"\x1b]8;;http://a.example/x;y\x1b\\";
    const CLOSE: &[u8] = b"\x1b]8;;\x1b\\";

    #[test]
    fn a_link_is_kept_on_its_cells_and_ended_by_an_empty_uri() {
        let mut p = parser(2, 10);
        p.process(b"<");
        p.process(OPEN);
        p.process(b"ab");
        p.process(CLOSE);
        p.process(b">");
        // A semicolon in the URI is part of it; BEL ends the sequence too.
        p.process(b"\x1b]8;id=7;file:///tmp/f\x07c\x1b]8;;\x07d");
        let link = "http://a.example/x;y";
        assert_eq!(
            uris(p.screen(), 0, 6),
            ["", link, link, "", "file:///tmp/f", ""]
        );
        let cell = p.screen().cell(0, 4).expect("column 4");
        let file = p.screen().hyperlink(cell).expect("the file link");
        assert_eq!((file.params(), file.id()), ("id=7", Some("7")));
        assert_eq!(p.screen().hyperlinks().len(), 2);
        // The same link again is the same entry.
        p.process(OPEN);
        p.process(b"e");
        assert_eq!(p.screen().hyperlinks().len(), 2);
        assert_eq!(
            p.screen().cell(0, 6).expect("column 6").hyperlink_id(),
            p.screen().cell(0, 1).expect("column 1").hyperlink_id()
        );
    }

    #[test]
    fn sgr_0_keeps_the_link_erases_and_ris_do_not() {
        let mut p = parser(2, 10);
        p.process(OPEN);
        // As in kitty and iTerm2, a link is no SGR attribute.
        p.process(b"\x1b[1ma\x1b[mb");
        let link = "http://a.example/x;y";
        assert_eq!(uris(p.screen(), 0, 2), [link, link]);
        // An erase leaves blank cells without the link.
        p.process(b"\x1b[K\x1b[2;1H\x1b[41m\x1b[2K");
        assert_eq!(uris(p.screen(), 1, 3), ["", "", ""]);
        assert_eq!(p.screen().cell(1, 0).expect("a cell").hyperlink_id(), 0);
        // RIS ends it, and keeps the table (see `Hyperlinks`).
        p.process(b"\x1bcc");
        assert_eq!(uris(p.screen(), 0, 1), [""]);
        assert_eq!(p.screen().hyperlinks().len(), 1);
    }

    #[test]
    fn contents_formatted_carries_links_to_a_fresh_parser() {
        let mut p = parser(3, 10);
        p.process(b"x");
        p.process(OPEN);
        p.process(b"abc");
        p.process(CLOSE);
        p.process(b"y\r\n\x1b]8;;file:///z\x1b\\\x1b[31mq");
        let formatted = p.screen().contents_formatted();
        assert!(
            formatted.contains(
                "x\x1b]8;;http://a.example/x;y\x1b\\abc\x1b]8;;\x1b\\y"
            ),
            "{formatted:?}"
        );
        let mut fresh = parser(3, 10);
        fresh.process(formatted.as_bytes());
        for row in 0..2 {
            assert_eq!(
                uris(fresh.screen(), row, 6),
                uris(p.screen(), row, 6)
            );
        }
        assert_eq!(uris(fresh.screen(), 1, 1), ["file:///z"]);
        // The output leaves no link open, though the program's still is.
        let last = formatted.rfind("\x1b]8;").expect("an OSC 8");
        assert!(
            formatted[last..].starts_with("\x1b]8;;\x1b\\"),
            "{formatted:?}"
        );
        fresh.process(b"w");
        assert_eq!(uris(fresh.screen(), 1, 2), ["file:///z", ""]);
    }

    #[test]
    fn a_link_over_a_row_end_is_closed_and_reopened() {
        let mut p = parser(3, 5);
        p.process(OPEN);
        p.process(b"abcdefg");
        p.process(CLOSE);
        let link = "http://a.example/x;y";
        assert_eq!(uris(p.screen(), 1, 3), [link, link, ""]);
        let opened = "\x1b]8;;http://a.example/x;y\x1b\\";
        let formatted = p.screen().contents_formatted();
        assert_eq!(formatted.matches(opened).count(), 2, "{formatted:?}");
        assert!(formatted.contains("abcde\x1b]8;;\x1b\\"), "{formatted:?}");
        let rows: Vec<String> = p.screen().rows_formatted(0, 5).collect();
        assert_eq!(rows[0], format!("{opened}abcde\x1b]8;;\x1b\\"));
        assert_eq!(rows[1], format!("{opened}fg\x1b]8;;\x1b\\"));
        let basic = p.screen().contents_formatted_basic();
        assert_eq!(
            basic,
            format!("{opened}abcde\x1b]8;;\x1b\\{opened}fg\x1b]8;;\x1b\\\n")
        );
        assert_eq!(
            crate::capture::basic_formatted_to_plain(&basic)
                .collect::<String>(),
            "abcdefg\n"
        );
        assert_eq!(
            crate::capture::basic_formatted_rows(&basic, 5)
                .collect::<Vec<_>>(),
            // Escapes go with the row before them, as SGR always did.
            [
                format!("{opened}abcde\x1b]8;;\x1b\\{opened}"),
                "fg\x1b]8;;\x1b\\".into(),
                String::new()
            ]
        );
        let mut fresh = parser(3, 5);
        fresh.process(formatted.as_bytes());
        assert_eq!(uris(fresh.screen(), 0, 5), uris(p.screen(), 0, 5));
        assert_eq!(uris(fresh.screen(), 1, 3), uris(p.screen(), 1, 3));
    }

    #[test]
    fn a_diff_writes_a_link_only_where_it_changes() {
        let mut p = parser(3, 10);
        p.process(OPEN);
        p.process(b"ab");
        p.process(CLOSE);
        let before = p.screen().clone();
        p.process(b"\r\nplain");
        let diff = p.screen().contents_diff(&before);
        assert!(!diff.contains("\x1b]8"), "{diff:?}");
        let before = p.screen().clone();
        p.process(b"\x1b[1;3H");
        p.process(OPEN);
        p.process(b"c");
        p.process(b"\x1b]8;;file:///d\x1b\\d");
        p.process(CLOSE);
        let diff = p.screen().contents_diff(&before);
        assert_eq!(
            diff,
            "\x1b[1;3H\x1b]8;;http://a.example/x;y\x1b\\c\x1b]8;;file:///d\x1b\\d\x1b]8;;\x1b\\"
        );
        let mut fresh = parser(3, 10);
        fresh.process(before.contents_formatted().as_bytes());
        fresh.process(diff.as_bytes());
        assert_eq!(uris(fresh.screen(), 0, 5), uris(p.screen(), 0, 5));
        // A copy kept with `clone_from` agrees on the ids.
        let mut kept = parser(1, 1).screen().clone();
        kept.clone_from(p.screen());
        assert_eq!(p.screen().contents_diff(&kept), "");
        assert_eq!(uris(&kept, 0, 5), uris(p.screen(), 0, 5));
    }

    #[test]
    fn the_table_is_bounded() {
        let mut p = parser(2, 10);
        for i in 0..crate::MAX_HYPERLINKS {
            p.process(format!("\x1b]8;;http://h/{i}\x1b\\").as_bytes());
        }
        assert_eq!(p.screen().hyperlinks().len(), crate::MAX_HYPERLINKS);
        // One more is not recorded: its text shows without it.
        p.process(b"\x1b]8;;http://h/new\x1b\\a");
        assert_eq!(uris(p.screen(), 0, 1), [""]);
        assert_eq!(p.screen().hyperlinks().len(), crate::MAX_HYPERLINKS);
        // Links already in the table still work.
        p.process(b"\x1b]8;;http://h/5\x1b\\b");
        assert_eq!(uris(p.screen(), 0, 2), ["", "http://h/5"]);
        // The bytes are bounded too, and a URI too long is not recorded.
        let mut p = parser(2, 10);
        let long = "u".repeat(crate::MAX_URI_BYTES + 1);
        p.process(format!("\x1b]8;;{long}\x1b\\a").as_bytes());
        assert_eq!(uris(p.screen(), 0, 1), [""]);
        let uri = "v".repeat(crate::MAX_URI_BYTES - 10);
        for i in 0..1000 {
            p.process(format!("\x1b]8;;{uri}{i}\x1b\\").as_bytes());
        }
        assert!(
            p.screen().hyperlinks().len() * crate::MAX_URI_BYTES
                < crate::MAX_HYPERLINK_BYTES + crate::MAX_URI_BYTES
        );
    }
}
