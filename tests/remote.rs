//! `--host`: the verbs, an attached client and `ls --all` against a real
//! sshd on 127.0.0.1 (tests/src/sshd.rs), whose far side runs this build's
//! qmux in a world of its own.

use qmux_e2e::sshd::{Sshd, BAD_KEY_HOST, DOWN_HOST, HOST};
use qmux_e2e::{assert_error, poll_until, Env, DEFAULT_TIMEOUT};

/// A test world whose config reaches the sshd as `box`, plus `extra`.
fn remote_env(extra: &str) -> (Env, Sshd) {
    let mut env = Env::new();
    let sshd = Sshd::start(&env);
    let config = format!("{}{extra}", sshd.config(&env));
    env.set_config(&config);
    (env, sshd)
}

fn on_host<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["-H", HOST];
    all.extend_from_slice(args);
    all
}

#[test]
fn new_send_wait_capture_and_ls_act_on_the_far_server() {
    let (env, sshd) = remote_env("");
    // No server over there yet: ls says so, --json says [].
    let out = env.qmux(&on_host(&["ls"]));
    assert_error(&out, &["no server running on box"]);
    assert_eq!(env.qmux_ok(&on_host(&["ls", "--json"])).trim(), "[]");

    // new -d starts the far server, as it would here.
    env.qmux_ok(&on_host(&["new", "-d", "-s", "far", "--", "qmux-chat"]));
    env.qmux_ok(&on_host(&["wait", "-t", "far", "--until", "waiting", "--timeout", "20"]));
    env.qmux_ok(&on_host(&["send", "-t", "far", "what runs over there"]));
    let json: serde_json::Value = serde_json::from_str(&env.qmux_ok(&on_host(&["ls", "--json"]))).unwrap();
    assert_eq!(json[0]["name"], "far");
    assert_eq!(json[0]["state"], "busy", "a message sent makes the chat busy at once: {json}");
    env.qmux_ok(&on_host(&["wait", "-t", "far", "--until", "waiting", "--timeout", "20"]));
    let screen = env.qmux_ok(&on_host(&["capture", "-t", "far"]));
    let asked = screen.find("what runs over there").unwrap_or_else(|| panic!("the message is there:\n{screen}"));
    assert!(screen[asked..].lines().count() > 2, "and a reply below it:\n{screen}");

    // It lives there, in the far side's home, and not here.
    let json: serde_json::Value = serde_json::from_str(&env.qmux_ok(&on_host(&["ls", "--json"]))).unwrap();
    assert_eq!(json[0]["state"], "waiting");
    assert_eq!(json[0]["cwd"], sshd.remote_home().display().to_string(), "{json}");
    assert_eq!(env.qmux_ok(&["ls", "--json"]).trim(), "[]", "nothing runs on this side");
    assert!(sshd.remote_sockets().read_dir().unwrap().count() > 0, "the far server's socket is in its own world");

    // wait's timeout holds across ssh too.
    let out = env.qmux(&on_host(&["wait", "-t", "far", "--until", "output", "never shown", "--timeout", "0.5"]));
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn ls_all_lists_each_host_and_a_host_that_is_down_blocks_nothing() {
    let (env, _sshd) = remote_env(&format!("hosts = [\"{HOST}\", \"{DOWN_HOST}\"]\n"));
    env.start_detached("here", &["cat"]);
    env.qmux_ok(&on_host(&["new", "-d", "-s", "there", "--", "cat"]));
    let out = env.qmux_ok(&["ls", "--all"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("0: here (cat)"), "{out}");
    assert!(lines.iter().any(|l| l.starts_with("box/0: there (cat)")), "{out}");
    let down = lines.iter().find(|l| l.starts_with("down: unreachable: ")).unwrap_or_else(|| panic!("{out}"));
    assert!(down.contains("Connection refused"), "ssh's own reason: {down}");

    let out = env.qmux(&["ls", "--all", "--json"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hosts: Vec<_> = json.as_array().unwrap().iter().map(|s| (s["name"].clone(), s["host"].clone())).collect();
    assert_eq!(hosts, [("here".into(), serde_json::Value::Null), ("there".into(), "box".into())]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("qmux: down: unreachable"));
}

#[test]
fn an_attached_client_uses_its_own_keys_and_outlives_a_dropped_connection() {
    let (env, sshd) = remote_env("prefix = \"C-a\"\n");
    // Counts slowly, so the connection drops mid-stream.
    let count = "i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo line $i; sleep 0.01; done; echo counted; exec cat";
    env.qmux_ok(&on_host(&["new", "-d", "-s", "count", "--", "sh", "-c", count]));
    let mut term = env.attach(&on_host(&["attach", "-t", "count"]), 100, 30);
    // The far server runs with no config (C-b); this client's is C-a.
    term.wait_status(|s| s.contains("C-a ? help"), "the local prefix in the status bar's hint");
    term.wait_text("line 20");
    sshd.drop_connections(&env);
    term.wait_text("lost the connection to box");
    term.wait_text("counted");
    term.wait_for(|s| !s.contents().contains("lost the connection"), "the repaint after reconnecting");
    let all = env.qmux_ok(&on_host(&["capture", "-t", "count", "-S", "-"]));
    for i in 1..=300 {
        assert!(all.lines().any(|l| l == format!("line {i}")), "line {i} is in the far session's history");
    }
    // Keys still reach the program, across an upgrade over there too.
    term.type_str("typed after\r");
    term.wait_text("typed after");
    let said = env.qmux_ok(&on_host(&["upgrade"]));
    assert!(said.contains("handed 1 session(s) to the new server"), "{said}");
    // Keys typed while it reconnects wait for it; those already on their
    // way to the old server when it handed off are gone with it.
    poll_until(
        DEFAULT_TIMEOUT,
        "the client to attach to the new server",
        || env.qmux_ok(&on_host(&["ls"])).contains("(attached)").then_some(()),
        String::new,
    );
    term.type_str("typed after the upgrade\r");
    term.wait_text("typed after the upgrade");
    // A clipboard write over there reaches this terminal (cat repeats it).
    term.type_str("\x1b]52;c;aGk=\x07\r");
    term.wait_raw(b"\x1b]52;c;aGk=\x07", "the far program's OSC 52, passed to this terminal");
    term.send(&[0x01, b'd']);
    assert!(term.wait_exit().success());
    let out = env.qmux_ok(&on_host(&["ls"]));
    assert!(out.contains("0: count"), "the session lives on over there: {out}");
}

#[test]
fn a_wrong_host_a_refused_key_and_a_missing_qmux_each_say_so() {
    let (mut env, sshd) = remote_env("");
    for (host, ssh_says) in [(DOWN_HOST, "Connection refused"), (BAD_KEY_HOST, "Permission denied")] {
        let out = env.qmux(&["-H", host, "ls"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(out.stdout.is_empty());
        let lines: Vec<&str> = stderr.lines().collect();
        assert!(lines.iter().any(|l| l.contains(ssh_says)), "ssh's own words first: {stderr}");
        assert_eq!(
            lines.last().copied(),
            Some(format!("qmux: cannot reach {host} over ssh; `ssh {host}` shows the same problem").as_str()),
            "then one line of ours: {stderr}"
        );
    }
    let config = sshd.config(&env).replace(&env.bin("qmux").display().to_string(), "/nowhere/qmux");
    env.set_config(&config);
    let out = env.qmux(&on_host(&["ls"]));
    assert_error(&out, &["qmux is not installed on box", "install qmux", "remote-command"]);
    // A qmux over there that speaks another protocol: its greeting is all
    // this one reads (an old greeting, from the protocol corpus).
    let old = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../mux/tests/corpus/valid-hello-old-protocol.bin");
    let ssh_line = sshd.config(&env).lines().next().unwrap().to_string();
    env.set_config(&format!("{ssh_line}\nremote-command = \"cat {}\"\n", old.display()));
    let out = env.qmux(&on_host(&["ls"]));
    let version = env!("CARGO_PKG_VERSION");
    assert_error(&out, &["qmux on box is 0.0.1 (protocol 0)", &format!("install qmux {version} on box")]);
}

#[test]
fn the_chooser_lists_each_hosts_sessions_and_goes_there_and_back() {
    let (env, _sshd) = remote_env(&format!("hosts = [\"{HOST}\", \"{DOWN_HOST}\"]\n"));
    env.start_detached("near", &["cat"]);
    env.qmux_ok(&on_host(&["new", "-d", "-s", "far", "--", "qmux-chat"]));
    env.qmux_ok(&on_host(&["wait", "-t", "far", "--until", "waiting", "--timeout", "20"]));
    let mut term = env.attach(&["attach", "-t", "near"], 110, 30);
    term.wait_marker("near", "*");
    term.prefix(b's');
    // This machine's first, then each host's, with their states.
    term.wait_for(
        |s| {
            let rows = qmux_e2e::screen_rows(s);
            let at = |p: &str| rows.iter().position(|r| r.contains(p));
            let far = rows.iter().any(|r| r.contains("box/0:far") && r.contains("waiting"));
            let down = rows.iter().any(|r| r.contains("down/") && r.contains("unreachable: ") && r.contains("refused"));
            far && down && at("0:near") < at("box/0:far") && at("box/0:far") < at("down/")
        },
        "the chooser to list near, then box's far (waiting), then down as unreachable",
    );
    term.type_str("j\r");
    term.wait_status(|s| s.contains("0:far"), "the far session's status bar, in this client");
    term.type_str("hello over there\r");
    poll_until(
        DEFAULT_TIMEOUT,
        "the far chat to take the message",
        || env.qmux_ok(&on_host(&["capture", "-t", "far"])).contains("You said: hello over there").then_some(()),
        String::new,
    );
    // Detaching from there comes back here.
    term.prefix(b'd');
    term.wait_marker("near", "*");
    assert!(term.try_exit().is_none(), "the client stays");

    // The attention jump goes there when it finished unseen and nothing
    // here needs the user.
    env.qmux_ok(&on_host(&["send", "-t", "far", "and again"]));
    env.qmux_ok(&on_host(&["wait", "-t", "far", "--until", "waiting", "--timeout", "20"]));
    poll_until(
        DEFAULT_TIMEOUT,
        "far to be marked finished unseen",
        || env.qmux_ok(&on_host(&["ls"])).contains("✓").then_some(()),
        || env.qmux_ok(&on_host(&["ls"])),
    );
    // Once this server has heard (its chooser shows it), the jump goes.
    term.prefix(b's');
    term.wait_for(
        |s| qmux_e2e::screen_rows(s).iter().any(|r| r.contains("box/0:far") && r.contains('✓')),
        "the chooser to show far finished",
    );
    term.send(b"\x1b");
    term.wait_marker("near", "*");
    term.prefix(b'a');
    term.wait_status(|s| s.contains("0:far"), "the jump to the far session");
}

/// The far side's processes whose command line has `verb`: found by the
/// socket directory in their environment, which is the remote world's.
fn far_processes(sshd: &Sshd, verb: &str) -> Vec<i32> {
    let needle = format!("QMUX_TMPDIR={}", sshd.remote_sockets().display());
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| qmux_e2e::alive(pid) && qmux_e2e::cmdline(pid).iter().any(|a| a == verb))
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|var| var == needle.as_bytes()))
        })
        .collect()
}

/// What a process's descriptors are open on (`pipe:[N]`, `socket:[N]`, paths).
fn fd_targets(pid: i32) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return Vec::new() };
    dir.flatten().filter_map(|e| Some(std::fs::read_link(e.path()).ok()?.display().to_string())).collect()
}

