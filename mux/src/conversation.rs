//! The agent's own id for a session's conversation, so a restore resumes
//! exactly that conversation (`claude --resume ID`), not the newest one in
//! the directory, which two sessions there would fight over.
//!
//! Agents keep their conversations in files under their own config
//! directory. The id comes from the file the running agent wrote: a file
//! named by its pid (Claude Code's `~/.claude/sessions/PID.json`), or the
//! conversation file a turn of this session just wrote, which no other
//! session has claimed. A hook that reports the id (`qmux report`) wins
//! over both.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::rules::Resume;

/// What is known about the session whose conversation is looked for.
pub struct Lookup<'a> {
    /// The session's environment: HOME, and variables that move the
    /// agent's directory (`CODEX_HOME`).
    pub env: &'a [(String, String)],
    /// The agent's process.
    pub pid: Option<i32>,
    /// When the turn that wrote the file began.
    pub since: Option<SystemTime>,
    /// Ids other sessions have claimed.
    pub taken: &'a [String],
    /// The last message qmux typed into the session: a conversation file
    /// that holds it is this session's, whatever else was written since.
    pub typed: Option<&'a str>,
}

impl Lookup<'_> {
    fn var(&self, name: &str) -> Option<&str> {
        self.env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// A rule's path with `~` as the session's HOME, the agent's directory
    /// moved by its variable, and `{pid}` filled in.
    fn expand(&self, resume: &Resume, pattern: &str) -> Option<PathBuf> {
        let rest = pattern.strip_prefix("~/")?;
        let path = match (&resume.home_var, rest.split_once('/')) {
            (Some((var, dir)), Some((first, tail))) if first == dir && self.var(var).is_some() => {
                Path::new(self.var(var)?).join(tail)
            }
            _ => Path::new(self.var("HOME")?).join(rest),
        };
        let text = path.to_string_lossy().into_owned();
        Some(PathBuf::from(match self.pid {
            Some(pid) => text.replace("{pid}", &pid.to_string()),
            None if text.contains("{pid}") => return None,
            None => text,
        }))
    }
}

/// The conversation id the agent is using now, if its files tell.
pub fn find(resume: &Resume, lookup: &Lookup) -> Option<String> {
    by_pid_file(resume, lookup).or_else(|| by_newest_file(resume, lookup))
}

fn by_pid_file(resume: &Resume, lookup: &Lookup) -> Option<String> {
    let path = lookup.expand(resume, resume.pid_file.as_deref()?)?;
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let id = json.get(resume.id_key.as_deref()?)?.as_str()?;
    (!id.is_empty()).then(|| id.to_string())
}

fn by_newest_file(resume: &Resume, lookup: &Lookup) -> Option<String> {
    let pattern = lookup.expand(resume, resume.session_files.as_deref()?)?;
    let since = lookup.since?;
    let mut found: Vec<(bool, SystemTime, String)> = glob::glob(&pattern.to_string_lossy())
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|path| {
            let modified = path.metadata().ok()?.modified().ok()?;
            if modified < since {
                return None;
            }
            let id = id_of(resume, &path)?;
            let holds_typed = lookup.typed.is_some_and(|text| holds(&path, text));
            (!lookup.taken.contains(&id)).then_some((holds_typed, modified, id))
        })
        .collect();
    // The file with the message typed here first, then the newest.
    found.sort();
    found.pop().map(|(_, _, id)| id)
}

/// Whether a conversation file holds `text` (its first line, as JSON would
/// write it).
fn holds(path: &Path, text: &str) -> bool {
    let Some(line) = text.lines().map(str::trim).find(|l| !l.is_empty()) else { return false };
    let escaped = serde_json::to_string(line).unwrap_or_default();
    let needle = escaped.trim_matches('"');
    std::fs::read(path).is_ok_and(|bytes| memchr::memmem::find(&bytes, needle.as_bytes()).is_some())
}

