//! Notifications: which agent needs the user, and why, told through the
//! channels the config names (`notify = ["terminal", "desktop", "command"]`).
//!
//! This room knows what a notice says and how each channel carries it; the
//! server decides when one is due (`server/notices.rs`) and the attention
//! log keeps every one, sent or not (`attention_log.rs`).
//! - [`terminal`]: the escape the user's terminal understands (OSC 9, 777,
//!   99 or a bell), wrapped for tmux;
//! - [`desktop`]: the freedesktop notification service over D-Bus;
//! - [`command`]: any program, the notice as JSON on its stdin;
//! - [`screen`]: the question's text and the reply's last line, read off the
//!   screen.

pub mod command;
pub mod desktop;
pub mod screen;
pub mod terminal;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use terminal::TermKind;

/// What happened that the user may want to hear of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The agent asks a question (a command to approve, a file to edit).
    Approval,
    /// A turn the user started has ended: the agent waits again.
    Finished,
    /// The program ended.
    Exited,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Approval, Kind::Finished, Kind::Exited];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Approval => "approval",
            Kind::Finished => "finished",
            Kind::Exited => "exited",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One notice, as every channel gets it: the command's stdin is this as
/// JSON, its variables the same fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub event: Kind,
    /// `3:codex`: the session's index and name.
    pub session: String,
    pub index: u32,
    pub name: String,
    /// The agent's rule set, when the program is a known agent.
    pub agent: Option<String>,
    /// `3:codex needs approval`.
    pub title: String,
    /// The question, the reply's last line, the exit code; may be empty.
    pub body: String,
    /// Title and body in one line, for channels with one string.
    pub text: String,
    /// The machine the session runs on.
    pub host: String,
}

/// The facts a notice is made of.
pub struct Facts<'a> {
    pub index: u32,
    pub name: &'a str,
    pub agent: Option<&'a str>,
    pub kind: Kind,
    /// The question or the reply's last line, as read off the screen.
    pub detail: Option<&'a str>,
    /// How long the turn took, for a finished one.
    pub took: Option<Duration>,
    /// The exit code's text, for an exited one.
    pub code: Option<&'a str>,
}

impl Notice {
    /// `3:codex needs approval: Would you like to run the following
    /// command? rm -rf build`, `2:claude finished after 2m 14s: "…"`,
    /// `1:gemini exited with code 1`. A session named otherwise than its
    /// agent says both: `4:api (codex) …`.
    pub fn new(f: Facts<'_>) -> Notice {
        let session = format!("{}:{}", f.index, f.name);
        let who = match f.agent {
            Some(agent) if agent != f.name => format!("{session} ({agent})"),
            _ => session.clone(),
        };
        let detail = f.detail.map(clean).filter(|d| !d.is_empty());
        let (title, body) = match f.kind {
            Kind::Approval => (format!("{who} needs approval"), detail.unwrap_or_default()),
            Kind::Finished => {
                let title = match f.took {
                    Some(took) => format!("{who} finished after {}", short_duration(took)),
                    None => format!("{who} finished"),
                };
                (title, detail.map(|d| format!("\"{d}\"")).unwrap_or_default())
            }
            Kind::Exited => (format!("{who} exited with code {}", f.code.unwrap_or("?")), String::new()),
        };
        let text = if body.is_empty() { title.clone() } else { format!("{title}: {body}") };
        Notice {
            event: f.kind,
            session,
            index: f.index,
            name: f.name.to_string(),
            agent: f.agent.map(str::to_string),
            title,
            body,
            text,
            host: host_name(),
        }
    }
}

/// Text fit for a notification: one line, no control characters, spaces
/// collapsed, at most [`MAX_TEXT`] characters.
pub fn clean(text: &str) -> String {
    let words: Vec<&str> =
        text.split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty()).collect();
    let line = words.join(" ");
    match line.char_indices().nth(MAX_TEXT) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// The longest question or reply line a notice carries.
pub const MAX_TEXT: usize = 200;

/// `2m 14s`, `14s`, `1h 3m`, `0s`.
pub fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, s % 3600 / 60),
    }
}

/// This machine's name, for `QMUX_HOST`.
pub fn host_name() -> String {
    nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_default()
}

/// A way to reach the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Terminal,
    Desktop,
    Command,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Terminal, Channel::Desktop, Channel::Command];

    pub fn name(self) -> &'static str {
        match self {
            Channel::Terminal => "terminal",
            Channel::Desktop => "desktop",
            Channel::Command => "command",
        }
    }
}