/// Waits until the far server holds a bridge's standard input and output:
/// the very pipes (or socket) sshd gave it, so the bridge is out of the
/// path, not relaying between them and a socket.
fn far_server_holds_stdio_of(server: i32, bridge: i32) {
    let ends: Vec<String> = [0, 1]
        .iter()
        .map(|fd| {
            std::fs::read_link(format!("/proc/{bridge}/fd/{fd}"))
                .expect("the bridge's stdin and stdout are open")
                .display()
                .to_string()
        })
        .collect();
    poll_until(
        DEFAULT_TIMEOUT,
        "the far server to hold the bridge's stdin and stdout",
        || ends.iter().all(|end| fd_targets(server).contains(end)).then_some(()),
        || format!("bridge: {ends:?}, server: {:?}", fd_targets(server)),
    );
}

#[test]
fn ssh_carries_the_terminal_to_the_far_server_and_the_client_takes_it_back_when_that_ssh_goes() {
    let (env, sshd) = remote_env("");
    env.qmux_ok(&on_host(&["new", "-d", "-s", "echo", "--", "cat"]));
    let mut term = env.attach(&on_host(&["attach", "-t", "echo"]), 100, 30);
    term.wait_status(|s| s.contains("0:echo"), "the far session's status bar");
    let server = *far_processes(&sshd, "server").first().expect("the far server runs");
    // Two bridges over there: the client's connection, and its terminal's.
    let (bridge, terminal_bridge) = poll_until(
        DEFAULT_TIMEOUT,
        "the client's bridge and its terminal's",
        || {
            let (tty, plain): (Vec<i32>, Vec<i32>) = far_processes(&sshd, "bridge")
                .into_iter()
                .partition(|&pid| qmux_e2e::cmdline(pid).iter().any(|a| a == "--tty"));
            match (&plain[..], &tty[..]) {
                ([plain], [tty]) => Some((*plain, *tty)),
                _ => None,
            }
        },
        || format!("bridges: {:?}", far_processes(&sshd, "bridge")),
    );
    far_server_holds_stdio_of(server, bridge);
    far_server_holds_stdio_of(server, terminal_bridge);
    // Here, the ssh carrying the terminal has it as its stdin and stdout:
    // ssh reads the keys and writes the frames, not the client.
    let client = term.pid() as i32;
    let carrier = *qmux_e2e::children_of(client)
        .iter()
        .find(|&&pid| qmux_e2e::cmdline(pid).iter().any(|a| a.contains("--tty")))
        .unwrap_or_else(|| panic!("an ssh carrying the terminal: {:?}", qmux_e2e::children_of(client)));
    let terminal = std::fs::read_link(format!("/proc/{client}/fd/0")).expect("the client's terminal");
    for fd in [0, 1] {
        assert_eq!(std::fs::read_link(format!("/proc/{carrier}/fd/{fd}")).ok().as_ref(), Some(&terminal), "fd {fd}");
    }
    term.type_str("served directly\r");
    term.wait_text("served directly");

    // That ssh goes: the far server lets its bridge go, and the client has
    // the terminal back, keys and frames through its own connection.
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(carrier), nix::sys::signal::Signal::SIGKILL);
    poll_until(
        DEFAULT_TIMEOUT,
        "the terminal's bridge to exit with its ssh",
        || (!qmux_e2e::alive(terminal_bridge)).then_some(()),
        || format!("bridge {terminal_bridge} still runs: {:?}", qmux_e2e::cmdline(terminal_bridge)),
    );
    term.type_str("relayed again\r");
    term.wait_text("relayed again");
    assert!(qmux_e2e::alive(bridge), "the client's own connection stays");

    // Detaching ends the connection there; the bridge goes with it.
    term.prefix(b'd');
    assert!(term.wait_exit().success());
    poll_until(
        DEFAULT_TIMEOUT,
        "the bridge to exit with its client's connection",
        || (!qmux_e2e::alive(bridge)).then_some(()),
        || format!("bridge {bridge} still runs: {:?}", qmux_e2e::cmdline(bridge)),
    );
    assert!(env.qmux_ok(&on_host(&["ls"])).contains("0: echo"), "the session lives on over there");
}

