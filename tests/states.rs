//! Knowing what every session is doing: states, the queue, `wait`,
//! `capture`, `send`, `ls --json`, notifications, the chooser, and the
//! terminal coming back when the client is torn away.
//!
//! Each test builds its own [`Env`] and talks to the stand-in chat
//! (`qmux-chat`) or a plain `sh`, through the real `qmux` binary.

use std::cell::RefCell;
use std::process::Output;
use std::time::{Duration, Instant};

use qmux_e2e::chat::{at_prompt, at_prompt_in};
use qmux_e2e::{escape_bytes, poll_until, status, vt100, Background, Env, Signal, DEFAULT_TIMEOUT};

/// The terminal attached clients use: 100 columns, 30 rows (sessions get 29).
const COLS: u16 = 100;
const ROWS: u16 = 30;

// ---- helpers ----

/// A detached stand-in chat called `name`, started and waiting at its prompt.
fn start_chat(env: &Env, name: &str) {
    env.start_detached(name, &["qmux-chat"]);
    env.wait_state(name, "waiting");
}

/// `qmux send -t TARGET WORDS…`, which must succeed.
fn send(env: &Env, target: &str, text: &str) {
    env.qmux_ok(&["send", "-t", target, text]);
}

/// `qmux wait -t TARGET --until CONDITION… --timeout 8`, run to the end.
fn wait(env: &Env, target: &str, until: &[&str]) -> Output {
    env.qmux(&wait_args(target, until, "8"))
}

/// Starts `qmux wait -t TARGET --until CONDITION… --timeout 8` and returns
/// once its request has reached the server (see [`wait_registered`]).
fn spawn_wait(env: &Env, target: &str, until: &[&str]) -> Background {
    let mut waiter = env.spawn_qmux(&wait_args(target, until, "8"));
    wait_registered(env, &mut waiter);
    waiter
}

fn wait_args<'a>(target: &'a str, until: &[&'a str], timeout: &'a str) -> Vec<&'a str> {
    let mut args = vec!["wait", "-t", target, "--until"];
    args.extend_from_slice(until);
    args.extend_from_slice(&["--timeout", timeout]);
    args
}

/// Whether a process sleeps reading a Unix socket, or polling it (a wait
/// with a timeout). Where the kernel hides wait channels (`/proc/PID/wchan`
/// reads `0`), any sleep counts.
fn blocked_on_socket(pid: u32) -> bool {
    let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    if wchan.is_empty() || wchan == "0" {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        return stat.rfind(')').is_some_and(|end| stat[end + 1..].trim_start().starts_with('S'));
    }
    wchan.starts_with("unix_stream") || wchan.contains("poll")
}

/// Returns once a `qmux wait` has sent its request and the server has read
/// it, so a change the test makes next happens while the waiter is
/// registered. The client blocks reading the socket twice: for the
/// server's greeting, which comes at once, and then for the answer. Seen
/// blocked, then again after another command's full round trip through the
/// server (which has by then answered the greeting and read what followed
/// it), it is waiting for the answer.
fn wait_registered(env: &Env, waiter: &mut Background) {
    let pid = waiter.pid();
    for round in ["before", "after"] {
        poll_until(
            DEFAULT_TIMEOUT,
            &format!("qmux wait to block on the server's answer ({round} a round trip)"),
            || (blocked_on_socket(pid) || !waiter.running()).then_some(()),
            || std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default(),
        );
        if round == "before" {
            env.ls();
        }
    }
}

/// Whether the server still answers: `qmux ls` within 2 s, for failure
/// messages that must tell a hung server from a slow screen.
fn server_health(env: &Env) -> String {
    let mut ls = env.spawn_qmux(&["ls"]);
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if let Some(out) = ls.try_output() {
            return format!("the server answers qmux ls:\n{}", describe(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    "THE SERVER DOES NOT ANSWER: qmux ls got no answer within 2 s".to_string()
}

/// Exit code, stdout and stderr, for failure messages.
fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {:?}\nstderr: {:?}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_code(out: &Output, code: i32, what: &str) {
    assert_eq!(out.status.code(), Some(code), "{what}: expected exit {code}\n{}", describe(out));
}

/// Asserts that stderr is exactly one line starting `qmux: `.
fn assert_one_line_error(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.len() == 1 && lines[0].starts_with("qmux: "),
        "{what}: expected one line on stderr starting \"qmux: \"\n{}",
        describe(out)
    );
}

/// A capture's rows.
fn rows_of(capture: &str) -> Vec<String> {
    capture.lines().map(str::to_string).collect()
}

/// Rows with the trailing blank rows dropped, as `capture` prints them.
fn trim_blank_tail(mut rows: Vec<String>) -> Vec<String> {
    while rows.last().is_some_and(|r| r.trim().is_empty()) {
        rows.pop();
    }
    rows
}

/// The chat's reply to `msg` is on the screen and the chat is back at its
/// empty prompt below it.
fn replied(capture: &str, msg: &str) -> bool {
    capture.contains(&format!("You said: {msg}")) && at_prompt_in(&rows_of(capture))
}

/// The texts of every `ESC ] KIND ; TEXT (BEL | ESC \)` in `raw`.
fn oscs(raw: &[u8], kind: &str) -> Vec<String> {
    let start = format!("\x1b]{kind};");
    let start = start.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i + start.len() <= raw.len() {
        if &raw[i..i + start.len()] != start {
            i += 1;
            continue;
        }
        let body = &raw[i + start.len()..];
        let end = body.iter().position(|&b| b == 0x07 || b == 0x1b).unwrap_or(body.len());
        found.push(String::from_utf8_lossy(&body[..end]).into_owned());
        i += start.len() + end;
    }
    found
}

/// The parameters of every SGR sequence (`ESC [ … m`) in `text`.
fn sgr_params(text: &str) -> Vec<String> {
    let mut params = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("\x1b[") {
        rest = &rest[at + 2..];
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == ';')).unwrap_or(rest.len());
        if rest[end..].starts_with('m') {
            params.push(rest[..end].to_string());
        }
    }
    params
}

