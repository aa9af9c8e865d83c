//! `qmux upgrade`: a new server takes every session live, while a chat
//! streams a long reply in one and `seq` floods another.

use std::path::Path;

use qmux_e2e::{alive, children_of, cmdline, poll_until, Env, DEFAULT_TIMEOUT};

const FLOOD: u32 = 1_000_000;

fn listing(env: &Env) -> Vec<(u64, u64, String, u64, String)> {
    let json = env.ls_json();
    json.as_array()
        .expect("ls --json is an array")
        .iter()
        .map(|s| {
            (
                s["index"].as_u64().unwrap(),
                s["id"].as_u64().unwrap(),
                s["name"].as_str().unwrap().to_string(),
                s["pid"].as_u64().unwrap_or(0),
                s["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn server_pid(env: &Env) -> Option<i32> {
    let socket = env.socket_dir().join(format!("qmux-{}", nix::unistd::getuid())).join("default");
    let socket = socket.display().to_string();
    std::fs::read_dir("/proc").ok()?.flatten().filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok()).find(|pid| {
        let argv = cmdline(*pid);
        argv.iter().any(|a| a == "server") && argv.contains(&socket)
    })
}

/// The chat's last reply, from the conversation it saved.
fn saved_reply(dir: &Path) -> String {
    let file = std::fs::read_dir(dir).unwrap().flatten().find(|e| e.path().extension().is_some_and(|x| x == "json"));
    let text = std::fs::read_to_string(file.expect("the chat saved its conversation").path()).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let messages = json["messages"].as_array().expect("messages");
    messages.last().and_then(|m| m["text"].as_str()).expect("the reply's text").to_string()
}

fn squeezed(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn upgrade_hands_over_a_streaming_chat_and_a_flood_with_nothing_lost() {
    let data = tempfile::tempdir().unwrap();
    // Room for every line: rows, and bytes (12 bytes of index a row alone
    // pass the default budget of 8M).
    let env = Env::with_config(&format!("history-limit = {}\nhistory-bytes = \"64M\"\n", FLOOD + 10_000))
        .with_var("QMUX_CHAT_REPLY_WORDS", "4000")
        .with_var("QMUX_CHAT_TOKEN_MS", "1")
        .with_var("QMUX_CHAT_DATA_DIR", &data.path().display().to_string());
    env.start_detached("chat", &["qmux-chat"]);
    env.wait_state("chat", "waiting");
    env.start_detached("flood", &["sh", "-c", &format!("sleep 1; seq 1 {FLOOD}; echo flood-done; exec cat")]);
    let mut term = env.attach(&["attach", "-t", "flood"], 100, 30);
    term.wait_marker("flood", "*");
    let old_server = server_pid(&env).expect("the server runs");

    env.qmux_ok(&["send", "-t", "chat", "tell me a long story"]);
    let flood_pid = env.session_pid("flood").expect("the flood's pid") as i32;
    let seq_running = || children_of(flood_pid).iter().any(|p| cmdline(*p).first().is_some_and(|a| a == "seq"));
    poll_until(
        DEFAULT_TIMEOUT,
        "the chat to be streaming its reply",
        || env.qmux_ok(&["capture", "-t", "chat", "-S", "-"]).contains("You said: tell me a long story").then_some(()),
        || env.capture("chat"),
    );
    poll_until(DEFAULT_TIMEOUT, "seq to be flooding", || seq_running().then_some(()), String::new);
    let before = listing(&env);
    assert!(seq_running(), "the handoff starts mid-flood");
    assert!(before.iter().any(|s| s.2 == "chat" && s.4 == "busy"), "and mid-reply: {before:?}");

    let said = env.qmux_ok(&["upgrade"]);
    assert!(said.contains("handed 2 session(s) to the new server"), "{said}");
    let after = listing(&env);
    assert_eq!(after, before, "the same sessions, indexes, ids, names, PIDs and states");
    let new_server = server_pid(&env).expect("a server runs");
    assert_ne!(new_server, old_server, "a new server");
    poll_until(DEFAULT_TIMEOUT, "the old server to exit", || (!alive(old_server)).then_some(()), String::new);

    // The attached client reconnected by itself and keeps working.
    term.wait_text("flood-done");
    term.type_str("typed after the upgrade\r");
    term.wait_text("typed after the upgrade");
    assert!(term.try_exit().is_none(), "the client never left");

    // Every number of the flood, in order, the last one on screen.
    let flood = env.qmux_ok(&["capture", "-t", "flood", "-S", "-"]);
    let numbers: Vec<u32> = flood.lines().filter_map(|l| l.trim().parse().ok()).collect();
    assert_eq!(numbers.len(), FLOOD as usize, "every line of the flood is kept");
    assert!(numbers.iter().enumerate().all(|(i, n)| *n == i as u32 + 1), "in order, none twice, none missing");

    // The chat's whole reply, as it saved it, with no gap.
    env.wait_state("chat", "waiting");
    let chat = env.qmux_ok(&["capture", "-t", "chat", "-S", "-"]);
    let reply = saved_reply(data.path());
    assert!(reply.split_whitespace().count() > 3500, "a long reply");
    assert!(squeezed(&chat).contains(&squeezed(&reply)), "the whole reply is in history and on screen:\n{chat}");
    let pids: Vec<u64> = listing(&env).iter().map(|s| s.3).collect();
    assert!(pids.iter().all(|p| alive(*p as i32)), "the programs never died");

    // A program that ends after the upgrade ends as ever; only its exit
    // code went to the old server's parent.
    term.send(b"\x04");
    env.qmux_ok(&["wait", "-t", "flood", "--until", "exited", "--timeout", "10"]);
    let line = env.session("flood").expect("the exited session stays listed");
    assert!(line.line.contains(" exited") && line.exit_code().is_none(), "{}", line.line);
    term.wait_text("[exited with code unknown: press Enter to close]");
}

#[test]
fn a_new_server_that_cannot_take_sessions_live_gets_them_saved_and_restored() {
    // The new server pretends a format the old one cannot give.
    let env = Env::new().with_var("QMUX_HANDOFF_VERSION", "999");
    env.start_detached("keep", &["sh", "-c", "echo written before; exec cat"]);
    poll_until(
        DEFAULT_TIMEOUT,
        "the output",
        || env.capture("keep").contains("written before").then_some(()),
        String::new,
    );
    let old_pid = env.session_pid("keep").unwrap();
    let said = env.qmux_ok(&["upgrade"]);
    assert!(said.contains("saved every session instead"), "{said}");
    assert!(said.contains("their programs restart"), "{said}");
    let restored = env.wait_ls("the session restored", |s| s.iter().any(|l| l.name == "keep"));
    assert_eq!(restored[0].index, 0);
    let new_pid = env.session_pid("keep").unwrap();
    assert_ne!(new_pid, old_pid, "its program was restarted");
    assert!(!alive(old_pid as i32), "and the old one hung up");
    let screen = env.qmux_ok(&["capture", "-t", "keep", "-S", "-"]);
    assert!(screen.contains("written before") && screen.contains("restored from"), "{screen}");
}

/// Idle sessions stay idle through an upgrade: a chat at its prompt and a
/// shell read `waiting` the moment the new server has them, and go on
/// reading it, not `busy` while the new server's quiet clock starts over.
#[test]
fn an_upgrade_keeps_idle_sessions_waiting() {
    let env = Env::new();
    env.start_detached("chat", &["qmux-chat"]);
    env.start_detached("shell", &["sh"]);
    env.wait_state("chat", "waiting");
    env.wait_state("shell", "waiting");
    let mut term = env.attach(&["attach", "-t", "chat"], 100, 30);
    term.wait_marker("chat", "*");
    let said = env.qmux_ok(&["upgrade"]);
    assert!(said.contains("handed 2 session(s) to the new server"), "{said}");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while std::time::Instant::now() < until {
        let states: Vec<String> = listing(&env).into_iter().map(|s| format!("{}: {}", s.2, s.4)).collect();
        assert_eq!(states, ["chat: waiting", "shell: waiting"], "right after the upgrade");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    term.wait_marker("chat", "*");
}
