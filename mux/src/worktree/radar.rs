//! What each worktree session has changed against its base (the numbers
//! `qmux ls` shows), and the conflict radar: which files two sessions of
//! one repository both changed, and whether merging both would conflict.
//!
//! Work not yet committed counts: each worktree is snapshotted into a
//! commit through a temporary index (`git add -A`, `write-tree`,
//! `commit-tree`), which touches neither the checkout nor its index.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsStr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{git, run, Worktree};

/// A session's changes against its base.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Numbers {
    /// Commits on the branch that the base lacks.
    pub ahead: u32,
    /// Commits on the base that the branch lacks.
    pub behind: u32,
    /// Files changed, committed or not.
    pub changed: u32,
    pub added: u32,
    pub removed: u32,
}

/// Another session whose changes would conflict with this one's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The other session (`3:codex`).
    pub session: String,
    /// The files a merge of both would conflict in.
    pub files: Vec<String>,
    /// Every file both changed.
    pub overlap: Vec<String>,
}

/// The numbers of each session (or why there are none), and its
/// conflicts with the others; and what git said, for the next survey to
/// reuse.
#[derive(Debug, Default)]
pub struct Survey<K> {
    pub numbers: HashMap<K, Result<Numbers, String>>,
    pub conflicts: HashMap<K, Vec<Conflict>>,
    pub cache: Cache<K>,
}

/// What git said of each worktree, and of each pair of snapshots merged:
/// a worktree nothing ran in since is not asked again, nor is a pair
/// neither of whose snapshots changed.
#[derive(Debug, Clone)]
pub struct Cache<K> {
    looks: HashMap<K, (Numbers, String, BTreeSet<String>)>,
    merges: HashMap<(String, String), Vec<String>>,
}

impl<K> Default for Cache<K> {
    fn default() -> Self {
        Cache { looks: HashMap::new(), merges: HashMap::new() }
    }
}

/// Surveys the worktrees of these sessions: `(key, label, worktree,
/// fresh)`; a session not `fresh` (nothing ran in it since the last
/// survey) keeps what `cache` says of it.
pub fn survey<K: Copy + Eq + std::hash::Hash>(sessions: &[(K, String, Worktree, bool)], cache: Cache<K>) -> Survey<K> {
    let mut survey = Survey { numbers: HashMap::new(), conflicts: HashMap::new(), cache: Cache::default() };
    // (key, label, snapshot, files) of each session that could be looked at.
    let mut seen = Vec::new();
    for (key, label, wt, fresh) in sessions {
        let cached = cache.looks.get(key).filter(|_| !fresh).cloned();
        match cached.map_or_else(|| look(wt), Ok) {
            Ok((numbers, snapshot, files)) => {
                survey.numbers.insert(*key, Ok(numbers.clone()));
                survey.cache.looks.insert(*key, (numbers, snapshot.clone(), files.clone()));
                seen.push((*key, label.clone(), wt.repo.clone(), snapshot, files));
            }
            Err(e) => {
                survey.numbers.insert(*key, Err(e));
            }
        }
    }
    for (i, a) in seen.iter().enumerate() {
        for b in &seen[i + 1..] {
            if a.2 != b.2 {
                continue;
            }
            let overlap: Vec<String> = a.4.intersection(&b.4).cloned().collect();
            if overlap.is_empty() {
                continue;
            }
            let pair = if a.3 <= b.3 { (a.3.clone(), b.3.clone()) } else { (b.3.clone(), a.3.clone()) };
            let files = match cache.merges.get(&pair) {
                Some(files) => files.clone(),
                None => would_conflict(&a.2, &a.3, &b.3),
            };
            survey.cache.merges.insert(pair, files.clone());
            if files.is_empty() {
                continue;
            }
            let conflict =
                |other: &String| Conflict { session: other.clone(), files: files.clone(), overlap: overlap.clone() };
            survey.conflicts.entry(a.0).or_default().push(conflict(&b.1));
            survey.conflicts.entry(b.0).or_default().push(conflict(&a.1));
        }
    }
    survey
}

