//! The config file (TOML). Every key is optional; a broken file is an error
//! with its line and column, never a silent default.
//!
//! ```toml
//! prefix = "C-a"
//! default-command = ["q", "chat"]   # or a string, run with /bin/sh -c
//! notify = "osc9"                    # none | bell | osc9
//! history-limit = 10000              # rows of history per session
//! mouse = true                       # the wheel opens the history
//! restore = "ask"                    # ask | auto | never: sessions saved by the last server
//!
//! [programs.mytool]                  # tunes the rule set of that name, or of the
//!                                    # program with that file name
//! detect = "prompt"                  # prompt | quiet | auto
//! settle-ms = 250
//! quiet-ms = 1500
//! approval = 'Proceed\? \[y/N\]'
//! resume = ["--continue"]            # added to the command when it is restored
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::detect::Detect;
use crate::error::{Error, Result};
use crate::rules::{RuleSet, Rules};

#[derive(Debug, Clone)]
pub struct Config {
    /// The prefix key as the byte the terminal sends.
    pub prefix: u8,
    pub default_command: Option<Vec<String>>,
    pub notify: Notify,
    /// Rows of history kept per session.
    pub history_limit: usize,
    /// Ask the terminal for mouse reports when the program does not, so the
    /// wheel opens the history (hold Shift to select text natively).
    pub mouse: bool,
    pub restore: Restore,
    /// Every agent's rule set: built in, the user's `agents/*.toml` beside
    /// the config file, tuned by `[programs.NAME]`.
    pub rules: Rules,
}

/// What a new server does with sessions saved by the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Restore {
    /// Say so once; `qmux restore` brings them back.
    #[default]
    Ask,
    Auto,
    Never,
}

/// How to tell the user's terminal that a background session needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Notify {
    #[default]
    None,
    Bell,
    Osc9,
}

/// C-b, as in tmux.
pub const DEFAULT_PREFIX: u8 = 0x02;

impl Default for Config {
    fn default() -> Self {
        Config {
            prefix: DEFAULT_PREFIX,
            default_command: None,
            notify: Notify::None,
            history_limit: crate::history::DEFAULT_LIMIT,
            mouse: true,
            restore: Restore::Ask,
            rules: Rules::builtin(),
        }
    }
}

impl Config {
    /// The rule set for a command, by its program's file name.
    pub fn rules_for(&self, command: &[String]) -> std::sync::Arc<RuleSet> {
        self.rules.for_command(command)
    }
}

/// Where the user's agent rule files are: `agents/` beside the config file.
pub fn agents_dir(config: &Path) -> Option<std::path::PathBuf> {
    Some(config.parent()?.join("agents"))
}

/// `/usr/local/bin/q chat` → `q`.
pub fn program_name(command: &[String]) -> &str {
    command.first().map(|p| p.rsplit('/').next().unwrap_or(p)).unwrap_or("")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    prefix: Option<String>,
    default_command: Option<CommandSpec>,
    notify: Option<Notify>,
    history_limit: Option<usize>,
    mouse: Option<bool>,
    restore: Option<Restore>,
    #[serde(default)]
    programs: HashMap<String, ProgramFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ProgramFile {
    detect: Option<Detect>,
    settle_ms: Option<u64>,
    quiet_ms: Option<u64>,
    approval: Option<String>,
    resume: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum CommandSpec {
    Shell(String),
    Argv(Vec<String>),
}

impl Config {
    /// Loads the file and the agent rule files in `agents/` beside it; a
    /// missing file is the defaults, `/dev/null` too.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let rules = Rules::load(agents_dir(path).as_deref()).map_err(Error::msg)?;
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::msg(format!("cannot read config {}: {e}", path.display()))),
        };
        Config::parse_with(&text, rules).map_err(|e| Error::msg(format!("{}:{e}", path.display())))
    }

    /// Parses config text over the built-in rule sets; errors read
    /// `LINE:COL: what`.
    pub fn parse(text: &str) -> std::result::Result<Config, String> {
        Config::parse_with(text, Rules::builtin())
    }

    fn parse_with(text: &str, rules: Rules) -> std::result::Result<Config, String> {
        let file: File = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            format!("{line}:{col}: {}", e.message())
        })?;
        let mut config = Config { rules, ..Config::default() };
        if let Some(p) = file.prefix {
            config.prefix = parse_key(&p).ok_or_else(|| {
                let (line, col) = find_key(text, "prefix");
                format!("{line}:{col}: prefix {p:?} is not a key qmux can use; write it like \"C-b\" or \"C-a\"")
            })?;
        }
        config.default_command = match file.default_command {
            None => None,
            Some(CommandSpec::Argv(v)) if v.is_empty() => {
                let (line, col) = find_key(text, "default-command");
                return Err(format!("{line}:{col}: default-command is empty"));
            }
            Some(CommandSpec::Argv(v)) => Some(v),
            Some(CommandSpec::Shell(s)) => Some(vec!["/bin/sh".into(), "-c".into(), s]),
        };
        config.notify = file.notify.unwrap_or_default();
        if let Some(limit) = file.history_limit {
            config.history_limit = limit;
        }
        config.mouse = file.mouse.unwrap_or(true);
        config.restore = file.restore.unwrap_or_default();
        for (name, p) in file.programs {
            let approval = match &p.approval {
                None => None,
                Some(pattern) => Some(regex::Regex::new(pattern).map_err(|e| {
                    let (line, col) = find_key(text, "approval");
                    format!("{line}:{col}: approval pattern for {name:?} is not a valid regex: {e}")
                })?),
            };
            config.rules.tune(&name, |set: &mut RuleSet| {
                if let Some(resume) = p.resume {
                    set.resume.latest = Some(resume);
                    set.resume.by_id = None;
                }
                let d = &mut set.detector;
                if let Some(detect) = p.detect {
                    d.detect = detect;
                }
                if let Some(ms) = p.settle_ms {
                    d.settle = Duration::from_millis(ms);
                }
                if let Some(ms) = p.quiet_ms {
                    d.quiet = Duration::from_millis(ms);
                }
                if let Some(re) = approval {
                    d.approval.regex = re;
                }
            });
        }
        Ok(config)
    }
}

