//! Reading the status bar: the client's last row lists every session as
//! `INDEX:NAME` followed by its markers (`*` focused, `+` new output, `!`
//! bell, `[exit N]` program ended), e.g. `0:a* 1:b+ 2:c[exit 3]`.

/// One session's entry in the status bar, e.g. `2:build…[q:1]*+!`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    pub index: u32,
    pub name: String,
    /// What follows the name up to the next blank (a `[…]` group counts as
    /// one piece): `*`, `+!`, `[exit 3]*`. qmux also shows `-` on the session
    /// shown before, the one prefix `l` goes back to.
    pub marks: String,
}

impl StatusEntry {
    /// Whether the markers include `mark` (`"*"`, `"+"`, `"!"`, `"[exit 3]"`).
    pub fn has(&self, mark: &str) -> bool {
        self.marks.contains(mark)
    }

    pub fn focused(&self) -> bool {
        self.has("*")
    }
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Every `INDEX:REST` in a row, where REST runs to the next blank (a `[…]`
/// group counts as one piece and may hold blanks).
fn pieces(row: &str) -> Vec<(u32, String)> {
    let chars: Vec<char> = row.chars().collect();
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let at_boundary = i == 0 || !is_name_char(chars[i - 1]);
        if !at_boundary || !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        if chars.get(i) != Some(&':') {
            continue;
        }
        let index: String = chars[start..i].iter().collect();
        i += 1;
        let rest_start = i;
        while i < chars.len() && !chars[i].is_whitespace() {
            if chars[i] == '[' {
                if let Some(len) = chars[i..].iter().position(|&c| c == ']') {
                    i += len;
                }
            }
            i += 1;
        }
        let rest: String = chars[rest_start..i].iter().collect();
        if let (Ok(index), false) = (index.parse(), rest.is_empty()) {
            pieces.push((index, rest));
        }
    }
    pieces
}

/// Whether `marks` can follow a name: anything but name characters, and
/// `[…]` groups. `-` counts as a marker ("shown before"), so a name ending in
/// `-` and that marker look alike; [`entry`], which knows the name, tells
/// them apart. Unknown markers (qmux's state marks such as `…` busy or `?`
/// approval, `✓` done) are accepted, so new ones do not break lookups.
fn only_marks(marks: &str) -> bool {
    let mut rest = marks;
    while let Some(c) = rest.chars().next() {
        if c == '[' {
            match rest.find(']') {
                Some(end) => rest = &rest[end + 1..],
                None => return false,
            }
        } else if c == '-' || !is_name_char(c) {
            rest = &rest[c.len_utf8()..];
        } else {
            return false;
        }
    }
    true
}

/// Every `INDEX:NAME` entry in a status row, left to right. A trailing `-`
/// is read as a marker, not part of the name.
pub fn parse(row: &str) -> Vec<StatusEntry> {
    pieces(row)
        .into_iter()
        .filter_map(|(index, rest)| {
            let name_end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
            let name = rest[..name_end].trim_end_matches('-');
            let marks = &rest[name.len()..];
            (!name.is_empty() && only_marks(marks)).then(|| StatusEntry {
                index,
                name: name.to_string(),
                marks: marks.to_string(),
            })
        })
        .collect()
}

/// The entry for the session called `name`, if the row shows one.
pub fn entry(row: &str, name: &str) -> Option<StatusEntry> {
    pieces(row).into_iter().find_map(|(index, rest)| {
        let marks = rest.strip_prefix(name)?;
        only_marks(marks).then(|| StatusEntry { index, name: name.to_string(), marks: marks.to_string() })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_markers_and_exit_codes() {
        let row = " 0:a*  1:b+! 2:c[exit 3] 3:dd[exit 12]*+   12:34";
        let e = parse(row);
        assert_eq!(e[0], StatusEntry { index: 0, name: "a".into(), marks: "*".into() });
        assert_eq!(e[1].marks, "+!");
        assert!(e[2].has("[exit 3]"));
        assert_eq!(e[3].name, "dd");
        assert_eq!(e[3].marks, "[exit 12]*+");
        assert!(e[3].focused());
        assert!(!e[0].has("+"));
    }

    #[test]
    fn names_do_not_match_by_prefix() {
        let row = "0:alpha* 1:alps";
        assert_eq!(entry(row, "alp"), None);
        assert_eq!(entry(row, "alps").unwrap().index, 1);
        let row = "0:x-y* 1:x-";
        assert_eq!(entry(row, "x").unwrap().index, 1);
        assert_eq!(entry(row, "x-y").unwrap().marks, "*");
        assert_eq!(entry(row, "x-").unwrap().marks, "");
    }

    #[test]
    fn text_around_the_entries_is_not_an_entry() {
        let e = parse("[qmux] 0:work*+ 1:x-   output: reply finished");
        let names: Vec<&str> = e.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["work", "x"]);
        assert_eq!(e[0].marks, "*+");
    }

    #[test]
    fn state_and_queue_marks_are_kept_with_the_others() {
        let row = " 0:main…* 1:output…+ 2:tests?[q:2]✓ 3:old[exit 1]";
        assert_eq!(entry(row, "main").unwrap().marks, "…*");
        assert!(entry(row, "output").unwrap().has("+"));
        assert!(entry(row, "tests").unwrap().has("✓"));
        assert_eq!(entry(row, "old").unwrap().marks, "[exit 1]");
        let names: Vec<String> = parse(row).into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["main", "output", "tests", "old"]);
    }
}
