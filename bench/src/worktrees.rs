//! What worktree sessions cost the server: 20 sessions on worktrees of one
//! repository (their status numbers and the conflict radar refreshed by
//! git on worker threads), against the same 20 sessions without worktrees.
//! qmux only: tmux has no worktree sessions. CPU includes the git processes
//! the server ran (cutime and cstime of the server, once reaped).

use std::process::Command;
use std::time::{Duration, Instant};

use crate::metrics::Ctx;
use crate::report::{Better, Measurement, Target};
use crate::subjects::Kind;
use crate::Result;

const SESSIONS: usize = 20;
const READY: &str = "WT-READY";

pub fn worktrees(ctx: &Ctx) -> Vec<Measurement> {
    let secs = ctx.plan.idle_secs;
    let mut rows = Vec::new();
    for with in [true, false] {
        let what = if with { "on worktrees" } else { "plain (no worktree)" };
        let mut idle = Measurement::new(
            format!("{SESSIONS} sessions {what}, 1 client on one: idle server CPU, git included, {secs} s"),
            "% of a core",
            Better::Lower,
            Target::None,
        );
        let mut turns = Measurement::new(
            format!("↳ {SESSIONS} turns ending at once ({what}): server CPU, git included"),
            "ms",
            Better::Lower,
            Target::None,
        );
        ctx.each_run(&[Kind::Qmux], ctx.plan.runs, |kind| match run(ctx, with) {
            Ok((a, b)) => {
                idle.push(kind, a);
                turns.push(kind, b);
            }
            Err(e) => idle.fail(kind, &e),
        });
        rows.extend([idle, turns]);
    }
    rows
}

fn git(dir: &std::path::Path, args: &[&str]) -> Result<()> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().map_err(|e| format!("git: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn run(ctx: &Ctx, with: bool) -> Result<(f64, f64)> {
    let subject = ctx.subject(Kind::Qmux)?;
    let repo = subject.scratch().join("repo");
    std::fs::create_dir_all(repo.join("src")).map_err(|e| e.to_string())?;
    git(&repo, &["init", "-q", "-b", "main"])?;
    for i in 0..50 {
        std::fs::write(repo.join(format!("src/f{i}.rs")), format!("fn f{i}() {{}}\n").repeat(40))
            .map_err(|e| e.to_string())?;
    }
    git(&repo, &["add", "."])?;
    git(&repo, &["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "init"])?;
    let repo_text = repo.to_string_lossy().into_owned();
    for i in 0..SESSIONS {
        let name = format!("w{i}");
        // Each changes a file of its own, and every fourth one a shared one.
        let script = format!(
            "echo // {name} >> src/f{i}.rs; {} printf '{READY}\\n'; exec cat",
            if i % 4 == 0 { "echo // shared >> src/f49.rs;" } else { "" }
        );
        let mut args = vec!["new", "-d", "-s", &name, "-c", &repo_text];
        if with {
            args.extend(["-w", &name]);
        }
        args.extend(["--", "sh", "-c", &script]);
        subject.run(&args)?;
    }
    let term = subject.attach("w0")?;
    term.wait_for(Duration::from_secs(20), "the first session", |s| crate::term::any_row_is(s, READY))?;
    let server = subject.server_pid()?;
    // Start-up (every session's first survey) dies down.
    std::thread::sleep(Duration::from_secs(4));
    let cpu = || crate::procs::cpu_seconds_with_children(server);
    let (before, start) = (cpu()?, Instant::now());
    std::thread::sleep(Duration::from_secs(ctx.plan.idle_secs));
    let idle = (cpu()? - before) / start.elapsed().as_secs_f64() * 100.0;
    // Every session ends a turn: a line typed, echoed, the prompt back.
    let before = cpu()?;
    for i in 0..SESSIONS {
        subject.run(&["send", "-t", &format!("w{i}"), "turn"])?;
    }
    std::thread::sleep(Duration::from_secs(5));
    let turns = (cpu()? - before) * 1000.0;
    drop(term);
    Ok((idle, turns))
}
