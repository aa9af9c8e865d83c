//! Each agent its own checkout: a git worktree on a branch of its own,
//! made beside the repository, reviewed, merged and removed again.
//!
//! Everything here runs the real `git` with arguments and reads its
//! porcelain output; nothing writes to a repository any other way. These
//! are blocking calls: the client makes them itself, and the server only
//! on a thread of its own (`server/worktrees.rs`), never on its event loop.
//!
//! The entry points: [`prepare`] ([`create`], [`copy_includes`],
//! [`setup_command`]) for `qmux new -w` and prefix `C`, [`survey`] for the
//! numbers `qmux ls` shows and the conflict radar (`radar.rs`), [`diff`],
//! [`merge`] (`merge.rs`), [`after_kill`] and [`remove`] for cleaning up,
//! [`list`] for `qmux worktree ls`.

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

mod merge;
mod radar;

pub use merge::{merge, How};
pub use radar::{survey, Cache, Conflict, Numbers, Survey};

/// Where qmux puts worktrees unless `worktree-dir` says otherwise:
/// beside the repository, so its own `git status` never sees them.
pub const DEFAULT_DIR: &str = "../{repo}.worktrees";

/// The branch prefix unless `worktree-branch-prefix` says otherwise.
pub const DEFAULT_PREFIX: &str = "qmux/";

/// A session's checkout: what qmux made, remembered with the session (and
/// saved with it, so a restore brings it back there).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Worktree {
    /// The name it was made with (`qmux new -w NAME`).
    pub name: String,
    /// The main checkout's top directory.
    pub repo: PathBuf,
    /// The worktree's directory.
    pub path: PathBuf,
    /// Its branch, prefix included (`qmux/fix-login`).
    pub branch: String,
    /// What it was made from and merges into: a branch name, else a commit.
    pub base: String,
    /// A command to run in the session before its program, once.
    #[serde(default)]
    pub setup: Option<String>,
}

/// What `qmux new -w NAME` asks for.
pub struct Request<'a> {
    pub name: &'a str,
    pub base: Option<&'a str>,
    /// Start on the branch if it exists already.
    pub reuse: bool,
    pub prefix: &'a str,
    /// `worktree-dir`: relative to the repository's top directory, with
    /// `{repo}` standing for its name.
    pub dir: &'a str,
}

/// Runs `git -C dir ARGS` and returns its standard output; a failure is one
/// line naming the command and git's own first words.
pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = run(dir, args, &[])?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    Err(failed(args, &out.stderr))
}

/// `git -C dir ARGS` with extra environment, for when the exit code itself
/// is the answer.
pub(crate) fn run(dir: &Path, args: &[&str], env: &[(&str, &OsStr)]) -> Result<std::process::Output, String> {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(args).stdin(Stdio::null());
    // `dir` says which repository, whatever the environment we run in says.
    for var in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR"] {
        cmd.env_remove(var);
    }
    // Looking must never take the index lock an agent's own git wants.
    cmd.env("GIT_OPTIONAL_LOCKS", "0").env("LC_ALL", "C");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().map_err(|e| format!("cannot run git: {e}"))
}

/// `git merge failed: CONFLICT …`: the command and git's first line.
pub(crate) fn failed(args: &[&str], stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no message");
    let first = first.trim_start_matches("fatal: ").trim_start_matches("error: ");
    format!("git {} failed: {first}", args.first().copied().unwrap_or(""))
}

/// Whether a ref names a commit, and which.
fn commit_of(repo: &Path, rev: &str) -> Option<String> {
    let spec = format!("{rev}^{{commit}}");
    let out = run(repo, &["rev-parse", "--verify", "--quiet", "--end-of-options", &spec], &[]).ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn branch_exists(repo: &Path, branch: &str) -> bool {
    commit_of(repo, &format!("refs/heads/{branch}")).is_some()
}

/// The branch checked out in `dir`, if any.
pub(crate) fn current_branch(dir: &Path) -> Option<String> {
    let b = git(dir, &["symbolic-ref", "--quiet", "--short", "HEAD"]).ok()?;
    Some(b.trim().to_string()).filter(|b| !b.is_empty())
}

/// The main checkout of the repository `dir` is in (from a linked
/// worktree too).
pub fn repo_of(dir: &Path) -> Result<PathBuf, String> {
    let common = git(dir, &["rev-parse", "--path-format=absolute", "--git-common-dir"])
        .map_err(|_| format!("{} is not in a git repository", dir.display()))?;
    let common = PathBuf::from(common.trim());
    match common.file_name() {
        Some(n) if n == ".git" => Ok(common.parent().unwrap_or(&common).to_path_buf()),
        _ => Err(format!("{} is a bare repository: worktrees need a main checkout", common.display())),
    }
}

/// Where worktree `name` of `repo` goes: `dir` resolved against the
/// repository, `{repo}` its name.
pub fn place(repo: &Path, dir: &str, name: &str) -> PathBuf {
    let repo_name = repo.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = dir.replace("{repo}", &repo_name);
    let dir = match dir.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME").map_or_else(|| PathBuf::from(&dir), |h| PathBuf::from(h).join(rest)),
        None => PathBuf::from(dir),
    };
    normalize(&repo.join(dir).join(name))
}

