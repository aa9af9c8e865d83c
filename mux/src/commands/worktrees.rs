//! The client half of the worktree verbs: `new -w` (the worktree is made
//! here, before the session is asked for), `diff`, `merge` and `worktree
//! ls|rm`. Their git runs in this process, never on the server's loop.

use std::path::Path;

use super::{list, need_terminal, no_server, saved_sessions, start, Context};
use crate::cli::{DiffArgs, MergeArgs, WorktreeAction};
use crate::config::Config;
use crate::detect::State;
use crate::error::{Error, Result};
use crate::protocol::{NewSession, Request, Response, SessionInfo};
use crate::worktree::{self, How, Worktree};

/// `qmux new -w NAME`: the worktree, then the session in it; a session
/// that cannot start takes its worktree with it.
pub(super) fn new(
    ctx: &Context,
    name: &str,
    (base, reuse): (Option<&str>, bool),
    detached: bool,
    mut spec: NewSession,
) -> Result<i32> {
    let attaching = !detached && ctx.caller.is_none();
    if attaching {
        ctx.refuse_nesting()?;
        need_terminal()?;
    }
    let (wt, reused, made) = make(ctx, name, base, reuse, &mut spec)?;
    // Said before an attach takes the terminal, else once the session is there.
    if attaching {
        eprintln!("qmux: {made}");
    }
    let started = start(ctx, detached, spec);
    match &started {
        Err(_) => worktree::undo(&wt, reused),
        Ok(_) if !attaching => eprintln!("qmux: {made}"),
        Ok(_) => {}
    }
    started
}

/// `qmux new -w NAME`: makes the branch and worktree, copies what
/// `.worktreeinclude` names, and points the session there, its setup
/// with it. Anything refused leaves nothing made. Returns the worktree,
/// whether its branch was there before, and a line saying what was made.
fn make(
    ctx: &Context,
    name: &str,
    base: Option<&str>,
    reuse: bool,
    spec: &mut NewSession,
) -> Result<(Worktree, bool, String)> {
    here(ctx, "new -w")?;
    let config = Config::load(ctx.config.as_deref())?;
    let req =
        worktree::Request { name, base, reuse, prefix: &config.worktree_branch_prefix, dir: &config.worktree_dir };
    let prepared = worktree::prepare(&spec.cwd, &req, config.worktree_setup.as_deref()).map_err(Error::msg)?;
    let (wt, copied) = (prepared.worktree, prepared.copied);
    // From a subdirectory of the repository, the same one in the worktree.
    let within =
        spec.cwd.strip_prefix(&wt.repo).ok().filter(|rel| !rel.as_os_str().is_empty()).map(|rel| wt.path.join(rel));
    spec.cwd = within.filter(|d| d.is_dir()).unwrap_or_else(|| wt.path.clone());
    spec.name.get_or_insert_with(|| name.to_string());
    spec.worktree = Some(Box::new(wt.clone()));
    let copied = match copied {
        0 => String::new(),
        n => format!(", {n} file{} copied from .worktreeinclude", if n == 1 { "" } else { "s" }),
    };
    let made = format!("worktree {} on branch {} from {}{copied}", wt.path.display(), wt.branch, wt.base);
    Ok((wt, prepared.reused, made))
}

/// Git runs here, on this machine's files.
fn here(ctx: &Context, verb: &str) -> Result<()> {
    match ctx.remote {
        Some(_) => Err(Error::msg(format!("{verb} runs git on this machine: with --host, run qmux {verb} over there"))),
        None => Ok(()),
    }
}

/// The session a verb works on, and its worktree.
fn session_worktree(ctx: &Context, target: Option<String>, verb: &str) -> Result<(SessionInfo, Worktree)> {
    here(ctx, verb)?;
    let info = match ctx.connect()?.request(Request::Info { target: ctx.target(target) })? {
        Response::Sessions(mut one) if one.len() == 1 => one.remove(0),
        _ => return Err(Error::msg(format!("the server sent an unexpected answer to {verb}"))),
    };
    let label = format!("{}:{}", info.index, info.name);
    let (Some(repo), Some(path), Some(branch), Some(base)) =
        (info.repo.clone(), info.worktree.clone(), info.branch.clone(), info.base.clone())
    else {
        return Err(Error::msg(format!(
            "{label} has no worktree: {verb} works on sessions made with qmux new -w NAME"
        )));
    };
    let name = info.name.clone();
    Ok((info, Worktree { name, repo, path, branch, base, setup: None }))
}

