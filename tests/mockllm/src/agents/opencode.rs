//! opencode (`opencode-ai`, pinned 1.18.33: a node shim that runs the
//! native binary its optional dependency `opencode-linux-x64` carries)
//! against the mock: one OpenAI-compatible provider at the mock
//! (`@ai-sdk/openai-compatible`, bundled in the binary) in
//! `~/.config/opencode/opencode.json`, the only provider enabled; no
//! auto-update, no model list from models.dev, no default plugins (they are
//! npm packages it would install), no LSP download, no sharing; and every
//! shell command asked for (`"permission": {"bash": "ask"}`).

use std::path::Path;

use serde_json::json;

use super::{program, write, Prepared};

/// The provider and model opencode is told to use; the mock answers any.
pub const PROVIDER: &str = "mockllm";
pub const MODEL: &str = "mock-model";

/// Sets up `home` so the agent starts in `cwd` with no login or onboarding,
/// talking to the mock at `mock_url`.
pub fn prepare(home: &Path, _cwd: &Path, mock_url: &str) -> std::io::Result<Prepared> {
    let opencode = program("opencode").ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "opencode is not installed: run tests/agents/install")
    })?;
    let base_url = format!("{}/v1", mock_url.trim_end_matches('/'));
    write(home, ".config/opencode/opencode.json", &serde_json::to_string_pretty(&config(&base_url))?)?;
    plugin_in_place(home)?;
    let env = [
        // It reads its config from $XDG_CONFIG_HOME/opencode: the one
        // written here, whatever the caller's says.
        ("XDG_CONFIG_HOME", home.join(".config").to_string_lossy().into_owned()),
        ("COLORTERM", "truecolor".to_string()),
        ("LANG", "C.UTF-8".into()),
        ("SHELL", "/bin/bash".into()),
        ("OPENCODE_DISABLE_AUTOUPDATE", "1".into()),
        ("OPENCODE_DISABLE_MODELS_FETCH", "1".into()),
        ("OPENCODE_DISABLE_DEFAULT_PLUGINS", "1".into()),
        ("OPENCODE_DISABLE_LSP_DOWNLOAD", "1".into()),
        ("OPENCODE_DISABLE_SHARE", "1".into()),
        // Not the user's ~/.claude skills and prompts: the HOME is fresh
        // anyway, and this keeps it from looking.
        ("OPENCODE_DISABLE_CLAUDE_CODE", "1".into()),
        ("NO_PROXY", "127.0.0.1,localhost".into()),
        ("no_proxy", "127.0.0.1,localhost".into()),
    ];
    Ok(Prepared {
        argv: vec![opencode.to_string_lossy().into_owned()],
        env: super::base_env(home).into_iter().chain(env.into_iter().map(|(k, v)| (k.to_string(), v))).collect(),
    })
}

/// At every start opencode installs `@opencode-ai/plugin` into each config
/// directory with npm, in the background, unless that directory's
/// package.json, package-lock.json and node_modules already say it is
/// there: so they say so, and nothing is fetched (no plugin is used).
fn plugin_in_place(home: &Path) -> std::io::Result<()> {
    const PLUGIN: &str = "@opencode-ai/plugin";
    const VERSION: &str = "1.18.33";
    let dir = ".config/opencode";
    let deps = json!({ PLUGIN: VERSION });
    write(home, &format!("{dir}/package.json"), &json!({"dependencies": deps}).to_string())?;
    let lock = json!({
        "lockfileVersion": 3,
        "requires": true,
        "packages": {"": {"dependencies": deps}, format!("node_modules/{PLUGIN}"): {"version": VERSION}},
    });
    write(home, &format!("{dir}/package-lock.json"), &lock.to_string())?;
    write(
        home,
        &format!("{dir}/node_modules/{PLUGIN}/package.json"),
        &json!({"name": PLUGIN, "version": VERSION}).to_string(),
    )
}

/// `~/.config/opencode/opencode.json`: the mock as the one provider.
pub fn config(base_url: &str) -> serde_json::Value {
    let model = format!("{PROVIDER}/{MODEL}");
    json!({
        "autoupdate": false,
        "share": "disabled",
        "enabled_providers": [PROVIDER],
        "provider": {
            PROVIDER: {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Mock LLM",
                "options": {"baseURL": base_url, "apiKey": "mock-key"},
                "models": {MODEL: {"name": "Mock model", "tool_call": true}},
            },
        },
        "model": model,
        "small_model": model,
        "permission": {"bash": "ask"},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_points_at_the_mock() {
        let c = config("http://127.0.0.1:9/v1");
        assert_eq!(c["provider"][PROVIDER]["options"]["baseURL"], "http://127.0.0.1:9/v1");
        assert_eq!(c["model"], "mockllm/mock-model");
        assert_eq!(c["autoupdate"], false);
        assert_eq!(c["permission"]["bash"], "ask");
    }
}