/// `a/b/../c` → `a/c`, without asking the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// A worktree name is one path component and a good branch name.
fn check_name(repo: &Path, name: &str, branch: &str) -> Result<(), String> {
    let bad = name.is_empty()
        || name.starts_with(['.', '-'])
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let ok = !bad && run(repo, &["check-ref-format", "--branch", branch], &[]).is_ok_and(|o| o.status.success());
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} cannot name a worktree: use letters, digits, '-', '_' and '.'"))
    }
}

/// Makes branch and worktree for `qmux new -w`, from the repository `cwd`
/// is in. Everything is checked first: a refusal leaves nothing made.
pub fn create(cwd: &Path, req: &Request<'_>) -> Result<Worktree, String> {
    let repo = repo_of(cwd).map_err(|e| format!("{e}: -w makes a worktree of the repository you are in"))?;
    let branch = format!("{}{}", req.prefix, req.name);
    check_name(&repo, req.name, &branch)?;
    let exists = branch_exists(&repo, &branch);
    if exists && !req.reuse {
        return Err(format!("branch {branch} exists already: --reuse starts the session on it, or pick another name"));
    }
    let base = match req.base {
        Some(rev) => {
            commit_of(&repo, rev).ok_or_else(|| format!("bad base {rev:?}: no such commit in {}", repo.display()))?;
            rev.to_string()
        }
        None => match current_branch(&repo) {
            Some(b) => b,
            None => commit_of(&repo, "HEAD").ok_or_else(|| format!("{} has no commits yet", repo.display()))?,
        },
    };
    let path = place(&repo, req.dir, req.name);
    if path.starts_with(&repo) && !path.starts_with(repo.join(".git")) {
        return Err(format!("worktree-dir puts {} inside the repository: choose a place outside it", path.display()));
    }
    if path.exists() {
        return Err(format!("{} exists already: remove it, or pick another name", path.display()));
    }
    let target = path.to_string_lossy().into_owned();
    let add = match exists {
        true => git(&repo, &["worktree", "add", "--quiet", &target, &branch]),
        false => git(&repo, &["worktree", "add", "--quiet", "-b", &branch, &target, &base]),
    };
    add?;
    // Remembered in the branch's own config, which `git branch -d` drops:
    // `qmux worktree rm` knows what it merges into with no session left.
    let _ = git(&repo, &["config", &format!("branch.{branch}.qmuxbase"), &base]);
    Ok(Worktree { name: req.name.to_string(), repo, path, branch, base, setup: None })
}

/// A worktree ready for its session.
pub struct Prepared {
    pub worktree: Worktree,
    /// How many files `.worktreeinclude` brought.
    pub copied: usize,
    /// Its branch was there before (`--reuse`): an undo leaves it.
    pub reused: bool,
}

/// [`create`], then [`copy_includes`] and the [`setup_command`] (the
/// config's is `configured`): a worktree ready for its session, or
/// nothing made.
pub fn prepare(cwd: &Path, req: &Request<'_>, configured: Option<&str>) -> Result<Prepared, String> {
    let reused = branch_exists(&repo_of(cwd).unwrap_or_default(), &format!("{}{}", req.prefix, req.name));
    let mut worktree = create(cwd, req)?;
    let ready = copy_includes(&worktree).and_then(|c| Ok((c.len(), setup_command(&worktree.repo, configured)?)));
    match ready {
        Ok((copied, setup)) => {
            worktree.setup = setup;
            Ok(Prepared { worktree, copied, reused })
        }
        Err(e) => {
            undo(&worktree, reused);
            Err(e)
        }
    }
}

/// Takes back what [`create`] made, when the session could not start; a
/// branch that was there before (`--reuse`) stays.
pub fn undo(wt: &Worktree, reused: bool) {
    let path = wt.path.to_string_lossy();
    let _ = git(&wt.repo, &["worktree", "remove", "--force", &path]);
    if !reused {
        let _ = git(&wt.repo, &["branch", "-D", &wt.branch]);
    }
}

