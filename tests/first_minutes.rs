//! A tmux user's first ten minutes with qmux, through the real binary:
//! targets that mean one thing, an approval that ends when answered at any
//! width, clap's whole errors, attach refusing a non-terminal before it
//! touches anything, keys after the prefix taken whole, tmux's keys, verbs
//! that default to the current session, and the small things.

use std::process::Output;

use qmux_e2e::{assert_error, Env, Signal};

const COLS: u16 = 100;
const ROWS: u16 = 30;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ls_line(env: &Env, name: &str) -> String {
    env.session(name).map(|s| s.line).unwrap_or_else(|| panic!("{name} is not listed:\n{}", env.ls()))
}

// ---- 1. -t means one thing ----

#[test]
fn digits_are_an_index_and_names_of_digits_are_refused() {
    let env = Env::new();
    env.start_detached("a", &["cat"]);
    env.start_detached("b", &["cat"]);
    assert_error(&env.qmux(&["rename", "-t", "b", "1"]), &["bad session name \"1\"", "index"]);
    assert_error(&env.qmux(&["new", "-d", "-s", "0", "--", "cat"]), &["bad session name \"0\""]);
    let mut term = env.attach(&["attach", "-t", "a"], COLS, ROWS);
    term.wait_marker("a", "*");
    term.prefix(b',');
    term.send(b"\x157\r");
    term.wait_status(|row| row.contains("bad session name \"7\""), "the prefix , prompt refuses digits too");
    // `kill -t 1` kills what `ls` shows at index 1, and `=NAME` names exactly.
    assert!(ls_line(&env, "b").starts_with("1: b"), "{}", env.ls());
    env.qmux_ok(&["kill", "-t", "1"]);
    env.wait_ls("b gone, a kept", |s| s.len() == 1 && s[0].name == "a");
    env.qmux_ok(&["rename", "-t", "=a", "alpha"]);
    assert!(env.session("alpha").is_some(), "{}", env.ls());
}

// ---- 2. an answered approval ends at any width ----

#[test]
fn an_approval_ends_when_answered_at_any_width() {
    for cols in [80u16, 120, 200] {
        let env = Env::new().with_var("QMUX_CHAT_TOOL_MS", "100");
        let name = format!("w{cols}");
        env.start_detached(&name, &["qmux-chat"]);
        // A client this wide sizes the session.
        let mut term = env.attach(&["attach", "-t", &name], cols, 30);
        term.wait_marker(&name, "*");
        env.wait_state(&name, "waiting");
        // `--always` (t) last: it trusts the tool, and no question comes
        // after it.
        for answer in [&["deny"][..], &["approve"], &["approve", "--always"]] {
            env.qmux_ok(&["send", "-t", &name, "use a tool please"]);
            let out = env.qmux(&["wait", "-t", &name, "--until", "approval", "--timeout", "8"]);
            assert!(out.status.success(), "{cols} cols, before {answer:?}: {out:?}\n{}", env.capture(&name));
            env.qmux_ok(&[answer, &["-t", &name][..]].concat());
            let out = env.qmux(&["wait", "-t", &name, "--until", "waiting", "--timeout", "8"]);
            assert!(
                out.status.success(),
                "{cols} cols: after {answer:?} the chat is back at its prompt, not at the question:\n{}\n{}",
                env.state(&name),
                env.capture(&name)
            );
        }
    }
}

// ---- 3. clap's errors keep their tips and usage ----

#[test]
fn argument_errors_keep_clap_tips_and_usage() {
    let env = Env::new();
    for (args, wants) in [
        (&["rename", "-t", "a"][..], &["required arguments were not provided", "<NAME>", "Usage: qmux rename"][..]),
        (&["attch"], &["unrecognized subcommand 'attch'", "similar subcommands exist", "'attach'", "Usage: qmux"]),
        (
            &["ls", "--jsn"],
            &["unexpected argument '--jsn'", "tip: a similar argument exists: '--json'", "Usage: qmux ls"],
        ),
    ] {
        let out = env.qmux(args);
        assert_eq!(out.status.code(), Some(2), "qmux {args:?}: {out:?}");
        let text = stderr(&out);
        for want in wants {
            assert!(text.contains(want), "qmux {args:?} says {want:?}:\n{text}");
        }
    }
}