// ---- 1. states through a reply, a tool run, an approval and exit ----

#[test]
fn a_chat_stays_busy_through_a_silent_tool_run_between_its_approval_and_its_prompt() {
    let env = Env::new().with_var("QMUX_CHAT_TOOL_MS", "1500");
    start_chat(&env, "chat");
    assert!(at_prompt_in(&rows_of(&env.capture("chat"))), "waiting means at the prompt:\n{}", env.capture("chat"));

    send(&env, "chat", "use a tool please");
    assert_eq!(env.state("chat"), "busy", "a message sent makes the chat busy at once");

    let out = wait(&env, "chat", &["approval"]);
    assert_code(&out, 0, "wait --until approval");
    assert_eq!(env.state("chat"), "approval");
    assert!(env.capture("chat").contains("Allow this action?"), "the question is on screen:\n{}", env.capture("chat"));

    // The tool runs for 1.5 s and prints nothing at all. Every sample taken
    // before its "Completed" line shows must say busy.
    env.qmux_ok(&["approve", "-t", "chat"]);
    let approved = Instant::now();
    let samples = RefCell::new(Vec::<String>::new());
    poll_until(
        DEFAULT_TIMEOUT,
        "the silent tool run to complete",
        || {
            let state = env.state("chat");
            if env.capture("chat").contains("Completed in") {
                return Some(());
            }
            samples.borrow_mut().push(state);
            None
        },
        || format!("states so far: {:?}\n{}", samples.borrow(), env.capture("chat")),
    );
    let run = approved.elapsed();
    let samples = samples.into_inner();
    assert!(run >= Duration::from_millis(1300), "the tool ran {run:?}; QMUX_CHAT_TOOL_MS is 1500");
    assert!(samples.len() >= 5, "only {} samples in {run:?}: the run was not watched", samples.len());
    let not_busy: Vec<&String> = samples.iter().filter(|s| *s != "busy").collect();
    assert!(
        not_busy.is_empty(),
        "during the silent tool run the chat must stay busy; {} of {} samples said otherwise: {not_busy:?}",
        not_busy.len(),
        samples.len()
    );

    let out = wait(&env, "chat", &["waiting"]);
    assert_code(&out, 0, "wait --until waiting after the tool run");
    let screen = env.capture("chat");
    assert!(replied(&screen, "use a tool please"), "the reply is complete and the prompt back:\n{screen}");

    send(&env, "chat", "/quit 5");
    let out = wait(&env, "chat", &["exited"]);
    assert_code(&out, 0, "wait --until exited");
    let chat = env.session_json("chat").expect("an exited session stays listed");
    assert_eq!(chat["state"], "exited", "{chat:#}");
    assert_eq!(chat["exit_code"], 5, "{chat:#}");
}

// ---- 2. a pause mid-reply ----

#[test]
fn a_silent_pause_mid_reply_is_not_mistaken_for_the_prompt() {
    let env = Env::new().with_var("QMUX_CHAT_PAUSE_MS", "1500");
    start_chat(&env, "chat");

    send(&env, "chat", "please pause halfway");
    let header = "You said: please pause halfway";
    // (elapsed since the send, state, what the screen showed)
    let samples = RefCell::new(Vec::<(Duration, String, &str)>::new());
    let sent = Instant::now();
    poll_until(
        DEFAULT_TIMEOUT,
        "the reply to end and the chat to wait at its prompt",
        || {
            // State first, screen second: a state that says waiting must
            // find the finished reply on the screen read after it.
            let state = env.state("chat");
            let screen = env.capture("chat");
            let phase = if replied(&screen, "please pause halfway") {
                "done"
            } else if screen.contains(header) {
                "mid-reply"
            } else {
                "before"
            };
            samples.borrow_mut().push((sent.elapsed(), state.clone(), phase));
            if state == "waiting" {
                assert_eq!(phase, "done", "waiting before the reply ended:\n{screen}");
                return Some(());
            }
            None
        },
        || format!("samples: {:?}\n{}", samples.borrow(), env.capture("chat")),
    );
    let samples = samples.into_inner();
    let wrong: Vec<_> = samples.iter().filter(|(_, state, phase)| *phase != "done" && state != "busy").collect();
    assert!(wrong.is_empty(), "busy all through the reply, but: {wrong:?}");
    let mid: Vec<Duration> = samples.iter().filter(|(_, _, p)| *p == "mid-reply").map(|(t, _, _)| *t).collect();
    let watched = mid.last().copied().unwrap_or_default().saturating_sub(mid.first().copied().unwrap_or_default());
    assert!(
        watched >= Duration::from_millis(1000),
        "the 1.5 s pause was watched for only {watched:?} ({} samples mid-reply)",
        mid.len()
    );
    assert_eq!(env.state("chat"), "waiting", "the final prompt is waiting");
}

// ---- 3. send --when-waiting ----

