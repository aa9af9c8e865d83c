//! Notifications: which session needs the user and why, on each channel
//! (the client's terminal, a real D-Bus session bus, a command), only when
//! it helps, and the attention log (`qmux log`) behind them.
//!
//! The sessions are the stand-in chat (`qmux-chat`): a message with "tool"
//! in it makes it ask `Allow this action? … [y/n/t]:`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use qmux_e2e::notifyd::Notifyd;
use qmux_e2e::{escape_bytes, poll_until, Env, Term, DEFAULT_TIMEOUT};
use serde_json::Value;

const COLS: u16 = 100;
const ROWS: u16 = 30;

/// A detached stand-in chat called `name`, waiting at its prompt.
fn start_chat(env: &Env, name: &str) {
    env.start_detached(name, &["qmux-chat"]);
    env.wait_state(name, "waiting");
}

fn send(env: &Env, target: &str, text: &str) {
    env.qmux_ok(&["send", "-t", target, text]);
}

/// `qmux log --json`, one object per line.
fn log(env: &Env) -> Vec<Value> {
    env.qmux_ok(&["log", "--json"]).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
}

/// Waits until the log has an entry `pred` accepts; returns it.
fn wait_log(env: &Env, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    poll_until(DEFAULT_TIMEOUT, what, || log(env).into_iter().find(|e| pred(e)), || env.qmux_ok(&["log"]))
}

/// A config whose command channel writes each notice's stdin and `QMUX_*`
/// variables to `dir`, one pair of files per call.
fn recording_command(dir: &Path) -> String {
    let script = format!(
        "n=$(date +%s%N); env | grep ^QMUX_ | sort > {d}/$n.env; cat > {d}/$n.part; mv {d}/$n.part {d}/$n.json",
        d = dir.display()
    );
    format!("notify-command = [\"sh\", \"-c\", {script:?}]\n")
}

/// The notices the recording command got, oldest first: (stdin JSON,
/// variables).
fn recorded(dir: &Path) -> Vec<(Value, String)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "json")).collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .filter_map(|json| {
            let vars = std::fs::read_to_string(json.with_extension("env")).ok()?;
            let value = serde_json::from_str(&std::fs::read_to_string(&json).ok()?).ok()?;
            Some((value, vars))
        })
        .collect()
}

