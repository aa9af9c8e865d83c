//! The core behaviour of qmux, as a user at a terminal sees it.
//!
//! Each test builds its own [`Env`] (private HOME, socket directory and
//! config) and drives the real `qmux` binary in a real PTY.

use std::time::{Duration, Instant};

use qmux_e2e::chat::{at_prompt, empty_prompts, reply_row};
use qmux_e2e::{assert_error, chat, poll_until, screen_rows, session_rows, status, Env, Signal, DEFAULT_TIMEOUT};

/// The terminal most tests use: 100 columns, 30 rows (so sessions get 29).
const COLS: u16 = 100;
const ROWS: u16 = 30;

/// The test's own `qmux ARGS` in a 100x30 terminal.
fn attach(env: &Env, args: &[&str]) -> qmux_e2e::Term {
    env.attach(args, COLS, ROWS)
}

/// A session `name` running `cat`, attached and shown (its marker up).
fn attach_to_cat(env: &Env, name: &str) -> qmux_e2e::Term {
    env.start_detached(name, &["cat"]);
    let mut term = attach(env, &["attach", "-t", name]);
    term.wait_marker(name, "*");
    term
}

// ---- 1. typing ----

#[test]
fn a_programs_clipboard_write_and_title_reach_the_terminal_showing_it() {
    let env = Env::new();
    let mut term = attach_to_cat(&env, "osc");
    // cat writes back what it reads: the program's own OSC 52 and OSC 2.
    term.type_str("\x1b]52;c;aGk=\x07\x1b]2;agent at work\x07\r");
    term.wait_raw(b"\x1b]52;c;aGk=\x07", "the program's clipboard write, passed to the terminal");
    term.wait_raw(b"\x1b]2;agent at work\x07", "the program's title, on the terminal's title");
    let listed = env.ls_json();
    let title = listed.as_array().and_then(|a| a.first()).map(|s| s["title"].clone());
    assert_eq!(title, Some(serde_json::json!("agent at work")), "ls --json has the title: {listed}");
}

#[test]
fn typing_reaches_the_chat_and_its_reply_shows() {
    let env = Env::new();
    let mut term = attach(&env, &[]);
    term.wait_for(at_prompt, "the chat's empty prompt");

    term.type_str("hello world\r");

    term.wait_session_text("You said: hello world");
    term.wait_for(at_prompt, "the prompt again after the reply");
}

// ---- 2. background sessions keep streaming ----

#[test]
fn a_reply_that_finishes_in_the_background_is_all_there_on_switching_back() {
    let env = Env::new().with_var("QMUX_CHAT_REPLY_WORDS", "200").with_var("QMUX_CHAT_TOKEN_MS", "5");
    let mut term = attach(&env, &[]);
    term.wait_for(at_prompt, "the chat's empty prompt");
    let chat = term.focused().expect("the status bar marks the chat as focused");
    let chat_pid = env.session_pid(&chat.name).expect("qmux ls --json gives the chat's pid");

    // Ask, and leave at once for a new session.
    term.type_str("tell me a long story\r");
    term.prefix(b'c');
    term.wait_status(
        |row| status::parse(row).iter().any(|e| e.name != chat.name && e.focused()),
        "a second session, focused",
    );

    // The chat keeps printing while nobody looks: the status bar says so,
    // and the chat gets to the end of its reply.
    term.wait_marker(&chat.name, "+");
    chat::wait_until_replied(chat_pid);

    term.prefix(b'p');
    term.wait_marker(&chat.name, "*");
    term.wait_for(at_prompt, "the chat back at its prompt, reply complete");
    assert!(
        term.screen(|s| reply_row(s, "tell me a long story")).is_some(),
        "the reply is on screen:\n{}",
        term.dump()
    );

    // The same chat with nothing between it and a terminal of the session's
    // size shows exactly this: nothing was lost or garbled in the background.
    let mut direct = env.spawn_in_term(&env.bin("qmux-chat"), &[], COLS, ROWS - 1);
    direct.wait_for(|s| chat::at_prompt_in(&screen_rows(s)), "the direct chat's prompt");
    direct.type_str("tell me a long story\r");
    chat::wait_until_replied(direct.pid());
    direct.wait_for(|s| chat::at_prompt_in(&screen_rows(s)), "the direct chat's prompt after the reply");
    let expected = direct.rows();
    term.wait_for(
        |s| session_rows(s) == expected,
        &format!("the session to show what the chat shows on its own:\n{}", expected.join("\n")),
    );
    assert_eq!(term.cursor(), direct.cursor(), "the cursor is where the chat left it");
}

