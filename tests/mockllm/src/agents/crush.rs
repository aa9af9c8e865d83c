//! Crush (`@charmland/crush`) against the mock, as its source (v0.90.0)
//! says it is set up: a custom OpenAI-compatible provider at the mock's
//! Chat Completions API in `~/.config/crush/crush.json`, the only one
//! (`disable_default_providers`), no provider list fetched
//! (`CRUSH_DISABLE_PROVIDER_AUTO_UPDATE`), no metrics, no LSPs, and the
//! project marked initialized (else it asks to write an AGENTS.md first).
//! Its `bash` tool asks before any command outside a read-only list
//! (`printf` is not on it).
//!
//! Not run by any test: the npm package's postinstall downloads the Go
//! binary from GitHub, which this machine cannot reach, and no registry it
//! can reach has the binary (tests/fixtures/agents/SOURCES.md, section
//! 5.5). [`prepare`] says so when the program is missing.

use std::path::Path;

use serde_json::json;

use super::{program, write, Prepared};

/// The model Crush is told to use; the mock answers any.
pub const MODEL: &str = "mock-model";

/// Sets up `home` and `cwd` so the agent starts with no onboarding,
/// talking to the mock at `mock_url`.
pub fn prepare(home: &Path, cwd: &Path, mock_url: &str) -> std::io::Result<Prepared> {
    let crush = program("crush").ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "crush is not installed: its npm package downloads the binary from GitHub releases",
        )
    })?;
    let base_url = format!("{}/v1", mock_url.trim_end_matches('/'));
    write(home, ".config/crush/crush.json", &serde_json::to_string_pretty(&config(&base_url))?)?;
    write(cwd, ".crush/init", r#"{"initialized":true}"#)?;
    let env = [
        ("COLORTERM", "truecolor"),
        ("LANG", "C.UTF-8"),
        ("SHELL", "/bin/bash"),
        ("CRUSH_DISABLE_PROVIDER_AUTO_UPDATE", "1"),
        ("CRUSH_DISABLE_METRICS", "1"),
        ("DO_NOT_TRACK", "1"),
        ("NO_PROXY", "127.0.0.1,localhost"),
        ("no_proxy", "127.0.0.1,localhost"),
    ];
    Ok(Prepared {
        argv: vec![crush.to_string_lossy().into_owned()],
        env: super::base_env(home).into_iter().chain(env.into_iter().map(|(k, v)| (k.into(), v.into()))).collect(),
    })
}

/// `crush.json`: the mock as the one provider, its model for both roles.
pub fn config(base_url: &str) -> serde_json::Value {
    let model = json!({
        "id": MODEL, "name": MODEL, "context_window": 128000, "default_max_tokens": 4096,
        "cost_per_1m_in": 0, "cost_per_1m_out": 0, "cost_per_1m_in_cached": 0, "cost_per_1m_out_cached": 0,
        "can_reason": false, "supports_attachments": false,
    });
    json!({
        "providers": {
            "mock": {"name": "mock", "type": "openai-compat", "base_url": base_url, "api_key": "mock-key", "models": [model]},
        },
        "models": {
            "large": {"provider": "mock", "model": MODEL},
            "small": {"provider": "mock", "model": MODEL},
        },
        "options": {
            "disable_provider_auto_update": true,
            "disable_default_providers": true,
            "disable_metrics": true,
            "auto_lsp": false,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mock_is_the_only_provider() {
        let c = config("http://127.0.0.1:9/v1");
        assert_eq!(c["providers"]["mock"]["base_url"], "http://127.0.0.1:9/v1");
        assert_eq!(c["providers"]["mock"]["type"], "openai-compat");
        assert_eq!(c["models"]["large"]["provider"], "mock");
        assert_eq!(c["options"]["disable_provider_auto_update"], true);
    }
}
