use std::time::{Duration, SystemTime};

use super::*;

fn at(base: SystemTime, ms: u64, session: &str, state: &str) -> Entry {
    let mut e = Entry::new(session.into(), None);
    e.at = humantime::format_rfc3339_millis(base + Duration::from_millis(ms)).to_string();
    e.state = Some(state.into());
    e
}

#[test]
fn a_summary_sums_work_and_waits_per_session() {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let entries = vec![
        at(t0, 0, "0:a", "waiting"),
        at(t0, 1000, "0:a", "busy"),
        at(t0, 4000, "1:b", "busy"),
        at(t0, 5000, "0:a", "approval"),
        at(t0, 7000, "0:a", "waiting"),
        at(t0, 9000, "0:a", "busy"),
        at(t0, 9500, "0:a", "waiting"),
        at(t0, 10000, "1:b", "exited"),
    ];
    let sums = summarize(&entries, None, t0 + Duration::from_millis(12_000));
    assert_eq!(sums.len(), 2);
    let a = &sums[0];
    assert_eq!((a.session.as_str(), a.state.as_str()), ("0:a", "waiting"));
    assert_eq!(a.worked_ms, 4000 + 500);
    assert_eq!(a.waited_ms, 1000 + 2000 + 2000 + 2500);
    assert_eq!(a.longest_wait_ms, 4000, "approval and prompt in a row are one wait");
    assert_eq!(a.approvals, 1);
    let b = &sums[1];
    assert_eq!((b.worked_ms, b.waited_ms, b.state.as_str()), (6000, 0, "exited"));
    // Since: only what came after counts.
    let late = summarize(&entries, Some(t0 + Duration::from_millis(8000)), t0 + Duration::from_millis(12_000));
    assert_eq!((late[0].worked_ms, late[0].waited_ms, late[0].approvals), (500, 1000 + 2500, 0));
}

#[test]
fn the_log_rotates_and_reads_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE);
    let mut first = Entry::new("0:a".into(), Some("claude".into()));
    first.state = Some("busy".into());
    append(&path, std::slice::from_ref(&first)).unwrap();
    // A full log goes to .1 before the next line.
    std::fs::OpenOptions::new().append(true).open(&path).unwrap().set_len(MAX_BYTES).unwrap();
    let mut second = first.clone();
    second.state = Some("waiting".into());
    append(&path, std::slice::from_ref(&second)).unwrap();
    assert!(dir.path().join("attention.log.1").exists());
    let read = read(dir.path());
    assert_eq!(read, vec![first, second], "the zero bytes of the padded file are no entries");
}
