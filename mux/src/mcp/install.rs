//! `qmux mcp install AGENT` / `remove AGENT`: qmux's MCP server in an
//! agent's own configuration, as the agent reads it; every change shown,
//! and `remove` takes out exactly what `install` put in.
//! - Claude Code: `mcpServers.qmux` in `~/.claude.json` (its user scope;
//!   `$CLAUDE_CONFIG_DIR/.claude.json` when that is set);
//! - Gemini CLI: `mcpServers.qmux` in `~/.gemini/settings.json`;
//! - Codex: `[mcp_servers.qmux]` in `~/.codex/config.toml` (`$CODEX_HOME`),
//!   a block of its own so the rest of the file is left as written.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// The agents whose MCP configuration qmux knows.
pub const AGENTS: &[&str] = &["claude", "codex", "gemini"];

/// Where `agent` keeps its MCP servers, for a user with `home`.
pub fn config_path(agent: &str, home: &Path, var: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    Some(match agent {
        "claude" => var("CLAUDE_CONFIG_DIR").map_or_else(|| home.to_path_buf(), PathBuf::from).join(".claude.json"),
        "gemini" => home.join(".gemini/settings.json"),
        "codex" => var("CODEX_HOME").map_or_else(|| home.join(".codex"), PathBuf::from).join("config.toml"),
        _ => return None,
    })
}

/// The server entry a JSON-configured agent gets.
fn entry(agent: &str, qmux: &Path) -> Value {
    let command = qmux.to_string_lossy();
    match agent {
        "claude" => json!({ "type": "stdio", "command": command, "args": ["mcp"], "env": {} }),
        _ => json!({ "command": command, "args": ["mcp"] }),
    }
}

/// `mcpServers.qmux` added to JSON settings; None if it is there already.
pub fn install_json(settings: &Value, agent: &str, qmux: &Path) -> Result<Option<Value>, String> {
    let mut new = settings.clone();
    let root = new.as_object_mut().ok_or("the file is not a JSON object")?;
    let servers = root.entry("mcpServers").or_insert_with(|| json!({}));
    let servers = servers.as_object_mut().ok_or("mcpServers is not an object")?;
    let wanted = entry(agent, qmux);
    if servers.get("qmux") == Some(&wanted) {
        return Ok(None);
    }
    servers.insert("qmux".into(), wanted);
    Ok(Some(new))
}

/// `mcpServers.qmux` taken out of JSON settings (and `mcpServers` with it
/// if nothing else is left); None if it was not there.
pub fn remove_json(settings: &Value) -> Option<Value> {
    let mut new = settings.clone();
    let root = new.as_object_mut()?;
    let servers = root.get_mut("mcpServers")?.as_object_mut()?;
    servers.remove("qmux")?;
    if servers.is_empty() {
        root.remove("mcpServers");
    }
    Some(new)
}

/// The first line of the block qmux adds to Codex's config.toml.
const CODEX_MARK: &str = "# qmux mcp: added by `qmux mcp install codex`, taken out by `qmux mcp remove codex`";

/// Codex's config.toml with qmux's block appended; None if a
/// `[mcp_servers.qmux]` is there already. A file that is not TOML is an error.
pub fn install_codex(text: &str, qmux: &Path) -> Result<Option<String>, String> {
    let parsed: toml::Table = toml::from_str(text).map_err(|e| format!("not valid TOML ({})", e.message()))?;
    if parsed.get("mcp_servers").and_then(|s| s.get("qmux")).is_some() {
        return Ok(None);
    }
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let command = toml::Value::String(qmux.to_string_lossy().into_owned());
    out.push_str(&format!("{CODEX_MARK}\n[mcp_servers.qmux]\ncommand = {command}\nargs = [\"mcp\"]\n"));
    Ok(Some(out))
}

/// Codex's config.toml without qmux's block; None if it has none.
pub fn remove_codex(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| *l == CODEX_MARK)?;
    // The block: the mark, its table header, and its keys up to the next
    // table or blank line.
    let end = lines[start + 1..]
        .iter()
        .enumerate()
        .position(|(i, l)| l.trim().is_empty() || (i > 0 && l.trim_start().starts_with('[')))
        .map_or(lines.len(), |i| start + 1 + i);
    let mut kept: Vec<&str> = lines[..start].to_vec();
    // The blank line install put before it goes too.
    if kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    kept.extend_from_slice(&lines[end..]);
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_settings_get_exactly_one_entry_and_lose_exactly_it() {
        let qmux = Path::new("/usr/bin/qmux");
        let before = json!({ "theme": "dark", "mcpServers": { "other": { "command": "x" } } });
        let with = install_json(&before, "gemini", qmux).unwrap().unwrap();
        assert_eq!(with["mcpServers"]["qmux"], json!({ "command": "/usr/bin/qmux", "args": ["mcp"] }));
        assert_eq!(install_json(&with, "gemini", qmux).unwrap(), None, "once");
        assert_eq!(remove_json(&with).unwrap(), before);
        assert_eq!(remove_json(&before), None);
        let empty = install_json(&json!({}), "claude", qmux).unwrap().unwrap();
        assert_eq!(empty["mcpServers"]["qmux"]["type"], "stdio");
        assert_eq!(remove_json(&empty).unwrap(), json!({}));
        assert!(install_json(&json!([1]), "claude", qmux).is_err());
    }

    #[test]
    fn codex_gets_a_block_of_its_own_and_the_rest_of_the_file_stays_as_written() {
        let qmux = Path::new("/usr/bin/qmux");
        let before = "# my settings\nmodel = \"o3\"\n\n[mcp_servers.docs]\ncommand = \"docs\"\n";
        let with = install_codex(before, qmux).unwrap().unwrap();
        let parsed: toml::Table = toml::from_str(&with).unwrap();
        assert_eq!(parsed["mcp_servers"]["qmux"]["command"].as_str(), Some("/usr/bin/qmux"));
        assert_eq!(parsed["mcp_servers"]["docs"]["command"].as_str(), Some("docs"));
        assert_eq!(install_codex(&with, qmux).unwrap(), None, "once");
        assert_eq!(remove_codex(&with).unwrap(), before);
        assert_eq!(remove_codex(before), None);
        assert_eq!(remove_codex(&install_codex("", qmux).unwrap().unwrap()).unwrap(), "");
        assert!(install_codex("model = ", qmux).is_err());
    }
}
