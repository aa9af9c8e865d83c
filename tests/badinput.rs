//! Bad input: what programs print (random bytes, unterminated escape
//! strings, invalid UTF-8, endless lines), what terminals do (absurd sizes)
//! and what users write (a broken config).
//!
//! After each, the server is alive (the same process), its memory is within
//! a stated bound (sampled all through the flood, not just after), and
//! another session stays responsive: a [`Witness`] client's keystroke echo
//! is timed while the flood runs.
//!
//! Flood sizes: `QMUX_FLOOD_MB` sets the random-bytes flood (default 100 MB,
//! about 18 s here with the workspace's optimized dependencies, 7 s in a
//! release build); the others are fixed.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use qmux_e2e::{assert_error, poll_until, quantile, scaled, Env, ProcStats, Witness, DEFAULT_TIMEOUT};

/// The server's memory bound while a session floods at 80×24: it idles at
/// about 10 MB, and a session's history is capped at 10k rows.
const FLOOD_RSS_BOUND_MB: f64 = 64.0;

/// The bound with a 1000×1000 session: each copy of such a screen is about
/// 32 MB (the session's, and the one the client was last sent).
const HUGE_SCREEN_RSS_BOUND_MB: f64 = 200.0;

/// Keystroke echo p99 in another session while one floods. The goal is
/// 20 ms; this default leaves room for an unoptimized build on a loaded
/// 2-core CI machine. `QMUX_ECHO_P99_MS` overrides it.
fn echo_p99_bound() -> Duration {
    let ms = std::env::var("QMUX_ECHO_P99_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    Duration::from_millis(ms)
}

fn random_flood_mb() -> usize {
    std::env::var("QMUX_FLOOD_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(100)
}

/// Samples the server's resident memory every 20 ms until dropped; keeps
/// the peak.
struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl RssSampler {
    fn start(pid: i32) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(Ordering::SeqCst) {
                if let Some(s) = ProcStats::of(pid) {
                    peak = peak.max(s.rss_kb);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        });
        RssSampler { stop, thread: Some(thread) }
    }

    /// The peak in MB.
    fn finish(mut self) -> f64 {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().and_then(|t| t.join().ok()).unwrap_or(0) as f64 / 1024.0
    }
}

/// Runs `producer` (a shell command) in a detached session once triggered,
/// then ends any escape sequence it left open (CAN), resets the terminal
/// (RIS) and prints `NAME-done`. While it runs, times 100 keystroke echoes
/// in the witness if `time_echo`; afterwards checks that the server lives,
/// its memory stayed within `rss_bound_mb` throughout, and the session
/// shows its marker.
fn flood(env: &Env, witness: &mut Witness, name: &str, producer: &str, time_echo: bool, rss_bound_mb: f64) {
    let done = env.work_dir().join(format!("{name}.done"));
    let script = format!("{producer}; printf '\\030\\033c{name}-done\\r\\n'; touch '{}'; exec cat", done.display());
    let command = env.after_trigger(&format!("{name}.go"), &script);
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    env.start_detached(name, &command);
    let server = env.server_pid();
    let idle_mb = env.server_stats().rss_mb();
    let sampler = RssSampler::start(server);

    let started = Instant::now();
    env.trigger(&format!("{name}.go"));
    if time_echo {
        let times = witness.echo_times(100);
        let flooding = !done.exists();
        let (p50, p99, max) = (quantile(&times, 0.5), quantile(&times, 0.99), quantile(&times, 1.0));
        eprintln!("{name}: keystroke echo in another session during the flood: p50 {p50:?}, p99 {p99:?}, max {max:?}");
        assert!(flooding, "{name}: the flood ended before 100 echoes were timed; make it bigger");
        assert!(p99 < echo_p99_bound(), "{name}: echo p99 {p99:?} is over {:?}", echo_p99_bound());
    }
    poll_until(
        scaled(Duration::from_secs(180)),
        &format!("{name} to finish its flood"),
        || done.exists().then_some(()),
        || env.capture(name),
    );
    let took = started.elapsed();
    poll_until(
        DEFAULT_TIMEOUT,
        &format!("{name}'s marker on its screen"),
        || env.capture(name).contains(&format!("{name}-done")).then_some(()),
        || env.capture(name),
    );
    let peak_mb = sampler.finish();
    let after = env.server_stats();
    eprintln!(
        "{name}: flood took {took:?}; server RSS idle {idle_mb:.1} MB, peak {peak_mb:.1} MB, after {:.1} MB \
         (bound {rss_bound_mb} MB)",
        after.rss_mb()
    );
    assert_eq!(after.pid, server, "{name}: the same server still runs");
    assert!(peak_mb < rss_bound_mb, "{name}: the server peaked at {peak_mb:.1} MB, over {rss_bound_mb} MB");
    witness.check();
    let listed: Vec<String> = env.sessions().into_iter().map(|s| s.name).collect();
    assert!(listed.iter().any(|n| n == name) && listed.iter().any(|n| n == Witness::SESSION), "{listed:?}");
}

#[test]
fn random_bytes() {
    let env = Env::new();
    let mut witness = Witness::start(&env);
    let mb = random_flood_mb();
    flood(&env, &mut witness, "random", &format!("head -c {mb}M /dev/urandom"), true, FLOOD_RSS_BOUND_MB);
}

#[test]
fn unterminated_escape_strings_followed_by_lots_of_data() {
    let env = Env::new();
    let mut witness = Witness::start(&env);
    // OSC, DCS, APC, PM, SOS and a CSI, each left open for 4 MB of data
    // (the CSI's digits overflow its parameter), then CAN.
    let producer = "for o in '\\033]0;' '\\033P1;2|' '\\033_' '\\033^' '\\033X' '\\033[1;2;3'; do printf \"$o\"; \
                    head -c 4M /dev/zero | tr '\\000' 7; printf '\\030'; done";
    flood(&env, &mut witness, "unterminated", producer, true, FLOOD_RSS_BOUND_MB);
}

#[test]
fn invalid_utf8() {
    let env = Env::new();
    let mut witness = Witness::start(&env);
    // Random bytes without controls (so no escape sequences): mostly
    // invalid UTF-8, plus overlong forms, surrogates, cut sequences.
    let producer = "head -c 8M /dev/urandom | tr -d '\\000-\\037\\177'; \
                    for i in 1 2 3 4 5 6 7 8; do printf '\\300\\200\\355\\240\\200\\364\\220\\200\\200\\342\\202 \\377'; done";
    flood(&env, &mut witness, "utf8", producer, true, FLOOD_RSS_BOUND_MB);
}

#[test]
fn a_ten_megabyte_line_without_a_newline() {
    let env = Env::new();
    let mut witness = Witness::start(&env);
    flood(&env, &mut witness, "longline", "head -c 10M /dev/zero | tr '\\000' x", true, FLOOD_RSS_BOUND_MB);
}

/// Waits until `qmux ls` shows the session at `COLSxROWS`.
fn wait_session_size(env: &Env, name: &str, cols: u16, rows: u16) {
    let size = format!("[{cols}x{rows}]");
    env.wait_ls(&format!("{name} at {size}"), |s| s.iter().any(|s| s.name == name && s.line.contains(&size)));
}

#[test]
fn a_terminal_resized_to_one_cell_and_to_a_thousand_squared() {
    let env = Env::new();
    let mut witness = Witness::start(&env);
    env.start_detached("sized", &["cat"]);
    let mut term = env.attach(&["attach", "-t", "sized"], 100, 30);
    term.wait_marker("sized", "*");
    let server = env.server_pid();

    term.resize(1, 1);
    wait_session_size(&env, "sized", 1, 1);
    term.type_str("tiny\r");
    // One cell shows little; the echo and cat's copy wrap into history.
    let everything = || env.qmux_ok(&["capture", "-t", "sized", "-S", "-"]);
    poll_until(
        DEFAULT_TIMEOUT,
        "cat's copy of the line in a 1x1 session's history",
        || (everything().matches('y').count() >= 2).then_some(()),
        everything,
    );
    witness.check();

    term.resize(1000, 1000);
    wait_session_size(&env, "sized", 1000, 999);
    term.type_str("huge-screen-text\r");
    term.wait_session_text("huge-screen-text");
    let stats = env.server_stats();
    eprintln!("1000x1000: server RSS {:.1} MB (bound {HUGE_SCREEN_RSS_BOUND_MB} MB)", stats.rss_mb());
    assert_eq!(stats.pid, server);
    assert!(stats.rss_mb() < HUGE_SCREEN_RSS_BOUND_MB, "the server uses {:.1} MB", stats.rss_mb());
    let times = witness.echo_times(100);
    eprintln!("1000x1000: witness echo p99 {:?}", quantile(&times, 0.99));
    assert!(quantile(&times, 0.99) < echo_p99_bound());

    term.resize(100, 30);
    wait_session_size(&env, "sized", 100, 29);
    term.wait_marker("sized", "*");
    witness.check();
}

/// The bytes of a frame from the protocol corpus (`mux/tests/corpus/`,
/// checked against the real encoder by `mux/tests/protocol_corpus.rs`).
fn corpus(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mux/tests/corpus").join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn socket_path(env: &Env) -> PathBuf {
    fs::read_dir(env.socket_dir())
        .expect("the socket directory exists")
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("qmux-"))
        .expect("a qmux-UID directory in QMUX_TMPDIR")
        .path()
        .join("default")
}