// ---- 4. attach without a terminal changes nothing ----

#[test]
fn attach_without_a_terminal_refuses_before_touching_anything() {
    let env = Env::new();
    env.start_detached("a", &["cat"]);
    let mut sizer = env.attach(&["attach", "-t", "a"], COLS, ROWS);
    sizer.wait_marker("a", "*");
    sizer.prefix(b'd');
    sizer.wait_exit();
    env.wait_ls("a at 100x29", |s| s.iter().any(|l| l.line.contains("[100x29]")));
    // A script's attach: a terminal is there, standard input is not.
    let qmux = env.bin("qmux").display().to_string();
    for script in [format!("{qmux} attach -t a </dev/null"), format!("{qmux} -L other </dev/null")] {
        let mut term = env.spawn_in_term(std::path::Path::new("/bin/sh"), &["-c", &script], 60, 15);
        let status = term.wait_exit();
        assert_eq!(status.exit_code(), 1, "{script}:\n{}", term.dump());
        let text = String::from_utf8_lossy(&term.output_raw()).into_owned();
        assert!(text.contains("qmux: attach needs a terminal; use qmux capture / qmux send"), "{script}:\n{text}");
    }
    assert!(ls_line(&env, "a").contains("[100x29]"), "the session kept its size:\n{}", env.ls());
    let out = env.qmux(&["-L", "other", "ls"]);
    assert!(!out.status.success(), "no server was started for -L other: {out:?}");
}

// ---- 6. and 9. keys after the prefix ----

#[test]
fn keys_after_the_prefix_are_taken_whole_and_tmux_keys_work() {
    let env = Env::new();
    env.start_detached("a", &["cat"]);
    env.start_detached("b", &["cat"]);
    let mut term = env.attach(&["attach", "-t", "a"], COLS, ROWS);
    term.wait_marker("a", "*");
    // Prefix and an arrow: a message, and nothing typed into the program.
    term.send(b"\x02\x1b[A");
    term.wait_status(|row| row.contains("C-b Up moves between panes"), "the arrow's message");
    term.send(b"\x02\xc3\xa9");
    term.wait_status(|row| row.contains("C-b é is not bound (C-b ? lists keys)"), "a multi-byte key's message");
    term.send(b"\x02K");
    term.wait_status(|row| row.contains("C-b K is not bound (C-b ? lists keys)"), "an unbound key's message");
    // y answers a question, and says so when there is none.
    term.send(b"\x02y");
    term.wait_status(|row| row.contains("0:a is not asking anything (state:"), "approve with nothing asked");
    term.type_str("typed\r");
    term.wait_session_text("typed");
    let screen = env.capture("a");
    assert!(!screen.contains("[A") && !screen.contains('é'), "no junk reached cat:\n{screen}");
    // tmux's keys: ) and ( move, s chooses, $ renames.
    term.prefix(b')');
    term.wait_marker("b", "*");
    term.prefix(b'(');
    term.wait_marker("a", "*");
    term.prefix(b's');
    term.wait_text("Choose a session");
    term.send(b"\x1b");
    term.prefix(b'$');
    term.wait_status(|row| row.contains("rename 0:a: a"), "prefix $ renames, as in tmux");
    term.send(b"\x1b");
    // PageUp after the prefix opens scroll mode.
    term.send(b"\x02\x1b[5~");
    term.wait_status(|row| row.contains('[') && row.contains('/'), "scroll mode's position");
}

// ---- 8. verbs inside qmux default to the current session ----

#[test]
fn verbs_inside_qmux_default_to_the_current_session() {
    let env = Env::new();
    env.start_detached("a", &["cat"]);
    env.start_detached("b", &["sh"]);
    let mut term = env.attach(&["attach", "-t", "b"], COLS, ROWS);
    term.wait_marker("b", "*");
    term.type_str("qmux rename shell && qmux capture > captured.txt && echo renamed-$?\r");
    term.wait_session_text("renamed-0");
    assert!(env.session("shell").is_some(), "{}", env.ls());
    let captured = std::fs::read_to_string(env.work_dir().join("captured.txt")).expect("captured.txt");
    assert!(captured.contains("qmux rename shell"), "capture printed this session:\n{captured}");
    term.type_str("qmux kill\r");
    term.wait_marker("a", "*");
    assert!(env.session("shell").is_none(), "qmux kill killed its own session:\n{}", env.ls());
    // Outside qmux, no -t: the error names the sessions.
    assert_error(&env.qmux(&["kill"]), &["say which session with -t TARGET", "0:a"]);
    assert_error(&env.qmux(&["send", "hello"]), &["say which session with -t TARGET"]);
}