#[test]
fn a_session_nobody_watches_is_read_all_the_time() {
    // Far more output than a PTY buffers (about 70 kB): if the server
    // stopped reading a session with no client, `seq` would block and the
    // flag file would never appear.
    let env = Env::new();
    let done = env.work_dir().join("flood.done");
    let script = format!("seq 1 50000 && touch '{}'; exec cat", done.display());
    env.start_detached("flood", &["sh", "-c", &script]);
    poll_until(DEFAULT_TIMEOUT, "seq to finish with no client attached", || done.exists().then_some(()), String::new);

    let mut term = attach(&env, &["attach", "-t", "flood"]);
    term.wait_for(
        |s| session_rows(s).iter().rev().find(|r| !r.is_empty()).is_some_and(|r| r == "50000"),
        "the last line of the flood at the bottom of the session",
    );
    let rows = term.session_rows();
    let tail: Vec<&str> = rows.iter().map(String::as_str).filter(|r| !r.is_empty()).collect();
    let expected: Vec<String> = (50001 - tail.len()..=50000).map(|n| n.to_string()).collect();
    assert_eq!(tail, expected, "the screen ends with the flood's last lines, in order");
}

// ---- 3. input goes to the focused session only ----

#[test]
fn typing_reaches_only_the_focused_session() {
    let env = Env::new();
    env.start_detached("a", &["cat"]);
    let mut term = attach_to_cat(&env, "b");

    term.type_str("only-for-b\r");
    term.wait_session_text("only-for-b");

    term.prefix(b'p');
    term.wait_marker("a", "*");
    // Anything misrouted to `a` would have arrived before this.
    term.type_str("only-for-a\r");
    term.wait_session_text("only-for-a");
    assert_session_lacks(&mut term, "only-for-b");

    term.prefix(b'n');
    term.wait_marker("b", "*");
    term.wait_session_text("only-for-b");
    assert_session_lacks(&mut term, "only-for-a");
}

fn assert_session_lacks(term: &mut qmux_e2e::Term, text: &str) {
    let rows = term.session_rows();
    assert!(!rows.iter().any(|r| r.contains(text)), "{text:?} should not be in this session:\n{}", term.dump());
}

// ---- 4. detach and attach ----

#[test]
fn attaching_again_shows_the_screen_as_it_was() {
    let env = Env::new();
    let mut term = attach(&env, &["new", "-s", "chat"]);
    term.wait_for(at_prompt, "the chat's empty prompt");
    for msg in ["first question", "second question"] {
        term.type_str(&format!("{msg}\r"));
        term.wait_session_text(&format!("You said: {msg}"));
        term.wait_for(at_prompt, "the prompt after the reply");
    }
    let before = session_screen(&term);

    term.prefix(b'd');
    assert!(term.wait_exit().success(), "detaching exits 0");
    drop(term);

    let mut term = attach(&env, &["attach", "-t", "chat"]);
    term.wait_marker("chat", "*");
    term.wait_for(
        |s| session_screen_of(s) == before,
        &format!("the same rows, colours and cursor as before detaching:\n{}", before.0.join("\n")),
    );
}

/// The session's rows as text and as formatted bytes (colours and
/// attributes), plus the cursor: everything but the status bar.
fn session_screen(term: &qmux_e2e::Term) -> (Vec<String>, Vec<String>, (u16, u16)) {
    term.screen(session_screen_of)
}

fn session_screen_of(s: &qmux_e2e::vt100::Screen) -> (Vec<String>, Vec<String>, (u16, u16)) {
    let (_, cols) = s.size();
    let mut formatted: Vec<String> = s.rows_formatted(0, cols.get()).collect();
    formatted.pop();
    (session_rows(s), formatted, s.cursor_position())
}

// ---- 5. a client that dies ----

#[test]
fn sessions_survive_a_client_killed_with_sigkill() {
    let env = Env::new();
    let mut term = attach_to_cat(&env, "keep");
    term.type_str("before-the-crash\r");
    term.wait_session_text("before-the-crash");

    term.kill(Signal::SIGKILL);
    term.wait_exit();
    drop(term);

    env.wait_ls("keep listed and no longer attached", |s| s.iter().any(|s| s.name == "keep" && !s.attached()));
    let mut term = attach(&env, &["attach", "-t", "keep"]);
    term.wait_session_text("before-the-crash");
    term.type_str("after-the-crash\r");
    term.wait_session_text("after-the-crash");
}

