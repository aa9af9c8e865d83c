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
/// clear them.
const FLAGS: [(u8, u16, u16); 6] = [
    (TEXT_MODE_ITALIC, 3, 23),
    (TEXT_MODE_UNDERLINE, 4, 24),
    (TEXT_MODE_BLINK, 5, 25),
    (TEXT_MODE_INVERSE, 7, 27),
    (TEXT_MODE_CONCEAL, 8, 28),
    (TEXT_MODE_STRIKETHROUGH, 9, 29),
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Attrs {
    pub fgcolor: Color,
    pub bgcolor: Color,
    pub mode: u8,
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
            mode: 0,
        }
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
        if underline {
            self.mode |= TEXT_MODE_UNDERLINE;
        } else {
            self.mode &= !TEXT_MODE_UNDERLINE;
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

    pub fn write_escape_code_diff(
        &self,
        contents: &mut String,
        other: &Self,
    ) {
        self.write_escape_code_diff_fmt(contents, other)
            .expect("writing to a String cannot fail");
    }

    pub fn write_escape_code_diff_fmt(
        &self,
        writer: &mut impl alloc::fmt::Write,
        other: &Self,
    ) -> alloc::fmt::Result {
        if self != other && self == &Self::default() {
            return crate::term::ClearAttrs.write_fmt(writer);
        }

        let attrs = crate::term::Attrs::default();

        let attrs = if self.fgcolor == other.fgcolor {
            attrs
        } else {
            attrs.fgcolor(self.fgcolor)
        };
        let attrs = if self.bgcolor == other.bgcolor {
            attrs
        } else {
            attrs.bgcolor(self.bgcolor)
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
        to.write_escape_code_diff(&mut out, from);
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
}
