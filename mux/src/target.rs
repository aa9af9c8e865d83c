//! Which sessions a `-t TARGET` names. One set of rules for live sessions,
//! for saved ones (`restore -t`), and for `forget -t` with or without a
//! server, as tmux reads session targets:
//! - digits are an index (`-t 2`, what `C-b 2` shows), never a name;
//!   names made of digits alone are refused, so the two cannot clash;
//! - `=NAME` is that exact name;
//! - `$ID` is a session's id (how a command inside qmux names its own);
//! - anything else is an exact name, else a unique name prefix.

/// What a target can name a session by.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub index: u32,
    pub name: &'a str,
    /// Live sessions have one; saved ones do not.
    pub id: Option<u64>,
}

/// The positions in `candidates` that `target` names (saved sessions may
/// share a name or an index: all of them). `kind` names the candidates in
/// errors ("session", "saved session").
pub fn find(target: &str, candidates: &[Candidate<'_>], kind: &str) -> Result<Vec<usize>, String> {
    let positions = |f: &dyn Fn(&Candidate<'_>) -> bool| -> Vec<usize> {
        candidates.iter().enumerate().filter(|(_, c)| f(c)).map(|(i, _)| i).collect()
    };
    let none = || match candidates {
        [] => format!("there are no {kind}s"),
        _ => format!("no {kind} {target:?} ({kind}s: {})", labels(candidates, 0..candidates.len())),
    };
    if target.is_empty() && !candidates.is_empty() {
        return Err(format!("say which {kind} with -t TARGET ({kind}s: {})", labels(candidates, 0..candidates.len())));
    }
    let found = if is_index(target) {
        positions(&|c| target.parse() == Ok(c.index))
    } else if let Some(name) = target.strip_prefix('=') {
        positions(&|c| c.name == name)
    } else if let Some(id) = target.strip_prefix('$').and_then(|id| id.parse().ok()) {
        positions(&|c| c.id == Some(id))
    } else {
        match positions(&|c| c.name == target) {
            exact if !exact.is_empty() => exact,
            _ => match positions(&|c| c.name.starts_with(target)).as_slice() {
                many @ [_, _, ..] => {
                    let which = labels(candidates, many.iter().copied());
                    return Err(format!("{target:?} is ambiguous: it matches {which} (=NAME names one exactly)"));
                }
                found => found.to_vec(),
            },
        }
    };
    if found.is_empty() {
        return Err(none());
    }
    Ok(found)
}

/// Whether `target` names the session `index`/`name` itself, not by a
/// prefix of its name (and never by an id: saved sessions have none).
pub fn names_exactly(target: &str, index: u32, name: &str) -> bool {
    if is_index(target) {
        target.parse() == Ok(index)
    } else {
        target.strip_prefix('=').unwrap_or(target) == name
    }
}

/// Digits alone: an index.
pub fn is_index(target: &str) -> bool {
    !target.is_empty() && target.bytes().all(|b| b.is_ascii_digit())
}

/// Why a session may not be called `name`, if it may not.
pub fn check_name(name: &str) -> Result<(), String> {
    let why = if name.is_empty() || name.chars().any(|c| c.is_control() || c == ':') {
        "use letters, digits and punctuation other than ':'"
    } else if is_index(name) {
        "digits alone are an index in -t; add a letter"
    } else if name.starts_with(['=', '$']) {
        "'=' and '$' at the start mean an exact name and an id in -t"
    } else {
        return Ok(());
    };
    Err(format!("bad session name {name:?}: {why}"))
}

/// `0:api, 1:docs`.
fn labels(candidates: &[Candidate<'_>], which: impl Iterator<Item = usize>) -> String {
    which.map(|i| format!("{}:{}", candidates[i].index, candidates[i].name)).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(index: u32, name: &str) -> Candidate<'_> {
        Candidate { index, name, id: Some(u64::from(index) + 10) }
    }

    #[test]
    fn index_exact_name_id_then_unique_prefix() {
        // "1" as a name comes from an older qmux; digits are an index now.
        let all = [c(0, "alpha"), c(1, "alpine"), c(2, "1"), c(3, "beta"), c(4, "al")];
        assert_eq!(find("beta", &all, "session"), Ok(vec![3]));
        assert_eq!(find("1", &all, "session"), Ok(vec![1]));
        assert_eq!(find("=1", &all, "session"), Ok(vec![2]));
        assert_eq!(find("$13", &all, "session"), Ok(vec![3]));
        assert_eq!(find("alph", &all, "session"), Ok(vec![0]));
        assert_eq!(find("al", &all, "session"), Ok(vec![4]), "an exact name beats prefixes");
        assert_eq!(find("b", &all, "session"), Ok(vec![3]));
        assert!(find("=b", &all, "session").is_err(), "=NAME is never a prefix");
        assert!(find("9", &all, "session").is_err());
    }

    #[test]
    fn names_that_would_read_as_targets_are_refused() {
        assert!(check_name("review").is_ok());
        assert!(check_name("my chat").is_ok());
        for bad in ["1", "042", "=x", "$3", "a:b", ""] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name("1").unwrap_err().contains("digits alone are an index"));
    }

    #[test]
    fn misses_say_what_there_is() {
        let all = [c(0, "alpha"), c(1, "alpine")];
        assert_eq!(
            find("al", &all, "session"),
            Err("\"al\" is ambiguous: it matches 0:alpha, 1:alpine (=NAME names one exactly)".into())
        );
        assert!(find("", &all, "session").unwrap_err().starts_with("say which session with -t TARGET"));
        assert_eq!(
            find("zz", &all, "saved session"),
            Err("no saved session \"zz\" (saved sessions: 0:alpha, 1:alpine)".into())
        );
        assert_eq!(find("zz", &[], "session"), Err("there are no sessions".into()));
    }

    #[test]
    fn saved_sessions_may_share_a_name() {
        let all = [Candidate { index: 0, name: "api", id: None }, Candidate { index: 4, name: "api", id: None }];
        assert_eq!(find("api", &all, "saved session"), Ok(vec![0, 1]));
        assert_eq!(find("4", &all, "saved session"), Ok(vec![1]));
    }

    #[test]
    fn a_target_names_a_session_exactly_by_its_index_or_its_whole_name() {
        assert!(names_exactly("0", 0, "claude"));
        assert!(names_exactly("claude", 0, "claude"));
        assert!(names_exactly("=claude", 0, "claude"));
        assert!(!names_exactly("cla", 0, "claude"), "a prefix is not the name");
        assert!(!names_exactly("1", 0, "claude"));
        assert!(!names_exactly("claude", 0, "claude-2"));
    }
}
