//! Faults qmux must survive without losing a session or disturbing anyone
//! else, and the exits after which the user's terminal must come back.
//!
//! Every fault test keeps a [`Witness`]: a second client typing into a `cat`
//! session of its own. After the fault, the witness must still echo and
//! `qmux ls` must still list every session, quickly.

use std::cell::RefCell;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use qmux_e2e::{alive, assert_error, poll_until, session_rows, Env, ProcStats, Signal, Term, Witness, DEFAULT_TIMEOUT};

/// What the server may hold in memory in these tests: a few small sessions
/// and clients. It idles at about 10 MB.
const RSS_BOUND_MB: f64 = 100.0;

/// How long `qmux ls` may take on a machine under test load; it normally
/// takes a few milliseconds.
const LS_BOUND: Duration = Duration::from_secs(2);

fn signal(pid: i32, sig: Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig)
        .unwrap_or_else(|e| panic!("cannot send {sig} to {pid}: {e}"));
}

/// The witness still echoes, `qmux ls` answers fast and lists `sessions`,
/// and the server's memory is within bounds.
fn assert_undisturbed(env: &Env, witness: &mut Witness, sessions: &[&str]) {
    witness.check();
    let started = Instant::now();
    let listed: Vec<String> = env.sessions().into_iter().map(|s| s.name).collect();
    let took = started.elapsed();
    for name in sessions.iter().chain(&[Witness::SESSION]) {
        assert!(listed.iter().any(|l| l == name), "{name} should still be listed; qmux ls lists {listed:?}");
    }
    assert!(took < LS_BOUND, "qmux ls took {took:?}");
    let stats = env.server_stats();
    assert!(stats.rss_mb() < RSS_BOUND_MB, "the server uses {:.1} MB, over {RSS_BOUND_MB} MB", stats.rss_mb());
}

/// Waits until the server holds no more descriptors than `fds` (a closed
/// connection or session gives its own back).
fn wait_server_fds_at_most(env: &Env, fds: usize, why: &str) {
    let pid = env.server_pid();
    let last = RefCell::new(None);
    poll_until(
        DEFAULT_TIMEOUT,
        &format!("the server to hold at most {fds} fds ({why})"),
        || {
            let stats = ProcStats::of(pid);
            let done = stats.as_ref().is_some_and(|s| s.fds <= fds);
            *last.borrow_mut() = stats;
            done.then_some(())
        },
        || format!("last: {:?}", last.borrow()),
    );
}

/// The session's rows as `qmux capture` prints them: the server's own
/// screen, the truth a client must end up showing.
fn captured_rows(env: &Env, name: &str) -> Vec<String> {
    env.capture(name).lines().map(str::to_string).collect()
}

fn without_trailing_blanks(mut rows: Vec<String>) -> Vec<String> {
    while rows.last().is_some_and(|r| r.trim().is_empty()) {
        rows.pop();
    }
    rows
}

/// A process's state letter from `/proc/PID/stat` (`T` is stopped).
fn proc_state(pid: i32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// The server's socket: `QMUX_TMPDIR/qmux-UID/default`.
fn socket_path(env: &Env) -> PathBuf {
    let dir = fs::read_dir(env.socket_dir())
        .expect("the socket directory exists")
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("qmux-"))
        .expect("a qmux-UID directory in QMUX_TMPDIR")
        .path();
    dir.join("default")
}

/// The bytes of a frame from the protocol corpus (`mux/tests/corpus/`,
/// checked against the real encoder by `mux/tests/protocol_corpus.rs`).
fn corpus(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mux/tests/corpus").join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Everything the server sends back on a raw connection until it closes it;
/// fails the test if it is still open after the timeout.
fn read_until_closed(stream: &mut UnixStream) -> Vec<u8> {
    stream.set_read_timeout(Some(qmux_e2e::scaled(Duration::from_secs(5)))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("the server kept a bad connection open ({e}); it sent {} bytes", got.len()),
        }
    }
}

// ---- clients that die, stop or fall behind ----

#[test]
fn a_client_killed_with_sigkill_disturbs_no_one() {
    let env = Env::new();
    let mut witness = Witness::start(&env);
    env.start_detached("victim", &["cat"]);
    let mut victim = env.attach(&["attach", "-t", "victim"], 100, 30);
    victim.wait_marker("victim", "*");
    let fds = env.server_stats().fds;

    victim.kill(Signal::SIGKILL);
    victim.wait_exit();

    env.wait_ls("victim listed and no longer attached", |s| s.iter().any(|s| s.name == "victim" && !s.attached()));
    wait_server_fds_at_most(&env, fds - 1, "the dead client's connection is closed");
    assert_undisturbed(&env, &mut witness, &["victim"]);
}

