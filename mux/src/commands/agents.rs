//! The verbs about agents: `explain`, `agents`, `hooks` and `report`.

use std::path::{Path, PathBuf};

use super::{qmux_env, simple, Context};
use crate::cli::{AgentsAction, ExplainArgs, HooksAction, ReportArgs, ReportState};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::protocol::{Request, Response};

pub(super) fn explain(ctx: &Context, args: ExplainArgs) -> Result<i32> {
    let explanation = match (&args.screen, &args.target) {
        (Some(file), _) => explain_screen(ctx, file, args.agent.as_deref(), &args.size)?,
        (None, Some(target)) => match ctx.connect()?.request(Request::Explain { target: target.clone() })? {
            Response::Explain(e) => *e,
            _ => return Err(Error::msg("the server sent an unexpected answer to explain")),
        },
        (None, None) => return Err(Error::msg("explain needs -t TARGET or --screen FILE").with_code(2)),
    };
    if args.json {
        let json = serde_json::to_string_pretty(&explanation)
            .map_err(|e| Error::msg(format!("cannot write the explanation as JSON: {e}")))?;
        println!("{json}");
    } else {
        print!("{}", explanation.text());
    }
    Ok(0)
}

/// Explains a saved screen under an agent's rules (the config's, with the
/// user's rule files), with no server.
fn explain_screen(ctx: &Context, file: &Path, agent: Option<&str>, size: &str) -> Result<crate::explain::Explanation> {
    let bad_size = || Error::msg(format!("bad --size {size:?}: write it COLSxROWS, like 120x40")).with_code(2);
    let (cols, rows) = size.split_once('x').ok_or_else(bad_size)?;
    let (cols, rows): (u16, u16) = (cols.parse().map_err(|_| bad_size())?, rows.parse().map_err(|_| bad_size())?);
    if cols == 0 || rows == 0 || cols > 1000 || rows > 1000 {
        return Err(bad_size());
    }
    let config = Config::load(ctx.config.as_deref())?;
    let rules = match agent {
        Some(name) => rule_set(&config.rules, name)?,
        None => std::sync::Arc::new(crate::rules::RuleSet::generic("generic")),
    };
    let bytes = std::fs::read(file).map_err(|e| Error::msg(format!("cannot read {}: {e}", file.display())))?;
    // A capture has bare newlines; a terminal needs CR LF.
    let bytes = if bytes.contains(&b'\r') { bytes } else { bytes.iter().flat_map(|&b| lf_to_crlf(b)).collect() };
    let mut terminal = crate::terminal::Terminal::new(rows, cols);
    terminal.process(&bytes);
    let screen = terminal.screen();
    let signals = crate::explain::screen_signals(screen);
    Ok(crate::explain::Explanation::of(file.display().to_string(), &rules, signals, screen))
}

fn lf_to_crlf(b: u8) -> Vec<u8> {
    if b == b'\n' {
        vec![b'\r', b'\n']
    } else {
        vec![b]
    }
}

/// The rule sets in force for this user: built in, or their file.
fn rules(ctx: &Context) -> Result<crate::rules::Rules> {
    Ok(Config::load(ctx.config.as_deref())?.rules)
}

fn rule_set(rules: &crate::rules::Rules, name: &str) -> Result<std::sync::Arc<crate::rules::RuleSet>> {
    rules.get(name).ok_or_else(|| {
        let known: Vec<&str> = rules.all().map(|r| r.name.as_str()).collect();
        Error::msg(format!("no agent named {name:?} (known: {})", known.join(", ")))
    })
}

