//! `qmux mcp`: serve the tools (`crate::mcp`), or put them in an agent's
//! MCP configuration and take them out again (`crate::mcp::install`).

use std::path::Path;

use super::agents::{read_settings, write_settings};
use super::Context;
use crate::cli::McpAction;
use crate::error::{Error, Result};
use crate::mcp::install;

pub(super) fn mcp(ctx: &Context, action: Option<McpAction>) -> Result<i32> {
    let (agent, dry_run, installing) = match action {
        None if ctx.remote.is_some() => {
            return Err(Error::msg("qmux mcp serves this machine's sessions: run it there (ssh HOST qmux mcp)"))
        }
        None => return crate::mcp::serve(ctx.socket.clone(), ctx.config.clone(), ctx.caller),
        Some(McpAction::Install { agent, dry_run }) => (agent, dry_run, true),
        Some(McpAction::Remove { agent, dry_run }) => (agent, dry_run, false),
    };
    let home = super::agents::home_dir()?;
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let path = install::config_path(&agent, &home, var).ok_or_else(|| {
        Error::msg(format!("qmux knows the MCP configuration of {}, not {agent:?}", install::AGENTS.join(", ")))
    })?;
    let qmux = std::env::current_exe().map_err(|e| Error::msg(format!("cannot find the qmux binary: {e}")))?;
    let changed = if agent == "codex" {
        edit_toml(&path, &qmux, installing)?
    } else {
        edit_json(&path, &agent, &qmux, installing)?
    };
    let Some(write) = changed else {
        let what = if installing { "already in" } else { "not in" };
        println!("qmux's MCP server is {what} {}", path.display());
        return Ok(0);
    };
    let verb = super::agents::change_verb(installing, dry_run);
    let sign = if installing { '+' } else { '-' };
    println!("{verb} {}:\n  {sign} qmux: {} mcp", path.display(), qmux.display());
    if !dry_run {
        write()?;
    }
    Ok(0)
}

type Write = Box<dyn FnOnce() -> Result<()>>;

fn edit_json(path: &Path, agent: &str, qmux: &Path, installing: bool) -> Result<Option<Write>> {
    let settings = read_settings(path)?;
    let new = if installing {
        install::install_json(&settings, agent, qmux).map_err(|e| Error::msg(format!("{}: {e}", path.display())))?
    } else {
        install::remove_json(&settings)
    };
    let path = path.to_path_buf();
    Ok(new.map(|new| Box::new(move || write_settings(&path, &new)) as Write))
}

fn edit_toml(path: &Path, qmux: &Path, installing: bool) -> Result<Option<Write>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::msg(format!("cannot read {}: {e}", path.display()))),
    };
    let new = if installing {
        install::install_codex(&text, qmux).map_err(|e| Error::msg(format!("{}: {e}; fix it first", path.display())))?
    } else {
        install::remove_codex(&text)
    };
    let path = path.to_path_buf();
    Ok(new.map(|new| {
        Box::new(move || {
            let fail = |e: std::io::Error| Error::msg(format!("cannot write {}: {e}", path.display()));
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(fail)?;
            }
            std::fs::write(&path, new).map_err(fail)
        }) as Write
    }))
}
