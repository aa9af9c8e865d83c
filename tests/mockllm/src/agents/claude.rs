//! Claude Code (`@anthropic-ai/claude-code`, a native program) against the
//! mock: an API key it has already approved, onboarding done, the folder
//! trusted, and no update checks, telemetry or other traffic.

use std::path::Path;

use serde_json::json;

use super::{program, write, Prepared};

/// The key Claude Code sends (as `x-api-key`); the mock takes any.
pub const API_KEY: &str = "sk-ant-api03-qmux-mock-key-0123456789abcdefghijklmnopqrstuvwxyz";

/// Sets up `home` so the agent starts in `cwd` with no login or onboarding,
/// talking to the mock at `mock_url`.
pub fn prepare(home: &Path, cwd: &Path, mock_url: &str) -> std::io::Result<Prepared> {
    let claude = program("claude").ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "claude is not installed: run tests/agents/install")
    })?;
    let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let cwd_key = cwd.to_string_lossy().to_string();
    // Claude Code remembers an approved key by its last 20 characters.
    let key_tail = &API_KEY[API_KEY.len() - 20..];
    let config = json!({
        "numStartups": 5,
        "installMethod": "npm-global",
        "autoUpdates": false,
        "theme": "dark",
        "hasCompletedOnboarding": true,
        "lastOnboardingVersion": "2.1.332",
        "lastReleaseNotesSeen": "2.1.332",
        "hasSeenTasksHint": true,
        "hasSeenAutoDefaultNotice": true,
        "hasSeenAutoDefaultNudge": true,
        "hasSeenEffortMediumNudge": true,
        "hasUsedBackslashReturn": true,
        "shiftEnterKeyBindingInstalled": true,
        "hasAcknowledgedCostThreshold": true,
        "bypassPermissionsModeAccepted": false,
        "tipsHistory": {},
        "customApiKeyResponses": { "approved": [key_tail], "rejected": [] },
        "projects": {
            cwd_key.clone(): {
                "allowedTools": [],
                "hasTrustDialogAccepted": true,
                "hasCompletedProjectOnboarding": true,
                "projectOnboardingSeenCount": 1,
                "hasClaudeMdExternalIncludesApproved": false,
                "hasClaudeMdExternalIncludesWarningShown": false
            }
        }
    });
    write(home, ".claude.json", &serde_json::to_string_pretty(&config)?)?;
    let settings = json!({
        "autoUpdates": false,
        "includeCoAuthoredBy": false,
        "spinnerTipsEnabled": false,
        // Ask before running a tool ("manual"), not the classifier of "auto".
        // Every shell call asks, even one Claude Code deems read-only (it
        // runs `echo`, `ls`, ... unasked otherwise).
        "permissions": { "defaultMode": "default", "ask": ["Bash"] },
        "env": {}
    });
    write(home, ".claude/settings.json", &serde_json::to_string_pretty(&settings)?)?;

    // Its scratch files and messaging socket (`cc-socks/PID.sock`) go under
    // $CLAUDE_CODE_TMPDIR, else /tmp: keep them in the test's home.
    let tmp = home.join("tmp");
    std::fs::create_dir_all(&tmp)?;
    let env = [
        ("LANG", "C.UTF-8".into()),
        ("SHELL", "/bin/bash".into()),
        ("ANTHROPIC_BASE_URL", mock_url.to_string()),
        ("ANTHROPIC_API_KEY", API_KEY.into()),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into()),
        ("DISABLE_AUTOUPDATER", "1".into()),
        ("DISABLE_TELEMETRY", "1".into()),
        ("DISABLE_ERROR_REPORTING", "1".into()),
        ("DISABLE_BUG_COMMAND", "1".into()),
        ("CLAUDE_CODE_IDE_SKIP_AUTO_INSTALL", "1".into()),
        ("CLAUDE_CODE_TMPDIR", tmp.to_string_lossy().to_string()),
    ];
    Ok(Prepared {
        argv: vec![claude.to_string_lossy().to_string()],
        env: super::base_env(home).into_iter().chain(env.into_iter().map(|(k, v)| (k.to_string(), v))).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepares_a_home() {
        if program("claude").is_none() {
            return;
        }
        let home = std::env::temp_dir().join(format!("qmux-claude-prepare-{}", std::process::id()));
        let cwd = home.join("proj");
        std::fs::create_dir_all(&cwd).unwrap();
        let p = prepare(&home, &cwd, "http://127.0.0.1:1").unwrap();
        assert!(p.argv[0].ends_with("claude"));
        assert!(p.env.contains(&("ANTHROPIC_BASE_URL".into(), "http://127.0.0.1:1".into())));
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(home.join(".claude.json")).unwrap()).unwrap();
        let key = cwd.canonicalize().unwrap().to_string_lossy().to_string();
        assert_eq!(config["projects"][key.as_str()]["hasTrustDialogAccepted"], true);
        assert_eq!(config["customApiKeyResponses"]["approved"][0], &API_KEY[API_KEY.len() - 20..]);
        let _ = std::fs::remove_dir_all(&home);
    }
}
