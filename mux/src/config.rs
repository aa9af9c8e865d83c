//! The config file (TOML). Every key is optional; a broken file is an error
//! with its line and column, never a silent default.
//!
//! ```toml
//! prefix = "C-a"
//! default-command = ["q", "chat"]   # or a string, run with /bin/sh -c
//! notify = ["terminal", "desktop"]   # terminal | desktop | command
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
    /// The prefix key as the bytes the terminal sends for it.
    pub prefix: Vec<u8>,
    pub default_command: Option<Vec<String>>,
    /// Which channels tell the user a session needs them, and when.
    pub notify: crate::notify::Settings,
    /// Rows of history kept per session.
    pub history_limit: usize,
    /// The most bytes one session's history may hold.
    pub history_bytes: usize,
    /// Ask the terminal for mouse reports when the program does not, so the
    /// wheel opens the history (hold Shift to select text natively).
    pub mouse: bool,
    pub restore: Restore,
    /// The terminal size (cols, rows) a session nobody has shown yet is
    /// laid out for; it gets a row less, for the status bar.
    pub default_size: (u16, u16),
    /// Pass programs' clipboard writes (OSC 52) to the terminals showing
    /// them.
    pub set_clipboard: bool,
    /// Set the terminal's title to the shown program's (OSC 0/2).
    pub set_titles: bool,
    /// Machines whose sessions `qmux ls --all` lists beside these.
    pub hosts: Vec<String>,
    /// How to run ssh for `--host`: the program and any options of yours.
    pub ssh_command: Vec<String>,
    /// The qmux to run on a remote machine, as its shell reads it.
    pub remote_command: String,
    /// Where `qmux new -w` puts worktrees: relative to the repository's
    /// top directory, `{repo}` standing for its name.
    pub worktree_dir: String,
    /// What a worktree's branch name starts with.
    pub worktree_branch_prefix: String,
    /// A shell command run in a new worktree session before its program
    /// (a repository's `.qmux.toml` `[worktree] setup` comes first).
    pub worktree_setup: Option<String>,
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

/// C-b, as in tmux.
pub const DEFAULT_PREFIX: &[u8] = b"\x02";

/// One config key, for `qmux config`, the manual and the example file.
pub struct KeyDoc {
    pub key: &'static str,
    pub default: &'static str,
    pub help: &'static str,
}