pub(super) fn agents(ctx: &Context, action: AgentsAction) -> Result<i32> {
    let rules = rules(ctx)?;
    match action {
        AgentsAction::List => {
            for r in rules.all() {
                let hooks = if r.hooks.is_some() { " · hooks" } else { "" };
                println!("{:<10} {} ({}{hooks})", r.name, r.description, r.source);
            }
        }
        AgentsAction::Show { name } => {
            let r = rule_set(&rules, &name)?;
            if r.text.is_empty() {
                println!("# {name}: tuned in the config's [programs.{name}]; no rule file");
            } else {
                print!("{}", r.text);
            }
        }
        AgentsAction::Record { name, output, command } => {
            let out = output.unwrap_or_else(|| PathBuf::from(format!("{name}.cast")));
            return crate::casts::record(&name, &command, &out);
        }
        AgentsAction::Check { rules: which, recordings, max_delay } => {
            return check(&rules, &which, &recordings, max_delay);
        }
    }
    Ok(0)
}

/// `qmux agents check`: each recording replayed through the rule set.
fn check(rules: &crate::rules::Rules, which: &str, recordings: &[PathBuf], max_delay_ms: u64) -> Result<i32> {
    use crate::rules::RuleSet;
    let set = if which == "generic" {
        std::sync::Arc::new(RuleSet::generic("generic"))
    } else if which.ends_with(".toml") || Path::new(which).is_file() {
        std::sync::Arc::new(RuleSet::load(Path::new(which)).map_err(Error::msg)?)
    } else {
        rule_set(rules, which)?
    };
    let mut failed = false;
    for path in recordings {
        let cast = crate::casts::Cast::load(path).map_err(Error::msg)?;
        let replay = crate::casts::replay(&set, &cast);
        println!("{} under {} ({}):", path.display(), set.name, set.source);
        if replay.marks.is_empty() {
            println!("  no markers: record with Ctrl-] w / b / a where the screen shows each state");
            failed = true;
            continue;
        }
        print!("{}", replay.report());
        for failure in replay.failures(&set, max_delay_ms as f64 / 1000.0) {
            println!("  FAIL {failure}");
            failed = true;
        }
    }
    Ok(i32::from(failed))
}

/// HOME and the agent's own variables, for finding its settings file.
pub(super) fn home_dir() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .ok_or_else(|| Error::msg("HOME is not set: qmux cannot find the agent's settings"))
}

pub(super) fn hooks(ctx: &Context, action: HooksAction) -> Result<i32> {
    let rules = rules(ctx)?;
    let home = home_dir()?;
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (agent, dry_run, installing) = match action {
        HooksAction::Status => {
            for r in rules.all() {
                let Some(h) = &r.hooks else { continue };
                let path = crate::hooks::settings_path(h, &home, var);
                let settings = read_settings(&path)?;
                let (_, ours) = crate::hooks::remove(&settings, &r.name);
                let state = if ours.is_empty() { "not installed" } else { "installed" };
                println!("{:<10} {state} ({})", r.name, path.display());
            }
            return Ok(0);
        }
        HooksAction::Install { agent, dry_run } => (agent, dry_run, true),
        HooksAction::Remove { agent, dry_run } => (agent, dry_run, false),
    };
    let r = rule_set(&rules, &agent)?;
    let h = r
        .hooks
        .as_ref()
        .ok_or_else(|| Error::msg(format!("{agent} has no hooks qmux knows; its screen rules work without them")))?;
    let path = crate::hooks::settings_path(h, &home, var);
    let settings = read_settings(&path)?;
    let exe = std::env::current_exe().map_err(|e| Error::msg(format!("cannot find the qmux binary: {e}")))?;
    let command = crate::hooks::hook_command(&exe, &agent);
    let (new, changes) = if installing {
        crate::hooks::install(&settings, &r, &command)
            .map_err(|e| Error::msg(format!("cannot add hooks to {}: {e}", path.display())))?
    } else {
        crate::hooks::remove(&settings, &agent)
    };
    if changes.is_empty() {
        let what = if installing { "already installed" } else { "not installed" };
        println!("qmux's hooks for {agent} are {what} in {}", path.display());
        return Ok(0);
    }
    let verb = change_verb(installing, dry_run);
    println!("{verb} {}:", path.display());
    for c in &changes {
        let sign = if c.added { '+' } else { '-' };
        println!("  {sign} hooks.{}: {command}", c.event);
    }
    if !dry_run {
        write_settings(&path, &new)?;
    }
    Ok(0)
}

