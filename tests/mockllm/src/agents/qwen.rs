//! Qwen Code (`@qwen-code/qwen-code`, pinned 0.24.4, a fork of Gemini CLI)
//! against the mock: an OpenAI-compatible provider at the mock
//! (`modelProviders.openai` in `~/.qwen/settings.json`, its key in an
//! environment variable), no auto-update (else it runs `npm install -g` of a
//! newer self), no telemetry or usage statistics, the folder trusted, and
//! shell commands asked for (the default approval mode).

use std::path::Path;

use serde_json::json;

use super::{program, write, Prepared};

/// The model Qwen Code is told to use; the mock answers any.
pub const MODEL: &str = "mock-model";

/// Sets up `home` so the agent starts in `cwd` with no login or onboarding,
/// talking to the mock at `mock_url`.
pub fn prepare(home: &Path, cwd: &Path, mock_url: &str) -> std::io::Result<Prepared> {
    let qwen = program("qwen").ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "qwen is not installed: run tests/agents/install")
    })?;
    let base_url = format!("{}/v1", mock_url.trim_end_matches('/'));
    write(home, ".qwen/settings.json", &serde_json::to_string_pretty(&settings(&base_url))?)?;
    let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let trusted = json!({ cwd.to_string_lossy(): "TRUST_FOLDER" });
    write(home, ".qwen/trustedFolders.json", &serde_json::to_string_pretty(&trusted)?)?;
    let env = [
        ("COLORTERM", "truecolor".to_string()),
        ("LANG", "C.UTF-8".into()),
        ("SHELL", "/bin/bash".into()),
        ("MOCKLLM_API_KEY", "mock-key".into()),
        // The environment is clean, so no proxy variable reaches it; a
        // proxy would get even 127.0.0.1's requests.
        ("NO_PROXY", "127.0.0.1,localhost".into()),
        ("no_proxy", "127.0.0.1,localhost".into()),
        ("NO_BROWSER", "true".into()),
    ];
    Ok(Prepared {
        argv: vec![qwen.to_string_lossy().into_owned()],
        env: super::base_env(home).into_iter().chain(env.into_iter().map(|(k, v)| (k.to_string(), v))).collect(),
    })
}

/// `~/.qwen/settings.json`: the mock as the one OpenAI-compatible model.
pub fn settings(base_url: &str) -> serde_json::Value {
    json!({
        "security": {
            "auth": {"selectedType": "openai"},
            "folderTrust": {"enabled": true},
        },
        "model": {"name": MODEL},
        "modelProviders": {
            "openai": [{"id": MODEL, "name": MODEL, "baseUrl": base_url, "envKey": "MOCKLLM_API_KEY"}],
        },
        "general": {
            "enableAutoUpdate": false,
            "enableAutoUpdateNotification": false,
            "disableAutoUpdate": true,
            "disableUpdateNag": true,
        },
        "privacy": {"usageStatisticsEnabled": false},
        "telemetry": {"enabled": false},
        "ide": {"enabled": false, "hasSeenNudge": true},
        // No follow-up suggestion after a turn: another side request.
        "ui": {"theme": "Default", "enableFollowupSuggestions": false},
        // Every shell command asks, even one it deems read-only (it runs
        // `printf`, `ls`, ... unasked otherwise).
        "permissions": {"ask": ["run_shell_command"]},
        // Its bundled rg comes without the execute bit from npm, and it says
        // so in a box at every start.
        "tools": {"sandbox": false, "approvalMode": "default", "useRipgrep": false},
        // No background memory keeper after each turn: it is a second
        // conversation the mock would answer.
        "memory": {"enableManagedAutoMemory": false, "enableManagedAutoDream": false, "enableAutoSkill": false},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_point_at_the_mock() {
        let s = settings("http://127.0.0.1:9/v1");
        assert_eq!(s["modelProviders"]["openai"][0]["baseUrl"], "http://127.0.0.1:9/v1");
        assert_eq!(s["model"]["name"], MODEL);
        assert_eq!(s["general"]["enableAutoUpdate"], false);
        assert_eq!(s["security"]["auth"]["selectedType"], "openai");
    }
}