/// `C-b` → 0x02. Only control keys make sense as a prefix: a printable one
/// would steal a letter from every chat.
pub fn parse_key(spec: &str) -> Option<u8> {
    let rest = spec.strip_prefix("C-").or_else(|| spec.strip_prefix("^"))?;
    let mut chars = rest.chars();
    let c = chars.next()?;
    if chars.next().is_some() {
        return None;
    }
    match c.to_ascii_lowercase() {
        c @ 'a'..='z' => Some(c as u8 - b'a' + 1),
        '@' | ' ' => Some(0),
        '[' => Some(0x1b),
        '\\' => Some(0x1c),
        ']' => Some(0x1d),
        '^' => Some(0x1e),
        '_' => Some(0x1f),
        _ => None,
    }
}

/// 0x02 → `C-b`, `z` → `z`, for help and messages, as tmux names keys.
pub fn key_name(byte: u8) -> String {
    match byte {
        1..=26 => format!("C-{}", (b'a' + byte - 1) as char),
        0 => "C-@".into(),
        0x1b..=0x1f => format!("C-{}", (byte + 0x40) as char),
        b' ' => "Space".into(),
        0x21..=0x7e => char::from(byte).to_string(),
        0x7f => "BSpace".into(),
        b => format!("\\x{b:02x}"),
    }
}

pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn find_key(text: &str, key: &str) -> (usize, usize) {
    text.lines()
        .enumerate()
        .find(|(_, l)| l.trim_start().starts_with(key))
        .map(|(i, l)| (i + 1, l.len() - l.trim_start().len() + 1))
        .unwrap_or((1, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_command() {
        let c = Config::parse("prefix = \"C-a\"\ndefault-command = [\"q\", \"chat\"]\n").unwrap();
        assert_eq!(c.prefix, 1);
        assert_eq!(c.default_command.unwrap(), vec!["q", "chat"]);
        let c = Config::parse("default-command = \"exec bash\"").unwrap();
        assert_eq!(c.default_command.unwrap(), vec!["/bin/sh", "-c", "exec bash"]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = Config::parse("prefix = \"C-a\"\nbogus = 1\n").unwrap_err();
        assert!(e.starts_with("2:1:"), "{e}");
        let e = Config::parse("prefix = \"C-a\"\nprefix = \n").unwrap_err();
        assert!(e.starts_with("2:"), "{e}");
        let e = Config::parse("\n  prefix = \"x\"\n").unwrap_err();
        assert!(e.starts_with("2:3:"), "{e}");
    }

    #[test]
    fn program_detection_settings() {
        let c = Config::parse("notify = \"osc9\"\n[programs.make]\ndetect = \"quiet\"\nquiet-ms = 300\n").unwrap();
        assert_eq!(c.notify, Notify::Osc9);
        let d = &c.rules_for(&["/usr/bin/make".into()]).detector;
        assert_eq!(d.detect, Detect::Quiet);
        assert_eq!(d.quiet, Duration::from_millis(300));
        assert_eq!(c.rules_for(&["q".into(), "chat".into()]).detector.detect, Detect::Prompt);
        assert_eq!(c.rules_for(&["bash".into()]).detector.detect, Detect::Auto);
        // Tuning a known agent keeps the rest of its rules.
        let c = Config::parse(
            "[programs.claude]
settle-ms = 50
",
        )
        .unwrap();
        let claude = c.rules_for(&["claude".into()]);
        assert_eq!(claude.detector.settle, Duration::from_millis(50));
        assert!(claude.detector.busy.is_some() && claude.tuned);
        let e = Config::parse("[programs.x]\napproval = \"(\"\n").unwrap_err();
        assert!(e.starts_with("2:1:"), "{e}");
        let e = Config::parse("notify = \"loud\"\n").unwrap_err();
        assert!(e.starts_with("1:"), "{e}");
    }

    #[test]
    fn key_names_round_trip() {
        for k in 1..=26u8 {
            assert_eq!(parse_key(&key_name(k)), Some(k));
        }
        assert_eq!(parse_key("b"), None);
        assert_eq!(parse_key("C-bb"), None);
    }
}