/// A worktree's numbers, its snapshot and the files it changed.
fn look(wt: &Worktree) -> Result<(Numbers, String, BTreeSet<String>), String> {
    if !wt.path.is_dir() {
        return Err(format!("the worktree {} is gone", wt.path.display()));
    }
    let counts = git(&wt.path, &["rev-list", "--left-right", "--count", &format!("{}...HEAD", wt.base)])?;
    let mut counts = counts.split_whitespace().map(|n| n.parse::<u32>().unwrap_or(0));
    let (behind, ahead) = (counts.next().unwrap_or(0), counts.next().unwrap_or(0));
    let (from, to) = range(wt)?;
    let numstat = git(&wt.path, &["diff", "--numstat", "-z", "--no-renames", &from, &to])?;
    let mut numbers = Numbers { ahead, behind, ..Numbers::default() };
    let mut files = BTreeSet::new();
    for entry in numstat.split('\0').filter(|e| !e.is_empty()) {
        let mut parts = entry.splitn(3, '\t');
        let (plus, minus, file) = (parts.next(), parts.next(), parts.next());
        numbers.added += plus.and_then(|n| n.parse::<u32>().ok()).unwrap_or(0);
        numbers.removed += minus.and_then(|n| n.parse::<u32>().ok()).unwrap_or(0);
        numbers.changed += 1;
        files.extend(file.map(str::to_string));
    }
    Ok((numbers, to, files))
}

/// What a review compares: the merge base of branch and base, and a
/// commit of the worktree as it is now.
pub(super) fn range(wt: &Worktree) -> Result<(String, String), String> {
    let from = git(&wt.path, &["merge-base", &wt.base, "HEAD"])?.trim().to_string();
    Ok((from, snapshot(&wt.path)?))
}

/// A commit of the checkout at `dir` as it is, uncommitted and untracked
/// (not ignored) files included, made through a temporary index: neither
/// the checkout nor its own index is touched. HEAD itself when clean.
fn snapshot(dir: &Path) -> Result<String, String> {
    let head = git(dir, &["rev-parse", "HEAD"])?.trim().to_string();
    let index = git(dir, &["rev-parse", "--path-format=absolute", "--git-path", "index"])?;
    let scratch = Scratch::new();
    // A copy keeps the index's file times: `add` then reads only what changed.
    if std::fs::copy(index.trim(), scratch.path()).is_err() {
        git_with_index(dir, scratch.path(), &["read-tree", "HEAD"])?;
    }
    git_with_index(dir, scratch.path(), &["add", "-A", "--", "."])?;
    let tree = git_with_index(dir, scratch.path(), &["write-tree"])?;
    let head_tree = git(dir, &["rev-parse", "HEAD^{tree}"])?;
    if tree.trim() == head_tree.trim() {
        return Ok(head);
    }
    let args = ["commit-tree", tree.trim(), "-p", &head, "-m", "qmux snapshot"];
    git_with_index(dir, scratch.path(), &args).map(|c| c.trim().to_string())
}

fn git_with_index(dir: &Path, index: &Path, args: &[&str]) -> Result<String, String> {
    let who = OsStr::new("qmux");
    let mail = OsStr::new("qmux@localhost");
    let env = [
        ("GIT_INDEX_FILE", index.as_os_str()),
        ("GIT_AUTHOR_NAME", who),
        ("GIT_AUTHOR_EMAIL", mail),
        ("GIT_COMMITTER_NAME", who),
        ("GIT_COMMITTER_EMAIL", mail),
    ];
    let out = run(dir, args, &env)?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    Err(super::failed(args, &out.stderr))
}

/// The files a merge of two commits would conflict in (none if it would
/// go cleanly, or git cannot say).
fn would_conflict(repo: &Path, a: &str, b: &str) -> Vec<String> {
    let args = ["merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", a, b];
    match run(repo, &args, &[]) {
        // Exit 1 is "conflicts": the tree's id, then the files.
        Ok(out) if out.status.code() == Some(1) => {
            let text = String::from_utf8_lossy(&out.stdout);
            let files: BTreeSet<String> =
                text.split('\0').skip(1).filter(|f| !f.is_empty()).map(String::from).collect();
            files.into_iter().collect()
        }
        _ => Vec::new(),
    }
}

