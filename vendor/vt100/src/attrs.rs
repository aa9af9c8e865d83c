use crate::term::BufWrite as _;
use alloc::string::String;

/// Represents a foreground or background color for cells.
#[derive(Eq, PartialEq, Debug, Copy, Clone, Default)]
pub enum Color {
    /// The default terminal color.
    #[default]
    Default,

    /// An indexed terminal color.
    Idx(u8),

    /// An RGB terminal color. The parameters are (red, green, blue).
    Rgb(u8, u8, u8),
}

const TEXT_MODE_INTENSITY: u8 = 0b0000_0011;
const TEXT_MODE_BOLD: u8 = 0b0000_0001;
const TEXT_MODE_DIM: u8 = 0b0000_0010;
const TEXT_MODE_ITALIC: u8 = 0b0000_0100;
const TEXT_MODE_UNDERLINE: u8 = 0b0000_1000;
const TEXT_MODE_INVERSE: u8 = 0b0001_0000;
const TEXT_MODE_STRIKETHROUGH: u8 = 0b0010_0000;
const TEXT_MODE_BLINK: u8 = 0b0100_0000;
const TEXT_MODE_CONCEAL: u8 = 0b1000_0000;

/// The attributes that are one bit each, with the SGR codes that set and
/// clear them. (Underline is one bit too, but its style is written with it.)
const FLAGS: [(u8, u16, u16); 5] = [
    (TEXT_MODE_ITALIC, 3, 23),
    (TEXT_MODE_BLINK, 5, 25),
    (TEXT_MODE_INVERSE, 7, 27),
    (TEXT_MODE_CONCEAL, 8, 28),
    (TEXT_MODE_STRIKETHROUGH, 9, 29),
];

/// The underline style (`extra`'s low bits) while the underline bit is set.
const EXTRA_UNDERLINE_STYLE: u8 = 0b0000_0111;
const EXTRA_OVERLINE: u8 = 0b0000_1000;
/// The text or background colour, an index below 16, was set in the
/// 256-colour form (`38;5;N`, `48;5;N`), which is written back the same way:
/// some terminals draw it otherwise than `30+N` / `90+N` (bold as bright).
const EXTRA_FG_256: u8 = 0b0001_0000;
const EXTRA_BG_256: u8 = 0b0010_0000;

/// How text is underlined: `CSI 4 m` (or `4:1`) single, `4:2` or `21`
/// double, `4:3` curly, `4:4` dotted, `4:5` dashed.
#[derive(Eq, PartialEq, Debug, Copy, Clone, Default)]
pub enum UnderlineStyle {
    /// Not underlined.
    #[default]
    None,
    /// One straight line (`4`, `4:1`).
    Single,
    /// Two straight lines (`4:2`, `21`).
    Double,
    /// A wavy line, "undercurl" (`4:3`).
    Curly,
    /// A dotted line (`4:4`).
    Dotted,
    /// A dashed line (`4:5`).
    Dashed,
}

impl UnderlineStyle {
    /// The style `CSI 4 : n m` sets, for n in 1..=5.
    pub(crate) const fn from_sgr(code: u8) -> Self {
        Self::from_code(code)
    }

    const fn from_code(code: u8) -> Self {
        match code {
            0 => Self::None,
            2 => Self::Double,
            3 => Self::Curly,
            4 => Self::Dotted,
            5 => Self::Dashed,
            _ => Self::Single,
        }
    }

    /// The style's number in `CSI 4 : n m`.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Single => 1,
            Self::Double => 2,
            Self::Curly => 3,
            Self::Dotted => 4,
            Self::Dashed => 5,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Attrs {
    pub fgcolor: Color,
    pub bgcolor: Color,
    /// The underline colour (`58`); the default is the text's.
    pub ulcolor: Color,
    pub mode: u8,
    /// The underline style and overline.
    extra: u8,
    /// The OSC 8 hyperlink's id in the screen's table (0: none), as bytes
    /// so that a cell needs no padding for a `u16`'s alignment.
    link: [u8; 2],
}

impl Default for Attrs {
    fn default() -> Self {
        Self::new()
    }
}

impl Attrs {
    pub const fn new() -> Self {
        Self {
            fgcolor: Color::Default,
            bgcolor: Color::Default,
            ulcolor: Color::Default,
            mode: 0,
            extra: 0,
            link: [0; 2],
        }
    }

    /// The id of the cell's hyperlink in the screen's table; 0 for none.
    pub const fn link(&self) -> u16 {
        u16::from_le_bytes(self.link)
    }

    pub fn set_link(&mut self, id: u16) {
        self.link = id.to_le_bytes();
    }

    /// These attributes without their hyperlink: what an erase leaves,
    /// since a link belongs to text, not to blank cells.
    pub const fn without_link(mut self) -> Self {
        self.link = [0; 2];
        self
    }

    pub fn bold(&self) -> bool {
        self.mode & TEXT_MODE_BOLD != 0
    }

    pub fn dim(&self) -> bool {
        self.mode & TEXT_MODE_DIM != 0
    }

