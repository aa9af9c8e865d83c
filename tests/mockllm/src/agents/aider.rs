//! aider (PyPI `aider-chat`, pinned 0.86.2 in tests/agents/aider-requirements.txt,
//! in a venv of its own) against the mock: the model `openai/mock` at the
//! mock's Chat Completions API, set in `~/.aider.conf.yml`, with its
//! context size and (zero) prices in `~/.aider.model.metadata.json` so
//! neither aider nor litellm fetches a price list; no git, no update check,
//! no analytics, no release notes, no model warnings (a question of their
//! own). The "diff" edit format reads a fenced ```bash block in a reply as a
//! shell command to propose, and asks "Run shell command?" before it runs it.

use std::path::Path;

use serde_json::json;

use super::{program, write, Prepared};

/// The model aider is told to use: `openai/` makes litellm talk to an
/// OpenAI-compatible API, and the mock answers any name.
pub const MODEL: &str = "openai/mock";

/// Sets up `home` so aider starts in `cwd` with no question before its
/// prompt, talking to the mock at `mock_url`. (`cwd` needs nothing: with no
/// git, aider keeps its chat history in the directory it runs in.)
pub fn prepare(home: &Path, _cwd: &Path, mock_url: &str) -> std::io::Result<Prepared> {
    let aider = program("aider").ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "aider is not installed: run tests/agents/install")
    })?;
    let base_url = format!("{}/v1", mock_url.trim_end_matches('/'));
    write(home, ".aider.conf.yml", &config(&base_url))?;
    write(home, ".aider.model.metadata.json", &serde_json::to_string_pretty(&metadata())?)?;
    let env = [
        ("LANG", "C.UTF-8"),
        ("SHELL", "/bin/sh"),
        // litellm reads its model price map from the package, not the web.
        ("LITELLM_LOCAL_MODEL_COST_MAP", "True"),
        // The environment is clean, so no proxy variable reaches it; a
        // proxy would get even 127.0.0.1's requests.
        ("NO_PROXY", "127.0.0.1,localhost"),
        ("no_proxy", "127.0.0.1,localhost"),
    ];
    Ok(Prepared {
        argv: vec![aider.to_string_lossy().into_owned()],
        env: super::base_env(home)
            .into_iter()
            .chain(env.into_iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .collect(),
    })
}

/// `~/.aider.conf.yml`: its command-line options, as YAML.
pub fn config(base_url: &str) -> String {
    format!(
        "model: {MODEL}\n\
         openai-api-base: {base_url}\n\
         openai-api-key: mock-key\n\
         edit-format: diff\n\
         git: false\n\
         check-update: false\n\
         show-release-notes: false\n\
         analytics-disable: true\n\
         show-model-warnings: false\n\
         detect-urls: false\n"
    )
}

/// `~/.aider.model.metadata.json`: what litellm would look up for the model.
pub fn metadata() -> serde_json::Value {
    json!({
        MODEL: {
            "max_input_tokens": 128000, "max_output_tokens": 4096, "max_tokens": 4096,
            "input_cost_per_token": 0, "output_cost_per_token": 0,
            "litellm_provider": "openai", "mode": "chat",
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_points_at_the_mock() {
        let c = config("http://127.0.0.1:9/v1");
        assert!(c.contains("openai-api-base: http://127.0.0.1:9/v1\n"), "{c}");
        assert!(c.contains("model: openai/mock\n") && c.contains("check-update: false\n"), "{c}");
        assert_eq!(metadata()[MODEL]["litellm_provider"], "openai");
    }
}
