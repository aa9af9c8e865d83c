//! The prefix keys and CLI verbs no other story covers, through the real
//! binary: rename, kill with its question, help, sessions by index, `new`
//! and `switch` from inside a session, `forget`, and shell completions.

use qmux_e2e::{assert_error, Env};

const COLS: u16 = 100;
const ROWS: u16 = 30;

/// Two shells, `a` and `b`, and a client showing `a`.
fn two_shells(env: &Env) -> qmux_e2e::Term {
    env.start_detached("a", &["sh"]);
    env.start_detached("b", &["sh"]);
    let mut term = env.attach(&["attach", "-t", "a"], COLS, ROWS);
    term.wait_marker("a", "*");
    term
}

#[test]
fn prefix_comma_renames_the_session() {
    let env = Env::new();
    let mut term = two_shells(&env);
    term.prefix(b',');
    term.wait_status(|row| row.contains("rename 0:a: a"), "the rename prompt, with the name filled in");
    term.send(b"\x15"); // Ctrl-U clears it
    term.type_str("notes\r");
    term.wait_marker("notes", "*");
    assert!(env.session("notes").is_some(), "qmux ls knows the new name:\n{}", env.ls());
    assert!(env.session("a").is_none(), "the old name is gone:\n{}", env.ls());
}

#[test]
fn prefix_x_kills_only_after_yes() {
    let env = Env::new();
    let mut term = two_shells(&env);
    term.prefix(b'x');
    term.wait_status(|row| row.contains("kill 0:a? (y/n)"), "the kill question");
    term.type_str("n");
    term.wait_status(|row| !row.contains("kill 0:a?"), "the question gone after n");
    assert!(env.session("a").is_some(), "n keeps the session:\n{}", env.ls());

    term.prefix(b'x');
    term.wait_status(|row| row.contains("kill 0:a? (y/n)"), "the kill question again");
    term.type_str("y");
    term.wait_marker("b", "*");
    env.wait_ls("a gone from qmux ls", |sessions| sessions.iter().all(|s| s.name != "a"));
}

#[test]
fn prefix_question_mark_lists_every_binding() {
    let env = Env::new();
    let mut term = two_shells(&env);
    term.prefix(b'?');
    for binding in [
        "new session",
        "next / previous",
        "session by index",
        "last",
        "choose a session",
        "detach",
        "kill",
        "rename",
        "scroll mode",
    ] {
        term.wait_text(binding);
    }
    term.type_str("q");
    term.wait_for(|s| !s.contents().contains("qmux keys"), "help closed by any key");
}

#[test]
fn prefix_digits_pick_sessions_by_index() {
    let env = Env::new();
    let mut term = two_shells(&env);
    term.prefix(b'1');
    term.wait_marker("b", "*");
    term.prefix(b'0');
    term.wait_marker("a", "*");
    term.prefix(b'7');
    term.wait_status(|row| row.contains("no session 7"), "a message for an index with no session");
}

#[test]
fn new_and_switch_from_inside_a_session_move_this_client() {
    let env = Env::new();
    let mut term = two_shells(&env);
    term.type_str("qmux new -s inner -- sh\r");
    term.wait_marker("inner", "*");
    term.type_str("qmux switch -t b\r");
    term.wait_marker("b", "*");
    term.type_str("qmux detach\r");
    assert!(term.wait_exit().success(), "detach from inside ends this client");
    // Outside qmux there is no "own" client to move.
    assert_error(&env.qmux(&["switch", "-t", "a"]), &["not inside qmux"]);
}

#[test]
fn forget_drops_saved_sessions() {
    let env = Env::new();
    env.start_detached("keep", &["cat"]);
    env.start_detached("drop", &["cat"]);
    env.qmux_ok(&["kill-server"]);
    let saved = env.qmux_ok(&["ls", "--saved"]);
    assert!(saved.contains("keep") && saved.contains("drop"), "both saved:\n{saved}");

    let out = env.qmux(&["forget", "-t", "drop"]);
    assert!(out.status.success(), "forget -t drop: {out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("forgot 1:drop"), "{out:?}");
    let saved = env.qmux_ok(&["ls", "--saved"]);
    assert!(saved.contains("keep") && !saved.contains("drop"), "only keep left:\n{saved}");
    assert_error(&env.qmux(&["forget", "-t", "nosuch"]), &["nosuch"]);
}

#[test]
fn completions_for_each_shell() {
    let env = Env::new();
    for (shell, mark) in [("bash", "_qmux"), ("zsh", "#compdef qmux"), ("fish", "complete -c qmux")] {
        let script = env.qmux_ok(&["completions", shell]);
        assert!(script.contains(mark), "{shell} completions contain {mark:?}");
        assert!(script.contains("restore"), "{shell} completions know the verbs");
    }
    let out = env.qmux(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "an unknown shell is a usage error: {out:?}");
}