/// A conversation file's id: from its name by `id_pattern`, else from its
/// first line's JSON by `id_key` (Gemini CLI names files by an id prefix).
fn id_of(resume: &Resume, path: &Path) -> Option<String> {
    if let Some(pattern) = &resume.id_pattern {
        return Some(pattern.captures(&path.to_string_lossy())?.get(1)?.as_str().to_string());
    }
    use std::io::BufRead;
    let mut first = String::new();
    std::io::BufReader::new(std::fs::File::open(path).ok()?).take(64 * 1024).read_line(&mut first).ok()?;
    let json: serde_json::Value = serde_json::from_str(&first).ok()?;
    Some(json.get(resume.id_key.as_deref()?)?.as_str()?.to_string())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn resume() -> Resume {
        Resume {
            session_files: Some("~/.agent/sessions/*/rollout-*.jsonl".into()),
            home_var: Some(("AGENT_HOME".into(), ".agent".into())),
            id_pattern: Some(regex::Regex::new(r"rollout-(\w+)\.jsonl$").unwrap()),
            pid_file: Some("~/.agent/pids/{pid}.json".into()),
            id_key: Some("sessionId".into()),
            ..Resume::default()
        }
    }

    #[test]
    fn the_pid_file_names_the_conversation() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".agent/pids")).unwrap();
        std::fs::write(home.path().join(".agent/pids/42.json"), r#"{"sessionId":"abc","pid":42}"#).unwrap();
        let env = [("HOME".to_string(), home.path().display().to_string())];
        let lookup = Lookup { env: &env, pid: Some(42), since: None, taken: &[], typed: None };
        assert_eq!(find(&resume(), &lookup).as_deref(), Some("abc"));
        let other = Lookup { pid: Some(43), ..lookup };
        assert_eq!(find(&resume(), &other), None);
    }

    #[test]
    fn the_newest_unclaimed_file_of_this_turn() {
        let home = tempfile::tempdir().unwrap();
        // The agent's directory moved by its variable.
        let moved = home.path().join("elsewhere");
        let day = moved.join("sessions/d1");
        std::fs::create_dir_all(&day).unwrap();
        let since = SystemTime::now() - Duration::from_secs(60);
        let old = day.join("rollout-old.jsonl");
        std::fs::write(&old, "x").unwrap();
        let f = std::fs::File::options().write(true).open(&old).unwrap();
        f.set_modified(since - Duration::from_secs(60)).unwrap();
        std::fs::write(day.join("rollout-mine.jsonl"), "x").unwrap();
        std::fs::write(day.join("rollout-theirs.jsonl"), "x").unwrap();
        let f = std::fs::File::options().write(true).open(day.join("rollout-theirs.jsonl")).unwrap();
        f.set_modified(SystemTime::now() + Duration::from_secs(1)).unwrap();
        let env = [
            ("HOME".to_string(), home.path().display().to_string()),
            ("AGENT_HOME".to_string(), moved.display().to_string()),
        ];
        let taken = ["theirs".to_string()];
        let lookup = Lookup { env: &env, pid: None, since: Some(since), taken: &taken, typed: None };
        assert_eq!(find(&resume(), &lookup).as_deref(), Some("mine"));
        // A newer unclaimed file loses to the one holding the typed message.
        std::fs::write(day.join("rollout-late.jsonl"), "{\"text\":\"other\"}").unwrap();
        let f = std::fs::File::options().write(true).open(day.join("rollout-late.jsonl")).unwrap();
        f.set_modified(SystemTime::now() + Duration::from_secs(2)).unwrap();
        assert_eq!(find(&resume(), &lookup).as_deref(), Some("late"));
        std::fs::write(day.join("rollout-mine.jsonl"), "{\"text\":\"say \\\"hi\\\"\"}").unwrap();
        let typed = Lookup { typed: Some("say \"hi\"\nmore"), ..lookup };
        assert_eq!(find(&resume(), &typed).as_deref(), Some("mine"));
        let lookup = Lookup { typed: None, ..typed };
        let nothing_new = Lookup { since: Some(SystemTime::now() + Duration::from_secs(5)), ..lookup };
        assert_eq!(find(&resume(), &nothing_new), None);
    }

    #[test]
    fn the_id_from_the_first_line() {
        let home = tempfile::tempdir().unwrap();
        let chats = home.path().join(".agent/tmp/p/chats");
        std::fs::create_dir_all(&chats).unwrap();
        std::fs::write(chats.join("session-1-abcd.jsonl"), "{\"sessionId\":\"abcd-full\",\"kind\":\"main\"}\n{}\n")
            .unwrap();
        let resume = Resume {
            session_files: Some("~/.agent/tmp/*/chats/session-*.jsonl".into()),
            id_key: Some("sessionId".into()),
            ..Resume::default()
        };
        let env = [("HOME".to_string(), home.path().display().to_string())];
        let since = SystemTime::now() - Duration::from_secs(5);
        let lookup = Lookup { env: &env, pid: None, since: Some(since), taken: &[], typed: None };
        assert_eq!(find(&resume, &lookup).as_deref(), Some("abcd-full"));
    }
}