#[test]
fn sizes_no_terminal_has_are_refused_from_the_wire() {
    let env = Env::new();
    let mut witness = Witness::start(&env);
    env.start_detached("target", &["cat"]);
    let server = env.server_pid();

    // A client attaching with a 65535x65535 terminal, then resizing to it:
    // a screen that size would be 4 billion cells.
    let mut stream = UnixStream::connect(socket_path(&env)).expect("cannot connect");
    for frame in ["valid-hello.bin", "hostile-attach-max-size.bin", "hostile-resize-max.bin", "hostile-resize-zero.bin"]
    {
        stream.write_all(&corpus(frame)).expect("the server reads a hostile size without closing");
    }
    stream.write_all(&corpus("hostile-resize-max.bin")).unwrap();
    // The server is still there and answers; the session took a bounded size.
    witness.check();
    let lines = env.wait_ls("the session shown at the largest size allowed, 1000x1000 less the status row", |s| {
        s.iter().any(|s| s.name == "target" && s.line.contains("[1000x999]"))
    });
    eprintln!("after a 65535x65535 attach: {}", lines.iter().find(|s| s.name == "target").unwrap().line);
    assert_eq!(env.server_pid(), server);
    let stats = env.server_stats();
    assert!(stats.rss_mb() < HUGE_SCREEN_RSS_BOUND_MB, "the server uses {:.1} MB", stats.rss_mb());
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut buf = [0u8; 4096];
    let _ = stream.read(&mut buf);
    drop(stream);
    witness.check();
}