#[test]
fn a_closed_terminal_sighup_disturbs_no_one() {
    let env = Env::new();
    let mut witness = Witness::start(&env);
    env.start_detached("victim", &["cat"]);
    let mut victim = env.attach(&["attach", "-t", "victim"], 100, 30);
    victim.wait_marker("victim", "*");
    victim.type_str("typed-before-hangup\r");
    victim.wait_session_text("typed-before-hangup");
    let fds = env.server_stats().fds;

    victim.kill(Signal::SIGHUP);
    let status = victim.wait_exit();
    assert_eq!(status.exit_code(), 129, "a hung-up client exits 128+SIGHUP:\n{}", victim.dump());

    env.wait_ls("victim listed and no longer attached", |s| s.iter().any(|s| s.name == "victim" && !s.attached()));
    wait_server_fds_at_most(&env, fds - 1, "the hung-up client's connection is closed");
    assert_undisturbed(&env, &mut witness, &["victim"]);
    assert!(env.capture("victim").contains("typed-before-hangup"), "the session kept its screen");
}

/// A session that floods once `go` exists: 300k lines (about 2 MB), then a
/// marker, then it waits quietly.
fn flood_session(env: &Env, name: &str) {
    let script = env.after_trigger("go", "seq 1 300000; echo flood-done; exec cat");
    let script: Vec<&str> = script.iter().map(String::as_str).collect();
    env.start_detached(name, &script);
}

fn wait_flood_done(env: &Env, name: &str) {
    poll_until(
        qmux_e2e::scaled(Duration::from_secs(60)),
        &format!("{name} to finish its flood"),
        || env.capture(name).contains("flood-done").then_some(()),
        || env.capture(name),
    );
}

/// The client ends up showing exactly what the server's screen holds.
fn wait_caught_up(env: &Env, term: &mut Term, name: &str) {
    let expected = without_trailing_blanks(captured_rows(env, name));
    term.wait_for(
        |s| without_trailing_blanks(session_rows(s)) == expected,
        &format!("the client to catch up with the true screen:\n{}", expected.join("\n")),
    );
}

#[test]
fn a_stopped_client_blocks_no_one_and_catches_up_when_continued() {
    let env = Env::new();
    let mut witness = Witness::start(&env);
    flood_session(&env, "flood");
    let mut stopped = env.attach(&["attach", "-t", "flood"], 100, 30);
    stopped.wait_marker("flood", "*");

    stopped.kill(Signal::SIGSTOP);
    env.trigger("go");
    // While the client sleeps, the flood runs to its end and others are
    // served: the server never waits for this client.
    witness.check();
    wait_flood_done(&env, "flood");
    assert_undisturbed(&env, &mut witness, &["flood"]);

    stopped.kill(Signal::SIGCONT);
    wait_caught_up(&env, &mut stopped, "flood");
    stopped.type_str("still-alive\r");
    stopped.wait_session_text("still-alive");
}

#[test]
fn a_client_that_reads_slowly_blocks_no_one_and_catches_up() {
    let env = Env::new();
    let mut witness = Witness::start(&env);
    flood_session(&env, "flood");
    let mut slow = env.attach(&["attach", "-t", "flood"], 100, 30);
    slow.wait_marker("flood", "*");

    // The terminal stops reading: the client blocks writing to it, and the
    // server's frames to the client back up.
    slow.pause_reading(true);
    env.trigger("go");
    witness.check();
    wait_flood_done(&env, "flood");
    assert_undisturbed(&env, &mut witness, &["flood"]);

    slow.pause_reading(false);
    wait_caught_up(&env, &mut slow, "flood");
}

// ---- children that crash, exit, fail or stop ----