/// Every top-level config key.
pub const KEYS: &[KeyDoc] = &[
    KeyDoc {
        key: "prefix",
        default: "\"C-b\"",
        help: "the prefix key, written as tmux writes keys: \"C-a\", \"C-Space\", \"M-a\"",
    },
    KeyDoc {
        key: "default-command",
        default: "[\"q\", \"chat\"] if q is installed, else the stand-in qmux-chat",
        help: "what a new session runs: an array, or a string run with /bin/sh -c",
    },
    KeyDoc {
        key: "notify",
        default: "[]",
        help: "where a session that asks, finishes or exits is announced: any of \"terminal\" (your terminal's own notification escape), \"desktop\" (D-Bus), \"command\" (notify-command)",
    },
    KeyDoc {
        key: "notify-on",
        default: "[\"approval\", \"finished\", \"exited\"]",
        help: "the events that notify (all of them go into qmux log)",
    },
    KeyDoc {
        key: "notify-terminal",
        default: "\"auto\"",
        help: "the terminal channel's escape: \"auto\" (by TERM_PROGRAM, TERM), \"osc9\", \"osc777\", \"osc99\" (kitty), \"bell\"",
    },
    KeyDoc {
        key: "notify-command",
        default: "none",
        help: "the command channel's program, e.g. [\"ntfy\", \"publish\", \"mytopic\"]: the notice as JSON on stdin and in QMUX_* variables",
    },
    KeyDoc { key: "notify-command-timeout-ms", default: "10000", help: "how long notify-command may run before it is killed" },
    KeyDoc {
        key: "notify-settle-ms",
        default: "1000",
        help: "how long a state must hold before it notifies: one that flaps back sooner says nothing",
    },
    KeyDoc { key: "notify-quiet-ms", default: "5000", help: "after a session's notice, how long its next ones are held back" },
    KeyDoc { key: "notify-focused", default: "false", help: "notify of sessions a client is showing too" },
    KeyDoc { key: "history-limit", default: "10000", help: "rows of history kept per session" },
    KeyDoc {
        key: "history-bytes",
        default: "\"8M\"",
        help: "the most memory one session's history may take (\"512K\", \"8M\", \"1G\"): the oldest rows go first",
    },
    KeyDoc {
        key: "mouse",
        default: "true",
        help: "ask the terminal for mouse reports when the program does not: the wheel opens the history",
    },
    KeyDoc {
        key: "default-size",
        default: "\"80x24\"",
        help: "the terminal a session nobody has shown yet is laid out for (it gets a row less, for the status bar)",
    },
    KeyDoc {
        key: "set-clipboard",
        default: "true",
        help: "pass a program's clipboard writes (OSC 52) to the terminals showing it",
    },
    KeyDoc { key: "set-titles", default: "true", help: "set the terminal's title to the shown program's title" },
    KeyDoc {
        key: "restore",
        default: "\"ask\"",
        help: "sessions saved by the last server: \"ask\" (say so; qmux restore), \"auto\", \"never\"",
    },
    KeyDoc {
        key: "hosts",
        default: "[]",
        help: "machines (anything ssh accepts) whose sessions qmux ls --all lists beside these",
    },
    KeyDoc {
        key: "ssh-command",
        default: "[\"ssh\"]",
        help: "how --host runs ssh: the program and options, e.g. [\"ssh\", \"-F\", \"/path/ssh_config\"]",
    },
    KeyDoc {
        key: "remote-command",
        default: "\"qmux\"",
        help: "the qmux to run on a remote machine, as its login shell reads it, e.g. \"~/.cargo/bin/qmux\"",
    },
    KeyDoc {
        key: "worktree-dir",
        default: "\"../{repo}.worktrees\"",
        help: "where qmux new -w puts worktrees: relative to the repository's top directory ({repo} is its name), or absolute",
    },
    KeyDoc {
        key: "worktree-branch-prefix",
        default: "\"qmux/\"",
        help: "what the branch of qmux new -w NAME is called before NAME",
    },
    KeyDoc {
        key: "worktree-setup",
        default: "\"\"",
        help: "a shell command run in a new worktree session before its program, e.g. \"npm ci\" (a repository's .qmux.toml [worktree] setup wins; \"\": none)",
    },
];

/// The keys of a `[programs.NAME]` table, which tunes an agent's rule set
/// (or the generic one of a program with that file name).
pub const PROGRAM_KEYS: &[KeyDoc] = &[
    KeyDoc {
        key: "detect",
        default: "the rule set's",
        help: "\"prompt\" (line-editor signals), \"quiet\" (silence), \"auto\"",
    },
    KeyDoc { key: "settle-ms", default: "the rule set's", help: "how long the prompt must be quiet before it counts" },
    KeyDoc {
        key: "quiet-ms",
        default: "the rule set's",
        help: "how long silence means waiting, for detect = \"quiet\"",
    },
    KeyDoc { key: "approval", default: "the rule set's", help: "a regex for the program's approval question" },
    KeyDoc {
        key: "resume",
        default: "the rule set's",
        help: "arguments added to the command when a session is restored",
    },
];

impl Default for Config {
    fn default() -> Self {
        Config {
            prefix: DEFAULT_PREFIX.to_vec(),
            default_command: None,
            notify: crate::notify::Settings::default(),
            history_limit: crate::history::DEFAULT_LIMIT,
            history_bytes: crate::history::DEFAULT_BYTE_LIMIT,
            mouse: true,
            restore: Restore::Ask,
            default_size: (80, 24),
            set_clipboard: true,
            set_titles: true,
            hosts: Vec::new(),
            ssh_command: vec!["ssh".into()],
            remote_command: "qmux".into(),
            worktree_dir: crate::worktree::DEFAULT_DIR.into(),
            worktree_branch_prefix: crate::worktree::DEFAULT_PREFIX.into(),
            worktree_setup: None,
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

/// Where the user's agent rule files are: `agents/` beside the config file;
/// none for `-f /dev/null`, which means no config at all.
pub fn agents_dir(config: &Path) -> Option<std::path::PathBuf> {
    if config == Path::new("/dev/null") {
        return None;
    }
    Some(config.parent()?.join("agents"))
}

/// `8M` → 8 MiB; `512K`, `1G`, or plain bytes. At least 64K: less would
/// keep nothing but the chunk being written.
fn parse_bytes(text: &str) -> Option<usize> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_uppercase()),
        _ => (text, 'B'),
    };
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => return None,
    };
    let bytes = number.trim().parse::<usize>().ok()?.checked_mul(1 << shift)?;
    (bytes >= 64 << 10).then_some(bytes)
}