#[test]
fn a_queued_message_is_delivered_after_the_reply_ends_and_only_once() {
    let env = Env::new().with_var("QMUX_CHAT_PAUSE_MS", "1500").with_var("QMUX_CHAT_REPLY_WORDS", "20");
    start_chat(&env, "chat");
    let mut term = env.attach(&["attach", "-t", "chat"], COLS, ROWS);
    term.wait_for(at_prompt, "the chat's prompt in the client");

    let first = "first message, pause in the middle";
    send(&env, "chat", first);
    env.qmux_ok(&["send", "-t", "chat", "--when-waiting", "second message"]);
    let chat = env.session_json("chat").expect("chat listed");
    assert_eq!(chat["queued_messages"], 1, "the message waits in the queue: {chat:#}");
    term.wait_marker("chat", "[q:1]");

    // The first time "second message" shows anywhere, it must be typed at
    // a fresh prompt below the finished first reply, not echoed into it.
    let screen = poll_until(
        DEFAULT_TIMEOUT,
        "the queued message to be typed",
        || Some(env.capture("chat")).filter(|s| s.contains("second message")),
        || env.capture("chat"),
    );
    let rows = rows_of(&screen);
    let typed = rows.iter().position(|r| r.contains("second message")).unwrap();
    let reply = rows.iter().position(|r| r.contains(&format!("You said: {first}")));
    assert!(
        rows[typed] == "> second message"
            && typed > 0
            && rows[typed - 1].is_empty()
            && reply.is_some_and(|r| r < typed),
        "the queued message must arrive at the prompt after the whole first reply:\n{screen}"
    );

    let screen = poll_until(
        DEFAULT_TIMEOUT,
        "the reply to the queued message",
        || Some(env.capture("chat")).filter(|s| replied(s, "second message")),
        || env.capture("chat"),
    );
    env.wait_state("chat", "waiting");
    assert_eq!(env.capture("chat"), screen, "nothing more happened after the reply");
    assert_eq!(screen.matches("You said: second message").count(), 1, "delivered exactly once:\n{screen}");
    assert_eq!(screen.matches("> second message").count(), 1, "typed exactly once:\n{screen}");
    assert_eq!(env.session_json("chat").unwrap()["queued_messages"], 0);
    term.wait_no_marker("chat", "[q:");
}

#[test]
fn two_queued_messages_are_delivered_in_order_each_once() {
    let env = Env::new().with_var("QMUX_CHAT_PAUSE_MS", "1000").with_var("QMUX_CHAT_REPLY_WORDS", "12");
    start_chat(&env, "chat");

    send(&env, "chat", "first message, pause a little");
    env.qmux_ok(&["send", "-t", "chat", "--when-waiting", "alpha message"]);
    env.qmux_ok(&["send", "-t", "chat", "--when-waiting", "beta message"]);
    assert_eq!(env.session_json("chat").unwrap()["queued_messages"], 2);

    poll_until(
        DEFAULT_TIMEOUT,
        "the reply to the second queued message",
        || replied(&env.capture("chat"), "beta message").then_some(()),
        || env.capture("chat"),
    );
    env.wait_state("chat", "waiting");
    let screen = env.capture("chat");
    for text in ["> alpha message", "You said: alpha message", "> beta message", "You said: beta message"] {
        assert_eq!(screen.matches(text).count(), 1, "{text:?} exactly once:\n{screen}");
    }
    let at = |text: &str| screen.find(text).unwrap();
    assert!(
        at("You said: first message") < at("> alpha message")
            && at("> alpha message") < at("You said: alpha message")
            && at("You said: alpha message") < at("> beta message")
            && at("> beta message") < at("You said: beta message"),
        "each message waits for the reply before it:\n{screen}"
    );
    assert_eq!(env.session_json("chat").unwrap()["queued_messages"], 0);
}

// ---- 4. wait ----

#[test]
fn wait_returns_when_the_chat_waits_shows_output_asks_and_exits() {
    let env = Env::new().with_var("QMUX_CHAT_TOOL_MS", "200");
    env.start_detached("chat", &["qmux-chat"]);
    let out = wait(&env, "chat", &["waiting"]);
    assert_code(&out, 0, "wait --until waiting on a chat starting up");
    assert_eq!(env.state("chat"), "waiting");

    let mut waiter = spawn_wait(&env, "chat", &["output", r"You said: ping \d+"]);
    assert!(waiter.running(), "nothing matches yet: {:?}", waiter.try_output().map(|o| describe(&o)));
    send(&env, "chat", "ping 42");
    assert_code(&waiter.wait_output(), 0, "wait --until output REGEX");
    assert!(env.capture("chat").contains("You said: ping 42"));

    env.wait_state("chat", "waiting");
    let mut waiter = spawn_wait(&env, "chat", &["approval"]);
    assert!(waiter.running(), "no question yet: {:?}", waiter.try_output().map(|o| describe(&o)));
    send(&env, "chat", "run a tool");
    assert_code(&waiter.wait_output(), 0, "wait --until approval");
    assert_eq!(env.state("chat"), "approval");

    let mut waiter = spawn_wait(&env, "chat", &["waiting"]);
    assert!(waiter.running(), "an approval question is not waiting: {:?}", waiter.try_output().map(|o| describe(&o)));
    env.qmux_ok(&["deny", "-t", "chat"]);
    assert_code(&waiter.wait_output(), 0, "wait --until waiting after refusing the tool");
    assert!(env.capture("chat").contains("Tool use was rejected."), "{}", env.capture("chat"));

    let mut waiter = spawn_wait(&env, "chat", &["exited"]);
    assert!(waiter.running(), "still running: {:?}", waiter.try_output().map(|o| describe(&o)));
    send(&env, "chat", "/quit 7");
    assert_code(&waiter.wait_output(), 0, "wait --until exited");
    assert_eq!(env.session_json("chat").unwrap()["exit_code"], 7);
    // The condition still holds: answered at once.
    assert_code(&wait(&env, "chat", &["exited"]), 0, "wait --until exited on an exited session");
}