    fn intensity(&self) -> u8 {
        self.mode & TEXT_MODE_INTENSITY
    }

    // Bold and dim are separate attributes, as in xterm: `CSI 1 m` and
    // `CSI 2 m` add to each other, and only `CSI 22 m` clears them.
    pub fn set_bold(&mut self) {
        self.mode |= TEXT_MODE_BOLD;
    }

    pub fn set_dim(&mut self) {
        self.mode |= TEXT_MODE_DIM;
    }

    pub fn set_normal_intensity(&mut self) {
        self.mode &= !TEXT_MODE_INTENSITY;
    }

    pub fn italic(&self) -> bool {
        self.mode & TEXT_MODE_ITALIC != 0
    }

    pub fn set_italic(&mut self, italic: bool) {
        if italic {
            self.mode |= TEXT_MODE_ITALIC;
        } else {
            self.mode &= !TEXT_MODE_ITALIC;
        }
    }

    pub fn underline(&self) -> bool {
        self.mode & TEXT_MODE_UNDERLINE != 0
    }

    pub fn set_underline(&mut self, underline: bool) {
        self.set_underline_style(if underline {
            UnderlineStyle::Single
        } else {
            UnderlineStyle::None
        });
    }

    pub const fn underline_style(&self) -> UnderlineStyle {
        if self.mode & TEXT_MODE_UNDERLINE == 0 {
            UnderlineStyle::None
        } else {
            UnderlineStyle::from_code(self.extra & EXTRA_UNDERLINE_STYLE)
        }
    }

    pub fn set_underline_style(&mut self, style: UnderlineStyle) {
        self.extra &= !EXTRA_UNDERLINE_STYLE;
        if style == UnderlineStyle::None {
            self.mode &= !TEXT_MODE_UNDERLINE;
        } else {
            self.mode |= TEXT_MODE_UNDERLINE;
            self.extra |= style.code();
        }
    }

    pub const fn overline(&self) -> bool {
        self.extra & EXTRA_OVERLINE != 0
    }

    pub fn set_overline(&mut self, overline: bool) {
        if overline {
            self.extra |= EXTRA_OVERLINE;
        } else {
            self.extra &= !EXTRA_OVERLINE;
        }
    }

    /// Sets the colour an SGR code names: `38` the text's, `48` the
    /// background's, `58` the underline's.
    pub fn set_color(&mut self, code: u16, color: Color) {
        let low = matches!(color, Color::Idx(i) if i < 16);
        match code {
            38 => {
                self.fgcolor = color;
                self.set_extra(EXTRA_FG_256, low);
            }
            48 => {
                self.bgcolor = color;
                self.set_extra(EXTRA_BG_256, low);
            }
            58 => self.ulcolor = color,
            _ => {}
        }
    }

    /// Sets the text colour as `30`–`37`, `39` or `90`–`97` name it.
    pub fn set_fgcolor(&mut self, color: Color) {
        self.fgcolor = color;
        self.set_extra(EXTRA_FG_256, false);
    }

    /// Sets the background as `40`–`47`, `49` or `100`–`107` name it.
    pub fn set_bgcolor(&mut self, color: Color) {
        self.bgcolor = color;
        self.set_extra(EXTRA_BG_256, false);
    }

    /// Whether the text colour, an index below 16, was set as `38;5;N`.
    pub const fn fgcolor_256(&self) -> bool {
        self.extra & EXTRA_FG_256 != 0
    }

    /// Whether the background, an index below 16, was set as `48;5;N`.
    pub const fn bgcolor_256(&self) -> bool {
        self.extra & EXTRA_BG_256 != 0
    }

    fn set_extra(&mut self, bit: u8, on: bool) {
        if on {
            self.extra |= bit;
        } else {
            self.extra &= !bit;
        }
    }

    pub fn inverse(&self) -> bool {
        self.mode & TEXT_MODE_INVERSE != 0
    }

    pub fn strikethrough(&self) -> bool {
        self.mode & TEXT_MODE_STRIKETHROUGH != 0
    }

    pub fn blink(&self) -> bool {
        self.mode & TEXT_MODE_BLINK != 0
    }

    pub fn conceal(&self) -> bool {
        self.mode & TEXT_MODE_CONCEAL != 0
    }

    /// Sets or clears the attribute of an SGR code that is one bit
    /// (italic, underline, blink, inverse, conceal, strikethrough).
    pub fn set_flag(&mut self, code: u16) {
        for (bit, on, off) in FLAGS {
            if code == on {
                self.mode |= bit;
            } else if code == off {
                self.mode &= !bit;
            }
        }
    }

    pub fn set_inverse(&mut self, inverse: bool) {
        if inverse {
            self.mode |= TEXT_MODE_INVERSE;
        } else {
            self.mode &= !TEXT_MODE_INVERSE;
        }
    }

    /// Writes what turns the attributes `other` into these: SGR for the
    /// style and colours, then OSC 8 (with the link's URI from `links`)
    /// when the hyperlink changes.
    pub fn write_escape_code_diff(
        &self,
        contents: &mut String,
        other: &Self,
        links: &crate::hyperlink::Hyperlinks,
    ) {
        self.write_escape_code_diff_fmt(contents, other, links)
            .expect("writing to a String cannot fail");
    }

