//! `qmux log`: the attention log, read straight from the state directory,
//! so it works with no server running (the morning after).

use std::time::{Duration, SystemTime};

use super::Context;
use crate::attention_log::{self, Entry, Summary};
use crate::cli::LogArgs;
use crate::error::{Error, Result};

pub(super) fn log(ctx: &Context, args: LogArgs) -> Result<i32> {
    if ctx.remote.is_some() {
        return Err(Error::msg("qmux log reads this machine's log: run it on the other one (ssh HOST qmux log)"));
    }
    let since = args.since.as_deref().map(since).transpose()?;
    let entries = match crate::persist::state_dir(&ctx.socket) {
        Some(dir) => attention_log::read(&dir),
        None => Vec::new(),
    };
    let entries = match &args.target {
        Some(target) => only(entries, target)?,
        None => entries,
    };
    let now = SystemTime::now();
    if args.summary {
        let sums = attention_log::summarize(&entries, since, now);
        if args.json {
            println!("{}", serde_json::to_string(&sums).map_err(|e| Error::msg(e.to_string()))?);
        } else {
            print_summary(&sums);
        }
        return Ok(0);
    }
    for e in entries.iter().filter(|e| since.is_none_or(|s| e.time().is_some_and(|t| t >= s))) {
        if args.json {
            println!("{}", serde_json::to_string(e).map_err(|e| Error::msg(e.to_string()))?);
        } else {
            println!("{}", line(e));
        }
    }
    Ok(0)
}

/// `1h` ago, or a time.
fn since(text: &str) -> Result<SystemTime> {
    if let Ok(ago) = humantime::parse_duration(text) {
        return Ok(SystemTime::now() - ago);
    }
    humantime::parse_rfc3339_weak(text).map_err(|_| {
        Error::msg(format!(
            "--since {text:?} is neither a duration nor a time: write it like \"1h\", \"30m\" or \"2026-12-08T09:00:00Z\""
        ))
    })
}

/// The entries of the sessions `target` names, by the rules live sessions
/// are named by; `index:name` as the log writes it matches too.
fn only(entries: Vec<Entry>, target: &str) -> Result<Vec<Entry>> {
    let mut labels: Vec<&str> = Vec::new();
    for e in &entries {
        if !labels.contains(&e.session.as_str()) {
            labels.push(&e.session);
        }
    }
    let split: Vec<(u32, &str)> =
        labels.iter().filter_map(|l| l.split_once(':').and_then(|(i, n)| Some((i.parse().ok()?, n)))).collect();
    let chosen: Vec<String> = if labels.contains(&target) {
        vec![target.to_string()]
    } else {
        let candidates: Vec<crate::target::Candidate<'_>> =
            split.iter().map(|(index, name)| crate::target::Candidate { index: *index, name, id: None }).collect();
        let found = crate::target::find(target, &candidates, "logged session").map_err(Error::msg)?;
        // One name may have had several indexes over time: all of them.
        found.into_iter().map(|i| format!("{}:{}", split[i].0, split[i].1)).collect()
    };
    Ok(entries.into_iter().filter(|e| chosen.contains(&e.session)).collect())
}

/// `09:14:03.120  3:codex  busy → approval`, or a notice and its fate.
fn line(e: &Entry) -> String {
    let at = e.at.get(11..23).unwrap_or(&e.at);
    let what = if let Some(state) = &e.state {
        match &e.was {
            Some(was) => format!("{was} → {state}"),
            None => state.clone(),
        }
    } else if let Some(text) = &e.text {
        match (&e.skipped, e.sent.is_empty()) {
            (Some(why), _) => format!("not notified ({why}): {text}"),
            (None, false) => format!("notified by {}: {text}", e.sent.join(", ")),
            (None, true) => format!("not notified: {text}"),
        }
    } else if let Some(failed) = &e.failed {
        format!("notification failed: {failed}")
    } else {
        String::new()
    };
    format!("{} {at}  {:<12} {what}", e.at.get(..10).unwrap_or(""), e.session)
}

fn print_summary(sums: &[Summary]) {
    if sums.is_empty() {
        println!("nothing in the log yet");
        return;
    }
    let d = |ms: u64| crate::notify::short_duration(Duration::from_millis(ms));
    println!(
        "{:<16} {:<9} {:>9} {:>15} {:>13} {:>9}",
        "SESSION", "STATE", "WORKED", "WAITED FOR YOU", "LONGEST WAIT", "APPROVALS"
    );
    for s in sums {
        println!(
            "{:<16} {:<9} {:>9} {:>15} {:>13} {:>9}",
            s.session,
            s.state,
            d(s.worked_ms),
            d(s.waited_ms),
            d(s.longest_wait_ms),
            s.approvals
        );
    }
}
