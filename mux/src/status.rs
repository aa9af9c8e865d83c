//! The status bar: one row listing every session with its markers, and a
//! short message on the right when something happened in the background.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::detect::State;
use crate::protocol::Attention;

/// What the status bar shows about one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub index: u32,
    pub name: String,
    /// Shown in this client.
    pub focused: bool,
    /// Shown in this client's focused pane, zoomed to fill the view over
    /// the other panes.
    pub zoomed: bool,
    /// The one this client showed before (prefix `l` goes back to it).
    pub last: bool,
    pub attention: Attention,
    pub exit_code: Option<i32>,
    pub state: State,
    /// Messages queued with `send --when-waiting`.
    pub queued: usize,
}

/// The mark after a session's name for its state. Waiting, the calm
/// state, has none.
pub fn state_mark(state: State) -> &'static str {
    match state {
        State::Busy => "…",
        State::Waiting | State::Exited => "",
        State::Approval => "?",
    }
}

impl Entry {
    /// `1:review…*` (busy, shown here), `2:tests?✓` (asks for approval, new),
    /// `3:docs-✓+` (shown before; finished, unseen output), `4:old[exit 1]`, `5:ci[q:2]`,
    /// `6:api*Z` (shown in a zoomed pane, as tmux flags a zoomed window).
    pub fn label(&self) -> String {
        let mut s = format!("{}:{}", self.index, self.name);
        s.push_str(state_mark(self.state));
        if let Some(code) = self.exit_code {
            s.push_str(&format!("[exit {code}]"));
        }
        if self.queued > 0 {
            s.push_str(&format!("[q:{}]", self.queued));
        }
        if self.focused {
            s.push('*');
            if self.zoomed {
                s.push('Z');
            }
        } else if self.last {
            s.push('-');
        }
        s.push_str(&self.attention.marks());
        s
    }
}

const BAR: &str = "\x1b[0;30;42m";
const FOCUSED: &str = "\x1b[0;1;37;44m";
const ALERT: &str = "\x1b[0;1;30;43m";

impl Entry {
    /// Asks for the user: a question, a finished reply, a bell, an exit.
    fn needs_you(&self) -> bool {
        self.attention.alert() || self.exit_code.is_some() || self.state == State::Approval
    }
}

/// Which entries fit in `room` cells, each `widths[i]` wide with the space
/// before it: all if they fit; else the focused one first, then the ones
/// that need the user nearest it, then the rest nearest it.
fn visible(entries: &[Entry], widths: &[usize], room: usize) -> Vec<bool> {
    let mut shown = vec![false; entries.len()];
    if widths.iter().sum::<usize>() <= room {
        return vec![true; entries.len()];
    }
    // Room for the `<` and `>` that say entries are cut.
    let mut left = room.saturating_sub(4);
    let focus = entries.iter().position(|e| e.focused).unwrap_or(0);
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| (i != focus, !entries[i].needs_you(), i.abs_diff(focus), i));
    for i in order {
        if widths[i] <= left {
            shown[i] = true;
            left -= widths[i];
        }
    }
    shown
}

/// Where things go on the status row.
struct Layout {
    labels: Vec<String>,
    /// The entries shown, each with the column its label starts at.
    shown: Vec<(usize, usize)>,
    cut_left: bool,
    cut_right: bool,
    /// The message, padded, and the column it starts at.
    right: String,
    right_at: usize,
}

