//! Turning a session's screen into bytes for a client's terminal.
//!
//! The first frame after attach, switch or resize is a full repaint from the
//! screen state, input modes included, so keys reach the program encoded as
//! it expects. After that a frame carries only the difference from what this
//! client last drew. Every frame is wrapped in synchronized-output marks so
//! the terminal never shows half of one.

pub const SYNC_BEGIN: &str = "\x1b[?2026h";
pub const SYNC_END: &str = "\x1b[?2026l";

/// Modes a program may have turned on in the real terminal; reset when the
/// client leaves and before an overlay or a different session is drawn.
pub const RESET_MODES: &str =
    "\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1005l\x1b[?1006l\x1b[?2004l\x1b[?1l\x1b>\x1b[0m\x1b[?25h";

/// Whether a terminal draws underline styles (`4:3` curly, …) and
/// underline colours (`58`), by its terminfo entry, as tmux decides: any of
/// `Smulx`, `Setulc` or `Su`. Terminals without them may take the colon
/// form for separate parameters (`4:3` as underline and italic), so they
/// get plain underlines instead (see [`plain_underlines`]).
pub fn styled_underlines(term: &str) -> bool {
    let Ok(info) = termini::TermInfo::from_name(term) else { return false };
    ["Smulx", "Setulc", "Su"].iter().any(|cap| info.extended_cap(cap).is_some())
}

/// A frame for a terminal without [`styled_underlines`]: each underline
/// style becomes a plain underline and underline colours are left out.
/// Only vt100's own attribute diff is rewritten: `4:n`, `58:…` and `59`.
pub fn plain_underlines(frame: Vec<u8>) -> Vec<u8> {
    let suspect = |w: &[u8]| w == b"4:" || w == b"58" || w == b"59";
    if !frame.windows(2).any(suspect) {
        return frame;
    }
    let mut out = Vec::with_capacity(frame.len());
    let mut i = 0;
    while i < frame.len() {
        if frame[i] == 0x1b && frame.get(i + 1) == Some(&b'[') {
            let params = i + 2;
            let end = frame[params..].iter().position(|b| (0x40..=0x7e).contains(b)).map(|n| params + n);
            if let Some(end) = end.filter(|e| frame[*e] == b'm') {
                let all: Vec<&[u8]> = frame[params..end].split(|b| *b == b';').collect();
                let mut kept: Vec<&[u8]> = Vec::with_capacity(all.len());
                let mut k = 0;
                while k < all.len() {
                    // A colour in the semicolon form takes the parameters
                    // after it: `5;i` or `2;r;g;b`.
                    let span = match all.get(k + 1) {
                        Some(&b"5") => 3,
                        Some(&b"2") => 5,
                        _ => 1,
                    };
                    match all[k] {
                        b"38" | b"48" => kept.extend(&all[k..(k + span).min(all.len())]),
                        b"58" => {}
                        b"59" => {}
                        p if p.starts_with(b"58:") => {}
                        b"4:0" => kept.push(b"24"),
                        p if p.starts_with(b"4:") => kept.push(b"4"),
                        p => kept.push(p),
                    }
                    k += if matches!(all[k], b"38" | b"48" | b"58") { span } else { 1 };
                }
                if !kept.is_empty() {
                    out.extend_from_slice(b"\x1b[");
                    out.extend_from_slice(&kept.join(&b';'));
                    out.push(b'm');
                }
                i = end + 1;
                continue;
            }
        }
        out.push(frame[i]);
        i += 1;
    }
    out
}