#[test]
fn a_client_ended_by_a_signal_takes_its_terminal_back_from_the_ssh_carrying_it() {
    // The session draws all the time: after SIGTERM no frame may land on
    // the shell after the restore, and nothing may go on reading the
    // terminal (the ssh carrying it, or the shared connection holding it).
    let (env, _sshd) = remote_env("");
    env.qmux_ok(&on_host(&["new", "-d", "-s", "busy", "--", "sh", "-c", "while :; do date +%N; done"]));
    let mut term = env.attach(&on_host(&["attach", "-t", "busy"]), 100, 30);
    term.wait_status(|s| s.contains("0:busy"), "the far session's status bar");
    let client = term.pid() as i32;
    let carrier = poll_until(
        DEFAULT_TIMEOUT,
        "an ssh carrying the terminal",
        || {
            qmux_e2e::children_of(client)
                .into_iter()
                .find(|&pid| qmux_e2e::cmdline(pid).iter().any(|a| a.contains("--tty")))
        },
        || format!("{:?}", qmux_e2e::children_of(client)),
    );
    term.kill(nix::sys::signal::Signal::SIGTERM);
    term.wait_exit();
    term.assert_restored_last();
    poll_until(
        DEFAULT_TIMEOUT,
        "the ssh carrying the terminal to end, and nothing to hold the terminal",
        || (!qmux_e2e::alive(carrier) && term.closed()).then_some(()),
        || format!("carrier alive: {}", qmux_e2e::alive(carrier)),
    );
    assert!(env.qmux_ok(&on_host(&["ls"])).contains("0: busy"), "the session lives on over there");
}

