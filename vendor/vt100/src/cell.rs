use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

// the longest grapheme cluster a cell keeps (emoji ZWJ sequences fit)
const CONTENT_BYTES: usize = 22;

const IS_WIDE: u8 = 0b1000_0000;
const IS_WIDE_CONTINUATION: u8 = 0b0100_0000;
const LEN_BITS: u8 = 0b0001_1111;

/// Represents a single terminal cell.
#[derive(Clone, Debug, Eq)]
pub struct Cell {
    contents: [u8; CONTENT_BYTES],
    len: u8,
    attrs: crate::attrs::Attrs,
}
// The contents, their length and width, and the attributes (the underline
// colour and style and overline added five bytes to the original 32, the
// hyperlink's id two more).
const _: () = assert!(core::mem::size_of::<Cell>() == 39);

impl PartialEq<Self> for Cell {
    fn eq(&self, other: &Self) -> bool {
        if self.len != other.len {
            return false;
        }
        if self.attrs != other.attrs {
            return false;
        }
        let len = self.len();
        self.contents[..len] == other.contents[..len]
    }
}

impl Cell {
    pub(crate) const DEFAULT: Self = Self::new();

    pub(crate) const fn new() -> Self {
        Self {
            contents: [0; CONTENT_BYTES],
            len: 0,
            attrs: crate::attrs::Attrs::new(),
        }
    }

    fn len(&self) -> usize {
        usize::from(self.len & LEN_BITS)
    }

    pub(crate) fn set(&mut self, c: char, a: crate::attrs::Attrs) {
        self.len = 0;
        self.append_char(0, c);
        // if we're setting a single character, we can just look at that one
        // character to determine the cell width
        self.set_wide(c.width().unwrap_or(1) > 1);
        self.attrs = a;
    }

    /// [`Cell::set`] for a printable ASCII character: one byte, narrow.
    pub(crate) fn set_ascii(&mut self, byte: u8, a: crate::attrs::Attrs) {
        debug_assert!(byte.is_ascii_graphic() || byte == b' ');
        self.contents[0] = byte;
        self.len = 1;
        self.attrs = a;
    }

    pub(crate) fn append(&mut self, c: char) {
        let len = self.len();
        if len >= CONTENT_BYTES - 4 {
            return;
        }
        if len == 0 {
            self.contents[0] = b' ';
            self.len += 1;
        }

        // we already checked that we have space for another codepoint
        self.append_char(self.len(), c);
    }

    pub(crate) fn set_contents(&mut self, s: &str, a: crate::attrs::Attrs) {
        let mut chars = s.chars();
        let Some(c) = chars.next() else {
            return;
        };
        self.set(c, a);
        for c in chars {
            self.append(c);
        }
    }

    // Writes bytes representing c at start
    // Requires caller to verify start <= CODEPOINTS_IN_CELL * 4
    fn append_char(&mut self, start: usize, c: char) {
        c.encode_utf8(&mut self.contents[start..]);
        self.len += u8::try_from(c.len_utf8()).unwrap();
        // if we're appending characters, we have to account for emoji
        // presentation being requested, which can turn a base character that
        // is otherwise considered to be narrow into a wide character
        if c == '\u{FE0F}' {
            self.set_wide(self.contents().width() > 1);
        }
    }

    /// Empties the cell, with the attributes an erase leaves: `attrs`
    /// without a hyperlink, which belongs to text (xterm, kitty and VTE do
    /// not link erased cells either).
    pub(crate) fn clear(&mut self, attrs: crate::attrs::Attrs) {
        self.len = 0;
        self.attrs = attrs.without_link();
    }

    /// Returns the text contents of the cell.
    ///
    /// Can include multiple unicode characters if combining characters are
    /// used, but will contain at most one character with a non-zero character
    /// width.
    // Since contents has been constructed by appending chars encoded as UTF-8 it will be valid UTF-8
    #[allow(clippy::missing_panics_doc)]
    #[must_use]
    pub fn contents(&self) -> &str {
        core::str::from_utf8(&self.contents[..self.len()]).unwrap()
    }

    /// Returns whether the cell contains any text data.
    #[must_use]
    pub fn has_contents(&self) -> bool {
        self.len() > 0
    }

    /// Returns whether the text data in the cell represents a wide character.
    #[must_use]
    pub fn is_wide(&self) -> bool {
        self.len & IS_WIDE != 0
    }

    /// Returns whether the cell contains the second half of a wide character
    /// (in other words, whether the previous cell in the row contains a wide
    /// character)
    #[must_use]
    pub fn is_wide_continuation(&self) -> bool {
        self.len & IS_WIDE_CONTINUATION != 0
    }

    fn set_wide(&mut self, wide: bool) {
        if wide {
            self.len |= IS_WIDE;
        } else {
            self.len &= !IS_WIDE;
        }
    }