fn layout(entries: &[Entry], message: Option<&str>, cols: usize) -> Layout {
    let labels: Vec<String> = entries.iter().map(Entry::label).collect();
    let widths: Vec<usize> = labels.iter().map(|l| l.width() + 1).collect();
    // A message takes what the sessions leave, and a long one (a warning)
    // what it needs of the rest, but never the focused session's place or
    // those that need the user: the others are cut, marked `<`/`>`, while
    // it is up.
    let kept: usize = entries.iter().zip(&widths).filter(|(e, _)| e.focused || e.needs_you()).map(|(_, w)| w).sum();
    let message_room = (cols / 2).max(cols.saturating_sub(kept + 5));
    let right = message.map(|m| format!(" {} ", truncate(m, message_room.saturating_sub(2)))).unwrap_or_default();
    let room = cols.saturating_sub(right.width());
    let visible = visible(entries, &widths, room);
    let cut_left = visible.iter().position(|v| *v).is_some_and(|f| f > 0);
    let cut_right = visible.iter().rposition(|v| *v).is_some_and(|l| l + 1 < entries.len());
    let mut col = if cut_left { 2 } else { 0 };
    let mut shown = Vec::new();
    for i in (0..entries.len()).filter(|i| visible[*i]) {
        shown.push((i, col + 1));
        col += widths[i];
    }
    let used = col + if cut_right { 2 } else { 0 };
    let right_at = room.max(used);
    let right = truncate(&right, cols.saturating_sub(right_at));
    Layout { labels, shown, cut_left, cut_right, right, right_at }
}

/// The status row as terminal output, exactly `cols` cells wide. The caller
/// positions the cursor at the start of the row first. When the sessions do
/// not all fit, the focused one and those that need the user stay, and `<`
/// or `>` marks that some are cut on that side, as tmux does.
pub fn render(entries: &[Entry], message: Option<&str>, cols: u16) -> String {
    let cols = usize::from(cols);
    let l = layout(entries, message, cols);
    let mut out = String::from(BAR);
    let mut used = 0;
    if l.cut_left {
        out.push_str(" <");
        used += 2;
    }
    for &(i, _) in &l.shown {
        let e = &entries[i];
        out.push(' ');
        out.push_str(if e.focused {
            FOCUSED
        } else if e.needs_you() {
            ALERT
        } else {
            BAR
        });
        out.push_str(&l.labels[i]);
        out.push_str(BAR);
        used += l.labels[i].width() + 1;
    }
    if l.cut_right {
        out.push_str(" >");
        used += 2;
    }
    out.extend(std::iter::repeat_n(' ', l.right_at.saturating_sub(used)));
    out.push_str(&l.right);
    out.extend(std::iter::repeat_n(' ', cols.saturating_sub(l.right_at.max(used) + l.right.width())));
    out.push_str("\x1b[0m");
    out
}

/// The entry whose label is at column `col` (from 0) of the status row.
pub fn entry_at(entries: &[Entry], message: Option<&str>, cols: u16, col: u16) -> Option<usize> {
    let l = layout(entries, message, usize::from(cols));
    let col = usize::from(col);
    l.shown.into_iter().find(|&(i, start)| (start..start + l.labels[i].width()).contains(&col)).map(|(i, _)| i)
}

/// A prompt in the status row (`rename 1:review: ...`), with the cursor
/// placed after the typed text. Returns the row text and the cursor column.
pub fn render_prompt(prompt: &str, input: &str, cols: u16) -> (String, u16) {
    let text = truncate(&format!("{prompt}{input}"), usize::from(cols).saturating_sub(1));
    let width = text.width();
    let pad = usize::from(cols).saturating_sub(width);
    (format!("\x1b[0;30;43m{text}{}\x1b[0m", " ".repeat(pad)), width as u16)
}

