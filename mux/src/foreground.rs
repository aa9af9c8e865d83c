//! The processes behind a session, read from `/proc`: which program is in
//! the foreground of its PTY (the agent, whatever started it: `sh -c
//! claude`, a shell where `codex` was typed, a wrapper script), and every
//! process of the session, so a kill leaves no orphan.

use std::path::Path;

/// One process, as `/proc` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: i32,
    pub argv: Vec<String>,
    /// The executable's file name (`node` for a script node runs).
    pub exe_name: String,
}

/// The fields of `/proc/PID/stat` qmux needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    zombie: bool,
    ppid: i32,
    pgrp: i32,
    session: i32,
}

/// Parses `/proc/PID/stat`. The command name (field 2) is in parentheses
/// and may hold spaces and parentheses itself, so fields are counted from
/// its last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let zombie = fields.next()? == "Z";
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    let session = fields.next()?.parse().ok()?;
    Some(Stat { zombie, ppid, pgrp, session })
}

fn stat(proc_dir: &Path, pid: i32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(proc_dir.join(pid.to_string()).join("stat")).ok()?)
}

fn process(proc_dir: &Path, pid: i32) -> Option<Process> {
    let dir = proc_dir.join(pid.to_string());
    let raw = std::fs::read(dir.join("cmdline")).ok()?;
    let argv: Vec<String> =
        raw.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    let exe_name = std::fs::read_link(dir.join("exe"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .or_else(|| std::fs::read_to_string(dir.join("comm")).ok().map(|c| c.trim().to_string()))
        .unwrap_or_default();
    Some(Process { pid, argv, exe_name })
}

/// Every pid under `proc_dir` with its stat.
fn all(proc_dir: &Path) -> Vec<(i32, Stat)> {
    let Ok(entries) = std::fs::read_dir(proc_dir) else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, stat(proc_dir, pid)?)))
        .collect()
}

/// The processes of process group `pgrp`, its leader first, then by pid.
pub fn group(pgrp: i32) -> Vec<Process> {
    group_in(Path::new("/proc"), pgrp)
}

fn group_in(proc_dir: &Path, pgrp: i32) -> Vec<Process> {
    let mut pids: Vec<i32> = all(proc_dir).into_iter().filter(|(_, s)| s.pgrp == pgrp).map(|(p, _)| p).collect();
    pids.sort_by_key(|p| (*p != pgrp, *p));
    pids.into_iter().filter_map(|p| process(proc_dir, p)).collect()
}

/// A cheap fingerprint of the foreground: the group, and the command names
/// of its leader and the leader's children, which an `exec` or a fork
/// changes (`sh -c 'claude; …'` forks the agent into the shell's group).
pub fn fingerprint(pgrp: i32) -> String {
    let comm = |pid: &str| std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let leader = pgrp.to_string();
    let mut out = format!("{pgrp}:{}", comm(&leader).trim());
    let children = std::fs::read_to_string(format!("/proc/{pgrp}/task/{pgrp}/children")).unwrap_or_default();
    for child in children.split_whitespace() {
        out.push(',');
        out.push_str(comm(child).trim());
    }
    out
}

/// Every live process of the terminal session led by `leader` (the
/// session's child, which qmux starts with `setsid`), and their
/// descendants, those that left it with a `setsid` of their own included,
/// except `spared` and theirs. Zombies are dead already and not counted.
pub fn session_members(leader: i32, spared: &[i32]) -> Vec<i32> {
    let procs = live(Path::new("/proc"));
    let terminal: Vec<i32> = procs.iter().filter(|(_, s)| s.session == leader).map(|(p, _)| *p).collect();
    with_descendants(&procs, terminal, spared)
}

/// The descendants of the terminal session led by `leader` that left it
/// with a `setsid` of their own: daemons, which may serve other sessions
/// (Codex's shared app-server).
pub fn detached(leader: i32) -> Vec<Process> {
    let procs = live(Path::new("/proc"));
    let terminal: Vec<i32> = procs.iter().filter(|(_, s)| s.session == leader).map(|(p, _)| *p).collect();
    let session_of = |pid: i32| procs.iter().find(|(p, _)| *p == pid).map(|(_, s)| s.session);
    with_descendants(&procs, terminal, &[])
        .into_iter()
        .filter(|p| session_of(*p) != Some(leader))
        .filter_map(|p| process(Path::new("/proc"), p))
        .collect()
}

/// `roots` that still live, and every live descendant of theirs.
pub fn tree(roots: &[i32]) -> Vec<i32> {
    let procs = live(Path::new("/proc"));
    let roots = roots.iter().copied().filter(|r| procs.iter().any(|(p, _)| p == r)).collect();
    with_descendants(&procs, roots, &[])
}

