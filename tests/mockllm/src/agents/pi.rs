//! pi (`@mariozechner/pi-coding-agent`, pinned 0.73.1) against the mock: a
//! provider of its own in `~/.pi/agent/models.json` speaking OpenAI Chat
//! Completions at the mock (its "most compatible" API, `openai-completions`),
//! made the default in `~/.pi/agent/settings.json`, and `PI_OFFLINE=1`, which
//! turns off every network job at start: the version check, package update
//! checks, the install ping and the download of fd and ripgrep it would
//! otherwise fetch from GitHub when they are missing.
//!
//! pi never asks before running a tool ("No permission popups", its
//! README): its `bash` tool runs what the model asks at once.

use std::path::Path;

use serde_json::json;

use super::{program, write, Prepared};

/// The provider and model pi is told to use; the mock answers any.
pub const PROVIDER: &str = "mock";
pub const MODEL: &str = "mock-model";

/// Sets up `home` so pi starts with no login or onboarding, talking to the
/// mock at `mock_url`. (`cwd` needs nothing: pi trusts any directory.)
pub fn prepare(home: &Path, _cwd: &Path, mock_url: &str) -> std::io::Result<Prepared> {
    let pi = program("pi").ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "pi is not installed: run tests/agents/install")
    })?;
    let base_url = format!("{}/v1", mock_url.trim_end_matches('/'));
    write(home, ".pi/agent/models.json", &serde_json::to_string_pretty(&models(&base_url))?)?;
    write(home, ".pi/agent/settings.json", &serde_json::to_string_pretty(&settings())?)?;
    let env = [
        ("COLORTERM", "truecolor".to_string()),
        ("LANG", "C.UTF-8".into()),
        ("SHELL", "/bin/bash".into()),
        ("MOCKLLM_API_KEY", "mock-key".into()),
        ("PI_OFFLINE", "1".into()),
        ("PI_TELEMETRY", "0".into()),
        ("NO_PROXY", "127.0.0.1,localhost".into()),
        ("no_proxy", "127.0.0.1,localhost".into()),
    ];
    Ok(Prepared {
        argv: vec![pi.to_string_lossy().into_owned()],
        env: super::base_env(home).into_iter().chain(env.into_iter().map(|(k, v)| (k.to_string(), v))).collect(),
    })
}

/// `~/.pi/agent/models.json`: the mock as the one provider, its key read
/// from an environment variable.
pub fn models(base_url: &str) -> serde_json::Value {
    json!({
        "providers": {
            PROVIDER: {
                "baseUrl": base_url,
                "api": "openai-completions",
                "apiKey": "MOCKLLM_API_KEY",
                // The mock takes neither: a plain system message, no effort.
                "compat": {"supportsDeveloperRole": false, "supportsReasoningEffort": false},
                "models": [{"id": MODEL, "name": MODEL, "reasoning": false, "input": ["text"]}],
            }
        }
    })
}

/// `~/.pi/agent/settings.json`: the mock's model by default, no install ping.
pub fn settings() -> serde_json::Value {
    json!({
        "defaultProvider": PROVIDER,
        "defaultModel": MODEL,
        "enableInstallTelemetry": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_points_at_the_mock() {
        let m = models("http://127.0.0.1:9/v1");
        assert_eq!(m["providers"][PROVIDER]["baseUrl"], "http://127.0.0.1:9/v1");
        assert_eq!(m["providers"][PROVIDER]["models"][0]["id"], MODEL);
        let s = settings();
        assert_eq!((s["defaultProvider"].as_str(), s["defaultModel"].as_str()), (Some(PROVIDER), Some(MODEL)));
    }
}