    pub(crate) fn set_wide_continuation(&mut self, wide: bool) {
        if wide {
            self.len |= IS_WIDE_CONTINUATION;
        } else {
            self.len &= !IS_WIDE_CONTINUATION;
        }
    }

    pub(crate) fn attrs(&self) -> &crate::attrs::Attrs {
        &self.attrs
    }

    /// Returns whether the cell's attributes (colours, intensity, every
    /// style) are the same as `other`'s, whatever their text.
    #[must_use]
    pub fn same_attributes(&self, other: &Self) -> bool {
        self.attrs == other.attrs
    }

    /// Returns whether the cell has the default attributes: no colour and
    /// no style.
    #[must_use]
    pub fn has_default_attributes(&self) -> bool {
        self.attrs == crate::attrs::Attrs::default()
    }

    /// Writes the SGR sequence that changes the attributes of `prev` (the
    /// default attributes when `None`) into this cell's, as the screen's
    /// own formatting writes them, and the OSC 8 sequence that opens this
    /// cell's hyperlink (its URI from `links`, the table of the screen
    /// the cells came from: [`Screen::hyperlinks`](crate::Screen::hyperlinks))
    /// or ends `prev`'s; nothing when they are the same. For writing cells
    /// out one by one, as a row of history is: end a row with
    /// [`write_attributes_reset`](Self::write_attributes_reset) so that a
    /// link does not run on past it.
    pub fn write_attributes_diff(
        &self,
        contents: &mut alloc::string::String,
        prev: Option<&Self>,
        links: &crate::Hyperlinks,
    ) {
        let default = crate::attrs::Attrs::default();
        let prev = prev.map_or(&default, |c| &c.attrs);
        if &self.attrs != prev {
            self.attrs.write_escape_code_diff(contents, prev, links);
        }
    }

    /// Writes what turns this cell's attributes back into the default
    /// ones: SGR 0, and the end of its hyperlink if it has one; nothing
    /// when they are the default already.
    pub fn write_attributes_reset(
        &self,
        contents: &mut alloc::string::String,
    ) {
        crate::attrs::Attrs::default().write_escape_code_diff(
            contents,
            &self.attrs,
            &crate::Hyperlinks::default(),
        );
    }

    /// The id of the cell's OSC 8 hyperlink in its screen's table (0 for
    /// none): [`Screen::hyperlink`](crate::Screen::hyperlink) gives the
    /// link itself.
    #[must_use]
    pub fn hyperlink_id(&self) -> u16 {
        self.attrs.link()
    }

    /// Returns the foreground color of the cell.
    #[must_use]
    pub fn fgcolor(&self) -> crate::Color {
        self.attrs.fgcolor
    }

    /// Returns the background color of the cell.
    #[must_use]
    pub fn bgcolor(&self) -> crate::Color {
        self.attrs.bgcolor
    }

    /// Returns whether the cell should be rendered with the bold text
    /// attribute.
    #[must_use]
    pub fn bold(&self) -> bool {
        self.attrs.bold()
    }

    /// Returns whether the cell should be rendered with the dim text
    /// attribute.
    #[must_use]
    pub fn dim(&self) -> bool {
        self.attrs.dim()
    }

    /// Returns whether the cell should be rendered with the italic text
    /// attribute.
    #[must_use]
    pub fn italic(&self) -> bool {
        self.attrs.italic()
    }

    /// Returns whether the cell should be rendered with the underlined text
    /// attribute.
    #[must_use]
    pub fn underline(&self) -> bool {
        self.attrs.underline()
    }

    /// Returns whether the cell should be rendered with the inverse text
    /// attribute.
    #[must_use]
    pub fn inverse(&self) -> bool {
        self.attrs.inverse()
    }

    /// Returns how the cell's text is underlined (see
    /// [`underline`](Self::underline) for whether it is at all).
    #[must_use]
    pub fn underline_style(&self) -> crate::UnderlineStyle {
        self.attrs.underline_style()
    }

    /// Returns the underline's colour (`Color::Default`: the text's).
    #[must_use]
    pub fn underline_color(&self) -> crate::Color {
        self.attrs.ulcolor
    }

    /// Returns whether the cell should be rendered with a line over it.
    #[must_use]
    pub fn overline(&self) -> bool {
        self.attrs.overline()
    }

    /// Returns whether the cell should be rendered struck through.
    #[must_use]
    pub fn strikethrough(&self) -> bool {
        self.attrs.strikethrough()
    }

    /// Returns whether the cell should be rendered blinking.
    #[must_use]
    pub fn blink(&self) -> bool {
        self.attrs.blink()
    }

    /// Returns whether the cell's text is concealed (shown as blanks).
    #[must_use]
    pub fn conceal(&self) -> bool {
        self.attrs.conceal()
    }
}