#[test]
fn wait_gives_up_after_its_timeout_and_not_before() {
    let env = Env::new();
    start_chat(&env, "chat");
    for until in [&["approval"][..], &["output", "never-on-this-screen-[0-9]{9}"], &["exited"]] {
        let started = Instant::now();
        let out = env.qmux(&wait_args("chat", until, "0.5"));
        let took = started.elapsed();
        assert_code(&out, 3, &format!("wait --until {until:?} --timeout 0.5"));
        assert_one_line_error(&out, "a timeout");
        assert!(took >= Duration::from_millis(450), "--timeout 0.5 gave up after {took:?}");
        assert!(took < Duration::from_secs(3), "--timeout 0.5 took {took:?}");
    }
    assert_eq!(env.state("chat"), "waiting", "waiting for it changed nothing");
}

#[test]
fn wait_exits_4_when_the_session_is_killed_first() {
    let env = Env::new();
    start_chat(&env, "doomed");
    let mut waiter = spawn_wait(&env, "doomed", &["approval"]);
    assert!(waiter.running(), "no question yet: {:?}", waiter.try_output().map(|o| describe(&o)));
    env.qmux_ok(&["kill", "-t", "doomed"]);
    let out = waiter.wait_output();
    assert_code(&out, 4, "wait on a session killed while waiting");
    assert_one_line_error(&out, "a killed session");
}

#[test]
fn wait_exits_4_when_the_session_exits_first_or_already_has() {
    let env = Env::new();
    start_chat(&env, "chat");
    let mut waiter = spawn_wait(&env, "chat", &["approval"]);
    assert!(waiter.running(), "no question yet: {:?}", waiter.try_output().map(|o| describe(&o)));
    send(&env, "chat", "/quit 2");
    let out = waiter.wait_output();
    assert_code(&out, 4, "wait --until approval on a chat that quits");
    assert_one_line_error(&out, "a session that exited");

    // Asked after the end: the condition can never hold any more.
    env.wait_state("chat", "exited");
    let started = Instant::now();
    let out = env.qmux(&wait_args("chat", &["waiting"], "5"));
    assert_code(&out, 4, "wait --until waiting on a session that has already exited");
    assert!(started.elapsed() < Duration::from_secs(3), "answered at once, not after the timeout");
    // What is on its last screen still matches.
    assert_code(&wait(&env, "chat", &["output", "exited with code 2"]), 0, "wait --until output on the last screen");
}

#[test]
fn wait_refuses_bad_conditions() {
    let env = Env::new();
    start_chat(&env, "chat");

    let out = env.qmux(&wait_args("chat", &["output", "("], "5"));
    assert!(!matches!(out.status.code(), Some(0 | 3 | 4)), "a bad REGEX is an error, not a result\n{}", describe(&out));
    assert_one_line_error(&out, "a bad REGEX");

    for until in [&["bogus"][..], &["output"], &["waiting", "extra"]] {
        let out = env.qmux(&wait_args("chat", until, "5"));
        assert_code(&out, 2, &format!("wait --until {until:?}"));
        assert_one_line_error(&out, &format!("wait --until {until:?}"));
    }
    let out = env.qmux(&wait_args("chat", &["waiting"], "0"));
    assert_code(&out, 2, "wait --timeout 0");
}

// ---- 5. capture ----

#[test]
fn capture_prints_what_an_attached_client_shows() {
    let env = Env::new();
    env.start_detached("chat", &["qmux-chat"]);
    let mut term = env.attach(&["attach", "-t", "chat"], COLS, ROWS);
    term.wait_for(at_prompt, "the chat's prompt");
    term.type_str("show me something worth capturing\r");
    term.wait_session_text("You said: show me something worth capturing");
    term.wait_for(at_prompt, "the prompt after the reply");
    env.wait_state("chat", "waiting");

    let last = RefCell::new((String::new(), Vec::new()));
    poll_until(
        DEFAULT_TIMEOUT,
        "qmux capture to print the client's session rows",
        || {
            let captured = env.capture("chat");
            let shown = trim_blank_tail(term.session_rows());
            let same = rows_of(&captured) == shown;
            *last.borrow_mut() = (captured, shown);
            same.then_some(())
        },
        || {
            let (captured, shown) = &*last.borrow();
            format!("--- qmux capture ---\n{captured}--- the client shows ---\n{}", shown.join("\n"))
        },
    );
    let captured = env.capture("chat");
    assert!(captured.ends_with('\n') && !captured.ends_with("\n\n"), "no trailing blank rows: {captured:?}");
    assert!(captured.lines().all(|l| l == l.trim_end()), "no trailing spaces: {captured:?}");
}

#[test]
fn capture_ansi_keeps_colours_and_plain_capture_has_none() {
    let env = Env::new();
    env.start_detached("colour", &["sh", "-c", "printf '\\033[31mred\\033[0m plain\\n'; exec cat"]);
    let plain = poll_until(
        DEFAULT_TIMEOUT,
        "the coloured line in capture",
        || Some(env.capture("colour")).filter(|c| c.starts_with("red plain")),
        || env.capture("colour"),
    );
    assert!(!plain.contains('\x1b'), "plain capture has no escapes: {plain:?}");

    let ansi = env.qmux_ok(&["capture", "-t", "colour", "--ansi"]);
    let red = sgr_params(&ansi).into_iter().any(|p| {
        let p: Vec<&str> = p.split(';').collect();
        p.contains(&"31") || p.windows(3).any(|w| w == ["38", "5", "1"])
    });
    assert!(red, "--ansi has an SGR for red: {}", escape_bytes(ansi.as_bytes()));

    // Played back in a terminal, it shows the same colours.
    let mut parser = vt100::Parser::new(ROWS.try_into().unwrap(), COLS.try_into().unwrap(), 0);
    parser.process(ansi.replace('\n', "\r\n").as_bytes());
    let screen = parser.screen();
    assert_eq!(screen.contents().lines().next(), Some("red plain"), "{}", escape_bytes(ansi.as_bytes()));
    assert_eq!(screen.cell(0, 0).unwrap().fgcolor(), vt100::Color::Idx(1), "r is red");
    assert_eq!(screen.cell(0, 4).unwrap().fgcolor(), vt100::Color::Default, "p is not");
}