#[test]
fn a_child_that_crashes_or_exits_at_once_leaves_an_exited_session_and_no_harm() {
    let env = Env::new();
    let mut witness = Witness::start(&env);
    env.start_detached("segv", &["sh", "-c", "kill -SEGV $$"]);
    env.start_detached("quick", &["true"]);
    env.start_detached("failing", &["sh", "-c", "exit 7"]);

    let lines = env
        .wait_ls("all three to show their exit codes", |s| s.iter().filter(|s| s.exit_code().is_some()).count() == 3);
    let code = |name: &str| lines.iter().find(|s| s.name == name).and_then(|s| s.exit_code());
    assert_eq!(code("segv"), Some(128 + 11), "a crash by SIGSEGV reads as 128+11");
    assert_eq!(code("quick"), Some(0));
    assert_eq!(code("failing"), Some(7));
    assert!(env.capture("segv").contains("[exited with code 139"), "the banner is on the session's screen");
    assert_undisturbed(&env, &mut witness, &["segv", "quick", "failing"]);
}

#[test]
fn a_program_that_cannot_start_is_a_clear_error_and_no_session() {
    let env = Env::new();
    let mut witness = Witness::start(&env);
    let not_executable = env.work_dir().join("not-executable");
    fs::write(&not_executable, "echo hi\n").unwrap();
    let missing_dir = env.work_dir().join("missing");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["new".into(), "-d".into(), "--".into(), "no-such-program-qmux".into()], "no-such-program-qmux"),
        (vec!["new".into(), "-d".into(), "--".into(), not_executable.display().to_string()], "not-executable"),
        (vec!["new".into(), "-d".into(), "--".into(), "/".into()], "\"/\""),
        (
            vec!["new".into(), "-d".into(), "-c".into(), missing_dir.display().to_string(), "--".into(), "cat".into()],
            "missing",
        ),
    ];
    for (args, mention) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = env.qmux(&args);
        assert_error(&out, &[mention]);
    }
    let listed: Vec<String> = env.sessions().into_iter().map(|s| s.name).collect();
    assert_eq!(listed, [Witness::SESSION], "no session was created for a program that cannot start");
    assert_undisturbed(&env, &mut witness, &[]);
}

#[test]
fn a_child_that_stops_reading_cannot_stall_the_server_and_can_be_killed() {
    let env = Env::new();
    let mut witness = Witness::start(&env);
    let baseline = env.server_stats();
    env.start_detached("stopped", &["sh", "-c", "kill -STOP $$"]);
    let pid = env.session_pid("stopped").expect("the stopped session's pid") as i32;
    poll_until(
        DEFAULT_TIMEOUT,
        "the child to stop itself",
        || (proc_state(pid) == Some('T')).then_some(()),
        String::new,
    );

    // Megabytes of input to a program that reads none of it. The first
    // line fills the terminal's line buffer (the kernel drops the rest of
    // it); from then on nothing is taken, and each send says, after a
    // bounded wait, that the program did not react. The server answers
    // everyone else while a send waits.
    let text = "x".repeat(1 << 20);
    for i in 0..3 {
        std::thread::scope(|scope| {
            let started = Instant::now();
            let send = scope.spawn(|| env.qmux_with_stdin(&["send", "-t", "stopped", "-"], text.as_bytes()));
            assert_undisturbed(&env, &mut witness, &["stopped"]);
            let out = send.join().expect("the send thread");
            if i > 0 {
                assert_error(&out, &["stopped", "did not react"]);
            }
            assert!(started.elapsed() < Duration::from_secs(10), "send {i} took {:?}", started.elapsed());
        });
        assert_undisturbed(&env, &mut witness, &["stopped"]);
    }

    // Killing the session ends the stopped program (a hangup alone waits
    // for a SIGCONT that never comes), and gives back its threads and fds.
    env.qmux_ok(&["kill", "-t", "stopped"]);
    poll_until(
        DEFAULT_TIMEOUT,
        "the stopped program to end",
        || (!alive(pid)).then_some(()),
        || format!("pid {pid} state {:?}", proc_state(pid)),
    );
    let server = env.server_pid();
    let last = RefCell::new(None);
    poll_until(
        DEFAULT_TIMEOUT,
        "the server's threads and fds back where they were before the session",
        || {
            let stats = ProcStats::of(server);
            let done = stats.as_ref().is_some_and(|s| s.threads == baseline.threads && s.fds <= baseline.fds);
            *last.borrow_mut() = stats;
            done.then_some(())
        },
        || format!("before: {baseline:?}\nnow: {:?}", last.borrow()),
    );
    assert_undisturbed(&env, &mut witness, &[]);
}

