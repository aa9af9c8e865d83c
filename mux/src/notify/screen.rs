//! What a notice quotes, read off the screen: the question an agent asks
//! (with the command it asks about), and the last line of its reply.
//! Rule sets say where to look (`[notify]`, `rules/notices.rs`); these are
//! the ways of looking.

use regex::Regex;

use crate::rules::Notices;

/// The text of the question on `row`, with the detail the rule set's
/// `detail` pattern finds in the rows around it (the command to run).
pub fn question(screen: &vt100::Screen, row: u16, rules: &Notices) -> String {
    let rows = rows(screen);
    // The dialog's rows: the question's, and a dozen either side.
    let from = usize::from(row).saturating_sub(12);
    let to = (usize::from(row) + 12).min(rows.len());
    let dialog = rows.get(from..to).map(|r| r.join("\n")).unwrap_or_default();
    let find = |re: &Regex| {
        let caps = re.captures_iter(&dialog).last()?;
        let m = caps.get(1).or_else(|| caps.get(0))?;
        Some(strip_chrome(m.as_str()))
    };
    let line = rules
        .question
        .as_ref()
        .and_then(find)
        .or_else(|| rows.get(usize::from(row)).map(|r| strip_chrome(r)))
        .unwrap_or_default();
    let detail = rules.detail.as_ref().and_then(find);
    match detail.filter(|d| !d.is_empty() && !line.contains(d.as_str())) {
        Some(d) => format!("{line} {d}"),
        None => line,
    }
}

/// The last line of the reply above the program's input: the nearest row
/// above `input_row` that has words in it and is none of the program's own
/// chrome (rules, hints, "Worked for 3s", a lone path).
pub fn reply_last_line(screen: &vt100::Screen, input_row: u16, rules: &Notices) -> Option<String> {
    let rows = rows(screen);
    let end = usize::from(input_row).min(rows.len());
    rows[..end].iter().rev().map(|r| strip_chrome(r)).find(|line| {
        line.chars().any(char::is_alphanumeric)
            && !common_chrome().is_match(line)
            && !rules.reply_skip.iter().any(|re| re.is_match(line))
    })
}

fn rows(screen: &vt100::Screen) -> Vec<String> {
    let (_, cols) = screen.size();
    screen.rows(0, cols.get()).collect()
}

/// A row without the box it is drawn in and the bullet it starts with:
/// `│ ● text │` → `text`.
fn strip_chrome(row: &str) -> String {
    let boxes = |c: char| c.is_whitespace() || ('\u{2500}'..='\u{259f}').contains(&c);
    let text = row.trim_matches(boxes);
    // A glyph before the words (● ✦ • △ ⠏), and the variation selector
    // some draw after it.
    let mut chars = text.chars();
    let text = match (chars.next(), chars.clone().next()) {
        (Some(c), Some(' ' | '\u{fe0e}' | '\u{fe0f}')) if !c.is_ascii() && !c.is_alphanumeric() => {
            chars.as_str().trim_start_matches(['\u{fe0e}', '\u{fe0f}'])
        }
        _ => text,
    };
    crate::notify::clean(text.trim_matches(boxes))
}

/// Rows most agents draw around their input that are not a reply.
fn common_chrome() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"(?i)^\S?\s*\w+ for \d+(\.\d+)?(ms|s|m)\b", // Worked for 1s, Cogitated for 2s
            r"|\? for shortcuts|shift\+tab|esc to (cancel|interrupt)|ctrl\+[a-z] to",
            r"|^[~/]\S*$", // the directory
        ))
        .expect("a valid pattern")
    })
}
