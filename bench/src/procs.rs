//! What /proc says about a process: its command line, memory and CPU time.

use crate::Result;

/// The first process whose command line satisfies `pred`.
pub fn find(pred: impl Fn(&[String]) -> bool) -> Option<u32> {
    let entries = std::fs::read_dir("/proc").ok()?;
    entries.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let raw = std::fs::read(entry.path().join("cmdline")).ok()?;
        let argv: Vec<String> =
            raw.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        pred(&argv).then_some(pid)
    })
}

/// Resident memory, in bytes (VmRSS).
pub fn rss_bytes(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| format!("process {pid}: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| format!("process {pid}: no VmRSS in /proc/{pid}/status"))
}

/// How many threads the process runs.
pub fn threads(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| format!("process {pid}: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("process {pid}: no Threads in /proc/{pid}/status"))
}

/// CPU time used so far (user + system), in seconds.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| format!("process {pid}: {e}"))?;
    // The command name (field 2) may hold spaces; fields after it don't.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15; `rest` starts at field 3.
    let ticks = |i: usize| fields.get(i - 3).and_then(|f| f.parse::<u64>().ok());
    let (Some(utime), Some(stime)) = (ticks(14), ticks(15)) else {
        return Err(format!("process {pid}: cannot read CPU time from /proc/{pid}/stat"));
    };
    Ok((utime + stime) as f64 / clock_ticks_per_second())
}

/// CPU time of the process and of its children it has waited for (the git
/// runs of a server), in seconds.
pub fn cpu_seconds_with_children(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| format!("process {pid}: {e}"))?;
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime, stime, cutime, cstime: fields 14 to 17.
    let ticks: Option<Vec<u64>> = (14..=17).map(|i| fields.get(i - 3).and_then(|f| f.parse::<u64>().ok())).collect();
    let ticks = ticks.ok_or_else(|| format!("process {pid}: cannot read CPU time from /proc/{pid}/stat"))?;
    Ok(ticks.iter().sum::<u64>() as f64 / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(n)) if n > 0 => n as f64,
        _ => 100.0,
    }
}
