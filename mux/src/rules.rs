//! Detection as data: one rule set per agent.
//!
//! A rule set says how to recognise an agent among the processes in the
//! foreground of a session's PTY, how to tell its states apart on screen
//! ([`Detector`]), how to type into it so it submits, and how to resume its
//! conversation. The rule sets qmux ships are TOML files in `mux/agents/`,
//! embedded in the binary; a file of the same name in the config
//! directory's `agents/` folder replaces one, and `qmux reload` applies it
//! to running sessions. `[programs.NAME]` in the config tunes one further.
//!
//! Programs with no rule set of their own get the generic one: today's
//! line-editor signals when they use bracketed paste, else output quiet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;

use crate::detect::{Cursor, Detect, Detector, Pattern, Region};

mod answers;
mod notices;
pub use answers::{Answers, Choice};
pub use notices::Notices;

/// The rule sets shipped in the binary: (name, TOML).
pub const BUILTIN: &[(&str, &str)] = &[
    ("claude", include_str!("../agents/claude.toml")),
    ("codex", include_str!("../agents/codex.toml")),
    ("gemini", include_str!("../agents/gemini.toml")),
    ("qwen", include_str!("../agents/qwen.toml")),
    ("pi", include_str!("../agents/pi.toml")),
    ("copilot", include_str!("../agents/copilot.toml")),
    ("crush", include_str!("../agents/crush.toml")),
    ("opencode", include_str!("../agents/opencode.toml")),
    ("kiro-cli", include_str!("../agents/kiro-cli.toml")),
    ("q", include_str!("../agents/q.toml")),
    ("aider", include_str!("../agents/aider.toml")),
    ("qmux-chat", include_str!("../agents/qmux-chat.toml")),
];

/// Where a rule set came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Builtin,
    /// The user's file that replaced the built-in one (or added a new agent).
    File(PathBuf),
    /// No rule set: the generic behaviour.
    Generic,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Builtin => write!(f, "built in"),
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Generic => write!(f, "generic (no rule set)"),
        }
    }
}

/// Everything qmux knows about one program.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub name: String,
    pub description: String,
    pub source: Source,
    /// Also tuned by `[programs.NAME]` in the config.
    pub tuned: bool,
    pub matcher: Matcher,
    pub detector: Detector,
    pub input: Input,
    pub resume: Resume,
    /// The keys that answer its approval question.
    pub answers: Answers,
    /// What a notification quotes from its screen.
    pub notices: Notices,
    /// Lifecycle hooks the agent offers, which `qmux hooks install` uses to
    /// make it report its state.
    pub hooks: Option<Hooks>,
    /// The TOML it was read from (for `qmux agents show`).
    pub text: String,
}

/// How the agent is recognised among a PTY's foreground processes.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    /// File names of the program (argv[0] or the executable).
    pub names: Vec<String>,
    /// Text in an argument: the script an interpreter runs
    /// (`@anthropic-ai/claude-code/cli.js` under node).
    pub args: Vec<String>,
}

impl Matcher {
    /// Whether this process is the agent.
    pub fn matches(&self, argv: &[String], exe_name: &str) -> bool {
        let argv0 = crate::config::program_name(argv);
        self.names.iter().any(|n| n == argv0 || n == exe_name)
            || argv.iter().any(|a| self.args.iter().any(|needle| a.contains(needle.as_str())))
    }
}

/// When typed text goes as a bracketed paste.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Paste {
    /// Whenever the program turned bracketed paste on: a TUI then takes the
    /// text as one piece, never as keys that trigger its shortcuts.
    Always,
    /// Only text of several lines, so they make one message.
    MultiLine,
}

/// How text is typed so the program takes it as a message.
#[derive(Debug, Clone)]
pub struct Input {
    pub paste: Paste,
    /// The least time between the text and its Enter: Ink and ratatui apps
    /// take a CR that arrives with the text as part of a paste.
    pub submit_delay: Duration,
    /// How long to wait for the program to echo the text before pressing
    /// Enter anyway.
    pub echo_timeout: Duration,
    /// How long the program may take to react to the input (its Enter)
    /// before `send` says it did not.
    pub reaction_timeout: Duration,
}