/// A session frame: the session's screen (full or as a diff from `prev`),
/// then the status row (when `status` is given), then the cursor back where
/// the program has it. `size` is the client terminal's (cols, rows): where
/// the session is smaller (sized for a smaller client), a full repaint fills
/// the rest with dots, as tmux does.
pub fn session_frame(
    screen: &vt100::Screen,
    prev: Option<&vt100::Screen>,
    status: Option<&str>,
    (cols, rows): (u16, u16),
) -> Vec<u8> {
    let mut out = String::with_capacity(4096);
    out.push_str(SYNC_BEGIN);
    let prev = prev.filter(|prev| prev.size() == screen.size());
    // vt100 writes a screen for a terminal of its width: its rows erase to
    // the terminal's end and a wrapped row runs on into the next. On a
    // wider one, each row is written as exactly its cells instead.
    let wider = cols > screen.size().1.get();
    match prev {
        Some(prev) if wider => {
            out.push_str(&rows_as_cells(screen, Some(prev), cols - screen.size().1.get()));
            out.push_str(&screen.input_mode_diff(prev));
        }
        Some(prev) => out.push_str(&screen.state_diff(prev)),
        None => {
            out.push_str(RESET_MODES);
            out.push_str("\x1b[H\x1b[2J");
            if wider {
                out.push_str(&rows_as_cells(screen, None, 0));
                out.push_str(&screen.input_mode_formatted());
            } else {
                out.push_str(&screen.state_formatted());
            }
            out.push_str(&unused_area(screen, cols, rows.saturating_sub(1)));
        }
    }
    if let Some(status) = status {
        push_status(&mut out, status, rows);
    }
    if status.is_some() || wider {
        out.push_str(&screen.attributes_formatted());
        out.push_str(&screen.cursor_state_formatted());
    }
    out.push_str(SYNC_END);
    out.into_bytes()
}

/// The rows of `screen` that changed since `prev` (all of them without
/// one), each written as exactly its cells and followed by `dots` dots.
fn rows_as_cells(screen: &vt100::Screen, prev: Option<&vt100::Screen>, dots: u16) -> String {
    let (rows, width) = (screen.size().0.get(), screen.size().1.get());
    let changed = |row: &u16| prev.is_none_or(|prev| screen.row_version(*row) != prev.row_version(*row));
    let mut out = String::new();
    for row in (0..rows).filter(changed) {
        out.push_str(&move_to(row, 0));
        out.push_str(&pane_row(screen, row, width));
        out.push_str(&".".repeat(usize::from(dots)));
    }
    out
}

/// One row of a screen as exactly `width` cells, for a pane: every cell
/// written (blanks as spaces), no erase or cursor motion that could reach
/// past the pane, attributes reset at the end. vt100's own row formatting
/// assumes the row spans the terminal, which a pane's does not.
pub fn pane_row(screen: &vt100::Screen, row: u16, width: u16) -> String {
    pane_cells(screen, row, 0..width, width)
}

/// The cells `cols` of a pane's row, `width` wide, written as [`pane_row`]
/// writes them, from attributes reset: to be written from the first
/// column's place, which is no wide character's second half
/// ([`whole_chars`]).
pub fn pane_cells(screen: &vt100::Screen, row: u16, cols: std::ops::Range<u16>, width: u16) -> String {
    let end = cols.end.min(width);
    let mut col = cols.start;
    let mut out = String::with_capacity(usize::from(end.saturating_sub(col)) + 16);
    out.push_str("\x1b[m");
    // The cell whose attributes are in force; None: the default ones.
    let mut attrs: Option<&vt100::Cell> = None;
    while col < end {
        let cell = screen.cell(row, col);
        let wide = cell.is_some_and(|c| c.is_wide());
        match cell {
            Some(c) => c.write_attributes_diff(&mut out, attrs, screen.hyperlinks()),
            None if attrs.is_some_and(|a| !a.has_default_attributes()) => reset_attrs(&mut out, attrs),
            None => {}
        }
        attrs = cell;
        match cell {
            // A wide character that would not fit is a blank.
            Some(_) if wide && col + 1 >= width => out.push(' '),
            Some(c) if c.has_contents() => out.push_str(c.contents()),
            _ => out.push(' '),
        }
        col += if wide && col + 1 < width { 2 } else { 1 };
    }
    reset_attrs(&mut out, attrs);
    out
}

/// `cols` of a row, started on the first half of a wide character whose
/// second half it started on.
pub fn whole_chars(screen: &vt100::Screen, row: u16, cols: std::ops::Range<u16>) -> std::ops::Range<u16> {
    match cols.start {
        start @ 1.. if screen.cell(row, start - 1).is_some_and(|c| c.is_wide()) => start - 1..cols.end,
        _ => cols,
    }
}

/// A pane's row as cells, `width` of them, to find what a later version of
/// it changed ([`changed_cols`]).
pub fn row_cells(screen: &vt100::Screen, row: u16, width: u16) -> Vec<Option<vt100::Cell>> {
    (0..width).map(|col| screen.cell(row, col).cloned()).collect()
}