/// Gemini CLI's node wrapper survives SIGHUP and never signals its child.
/// A program like that, with children ignoring SIGHUP and SIGTERM too, ends
/// on `kill` and on `kill-server`: nothing is left behind.
#[test]
fn kill_and_kill_server_leave_no_process_even_one_that_ignores_hangups() {
    let env = Env::new();
    let script = "trap '' HUP TERM; sleep 300 & sleep 301 & echo ready; wait";
    let mut processes = Vec::new();
    for name in ["k", "s"] {
        env.start_detached(name, &["sh", "-c", script]);
        poll_until(
            DEFAULT_TIMEOUT,
            "the program to start",
            || env.capture(name).contains("ready").then_some(()),
            String::new,
        );
        let pid = env.session_pid(name).expect("a pid") as i32;
        let all: Vec<i32> = std::iter::once(pid).chain(qmux_e2e::children_of(pid)).collect();
        assert_eq!(all.len(), 3, "sh and its two sleeps: {all:?}");
        processes.push(all);
    }
    let gone = |pids: &[i32]| pids.iter().all(|p| !alive(*p)).then_some(());
    env.qmux_ok(&["kill", "-t", "k"]);
    poll_until(
        DEFAULT_TIMEOUT,
        "kill to end the program and its children",
        || gone(&processes[0]),
        || format!("alive: {:?}", processes[0].iter().filter(|p| alive(**p)).collect::<Vec<_>>()),
    );
    assert!(processes[1].iter().all(|p| alive(*p)), "the other session is untouched");
    env.qmux_ok(&["kill-server"]);
    poll_until(
        DEFAULT_TIMEOUT,
        "kill-server to end the program and its children",
        || gone(&processes[1]),
        || format!("alive: {:?}", processes[1].iter().filter(|p| alive(**p)).collect::<Vec<_>>()),
    );
}

// ---- the server ends ----