#[test]
fn a_client_naming_a_terminal_that_is_not_its_own_is_refused() {
    use qmux::protocol::{self, ToClient, ToServer};
    let env = Env::new();
    let mut witness = Witness::start(&env);
    env.start_detached("target", &["cat"]);
    let server = env.server_pid();

    let mut stream = attached_to_target(&env);
    // A file, a device that is no terminal, and a real terminal under
    // another device number than its own.
    let pty = nix::pty::openpty(None, None).expect("a pty for the test");
    let slave_path = fs::read_link(format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&pty.slave)))
        .expect("the test pty's name");
    let offers = [
        corpus("hostile-tty-not-a-terminal.bin"),
        corpus("hostile-tty-fifo.bin"),
        protocol::encode(&ToServer::Tty { path: slave_path.to_string_lossy().into_owned(), rdev: 1 }),
    ];
    for offer in offers {
        stream.write_all(&offer).expect("the server reads a terminal offer without closing");
        let direct = next(&mut stream, |m| match m {
            ToClient::Direct(direct) => Some(direct),
            _ => None,
        });
        assert!(!direct, "the server took a terminal that is not the client's");
    }
    // Still relaying: input on the socket reaches the session.
    stream
        .write_all(&protocol::encode(&ToServer::Input(b"still-relayed\r".to_vec())))
        .expect("the connection stays open after refused offers");
    poll_until(
        DEFAULT_TIMEOUT,
        "the relayed input on the session's screen",
        || env.capture("target").contains("still-relayed").then_some(()),
        || env.capture("target"),
    );
    assert_eq!(env.server_pid(), server);
    drop(stream);
    witness.check();
}