/// A byte count as [`parse_bytes`] reads it: `8M`.
fn bytes_name(bytes: usize) -> String {
    match bytes {
        b if b % (1 << 30) == 0 => format!("{}G", b >> 30),
        b if b % (1 << 20) == 0 => format!("{}M", b >> 20),
        b if b % (1 << 10) == 0 => format!("{}K", b >> 10),
        b => b.to_string(),
    }
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
    notify: Option<crate::notify::ChannelsSpec>,
    notify_on: Option<Vec<String>>,
    notify_terminal: Option<String>,
    notify_command: Option<Vec<String>>,
    notify_command_timeout_ms: Option<u64>,
    notify_settle_ms: Option<u64>,
    notify_quiet_ms: Option<u64>,
    notify_focused: Option<bool>,
    history_limit: Option<usize>,
    history_bytes: Option<String>,
    mouse: Option<bool>,
    restore: Option<Restore>,
    default_size: Option<String>,
    set_clipboard: Option<bool>,
    set_titles: Option<bool>,
    hosts: Option<Vec<String>>,
    ssh_command: Option<Vec<String>>,
    remote_command: Option<String>,
    worktree_dir: Option<String>,
    worktree_branch_prefix: Option<String>,
    worktree_setup: Option<String>,
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

impl Restore {
    pub fn name(self) -> &'static str {
        match self {
            Restore::Ask => "ask",
            Restore::Auto => "auto",
            Restore::Never => "never",
        }
    }
}

