//! A team of agents from a file: `qmux up` starts what `.qmux.toml` (or
//! FILE) names and is not running yet, then attaches with the team's panes;
//! `qmux down` ends it. This room reads the file and works out the plan;
//! the client half is `commands/team.rs`.
//!
//! ```toml
//! [team]
//! layout = "main-vertical"          # even-horizontal | even-vertical | main-vertical | tiled
//!
//! [[session]]
//! name = "plan"
//! command = ["claude"]              # or a string, run with /bin/sh -c
//! prompt = "Read TODO.md and write a plan to PLAN.md"
//!
//! [[session]]
//! name = "code"
//! command = ["codex"]
//! worktree = "code"                 # a git worktree and branch of its own
//! dir = "services/api"              # relative to the file's directory
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One session of the team.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub name: String,
    /// Empty: the config's default command.
    pub command: Vec<String>,
    pub dir: PathBuf,
    pub worktree: Option<String>,
    pub prompt: Option<String>,
}

/// The file, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    pub file: PathBuf,
    pub members: Vec<Member>,
    /// The panes' layout when `up` attaches.
    pub layout: String,
}

#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    team: TeamFile,
    #[serde(default)]
    session: Vec<SessionFile>,
    /// `[worktree] setup`, read by `worktree.rs`.
    #[allow(dead_code)]
    worktree: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamFile {
    layout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionFile {
    name: String,
    command: Option<Command>,
    dir: Option<PathBuf>,
    worktree: Option<String>,
    prompt: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Command {
    Shell(String),
    Argv(Vec<String>),
}

const LAYOUTS: [&str; 4] = ["even-horizontal", "even-vertical", "main-vertical", "tiled"];

/// The team file for a directory: `.qmux.toml` there or in the nearest
/// directory above it that has one.
pub fn find(from: &Path) -> Option<PathBuf> {
    from.ancestors().map(|d| d.join(".qmux.toml")).find(|f| f.is_file())
}

impl Team {
    /// Reads and checks `file`; an error reads `FILE:LINE:COL: what`.
    pub fn load(file: &Path) -> Result<Team, String> {
        let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        Team::parse(file, &text).map_err(|(at, why)| {
            let (line, col) = crate::config::line_col(&text, at);
            format!("{}:{line}:{col}: {why}", file.display())
        })
    }

    /// Parses the text of `file`; an error is (byte offset, what).
    fn parse(file: &Path, text: &str) -> Result<Team, (usize, String)> {
        let parsed: File =
            toml::from_str(text).map_err(|e| (e.span().map_or(0, |s| s.start), e.message().to_string()))?;
        let at = |needle: &str| text.find(needle).unwrap_or(0);
        let base = file.parent().unwrap_or(Path::new("."));
        let layout = parsed.team.layout.unwrap_or_else(|| "tiled".into());
        if !LAYOUTS.contains(&layout.as_str()) {
            return Err((at("layout"), format!("layout {layout:?} is none of {}", LAYOUTS.join(", "))));
        }
        if parsed.session.is_empty() {
            return Err((0, "no [[session]]: a team needs at least one".into()));
        }
        let mut members: Vec<Member> = Vec::new();
        for s in parsed.session {
            let here = at(&format!("\"{}\"", s.name));
            if s.name.trim().is_empty() || s.name.chars().all(|c| c.is_ascii_digit()) || s.name.contains(':') {
                return Err((
                    here,
                    format!("session name {:?} cannot name a session (digits alone, ':' or empty)", s.name),
                ));
            }
            if members.iter().any(|m| m.name == s.name) {
                return Err((
                    text.rfind(&format!("\"{}\"", s.name)).unwrap_or(here),
                    format!("session {:?} twice", s.name),
                ));
            }
            let command = match s.command {
                None => Vec::new(),
                Some(Command::Argv(v)) if v.first().is_none_or(|p| p.trim().is_empty()) => {
                    return Err((here, format!("the command of {:?} names no program", s.name)))
                }
                Some(Command::Argv(v)) => v,
                Some(Command::Shell(line)) if line.trim().is_empty() => {
                    return Err((here, format!("the command of {:?} is empty", s.name)))
                }
                Some(Command::Shell(line)) => vec!["/bin/sh".into(), "-c".into(), line],
            };
            let dir = match s.dir {
                Some(d) if d.is_absolute() => d,
                Some(d) => base.join(d),
                None => base.to_path_buf(),
            };
            members.push(Member { name: s.name, command, dir, worktree: s.worktree, prompt: s.prompt });
        }
        Ok(Team { file: file.to_path_buf(), members, layout })
    }
}

/// What `up` does with each member, given the names of the sessions that
/// run: start it, or leave the one running.
pub fn plan<'a>(team: &'a Team, running: &[String]) -> Vec<(&'a Member, bool)> {
    team.members.iter().map(|m| (m, !running.contains(&m.name))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Team, String> {
        let file = Path::new("/repo/.qmux.toml");
        Team::parse(file, text).map_err(|(at, why)| {
            let (line, col) = crate::config::line_col(text, at);
            format!("{line}:{col}: {why}")
        })
    }

    #[test]
    fn a_team_file_reads_its_sessions_relative_to_itself() {
        let team = parse(
            "[team]\nlayout = \"main-vertical\"\n[worktree]\nsetup = \"npm ci\"\n\
             [[session]]\nname = \"plan\"\ncommand = [\"claude\"]\nprompt = \"plan it\"\n\
             [[session]]\nname = \"code\"\ncommand = \"codex --full-auto\"\nworktree = \"code\"\ndir = \"api\"\n",
        )
        .unwrap();
        assert_eq!(team.layout, "main-vertical");
        assert_eq!(team.members[0].command, ["claude"]);
        assert_eq!(team.members[0].dir, Path::new("/repo"));
        assert_eq!(team.members[1].command, ["/bin/sh", "-c", "codex --full-auto"]);
        assert_eq!(team.members[1].dir, Path::new("/repo/api"));
        assert_eq!(team.members[1].worktree.as_deref(), Some("code"));
        let running = vec!["plan".to_string()];
        let starts: Vec<(&str, bool)> = plan(&team, &running).into_iter().map(|(m, s)| (m.name.as_str(), s)).collect();
        assert_eq!(starts, [("plan", false), ("code", true)]);
    }

    #[test]
    fn a_bad_file_is_refused_with_its_position() {
        let e = parse("[[session]]\nname = \"a\"\ncomand = [\"x\"]\n").unwrap_err();
        assert!(e.starts_with("3:1: unknown field `comand`"), "{e}");
        let e = parse("[team]\nlayout = \"spiral\"\n[[session]]\nname = \"a\"\n").unwrap_err();
        assert!(e.starts_with("2:1: layout \"spiral\""), "{e}");
        let e = parse("[[session]]\nname = \"a\"\n[[session]]\nname = \"a\"\n").unwrap_err();
        assert!(e.starts_with("4:8: session \"a\" twice"), "{e}");
        let e = parse("[[session]]\nname = \"12\"\n").unwrap_err();
        assert!(e.contains("digits alone"), "{e}");
        assert!(parse("").unwrap_err().contains("no [[session]]"));
    }
}
