//! GitHub Copilot CLI (`@github/copilot`, pinned 1.0.102: a loader script
//! that starts its native binary from `@github/copilot-linux-x64`) against
//! the mock. It needs no GitHub login with a custom provider ("BYOK", `copilot
//! help providers`): `COPILOT_PROVIDER_BASE_URL` at the mock's Chat
//! Completions API, a model in `COPILOT_MODEL`, and `COPILOT_OFFLINE` so it
//! calls no GitHub service. The folder is trusted in `~/.copilot/config.json`,
//! and shell commands are asked for (its default, "Manual Approval").

use std::path::Path;

use serde_json::json;

use super::{install_dir, program, write, Prepared};

/// The model Copilot is told to use; the mock answers any.
pub const MODEL: &str = "mock-model";

/// Sets up `home` so the agent starts in `cwd` with no login, trust
/// question or banner, talking to the mock at `mock_url`.
pub fn prepare(home: &Path, cwd: &Path, mock_url: &str) -> std::io::Result<Prepared> {
    let copilot = program("copilot").ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "copilot is not installed: run tests/agents/install")
    })?;
    let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    write(home, ".copilot/config.json", &serde_json::to_string_pretty(&config(&cwd.to_string_lossy()))?)?;
    write(home, ".copilot/settings.json", &serde_json::to_string_pretty(&settings())?)?;
    let env = [
        ("COLORTERM", "truecolor".to_string()),
        ("LANG", "C.UTF-8".into()),
        ("SHELL", "/bin/bash".into()),
        ("COPILOT_PROVIDER_BASE_URL", format!("{}/v1", mock_url.trim_end_matches('/'))),
        ("COPILOT_PROVIDER_API_KEY", "mock-key".into()),
        ("COPILOT_MODEL", MODEL.into()),
        // No GitHub service at all: no login, policy or update check.
        ("COPILOT_OFFLINE", "true".into()),
        ("COPILOT_AUTO_UPDATE", "false".into()),
        // The native binary unpacks its JavaScript (235 MB) on first start;
        // tests/agents/install has done that once for every HOME.
        ("COPILOT_PKG_CACHE_HOME", install_dir().join("copilot").to_string_lossy().into_owned()),
        // The environment is clean, so no proxy variable reaches it; a
        // proxy would get even 127.0.0.1's requests.
        ("NO_PROXY", "127.0.0.1,localhost".into()),
        ("no_proxy", "127.0.0.1,localhost".into()),
    ];
    Ok(Prepared {
        argv: vec![copilot.to_string_lossy().into_owned()],
        env: super::base_env(home).into_iter().chain(env.into_iter().map(|(k, v)| (k.to_string(), v))).collect(),
    })
}

/// `~/.copilot/config.json`, the file it manages itself: `cwd` trusted
/// (else it asks "Confirm folder trust" first) and its first-run tip seen.
pub fn config(cwd: &str) -> serde_json::Value {
    json!({
        "firstLaunchAt": "2026-01-01T00:00:00.000Z",
        "appTipShown": true,
        "trustedFolders": [cwd],
    })
}

/// `~/.copilot/settings.json`, the user's settings: no animated banner, no
/// download of a newer self.
pub fn settings() -> serde_json::Value {
    json!({"banner": "never", "autoUpdate": false, "beep": false})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_is_trusted_and_the_banner_off() {
        assert_eq!(config("/tmp/p")["trustedFolders"][0], "/tmp/p");
        assert_eq!(settings()["banner"], "never");
        assert_eq!(settings()["autoUpdate"], false);
    }
}