/// The columns where two versions of a row differ, first to last; None if
/// they hold the same cells.
pub fn changed_cols(now: &[Option<vt100::Cell>], before: &[Option<vt100::Cell>]) -> Option<std::ops::Range<u16>> {
    if now.len() != before.len() {
        return Some(0..u16::try_from(now.len()).unwrap_or(u16::MAX));
    }
    let first = now.iter().zip(before).position(|(a, b)| a != b)?;
    let last = now.iter().zip(before).rposition(|(a, b)| a != b).unwrap_or(first);
    let col = |c: usize| u16::try_from(c).unwrap_or(u16::MAX);
    Some(col(first)..col(last + 1))
}

/// Ends what `attrs` (the cell whose attributes are in force) has open: its
/// hyperlink too, which `CSI m` leaves, so that it does not run on into the
/// pane's neighbours or the next row.
fn reset_attrs(out: &mut String, attrs: Option<&vt100::Cell>) {
    if attrs.is_some_and(|a| a.hyperlink_id() != 0) {
        out.push_str(crate::history::LINK_END);
    }
    out.push_str("\x1b[m");
}

/// A pane's header row: its session's label, `width` cells, highlighted
/// when the pane has the focus.
pub fn pane_header(label: &str, width: u16, focused: bool) -> String {
    let style = if focused { "\x1b[0;1;37;44m" } else { "\x1b[0;7m" };
    let text = crate::status::truncate(&format!(" {label} "), usize::from(width));
    let pad = usize::from(width).saturating_sub(unicode_width::UnicodeWidthStr::width(text.as_str()));
    format!("{style}{text}{}\x1b[m", " ".repeat(pad))
}

/// One-cell borders between panes in a `cols` × `rows` area, those around
/// the focused pane in green.
pub fn borders(rects: &[crate::server::Rect], focus: usize, cols: u16, rows: u16) -> String {
    let mut out = String::new();
    let touches_focus = |col: u16, row: u16| {
        rects.get(focus).is_some_and(|f| {
            let (x0, x1, y0, y1) = (f.x.saturating_sub(1), f.x + f.w, f.y.saturating_sub(1), f.y + f.h);
            (x0..=x1).contains(&col) && (y0..=y1).contains(&row)
        })
    };
    for row in 0..rows {
        for col in 0..cols {
            if rects.iter().any(|r| r.contains(col, row)) {
                continue;
            }
            // The lines it joins: the neighbours that are border cells too,
            // as tmux draws them where splits meet.
            let line = |dc: i32, dr: i32| {
                let (c, r) = (i32::from(col) + dc, i32::from(row) + dr);
                (0..i32::from(cols)).contains(&c)
                    && (0..i32::from(rows)).contains(&r)
                    && !rects.iter().any(|rect| rect.contains(c as u16, r as u16))
            };
            let glyph = match (line(0, -1), line(0, 1), line(-1, 0), line(1, 0)) {
                (true, true, true, true) => '┼',
                (true, true, false, true) => '├',
                (true, true, true, false) => '┤',
                (false, true, true, true) => '┬',
                (true, false, true, true) => '┴',
                (true, false, false, true) => '└',
                (true, false, true, false) => '┘',
                (false, true, false, true) => '┌',
                (false, true, true, false) => '┐',
                (false, false, true, _) | (false, false, _, true) => '─',
                _ => '│',
            };
            let colour = if touches_focus(col, row) { "\x1b[0;32m" } else { "\x1b[0m" };
            out.push_str(&format!("{}{colour}{glyph}", move_to(row, col)));
        }
    }
    out.push_str("\x1b[m");
    out
}

/// Moves to (`row`, `col`), counted from 0.
pub fn move_to(row: u16, col: u16) -> String {
    format!("\x1b[{};{}H", row + 1, col + 1)
}

/// Dots over the part of a client's session area (`cols` × `rows`) that a
/// smaller session leaves unused, the cursor and attributes kept.
fn unused_area(screen: &vt100::Screen, cols: u16, rows: u16) -> String {
    let (srows, scols) = (screen.size().0.get(), screen.size().1.get());
    if cols <= scols && rows <= srows {
        return String::new();
    }
    let mut out = String::from("\x1b7\x1b[0m");
    for row in 0..rows {
        let from = if row < srows { scols } else { 0 };
        if from < cols {
            out.push_str(&format!("\x1b[{};{}H{}", row + 1, from + 1, ".".repeat(usize::from(cols - from))));
        }
    }
    out.push_str("\x1b8");
    out
}

