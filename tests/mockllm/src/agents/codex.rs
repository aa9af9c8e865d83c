//! OpenAI Codex CLI (pinned 0.171.0) against the mock.
//!
//! `~/.codex/config.toml` names a custom model provider (`wire_api =
//! "responses"`) at the mock, so no login is needed: the provider's `env_key`
//! carries a dummy key. The model, `mock-model`, is described by a one-entry
//! model catalog (`model_catalog_json`), so Codex neither warns "Model
//! metadata … not found" nor offers to switch to a newer model.
//!
//! Approvals: Codex 0.171 knows only `on-request` and `never` (it refuses
//! `untrusted`), and with the `workspace-write` sandbox it warns at start
//! that bubblewrap is missing. So commands run unsandboxed
//! (`danger-full-access`, which works as root without network), and an
//! exec-policy rule (`rules/default.rules`, decision `prompt`) makes Codex ask
//! "Would you like to run the following command?" before every command that
//! starts with one of [`PROMPT_COMMANDS`]. `cwd` is trusted, so no trust
//! question comes first; the update check is off. `TMPDIR` is a folder under
//! `home` (Codex must not get `/tmp`), and `--no-daemon` keeps Codex from
//! starting its shared app-server daemon.

use std::path::Path;

use super::{install_dir, Prepared};

/// The first words of the commands Codex must ask about before running.
pub const PROMPT_COMMANDS: [&str; 12] =
    ["echo", "ls", "cat", "printf", "true", "false", "sleep", "touch", "pwd", "date", "sh", "bash"];

/// Sets up `home` so the agent starts in `cwd` with no login or onboarding,
/// talking to the mock at `mock_url`.
pub fn prepare(home: &Path, cwd: &Path, mock_url: &str) -> std::io::Result<Prepared> {
    let program = super::program("codex")
        .ok_or_else(|| std::io::Error::other(format!("codex is not installed in {}", install_dir().display())))?;
    let codex_home = home.join(".codex");
    let tmp = home.join("tmp");
    std::fs::create_dir_all(&tmp)?;
    std::fs::create_dir_all(cwd)?;
    super::write(home, ".codex/config.toml", &config_toml(&codex_home, cwd, mock_url))?;
    super::write(home, ".codex/mock-models.json", &model_catalog())?;
    super::write(home, ".codex/rules/default.rules", &rules())?;
    let path = format!(
        "{}:{}",
        install_dir().join("node/bin").display(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into())
    );
    let env = vec![
        ("HOME".to_string(), home.display().to_string()),
        ("CODEX_HOME".to_string(), codex_home.display().to_string()),
        ("TMPDIR".to_string(), tmp.display().to_string()),
        ("PATH".to_string(), path),
        ("MOCKLLM_API_KEY".to_string(), "mock-key".to_string()),
        ("TERM".to_string(), "xterm-256color".to_string()),
        ("LANG".to_string(), "C.UTF-8".to_string()),
    ];
    let argv =
        vec![program.display().to_string(), "--no-daemon".to_string(), "-C".to_string(), cwd.display().to_string()];
    Ok(Prepared { argv, env })
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The whole `config.toml`.
pub fn config_toml(codex_home: &Path, cwd: &Path, mock_url: &str) -> String {
    let catalog = quoted(&codex_home.join("mock-models.json").display().to_string());
    let base_url = quoted(&format!("{}/v1", mock_url.trim_end_matches('/')));
    let cwd = quoted(&cwd.display().to_string());
    format!(
        r#"model = "mock-model"
model_provider = "mockllm"
model_catalog_json = {catalog}
approval_policy = "on-request"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false

[model_providers.mockllm]
name = "mockllm"
base_url = {base_url}
wire_api = "responses"
env_key = "MOCKLLM_API_KEY"
request_max_retries = 0
stream_max_retries = 0

[projects.{cwd}]
trust_level = "trusted"
"#
    )
}

/// The one-model catalog for `mock-model`: the fields Codex requires.
pub fn model_catalog() -> String {
    serde_json::json!({"models": [{
        "slug": "mock-model",
        "display_name": "mock-model",
        "base_instructions": "You are the qmux mock model.",
        "support_verbosity": false,
        "truncation_policy": {"mode": "tokens", "limit": 10000},
        "supported_reasoning_levels": [],
        "shell_type": "shell_command",
        "visibility": "list",
        "supported_in_api": true,
        "priority": 1,
        "experimental_supported_tools": [],
    }]})
    .to_string()
}

/// The exec-policy rule that makes Codex ask before [`PROMPT_COMMANDS`].
pub fn rules() -> String {
    let words: Vec<String> = PROMPT_COMMANDS.iter().map(|w| quoted(w)).collect();
    format!("prefix_rule(pattern = [[{}]], decision = \"prompt\")\n", words.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_points_at_the_mock() {
        let toml = config_toml(Path::new("/h/.codex"), Path::new("/w/p"), "http://127.0.0.1:9/");
        assert!(toml.contains("base_url = \"http://127.0.0.1:9/v1\""));
        assert!(toml.contains("[projects.\"/w/p\"]"));
        assert!(toml.contains("model_catalog_json = \"/h/.codex/mock-models.json\""));
        assert!(rules().starts_with("prefix_rule(pattern = [[\"echo\", "));
        let catalog: serde_json::Value = serde_json::from_str(&model_catalog()).unwrap();
        assert_eq!(catalog["models"][0]["slug"], "mock-model");
    }
}