// ---- 6. resizing ----

#[test]
fn the_session_follows_the_terminal_size_minus_the_status_row() {
    let env = Env::new();
    let mut term = attach(&env, &["new", "-s", "shell", "--", "env", "PS1=$ ", "sh"]);
    term.wait_session_text("$");
    term.type_str("stty size\r");
    term.wait_session_text("29 100");

    for (cols, rows) in [(120u16, 40u16), (80, 20)] {
        term.resize(cols, rows);
        // The status bar on the new last row means the client has redrawn
        // at the new size.
        term.wait_marker("shell", "*");
        term.type_str("clear; stty size\r");
        term.wait_session_text(&format!("{} {cols}", rows - 1));
    }
}

/// `new -x COLS -y ROWS` lays a detached session out for that size, before
/// any terminal shows it.
#[test]
fn new_with_x_and_y_sizes_a_detached_session() {
    let env = Env::new();
    env.qmux_ok(&["new", "-d", "-s", "big", "-x", "200", "-y", "50", "--", "sh", "-c", "stty size; exec cat"]);
    env.wait_ls("big at 200x50", |s| s.iter().any(|l| l.name == "big" && l.line.contains("[200x50]")));
    poll_until(
        DEFAULT_TIMEOUT,
        "stty to say 50 200",
        || env.capture("big").contains("50 200").then_some(()),
        || env.capture("big"),
    );
    let out = env.qmux(&["new", "-d", "-x", "0", "--", "cat"]);
    assert_eq!(out.status.code(), Some(2), "a zero width is a usage error: {out:?}");
}

/// Two clients of different sizes show one session: it takes the smaller
/// size, and the larger one back when the small client goes, whether it
/// detaches with the prefix, with `qmux detach` typed in it, or is killed.
#[test]
fn a_session_takes_the_large_clients_size_when_the_small_one_goes() {
    let env = Env::new();
    env.start_detached("api", &["sh"]);
    let mut large = attach(&env, &["attach", "-t", "api"]);
    large.wait_marker("api", "*");
    let size_is = |size: &str| {
        let what = format!("api at {size} in qmux ls");
        env.wait_ls(&what, |sessions| sessions.iter().any(|s| s.name == "api" && s.line.contains(size)));
    };
    size_is("[100x29]");
    for how in ["prefix d", "qmux detach", "killed"] {
        let mut small = env.attach(&["attach", "-t", "api"], 60, 15);
        small.wait_marker("api", "*");
        size_is("[60x14]");
        match how {
            "prefix d" => small.prefix(b'd'),
            "qmux detach" => small.type_str("qmux detach\r"),
            _ => small.kill(Signal::SIGKILL),
        }
        let status = small.wait_exit();
        assert!(how == "killed" || status.success(), "{how}: the client ends cleanly: {status:?}");
        size_is("[100x29]");
        assert!(!large.closed(), "{how}: the large client stays attached");
    }
}

// ---- 7. status markers ----

#[test]
fn the_status_bar_marks_output_bells_and_exits_in_background_sessions() {
    let env = Env::new();
    env.start_detached("main", &["cat"]);
    let output = env.after_trigger("go-output", "echo some output; exec cat");
    let bell = env.after_trigger("go-bell", "printf '\\a'; exec cat");
    let exit = env.after_trigger("go-exit", "exit 3");
    for (name, command) in [("output", &output), ("bell", &bell), ("exit", &exit)] {
        let command: Vec<&str> = command.iter().map(String::as_str).collect();
        env.start_detached(name, &command);
    }
    let mut term = attach(&env, &["attach", "-t", "main"]);
    term.wait_marker("main", "*");
    for name in ["output", "bell", "exit"] {
        let entry = term.status_entry(name).unwrap_or_else(|| panic!("{name} in the status bar:\n{}", term.dump()));
        let quiet = !entry.has("+") && !entry.has("!") && !entry.has("[exit");
        assert!(quiet, "{name} has done nothing yet:\n{}", term.dump());
    }

    env.trigger("go-output");
    term.wait_marker("output", "+");

    env.trigger("go-bell");
    term.wait_marker("bell", "!");

    env.trigger("go-exit");
    term.wait_marker("exit", "[exit 3]");
    let listed = env.session("exit").expect("an exited session stays listed");
    assert_eq!(listed.exit_code(), Some(3), "qmux ls shows [exited 3]: {}", listed.line);

    // Looking at a session clears its `+`, and it stays clear after leaving.
    let output_index = term.status_entry("output").unwrap().index;
    term.prefix(b'0' + output_index as u8);
    term.wait_marker("output", "*");
    term.wait_session_text("some output");
    term.wait_no_marker("output", "+");
    term.prefix(b'l');
    term.wait_marker("main", "*");
    assert!(!term.status_entry("output").unwrap().has("+"), "seen output is not new:\n{}", term.dump());
}