/// A full-screen overlay (chooser, help): text lines over the session area,
/// then the status row. The cursor is hidden.
pub fn overlay_frame(lines: &[String], status: &str, rows: u16) -> Vec<u8> {
    let mut out = String::new();
    out.push_str(SYNC_BEGIN);
    out.push_str(RESET_MODES);
    out.push_str("\x1b[?25l\x1b[H\x1b[2J");
    for (i, line) in lines.iter().take(usize::from(rows.saturating_sub(1))).enumerate() {
        out.push_str(&format!("\x1b[{};1H{line}\x1b[0m", i + 1));
    }
    push_status(&mut out, status, rows);
    out.push_str(SYNC_END);
    out.into_bytes()
}

/// A frame that only redraws the status row, for a prompt or a message,
/// leaving the cursor at `cursor` (row, col; zero-based) or, with `None`,
/// where the session screen has it.
pub fn status_frame(status: &str, rows: u16, screen: &vt100::Screen, cursor: Option<(u16, u16)>) -> Vec<u8> {
    let mut out = String::new();
    out.push_str(SYNC_BEGIN);
    push_status(&mut out, status, rows);
    match cursor {
        Some((row, col)) => out.push_str(&format!("\x1b[{};{}H\x1b[?25h", row + 1, col + 1)),
        None => {
            out.push_str(&screen.attributes_formatted());
            out.push_str(&screen.cursor_state_formatted());
        }
    }
    out.push_str(SYNC_END);
    out.into_bytes()
}

/// The mouse modes for the real terminal after a session frame: the
/// program's own if it asked for the mouse (with its encoding), else button
/// reports in SGR encoding for qmux, so the wheel can open the history.
pub fn mouse_modes(screen: &vt100::Screen) -> &'static [u8] {
    match (screen.mouse_protocol_mode(), screen.mouse_protocol_encoding()) {
        // Button-event tracking: clicks, the wheel, and drags (a border
        // between panes).
        (vt100::MouseProtocolMode::None, _) => b"\x1b[?1002h\x1b[?1006h",
        (_, vt100::MouseProtocolEncoding::Sgr) => b"\x1b[?1006h",
        _ => b"\x1b[?1006l",
    }
}