// ---- 6. send ----

#[test]
fn multi_line_text_sent_from_stdin_arrives_as_one_message() {
    let env = Env::new();
    start_chat(&env, "chat");
    let out = env.qmux_with_stdin(&["send", "-t", "chat", "-"], b"line one\nline two\nline three");
    assert_code(&out, 0, "qmux send -t chat -");

    poll_until(
        DEFAULT_TIMEOUT,
        "the reply to the pasted message",
        || {
            let s = env.capture("chat");
            (s.contains("You said (3 lines): line one") && at_prompt_in(&rows_of(&s))).then_some(())
        },
        || env.capture("chat"),
    );
    env.wait_state("chat", "waiting");
    let screen = env.capture("chat");
    assert_eq!(screen.matches("You said").count(), 1, "one message, not three:\n{screen}");
    assert_eq!(screen.matches("You said (3 lines): line one").count(), 1, "{screen}");
}

// ---- 7. ls --json ----

#[test]
fn ls_json_has_every_documented_field_with_its_type() {
    let env = Env::new();
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    env.start_detached("chat", &["qmux-chat"]);
    env.start_detached("gone", &["sh", "-c", "echo bye; exit 3"]);
    let mut term = env.attach(&["attach", "-t", "chat"], COLS, ROWS);
    term.wait_marker("chat", "*");
    term.wait_for(at_prompt, "the chat's prompt");
    env.wait_state("gone", "exited");
    env.wait_state("chat", "waiting");

    let text = env.qmux_ok(&["ls", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&text).expect("ls --json is JSON");
    let sessions = json.as_array().unwrap_or_else(|| panic!("an array: {text}"));
    assert_eq!(sessions.len(), 2, "{text}");
    let after = before + 120;

    for s in sessions {
        let is_u64 = |f: &str| s[f].is_u64();
        for f in ["index", "id", "created", "queued_messages", "attached_clients", "cols", "rows"] {
            assert!(is_u64(f), "{f} is a non-negative integer: {s:#}");
        }
        for f in ["unseen_output", "done", "bell"] {
            assert!(s[f].is_boolean(), "{f} is a boolean: {s:#}");
        }
        for f in ["name", "state", "cwd"] {
            assert!(s[f].is_string(), "{f} is a string: {s:#}");
        }
        assert!(
            ["busy", "waiting", "approval", "exited"].contains(&s["state"].as_str().unwrap()),
            "state is one of the four: {s:#}"
        );
        let command = s["command"].as_array().unwrap_or_else(|| panic!("command is an array: {s:#}"));
        assert!(!command.is_empty() && command.iter().all(|a| a.is_string()), "command holds strings: {s:#}");
        assert!(s["pid"].is_u64() || s["pid"].is_null(), "pid is an integer or null: {s:#}");
        assert!(s["last_output"].is_u64() || s["last_output"].is_null(), "last_output: {s:#}");
        assert!(s["exit_code"].is_i64() || s["exit_code"].is_null(), "exit_code: {s:#}");
        let created = s["created"].as_u64().unwrap();
        assert!((before.saturating_sub(5)..after).contains(&created), "created {created} is Unix seconds: {s:#}");
        if let Some(t) = s["last_output"].as_u64() {
            assert!(t >= created.saturating_sub(1) && t < after, "last_output {t} is Unix seconds: {s:#}");
        }
        let cwd = std::path::Path::new(s["cwd"].as_str().unwrap());
        assert_eq!(cwd.canonicalize().ok(), env.work_dir().canonicalize().ok(), "cwd: {s:#}");
    }

    let chat = &sessions[0];
    assert_eq!(chat["name"], "chat");
    assert_eq!(chat["index"], 0);
    assert_eq!(chat["state"], "waiting");
    assert_eq!(chat["command"], serde_json::json!(["qmux-chat"]));
    assert!(chat["exit_code"].is_null(), "{chat:#}");
    assert_eq!(chat["attached_clients"], 1);
    assert_eq!((chat["cols"].as_u64(), chat["rows"].as_u64()), (Some(u64::from(COLS)), Some(u64::from(ROWS - 1))));
    assert_eq!(chat["queued_messages"], 0);
    let pid = chat["pid"].as_u64().unwrap_or_else(|| panic!("a running chat has a pid: {chat:#}"));
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists(), "the pid is the chat's: {chat:#}");
    assert!(chat["last_output"].is_u64(), "the chat printed its banner: {chat:#}");

    let gone = &sessions[1];
    assert_eq!(gone["name"], "gone");
    assert_eq!(gone["index"], 1);
    assert_eq!(gone["state"], "exited");
    assert_eq!(gone["exit_code"], 3);
    assert_eq!(gone["attached_clients"], 0);
    assert_eq!(gone["command"], serde_json::json!(["sh", "-c", "echo bye; exit 3"]));
    assert_ne!(chat["id"], gone["id"], "ids differ");
}

// ---- 8. notifications to the outer terminal ----

