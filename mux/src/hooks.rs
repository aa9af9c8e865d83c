//! Agents' own lifecycle hooks, for agents that offer them (Claude Code,
//! Gemini CLI): `qmux hooks install AGENT` adds `qmux report --hook AGENT`
//! to the events its rule set lists, in the agent's settings file, and
//! `qmux hooks remove AGENT` takes exactly those entries out again. Each
//! hook then tells qmux the agent's state and conversation id as it
//! changes; while it reports, it is the authority and the screen rules step
//! back. Nothing is edited unless asked, and every change is shown.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::rules::{Hooks, RuleSet};

/// The command a hook runs, and how qmux recognises its own entries.
pub fn hook_command(qmux: &Path, agent: &str) -> String {
    format!("{} report --hook {agent}", shell_quote(&qmux.to_string_lossy()))
}

fn marker(agent: &str) -> String {
    format!(" report --hook {agent}")
}

fn shell_quote(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The agent's settings file for a user with this environment.
pub fn settings_path(hooks: &Hooks, home: &Path, var: impl Fn(&str) -> Option<String>) -> PathBuf {
    let rest = hooks.settings.strip_prefix("~/").unwrap_or(&hooks.settings);
    if let Some(dir) = hooks.home_var.as_deref().and_then(&var) {
        // The variable replaces the first directory (`~/.claude`).
        if let Some((_, tail)) = rest.split_once('/') {
            return Path::new(&dir).join(tail);
        }
    }
    home.join(rest)
}

/// One change to the settings, as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub event: String,
    pub added: bool,
}

/// Adds qmux's hook to every event the rule set lists, unless it is there
/// already. Returns the new settings and what changed.
pub fn install(settings: &Value, rules: &RuleSet, command: &str) -> Result<(Value, Vec<Change>), String> {
    let hooks = rules.hooks.as_ref().ok_or_else(|| no_hooks(&rules.name))?;
    let mut out = settings.clone();
    let root = out.as_object_mut().ok_or("the settings file is not a JSON object")?;
    let table = root.entry("hooks").or_insert_with(|| Value::Object(Map::new()));
    let table = table.as_object_mut().ok_or("its \"hooks\" is not a JSON object")?;
    let mut changes = Vec::new();
    for event in hooks.event_names() {
        let list = table.entry(event).or_insert_with(|| Value::Array(Vec::new()));
        let list = list.as_array_mut().ok_or_else(|| format!("its hooks.{event} is not a list"))?;
        if list.iter().any(|group| group_has(group, &rules.name)) {
            continue;
        }
        list.push(json!({ "hooks": [{ "type": "command", "command": command }] }));
        changes.push(Change { event: event.to_string(), added: true });
    }
    Ok((out, changes))
}

/// Takes qmux's hooks for this agent out, and the lists and table left
/// empty by that. Returns the new settings and what changed.
pub fn remove(settings: &Value, agent: &str) -> (Value, Vec<Change>) {
    let mut out = settings.clone();
    let mut changes = Vec::new();
    let Some(table) = out.get_mut("hooks").and_then(Value::as_object_mut) else { return (out, changes) };
    for (event, list) in table.iter_mut() {
        let Some(list) = list.as_array_mut() else { continue };
        let before = list.len();
        list.retain(|group| !group_has(group, agent));
        if list.len() != before {
            changes.push(Change { event: event.clone(), added: false });
        }
    }
    table.retain(|_, list| !list.as_array().is_some_and(Vec::is_empty));
    if table.is_empty() {
        if let Some(root) = out.as_object_mut() {
            root.remove("hooks");
        }
    }
    (out, changes)
}

/// Whether a hook group is qmux's, for this agent.
fn group_has(group: &Value, agent: &str) -> bool {
    let marker = marker(agent);
    group.get("hooks").and_then(Value::as_array).is_some_and(|hooks| {
        hooks.iter().any(|h| h.get("command").and_then(Value::as_str).is_some_and(|c| c.ends_with(&marker)))
    })
}

fn no_hooks(agent: &str) -> String {
    format!("{agent} has no hooks qmux knows (its screen rules work without them)")
}

/// What a hook's event (its JSON on stdin) tells qmux.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    pub report: Option<crate::rules::Report>,
    pub conversation: Option<String>,
}

/// Reads a hook's JSON: `hook_event_name`, `notification_type`, `session_id`.
pub fn heard(rules: &RuleSet, input: &str) -> Result<Heard, String> {
    let hooks = rules.hooks.as_ref().ok_or_else(|| no_hooks(&rules.name))?;
    let json: Value = serde_json::from_str(input).map_err(|e| format!("the hook's input is not JSON: {e}"))?;
    let event = json.get("hook_event_name").and_then(Value::as_str).ok_or("the hook's input has no hook_event_name")?;
    let notification = json.get("notification_type").and_then(Value::as_str);
    let conversation = json.get("session_id").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    Ok(Heard { report: hooks.report(event, notification), conversation })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::State;
    use crate::rules::{Report, Rules};

    #[test]
    fn install_then_remove_leaves_the_settings_as_they_were() {
        let claude = Rules::builtin().get("claude").unwrap();
        let theirs = json!({
            "permissions": { "ask": ["Bash"] },
            "hooks": { "Stop": [{ "hooks": [{ "type": "command", "command": "say done" }] }] }
        });
        let command = hook_command(Path::new("/opt/my tools/qmux"), "claude");
        assert_eq!(command, "'/opt/my tools/qmux' report --hook claude");
        let (installed, changes) = install(&theirs, &claude, &command).unwrap();
        assert!(changes.iter().any(|c| c.event == "UserPromptSubmit" && c.added), "{changes:?}");
        assert_eq!(installed["hooks"]["Stop"].as_array().unwrap().len(), 2, "theirs kept, ours added");
        let (again, none) = install(&installed, &claude, &command).unwrap();
        assert!(none.is_empty(), "installing twice adds nothing");
        assert_eq!(again, installed);
        let (removed, changes) = remove(&installed, "claude");
        assert_eq!(removed, theirs);
        assert!(!changes.is_empty());
        let (empty, _) = remove(&install(&json!({}), &claude, &command).unwrap().0, "claude");
        assert_eq!(empty, json!({}));
        assert!(install(&json!([]), &claude, &command).is_err());
    }

    #[test]
    fn a_hook_event_is_a_report() {
        let claude = Rules::builtin().get("claude").unwrap();
        let h = heard(&claude, r#"{"hook_event_name":"PermissionRequest","session_id":"abc"}"#).unwrap();
        assert_eq!(h, Heard { report: Some(Report::State(State::Approval)), conversation: Some("abc".into()) });
        assert!(heard(&claude, "not json").is_err());
        let cat = crate::rules::RuleSet::generic("cat");
        assert!(heard(&cat, "{}").unwrap_err().contains("no hooks"));
    }

    #[test]
    fn the_settings_file_follows_the_agents_variable() {
        let claude = Rules::builtin().get("claude").unwrap();
        let hooks = claude.hooks.as_ref().unwrap();
        let home = Path::new("/home/u");
        assert_eq!(settings_path(hooks, home, |_| None), Path::new("/home/u/.claude/settings.json"));
        let moved = settings_path(hooks, home, |v| (v == "CLAUDE_CONFIG_DIR").then(|| "/cfg".to_string()));
        assert_eq!(moved, Path::new("/cfg/settings.json"));
    }
}