// ---- 8. the server answers terminal queries ----

#[test]
fn terminal_queries_are_answered_with_no_client_attached() {
    let env = Env::new();
    let done = env.work_dir().join("probe.done");
    let probe = env.bin("termprobe");
    env.start_detached("probe", &[&probe.to_string_lossy(), "--done", &done.to_string_lossy()]);

    let report = poll_until(
        DEFAULT_TIMEOUT,
        "termprobe to get its answers and write probe.done",
        || std::fs::read_to_string(&done).ok().filter(|r| r.contains("replies=")),
        String::new,
    );
    // The probe put its cursor at row 5, column 10 before asking.
    for expected in ["cpr=\\e[5;10R", "status=\\e[0n", "da1=\\e[?", "da2=\\e[>", "replies=4"] {
        assert!(report.contains(expected), "expected {expected:?} in the probe's report:\n{report}");
    }

    // The report reaches the screen on the reader's next batch, which may
    // come after the file.
    poll_until(
        DEFAULT_TIMEOUT,
        "capture to show the probe's report",
        || env.capture("probe").contains("cpr=\\e[5;10R").then_some(()),
        || env.capture("probe"),
    );

    let mut term = attach(&env, &["attach", "-t", "probe"]);
    term.wait_session_text("replies=4");
    term.wait_session_text("cpr=\\e[5;10R");
    assert_eq!(term.row(4).get(6..9), Some("xyz"), "the probe's text is where it asked from:\n{}", term.dump());
}

/// Agents pick a light or dark theme by asking the terminal's colours
/// (OSC 10/11). qmux asks the user's terminal when a client attaches and
/// answers programs with what it said; before any terminal said, it gives
/// no answer rather than a made-up one.
#[test]
fn programs_asking_for_the_terminals_colours_get_the_users_terminals() {
    let env = Env::new();
    let probe = env.bin("termprobe").to_string_lossy().into_owned();
    let probe_into = |name: &str| {
        let done = env.work_dir().join(format!("{name}.done"));
        let script = format!("read go; exec {probe} --colours --done {}", done.display());
        env.start_detached(name, &["sh", "-c", &script]);
        done
    };
    let report = |done: &std::path::Path| {
        poll_until(
            DEFAULT_TIMEOUT,
            "termprobe --colours to write its report",
            || std::fs::read_to_string(done).ok().filter(|r| r.contains("replies=")),
            String::new,
        )
    };
    // No client yet: nobody to ask.
    let early = probe_into("early");
    env.qmux_ok(&["send", "-t", "early", "go"]);
    assert!(report(&early).contains("replies=0"), "{}", report(&early));

    let late = probe_into("late");
    let mut term = env.attach(&["attach", "-t", "late"], COLS, 30);
    term.wait_marker("late", "*");
    env.qmux_ok(&["send", "-t", "late", "go"]);
    let said = report(&late);
    assert!(said.contains("fg=\\e]10;rgb:0000/0000/0000\\e\\\\"), "{said}");
    assert!(said.contains("bg=\\e]11;rgb:ffff/ffff/ffff\\e\\\\"), "{said}");
    assert!(said.contains("replies=2"), "{said}");
}

#[test]
fn prompts_come_back_without_waiting_for_the_cursor_position_timeout() {
    // rustyline asks for the cursor position at every prompt and waits up to
    // 100 ms for an answer: 20 prompts take 2 s unless qmux answers.
    let env = Env::new();
    assert_chat_asks_for_the_cursor_position(&env);
    let mut term = env.attach(&[], COLS, 60);
    term.wait_for(at_prompt, "the chat's empty prompt");
    let before = term.screen(empty_prompts);

    let started = Instant::now();
    for i in 1..=20 {
        term.send(b"\r");
        term.wait_for(|s| empty_prompts(s) >= before + i, &format!("prompt number {i} after an empty line"));
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "20 empty lines took {took:?}; each prompt waits for an unanswered query"
    );
}