#[test]
fn a_notification_is_sent_for_a_background_session_and_never_for_the_one_shown() {
    let env = Env::with_config("notify = \"osc9\"\n");
    let mut term = env.attach(&["new", "-s", "a", "--", "qmux-chat"], COLS, ROWS);
    term.wait_marker("a", "*");
    term.wait_for(at_prompt, "a's prompt");
    env.start_detached("b", &["qmux-chat"]);
    env.wait_state("b", "waiting");
    env.wait_state("a", "waiting");
    // Look at b once and come back, so whatever its start-up set (a ✓, a
    // message) is cleared before it does something worth telling.
    term.prefix(b'1');
    term.wait_marker("b", "*");
    term.prefix(b'l');
    term.wait_marker("a", "*");
    term.wait_status(
        |row| status::entry(row, "b").is_some_and(|e| !e.has("✓") && !e.has("…")) && !row.contains("finished"),
        "b waiting, not marked done, and no message left",
    );
    let about_b = |raw: &[u8]| oscs(raw, "9").into_iter().filter(|t| t.contains("1:b")).count();
    let before = about_b(&term.output_raw());

    send(&env, "b", "hello from the background");
    term.wait_marker("b", "✓");
    term.wait_status(|row| row.contains("1:b finished"), "the message \"1:b finished\"");
    assert_eq!(env.session_json("b").unwrap()["done"], true);
    let raw = poll_until(
        DEFAULT_TIMEOUT,
        "an OSC 9 notification about 1:b written to the client's terminal",
        || Some(term.output_raw()).filter(|raw| about_b(raw) > before),
        || {
            let raw = term.output_raw();
            format!(
                "OSC 9 so far: {:?}\n--- last bytes ---\n{}",
                oscs(&raw, "9"),
                escape_bytes(&raw[raw.len().saturating_sub(400)..])
            )
        },
    );
    let last = oscs(&raw, "9").into_iter().rfind(|t| t.contains("1:b")).unwrap();
    assert!(last.starts_with("qmux: ") && last.contains("finished"), "OSC 9 says b finished: {last:?}");
    // One escape, the one asked for: OSC 777 would be a second notice on
    // terminals that take both.
    assert!(oscs(&raw, "777").is_empty(), "no OSC 777 beside it: {:?}", oscs(&raw, "777"));

    // Now the session on screen finishes a reply: nothing for the outer
    // terminal, and no ✓ either.
    let mark = term.output_raw().len();
    term.type_str("hello from the front\r");
    term.wait_session_text("You said: hello from the front");
    term.wait_for(at_prompt, "a's prompt after the reply");
    env.wait_state("a", "waiting");
    // A barrier: a rename redraws the status bar, and frames arrive in
    // order, so once it shows, everything about a's reply has arrived too.
    env.qmux_ok(&["rename", "-t", "b", "bee"]);
    term.wait_marker("bee", "");
    let since = &term.output_raw()[mark..];
    assert!(
        oscs(since, "9").is_empty() && oscs(since, "777").is_empty(),
        "no notification for the session shown: {:?} {:?}",
        oscs(since, "9"),
        oscs(since, "777")
    );
    assert!(!term.status_entry("a").unwrap().has("✓"), "the shown session is never done:\n{}", term.dump());
    assert_eq!(env.session_json("a").unwrap()["done"], false);
}

// ---- 9. attention from background programs ----

#[test]
fn a_bell_or_an_osc_9_from_a_background_program_asks_for_attention() {
    let env = Env::new();
    env.start_detached("main", &["cat"]);
    let bell = env.after_trigger("go-bell", "printf '\\a'; exec cat");
    let osc = env.after_trigger("go-osc", "printf '\\033]9;hi\\007'; exec cat");
    for (name, command) in [("bell", &bell), ("osc", &osc)] {
        let command: Vec<&str> = command.iter().map(String::as_str).collect();
        env.start_detached(name, &command);
    }
    let mut term = env.attach(&["attach", "-t", "main"], COLS, ROWS);
    term.wait_marker("main", "*");
    for name in ["bell", "osc"] {
        assert!(!term.status_entry(name).unwrap().has("!"), "{name} has not rung yet:\n{}", term.dump());
    }

    env.trigger("go-bell");
    term.wait_marker("bell", "!");
    // The entry, and a message that names it.
    term.wait_status(|row| row.matches("1:bell").count() >= 2, "a message about the bell");
    assert_eq!(env.session_json("bell").unwrap()["bell"], true);

    env.trigger("go-osc");
    term.wait_marker("osc", "!");
    term.wait_status(|row| row.matches("2:osc").count() >= 2, "a message about the notification");
    assert_eq!(env.session_json("osc").unwrap()["bell"], true);
    assert!(!term.status_entry("main").unwrap().has("!"), "main did nothing:\n{}", term.dump());
}

// ---- 10. the chooser ----

#[test]
fn the_chooser_shows_states_and_a_live_preview() {
    let env = Env::new();
    start_chat(&env, "chat");
    env.start_detached("ticker", &["sh", "-c", "while :; do echo tick; sleep 0.1; done"]);
    env.start_detached("notes", &["cat"]);
    env.wait_state("ticker", "busy");
    let mut term = env.attach(&["attach", "-t", "chat"], COLS, ROWS);
    term.wait_marker("chat", "*");
    term.wait_for(at_prompt, "the chat's prompt");

    term.prefix(b'w');
    let row_with = |rows: &[String], text: &str| rows.iter().position(|r| r.contains(text));
    poll_until(
        DEFAULT_TIMEOUT,
        "the chooser listing chat as waiting and ticker as busy",
        || {
            let rows = term.session_rows();
            let chat = row_with(&rows, "0:chat").map(|i| rows[i].clone()).unwrap_or_default();
            let ticker = row_with(&rows, "1:ticker").map(|i| rows[i].clone()).unwrap_or_default();
            (chat.contains("waiting") && ticker.contains("busy")).then_some(())
        },
        || format!("{}\n{}", term.rows().join("\n"), server_health(&env)),
    );
    // The preview of the selected session (the chat, shown when it opened)
    // sits below the list.
    let below_list = |rows: &[String], text: &str| {
        let list_end = row_with(rows, "2:notes").unwrap_or(usize::MAX);
        rows.iter().enumerate().any(|(i, r)| i > list_end && r.contains(text))
    };
    term.wait_for(
        |s| below_list(&qmux_e2e::session_rows(s), "Welcome to the qmux stand-in chat!"),
        "the chat's screen previewed below the list",
    );

    term.type_str("jj");
    term.wait_for(
        |s| qmux_e2e::session_rows(s).iter().any(|r| r.trim_start().starts_with("> 2:notes")),
        "notes selected",
    );
    for line in ["preview-update-one", "preview-update-two"] {
        send(&env, "notes", line);
        term.wait_for(
            |s| {
                let rows = qmux_e2e::session_rows(s);
                below_list(&rows, line) && row_with(&rows, "Choose a session").is_some()
            },
            &format!("{line:?} in the preview, the chooser still open"),
        );
    }
    assert!(!term.screen_text().contains("Welcome to the qmux"), "the preview follows the selection:\n{}", term.dump());
}