/// How a change to an agent's settings file is announced.
pub(super) fn change_verb(installing: bool, dry_run: bool) -> &'static str {
    match (installing, dry_run) {
        (true, true) => "would add to",
        (true, false) => "adding to",
        (false, true) => "would take out of",
        (false, false) => "taking out of",
    }
}

pub(super) fn read_settings(path: &Path) -> Result<serde_json::Value> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(serde_json::json!({})),
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            Error::msg(format!("{}:{}:{}: not valid JSON ({e}); fix it first", path.display(), e.line(), e.column()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(serde_json::json!({})),
        Err(e) => Err(Error::msg(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Writes the settings through a temporary file, keeping the old mode.
pub(super) fn write_settings(path: &Path, value: &serde_json::Value) -> Result<()> {
    let fail = |e: std::io::Error| Error::msg(format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::msg(e.to_string()))? + "\n";
    let tmp = path.with_extension("json.qmux-tmp");
    std::fs::write(&tmp, text).map_err(fail)?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(&tmp, meta.permissions()).map_err(fail)?;
    }
    std::fs::rename(&tmp, path).map_err(fail)
}

pub(super) fn report(ctx: &Context, args: ReportArgs) -> Result<i32> {
    let Some(agent) = args.hook else {
        let state = args.state.map(|s| match s {
            ReportState::Busy => crate::detect::State::Busy,
            ReportState::Waiting => crate::detect::State::Waiting,
            ReportState::Approval => crate::detect::State::Approval,
        });
        if args.target.is_none() && ctx.caller.is_none() {
            return Err(Error::msg("report needs -t TARGET outside qmux").with_code(2));
        }
        let req = Request::Report {
            target: args.target,
            caller: ctx.caller,
            state,
            end: args.end,
            conversation: args.conversation,
        };
        return simple(ctx, req);
    };
    // Run by an agent's hook: whatever goes wrong must not fail the agent.
    // Both agents read a hook's JSON answer from stdout; `{}` changes nothing.
    println!("{{}}");
    if let Err(e) = report_hook(ctx, &agent, args.target) {
        eprintln!("qmux: {e}");
    }
    Ok(0)
}

fn report_hook(ctx: &Context, agent: &str, target: Option<String>) -> Result<()> {
    // A hook runs inside the session it reports on: its server is the one
    // in $QMUX, whatever socket a plain `qmux` would pick.
    let inside = std::env::var("QMUX").ok().and_then(|v| qmux_env(&v));
    let ctx = match (&inside, &target) {
        (Some((socket, caller)), None) => &Context {
            socket: socket.clone(),
            config: ctx.config.clone(),
            caller: Some(*caller),
            nested: true,
            remote: None,
            prefix: Vec::new(),
        },
        (None, None) => return Ok(()), // not in a qmux session: nobody to tell
        (_, Some(_)) => ctx,
    };
    let mut input = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(std::io::stdin(), 1 << 20), &mut input)?;
    let rules = rules(ctx)?;
    let heard = crate::hooks::heard(rule_set(&rules, agent)?.as_ref(), &input).map_err(Error::msg)?;
    let (state, end) = match heard.report {
        Some(crate::rules::Report::State(s)) => (Some(s), false),
        Some(crate::rules::Report::End) => (None, true),
        Some(crate::rules::Report::Conversation) | None => (None, false),
    };
    if state.is_none() && !end && heard.conversation.is_none() {
        return Ok(());
    }
    let req = Request::Report { target, caller: ctx.caller, state, end, conversation: heard.conversation };
    ctx.connect()?.request(req)?;
    Ok(())
}