// ---- 11. the same-directory warning comes once, at creation ----

#[test]
fn the_same_directory_warning_comes_at_creation_not_at_each_attach() {
    let env = Env::new();
    env.qmux_ok(&["new", "-d", "-s", "one"]);
    let out = env.qmux(&["new", "-d", "-s", "two"]);
    assert!(stderr(&out).contains("warning: 0:one also runs"), "warned at creation: {out:?}");
    let mut term = env.attach(&["attach", "-t", "one"], COLS, ROWS);
    term.wait_marker("one", "*");
    let text = String::from_utf8_lossy(&term.output_raw()).into_owned();
    assert!(!text.contains("also runs"), "not again at attach:\n{text}");
    // C-b c in the same directory says it in the status line.
    term.prefix(b'c');
    term.wait_status(|row| row.contains("runs qmux-chat here too: only one resumes"), "the warning for C-b c");
}

// ---- 13. small things ----

#[test]
fn small_things_a_tmux_user_notices() {
    let env = Env::new();
    // ls --json with no server: an empty list.
    let out = env.qmux(&["ls", "--json"]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "[]", "{out:?}");
    env.start_detached("a", &["sh", "-c", "exit 3"]);
    env.wait_state("a", "exited");
    let line = ls_line(&env, "a");
    assert!(line.contains(" exited 3") && !line.contains("[exited"), "ls says exited 3 once: {line}");
    // switch outside qmux suggests attach.
    assert_error(&env.qmux(&["switch", "-t", "0"]), &["not inside qmux", "qmux attach -t 0"]);
    // A wait timeout names what it waited for.
    env.start_detached("b", &["cat"]);
    let out = env.qmux(&["wait", "-t", "b", "--until", "approval", "--timeout", "0.3"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(stderr(&out).contains("timed out after 0.3s waiting for b to be approval"), "{out:?}");
}

/// A killed client leaves the server and its sessions as they were.
#[test]
fn a_killed_client_leaves_everything_running() {
    let env = Env::new();
    env.start_detached("a", &["cat"]);
    let mut term = env.attach(&["attach", "-t", "a"], COLS, ROWS);
    term.wait_marker("a", "*");
    term.kill(Signal::SIGKILL);
    term.wait_exit();
    env.wait_ls("a detached", |s| s.iter().any(|l| l.name == "a" && !l.attached()));
}

// ---- 10. config you can find and change without a restart ----

#[test]
fn a_meta_prefix_and_a_reload_from_a_key() {
    let env = Env::with_config("prefix = \"M-a\"\n");
    env.start_detached("a", &["cat"]);
    env.start_detached("b", &["cat"]);
    let mut term = env.attach(&["attach", "-t", "a"], COLS, ROWS);
    term.wait_marker("a", "*");
    term.wait_status(|row| row.contains("M-a ? help"), "the bar teaches the prefix in use");
    term.send(b"\x1ban");
    term.wait_marker("b", "*");
    // Other Alt keys still reach the program.
    term.send(b"\x1bbx\r");
    term.wait_for(|s| s.contents().contains("\u{1b}bx") || s.contents().contains("^[bx"), "M-b reached cat");
    // A broken file is reported and the old config stays; a good one is taken.
    std::fs::write(env.config_path(), "prefix = \"nonsense\"\n").expect("write the config");
    term.send(b"\x1bar");
    term.wait_status(|row| row.contains("config not reloaded"), "the broken file is reported");
    std::fs::write(env.config_path(), "prefix = \"C-a\"\n").expect("write the config");
    term.send(b"\x1bar");
    term.wait_status(|row| row.contains("reloaded (1 change)"), "the good file is taken");
    term.send(b"\x01p");
    term.wait_marker("a", "*");
    let shown = env.qmux_ok(&["config"]);
    assert!(shown.contains("prefix = \"C-a\""), "qmux config prints the file in force:\n{shown}");
}

/// `qmux reload` says what it did in one line; a value that cannot work
/// (an empty default command, which every new session would exit at) is
/// refused with its line and column, by reload and by the verbs that read
/// the file.
#[test]
fn reload_says_how_much_changed_and_refuses_a_value_that_cannot_work() {
    let mut env = Env::with_config("default-command = [\"cat\"]\n");
    env.start_detached("a", &["cat"]);
    assert_eq!(env.qmux_ok(&["reload"]), "reloaded (no changes)\n");
    env.set_config("default-command = [\"cat\"]\nmouse = false\nhistory-limit = 500\n[programs.cat]\nsettle-ms = 10\n");
    assert_eq!(env.qmux_ok(&["reload"]), "reloaded (3 changes)\n");
    env.set_config("\ndefault-command = \"\"\n");
    let at = format!("{}:2:1: default-command is empty", env.config_path().display());
    assert_error(&env.qmux(&["reload"]), &[&at]);
    assert_error(&env.qmux(&["new", "-d", "-s", "b"]), &[&at]);
    assert_eq!(env.sessions().len(), 1, "nothing was started: {}", env.ls());
}

// ---- 13. restore brings back exited sessions as they ended ----

#[test]
fn an_exited_session_comes_back_exited_and_the_chooser_restores_saved_ones() {
    let env = Env::new();
    env.start_detached("done", &["sh", "-c", "echo last words; exit 3"]);
    env.start_detached("live", &["cat"]);
    env.wait_state("done", "exited");
    env.qmux_ok(&["kill-server"]);
    let out = env.qmux(&["restore", "-t", "done"]);
    assert!(stderr(&out).contains("restored 0:done as it ended (exited 3)"), "{out:?}");
    let line = ls_line(&env, "done");
    assert!(line.contains(" exited 3"), "not run again: {line}");
    let screen = env.capture("done");
    assert!(screen.contains("last words") && screen.contains("exited with code 3"), "{screen}");
    // The saved `live` is in the chooser; Enter on it restores it.
    let mut term = env.attach(&["attach", "-t", "done"], COLS, ROWS);
    term.wait_marker("done", "*");
    term.prefix(b'w');
    term.wait_text("Enter restores it");
    term.send(b"j\r");
    term.wait_marker("live", "*");
    assert!(env.qmux_ok(&["ls", "--saved"]).trim().is_empty(), "nothing left saved");
}

/// A `q` on PATH that is not Amazon Q's: the session says how to choose
/// another default command.
#[test]
fn a_q_that_is_not_amazon_q_says_how_to_set_the_default_command() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let q = dir.path().join("q");
    std::fs::write(&q, "#!/bin/sh\necho \"q: no such command: $1\"\nexit 2\n").expect("write q");
    std::fs::set_permissions(&q, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod q");
    let env = Env::new();
    let path = format!("{}:{}", dir.path().display(), env.vars()["PATH"]);
    let env = env.with_var("PATH", &path);
    env.qmux_ok(&["new", "-d", "-s", "chat"]);
    env.wait_state("chat", "exited");
    let screen = env.capture("chat");
    assert!(screen.contains("no such command: chat"), "q chat ran: {screen}");
    assert!(screen.contains("set default-command in the config"), "{screen}");
}

/// With `restore = "ask"`, saved sessions are mentioned at every attach or
/// new session until they are restored or forgotten.
#[test]
fn saved_sessions_are_mentioned_until_restored_or_forgotten() {
    let env = Env::new();
    env.start_detached("old", &["cat"]);
    env.qmux_ok(&["kill-server"]);
    for _ in 0..2 {
        let out = env.qmux(&["new", "-d", "--", "cat"]);
        assert!(stderr(&out).contains("saved session(s) from a previous server (0:old)"), "{out:?}");
    }
    env.qmux_ok(&["forget", "-t", "old"]);
    let out = env.qmux(&["new", "-d", "--", "cat"]);
    assert!(!stderr(&out).contains("saved session"), "{out:?}");
}
