//! Turning a session's screen into bytes for a client's terminal.
//!
//! The first frame after attach, switch or resize is a full repaint from the
//! screen state, input modes included, so keys reach the program encoded as
//! it expects. After that a frame carries only the difference from what this
//! client last drew. Every frame is wrapped in synchronized-output marks so
//! the terminal never shows half of one.

const SYNC_BEGIN: &str = "\x1b[?2026h";
const SYNC_END: &str = "\x1b[?2026l";

/// Modes a program may have turned on in the real terminal; reset when the
/// client leaves and before an overlay or a different session is drawn.
pub const RESET_MODES: &str =
    "\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1005l\x1b[?1006l\x1b[?2004l\x1b[?1l\x1b>\x1b[0m\x1b[?25h";

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
    match prev {
        Some(prev) if prev.size() == screen.size() => out.push_str(&screen.state_diff(prev)),
        _ => {
            out.push_str(RESET_MODES);
            out.push_str("\x1b[H\x1b[2J");
            out.push_str(&screen.state_formatted());
            out.push_str(&unused_area(screen, cols, rows.saturating_sub(1)));
        }
    }
    if let Some(status) = status {
        push_status(&mut out, status, rows);
        out.push_str(&screen.attributes_formatted());
        out.push_str(&screen.cursor_state_formatted());
    }
    out.push_str(SYNC_END);
    out.into_bytes()
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
        (vt100::MouseProtocolMode::None, _) => b"\x1b[?1000h\x1b[?1006h",
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
}