// ---- 11. the terminal comes back ----

/// A client attached to a `cat` session called `a`, in raw mode on the
/// alternate screen.
fn attached_client(env: &Env) -> qmux_e2e::Term {
    env.start_detached("a", &["cat"]);
    let mut term = env.attach(&["attach", "-t", "a"], COLS, ROWS);
    term.wait_marker("a", "*");
    term.wait_raw(b"\x1b[?1049h", "the client to enter the alternate screen");
    assert!(!term.is_cooked(), "the client puts the terminal in raw mode");
    term
}

/// The client has ended and left the terminal as it found it.
fn assert_restored(term: &mut qmux_e2e::Term, how: &str) {
    term.wait_exit();
    let raw = term.output_raw();
    let entered = raw.windows(8).rposition(|w| w == b"\x1b[?1049h").unwrap();
    assert!(
        raw[entered..].windows(8).any(|w| w == b"\x1b[?1049l"),
        "{how}: the client leaves the alternate screen:\n{}",
        term.dump()
    );
    assert!(term.screen(|s| !s.alternate_screen() && !s.hide_cursor()), "{how}: main screen, cursor shown");
    assert!(term.is_cooked(), "{how}: ICANON and ECHO are back on");
}

#[test]
fn the_terminal_is_restored_when_the_server_goes_away() {
    let env = Env::new();
    let mut term = attached_client(&env);
    env.qmux_ok(&["kill-server"]);
    assert_restored(&mut term, "after kill-server");
}

#[test]
fn the_terminal_is_restored_when_the_client_gets_sigterm() {
    let env = Env::new();
    let mut term = attached_client(&env);
    term.kill(Signal::SIGTERM);
    assert_restored(&mut term, "after SIGTERM");
    env.wait_ls("a listed, not attached", |s| s.iter().any(|s| s.name == "a" && !s.attached()));
}

#[test]
fn a_client_hung_up_exits_and_the_sessions_survive() {
    let env = Env::new();
    let mut term = attached_client(&env);
    term.kill(Signal::SIGHUP);
    term.wait_exit();
    assert!(term.is_cooked(), "after SIGHUP: ICANON and ECHO are back on");
    env.wait_ls("a listed, not attached", |s| s.iter().any(|s| s.name == "a" && !s.attached()));
}

// ---- agents: identification, rule files, explain ----

/// The agent is found in the PTY's foreground, whatever started it, and
/// `explain` says which rule set decides and why.
#[test]
fn the_agent_is_found_in_the_foreground_whatever_started_it() {
    let env = Env::new();
    env.start_detached("wrapped", &["sh", "-c", "qmux-chat; exit 3"]);
    env.wait_state("wrapped", "waiting");
    let explained = env.qmux_ok(&["explain", "-t", "wrapped"]);
    assert!(explained.contains("rules      qmux-chat ("), "the stand-in found under sh:\n{explained}");
    assert!(explained.contains("state      waiting: at the prompt"), "{explained}");
    let json: serde_json::Value = serde_json::from_str(&env.qmux_ok(&["explain", "-t", "wrapped", "--json"]))
        .expect("explain --json prints JSON");
    assert_eq!(json["rules"], "qmux-chat");
    assert_eq!(json["state"], "waiting");
    let listed = env.session_json("wrapped").expect("listed");
    assert_eq!(listed["agent"], "qmux-chat", "ls --json names the agent: {listed}");
    assert_eq!(json["signals"]["raw_mode"], true);
    // A plain program has no rule set of its own.
    env.start_detached("plain", &["cat"]);
    let plain = env.qmux_ok(&["explain", "-t", "plain"]);
    assert!(plain.contains("generic (no rule set)"), "{plain}");
    assert_eq!(env.session_json("plain").expect("listed")["agent"], serde_json::Value::Null);
    let out = env.qmux(&["explain", "-t", "nope"]);
    assert_one_line_error(&out, "explain of an unknown session");
}