impl Config {
    /// The config as a TOML file: every key with its value, its default and
    /// what it does. `qmux config` prints it; the example file is it for
    /// the defaults.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (k, value) in KEYS.iter().zip(self.values()) {
            out.push_str(&format!("# {} [default: {}]\n", k.help, k.default));
            match value {
                Some(v) => out.push_str(&format!("{} = {v}\n\n", k.key)),
                None => {
                    let example = if k.key == "notify-command" {
                        "[\"ntfy\", \"publish\", \"mytopic\"]"
                    } else {
                        "[\"q\", \"chat\"]"
                    };
                    out.push_str(&format!("# {} = {example}\n\n", k.key));
                }
            }
        }
        out.push_str("# [programs.NAME] tunes the rule set NAME (see qmux agents, qmux agents show NAME):\n");
        out.push_str("# [programs.aider]\n");
        for k in PROGRAM_KEYS {
            out.push_str(&format!("# {} = ...   {}\n", k.key, k.help));
        }
        out
    }

    /// How many keys and rule sets (a rule file, or a `[programs.NAME]`
    /// table's tuning) differ from `before`'s: what `qmux reload` reports.
    pub fn changes_from(&self, before: &Config) -> usize {
        let keys = self.values().into_iter().zip(before.values()).filter(|(a, b)| a != b).count();
        // A rule set's every field, its source text and tuning included.
        let sets = |c: &Config| -> std::collections::BTreeMap<String, String> {
            c.rules.all().map(|r| (r.name.clone(), format!("{r:?}"))).collect()
        };
        let (now, then) = (sets(self), sets(before));
        let names: std::collections::BTreeSet<&String> = now.keys().chain(then.keys()).collect();
        keys + names.into_iter().filter(|n| now.get(*n) != then.get(*n)).count()
    }

    /// Each of [`KEYS`]' values as the config file writes it, in order
    /// (`None`: not set, for a key whose default is worked out at run time).
    fn values(&self) -> Vec<Option<String>> {
        let quoted = |s: &str| format!("{s:?}");
        let array = |v: &[String]| format!("[{}]", v.iter().map(|a| quoted(a)).collect::<Vec<_>>().join(", "));
        KEYS.iter()
            .map(|k| match k.key {
                "prefix" => Some(quoted(&key_name(&self.prefix))),
                "default-command" => self.default_command.as_deref().map(array),
                "notify" => Some(self.notify.channels_value()),
                "notify-on" => Some(self.notify.on_value()),
                "notify-terminal" => Some(quoted(self.notify.terminal.map_or("auto", |t| t.name()))),
                "notify-command" => Some(array(&self.notify.command)).filter(|_| !self.notify.command.is_empty()),
                "notify-command-timeout-ms" => Some(self.notify.command_timeout.as_millis().to_string()),
                "notify-settle-ms" => Some(self.notify.settle.as_millis().to_string()),
                "notify-quiet-ms" => Some(self.notify.quiet.as_millis().to_string()),
                "notify-focused" => Some(self.notify.focused.to_string()),
                "history-limit" => Some(self.history_limit.to_string()),
                "history-bytes" => Some(quoted(&bytes_name(self.history_bytes))),
                "mouse" => Some(self.mouse.to_string()),
                "restore" => Some(quoted(self.restore.name())),
                "default-size" => Some(quoted(&format!("{}x{}", self.default_size.0, self.default_size.1))),
                "set-clipboard" => Some(self.set_clipboard.to_string()),
                "set-titles" => Some(self.set_titles.to_string()),
                "hosts" => Some(array(&self.hosts)),
                "ssh-command" => Some(array(&self.ssh_command)),
                "remote-command" => Some(quoted(&self.remote_command)),
                "worktree-dir" => Some(quoted(&self.worktree_dir)),
                "worktree-branch-prefix" => Some(quoted(&self.worktree_branch_prefix)),
                "worktree-setup" => Some(quoted(self.worktree_setup.as_deref().unwrap_or(""))),
                _ => None,
            })
            .collect()
    }

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
                format!("{line}:{col}: prefix {p:?} is not a key qmux can use; write it like \"C-b\", \"C-Space\" or \"M-a\"")
            })?;
        }
        // A value that cannot work is refused here, not found out by the
        // first session that exits at once or the first ssh that fails.
        let refuse = |key: &str, why: &str| {
            let (line, col) = find_key(text, key);
            format!("{line}:{col}: {key} {why}")
        };
        config.default_command = match file.default_command {
            None => None,
            Some(CommandSpec::Argv(v)) if v.first().is_none_or(|p| p.trim().is_empty()) => {
                return Err(refuse(
                    "default-command",
                    "names no program; write it like [\"q\", \"chat\"] or \"exec bash\"",
                ));
            }
            Some(CommandSpec::Shell(s)) if s.trim().is_empty() => {
                return Err(refuse("default-command", "is empty; write it like [\"q\", \"chat\"] or \"exec bash\""));
            }
            Some(CommandSpec::Argv(v)) => Some(v),
            Some(CommandSpec::Shell(s)) => Some(vec!["/bin/sh".into(), "-c".into(), s]),
        };
        config.notify = crate::notify::Settings::from_file(crate::notify::SettingsFile {
            notify: file.notify,
            notify_on: file.notify_on,
            notify_terminal: file.notify_terminal,
            notify_command: file.notify_command,
            notify_command_timeout_ms: file.notify_command_timeout_ms,
            notify_settle_ms: file.notify_settle_ms,
            notify_quiet_ms: file.notify_quiet_ms,
            notify_focused: file.notify_focused,
        })
        .map_err(|(key, why)| refuse(key, &why))?;
        if let Some(limit) = file.history_limit {
            config.history_limit = limit;
        }
        if let Some(bytes) = file.history_bytes {
            config.history_bytes = parse_bytes(&bytes).ok_or_else(|| {
                let (line, col) = find_key(text, "history-bytes");
                format!("{line}:{col}: history-bytes {bytes:?} is not a size; write it like \"8M\", \"512K\" or \"1G\"")
            })?;
        }
        config.mouse = file.mouse.unwrap_or(true);
        config.restore = file.restore.unwrap_or_default();
        config.set_clipboard = file.set_clipboard.unwrap_or(true);
        config.set_titles = file.set_titles.unwrap_or(true);
        config.hosts = file.hosts.unwrap_or_default();
        if config.hosts.iter().any(|h| h.trim().is_empty()) {
            return Err(refuse("hosts", "names an empty host; write it like [\"devbox\", \"me@10.0.0.2\"]"));
        }
        if let Some(ssh) = file.ssh_command {
            if ssh.first().is_none_or(|p| p.trim().is_empty()) {
                return Err(refuse("ssh-command", "names no program; write it like [\"ssh\"]"));
            }
            config.ssh_command = ssh;
        }
        if let Some(remote) = file.remote_command {
            if remote.trim().is_empty() {
                return Err(refuse("remote-command", "is empty; write it like \"qmux\" or \"~/.cargo/bin/qmux\""));
            }
            config.remote_command = remote;
        }
        if let Some(dir) = file.worktree_dir {
            if dir.trim().is_empty() {
                return Err(refuse("worktree-dir", "is empty; write it like \"../{repo}.worktrees\""));
            }
            config.worktree_dir = dir;
        }
        config.worktree_branch_prefix = file.worktree_branch_prefix.unwrap_or(config.worktree_branch_prefix);
        config.worktree_setup = file.worktree_setup.filter(|s| !s.trim().is_empty());
        if let Some(size) = file.default_size {
            config.default_size = parse_size(&size).ok_or_else(|| {
                let (line, col) = find_key(text, "default-size");
                format!("{line}:{col}: default-size {size:?} is not a size; write it like \"200x50\"")
            })?;
        }
        for (name, p) in file.programs {
            if p.quiet_ms == Some(0) {
                return Err(refuse("quiet-ms", &format!("for {name:?} is 0: every pause would read as waiting")));
            }
            let approval = match &p.approval {
                None => None,
                Some(pattern) if pattern.is_empty() => {
                    return Err(refuse(
                        "approval",
                        &format!("pattern for {name:?} is empty: it would match every screen"),
                    ));
                }
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

/// `200x50` → (200, 50), each side 1 to 1000.
pub fn parse_size(text: &str) -> Option<(u16, u16)> {
    let (cols, rows) = text.trim().split_once('x')?;
    let side = |n: &str| n.trim().parse::<u16>().ok().filter(|n| (1..=1000).contains(n));
    Some((side(cols)?, side(rows)?))
}

/// A prefix key as the bytes a terminal sends for it, written as tmux
/// writes keys: `C-b` (0x02), `C-Space` (NUL), `M-a` (ESC a). Only control
/// and Meta keys make sense as a prefix: a printable one would steal a
/// letter from every chat.
pub fn parse_key(spec: &str) -> Option<Vec<u8>> {
    if let Some(rest) = spec.strip_prefix("M-") {
        let mut key = vec![0x1b];
        key.extend(match rest {
            "Space" => vec![b' '],
            _ if rest.starts_with("C-") => parse_key(rest)?,
            _ if rest.chars().count() == 1 && rest.is_ascii() => rest.as_bytes().to_vec(),
            _ => return None,
        });
        return Some(key);
    }
    let rest = spec.strip_prefix("C-").or_else(|| spec.strip_prefix("^"))?;
    if rest == "Space" {
        return Some(vec![0]);
    }
    let mut chars = rest.chars();
    let c = chars.next()?;
    if chars.next().is_some() {
        return None;
    }
    let byte = match c.to_ascii_lowercase() {
        c @ 'a'..='z' => c as u8 - b'a' + 1,
        '@' | ' ' => 0,
        '[' => 0x1b,
        '\\' => 0x1c,
        ']' => 0x1d,
        '^' => 0x1e,
        '_' => 0x1f,
        _ => return None,
    };
    Some(vec![byte])
}

/// The name of a key from the bytes a terminal sends, as tmux names keys:
/// `C-b`, `M-a`, `C-Space`, `z`, `Up`, `PageUp`, `é`.
pub fn key_name(bytes: &[u8]) -> String {
    use crate::keys::Key;
    match bytes {
        [0] => "C-Space".into(),
        [b @ 1..=26] => format!("C-{}", (b'a' + b - 1) as char),
        [b @ 0x1b..=0x1f] => format!("C-{}", (b + 0x40) as char),
        [b' '] => "Space".into(),
        [b @ 0x21..=0x7e] => char::from(*b).to_string(),
        [0x7f] => "BSpace".into(),
        [0x1b, rest @ ..] if rest.len() == 1 && rest[0] != b'[' && rest[0] != b'O' => format!("M-{}", key_name(rest)),
        _ => match crate::keys::decode(bytes).as_slice() {
            [Key::Char(c)] => c.to_string(),
            [key @ (Key::Up | Key::Down | Key::Left | Key::Right | Key::Home | Key::End)] => format!("{key:?}"),
            [Key::PageUp] => "PageUp".into(),
            [Key::PageDown] => "PageDown".into(),
            _ => bytes.iter().map(|b| format!("\\x{b:02x}")).collect(),
        },
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
mod tests;