impl Default for Input {
    fn default() -> Self {
        Input {
            paste: Paste::MultiLine,
            submit_delay: Duration::ZERO,
            echo_timeout: Duration::from_millis(500),
            reaction_timeout: Duration::from_secs(3),
        }
    }
}

/// How to bring the agent's conversation back.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    /// Arguments that resume the newest conversation in the directory.
    pub latest: Option<Vec<String>>,
    /// Arguments that resume one conversation; `{id}` is replaced.
    pub by_id: Option<Vec<String>>,
    /// Where the agent keeps one file per conversation, a glob with `~`
    /// for the session's HOME, e.g. `~/.claude/projects/*/*.jsonl`.
    pub session_files: Option<String>,
    /// A variable that moves the agent's home (`CODEX_HOME`): it replaces
    /// the first directory of `session_files` after `~`.
    pub home_var: Option<(String, String)>,
    /// Picks the conversation id out of a session file's name.
    pub id_pattern: Option<Regex>,
    /// A file the agent keeps per process (`{pid}` is its pid), with its
    /// conversation id under `id_key`.
    pub pid_file: Option<String>,
    pub id_key: Option<String>,
}

impl Resume {
    /// qmux can learn the agent's conversation id, and resume by it.
    pub fn knows_ids(&self) -> bool {
        self.by_id.is_some() && (self.session_files.is_some() || self.pid_file.is_some())
    }

    /// The arguments that resume conversation `id`, or the newest one.
    pub fn args(&self, id: Option<&str>) -> Option<Vec<String>> {
        match (id, &self.by_id) {
            (Some(id), Some(args)) => Some(args.iter().map(|a| a.replace("{id}", id)).collect()),
            _ => self.latest.clone(),
        }
    }
}

/// An agent's lifecycle hooks: where they are configured, and what state
/// each event leaves the agent in.
#[derive(Debug, Clone)]
pub struct Hooks {
    /// The agent's settings file (`~` is HOME).
    pub settings: String,
    /// A variable that moves the directory the settings file is in.
    pub home_var: Option<String>,
    /// (event, notification type it must carry, what it reports).
    pub events: Vec<(String, Option<String>, Report)>,
}

/// The values a hook event can report, for errors.
const HOOK_REPORTS: &str = "use busy, waiting, approval, end or conversation";

/// What a hook event says of the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    State(crate::detect::State),
    /// It stops reporting (its session ended): the screen rules decide again.
    End,
    /// Only its conversation id: the event comes before it can take input
    /// (a session starting), so the screen decides when it is ready.
    Conversation,
}

impl Hooks {
    /// What an event (with the notification type it carries) reports.
    pub fn report(&self, event: &str, notification: Option<&str>) -> Option<Report> {
        let exact = self.events.iter().find(|(e, n, _)| e == event && n.is_some() && n.as_deref() == notification);
        exact.or_else(|| self.events.iter().find(|(e, n, _)| e == event && n.is_none())).map(|(_, _, r)| *r)
    }