/// Cuts a string to at most `width` terminal cells.
pub fn truncate(s: &str, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            break;
        }
        used += w;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u32, name: &str) -> Entry {
        Entry {
            index,
            name: name.into(),
            focused: false,
            zoomed: false,
            last: false,
            attention: Attention::default(),
            exit_code: None,
            state: State::Waiting,
            queued: 0,
        }
    }

    fn plain(s: &str) -> String {
        let mut p = crate::terminal::Terminal::new(1, 200);
        p.process(s.as_bytes());
        p.screen().contents()
    }

    #[test]
    fn labels_carry_markers() {
        let mut e = entry(1, "review");
        e.focused = true;
        assert_eq!(e.label(), "1:review*");
        let mut e = entry(2, "build");
        e.attention.unseen_output = true;
        e.attention.bell = true;
        assert_eq!(e.label(), "2:build+!");
        let mut e = entry(3, "old");
        e.exit_code = Some(1);
        e.state = State::Exited;
        assert_eq!(e.label(), "3:old[exit 1]");
        let mut e = entry(4, "tests");
        e.state = State::Approval;
        e.attention.done = true;
        e.queued = 2;
        assert_eq!(e.label(), "4:tests?[q:2]✓");
        let mut e = entry(5, "review");
        e.state = State::Busy;
        e.focused = true;
        assert_eq!(e.label(), "5:review…*");
        e.zoomed = true;
        assert_eq!(e.label(), "5:review…*Z");
    }

    #[test]
    fn row_is_exactly_as_wide_as_the_terminal() {
        let entries = vec![entry(0, "a"), entry(1, "b")];
        for cols in [5u16, 20, 80] {
            let row = render(&entries, Some("1:b exited"), cols);
            let mut p = crate::terminal::Terminal::new(2, cols);
            p.process(row.as_bytes());
            // Nothing wrapped onto the second row.
            assert_eq!(p.screen().cursor_position().0, 0, "cols {cols}");
        }
        assert!(plain(&render(&entries, Some("hi"), 80)).contains(" 0:a 1:b"));
        assert!(plain(&render(&entries, Some("hi"), 80)).trim_end().ends_with("hi"));
    }

    #[test]
    fn the_focused_session_and_those_that_need_you_stay_visible() {
        let mut entries: Vec<Entry> = (0..12).map(|i| entry(i, &format!("session{i}"))).collect();
        entries[11].focused = true;
        entries[5].state = State::Approval;
        let row = plain(&render(&entries, None, 60));
        assert!(row.contains("11:session11*"), "{row}");
        assert!(row.contains("5:session5?"), "{row}");
        assert!(row.trim_start().starts_with('<'), "cut on the left: {row}");
        assert!(!row.contains('>'), "nothing cut after the last: {row}");
        assert_eq!(row.chars().count(), 60, "{row:?}");
        entries[11].focused = false;
        entries[0].focused = true;
        let row = plain(&render(&entries, Some("a message"), 60));
        assert!(row.contains("0:session0*") && row.contains("5:session5?"), "{row}");
        assert!(row.contains('>') && !row.contains('<'), "{row}");
        assert!(row.contains("a message"), "{row}");
        let long = "a warning far longer than the bar is wide ".repeat(4);
        let row = plain(&render(&entries, Some(&long), 60));
        assert!(row.contains("0:session0*") && row.contains("5:session5?"), "a long message hides no one: {row}");
        assert_eq!(row.chars().count(), 60, "{row:?}");
    }

    #[test]
    fn a_warning_is_shown_whole_beside_the_focused_session() {
        let mut entries: Vec<Entry> = (0..6).map(|i| entry(i, &format!("chat{i}"))).collect();
        entries[4].focused = true;
        let warning = "0:chat0 runs claude here too: only one resumes after a restart";
        let row = plain(&render(&entries, Some(warning), 80));
        assert!(row.contains(warning) && row.contains("4:chat4*"), "{row}");
        assert_eq!(row.chars().count(), 80, "{row:?}");
    }

    #[test]
    fn a_click_finds_the_entry_under_it() {
        let entries = vec![entry(0, "api"), entry(1, "docs")];
        let row = plain(&render(&entries, None, 40));
        let at = |name: &str| row.find(name).expect("shown") as u16;
        assert_eq!(entry_at(&entries, None, 40, at("0:api")), Some(0));
        assert_eq!(entry_at(&entries, None, 40, at("1:docs") + 3), Some(1));
        assert_eq!(entry_at(&entries, None, 40, 0), None, "the space before");
        assert_eq!(entry_at(&entries, None, 40, 39), None, "the empty end");
    }
}