fn push_status(out: &mut String, status: &str, rows: u16) {
    out.push_str(&format!("\x1b[{};1H", rows.max(1)));
    out.push_str(status);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_without_styled_underlines_gets_plain_ones() {
        let plain = |s: &str| String::from_utf8(plain_underlines(s.as_bytes().to_vec())).expect("text stays text");
        assert_eq!(plain("\x1b[4:3;58:2::1:2:3mx\x1b[4:0;59my"), "\x1b[4mx\x1b[24my");
        assert_eq!(plain("\x1b[38;5;58;58:5:1;1mz"), "\x1b[38;5;58;1mz", "index 58 is a colour, not 58");
        assert_eq!(plain("\x1b[59ma\x1b[48;2;58;59;4mb"), "a\x1b[48;2;58;59;4mb");
        assert_eq!(plain("year 1958, \x1b[4:2mx\x1b[5;58H"), "year 1958, \x1b[4mx\x1b[5;58H", "only SGR");
        assert_eq!(plain("\x1b[1mno change"), "\x1b[1mno change");
    }

    #[test]
    fn styled_underlines_are_read_from_terminfo() {
        // Both entries come with ncurses, which .ci/run installs.
        assert!(styled_underlines("tmux-256color"), "it has Smulx");
        assert!(!styled_underlines("xterm-256color"));
        assert!(!styled_underlines("no-such-terminal"));
    }

    /// Drawing frames into a terminal of the client's size must give the
    /// session's screen above the status row, whatever happened in between.
    #[test]
    fn diffs_reproduce_the_screen() {
        let mut session = crate::terminal::Terminal::new(4, 20);
        let mut client = crate::terminal::Terminal::new(5, 20);
        session.process(b"hello\r\n\x1b[31mred\x1b[0m");
        client.process(&session_frame(session.screen(), None, Some("STATUS"), (20, 5)));
        let drawn = session.screen().clone();
        session.process(b"\r\nmore\x1b[2;1Hx\x1b[?25l");
        client.process(&session_frame(session.screen(), Some(&drawn), Some("STATUS"), (20, 5)));
        for row in 0..4u16 {
            for col in 0..20u16 {
                assert_eq!(
                    session.screen().cell(row, col).map(|c| (c.contents().to_string(), c.fgcolor())),
                    client.screen().cell(row, col).map(|c| (c.contents().to_string(), c.fgcolor())),
                    "cell {row},{col}"
                );
            }
        }
        assert_eq!(client.screen().rows(0, 20).nth(4).unwrap(), "STATUS");
        assert_eq!(client.screen().cursor_position(), session.screen().cursor_position());
        assert!(client.screen().hide_cursor());
    }

    #[test]
    fn full_repaint_carries_input_modes() {
        let mut session = crate::terminal::Terminal::new(4, 20);
        session.process(b"\x1b[?2004h\x1b[?1h\x1b[?1000h");
        let mut client = crate::terminal::Terminal::new(5, 20);
        client.process(&session_frame(session.screen(), None, Some(""), (20, 5)));
        assert!(client.screen().bracketed_paste());
        assert!(client.screen().application_cursor());
        assert_ne!(client.screen().mouse_protocol_mode(), vt100::MouseProtocolMode::None);
    }

    #[test]
    fn a_larger_client_sees_dots_where_the_session_ends() {
        let mut session = crate::terminal::Terminal::new(3, 10);
        session.process(b"abc\r\nd");
        let mut client = crate::terminal::Terminal::new(6, 14);
        client.process(&session_frame(session.screen(), None, Some("STATUS"), (14, 6)));
        let rows: Vec<String> = client.screen().rows(0, 14).collect();
        assert_eq!(rows[0], "abc       ....");
        assert_eq!(rows[2], "          ....");
        assert_eq!(rows[3], "..............");
        assert_eq!(rows[4], "..............");
        assert!(rows[5].starts_with("STATUS"));
        assert_eq!(client.screen().cursor_position(), (1, 1), "the cursor is where the program has it");
    }

    #[test]
    fn a_wider_client_keeps_wrapped_rows_and_its_dots_through_erases() {
        let mut session = crate::terminal::Terminal::new(3, 10);
        session.process(b"abcdefghijKLM\r\nxyz");
        let mut client = crate::terminal::Terminal::new(5, 14);
        client.process(&session_frame(session.screen(), None, Some("STATUS"), (14, 5)));
        let rows = |client: &crate::terminal::Terminal| client.screen().rows(0, 14).collect::<Vec<String>>();
        assert_eq!(rows(&client)[..4], ["abcdefghij....", "KLM       ....", "xyz       ....", ".............."]);
        let prev = session.screen().clone();
        session.process(b"\x1b[2;1H\x1b[2Knew\x1b[3;2H\x1b[K\x1b[1;1H0123456789wrapped");
        client.process(&session_frame(session.screen(), Some(&prev), None, (14, 5)));
        assert_eq!(rows(&client)[..4], ["0123456789....", "wrapped   ....", "x         ....", ".............."]);
        assert_eq!(client.screen().cursor_position(), session.screen().cursor_position());
    }

    #[test]
    fn a_pane_row_is_exactly_its_width_and_keeps_attributes() {
        let mut t = crate::terminal::Terminal::new(2, 10);
        t.process("\x1b[1;31mab\x1b[m c日本".as_bytes());
        let row = pane_row(t.screen(), 0, 7);
        assert!(!row.contains("\x1b[K") && !row.contains('H'), "no erase, no motion: {row:?}");
        // Drawn at column 3 of a wider terminal, it covers exactly 7 cells.
        let mut client = crate::terminal::Terminal::new(2, 12);
        client.process(b"XXXXXXXXXXXX\x1b[1;4H");
        client.process(row.as_bytes());
        assert_eq!(client.screen().rows(0, 12).next().unwrap(), "XXXab c日 XX");
        let a = client.screen().cell(0, 3).unwrap();
        assert!(a.bold() && a.fgcolor() == vt100::Color::Idx(1));
        assert!(!client.screen().cell(0, 6).unwrap().bold(), "attributes end where the program ended them");
    }
}
