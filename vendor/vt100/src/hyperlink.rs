//! OSC 8 hyperlinks: the table of links a screen's cells point into.

use alloc::{string::String, vec::Vec};
use core::sync::atomic::{AtomicUsize, Ordering};

/// How many distinct links one screen records.
///
/// A cell names its link by a `u16`, and a table that only grows must stop
/// somewhere: past this, text in a new link is kept without it (links
/// already in the table still work).
pub const MAX_HYPERLINKS: usize = 4096;

/// How many bytes of parameters and URIs one screen records in all, so
/// that a program writing long links cannot make the table large.
pub const MAX_HYPERLINK_BYTES: usize = 256 * 1024;

/// The longest URI recorded (as kitty and VTE limit it); a longer link is
/// not recorded and its text shows without it.
pub const MAX_URI_BYTES: usize = 2083;

/// The longest parameter string recorded (`id=...`).
pub const MAX_PARAMS_BYTES: usize = 256;

/// The last version handed out, for all tables of all screens: two tables
/// with the same version hold the same links.
static VERSIONS: AtomicUsize = AtomicUsize::new(0);

/// One OSC 8 hyperlink: the URI and the parameters written with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hyperlink {
    params: String,
    uri: String,
}

impl Hyperlink {
    /// The link's URI, as the program wrote it.
    #[must_use]
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The parameters written before the URI (`key=value` pairs separated
    /// by `:`), often empty.
    #[must_use]
    pub fn params(&self) -> &str {
        &self.params
    }

    /// The `id` parameter, which ties cells that are not next to each
    /// other into one link (for hovering and underlining them together).
    #[must_use]
    pub fn id(&self) -> Option<&str> {
        self.params
            .split(':')
            .find_map(|param| param.strip_prefix("id="))
    }
}

/// The links of a screen, each recorded once; a cell's link id is its
/// position here plus one (0 is no link).
///
/// The table only grows while the screen lives (RIS keeps it too): a
/// screen and an earlier copy of it then agree on what every id means, so
/// a diff between them can compare cells by their ids.
#[derive(Debug, Default)]
pub struct Hyperlinks {
    links: Vec<Hyperlink>,
    /// Bytes of parameters and URIs held, against `MAX_HYPERLINK_BYTES`.
    bytes: usize,
    /// Names the table's contents (0 while empty): copies with the same
    /// version hold the same links, and a copy kept with `clone_from`
    /// skips copying them.
    version: usize,
}

impl Clone for Hyperlinks {
    fn clone(&self) -> Self {
        Self {
            links: self.links.clone(),
            bytes: self.bytes,
            version: self.version,
        }
    }

    fn clone_from(&mut self, source: &Self) {
        if self.version == source.version {
            return;
        }
        self.links.clone_from(&source.links);
        self.bytes = source.bytes;
        self.version = source.version;
    }
}

impl Hyperlinks {
    /// The link a cell's id names; `None` for 0 and unknown ids.
    #[must_use]
    pub fn get(&self, id: u16) -> Option<&Hyperlink> {
        self.links.get(usize::from(id).checked_sub(1)?)
    }

    /// How many links the table holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.links.len()
    }

    /// Whether the table holds no links.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// The id of the link with these parameters and URI, recording it if
    /// it is new; 0 (no link) for an empty URI, which ends a link, and for
    /// a link the table has no room for or that is not UTF-8.
    pub(crate) fn intern(&mut self, params: &[u8], uri: &[u8]) -> u16 {
        if uri.is_empty()
            || uri.len() > MAX_URI_BYTES
            || params.len() > MAX_PARAMS_BYTES
        {
            return 0;
        }
        let (Ok(params), Ok(uri)) =
            (core::str::from_utf8(params), core::str::from_utf8(uri))
        else {
            return 0;
        };
        // The link just written is the likeliest to come again (a program
        // opens the same link for each piece of text), so look from the
        // end.
        if let Some(i) = self
            .links
            .iter()
            .rposition(|link| link.uri == uri && link.params == params)
        {
            return id_of(i);
        }
        let bytes = self.bytes + params.len() + uri.len();
        if self.links.len() >= MAX_HYPERLINKS || bytes > MAX_HYPERLINK_BYTES {
            return 0;
        }
        self.links.push(Hyperlink {
            params: params.into(),
            uri: uri.into(),
        });
        self.bytes = bytes;
        self.version =
            VERSIONS.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        id_of(self.links.len() - 1)
    }

    /// Writes the OSC 8 sequence that makes the link `id` the one printed
    /// text takes, or that ends the link for 0 (or an unknown id).
    pub(crate) fn write_fmt(
        &self,
        writer: &mut impl alloc::fmt::Write,
        id: u16,
    ) -> alloc::fmt::Result {
        match self.get(id) {
            Some(link) => {
                writer.write_str("\x1b]8;")?;
                writer.write_str(&link.params)?;
                writer.write_char(';')?;
                writer.write_str(&link.uri)?;
                writer.write_str("\x1b\\")
            }
            None => writer.write_str("\x1b]8;;\x1b\\"),
        }
    }
}

/// The id of the link at `index` in the table (which holds at most
/// `MAX_HYPERLINKS`, so it fits).
fn id_of(index: usize) -> u16 {
    u16::try_from(index + 1).unwrap_or(0)
}