    /// The event names to install a hook for, once each.
    pub fn event_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.events.iter().map(|(e, _, _)| e.as_str()).collect();
        names.dedup();
        names
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct HooksFile {
    settings: String,
    home_var: Option<String>,
    /// `EVENT` or `EVENT:NOTIFICATION_TYPE` → busy, waiting, approval, end,
    /// or conversation (only the id).
    events: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RuleFile {
    description: Option<String>,
    #[serde(rename = "match", default)]
    matcher: MatchFile,
    #[serde(default)]
    prompt: PromptFile,
    #[serde(default)]
    busy: BusyFile,
    #[serde(default)]
    approval: ApprovalFile,
    #[serde(default)]
    input: InputFile,
    #[serde(default)]
    resume: ResumeFile,
    #[serde(default)]
    answers: answers::AnswersFile,
    #[serde(default)]
    notify: notices::NoticesFile,
    hooks: Option<HooksFile>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct MatchFile {
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    args: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PromptFile {
    detect: Option<Detect>,
    raw_mode: Option<bool>,
    bracketed_paste: Option<bool>,
    cursor: Option<Cursor>,
    settle_ms: Option<u64>,
    first_settle_ms: Option<u64>,
    quiet_ms: Option<u64>,
    #[serde(default)]
    patterns: Vec<String>,
    region: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct BusyFile {
    #[serde(default)]
    patterns: Vec<String>,
    region: Option<String>,
    title: Option<String>,
    progress: Option<bool>,
    turn_grace_ms: Option<u64>,
    /// The grace holds its whole length, busy signs seen or not.
    turn_grace_holds: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ApprovalFile {
    #[serde(default)]
    patterns: Vec<String>,
    region: Option<String>,
    settle: Option<bool>,
    /// A prompt line's pattern, and how many below a question mean it was
    /// answered.
    answered_prompt: Option<String>,
    answered_after: Option<usize>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct InputFile {
    paste: Option<Paste>,
    submit_delay_ms: Option<u64>,
    echo_timeout_ms: Option<u64>,
    reaction_timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ResumeFile {
    latest: Option<Vec<String>>,
    by_id: Option<Vec<String>>,
    session_files: Option<String>,
    home_var: Option<String>,
    id_pattern: Option<String>,
    pid_file: Option<String>,
    id_key: Option<String>,
}

/// Where in a rule file a problem is: `LINE:COL: what`.
fn located(text: &str, at: Option<usize>, what: &str) -> String {
    let (line, col) = at.map(|o| crate::config::line_col(text, o)).unwrap_or((1, 1));
    format!("{line}:{col}: {what}")
}

/// Finds `key = ` in the text, for errors about values serde accepted.
fn key_at(text: &str, key: &str) -> Option<usize> {
    text.find(&format!("{key} =")).or_else(|| text.find(key))
}

impl RuleSet {
    /// Parses one rule file. Errors read `LINE:COL: what`.
    pub fn parse(name: &str, text: &str, source: Source) -> Result<RuleSet, String> {
        let file: RuleFile = toml::from_str(text).map_err(|e| located(text, e.span().map(|s| s.start), e.message()))?;
        let region = |spec: &Option<String>, default: Region, key: &str| -> Result<Region, String> {
            match spec {
                None => Ok(default),
                Some(s) => Region::parse(s).ok_or_else(|| {
                    located(
                        text,
                        key_at(text, "region"),
                        &format!("{key} region {s:?} is not one of screen, bottom:N, last-lines:N, above-cursor:N"),
                    )
                }),
            }
        };
        let pattern = |patterns: &[String], region: Region, key: &str| -> Result<Option<Pattern>, String> {
            if patterns.is_empty() {
                return Ok(None);
            }
            let joined = patterns.iter().map(|p| format!("(?:{p})")).collect::<Vec<_>>().join("|");
            Pattern::new(&joined, region).map(Some).map_err(|e| {
                located(text, key_at(text, "patterns"), &format!("a {key} pattern is not a valid regex: {e}"))
            })
        };
        let defaults = Detector::default();
        let mut d = Detector { detect: Detect::Prompt, ..Detector::default() };
        let p = &file.prompt;
        d.detect = p.detect.unwrap_or(Detect::Prompt);
        d.raw_mode = p.raw_mode.unwrap_or(true);
        d.bracketed_paste = p.bracketed_paste.unwrap_or(true);
        d.cursor = p.cursor.unwrap_or(Cursor::Visible);
        d.settle = p.settle_ms.map_or(defaults.settle, Duration::from_millis);
        d.quiet = p.quiet_ms.map_or(defaults.quiet, Duration::from_millis);
        d.first_settle = p.first_settle_ms.map(Duration::from_millis);
        d.prompt = pattern(&p.patterns, region(&p.region, Region::Bottom(8), "prompt")?, "prompt")?;
        let b = &file.busy;
        d.busy = pattern(&b.patterns, region(&b.region, Region::Bottom(8), "busy")?, "busy")?;
        d.busy_title = match &b.title {
            None => None,
            Some(t) => Some(Regex::new(t).map_err(|e| {
                located(text, key_at(text, "title"), &format!("the busy title pattern is not a valid regex: {e}"))
            })?),
        };
        d.progress = b.progress.unwrap_or(true);
        d.turn_grace = b.turn_grace_ms.map_or(defaults.turn_grace, Duration::from_millis);
        d.turn_grace_holds = b.turn_grace_holds.unwrap_or(false);
        let a = &file.approval;
        let approval_region = region(&a.region, Region::AboveCursor(4), "approval")?;
        if let Some(p) = pattern(&a.patterns, approval_region, "approval")? {
            d.approval = p;
        } else {
            d.approval.region = approval_region;
        }
        d.approval_settles = a.settle.unwrap_or(true);
        d.answered_after = match &a.answered_prompt {
            None => None,
            Some(p) => Some((
                Regex::new(p).map_err(|e| {
                    located(
                        text,
                        key_at(text, "answered-prompt"),
                        &format!("answered-prompt is not a valid regex: {e}"),
                    )
                })?,
                a.answered_after.unwrap_or(1),
            )),
        };

        let i = &file.input;
        let base = Input::default();
        let input = Input {
            paste: i.paste.unwrap_or(base.paste),
            submit_delay: i.submit_delay_ms.map_or(base.submit_delay, Duration::from_millis),
            echo_timeout: i.echo_timeout_ms.map_or(base.echo_timeout, Duration::from_millis),
            reaction_timeout: i.reaction_timeout_ms.map_or(base.reaction_timeout, Duration::from_millis),
        };

        let r = &file.resume;
        let id_pattern = match &r.id_pattern {
            None => None,
            Some(p) => Some(Regex::new(p).map_err(|e| {
                located(text, key_at(text, "id-pattern"), &format!("id-pattern is not a valid regex: {e}"))
            })?),
        };
        let home_var = match (&r.home_var, r.session_files.as_ref().or(r.pid_file.as_ref())) {
            (Some(var), Some(files)) => {
                let dir = files.strip_prefix("~/").and_then(|rest| rest.split('/').next()).ok_or_else(|| {
                    located(text, key_at(text, "home-var"), "home-var needs files that start with ~/DIR/")
                })?;
                Some((var.clone(), dir.to_string()))
            }
            (Some(_), None) => {
                return Err(located(text, key_at(text, "home-var"), "home-var needs session-files or pid-file"));
            }
            _ => None,
        };
        let resume = Resume {
            latest: r.latest.clone(),
            by_id: r.by_id.clone(),
            session_files: r.session_files.clone(),
            home_var,
            id_pattern,
            pid_file: r.pid_file.clone(),
            id_key: r.id_key.clone(),
        };
        let hooks = match &file.hooks {
            None => None,
            Some(h) => {
                let mut events = Vec::new();
                for (key, value) in &h.events {
                    let report = match value.as_str() {
                        "busy" => Report::State(crate::detect::State::Busy),
                        "waiting" => Report::State(crate::detect::State::Waiting),
                        "approval" => Report::State(crate::detect::State::Approval),
                        "end" => Report::End,
                        "conversation" => Report::Conversation,
                        other => {
                            let what = format!("hook event {key} reports {other:?}: {HOOK_REPORTS}");
                            return Err(located(text, key_at(text, key), &what));
                        }
                    };
                    let (event, notification) = match key.split_once(':') {
                        Some((e, n)) => (e.to_string(), Some(n.to_string())),
                        None => (key.clone(), None),
                    };
                    events.push((event, notification, report));
                }
                Some(Hooks { settings: h.settings.clone(), home_var: h.home_var.clone(), events })
            }
        };
        let answers = file.answers.build().map_err(|e| located(text, key_at(text, "[answers]"), &e))?;
        let notices = file.notify.build().map_err(|e| located(text, key_at(text, "[notify]"), &e))?;
        Ok(RuleSet {
            name: name.to_string(),
            description: file.description.clone().unwrap_or_else(|| name.to_string()),
            source,
            tuned: false,
            matcher: Matcher { names: file.matcher.names, args: file.matcher.args },
            detector: d,
            input,
            resume,
            answers,
            notices,
            hooks,
            text: text.to_string(),
        })
    }

    /// The rule set for a program qmux has no rules for.
    /// A rule file, named by its file name (`NAME.toml`); an error names
    /// the file, with line and column.
    pub fn load(path: &Path) -> Result<RuleSet, String> {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("{}: a rule file is named NAME.toml", path.display()))?;
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        RuleSet::parse(name, &text, Source::File(path.to_path_buf())).map_err(|e| format!("{}:{e}", path.display()))
    }

    pub fn generic(name: &str) -> RuleSet {
        RuleSet {
            name: name.to_string(),
            description: "any other program".into(),
            source: Source::Generic,
            tuned: false,
            matcher: Matcher::default(),
            detector: Detector::generic(),
            // As Ink and ratatui apps need, which line editors take too:
            // the text as one paste, its Enter a write of its own.
            input: Input { paste: Paste::Always, submit_delay: Duration::from_millis(100), ..Input::default() },
            resume: Resume::default(),
            answers: Answers::default(),
            notices: Notices::default(),
            hooks: None,
            text: String::new(),
        }
    }
}

/// Every rule set in force: the built-in ones, the user's files, and the
/// config's `[programs.NAME]` tuning.
#[derive(Debug, Clone)]
pub struct Rules {
    sets: BTreeMap<String, Arc<RuleSet>>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules::builtin()
    }
}

impl Rules {
    /// Only the rule sets shipped in the binary.
    pub fn builtin() -> Rules {
        let sets = BUILTIN
            .iter()
            .filter_map(|(name, text)| {
                // A test parses every built-in file; one that failed would
                // never have shipped.
                RuleSet::parse(name, text, Source::Builtin).ok().map(|r| (name.to_string(), Arc::new(r)))
            })
            .collect();
        Rules { sets }
    }

    /// The built-in sets with the user's `DIR/*.toml` files in their place.
    /// A broken file is an error naming it, with line and column.
    pub fn load(dir: Option<&Path>) -> Result<Rules, String> {
        let mut rules = Rules::builtin();
        let Some(dir) = dir else { return Ok(rules) };
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(rules),
            Err(e) => return Err(format!("cannot read agent rules in {}: {e}", dir.display())),
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let set = RuleSet::load(&path)?;
            rules.sets.insert(set.name.clone(), Arc::new(set));
        }
        Ok(rules)
    }

    /// Applies a change to the rule set `name` (the generic one if there is
    /// none), for the config's `[programs.NAME]`.
    pub fn tune(&mut self, name: &str, change: impl FnOnce(&mut RuleSet)) {
        let mut set = match self.sets.get(name) {
            Some(s) => (**s).clone(),
            None => {
                let mut s = RuleSet::generic(name);
                s.matcher.names = vec![name.to_string()];
                s
            }
        };
        set.tuned = true;
        change(&mut set);
        self.sets.insert(name.to_string(), Arc::new(set));
    }

    pub fn get(&self, name: &str) -> Option<Arc<RuleSet>> {
        self.sets.get(name).cloned()
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<RuleSet>> {
        self.sets.values()
    }

    /// The rule set for a command line, before its processes can be seen:
    /// by its program's file name, else the generic set.
    pub fn for_command(&self, command: &[String]) -> Arc<RuleSet> {
        let name = crate::config::program_name(command);
        self.sets
            .values()
            .find(|s| s.matcher.matches(command, name))
            .cloned()
            .unwrap_or_else(|| Arc::new(RuleSet::generic(name)))
    }

    /// The agent among these processes (the foreground group, leader
    /// first), if any has a rule set.
    pub fn identify(&self, procs: &[crate::foreground::Process]) -> Option<Arc<RuleSet>> {
        procs.iter().find_map(|p| self.sets.values().find(|s| s.matcher.matches(&p.argv, &p.exe_name)).cloned())
    }
}

#[cfg(test)]
mod tests;