#[test]
fn a_bridge_handing_over_no_descriptors_or_the_wrong_ones_is_refused() {
    use qmux::protocol::{self, Request, Response, ToServer};
    use std::os::fd::AsRawFd;
    let env = Env::new();
    let mut witness = Witness::start(&env);
    env.start_detached("target", &["cat"]);
    let server = env.server_pid();

    let mut stream = greeted(&env);
    let file = fs::File::open("/etc/passwd").expect("a regular file");
    let null = fs::File::open("/dev/null").expect("a device");
    let (read_end, write_end) = nix::unistd::pipe().expect("a pipe");
    let fd = |f: &dyn AsRawFd| f.as_raw_fd();
    let offers: [(&str, Vec<i32>); 4] = [
        ("valid-bridge.bin", Vec::new()),
        ("valid-bridge.bin", vec![fd(&file), fd(&null)]),
        ("hostile-bridge-nul-env.bin", vec![fd(&write_end), fd(&read_end)]),
        ("hostile-bridge-empty.bin", vec![fd(&read_end), fd(&write_end), fd(&null)]),
    ];
    for (frame, fds) in offers {
        stream.write_all(&corpus(frame)).expect("the server reads a bridge request");
        send_fds(&mut stream, &fds);
        match response(&mut stream) {
            Response::Error(e) => {
                assert!(e.contains("cannot serve the bridge's standard input and output"), "{frame} {fds:?}: {e}");
                eprintln!("{frame} with {} descriptor(s): {e}", fds.len());
            }
            other => panic!("the server took {fds:?} from {frame}: {other:?}"),
        }
    }
    // Refused, the connection goes on as an ordinary one.
    stream.write_all(&protocol::encode(&ToServer::Request(Box::new(Request::List)))).expect("a request after");
    match response(&mut stream) {
        Response::Sessions(s) => assert!(s.iter().any(|s| s.name == "target"), "{s:?}"),
        other => panic!("the connection answered {other:?} to a list"),
    }
    // A request whose descriptors never come: refused once they are late.
    stream.write_all(&corpus("valid-bridge.bin")).expect("the server reads a bridge request");
    match response(&mut stream) {
        Response::Error(e) => assert!(e.contains("did not follow"), "{e}"),
        other => panic!("the server took a bridge request with no descriptors: {other:?}"),
    }
    assert_eq!(env.server_pid(), server);
    drop(stream);
    witness.check();
}

/// A connection to the server, greeted, that reads its answers with a
/// timeout.
fn greeted(env: &Env) -> UnixStream {
    let mut stream = UnixStream::connect(socket_path(env)).expect("cannot connect");
    stream.set_read_timeout(Some(DEFAULT_TIMEOUT)).expect("a read timeout on the socket");
    stream.write_all(&corpus("valid-hello.bin")).expect("the server takes a hello");
    stream
}

/// A connection that asked to attach to the session `target`, 80x24.
fn attached_to_target(env: &Env) -> UnixStream {
    use qmux::protocol::{Request, ToServer};
    let mut stream = greeted(env);
    let attach = Request::Attach {
        target: Some("target".into()),
        create: None,
        create_if_none: None,
        size: (80, 24),
        env: Vec::new(),
        watch: false,
        panes: None,
        prefix: None,
    };
    let attach = qmux::protocol::encode(&ToServer::Request(Box::new(attach)));
    stream.write_all(&attach).expect("the server takes an attach");
    stream
}

/// The answer to the request just sent.
fn response(stream: &mut UnixStream) -> qmux::protocol::Response {
    next(stream, |m| match m {
        qmux::protocol::ToClient::Response(r) => Some(r),
        _ => None,
    })
}