/// Every live process whose environment holds `NAME=VALUE` with a value
/// that starts with `prefix`: what qmux started and all they started,
/// wherever they moved (`$QMUX` names the server's socket).
pub fn carrying(name: &str, prefix: &str) -> Vec<Process> {
    let needle = format!("{name}={prefix}");
    let proc_dir = Path::new("/proc");
    live(proc_dir)
        .into_iter()
        .filter(|(pid, _)| {
            let environ = std::fs::read(proc_dir.join(pid.to_string()).join("environ")).unwrap_or_default();
            environ.split(|b| *b == 0).any(|var| var.starts_with(needle.as_bytes()))
        })
        .filter_map(|(pid, _)| process(proc_dir, pid))
        .collect()
}

fn live(proc_dir: &Path) -> Vec<(i32, Stat)> {
    all(proc_dir).into_iter().filter(|(_, s)| !s.zombie).collect()
}

/// `members` and their descendants among `procs`, not going into `spared`.
fn with_descendants(procs: &[(i32, Stat)], mut members: Vec<i32>, spared: &[i32]) -> Vec<i32> {
    members.retain(|p| !spared.contains(p));
    let mut i = 0;
    while i < members.len() {
        let parent = members[i];
        for (pid, s) in procs {
            if s.ppid == parent && !members.contains(pid) && !spared.contains(pid) {
                members.push(*pid);
            }
        }
        i += 1;
    }
    members
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        let s = parse_stat("42 (a b) c)) S 1 42 42 34816 42 4194560 0").unwrap();
        assert_eq!(s, Stat { zombie: false, ppid: 1, pgrp: 42, session: 42 });
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn finds_the_group_of_a_shell_pipeline() {
        // A real process group: sh running a pipeline, in a new session.
        let mut child = std::process::Command::new("setsid")
            .args(["sh", "-c", "sleep 30 | sleep 31"])
            .spawn()
            .expect("setsid and sh are on every Linux");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let leader = loop {
            let found: Vec<Process> = all(Path::new("/proc"))
                .into_iter()
                .filter(|(_, s)| s.ppid == child.id() as i32 || s.session == child.id() as i32)
                .filter_map(|(p, _)| process(Path::new("/proc"), p))
                .collect();
            if found.iter().filter(|p| p.argv.first().is_some_and(|a| a == "sleep")).count() == 2 {
                break child.id() as i32;
            }
            assert!(std::time::Instant::now() < deadline, "the pipeline never started");
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        let group = group(leader);
        assert_eq!(group[0].pid, leader, "leader first: {group:?}");
        assert!(group.iter().any(|p| p.argv == ["sleep", "31"]), "{group:?}");
        let members = session_members(leader, &[]);
        assert_eq!(members.len(), 3, "{members:?}");
        assert!(detached(leader).is_empty(), "the pipeline stays in its terminal session");
        assert_eq!(fingerprint(leader), format!("{leader}:sh,sleep,sleep"));
        for pid in members {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        let _ = child.wait();
    }

    #[test]
    fn a_daemon_that_left_the_terminal_session_is_detached_and_can_be_spared() {
        let tag = format!("{}-{:?}", std::process::id(), std::thread::current().id());
        let mut child = std::process::Command::new("setsid")
            .args(["sh", "-c", "setsid sleep 33 & exec sleep 34"])
            .env("QMUX_FOREGROUND_TEST", &tag)
            .spawn()
            .expect("setsid and sh are on every Linux");
        let leader = child.id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let daemon = loop {
            let found = detached(leader);
            if let [one] = found.as_slice() {
                if one.argv == ["sleep", "33"]
                    && process(Path::new("/proc"), leader).is_some_and(|p| p.argv[0] == "sleep")
                {
                    break one.pid;
                }
            }
            assert!(std::time::Instant::now() < deadline, "the daemon never left: {found:?}");
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        let mut both = [leader, daemon];
        both.sort();
        let mut members = session_members(leader, &[]);
        members.sort();
        assert_eq!(members, both, "the daemon is the session's too");
        assert_eq!(session_members(leader, &[daemon]), [leader], "unless spared");
        assert_eq!(tree(&[daemon]), [daemon]);
        let mut carrying: Vec<i32> = carrying("QMUX_FOREGROUND_TEST", &tag).iter().map(|p| p.pid).collect();
        carrying.sort();
        assert_eq!(carrying, both, "both inherited the variable");
        for pid in [leader, daemon] {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        let _ = child.wait();
    }
}