#[test]
fn sigterm_to_the_server_hangs_up_every_child_and_saves_every_session() {
    let env = Env::new();
    for name in ["a", "b"] {
        let flag = env.work_dir().join(format!("hup-{name}"));
        let script = format!(
            "trap 'echo hup > {}; exit 0' HUP; echo ready-{name}; while :; do sleep 0.05; done",
            flag.display()
        );
        env.start_detached(name, &["sh", "-c", &script]);
    }
    let mut client = env.attach(&["attach", "-t", "a"], 100, 30);
    client.wait_session_text("ready-a");
    poll_until(DEFAULT_TIMEOUT, "b to be ready", || env.capture("b").contains("ready-b").then_some(()), String::new);
    let server = env.server_pid();

    signal(server, Signal::SIGTERM);

    for name in ["a", "b"] {
        let flag = env.work_dir().join(format!("hup-{name}"));
        poll_until(
            DEFAULT_TIMEOUT,
            &format!("{name} to get SIGHUP and write its flag"),
            || flag.exists().then_some(()),
            String::new,
        );
    }
    poll_until(DEFAULT_TIMEOUT, "the server to exit", || (!alive(server)).then_some(()), String::new);
    assert!(!socket_path(&env).exists(), "the server removed its socket");
    assert!(client.wait_exit().success(), "the client ends cleanly:\n{}", client.dump());
    assert!(String::from_utf8_lossy(&client.output_raw()).contains("server exited"), "{}", client.dump());

    // State was flushed: both sessions' metadata and last screens.
    let state = env.root().join("state/qmux/default");
    let files: Vec<PathBuf> = fs::read_dir(&state)
        .unwrap_or_else(|e| panic!("no state directory {}: {e}", state.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    for name in ["a", "b"] {
        let saved = |ext: &str, needle: &str| {
            files.iter().any(|f| {
                f.extension().is_some_and(|e| e == ext) && fs::read_to_string(f).is_ok_and(|t| t.contains(needle))
            })
        };
        assert!(
            saved("json", &format!("\"name\":\"{name}\"")) || saved("json", &format!("\"name\": \"{name}\"")),
            "{name}.json saved in {files:?}"
        );
        assert!(saved("screen", &format!("ready-{name}")), "{name}'s screen saved in {files:?}");
    }
    let saved = env.qmux_ok(&["ls", "--saved"]);
    assert!(saved.contains(": a (") && saved.contains(": b ("), "ls --saved lists both:\n{saved}");
}

#[test]
fn after_the_server_is_killed_the_next_command_cleans_up_and_starts_afresh() {
    let env = Env::new();
    env.start_detached("old", &["cat"]);
    let mut client = env.attach(&["attach", "-t", "old"], 100, 30);
    client.wait_marker("old", "*");
    let server = env.server_pid();
    let child = env.session_pid("old").expect("old's pid") as i32;

    signal(server, Signal::SIGKILL);
    poll_until(DEFAULT_TIMEOUT, "the server to die", || (!alive(server)).then_some(()), String::new);

    // The client says so and gives the terminal back; the child is hung up.
    assert!(client.wait_exit().success(), "{}", client.dump());
    assert!(client.is_cooked(), "the terminal is back in cooked mode");
    poll_until(DEFAULT_TIMEOUT, "the orphaned child to be hung up", || (!alive(child)).then_some(()), String::new);
    assert!(socket_path(&env).exists(), "a SIGKILLed server leaves its socket behind");

    assert_error(&env.qmux(&["ls"]), &["no server running"]);
    env.start_detached("fresh", &["cat"]);
    let listed: Vec<String> = env.sessions().into_iter().map(|s| s.name).collect();
    assert_eq!(listed, ["fresh"]);
    assert_ne!(env.server_pid(), server, "a new server runs");
}

#[test]
fn commands_racing_to_start_a_server_start_exactly_one() {
    let env = Env::new();
    let mut racers = Vec::new();
    for i in 0..8 {
        let name = format!("s{i}");
        let err = fs::File::create(env.root().join(format!("race-{i}.err"))).unwrap();
        let mut cmd = env.cmd(&["new", "-d", "-s", &name, "--", "cat"]);
        cmd.stdout(Stdio::null()).stderr(err);
        racers.push((i, cmd.spawn().expect("cannot start qmux")));
    }
    for (i, mut racer) in racers {
        let status =
            poll_until(DEFAULT_TIMEOUT, &format!("racer {i} to finish"), || racer.try_wait().unwrap(), String::new);
        let err = fs::read_to_string(env.root().join(format!("race-{i}.err"))).unwrap_or_default();
        assert!(status.success(), "racer {i} failed ({status}): {err}");
    }
    let servers = env.server_pids();
    assert_eq!(servers.len(), 1, "exactly one server runs: {servers:?}");
    let mut listed: Vec<String> = env.sessions().into_iter().map(|s| s.name).collect();
    listed.sort();
    let expected: Vec<String> = (0..8).map(|i| format!("s{i}")).collect();
    assert_eq!(listed, expected, "all eight sessions are in the one server");
}

#[test]
fn a_server_whose_binary_was_replaced_still_starts_sessions() {
    // As after a package upgrade: the running server's file is gone.
    let env = Env::new();
    let old = env.root().join("old-bin");
    fs::create_dir(&old).unwrap();
    for bin in ["qmux", "qmux-chat"] {
        fs::copy(env.bin(bin), old.join(bin)).unwrap();
    }
    let mut cmd = Command::new(old.join("qmux"));
    cmd.env_clear().envs(env.vars()).current_dir(env.work_dir()).stdin(Stdio::null());
    cmd.args(["-f", "/dev/null", "new", "-d", "-s", "before", "--", "cat"]);
    let out = env.run(cmd);
    assert!(out.status.success(), "the old binary starts a server: {out:?}");
    fs::remove_dir_all(&old).unwrap();

    env.start_detached("after", &["cat"]);
    let listed: Vec<String> = env.sessions().into_iter().map(|s| s.name).collect();
    assert_eq!(listed, ["before", "after"]);
    let mut term = env.attach(&["attach", "-t", "after"], 100, 30);
    term.type_str("works\r");
    term.wait_session_text("works");
}

// ---- who may connect, and what they may send ----

/// Connects to `socket` as uid/gid 65534 (nobody), sends `bytes`, and
/// reports what happened, one word per step.
const CONNECTOR: &str = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect-failed", e.errno)
    sys.exit(0)
print("connected")
try:
    s.sendall(bytes.fromhex(sys.argv[2]))
except OSError as e:
    print("send-failed", e.errno)
s.settimeout(5)
got = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
except OSError as e:
    print("recv-error", e.errno)
print("received", len(got))
"#;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("cannot chmod {:o} {}: {e}", mode, path.display()));
}

#[test]
fn a_connection_from_another_user_is_refused_and_logged() {
    // /proc/self belongs to our effective uid.
    if fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(1) != 0 {
        eprintln!("SKIPPED: connecting as another user needs root (setpriv)");
        return;
    }
    let (setpriv, python) = (Path::new("/usr/bin/setpriv"), Path::new("/usr/bin/python3"));
    if !setpriv.exists() || !python.exists() {
        eprintln!("SKIPPED: needs /usr/bin/setpriv and /usr/bin/python3");
        return;
    }
    let env = Env::new();
    let log = env.root().join("server.log");
    let env = env.with_var("QMUX_LOG", &log.to_string_lossy());
    let mut witness = Witness::start(&env);
    let socket = socket_path(&env);
    let socket_dir = socket.parent().unwrap().to_path_buf();

    // Someone loosened every permission on the way to the socket, so the
    // kernel lets another user connect; only the server's check is left.
    for dir in [env.root(), &env.socket_dir(), &socket_dir] {
        set_mode(dir, 0o755);
    }
    set_mode(&socket, 0o666);
    // Our own commands now refuse the directory as unsafe.
    assert_error(&env.qmux(&["ls"]), &["unsafe permissions"]);

    let mut hello_and_list = corpus("valid-hello.bin");
    hello_and_list.extend(corpus("valid-request-list.bin"));
    let out = Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(python)
        .args(["-c", CONNECTOR])
        .arg(&socket)
        .arg(hex(&hello_and_list))
        .current_dir("/")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("cannot run setpriv");
    let report = String::from_utf8_lossy(&out.stdout);
    let context = format!(
        "connector as uid 65534: {}\nstdout: {report}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{context}");
    assert!(
        report.contains("connected"),
        "the kernel let the other user connect (so the test means something)\n{context}"
    );
    assert!(report.contains("received 0"), "the other user got nothing back\n{context}");
    poll_until(
        DEFAULT_TIMEOUT,
        "the server to log the refusal",
        || fs::read_to_string(&log).ok().filter(|l| l.contains("refused a connection from uid 65534")),
        || format!("log: {:?}", fs::read_to_string(&log)),
    );

    for dir in [env.root(), &env.socket_dir(), &socket_dir] {
        set_mode(dir, 0o700);
    }
    set_mode(&socket, 0o600);
    assert_undisturbed(&env, &mut witness, &[]);
}

#[test]
fn garbage_on_the_socket_closes_that_connection_only() {
    let env = Env::new();
    let mut witness = Witness::start(&env);
    let socket = socket_path(&env);
    let server = env.server_pid();
    let fds = env.server_stats().fds;

    let hello = corpus("valid-hello.bin");
    let mut random = vec![0u8; 64 << 10];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for b in &mut random {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        *b = seed as u8;
    }
    let body_garbage = [&8u32.to_le_bytes()[..], &[0xff; 8]].concat();
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        // (what, bytes, whether the server greets first)
        ("a length over the 16 MiB limit", [&u32::MAX.to_le_bytes()[..], b"xxxx"].concat(), false),
        ("a length just over the limit", [&((16u32 << 20) + 1).to_le_bytes()[..], b"x"].concat(), false),
        ("a body that is not a message", body_garbage.clone(), false),
        ("64 KiB of random bytes", random, false),
        ("a request before the greeting", corpus("valid-request-list.bin"), false),
        ("garbage after a good greeting", [hello.clone(), body_garbage].concat(), true),
        ("a greeting with a truncated body", corpus("truncated-hello.bin"), false),
    ];
    for (what, bytes, greeted) in cases {
        let mut stream = UnixStream::connect(&socket).expect("cannot connect to the server");
        // The server may close before reading it all; that is the point.
        let _ = stream.write_all(&bytes);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let answer = read_until_closed(&mut stream);
        if greeted {
            assert_eq!(answer.get(4), Some(&0u8), "{what}: the server greeted first (Hello is variant 0)");
        } else {
            assert!(answer.is_empty(), "{what}: the server answered {} bytes", answer.len());
        }
        assert_eq!(env.server_pid(), server, "{what}: the same server still runs");
        assert_undisturbed(&env, &mut witness, &[]);
    }
    // Truncated frames: a length, and then the peer goes away mid-body.
    let mut stream = UnixStream::connect(&socket).unwrap();
    stream.write_all(&[&1000u32.to_le_bytes()[..], b"partial"].concat()).unwrap();
    drop(stream);
    wait_server_fds_at_most(&env, fds, "every bad connection is closed");
    assert_undisturbed(&env, &mut witness, &[]);
}

