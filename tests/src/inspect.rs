//! What a test can learn about qmux's processes from `/proc`: which one is
//! the server, and what it holds (memory, open files, threads, children).
//! Reliability tests use it to show that a fault cost nothing: no leaked
//! descriptor, thread or process, and memory within a stated bound.

use std::fs;

use crate::procs::{self, parent_of};
use crate::Env;

/// One process's resource use, read from `/proc/PID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStats {
    pub pid: i32,
    /// Resident memory in kB (`VmRSS`).
    pub rss_kb: u64,
    /// Open file descriptors (`/proc/PID/fd`).
    pub fds: usize,
    /// Threads (`/proc/PID/task`), but for the server's blocking pool
    /// (`qmux-pool`): the runtime starts those for a flood's parse or a
    /// child's wait and retires them after 10 s idle, on its own clock.
    pub threads: usize,
    /// Live children (zombies not counted), sorted.
    pub children: Vec<i32>,
}

impl ProcStats {
    /// The stats of a live process; `None` if it is gone.
    pub fn of(pid: i32) -> Option<ProcStats> {
        let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let rss_kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())?;
        let count = |dir: &str| fs::read_dir(format!("/proc/{pid}/{dir}")).map(|d| d.count()).ok();
        let pool =
            |tid: &fs::DirEntry| fs::read_to_string(tid.path().join("comm")).is_ok_and(|c| c.trim_end() == "qmux-pool");
        let threads = fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten().filter(|t| !pool(t)).count();
        Some(ProcStats { pid, rss_kb, fds: count("fd")?, threads, children: children_of(pid) })
    }

    /// Resident memory in MB, for messages and bounds.
    pub fn rss_mb(&self) -> f64 {
        self.rss_kb as f64 / 1024.0
    }
}

/// The live children of `pid` (zombies excluded), sorted.
pub fn children_of(pid: i32) -> Vec<i32> {
    let Ok(dir) = fs::read_dir("/proc") else { return Vec::new() };
    let mut found: Vec<i32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&p| parent_of(p) == Some(pid))
        .collect();
    found.sort_unstable();
    found
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| Some(stat[stat.rfind(')')? + 1..].split_whitespace().next()? != "Z"))
        .unwrap_or(false)
}

/// A process's command line, arguments split.
pub fn cmdline(pid: i32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

impl Env {
    /// Every live process this `Env`'s commands started, and all they
    /// started, wherever they moved (daemons included): the server too.
    pub fn started_pids(&self) -> Vec<i32> {
        procs::tagged(&self.root().to_string_lossy()).into_iter().filter(|&pid| alive(pid)).collect()
    }

    /// Every live qmux server this `Env` started: its processes whose
    /// command line is `qmux … server`.
    pub fn server_pids(&self) -> Vec<i32> {
        procs::tagged(&self.root().to_string_lossy())
            .into_iter()
            .filter(|&pid| alive(pid))
            .filter(|&pid| {
                let argv = cmdline(pid);
                let is_qmux = argv.first().is_some_and(|a| a.rsplit('/').next() == Some("qmux"));
                is_qmux && argv.last().is_some_and(|a| a == "server")
            })
            .collect()
    }

    /// The one server; fails the test unless exactly one runs. A server
    /// that is starting is two processes for a moment (it detaches from
    /// its parent), so this waits for one.
    pub fn server_pid(&self) -> i32 {
        crate::poll_until(
            crate::DEFAULT_TIMEOUT,
            "exactly one qmux server for this test",
            || match self.server_pids().as_slice() {
                [one] => Some(*one),
                _ => None,
            },
            || format!("found {:?}", self.server_pids()),
        )
    }

    /// The server's resource use now.
    pub fn server_stats(&self) -> ProcStats {
        let pid = self.server_pid();
        ProcStats::of(pid).unwrap_or_else(|| panic!("the qmux server (pid {pid}) is gone"))
    }
}
