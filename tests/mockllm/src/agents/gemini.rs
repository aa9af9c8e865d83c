//! Gemini CLI (pinned 0.61.0) against the mock: an API key "login", the
//! Gemini API's base URL moved to the mock, and the settings that keep every
//! first-run dialog and network side job away.

use std::path::Path;

use serde_json::json;

use super::{program, write, Prepared};

/// Sets up `home` so the agent starts in `cwd` with no login or onboarding,
/// talking to the mock at `mock_url`.
///
/// Writes `home/.gemini/settings.json` (API-key auth selected, a theme so the
/// theme dialog stays shut, no telemetry, usage statistics, update check or
/// IDE nudge, shell commands asked for) and `home/.gemini/trustedFolders.json`
/// (`cwd` trusted, so the folder-trust dialog stays shut).
pub fn prepare(home: &Path, cwd: &Path, mock_url: &str) -> std::io::Result<Prepared> {
    let gemini = program("gemini").ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "gemini is not installed: run tests/agents/install")
    })?;
    let settings = json!({
        "security": {
            "auth": {"selectedType": "gemini-api-key"},
            "folderTrust": {"enabled": true},
        },
        "general": {
            "defaultApprovalMode": "default",
            "enableAutoUpdate": false,
            "enableAutoUpdateNotification": false,
            "enableNotifications": false,
        },
        "privacy": {"usageStatisticsEnabled": false},
        "telemetry": {"enabled": false},
        "ide": {"enabled": false, "hasSeenNudge": true},
        "ui": {"theme": "Default"},
        "tools": {"sandbox": false},
    });
    write(home, ".gemini/settings.json", &serde_json::to_string_pretty(&settings)?)?;
    let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let trusted = json!({ cwd.to_string_lossy(): "TRUST_FOLDER" });
    write(home, ".gemini/trustedFolders.json", &serde_json::to_string_pretty(&trusted)?)?;

    let env = [
        // Else it warns on screen that true color was not detected.
        ("COLORTERM", "truecolor".into()),
        ("GEMINI_API_KEY", "mock-key".into()),
        ("GOOGLE_GEMINI_BASE_URL", mock_url.trim_end_matches('/').to_string()),
        ("GEMINI_TELEMETRY_ENABLED", "false".into()),
        ("GEMINI_SANDBOX", "false".into()),
        ("NO_BROWSER", "true".into()),
    ];
    Ok(Prepared {
        argv: vec![gemini.to_string_lossy().into_owned()],
        env: super::base_env(home).into_iter().chain(env.into_iter().map(|(k, v)| (k.to_string(), v))).collect(),
    })
}