/// A temporary index file's name, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> Scratch {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Scratch(std::env::temp_dir().join(format!("qmux-index.{}.{n}", std::process::id())))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worktree::{create, Request, DEFAULT_DIR, DEFAULT_PREFIX};

    fn git_ok(dir: &Path, args: &[&str]) -> String {
        git(dir, args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A repository `r` in `root` on main, `f` holding "one", and two
    /// worktrees of it, `a` and `b`.
    fn two_worktrees(root: &Path) -> (Worktree, Worktree) {
        let repo = root.join("r");
        std::fs::create_dir_all(&repo).unwrap();
        git_ok(&repo, &["init", "-q", "-b", "main"]);
        git_ok(&repo, &["config", "user.name", "T"]);
        git_ok(&repo, &["config", "user.email", "t@example.com"]);
        std::fs::write(repo.join("f"), "one\n").unwrap();
        git_ok(&repo, &["add", "f"]);
        git_ok(&repo, &["commit", "-q", "-m", "init"]);
        let req = |name| Request { name, base: None, reuse: false, prefix: DEFAULT_PREFIX, dir: DEFAULT_DIR };
        (create(&repo, &req("a")).unwrap(), create(&repo, &req("b")).unwrap())
    }

    #[test]
    fn uncommitted_edits_of_one_file_in_two_worktrees_would_conflict_and_no_index_is_touched() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = two_worktrees(tmp.path());
        std::fs::write(a.path.join("f"), "alpha\n").unwrap();
        std::fs::write(b.path.join("f"), "beta\n").unwrap();
        std::fs::write(b.path.join("new"), "x\n").unwrap();

        let s = survey(
            &[(1, "0:a".to_string(), a.clone(), true), (2, "1:b".to_string(), b.clone(), true)],
            Cache::default(),
        );
        let numbers = |k| s.numbers[&k].clone().unwrap();
        assert_eq!(numbers(1), Numbers { ahead: 0, behind: 0, changed: 1, added: 1, removed: 1 });
        assert_eq!(numbers(2).changed, 2);
        let one =
            |other: &str| vec![Conflict { session: other.into(), files: vec!["f".into()], overlap: vec!["f".into()] }];
        assert_eq!(s.conflicts[&1], one("1:b"));
        assert_eq!(s.conflicts[&2], one("0:a"));
        assert_eq!(git_ok(&b.path, &["status", "--porcelain"]), " M f\n?? new\n");
        // Nothing ran in a since: its look and the pair's merge are reused,
        // even once its files change by hand (until it is fresh again).
        std::fs::write(a.path.join("f"), "beta\n").unwrap();
        let again =
            survey(&[(1, "0:a".to_string(), a.clone(), false), (2, "1:b".to_string(), b.clone(), false)], s.cache);
        assert_eq!(again.conflicts[&1], one("1:b"), "from the cache");
        let fresh = survey(&[(1, "0:a".to_string(), a, true), (2, "1:b".to_string(), b, false)], again.cache);
        assert!(fresh.conflicts.is_empty(), "looked at again: both now write beta");
    }

    #[test]
    fn different_files_are_no_conflict_and_a_gone_worktree_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = two_worktrees(tmp.path());
        std::fs::write(a.path.join("f"), "alpha\n").unwrap();
        std::fs::write(b.path.join("g"), "beta\n").unwrap();
        let s = survey(
            &[(1, "0:a".to_string(), a.clone(), true), (2, "1:b".to_string(), b.clone(), true)],
            Cache::default(),
        );
        assert!(s.conflicts.is_empty());
        std::fs::remove_dir_all(&b.path).unwrap();
        let s = survey(&[(1, "0:a".to_string(), a, true), (2, "1:b".to_string(), b, true)], s.cache);
        assert!(s.numbers[&2].as_ref().is_err_and(|e| e.contains("is gone")));
        assert!(s.numbers[&1].is_ok());
    }
}