/// A user's rule file replaces the built-in one at `qmux reload`, without a
/// restart; a broken one is refused with its line, and the old rules stay.
#[test]
fn a_users_rule_file_applies_at_reload_and_a_broken_one_is_refused() {
    let env = Env::with_config("");
    start_chat(&env, "chat");
    assert!(env.qmux_ok(&["explain", "-t", "chat"]).contains("built in"));
    let agents = env.config_path().parent().expect("the config's directory").join("agents");
    std::fs::create_dir_all(&agents).expect("the agents directory");
    let file = agents.join("qmux-chat.toml");
    std::fs::write(&file, "description = 'mine'\n[match]\nnames = ['qmux-chat']\n[prompt]\nsettle-ms = 100\n")
        .expect("a rule file");
    env.qmux_ok(&["reload"]);
    let explained = env.qmux_ok(&["explain", "-t", "chat"]);
    assert!(explained.contains(&format!("rules      qmux-chat (mine): {}", file.display())), "{explained}");
    std::fs::write(&file, "[prompt\n").expect("a broken rule file");
    let out = env.qmux(&["reload"]);
    assert_one_line_error(&out, "a broken rule file");
    assert!(String::from_utf8_lossy(&out.stderr).contains("qmux-chat.toml:1:"), "{out:?}");
    assert!(env.qmux_ok(&["explain", "-t", "chat"]).contains("(mine)"), "the old rules stay");
    let shown = env.qmux(&["agents", "show", "qmux-chat"]);
    assert_one_line_error(&shown, "agents show with a broken rule file");
}

/// `explain --screen` explains a saved screen under an agent's rules.
#[test]
fn explain_reads_a_saved_screen() {
    let env = Env::new();
    let screen = env.work_dir().join("screen.txt");
    std::fs::write(&screen, "Bash command\n  rm -rf build\n\nDo you want to proceed?\n> 1. Yes\n  2. No\n")
        .expect("a screen file");
    let path = screen.to_string_lossy().into_owned();
    let out = env.qmux_ok(&["explain", "--screen", &path, "--agent", "claude", "--size", "80x10"]);
    assert!(out.contains("state      approval: approval question \"Do you want to proceed?\""), "{out}");
    // The generic rules know the question by its shape, and a bare prompt
    // as waiting.
    let generic = env.qmux_ok(&["explain", "--screen", &path]);
    assert!(generic.contains("state      approval: approval question \"Do you want to proceed?\""), "{generic}");
    let prompt = env.work_dir().join("prompt.txt");
    std::fs::write(&prompt, "a reply\n\n> ").expect("a screen file");
    let generic = env.qmux_ok(&["explain", "--screen", &prompt.to_string_lossy()]);
    assert!(generic.contains("state      waiting"), "{generic}");
    assert_one_line_error(&env.qmux(&["explain", "--screen", &path, "--agent", "nope"]), "unknown agent");
    assert_one_line_error(&env.qmux(&["explain", "--screen", "/nonexistent"]), "missing screen file");
    assert_code(&env.qmux(&["explain", "--screen", &path, "--size", "80"]), 2, "a bad --size");
}

/// `qmux report` from a script makes the state; `--end` hands it back to
/// the screen. `qmux hooks install --dry-run` shows and writes nothing.
#[test]
fn a_report_decides_until_it_ends_and_a_dry_run_writes_nothing() {
    let env = Env::new();
    start_chat(&env, "chat");
    env.qmux_ok(&["report", "-t", "chat", "--state", "busy", "--conversation", "c-1"]);
    assert_eq!(env.state("chat"), "busy", "the report decides");
    let json = env.session_json("chat").expect("listed");
    assert_eq!(json["conversation"], "c-1", "{json}");
    assert!(env.qmux_ok(&["explain", "-t", "chat"]).contains("hook report busy"));
    env.qmux_ok(&["report", "-t", "chat", "--end"]);
    env.wait_state("chat", "waiting");
    assert_code(&env.qmux(&["report", "-t", "chat"]), 2, "report with nothing to say");
    assert_one_line_error(&env.qmux(&["report", "--state", "busy"]), "report outside qmux without -t");

    let dry = env.qmux_ok(&["hooks", "install", "claude", "--dry-run"]);
    assert!(dry.contains("would add to") && dry.contains("hooks.Stop"), "{dry}");
    assert!(!env.home().join(".claude/settings.json").exists(), "a dry run writes nothing");
    let listed = env.qmux_ok(&["agents"]);
    assert!(listed.contains("claude") && listed.contains("built in · hooks"), "{listed}");
}

#[test]
fn send_says_when_it_queues_and_never_types_into_a_question() {
    let env = Env::new().with_var("QMUX_CHAT_TOOL_MS", "200");
    start_chat(&env, "chat");
    let mut busy = spawn_wait(&env, "chat", &["busy"]);
    wait_registered(&env, &mut busy);
    send(&env, "chat", "use a tool please");
    assert_code(&busy.wait_output(), 0, "wait --until busy");
    assert_code(&wait(&env, "chat", &["approval"]), 0, "wait --until approval");
    // A plain send while it asks: queued, said, nothing typed.
    let out = env.qmux(&["send", "-t", "chat", "ping 1"]);
    assert_code(&out, 0, "send while asking");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim(), "qmux: queued: 0:chat is asking for approval; qmux approve/deny answers it");
    assert_eq!(env.session_json("chat").unwrap()["queued_messages"], 1);
    assert!(!env.capture("chat").contains("ping 1"), "{}", env.capture("chat"));
    // Answered: the chat goes on, then gets the message.
    env.qmux_ok(&["deny", "-t", "chat"]);
    assert_code(&wait(&env, "chat", &["output", r"You said: ping 1"]), 0, "the queued message, after the answer");
    // --when-waiting says so too when it has to wait.
    env.wait_state("chat", "waiting");
    send(&env, "chat", "use a tool please");
    let out = env.qmux(&["send", "-t", "chat", "--when-waiting", "ping 2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("qmux: queued: 0:chat is "), "{err}");
    // --now types into the question: the chat takes "n" as its answer.
    assert_code(&wait(&env, "chat", &["approval"]), 0, "asking again");
    env.qmux_ok(&["send", "-t", "chat", "--now", "n"]);
    assert_code(&wait(&env, "chat", &["output", r"You said: ping 2"]), 0, "refused, then the queued message");
}