/// Copies into the worktree what `.worktreeinclude` at the repository's
/// top names (paths or globs, one a line, `#` comments): files git does
/// not carry, such as `.env`. Nothing already there is overwritten.
/// Returns what was copied, relative to the top.
pub fn copy_includes(wt: &Worktree) -> Result<Vec<PathBuf>, String> {
    let Ok(list) = std::fs::read_to_string(wt.repo.join(".worktreeinclude")) else { return Ok(Vec::new()) };
    let mut copied = Vec::new();
    for line in list.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if Path::new(line).components().any(|c| c == Component::ParentDir) {
            return Err(format!(".worktreeinclude: {line:?} reaches outside the repository"));
        }
        let pattern = wt.repo.join(line.trim_start_matches('/'));
        let matches = glob::glob(&pattern.to_string_lossy())
            .map_err(|e| format!(".worktreeinclude: bad pattern {line:?}: {}", e.msg))?;
        for from in matches.flatten() {
            let Ok(rel) = from.strip_prefix(&wt.repo) else { continue };
            if rel.starts_with(".git") {
                continue;
            }
            copy_tree(&from, &wt.path.join(rel), rel, &mut copied)?;
        }
    }
    Ok(copied)
}

fn copy_tree(from: &Path, to: &Path, rel: &Path, copied: &mut Vec<PathBuf>) -> Result<(), String> {
    let why = |e: std::io::Error| format!("cannot copy {} into the worktree: {e}", rel.display());
    if from.is_dir() {
        for entry in std::fs::read_dir(from).map_err(why)?.flatten() {
            let name = entry.file_name();
            copy_tree(&entry.path(), &to.join(&name), &rel.join(&name), copied)?;
        }
    } else if from.is_file() && !to.exists() {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(why)?;
        }
        std::fs::copy(from, to).map_err(why)?;
        copied.push(rel.to_path_buf());
    }
    Ok(())
}

/// The setup command: the repository's `.qmux.toml` (`[worktree] setup`),
/// else the config's `worktree-setup`.
pub fn setup_command(repo: &Path, configured: Option<&str>) -> Result<Option<String>, String> {
    #[derive(Deserialize)]
    struct RepoFile {
        worktree: Option<RepoWorktree>,
    }
    #[derive(Deserialize)]
    struct RepoWorktree {
        setup: Option<String>,
    }
    let file = repo.join(".qmux.toml");
    let from_repo = match std::fs::read_to_string(&file) {
        Ok(text) => {
            let parsed: RepoFile = toml::from_str(&text).map_err(|e| format!("{}: {}", file.display(), e.message()))?;
            parsed.worktree.and_then(|w| w.setup)
        }
        Err(_) => None,
    };
    Ok(from_repo.or(configured.map(str::to_string)).filter(|s| !s.trim().is_empty()))
}

/// The program a session runs when its worktree has a setup: the setup,
/// its output in the session, then the program, only if the setup worked.
pub fn with_setup(setup: &str, command: &[String]) -> Vec<String> {
    const SCRIPT: &str = r#"printf 'qmux: worktree setup: %s\n' "$1"
/bin/sh -c "$1" || { rc=$?; printf '\nqmux: worktree setup failed (exit %s): the program was not started\n' "$rc"; exit "$rc"; }
shift
exec "$@""#;
    let head = ["/bin/sh", "-c", SCRIPT, "qmux-setup", setup].map(String::from);
    head.into_iter().chain(command.iter().cloned()).collect()
}

/// Files with changes in `dir` that git tracks or could (`status`,
/// untracked included, ignored not).
pub(crate) fn dirty_files(dir: &Path, untracked: bool) -> Result<Vec<String>, String> {
    let flag = if untracked { "--untracked-files=all" } else { "--untracked-files=no" };
    let out = git(dir, &["status", "--porcelain=v1", "-z", flag])?;
    let mut files = Vec::new();
    let mut fields = out.split('\0').filter(|f| !f.is_empty());
    while let Some(entry) = fields.next() {
        if entry.starts_with('R') || entry.starts_with('C') {
            fields.next();
        }
        files.push(entry.get(3..).unwrap_or("").to_string());
    }
    Ok(files)
}

/// Whether every commit of the branch is in its base.
fn merged(wt: &Worktree) -> bool {
    run(&wt.repo, &["merge-base", "--is-ancestor", &wt.branch, &wt.base], &[]).is_ok_and(|o| o.status.success())
}

