//! A bounded soak: for `QMUX_SOAK_SECS` seconds (default 45) it creates and
//! kills sessions, attaches and detaches clients (and kills some), switches,
//! opens the chooser, sends input and captures, in a loop. Afterwards the
//! server holds exactly the descriptors, threads and children it held
//! before, the state directory holds no file of a killed session, and its
//! memory is flat within a margin.
//!
//! Run a longer one by hand: `QMUX_SOAK_SECS=300 cargo test -p qmux-e2e
//! --test soak -- --nocapture`.

use std::cell::RefCell;
use std::fs;
use std::time::{Duration, Instant};

use qmux_e2e::{poll_until, Env, ProcStats, Signal, Witness, DEFAULT_TIMEOUT};

fn soak_secs() -> u64 {
    std::env::var("QMUX_SOAK_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(45)
}

/// How much the server's memory may grow over the soak, once warm: the
/// larger of 8 MB and a quarter of the warm figure. Allocators keep some
/// freed memory; a leak of a session or a client per cycle is far beyond.
fn rss_margin_kb(warm_kb: u64) -> u64 {
    (8 * 1024).max(warm_kb / 4)
}

/// The sessions with files in the state directory, by key (file stem).
fn saved_keys(env: &Env) -> Vec<String> {
    let dir = env.root().join("state/qmux/default");
    let mut keys: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| Some(e.path().file_stem()?.to_string_lossy().into_owned()))
                .filter(|k| !k.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    keys.sort();
    keys.dedup();
    keys
}

#[derive(Default)]
struct Counts {
    sessions: usize,
    clients: usize,
    switches: usize,
    sends: usize,
    captures: usize,
}

/// One round of everything a day of use does, leaving nothing behind.
fn cycle(env: &Env, i: usize, counts: &mut Counts) {
    let (chat, log, quits) = (format!("c{i}"), format!("l{i}"), format!("q{i}"));
    env.start_detached(&chat, &["cat"]);
    env.start_detached(&log, &["sh", "-c", "seq 1 3000; exec cat"]);
    env.start_detached(&quits, &["sh", "-c", "echo bye; exit 3"]);
    counts.sessions += 3;

    // A client: type, switch away and back, the chooser, then leave one of
    // three ways.
    let mut term = env.attach(&["attach", "-t", &chat], 100, 30);
    counts.clients += 1;
    term.wait_marker(&chat, "*");
    term.type_str(&format!("round-{i}\r"));
    term.wait_session_text(&format!("round-{i}"));
    term.prefix(b'n');
    term.wait_status(|row| !row.contains(&format!("{chat}*")), "the next session focused");
    term.prefix(b'l');
    term.wait_marker(&chat, "*");
    term.prefix(b'w');
    term.wait_text("Choose a session");
    term.send(b"\x1b");
    term.wait_for(|s| !s.contents().contains("Choose a session"), "the chooser closed");
    counts.switches += 3;

    // Input and capture from outside, to the session nobody shows.
    env.qmux_ok(&["send", "-t", &log, &format!("sent-{i}")]);
    counts.sends += 1;
    poll_until(
        DEFAULT_TIMEOUT,
        "the sent line to echo",
        || env.capture(&log).contains(&format!("sent-{i}")).then_some(()),
        || env.capture(&log),
    );
    counts.captures += 1;

    match i % 3 {
        0 => {
            term.prefix(b'd');
            assert!(term.wait_exit().success(), "{}", term.dump());
        }
        1 => {
            env.qmux_ok(&["detach", "-t", &chat]);
            assert!(term.wait_exit().success(), "{}", term.dump());
        }
        _ => {
            term.kill(Signal::SIGKILL);
            term.wait_exit();
        }
    }
    drop(term);

    env.wait_ls(&format!("{quits} to exit"), |s| s.iter().any(|s| s.name == quits && s.exit_code() == Some(3)));
    for name in [&chat, &log, &quits] {
        env.qmux_ok(&["kill", "-t", name]);
    }
}

/// How long the server's descriptor count must stay the same for the
/// soak's warm snapshot: several of the background readers' ticks.
const STEADY_FOR: Duration = Duration::from_millis(300);

#[test]
fn a_soak_of_sessions_clients_and_input_leaks_nothing() {
    let secs = soak_secs();
    let env = Env::new();
    let mut witness = Witness::start(&env);
    let mut counts = Counts::default();

    // Warm up, so lazily made things (buffers, allocator arenas) exist.
    for i in 0..2 {
        cycle(&env, i, &mut counts);
    }
    let settled = |what: &str, want: &dyn Fn(&ProcStats) -> bool| -> ProcStats {
        let server = env.server_pid();
        let last = RefCell::new(None);
        poll_until(
            DEFAULT_TIMEOUT,
            what,
            || {
                let stats = ProcStats::of(server);
                let ok = stats.as_ref().is_some_and(want);
                *last.borrow_mut() = stats.clone();
                if ok {
                    stats
                } else {
                    None
                }
            },
            || format!("last: {:?}", last.borrow()),
        )
    };
    // The warm count is taken once the warm-up's sessions are gone and the
    // server's descriptors have stayed the same a while: a killed session's
    // reader may still hold its master until its next read (a background
    // one reads on a 50 ms tick).
    let steady = RefCell::new((0, Instant::now()));
    let warm = settled("the warm-up's sessions to be gone and the server steady", &|s| {
        let mut steady = steady.borrow_mut();
        if steady.0 != s.fds {
            *steady = (s.fds, Instant::now());
        }
        s.children.len() == 1 && steady.1.elapsed() >= STEADY_FOR
    });
    let warm_keys = saved_keys(&env);
    eprintln!("soak: warm server {warm:?}, saved sessions {warm_keys:?}");

    let started = Instant::now();
    let mut i = 2;
    let mut rss_series = Vec::new();
    while started.elapsed() < Duration::from_secs(secs) {
        cycle(&env, i, &mut counts);
        if let Some(s) = ProcStats::of(warm.pid) {
            rss_series.push(s.rss_kb);
        }
        if i % 10 == 0 {
            witness.check();
        }
        i += 1;
    }
    let ran = started.elapsed();

    let after = settled("the server back to its warm descriptors, threads and children", &|s| {
        s.fds == warm.fds && s.threads == warm.threads && s.children == warm.children
    });
    witness.check();
    let max_rss = rss_series.iter().copied().max().unwrap_or(0);
    eprintln!(
        "soak: {ran:?}, {} cycles: {} sessions, {} clients, {} switches, {} sends, {} captures",
        i - 2,
        counts.sessions,
        counts.clients,
        counts.switches,
        counts.sends,
        counts.captures
    );
    eprintln!(
        "soak: fds {} -> {}, threads {} -> {}, children {:?} -> {:?}, RSS {} kB -> {} kB (peak between cycles {} kB, \
         margin {} kB)",
        warm.fds,
        after.fds,
        warm.threads,
        after.threads,
        warm.children,
        after.children,
        warm.rss_kb,
        after.rss_kb,
        max_rss,
        rss_margin_kb(warm.rss_kb)
    );
    assert_eq!(saved_keys(&env), warm_keys, "killed sessions leave nothing in the state directory");
    assert!(
        after.rss_kb <= warm.rss_kb + rss_margin_kb(warm.rss_kb),
        "the server grew from {} kB to {} kB",
        warm.rss_kb,
        after.rss_kb
    );
    let listed: Vec<String> = env.sessions().into_iter().map(|s| s.name).collect();
    assert_eq!(listed, [Witness::SESSION], "only the witness is left");
}
