//! `qmux up [FILE]` and `qmux down [FILE]`: a team of sessions from a file
//! (`crate::team`). `up` starts only what is not running (by name), queues
//! each new session's first prompt until it waits, then attaches with the
//! team's panes; `down` kills the team's sessions (a worktree with work not
//! merged is kept, as `qmux kill` keeps it).

use std::path::PathBuf;

use super::{print_response, Context};
use crate::cli::TeamArgs;
use crate::error::{Error, Result};
use crate::protocol::{Panes, Request, Response};
use crate::team::{self, Team};

fn load(ctx: &Context, file: Option<PathBuf>) -> Result<Team> {
    if ctx.remote.is_some() {
        return Err(Error::msg("qmux up and down read a file on this machine: run them on the other one"));
    }
    let file = match file {
        Some(f) => f,
        None => {
            let here =
                std::env::current_dir().map_err(|e| Error::msg(format!("cannot read the current directory: {e}")))?;
            team::find(&here).ok_or_else(|| {
                Error::msg(format!(
                    "no .qmux.toml in {} or above it: write one, or name the file (qmux up FILE)",
                    here.display()
                ))
            })?
        }
    };
    Team::load(&file).map_err(Error::msg)
}

/// The names of the sessions that run now (none with no server).
fn running(ctx: &Context) -> Result<Vec<String>> {
    match ctx.connect().and_then(|mut c| c.request(Request::List)) {
        Ok(Response::Sessions(list)) => Ok(list.into_iter().map(|s| s.name).collect()),
        Ok(_) => Err(Error::msg("the server sent an unexpected answer to ls")),
        Err(e) if e.to_string().contains("no server running") => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

pub(super) fn up(ctx: &Context, args: TeamArgs) -> Result<i32> {
    let team = load(ctx, args.file)?;
    let running = running(ctx)?;
    let plan = team::plan(&team, &running);
    if args.dry_run {
        for (m, start) in &plan {
            let what = match (start, &m.worktree) {
                (false, _) => "is running: left as it is".to_string(),
                (true, wt) => {
                    let program = if m.command.is_empty() { "the default command".into() } else { m.command.join(" ") };
                    let place = wt.as_ref().map_or(String::new(), |w| format!(" in a worktree {w:?}"));
                    let prompt = if m.prompt.is_some() { ", its prompt queued" } else { "" };
                    format!("would start: {program} in {}{place}{prompt}", m.dir.display())
                }
            };
            println!("{}: {what}", m.name);
        }
        return Ok(0);
    }
    let mut failed = 0;
    for (m, start) in &plan {
        if !start {
            continue;
        }
        let spec = ctx.new_session(Some(m.name.clone()), Some(m.dir.clone()), m.command.clone())?;
        let started = match &m.worktree {
            Some(wt) => super::worktrees::new(ctx, wt, (None, true), true, spec),
            None => ctx
                .connect_or_start()?
                .request(Request::New { session: spec, caller: None, switch_caller: false })
                .map(|r| {
                    print_response(r);
                    0
                }),
        };
        if let Err(e) = started {
            eprintln!("qmux: {}: {e}", m.name);
            failed += 1;
            continue;
        }
        if let Some(prompt) = &m.prompt {
            let send = Request::Send {
                target: format!("={}", m.name),
                text: prompt.clone(),
                enter: true,
                when_waiting: true,
                now: false,
            };
            ctx.connect()?.request(send)?;
        }
        eprintln!("qmux: started {}", m.name);
    }
    if failed > 0 {
        return Err(Error::msg(format!("{failed} of the team's sessions did not start (above)")));
    }
    if args.detached || ctx.caller.is_some() {
        return Ok(0);
    }
    super::need_terminal()?;
    let names: Vec<String> = team.members.iter().map(|m| m.name.clone()).collect();
    let conn = ctx.connect()?;
    let mut req = ctx.attach_request(Some(format!("={}", names[0])), None, None);
    if let Request::Attach { panes, .. } = &mut req {
        *panes = Some(Panes { sessions: names, layout: team.layout.clone() });
    }
    ctx.attached(conn, req)
}

pub(super) fn down(ctx: &Context, args: TeamArgs) -> Result<i32> {
    let team = load(ctx, args.file)?;
    let running = running(ctx)?;
    for m in team.members.iter().filter(|m| running.contains(&m.name)) {
        if args.dry_run {
            println!("{}: would be killed", m.name);
            continue;
        }
        print_response(ctx.connect()?.request(Request::Kill { target: format!("={}", m.name) })?);
        eprintln!("qmux: killed {}", m.name);
    }
    Ok(0)
}