/// A question on another machine of the config's `hosts` is told through
/// this machine's channels, while a client is attached here.
#[test]
fn a_far_sessions_question_is_told_here_through_this_machines_channels() {
    let mut env = Env::new();
    let sshd = Sshd::start(&env);
    let told = env.root().join("told");
    let script = format!("cat >> {}", told.display());
    env.set_config(&format!(
        "{}hosts = [\"{HOST}\"]\nnotify = [\"command\"]\nnotify-command = [\"sh\", \"-c\", {script:?}]\n",
        sshd.config(&env)
    ));
    env.start_detached("near", &["cat"]);
    let mut term = env.attach(&["attach", "-t", "near"], 110, 30);
    term.wait_marker("near", "*");
    env.qmux_ok(&on_host(&["new", "-d", "-s", "far", "--", "qmux-chat"]));
    env.qmux_ok(&on_host(&["wait", "-t", "far", "--until", "waiting", "--timeout", "20"]));
    env.qmux_ok(&on_host(&["send", "-t", "far", "please use the tool"]));
    let notice: serde_json::Value = poll_until(
        DEFAULT_TIMEOUT,
        "the far question, told by this machine's command",
        || serde_json::from_str(std::fs::read_to_string(&told).ok()?.lines().next()?).ok(),
        || env.qmux_ok(&["log"]),
    );
    assert_eq!(notice["event"], "approval", "{notice}");
    assert_eq!(notice["session"], "box/0:far");
    assert_eq!(notice["title"], "box/0:far (qmux-chat) needs approval");
    assert_eq!(notice["host"], "box");
}