/// What is left of a killed session's worktree: removed when clean and
/// merged (one line saying so), else kept (one line saying why and how
/// to remove it).
pub fn after_kill(wt: &Worktree) -> String {
    let name = &wt.name;
    let path = wt.path.display();
    if !wt.path.is_dir() {
        let _ = git(&wt.repo, &["worktree", "prune"]);
        if merged(wt) && git(&wt.repo, &["branch", "-d", &wt.branch]).is_ok() {
            return format!("worktree {path} was gone already; removed branch {} (merged into {})", wt.branch, wt.base);
        }
        return format!(
            "worktree {path} was gone already; kept branch {}: it is not merged into {}",
            wt.branch, wt.base
        );
    }
    let dirty = dirty_files(&wt.path, true).map(|f| f.len());
    match (dirty, merged(wt)) {
        (Ok(0), true) => match remove(wt, false) {
            Ok(()) => format!("removed worktree {path} and branch {} (merged into {})", wt.branch, wt.base),
            Err(e) => format!("kept worktree {path}: {e}"),
        },
        (Ok(n), merged) => {
            let what = match (n, merged) {
                (0, _) => format!("branch {} is not merged into {}", wt.branch, wt.base),
                (n, true) => format!("{n} uncommitted file{}", if n == 1 { "" } else { "s" }),
                (n, false) => format!("{n} uncommitted file{} and unmerged commits", if n == 1 { "" } else { "s" }),
            };
            format!("kept worktree {path} and branch {}: {what} (qmux worktree rm {name} removes them)", wt.branch)
        }
        (Err(e), _) => format!("kept worktree {path}: {e}"),
    }
}

/// Removes a worktree and its branch; without `force`, only when nothing
/// would be lost.
pub fn remove(wt: &Worktree, force: bool) -> Result<(), String> {
    if !force && wt.path.is_dir() {
        let dirty = dirty_files(&wt.path, true)?;
        if !dirty.is_empty() {
            return Err(format!(
                "{} has {} uncommitted file{}: --force removes it anyway",
                wt.path.display(),
                dirty.len(),
                if dirty.len() == 1 { "" } else { "s" }
            ));
        }
    }
    if !force && !merged(wt) {
        return Err(format!("branch {} is not merged into {}: --force removes it anyway", wt.branch, wt.base));
    }
    if wt.path.is_dir() {
        // --force: the ignored files `.worktreeinclude` copied are no work.
        git(&wt.repo, &["worktree", "remove", "--force", &wt.path.to_string_lossy()])?;
    } else {
        git(&wt.repo, &["worktree", "prune"])?;
    }
    git(&wt.repo, &["branch", if force { "-D" } else { "-d" }, &wt.branch]).map(|_| ())
}

/// qmux's worktrees of the repository `cwd` is in: those on a branch with
/// the prefix.
pub fn list(cwd: &Path, prefix: &str) -> Result<Vec<Worktree>, String> {
    let repo = repo_of(cwd)?;
    let out = git(&repo, &["worktree", "list", "--porcelain", "-z"])?;
    let fallback = current_branch(&repo).unwrap_or_else(|| "HEAD".into());
    let mut found = Vec::new();
    let mut path = None;
    for field in out.split('\0') {
        if let Some(p) = field.strip_prefix("worktree ") {
            path = Some(PathBuf::from(p));
        } else if let Some(b) = field.strip_prefix("branch refs/heads/") {
            let (Some(name), Some(p)) = (b.strip_prefix(prefix), path.take()) else { continue };
            let base = git(&repo, &["config", &format!("branch.{b}.qmuxbase")]).map(|s| s.trim().to_string());
            let base = base.unwrap_or(fallback.clone());
            let name = name.to_string();
            found.push(Worktree { name, repo: repo.clone(), path: p, branch: b.to_string(), base, setup: None });
        }
    }
    Ok(found)
}

/// `qmux diff`: the session's changes against its base, commits and work
/// not yet committed together (new files too), through git's own pager and
/// colours when standard output is a terminal. Returns git's exit code.
pub fn diff(wt: &Worktree, stat: bool) -> Result<i32, String> {
    if !wt.path.is_dir() {
        return Err(format!("the worktree {} is gone", wt.path.display()));
    }
    let (from, to) = radar::range(wt)?;
    let mut args = vec!["diff"];
    if stat {
        args.push("--stat");
    }
    args.extend([from.as_str(), to.as_str()]);
    let status =
        Command::new("git").arg("-C").arg(&wt.path).args(&args).status().map_err(|e| format!("cannot run git: {e}"))?;
    Ok(status.code().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_resolves_against_the_repository() {
        let repo = Path::new("/src/app");
        assert_eq!(place(repo, DEFAULT_DIR, "a"), PathBuf::from("/src/app.worktrees/a"));
        assert_eq!(place(repo, "/wt/{repo}", "a"), PathBuf::from("/wt/app/a"));
    }

    #[test]
    fn setup_wrapper_passes_the_command_through() {
        let argv = with_setup("make", &["codex".into(), "--yolo".into()]);
        assert_eq!(&argv[..2], ["/bin/sh", "-c"]);
        assert_eq!(&argv[3..], ["qmux-setup", "make", "codex", "--yolo"]);
    }
}
