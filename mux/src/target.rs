//! Which sessions a `-t TARGET` names. One set of rules for live sessions,
//! for saved ones (`restore -t`), and for `forget -t` with or without a
//! server: an exact name, else an index, else a unique name prefix.

/// What a target can name a session by.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub index: u32,
    pub name: &'a str,
}

/// The positions in `candidates` that `target` names: every session with
/// that exact name, else every one with that index, else the one whose
/// name starts with it. `kind` names the candidates in errors ("session",
/// "saved session").
pub fn find(target: &str, candidates: &[Candidate<'_>], kind: &str) -> Result<Vec<usize>, String> {
    let positions = |f: &dyn Fn(&Candidate<'_>) -> bool| -> Vec<usize> {
        candidates.iter().enumerate().filter(|(_, c)| f(c)).map(|(i, _)| i).collect()
    };
    for found in [positions(&|c| c.name == target), positions(&|c| target.parse() == Ok(c.index))] {
        if !found.is_empty() {
            return Ok(found);
        }
    }
    match positions(&|c| c.name.starts_with(target)).as_slice() {
        [one] => Ok(vec![*one]),
        [] if candidates.is_empty() => Err(format!("there are no {kind}s")),
        [] => Err(format!("no {kind} {target:?} ({kind}s: {})", labels(candidates, 0..candidates.len()))),
        many => Err(format!("{target:?} is ambiguous: it matches {}", labels(candidates, many.iter().copied()))),
    }
}

/// `0:api, 1:docs`.
fn labels(candidates: &[Candidate<'_>], which: impl Iterator<Item = usize>) -> String {
    which.map(|i| format!("{}:{}", candidates[i].index, candidates[i].name)).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(index: u32, name: &str) -> Candidate<'_> {
        Candidate { index, name }
    }

    #[test]
    fn name_then_index_then_unique_prefix() {
        let all = [c(0, "alpha"), c(1, "alpine"), c(2, "1"), c(3, "beta")];
        assert_eq!(find("beta", &all, "session"), Ok(vec![3]));
        // A name that is all digits wins over the index it spells.
        assert_eq!(find("1", &all, "session"), Ok(vec![2]));
        assert_eq!(find("3", &all, "session"), Ok(vec![3]));
        assert_eq!(find("alph", &all, "session"), Ok(vec![0]));
        assert_eq!(find("b", &all, "session"), Ok(vec![3]));
    }

    #[test]
    fn misses_say_what_there_is() {
        let all = [c(0, "alpha"), c(1, "alpine")];
        assert_eq!(find("al", &all, "session"), Err("\"al\" is ambiguous: it matches 0:alpha, 1:alpine".into()));
        assert_eq!(
            find("zz", &all, "saved session"),
            Err("no saved session \"zz\" (saved sessions: 0:alpha, 1:alpine)".into())
        );
        assert_eq!(find("zz", &[], "session"), Err("there are no sessions".into()));
    }

    #[test]
    fn saved_sessions_may_share_a_name() {
        let all = [c(0, "api"), c(4, "api")];
        assert_eq!(find("api", &all, "saved session"), Ok(vec![0, 1]));
        assert_eq!(find("4", &all, "saved session"), Ok(vec![1]));
    }
}
