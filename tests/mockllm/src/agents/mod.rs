//! Each agent CLI set up to run offline against the mock: where its
//! installed program is, and the HOME files and environment that skip login
//! and onboarding and point it at the mock.

pub mod aider;
pub mod claude;
pub mod codex;
pub mod copilot;
pub mod crush;
pub mod gemini;
pub mod opencode;
pub mod pi;
pub mod qwen;

use std::path::{Path, PathBuf};

/// What it takes to start one agent against the mock.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The command line: the installed program first.
    pub argv: Vec<String>,
    /// Variables to set on top of a clean environment (HOME included).
    pub env: Vec<(String, String)>,
}

/// Where `tests/agents/install` puts the pinned agents:
/// `$QMUX_AGENTS_DIR`, else `~/.cache/qmux/agents` — outside the source tree.
pub fn install_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("QMUX_AGENTS_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".cache/qmux/agents")
}

/// The installed program `name` (`claude`, `codex`, `copilot`, `gemini`,
/// `qwen`, `pi`, `opencode`, `aider`), if it is there: aider in its Python
/// venv, the others from npm.
pub fn program(name: &str) -> Option<PathBuf> {
    let path = match name {
        "aider" => install_dir().join("aider-venv/bin/aider"),
        _ => install_dir().join("node_modules/.bin").join(name),
    };
    path.exists().then_some(path)
}

/// Writes `text` to `home/rel`, creating its directories.
pub(crate) fn write(home: &Path, rel: &str, text: &str) -> std::io::Result<()> {
    let path = home.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

/// What every agent's environment starts with: HOME, a PATH with the
/// installed Node.js first, and a terminal type.
pub(crate) fn base_env(home: &Path) -> Vec<(String, String)> {
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", install_dir().join("node/bin").display());
    vec![
        ("HOME".into(), home.to_string_lossy().into_owned()),
        ("PATH".into(), path),
        ("TERM".into(), "xterm-256color".into()),
    ]
}