fn recorded_dir(env: &Env) -> PathBuf {
    let dir = env.root().join("notices");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every OSC of `kind` in `raw`, by its text.
fn oscs(raw: &[u8], kind: &str) -> Vec<String> {
    let start = format!("\x1b]{kind};");
    let text = String::from_utf8_lossy(raw);
    text.match_indices(&start)
        .map(|(i, _)| {
            let body = &text[i + start.len()..];
            body[..body.find(['\x07', '\x1b']).unwrap_or(body.len())].to_string()
        })
        .collect()
}

// ---- the terminal channel ----

#[test]
fn each_terminal_gets_the_escape_it_understands_and_tmux_gets_it_wrapped() {
    let env = Env::with_config("notify = [\"terminal\"]\nnotify-settle-ms = 200\n");
    start_chat(&env, "a");
    start_chat(&env, "b");
    let attach = |vars: &[(&str, &str)]| -> Term {
        let mut term = env.attach_with_env(&["attach", "-t", "a"], COLS, ROWS, vars);
        term.wait_marker("a", "*");
        term
    };
    let wezterm = attach(&[("TERM_PROGRAM", "WezTerm")]);
    let foot = attach(&[("TERM", "foot")]);
    let kitty = attach(&[("TERM", "xterm-kitty"), ("KITTY_WINDOW_ID", "1")]);
    let plain = attach(&[]);
    let in_tmux = attach(&[("TERM_PROGRAM", "WezTerm"), ("TMUX", "/tmp/tmux-0/default,1,0")]);
    let bells_before = plain.bells();

    send(&env, "b", "hello from the background");
    let sent = wait_log(&env, "the notice for 1:b", |e| e["event"] == "finished" && e["session"] == "1:b");
    assert_eq!(sent["sent"], serde_json::json!(["terminal"]), "{sent}");
    let text = sent["text"].as_str().unwrap().to_string();
    assert!(text.starts_with("1:b (qmux-chat) finished after "), "{text}");

    let got = |term: &Term, what: &str, check: &dyn Fn(&[u8]) -> bool| {
        poll_until(
            DEFAULT_TIMEOUT,
            what,
            || check(&term.output_raw()).then_some(()),
            || {
                let raw = term.output_raw();
                escape_bytes(&raw[raw.len().saturating_sub(600)..])
            },
        )
    };
    let osc9 = format!("qmux: {text}");
    got(&wezterm, "OSC 9 in WezTerm", &|raw| oscs(raw, "9").contains(&osc9));
    got(&foot, "OSC 777 in foot", &|raw| {
        oscs(raw, "777")
            .iter()
            .any(|t| t.starts_with("notify;qmux: 1:b (qmux-chat) finished after ") && t.contains(";\""))
    });
    got(&kitty, "OSC 99 in kitty, title then body", &|raw| {
        let found = oscs(raw, "99");
        found.iter().any(|t| t.starts_with("i=1:d=0;qmux: 1:b (qmux-chat) finished"))
            && found.iter().any(|t| t.starts_with("i=1:p=body;\""))
    });
    poll_until(
        DEFAULT_TIMEOUT,
        "a bell in a terminal qmux cannot place",
        || (plain.bells() > bells_before).then_some(()),
        || format!("{} bells", plain.bells()),
    );
    let wrapped = format!("\x1bPtmux;\x1b\x1b]9;{osc9}\x07\x1b\\");
    got(&in_tmux, "OSC 9 passed through tmux", &|raw| String::from_utf8_lossy(raw).contains(&wrapped));
    // Each terminal got its own escape only.
    for (term, name) in [(&wezterm, "wezterm"), (&foot, "foot"), (&kitty, "kitty"), (&plain, "plain")] {
        let raw = term.output_raw();
        let kinds = ["9", "777", "99"].into_iter().filter(|k| !oscs(&raw, k).is_empty()).count();
        assert_eq!(kinds, usize::from(name != "plain"), "{name} got one kind of escape:\n{}", escape_bytes(&raw));
    }

    // The session every client shows finishes: nobody is told.
    let marks: Vec<usize> = [&wezterm, &foot, &kitty].iter().map(|t| t.output_raw().len()).collect();
    send(&env, "a", "hello in front");
    let skipped =
        wait_log(&env, "a's finished turn, not notified", |e| e["event"] == "finished" && e["session"] == "0:a");
    assert_eq!(skipped["skipped"], "the session is shown in a client", "{skipped}");
    for (term, mark) in [&wezterm, &foot, &kitty].iter().zip(marks) {
        let since = &term.output_raw()[mark..];
        assert!(
            ["9", "777", "99"].iter().all(|k| oscs(since, k).is_empty()),
            "no escape for the shown session: {}",
            escape_bytes(since)
        );
    }
}

// ---- the command channel ----

#[test]
fn a_command_gets_each_notice_as_json_and_variables() {
    let env = Env::new();
    let dir = recorded_dir(&env);
    let mut env = env;
    env.set_config(&format!(
        "notify = [\"command\"]\nnotify-settle-ms = 200\nnotify-quiet-ms = 0\n{}",
        recording_command(&dir)
    ));
    start_chat(&env, "b");
    send(&env, "b", "please use the tool");
    env.wait_state("b", "approval");
    let got = poll_until(
        DEFAULT_TIMEOUT,
        "the approval notice",
        || recorded(&dir).into_iter().next(),
        || env.qmux_ok(&["log"]),
    );
    let (json, vars) = got;
    assert_eq!(json["event"], "approval");
    assert_eq!(json["session"], "0:b");
    assert_eq!(json["agent"], "qmux-chat");
    let text = json["text"].as_str().unwrap();
    assert!(text.starts_with("0:b (qmux-chat) needs approval: Allow this action?"), "{text}");
    for var in ["QMUX_SESSION=0:b", "QMUX_AGENT=qmux-chat", "QMUX_EVENT=approval", &format!("QMUX_TEXT={text}")] {
        assert!(vars.lines().any(|l| l == var), "{var} in\n{vars}");
    }
    assert!(vars.lines().any(|l| l.starts_with("QMUX_HOST=") && l.len() > "QMUX_HOST=".len()), "{vars}");
    env.qmux_ok(&["approve", "-t", "b"]);
    let finished =
        poll_until(DEFAULT_TIMEOUT, "the finished notice", || recorded(&dir).get(1).cloned(), || env.qmux_ok(&["log"]));
    assert_eq!(finished.0["event"], "finished");
    let reply_end = finished.0["body"].as_str().unwrap();
    let screen = env.capture("b");
    let last = screen.lines().rev().map(str::trim).find(|l| !l.is_empty() && *l != ">").unwrap();
    assert_eq!(reply_end, format!("\"{last}\""), "the reply's last line, from the screen:\n{screen}");

    // A program that ends says how.
    env.start_detached("c", &["sh", "-c", "sleep 0.3; exit 3"]);
    let exited =
        poll_until(DEFAULT_TIMEOUT, "the exited notice", || recorded(&dir).get(2).cloned(), || env.qmux_ok(&["log"]));
    assert_eq!(exited.0["text"], "1:c exited with code 3");
    assert_eq!(recorded(&dir).len(), 3, "one notice per event");
}

#[test]
fn a_hanging_command_is_killed_whole_at_its_timeout_and_the_server_serves_on() {
    let env = Env::new();
    let pid_file = env.root().join("sleeper.pid");
    let mut env = env;
    let script = format!("sleep 1000 & echo $! > {}; wait", pid_file.display());
    env.set_config(&format!(
        "notify = [\"command\"]\nnotify-settle-ms = 100\nnotify-command-timeout-ms = 500\nnotify-command = [\"sh\", \"-c\", {script:?}]\n"
    ));
    start_chat(&env, "b");
    send(&env, "b", "hello");
    let failed = wait_log(&env, "the command's failure", |e| e["failed"].is_string());
    assert_eq!(failed["failed"], "command: notify-command \"sh\" took longer than 500 ms and was killed", "{failed}");
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    poll_until(
        DEFAULT_TIMEOUT,
        "the command's child gone too",
        || (!qmux_e2e::alive(pid)).then_some(()),
        || format!("pid {pid} is alive"),
    );
    // The event stays in the log, and the server is fine.
    assert!(log(&env).iter().any(|e| e["event"] == "finished" && e["sent"] == serde_json::json!(["command"])));
    send(&env, "b", "still there?");
    env.wait_state("b", "waiting");
}

#[test]
fn a_missing_program_is_reported_once_and_every_event_stays_in_the_log() {
    let env = Env::with_config(
        "notify = [\"command\"]\nnotify-settle-ms = 100\nnotify-quiet-ms = 0\nnotify-command = [\"/nonexistent/notifier\"]\n",
    );
    start_chat(&env, "a");
    start_chat(&env, "b");
    let mut first = env.attach(&["attach", "-t", "a"], COLS, ROWS);
    first.wait_marker("a", "*");
    send(&env, "b", "one");
    first.wait_status(|row| row.contains("notification not delivered"), "the failure, shown");
    assert!(first.status_row().contains("\"/nonexistent/notifier\" was not found"), "{}", first.status_row());
    // A client that comes later is not told again.
    let mut second = env.attach(&["attach", "-t", "a"], COLS, ROWS);
    second.wait_marker("a", "*");
    env.wait_state("b", "waiting");
    send(&env, "b", "two");
    poll_until(
        DEFAULT_TIMEOUT,
        "two failures in the log",
        || (log(&env).iter().filter(|e| e["failed"].is_string()).count() == 2).then_some(()),
        || env.qmux_ok(&["log"]),
    );
    // A barrier: frames arrive in order, so once the rename shows, a
    // warning sent before it would have too.
    env.qmux_ok(&["rename", "-t", "b", "bee"]);
    second.wait_marker("bee", "");
    assert!(
        !String::from_utf8_lossy(&second.output_raw()).contains("notification not delivered"),
        "shown once, not to every client again"
    );
    let notices: Vec<Value> = log(&env).into_iter().filter(|e| e["event"] == "finished").collect();
    assert_eq!(notices.len(), 2, "both events are in the log");
}

// ---- only when it helps ----

#[test]
fn a_question_answered_within_the_settle_time_and_a_turn_in_the_quiet_period_say_nothing() {
    let env = Env::new();
    let dir = recorded_dir(&env);
    let mut env = env;
    env.set_config(&format!(
        "notify = [\"command\"]\nnotify-settle-ms = 3000\nnotify-quiet-ms = 600000\n{}",
        recording_command(&dir)
    ));
    start_chat(&env, "b");
    send(&env, "b", "please use the tool");
    env.wait_state("b", "approval");
    env.qmux_ok(&["approve", "-t", "b"]);
    let (first, _) = poll_until(
        Duration::from_secs(20),
        "the finished notice",
        || recorded(&dir).into_iter().next(),
        || env.qmux_ok(&["log"]),
    );
    assert_eq!(first["event"], "finished", "the question came and went within the settle time: no approval notice");
    send(&env, "b", "hello again");
    let skipped =
        wait_log(&env, "the second turn, held back", |e| e["event"] == "finished" && e["skipped"].is_string());
    assert_eq!(skipped["skipped"], "in the session's quiet period");
    assert_eq!(recorded(&dir).len(), 1);
}

// ---- the desktop channel, over a real session bus ----

#[test]
fn a_desktop_notification_goes_over_dbus_and_a_click_shows_its_session() {
    let env = Env::new();
    let bus = Notifyd::start(env.root());
    let mut env = env.with_var("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    env.set_config("notify = [\"desktop\"]\nnotify-settle-ms = 200\nnotify-quiet-ms = 0\n");
    start_chat(&env, "a");
    start_chat(&env, "b");
    let mut term = env.attach(&["attach", "-t", "a"], COLS, ROWS);
    term.wait_marker("a", "*");
    send(&env, "b", "please use the tool");
    let shown = poll_until(
        DEFAULT_TIMEOUT,
        "a notification on the bus",
        || bus.shown().into_iter().next(),
        || env.qmux_ok(&["log"]),
    );
    assert_eq!(shown.app, "qmux");
    assert_eq!(shown.summary, "1:b (qmux-chat) needs approval");
    assert!(shown.body.starts_with("Allow this action?"), "{shown:?}");
    assert!(shown.actions.contains(&"default".to_string()), "clickable: {shown:?}");
    // A click can come before the server listens for it (it starts to once
    // the notification is shown): click again, as a user would, until b shows.
    let mut clicked = Instant::now() - Duration::from_secs(1);
    poll_until(
        Duration::from_secs(20),
        "a click to show b",
        || {
            if clicked.elapsed() >= Duration::from_millis(500) {
                bus.click(shown.id);
                clicked = Instant::now();
            }
            term.status_entry("b").is_some_and(|e| e.has("*")).then_some(())
        },
        || term.status_row(),
    );
    // Its next notice replaces it rather than piling up.
    env.qmux_ok(&["approve", "-t", "b"]);
    term.prefix(b'0');
    term.wait_marker("a", "*");
    let next = poll_until(
        Duration::from_secs(20),
        "the finished notification",
        || bus.shown().get(1).cloned(),
        || env.qmux_ok(&["log"]),
    );
    assert!(next.summary.starts_with("1:b (qmux-chat) finished after "), "{next:?}");
    assert_eq!(next.replaces, shown.id, "{next:?}");
}

// ---- the attention log ----

#[test]
fn the_summary_gives_the_waits_a_script_made_within_100_ms() {
    let env = Env::new();
    // Starting up is work too: the session is busy until its first prompt.
    let started = Instant::now();
    env.start_detached("a", &["qmux-chat"]);
    env.qmux_ok(&["wait", "-t", "a", "--until", "waiting", "--timeout", "10"]);
    let mut worked = started.elapsed();
    let mut waited = Vec::new();
    for (i, pause) in [800u64, 1500, 300].into_iter().enumerate() {
        let since = Instant::now();
        std::thread::sleep(Duration::from_millis(pause));
        let sent = Instant::now();
        waited.push(sent - since);
        send(&env, "a", &format!("message {i}"));
        env.qmux_ok(&["wait", "-t", "a", "--until", "waiting", "--timeout", "10"]);
        worked += sent.elapsed();
    }
    let ended = Instant::now();
    env.qmux_ok(&["kill", "-t", "a"]);
    waited.push(ended.elapsed());
    let sums: Value = serde_json::from_str(&env.qmux_ok(&["log", "--summary", "--json"])).unwrap();
    let a = &sums[0];
    assert_eq!(a["session"], "0:a", "{sums}");
    assert_eq!(a["state"], "closed");
    let near = |got: &Value, want: Duration, what: &str| {
        let got = got.as_u64().unwrap() as i64;
        let want = want.as_millis() as i64;
        assert!((got - want).abs() <= 100, "{what}: {got} ms in the log, {want} ms measured\n{sums}");
    };
    near(&a["longest_wait_ms"], *waited.iter().max().unwrap(), "the longest wait");
    // The first wait starts at the prompt, a moment before `qmux wait` saw it.
    let total: Duration = waited.iter().sum();
    near(&a["waited_ms"], total, "all the waits");
    // The work is measured here through each send's and wait's round trip,
    // which a loaded machine stretches: a looser bound.
    let work = (a["worked_ms"].as_u64().unwrap() as i64 - worked.as_millis() as i64).abs();
    assert!(work <= 300, "the work: {} ms in the log, {} ms measured\n{sums}", a["worked_ms"], worked.as_millis());
    let text = env.qmux_ok(&["log", "--summary"]);
    assert!(text.lines().any(|l| l.starts_with("0:a") && l.contains("closed")), "{text}");
    let one = env.qmux_ok(&["log", "-t", "a"]);
    assert!(one.lines().all(|l| l.contains("0:a")) && one.contains("waiting → busy"), "{one}");
}