    pub fn write_escape_code_diff_fmt(
        &self,
        writer: &mut impl alloc::fmt::Write,
        other: &Self,
        links: &crate::hyperlink::Hyperlinks,
    ) -> alloc::fmt::Result {
        // A link is not an SGR attribute (`CSI 0 m` keeps it), so it is
        // written on its own.
        self.without_link()
            .write_sgr_diff_fmt(writer, &other.without_link())?;
        if self.link() != other.link() {
            links.write_fmt(writer, self.link())?;
        }
        Ok(())
    }

    fn write_sgr_diff_fmt(
        &self,
        writer: &mut impl alloc::fmt::Write,
        other: &Self,
    ) -> alloc::fmt::Result {
        if self != other && self == &Self::default() {
            return crate::term::ClearAttrs.write_fmt(writer);
        }

        let attrs = crate::term::Attrs::default();

        let attrs = if self.fgcolor == other.fgcolor
            && self.fgcolor_256() == other.fgcolor_256()
        {
            attrs
        } else {
            attrs.fgcolor(self.fgcolor).fgcolor_256(self.fgcolor_256())
        };
        let attrs = if self.bgcolor == other.bgcolor
            && self.bgcolor_256() == other.bgcolor_256()
        {
            attrs
        } else {
            attrs.bgcolor(self.bgcolor).bgcolor_256(self.bgcolor_256())
        };
        let attrs = if self.intensity() == other.intensity() {
            attrs
        } else {
            // Only `CSI 22 m` takes bold or dim away, and it takes both:
            // bring back what stays.
            let dropped = other.intensity() & !self.intensity() != 0;
            let added = if dropped {
                self.intensity()
            } else {
                self.intensity() & !other.intensity()
            };
            attrs.intensity(crate::term::Intensity {
                reset: dropped,
                bold: added & TEXT_MODE_BOLD != 0,
                dim: added & TEXT_MODE_DIM != 0,
            })
        };
        let mut attrs = attrs;
        if self.underline_style() != other.underline_style() {
            attrs = attrs.underline(self.underline_style().code());
        }
        if self.ulcolor != other.ulcolor {
            attrs = attrs.ulcolor(self.ulcolor);
        }
        if self.overline() != other.overline() {
            attrs = attrs.flag(if self.overline() { 53 } else { 55 });
        }
        for (bit, on, off) in FLAGS {
            if self.mode & bit != other.mode & bit {
                attrs =
                    attrs.flag(if self.mode & bit != 0 { on } else { off });
            }
        }

        attrs.write_fmt(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(from: &Attrs, to: &Attrs) -> String {
        let mut out = String::new();
        to.write_escape_code_diff(
            &mut out,
            from,
            &crate::hyperlink::Hyperlinks::default(),
        );
        out
    }

    #[test]
    fn bold_and_dim_are_separate() {
        let mut both = Attrs::default();
        both.set_bold();
        both.set_dim();
        assert!(both.bold() && both.dim());
        let mut bold = Attrs::default();
        bold.set_bold();
        let mut dim = Attrs::default();
        dim.set_dim();
        // Going from bold to dim must end bold first.
        assert_eq!(diff(&bold, &dim), "\x1b[22;2m");
        assert_eq!(diff(&both, &dim), "\x1b[22;2m");
        assert_eq!(diff(&bold, &both), "\x1b[2m");
        assert_eq!(diff(&dim, &both), "\x1b[1m");
        assert_eq!(diff(&Attrs::default(), &both), "\x1b[1;2m");
        let mut italic_bold = bold;
        italic_bold.set_italic(true);
        let mut normal_italic = Attrs::default();
        normal_italic.set_italic(true);
        assert_eq!(diff(&italic_bold, &normal_italic), "\x1b[22m");
    }

    #[test]
    fn underline_styles_colours_and_overline_are_written_back() {
        let mut curly = Attrs::default();
        curly.set_underline_style(UnderlineStyle::Curly);
        curly.ulcolor = Color::Rgb(255, 0, 10);
        assert_eq!(
            diff(&Attrs::default(), &curly),
            "\x1b[4:3;58:2::255:0:10m"
        );
        let mut single = curly;
        single.set_underline(true);
        assert_eq!(single.underline_style(), UnderlineStyle::Single);
        assert_eq!(diff(&curly, &single), "\x1b[4m");
        let mut plain = single;
        plain.set_underline(false);
        plain.ulcolor = Color::Idx(100);
        plain.set_overline(true);
        assert_eq!(diff(&single, &plain), "\x1b[24;58:5:100;53m");
        let mut none = plain;
        none.ulcolor = Color::Default;
        none.set_overline(false);
        assert_eq!(diff(&plain, &none), "\x1b[m", "all default: a reset");
        let mut bold = none;
        bold.set_bold();
        let mut bold_over = bold;
        bold_over.set_overline(true);
        assert_eq!(diff(&bold_over, &bold), "\x1b[55m");
    }
}