/// Without this the prompt-speed test proves nothing: it checks that the
/// stand-in chat, run in a plain terminal, sends `ESC[6n` at its prompts as
/// `q chat` does.
fn assert_chat_asks_for_the_cursor_position(env: &Env) {
    let mut direct = env.spawn_in_term(&env.bin("qmux-chat"), &[], COLS, ROWS);
    direct.wait_for(|s| chat::at_prompt_in(&screen_rows(s)), "the direct chat's prompt");
    direct.send(b"\r");
    direct.wait_for(|s| screen_rows(s).iter().filter(|r| *r == ">").count() >= 2, "a second prompt");
    let asked = direct.output_raw().windows(4).filter(|w| w == b"\x1b[6n").count();
    assert!(
        asked >= 2,
        "the stand-in chat asked for the cursor position {asked} times in 2 prompts; q chat asks at every \
         prompt (rustyline Config::check_cursor_position(true)), and without that this test cannot tell \
         whether qmux answers:\n{}",
        direct.dump()
    );
}

// ---- 9. errors ----

#[test]
fn commands_that_need_a_server_say_none_is_running() {
    let env = Env::new();
    let socket_dir = env.socket_dir().to_string_lossy().into_owned();
    assert_error(&env.qmux(&["ls"]), &["no server running on", &socket_dir]);
    assert_error(&env.qmux(&["attach"]), &[]);
    assert_error(&env.qmux(&["kill", "-t", "x"]), &["no server running"]);
    assert_error(&env.qmux(&["kill-server"]), &["no server running"]);
    // None of them started one.
    assert_error(&env.qmux(&["ls"]), &["no server running on"]);
}

#[test]
fn an_unknown_target_lists_the_sessions_there_are() {
    let env = Env::new();
    env.start_detached("a", &["cat"]);
    env.start_detached("b", &["cat"]);
    assert_error(&env.qmux(&["kill", "-t", "zzz"]), &["no session \"zzz\"", "0:a", "1:b"]);
    assert_error(&env.qmux(&["rename", "-t", "zzz", "c"]), &["no session \"zzz\""]);
    let names: Vec<String> = env.sessions().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn an_ambiguous_prefix_is_refused_and_a_unique_one_works() {
    let env = Env::new();
    env.start_detached("alpha", &["cat"]);
    env.start_detached("alps", &["cat"]);
    assert_error(&env.qmux(&["kill", "-t", "al"]), &["\"al\" is ambiguous"]);
    assert_error(&env.qmux(&["kill", "-t", "alp"]), &["\"alp\" is ambiguous"]);
    assert_eq!(env.sessions().len(), 2, "nothing was killed");

    env.qmux_ok(&["kill", "-t", "alph"]);
    let names: Vec<String> = env.sessions().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["alps"]);
}

#[test]
fn a_bad_flag_is_a_usage_error() {
    let env = Env::new();
    let out = env.qmux(&["ls", "--bogus"]);
    assert_eq!(out.status.code(), Some(2), "clap usage errors exit 2: {out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bogus"), "the error names the flag: {out:?}");
}

#[test]
fn attaching_from_inside_a_session_is_refused() {
    let env = Env::new();
    env.start_detached("outer", &["cat"]);
    let inside = [("QMUX", "/tmp/qmux-e2e-nested,1,0")];
    for args in [&["attach"][..], &[]] {
        let mut term = env.attach_with_env(args, COLS, ROWS, &inside);
        let status = term.wait_exit();
        assert_eq!(status.exit_code(), 1, "qmux {args:?} with $QMUX set:\n{}", term.dump());
        let text = String::from_utf8_lossy(&term.output_raw()).to_lowercase();
        assert!(
            text.contains("qmux: ") && (text.contains("nest") || text.contains("$qmux")),
            "the error explains nesting or says to unset $QMUX:\n{}",
            term.dump()
        );
        assert!(term.is_cooked(), "the terminal is left as it was");
    }
    assert!(!env.session("outer").expect("outer still exists").attached(), "nothing attached");
}

#[test]
fn a_command_that_does_not_exist_creates_no_session() {
    let env = Env::new();
    env.start_detached("keep", &["cat"]);
    let out = env.qmux(&["new", "-d", "-s", "ghost", "--", "no-such-command-qmux-e2e"]);
    assert_error(&out, &["no-such-command-qmux-e2e"]);
    let names: Vec<String> = env.sessions().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["keep"]);
}