/// `qmux diff`.
pub(super) fn diff(ctx: &Context, args: DiffArgs) -> Result<i32> {
    let (_, wt) = session_worktree(ctx, args.target, "diff")?;
    worktree::diff(&wt, args.stat).map_err(Error::msg)
}

/// `qmux merge`: refused while the agent works or asks.
pub(super) fn merge(ctx: &Context, args: MergeArgs) -> Result<i32> {
    let (info, wt) = session_worktree(ctx, args.target, "merge")?;
    let label = format!("{}:{}", info.index, info.name);
    match info.state {
        State::Busy if info.exit_code.is_none() => {
            return Err(Error::msg(format!(
                "{label} is busy: merge once it waits (qmux wait -t {label} --until waiting)"
            )))
        }
        State::Approval => return Err(Error::msg(format!("{label} asks for approval: answer it, then merge"))),
        _ => {}
    }
    let how = match (args.squash, args.rebase) {
        (true, _) => How::Squash,
        (_, true) => How::Rebase,
        _ => How::Merge,
    };
    println!("{}", worktree::merge(&wt, how, &label).map_err(Error::msg)?);
    Ok(0)
}

/// `qmux worktree ls|rm`, for the repository this runs in.
pub(super) fn worktree(ctx: &Context, action: WorktreeAction) -> Result<i32> {
    here(ctx, "worktree")?;
    let config = Config::load(ctx.config.as_deref())?;
    let cwd = std::env::current_dir().map_err(|e| Error::msg(format!("cannot read the current directory: {e}")))?;
    let ours = worktree::list(&cwd, &config.worktree_branch_prefix).map_err(Error::msg)?;
    let live = match list(ctx.connect()) {
        Err(e) if no_server(&e) => Vec::new(),
        live => live?,
    };
    let live_in = |wt: &Worktree| live.iter().find(|s| s.worktree.as_deref().is_some_and(|p| same(p, &wt.path)));
    let saved = saved_sessions(ctx)?;
    let saved_in = |wt: &Worktree| saved.iter().find(|s| s.worktree.as_ref().is_some_and(|w| same(&w.path, &wt.path)));
    match action {
        WorktreeAction::Ls => {
            for wt in &ours {
                let session = match (live_in(wt), saved_in(wt)) {
                    (Some(s), _) => format!("session {}:{}", s.index, s.name),
                    (None, Some(s)) => format!("saved session {}:{} (qmux restore)", s.index, s.name),
                    (None, None) => "no session".into(),
                };
                println!("{}: {} {} [{session}]", wt.name, wt.branch, wt.path.display());
            }
            Ok(0)
        }
        WorktreeAction::Rm { name, force } => {
            let Some(wt) = ours.iter().find(|w| w.name == name) else {
                let names: Vec<&str> = ours.iter().map(|w| w.name.as_str()).collect();
                return Err(Error::msg(format!(
                    "no worktree named {name:?} in this repository (qmux's worktrees: {})",
                    if names.is_empty() { "none".into() } else { names.join(", ") }
                )));
            };
            if let Some(s) = live_in(wt) {
                let label = format!("{}:{}", s.index, s.name);
                return Err(Error::msg(format!(
                    "session {label} runs in it: qmux kill -t {label} first (which removes it, once merged)"
                )));
            }
            worktree::remove(wt, force).map_err(Error::msg)?;
            println!("removed worktree {} and branch {}", wt.path.display(), wt.branch);
            if let Some(s) = saved_in(wt) {
                eprintln!("qmux: saved session {}:{} ran there: qmux forget -t {} drops it", s.index, s.name, s.name);
            }
            Ok(0)
        }
    }
}

/// Whether two paths are the same directory, however written.
fn same(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}
