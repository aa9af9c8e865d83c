//! `qmux merge`: a session's branch into its base, in the main checkout.
//! It either happens whole or not at all: a conflict is aborted, and the
//! main checkout and its HEAD are left as they were.

use super::{current_branch, dirty_files, git, run, Worktree};

/// How the branch goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// `git merge`: a fast-forward when it can be one, else a merge commit.
    Merge,
    /// One commit on the base with every change of the branch.
    Squash,
    /// The branch rebased onto its base (in its worktree), then
    /// fast-forwarded.
    Rebase,
}

/// Merges `wt`'s branch into its base; returns what was done, in a line.
/// `label` names the session in messages (`2:fix`).
pub fn merge(wt: &Worktree, how: How, label: &str) -> Result<String, String> {
    let repo = &wt.repo;
    let dirty = dirty_files(repo, false)?;
    if !dirty.is_empty() {
        return Err(format!(
            "the main checkout {} has uncommitted changes ({}): commit or stash them first",
            repo.display(),
            dirty.join(", ")
        ));
    }
    match current_branch(repo) {
        Some(b) if b == wt.base => {}
        Some(b) => {
            return Err(format!(
                "the main checkout is on {b}, not {}: check out {} there to merge into it",
                wt.base, wt.base
            ))
        }
        None => return Err(format!("the main checkout has no branch checked out: check out {} there first", wt.base)),
    }
    if !wt.path.is_dir() {
        return Err(format!("the worktree {} of {label} is gone", wt.path.display()));
    }
    let uncommitted = dirty_files(&wt.path, true)?;
    if !uncommitted.is_empty() {
        return Err(format!(
            "{label} has uncommitted changes ({}): commit them in {} first, or they stay behind",
            uncommitted.join(", "),
            wt.path.display()
        ));
    }
    let ahead = git(repo, &["rev-list", "--count", &format!("{}..{}", wt.base, wt.branch)])?;
    if ahead.trim() == "0" {
        return Err(format!("nothing to merge: {} has no commits that {} lacks", wt.branch, wt.base));
    }
    let head = git(repo, &["rev-parse", "HEAD"])?;
    let result = match how {
        How::Merge => attempt(repo, &["merge", "--no-edit", "--quiet", &wt.branch], &["merge", "--abort"]),
        How::Squash => attempt(repo, &["merge", "--squash", "--quiet", &wt.branch], &["reset", "--merge"])
            .and_then(|()| git(repo, &["commit", "--quiet", "--no-edit"]).map(|_| ()).map_err(Conflicted::Failed)),
        How::Rebase => attempt(&wt.path, &["rebase", "--quiet", &wt.base], &["rebase", "--abort"]).and_then(|()| {
            git(repo, &["merge", "--ff-only", "--quiet", &wt.branch]).map(|_| ()).map_err(Conflicted::Failed)
        }),
    };
    match result {
        Ok(()) => {
            let files =
                git(repo, &["diff", "--name-only", head.trim(), "HEAD"]).map(|f| f.lines().count()).unwrap_or(0);
            let way = match how {
                How::Merge => "merged",
                How::Squash => "squashed",
                How::Rebase => "rebased and merged",
            };
            Ok(format!(
                "{way} {} into {} ({files} file{} changed)",
                wt.branch,
                wt.base,
                if files == 1 { "" } else { "s" }
            ))
        }
        Err(Conflicted::Files(files)) => Err(format!(
            "merging {} into {} conflicts in {}: nothing was merged (qmux diff -t {label} shows its changes)",
            wt.branch,
            wt.base,
            files.join(", ")
        )),
        Err(Conflicted::Failed(e)) => {
            // Whatever went wrong, the main checkout goes back to where it was.
            let _ = git(repo, &["reset", "--merge", head.trim()]);
            Err(e)
        }
    }
}

enum Conflicted {
    Files(Vec<String>),
    Failed(String),
}

/// Runs a merge or rebase in `dir`; on failure, notes the conflicted files
/// and runs `abort`.
fn attempt(dir: &std::path::Path, args: &[&str], abort: &[&str]) -> Result<(), Conflicted> {
    let out = run(dir, args, &[]).map_err(Conflicted::Failed)?;
    if out.status.success() {
        return Ok(());
    }
    let files = git(dir, &["diff", "--name-only", "--diff-filter=U"]).unwrap_or_default();
    let files: Vec<String> = files.lines().map(String::from).collect();
    let _ = git(dir, abort);
    if files.is_empty() {
        return Err(Conflicted::Failed(super::failed(args, &out.stderr)));
    }
    Err(Conflicted::Files(files))
}