// ---- the terminal always comes back ----

/// A session whose program turns on every input mode a chat might (mouse,
/// bracketed paste, application cursor keys) and hides the cursor, and a
/// client showing it with all of that passed on to its terminal.
fn attached_with_modes(env: &Env) -> Term {
    env.start_detached("modes", &["sh", "-c", "printf '\\033[?1000h\\033[?2004h\\033[?1h\\033[?25l'; exec cat"]);
    let mut term = env.attach(&["attach", "-t", "modes"], 100, 30);
    term.wait_marker("modes", "*");
    term.wait_for(
        |s| {
            s.bracketed_paste()
                && s.application_cursor()
                && s.hide_cursor()
                && s.alternate_screen()
                && s.mouse_protocol_mode() != qmux_e2e::vt100::MouseProtocolMode::None
        },
        "the program's modes on in the outer terminal",
    );
    assert!(!term.is_cooked(), "the client puts the terminal in raw mode");
    term
}

/// After the client ended: cooked mode, main screen, cursor shown, modes off.
fn assert_restored(term: &mut Term, how: &str) {
    let raw = term.output_raw();
    let entered = raw.windows(8).rposition(|w| w == b"\x1b[?1049h").expect("the client entered the alternate screen");
    let after = &raw[entered..];
    let has = |needle: &[u8]| after.windows(needle.len()).any(|w| w == needle);
    let context = term.dump();
    assert!(has(b"\x1b[?1049l"), "{how}: the client left the alternate screen\n{context}");
    assert!(has(b"\x1b[?25h"), "{how}: the client showed the cursor\n{context}");
    term.screen(|s| {
        assert!(!s.alternate_screen(), "{how}: main screen\n{context}");
        assert!(!s.hide_cursor(), "{how}: cursor shown\n{context}");
        assert!(!s.bracketed_paste(), "{how}: bracketed paste off\n{context}");
        assert!(!s.application_cursor(), "{how}: application cursor keys off\n{context}");
        assert_eq!(s.mouse_protocol_mode(), qmux_e2e::vt100::MouseProtocolMode::None, "{how}: mouse off\n{context}");
    });
    assert!(term.is_cooked(), "{how}: ICANON and ECHO back on\n{context}");
}

