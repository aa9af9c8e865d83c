//! Finding and ending the processes one test left behind.
//!
//! The qmux server daemonizes (`setsid`, re-parented to init), so it is not
//! our child and a test cannot simply wait for it. Every process an [`Env`]
//! starts carries a unique environment variable; the server and its sessions
//! inherit it. After `qmux kill-server` we look for that variable in
//! `/proc/*/environ` (and for descendants of those processes, in case the
//! server builds its children's environment from scratch) and SIGKILL
//! whatever is still there.
//!
//! [`Env`]: crate::Env

use std::collections::BTreeSet;
use std::fs;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The environment variable that marks a test's processes.
pub const TAG_VAR: &str = "QMUX_E2E_ENV";

/// Every live process carrying `TAG_VAR=tag`, plus their descendants.
pub fn tagged(tag: &str) -> BTreeSet<i32> {
    let needle = format!("{TAG_VAR}={tag}");
    let me = std::process::id() as i32;
    let mut parents = Vec::new();
    let mut found = BTreeSet::new();
    let Ok(dir) = fs::read_dir("/proc") else { return found };
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        if let Some(ppid) = parent_of(pid) {
            parents.push((pid, ppid));
        }
        if let Ok(environ) = fs::read(format!("/proc/{pid}/environ")) {
            if environ.split(|&b| b == 0).any(|var| var == needle.as_bytes()) {
                found.insert(pid);
            }
        }
    }
    // Close over parent links: a child of a tagged process is ours too.
    loop {
        let before = found.len();
        for &(pid, ppid) in &parents {
            if pid != me && found.contains(&ppid) {
                found.insert(pid);
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

/// The parent pid from `/proc/PID/stat`, `None` for a zombie or a process
/// that is already gone.
pub(crate) fn parent_of(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold anything, so parse
    // from the last ')': " S PPID ...".
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    if state == "Z" {
        return None;
    }
    fields.next()?.parse().ok()
}

/// Gives the tagged processes `grace` to end on their own, then SIGKILLs
/// whatever is left.
pub fn reap(tag: &str, grace: Duration) {
    let deadline = Instant::now() + grace;
    loop {
        let left = tagged(tag);
        if left.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            for pid in left {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