// ---- 10. the terminal is restored ----

#[test]
fn detaching_restores_the_terminal() {
    let env = Env::new();
    let mut term = attach_to_cat(&env, "a");
    term.wait_raw(b"\x1b[?1049h", "the client to enter the alternate screen");
    assert!(!term.is_cooked(), "the client puts the terminal in raw mode while attached");

    term.prefix(b'd');
    let status = term.wait_exit();
    assert!(status.success(), "detaching exits 0, got {status}");
    term.wait_raw(b"\x1b[?1049l", "the client to leave the alternate screen");
    term.wait_for(|s| !s.alternate_screen() && !s.hide_cursor(), "main screen with the cursor shown");
    assert!(term.is_cooked(), "ICANON and ECHO are back on after detaching");
    env.wait_ls("a listed, not attached", |s| s.iter().any(|s| s.name == "a" && !s.attached()));
}

/// The terminal (/dev/pts/N) a process has as its standard input.
fn terminal_of(pid: u32) -> std::path::PathBuf {
    std::fs::read_link(format!("/proc/{pid}/fd/0")).expect("the client's stdin")
}

/// Whether `pid` has `path` open.
fn holds_open(pid: i32, path: &std::path::Path) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|p| p == path)))
        .unwrap_or(false)
}

/// Waits for the server to open the client's terminal; returns the
/// server's pid and the terminal.
fn server_holds_terminal(env: &Env, term: &mut qmux_e2e::Term) -> (i32, std::path::PathBuf) {
    let (server, tty) = (env.server_pid(), terminal_of(term.pid()));
    poll_until(
        DEFAULT_TIMEOUT,
        "the server to open the client's terminal",
        || holds_open(server, &tty).then_some(()),
        || term.dump(),
    );
    (server, tty)
}

fn wait_terminal_closed(server: i32, tty: &std::path::Path) {
    poll_until(
        DEFAULT_TIMEOUT,
        "the server to close the terminal",
        || (!holds_open(server, tty)).then_some(()),
        || format!("{server} still holds {}", tty.display()),
    );
}

#[test]
fn the_server_reads_and_draws_on_the_terminal_itself_and_gives_it_back() {
    // As tmux does: an echo crosses no client process. The client hands
    // its terminal over once it has taken it, and gets it back on detach.
    let env = Env::new();
    let mut term = attach_to_cat(&env, "a");
    let (server, tty) = server_holds_terminal(&env, &mut term);
    term.type_str("typed-straight-to-the-server\r");
    term.wait_session_text("typed-straight-to-the-server");

    term.prefix(b'd');
    assert!(term.wait_exit().success(), "detaching exits 0");
    wait_terminal_closed(server, &tty);
    assert!(term.is_cooked(), "the terminal is cooked again");
}

#[test]
fn a_client_ended_by_a_signal_gets_its_terminal_back_before_it_restores_it() {
    // The session draws all the time; after SIGTERM the client asks the
    // server to let go of the terminal, and only then restores it: no
    // frame may land on the shell after the restore.
    let env = Env::new();
    env.start_detached("busy", &["sh", "-c", "while :; do date +%N; done"]);
    // The race is narrow: several rounds give it several chances.
    for _ in 0..4 {
        let mut term = attach(&env, &["attach", "-t", "busy"]);
        term.wait_marker("busy", "*");
        let (server, tty) = server_holds_terminal(&env, &mut term);
        term.kill(Signal::SIGTERM);
        term.wait_exit();
        wait_terminal_closed(server, &tty);
        term.assert_restored_last();
    }
    env.wait_ls("busy lives on, detached", |s| s.iter().any(|s| s.name == "busy" && !s.attached()));
}

#[test]
fn a_server_started_from_a_terminal_lets_go_of_it() {
    // The server outlives the client that started it; if it kept the
    // terminal as its stdio, closing that terminal (or an ssh logout) would
    // hang waiting for it.
    let env = Env::new();
    let mut term = attach(&env, &[]);
    term.wait_for(at_prompt, "the chat's empty prompt");
    term.prefix(b'd');
    assert!(term.wait_exit().success(), "detaching exits 0");
    assert!(term.closed(), "nothing but the client held the terminal open:\n{}", term.dump());
    assert_eq!(env.sessions().len(), 1, "the session lives on in the server");
}