/// The config's notification keys, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub channels: Vec<Channel>,
    /// The events that notify; the others are only logged.
    pub on: Vec<Kind>,
    /// `notify-terminal`: the escape to use, or `None` to go by what the
    /// terminal says it is.
    pub terminal: Option<TermKind>,
    pub command: Vec<String>,
    pub command_timeout: Duration,
    /// How long a state must hold before it notifies: one that flaps back
    /// sooner says nothing.
    pub settle: Duration,
    /// After a notice for a session, how long its next ones wait.
    pub quiet: Duration,
    /// Notify of the sessions a client shows too.
    pub focused: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            channels: Vec::new(),
            on: Kind::ALL.to_vec(),
            terminal: None,
            command: Vec::new(),
            command_timeout: Duration::from_secs(10),
            settle: Duration::from_millis(1000),
            quiet: Duration::from_secs(5),
            focused: false,
        }
    }
}

/// `notify` in the config file: a list of channels, or one of the old
/// single values (`"none"`, `"bell"`, `"osc9"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ChannelsSpec {
    One(String),
    Many(Vec<String>),
}

/// The config file's notification keys, as written.
#[derive(Debug, Default)]
pub struct SettingsFile {
    pub notify: Option<ChannelsSpec>,
    pub notify_on: Option<Vec<String>>,
    pub notify_terminal: Option<String>,
    pub notify_command: Option<Vec<String>>,
    pub notify_command_timeout_ms: Option<u64>,
    pub notify_settle_ms: Option<u64>,
    pub notify_quiet_ms: Option<u64>,
    pub notify_focused: Option<bool>,
}

impl Settings {
    /// Checks the keys; an error is `(key, what is wrong)`.
    pub fn from_file(file: SettingsFile) -> Result<Settings, (&'static str, String)> {
        let mut s = Settings::default();
        let names = Channel::ALL.map(Channel::name).join("\", \"");
        match file.notify {
            None => {}
            Some(ChannelsSpec::One(old)) => match old.as_str() {
                "none" => {}
                "bell" => (s.channels, s.terminal) = (vec![Channel::Terminal], Some(TermKind::Bell)),
                "osc9" => (s.channels, s.terminal) = (vec![Channel::Terminal], Some(TermKind::Osc9)),
                other => match Channel::ALL.into_iter().find(|c| c.name() == other) {
                    Some(c) => s.channels = vec![c],
                    None => return Err(("notify", format!("{other:?} is not a channel: write a list of \"{names}\""))),
                },
            },
            Some(ChannelsSpec::Many(list)) => {
                for name in list {
                    let c = Channel::ALL
                        .into_iter()
                        .find(|c| c.name() == name)
                        .ok_or_else(|| ("notify", format!("{name:?} is not a channel: use \"{names}\"")))?;
                    if !s.channels.contains(&c) {
                        s.channels.push(c);
                    }
                }
            }
        }
        if let Some(on) = file.notify_on {
            s.on = Vec::new();
            for name in on {
                let k = Kind::from_name(&name).ok_or_else(|| {
                    ("notify-on", format!("{name:?} is not an event: use \"approval\", \"finished\", \"exited\""))
                })?;
                if !s.on.contains(&k) {
                    s.on.push(k);
                }
            }
        }
        if let Some(t) = file.notify_terminal {
            s.terminal = match t.as_str() {
                "auto" => None,
                other => Some(TermKind::from_name(other).ok_or_else(|| {
                    (
                        "notify-terminal",
                        format!("{other:?} is not one: use \"auto\", \"osc9\", \"osc777\", \"osc99\", \"bell\""),
                    )
                })?),
            };
        }
        if let Some(command) = file.notify_command {
            if command.first().is_none_or(|p| p.trim().is_empty()) {
                return Err((
                    "notify-command",
                    "names no program; write it like [\"ntfy\", \"publish\", \"mytopic\"]".into(),
                ));
            }
            s.command = command;
        }
        if s.channels.contains(&Channel::Command) && s.command.is_empty() {
            return Err(("notify", "has \"command\" but notify-command is not set: name the program to run".into()));
        }
        if let Some(ms) = file.notify_command_timeout_ms {
            if ms == 0 {
                return Err(("notify-command-timeout-ms", "is 0: the command would be killed before it starts".into()));
            }
            s.command_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = file.notify_settle_ms {
            s.settle = Duration::from_millis(ms);
        }
        if let Some(ms) = file.notify_quiet_ms {
            s.quiet = Duration::from_millis(ms);
        }
        if let Some(focused) = file.notify_focused {
            s.focused = focused;
        }
        Ok(s)
    }

    /// `notify` as the config file writes it.
    pub fn channels_value(&self) -> String {
        let names: Vec<String> = self.channels.iter().map(|c| format!("{:?}", c.name())).collect();
        format!("[{}]", names.join(", "))
    }

    pub fn on_value(&self) -> String {
        let names: Vec<String> = self.on.iter().map(|k| format!("{:?}", k.name())).collect();
        format!("[{}]", names.join(", "))
    }
}

#[cfg(test)]
mod tests;
