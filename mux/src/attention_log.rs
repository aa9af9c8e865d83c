//! The attention log: every change of a session's state and every notice,
//! with its time, as JSON lines in the state directory (`attention.log`,
//! rotated to `attention.log.1` at [`MAX_BYTES`]). The server appends on a
//! thread of its own; `qmux log` reads it, and `qmux log --summary` sums
//! it up per session: how long each worked, and how long it waited for you.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

pub const FILE: &str = "attention.log";
/// Past this size the log starts again, the old one kept as `.1`: two
/// files of this size hold weeks of an agent's turns.
pub const MAX_BYTES: u64 = 1 << 20;

/// One line of the log: a state change (`state`, `was`), or a notice
/// (`event`, `text`, and what became of it: `sent`, `skipped`, `failed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// RFC 3339, UTC, milliseconds.
    pub at: String,
    /// `3:codex`.
    pub session: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub was: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The channels it went out on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sent: Vec<String>,
    /// Why it was not sent: the session was shown, the quiet period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// A channel that could not deliver it, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

impl Entry {
    pub fn new(session: String, agent: Option<String>) -> Entry {
        Entry {
            at: now(),
            session,
            agent,
            state: None,
            was: None,
            event: None,
            text: None,
            sent: Vec::new(),
            skipped: None,
            failed: None,
        }
    }

    pub fn time(&self) -> Option<SystemTime> {
        humantime::parse_rfc3339(&self.at).ok()
    }
}

/// The time now as the log writes it.
pub fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// The server's end: entries go to a thread that appends them, so the
/// event loop never waits for the disk.
#[derive(Clone)]
pub struct Writer {
    tx: Option<mpsc::Sender<Entry>>,
}

impl Writer {
    /// Appends to `dir/attention.log`; with no state directory, nothing is
    /// kept.
    pub fn open(dir: Option<&Path>) -> Writer {
        let Some(dir) = dir else { return Writer { tx: None } };
        let path = dir.join(FILE);
        let (tx, rx) = mpsc::channel::<Entry>();
        let spawned = std::thread::Builder::new().name("qmux-log".into()).spawn(move || {
            while let Ok(first) = rx.recv() {
                let batch: Vec<Entry> = std::iter::once(first).chain(rx.try_iter()).collect();
                if let Err(e) = append(&path, &batch) {
                    eprintln!("qmux: cannot write {}: {e}", path.display());
                }
            }
        });
        Writer { tx: spawned.ok().map(|_| tx) }
    }

    pub fn write(&self, entry: Entry) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(entry);
        }
    }
}

fn append(path: &Path, entries: &[Entry]) -> std::io::Result<()> {
    if fs::metadata(path).is_ok_and(|m| m.len() >= MAX_BYTES) {
        fs::rename(path, rotated(path))?;
    }
    let mut text = String::new();
    for e in entries {
        text.push_str(&serde_json::to_string(e).map_err(std::io::Error::other)?);
        text.push('\n');
    }
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())
}

fn rotated(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

/// Every entry kept in `dir`, oldest first; lines that are not entries (a
/// line cut short by a crash) are left out.
pub fn read(dir: &Path) -> Vec<Entry> {
    let path = dir.join(FILE);
    [rotated(&path), path]
        .iter()
        .filter_map(|p| fs::read_to_string(p).ok())
        .flat_map(|text| text.lines().filter_map(|l| serde_json::from_str::<Entry>(l).ok()).collect::<Vec<_>>())
        .collect()
}

/// One session's time, from its state changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub session: String,
    pub agent: Option<String>,
    /// Its last state in the log.
    pub state: String,
    /// Time spent busy.
    pub worked_ms: u64,
    /// Time spent waiting at its prompt or asking, while it ran.
    pub waited_ms: u64,
    /// The longest stretch it waited (prompt and questions in a row).
    pub longest_wait_ms: u64,
    /// How many times it asked for approval.
    pub approvals: u32,
    /// Notices sent for it.
    pub notices: u32,
}

/// Sums up each session's state changes from `since` to `until`, in the
/// order sessions first appear. A session whose last state is still
/// running counts up to `until`; exited or closed stops its clock.
pub fn summarize(entries: &[Entry], since: Option<SystemTime>, until: SystemTime) -> Vec<Summary> {
    let mut order: Vec<String> = Vec::new();
    let mut by_session: BTreeMap<String, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        if !by_session.contains_key(&e.session) {
            order.push(e.session.clone());
        }
        by_session.entry(e.session.clone()).or_default().push(e);
    }
    let clip = |t: SystemTime| since.map_or(t, |s| t.max(s));
    let ms = |from: SystemTime, to: SystemTime| to.duration_since(from).unwrap_or(Duration::ZERO).as_millis() as u64;
    order
        .into_iter()
        .map(|name| {
            let list = &by_session[&name];
            let mut sum = Summary { session: name.clone(), ..Summary::default() };
            let changes: Vec<(SystemTime, &str)> =
                list.iter().filter_map(|e| Some((e.time()?, e.state.as_deref()?))).collect();
            let mut wait = 0u64;
            for (i, (at, state)) in changes.iter().enumerate() {
                let end = changes.get(i + 1).map_or(until, |(t, _)| *t);
                let span = ms(clip(*at), clip(end));
                match *state {
                    "busy" => {
                        sum.longest_wait_ms = sum.longest_wait_ms.max(wait);
                        wait = 0;
                        sum.worked_ms += span;
                    }
                    "waiting" | "approval" => {
                        wait += span;
                        sum.waited_ms += span;
                    }
                    _ => {}
                }
                if *state == "approval" && since.is_none_or(|s| *at >= s) {
                    sum.approvals += 1;
                }
            }
            sum.longest_wait_ms = sum.longest_wait_ms.max(wait);
            sum.state = changes.last().map_or("", |(_, s)| s).to_string();
            for e in list {
                sum.agent = e.agent.clone().or(sum.agent.take());
                if !e.sent.is_empty() && since.is_none_or(|s| e.time().is_some_and(|t| t >= s)) {
                    sum.notices += 1;
                }
            }
            sum
        })
        .collect()
}

#[cfg(test)]
mod tests;