/// The descriptors that follow a request (SCM_RIGHTS); none: the byte they
/// would have come with, alone.
fn send_fds(stream: &mut UnixStream, fds: &[i32]) {
    match fds.is_empty() {
        true => stream.write_all(b"f").expect("the server reads on"),
        false => qmux::fds::send(&*stream, fds).expect("descriptors sent"),
    }
}

/// The next message from the server that `pick` takes, skipping others.
fn next<T>(stream: &mut UnixStream, mut pick: impl FnMut(qmux::protocol::ToClient) -> Option<T>) -> T {
    loop {
        match qmux::protocol::read_frame(stream) {
            Ok(Some(msg)) => {
                if let Some(t) = pick(msg) {
                    return t;
                }
            }
            other => panic!("the server said nothing more: {other:?}"),
        }
    }
}

#[test]
fn a_terminal_bridge_with_a_token_nobody_gave_or_the_wrong_descriptors_is_refused_and_a_right_one_carries_keys_and_frames(
) {
    use qmux::protocol::{self, Response, ToClient, ToServer};
    use std::os::fd::AsRawFd;
    let env = Env::new();
    let mut witness = Witness::start(&env);
    env.start_detached("target", &["cat"]);
    let server = env.server_pid();

    // An attached client, as one on another machine would be: it asks for
    // the token its terminal's bridge is to bring.
    let mut client = attached_to_target(&env);
    next(&mut client, |m| matches!(m, ToClient::Response(Response::Notice(_))).then_some(()));
    client.write_all(&protocol::encode(&ToServer::TtyBridge)).expect("a token asked for");
    let token = next(&mut client, |m| match m {
        ToClient::TtyBridge(token) => Some(token),
        _ => None,
    });

    let answer = |token: &str, fds: &[i32]| {
        let mut bridge = greeted(&env);
        bridge.write_all(&protocol::encode(&ToServer::TtyFrom(token.into()))).expect("the terminal offered");
        send_fds(&mut bridge, fds);
        let response = response(&mut bridge);
        (bridge, response)
    };
    let file = fs::File::open("/etc/passwd").expect("a regular file");
    let (keys_read, keys_write) = nix::unistd::pipe().expect("a pipe");
    let mut keys_write = fs::File::from(keys_write);
    let (screen_read, screen_write) = nix::unistd::pipe().expect("a pipe");
    let fd = |f: &dyn AsRawFd| f.as_raw_fd();
    let pipes = [fd(&keys_read), fd(&screen_write)];
    for (token, fds, says) in [
        ("not-given", &pipes[..], "no attached client is waiting for it"),
        (&token[..], &[fd(&file), fd(&file)][..], "neither a pipe nor a socket"),
        (&token[..], &[][..], "cannot take the terminal"),
        (&token[..], &[fd(&keys_read)][..], "expected two descriptors"),
    ] {
        match answer(token, fds) {
            (_, Response::Error(e)) => {
                assert!(e.contains(says), "{token} {fds:?}: {e}");
                eprintln!("{token} with {} descriptor(s): {e}", fds.len());
            }
            (_, other) => panic!("the server took {fds:?} for {token}: {other:?}"),
        }
    }

    // The token it gave, with two pipes: the client hears that the server
    // draws there now, and keys written into one reach the session.
    let (bridge, response) = answer(&token, &pipes);
    assert!(matches!(response, Response::Ok), "{response:?}");
    next(&mut client, |m| matches!(m, ToClient::Direct(true)).then_some(()));
    client.write_all(&protocol::encode(&ToServer::TtyReady)).expect("ready");
    drop((keys_read, screen_write));
    keys_write.write_all(b"through-the-pipe\r").expect("keys into the pipe");
    let flags = nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(&screen_read, nix::fcntl::FcntlArg::F_SETFL(flags)).expect("a non-blocking read end");
    let drawn = std::cell::RefCell::new(Vec::new());
    let mut screen = fs::File::from(screen_read);
    poll_until(
        DEFAULT_TIMEOUT,
        "the echo drawn on the carried screen",
        || {
            let mut buf = [0u8; 4096];
            let n = screen.read(&mut buf).unwrap_or(0);
            drawn.borrow_mut().extend_from_slice(&buf[..n]);
            String::from_utf8_lossy(&drawn.borrow()).contains("through-the-pipe").then_some(())
        },
        || String::from_utf8_lossy(&drawn.borrow()).into_owned(),
    );
    // The keys' end closes (the ssh carrying it went): the client has the
    // terminal back, and its own connection carries keys again.
    drop(keys_write);
    next(&mut client, |m| matches!(m, ToClient::Direct(false)).then_some(()));
    client.write_all(&protocol::encode(&ToServer::Input(b"relayed-again\r".to_vec()))).expect("relayed input");
    poll_until(
        DEFAULT_TIMEOUT,
        "the relayed input on the session's screen",
        || env.capture("target").contains("relayed-again").then_some(()),
        || env.capture("target"),
    );
    drop(bridge);
    // Through the binary: a token nobody gave is one line that says what
    // to do; --tty with --start is clap's to refuse.
    assert_error(
        &env.qmux(&["bridge", "--tty", "not-given"]),
        &["no attached client is waiting for it", "attach again"],
    );
    let out = env.qmux(&["bridge", "--tty", "x", "--start"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot be used with") && stderr.contains("Usage:"), "{stderr}");
    assert_eq!(env.server_pid(), server);
    drop(client);
    witness.check();
}

// ---- a reader that goes away ----

/// `qmux ls | true`, `qmux capture -S - | head`: every verb that prints,
/// its reader gone before it writes, ends as a Unix tool does (killed by
/// SIGPIPE, or exit 0), with nothing on stderr.
#[test]
fn a_closed_pipe_ends_every_printing_verb_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let env = Env::new();
    env.start_detached("s", &["sh", "-c", "seq 3000; exec cat"]);
    env.wait_ls("s to run", |s| !s.is_empty());
    let verbs: [&[&str]; 8] = [
        &["ls"],
        &["ls", "--json"],
        &["capture", "-S", "-", "-t", "s"],
        &["config"],
        &["agents"],
        &["explain", "-t", "s"],
        &["completions", "bash"],
        &["help"],
    ];
    for args in verbs {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let mut cmd = env.cmd(args);
        cmd.stdout(writer);
        let err = env.root().join("stderr");
        cmd.stderr(fs::File::create(&err).expect("a stderr file"));
        let status = cmd.status().expect("qmux runs");
        let stderr = fs::read_to_string(&err).unwrap_or_default();
        let quiet = status.code() == Some(0) || status.signal() == Some(nix::sys::signal::Signal::SIGPIPE as i32);
        assert!(quiet && stderr.is_empty(), "qmux {}: {status}, stderr: {stderr}", args.join(" "));
    }
}

// ---- a broken config ----

#[test]
fn a_malformed_config_is_one_line_with_its_line_and_column() {
    let cases = [
        ("prefix = \"C-a\"\nmouse = \"yes\"\n", 2, 9, "invalid type"),
        ("prefix = \"C-a\"\n    bogus-key = 1\n", 2, 5, "unknown field"),
        ("notify = bell\n", 1, 10, ""),
        ("[programs.q\nsettle-ms = 1\n", 1, 12, ""),
        ("prefix = \"C-a\"\nprefix = \"C-b\"\n", 2, 1, "duplicate"),
        ("history-limit = -5\n", 1, 17, ""),
        // Values that parse but cannot work: every session would exit at
        // once, every --host would fail.
        ("mouse = true\ndefault-command = \"\"\n", 2, 1, "default-command is empty"),
        ("remote-command = \"\"\n", 1, 1, "remote-command is empty"),
        ("mouse = true\nnotify = [\"pager\"]\n", 2, 1, "\"pager\" is not a channel"),
        ("notify = [\"command\"]\n", 1, 1, "notify-command is not set"),
        ("notify-on = [\"lunch\"]\n", 1, 1, "\"lunch\" is not an event"),
    ];
    for (text, line, col, mention) in cases {
        let env = Env::with_config(text);
        let at = format!("qmux: {}:{line}:{col}: ", env.config_path().display());
        assert_error(&env.qmux(&["new", "-d", "--", "cat"]), &[&at, mention]);
        // Nothing was started on a config that does not parse.
        assert_error(&env.qmux(&["ls"]), &["no server running"]);
    }
}