#[test]
fn the_terminal_comes_back_after_detach() {
    let env = Env::new();
    let mut term = attached_with_modes(&env);
    term.prefix(b'd');
    assert!(term.wait_exit().success());
    assert_restored(&mut term, "prefix d");
}

#[test]
fn the_terminal_comes_back_after_a_detach_from_outside() {
    let env = Env::new();
    let mut term = attached_with_modes(&env);
    env.qmux_ok(&["detach", "-t", "modes"]);
    assert!(term.wait_exit().success());
    assert_restored(&mut term, "qmux detach -t");
}

#[test]
fn the_terminal_comes_back_after_kill_server() {
    let env = Env::new();
    let mut term = attached_with_modes(&env);
    env.qmux_ok(&["kill-server"]);
    assert!(term.wait_exit().success());
    assert_restored(&mut term, "kill-server");
}

#[test]
fn the_terminal_comes_back_when_the_server_is_killed() {
    let env = Env::new();
    let mut term = attached_with_modes(&env);
    signal(env.server_pid(), Signal::SIGKILL);
    term.wait_exit();
    assert_restored(&mut term, "server SIGKILL");
}

#[test]
fn the_terminal_comes_back_when_the_last_session_is_killed() {
    let env = Env::new();
    let mut term = attached_with_modes(&env);
    env.qmux_ok(&["kill", "-t", "modes"]);
    assert!(term.wait_exit().success());
    assert_restored(&mut term, "last session killed");
}

#[test]
fn the_terminal_comes_back_after_each_signal_to_the_client() {
    let env = Env::new();
    for sig in [Signal::SIGTERM, Signal::SIGHUP, Signal::SIGINT, Signal::SIGQUIT] {
        let mut term = attached_with_modes(&env);
        term.kill(sig);
        let status = term.wait_exit();
        assert_eq!(status.exit_code(), 128 + sig as u32, "{sig}: the client exits 128+signal");
        assert_restored(&mut term, &format!("client {sig}"));
        env.qmux_ok(&["kill", "-t", "modes"]);
    }
}
