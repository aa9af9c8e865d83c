//! Sessions outlive the server (issue 5): saved continuously under
//! `$XDG_STATE_HOME/qmux/<socket name>/` as `KEY.json`, `KEY.history` and
//! `KEY.screen`, listed by `qmux ls --saved`, brought back by `qmux restore`
//! (or by a new server with `restore = "auto"`), with the stand-in chat
//! resumed through its `--resume`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::kill;
use nix::unistd::Pid;
use qmux_e2e::{assert_error, chat, poll_until, Env, LsLine, Signal, DEFAULT_TIMEOUT};

const TURN: &str = "remember the walrus";
const MARKER: &str = "restored from ";

// ---- helpers ----

/// The state directory of the default socket.
fn state_dir(env: &Env) -> PathBuf {
    PathBuf::from(&env.vars()["XDG_STATE_HOME"]).join("qmux").join("default")
}

/// A new directory under the test's root, canonical (as qmux stores cwds).
fn project_dir(env: &Env, name: &str) -> PathBuf {
    let dir = env.root().join(name);
    fs::create_dir_all(&dir).expect("cannot create a project directory");
    dir.canonicalize().expect("cannot canonicalize a project directory")
}

/// The saved files (`KEY.EXT`) in the state directory, sorted by name.
fn state_files(env: &Env) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(state_dir(env))
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// The key of the saved session called `name`: the stem of the `KEY.json`
/// whose `name` field is `name`.
fn key_of(env: &Env, name: &str) -> Option<String> {
    state_files(env).into_iter().filter(|f| f.ends_with(".json")).find_map(|f| {
        let text = fs::read_to_string(state_dir(env).join(&f)).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        (json["name"] == name).then(|| f.trim_end_matches(".json").to_string())
    })
}

fn wait_key(env: &Env, name: &str) -> String {
    poll_until(
        DEFAULT_TIMEOUT,
        &format!("a KEY.json for {name} in the state directory"),
        || key_of(env, name),
        || format!("state directory {}: {:?}", state_dir(env).display(), state_files(env)),
    )
}

/// Text without its CSI sequences (the saved screen keeps SGR).
fn strip_csi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('\x40'..='\x7e').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Waits until the saved screen of `key`, as plain text, satisfies `pred`.
fn wait_saved_screen(env: &Env, key: &str, what: &str, mut pred: impl FnMut(&[String]) -> bool) {
    let path = state_dir(env).join(format!("{key}.screen"));
    poll_until(
        DEFAULT_TIMEOUT,
        what,
        || {
            let text = fs::read_to_string(&path).ok()?;
            let rows: Vec<String> = text.split('\n').map(|r| strip_csi(r).trim_end().to_string()).collect();
            pred(&rows).then_some(())
        },
        || format!("--- {} ---\n{}", path.display(), strip_csi(&fs::read_to_string(&path).unwrap_or_default())),
    )
}

/// The last non-blank line.
fn last_line(lines: &[String]) -> Option<&str> {
    lines.iter().rev().map(|l| l.trim_end()).find(|l| !l.is_empty())
}

/// The server's pid: the parent of a session's program.
fn server_pid(env: &Env, session: &str) -> i32 {
    let pid = env.session_pid(session).unwrap_or_else(|| panic!("{session} has a pid in qmux ls --json"));
    parent_of(pid as i32).unwrap_or_else(|| panic!("the parent of {session}'s program {pid}"))
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].split_whitespace().nth(1)?.parse().ok()
}

/// Whether a process is gone (or a zombie nobody has reaped yet).
fn gone(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next()) == Some("Z"),
    }
}

fn wait_gone(pid: i32, what: &str) {
    poll_until(DEFAULT_TIMEOUT, &format!("{what} (pid {pid}) to end"), || gone(pid).then_some(()), String::new);
}

/// Sends `signal` to the server that runs `session`, and waits for it to end.
fn signal_server(env: &Env, session: &str, signal: Signal) {
    let pid = server_pid(env, session);
    kill(Pid::from_raw(pid), signal).expect("cannot signal the server");
    wait_gone(pid, &format!("the server after {signal}"));
}

/// `qmux kill-server`, and waits for the server to be gone.
fn kill_server(env: &Env, any_session: &str) {
    let pid = server_pid(env, any_session);
    env.qmux_ok(&["kill-server"]);
    wait_gone(pid, "the server after kill-server");
}

/// `qmux capture -t TARGET -S -` as lines.
fn capture_all(env: &Env, target: &str) -> Vec<String> {
    env.qmux_ok(&["capture", "-t", target, "-S", "-"]).lines().map(str::to_string).collect()
}

/// Polls `capture -S -` until `pred` holds; returns the lines.
fn wait_capture(env: &Env, target: &str, what: &str, mut pred: impl FnMut(&[String]) -> bool) -> Vec<String> {
    poll_until(
        DEFAULT_TIMEOUT,
        what,
        || {
            let lines = capture_all(env, target);
            pred(&lines).then_some(lines)
        },
        || {
            format!(
                "--- capture -S - of {target} ---\n{}",
                env.qmux(&["capture", "-t", target, "-S", "-"]).stdout_text()
            )
        },
    )
}

trait OutputText {
    fn stdout_text(&self) -> String;
    fn stderr_text(&self) -> String;
}

impl OutputText for std::process::Output {
    fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// The sessions `qmux ls --saved` lists, and its stderr.
fn ls_saved(env: &Env) -> (Vec<LsLine>, String) {
    let out = env.qmux(&["ls", "--saved"]);
    assert!(out.status.success(), "qmux ls --saved failed: {out:?}");
    (out.stdout_text().lines().filter_map(LsLine::parse).collect(), out.stderr_text())
}

fn names(lines: &[LsLine]) -> Vec<String> {
    lines.iter().map(|l| l.name.clone()).collect()
}

/// A stand-in chat session called `name` in `dir`, waiting at its prompt,
/// that has had one turn ([`TURN`]) the server has fully shown.
fn chat_with_one_turn(env: &Env, name: &str, dir: &Path) -> u32 {
    let out = env.qmux(&["new", "-d", "-s", name, "-c", &dir.to_string_lossy()]);
    assert!(out.status.success(), "qmux new: {out:?}");
    env.wait_state(name, "waiting");
    let pid = env.session_pid(name).expect("the chat's pid");
    env.qmux_ok(&["send", "-t", name, TURN]);
    chat::wait_until_replied(pid);
    let said = format!("You said: {TURN}");
    wait_capture(env, name, "the server to show the whole turn and the next prompt", |lines| {
        lines.iter().any(|l| l.contains(&said)) && last_line(lines) == Some(">")
    });
    pid
}

/// Waits until `capture -S -` of a restored chat shows the old turn, then
/// the marker, then the chat resumed; returns the lines.
fn wait_restored_chat(env: &Env, name: &str) -> Vec<String> {
    let said = format!("You said: {TURN}");
    let lines = wait_capture(env, name, "the restored chat to show its resumed conversation", |lines| {
        lines.iter().any(|l| l.contains("Picking up where we left off")) && last_line(lines) == Some(">")
    });
    let pos = |pred: &dyn Fn(&str) -> bool| lines.iter().position(|l| pred(l));
    let old_turn = pos(&|l| l.contains(&said)).expect("the old turn");
    let marker = pos(&|l| l.contains(MARKER)).unwrap_or_else(|| panic!("a marker line:\n{}", lines.join("\n")));
    let resumed = pos(&|l| l.contains("Picking up where we left off")).expect("checked");
    assert!(
        old_turn < marker && marker < resumed,
        "old turn, marker, resumed chat, in that order:\n{}",
        lines.join("\n")
    );
    assert!(
        lines[resumed].contains("Picking up where we left off: 2 messages in this conversation."),
        "the chat resumed its one turn (2 messages): {:?}",
        lines[resumed]
    );
    assert!(
        lines[resumed..].iter().any(|l| l.contains(&said)),
        "the resumed chat reprints the turn:\n{}",
        lines.join("\n")
    );
    assert_marker(&lines[marker]);
    lines
}

/// `──── restored from 2026-01-02T03:04:05Z ────`.
fn assert_marker(line: &str) {
    let at = line.find(MARKER).expect("the marker") + MARKER.len();
    let time: String = line[at..].chars().take(20).collect();
    let shape: String = time.chars().map(|c| if c.is_ascii_digit() { 'D' } else { c }).collect();
    assert_eq!(shape, "DDDD-DD-DDTDD:DD:DDZ", "an RFC 3339 time after the marker: {line:?}");
    assert!(line.trim_start().starts_with('─') && line.trim_end().ends_with('─'), "a rule: {line:?}");
}

/// The restored session is in `dir`: as qmux reports it and as the kernel does.
fn assert_in_dir(env: &Env, name: &str, dir: &Path) {
    let json = env.session_json(name).unwrap_or_else(|| panic!("{name} is listed: {}", env.ls()));
    assert_eq!(json["cwd"].as_str().map(PathBuf::from).as_deref(), Some(dir), "{name}'s cwd in ls --json");
    let pid = json["pid"].as_u64().expect("a pid");
    assert_eq!(fs::read_link(format!("/proc/{pid}/cwd")).ok().as_deref(), Some(dir), "the program's own cwd");
    let command: Vec<&str> = json["command"].as_array().expect("command").iter().filter_map(|v| v.as_str()).collect();
    assert!(command.contains(&"--resume"), "the chat is relaunched with --resume: {command:?}");
}

/// A conversation, the server ended by `signal`, `qmux restore`.
fn a_conversation_survives(signal: Signal, wait_for_the_save: bool) {
    let env = Env::new();
    let dir = project_dir(&env, "walrus-project");
    chat_with_one_turn(&env, "chat", &dir);
    let key = wait_key(&env, "chat");
    if wait_for_the_save {
        // A SIGKILL loses what came after the last save: wait for the save
        // that holds the whole turn.
        let said = format!("You said: {TURN}");
        wait_saved_screen(&env, &key, "the saved screen to hold the turn and the next prompt", |rows| {
            rows.iter().any(|r| r.contains(&said)) && last_line(rows) == Some(">")
        });
    }
    signal_server(&env, "chat", signal);

    let (saved, _) = ls_saved(&env);
    assert_eq!(names(&saved), ["chat"], "ls --saved lists the chat");
    assert!(saved[0].line.contains(&*dir.to_string_lossy()), "with its directory: {}", saved[0].line);

    let out = env.qmux(&["restore"]);
    assert!(out.status.success(), "qmux restore: {out:?}");
    assert!(out.stderr_text().contains("restored 0:chat"), "restore says what it restored: {out:?}");
    wait_restored_chat(&env, "chat");
    assert_in_dir(&env, "chat", &dir);
    assert!(ls_saved(&env).0.is_empty(), "nothing left to restore");

    // The chat goes on: a second turn works, in the same conversation.
    env.wait_state("chat", "waiting");
    let pid = env.session_pid("chat").expect("the restored chat's pid");
    env.qmux_ok(&["send", "-t", "chat", "and one more thing"]);
    chat::wait_until_replied(pid);
    wait_capture(&env, "chat", "the second turn's reply", |l| {
        l.iter().any(|l| l.contains("You said: and one more thing"))
    });
}

// ---- 1, 2. a conversation survives the server ----

#[test]
fn a_conversation_survives_a_sigkill_of_the_server() {
    a_conversation_survives(Signal::SIGKILL, true);
}

#[test]
fn a_conversation_survives_a_sigterm_of_the_server() {
    a_conversation_survives(Signal::SIGTERM, false);
}

#[test]
fn a_conversation_survives_a_sighup_of_the_server() {
    a_conversation_survives(Signal::SIGHUP, false);
}

// ---- 3. the loss bound ----

/// The highest `line N` in a session's capture.
fn highest_line(env: &Env, target: &str) -> Option<u64> {
    let out = env.qmux(&["capture", "-t", target]);
    out.stdout_text().lines().filter_map(|l| l.strip_prefix("line ")?.trim().parse().ok()).max()
}

#[test]
fn a_sigkill_of_the_server_loses_at_most_the_last_second_of_output() {
    let env = Env::new();
    env.start_detached("count", &["sh", "-c", "i=0; while :; do i=$((i+1)); echo line $i; sleep 0.01; done"]);
    let (t0, n0) = poll_until(
        DEFAULT_TIMEOUT,
        "the counter to get going",
        || highest_line(&env, "count").filter(|&n| n >= 20).map(|n| (Instant::now(), n)),
        String::new,
    );
    // Let it run through a few saves, measuring the rate, then kill at once
    // after seeing how far it had got.
    let (t1, n1) = poll_until(
        DEFAULT_TIMEOUT,
        "2.5 s of counting",
        || {
            let n = highest_line(&env, "count")?;
            (t0.elapsed() >= Duration::from_millis(2500)).then(|| (Instant::now(), n))
        },
        String::new,
    );
    let server = server_pid(&env, "count");
    kill(Pid::from_raw(server), Signal::SIGKILL).expect("cannot kill the server");
    wait_gone(server, "the server after SIGKILL");
    let rate = (n1 - n0) as f64 / (t1 - t0).as_secs_f64();

    let out = env.qmux(&["restore"]);
    assert!(out.status.success(), "qmux restore: {out:?}");
    let lines =
        wait_capture(&env, "count", "the restored session with its marker", |l| l.iter().any(|l| l.contains(MARKER)));
    let marker = lines.iter().position(|l| l.contains(MARKER)).expect("checked");
    let saved: Vec<u64> = lines[..marker].iter().filter_map(|l| l.strip_prefix("line ")?.trim().parse().ok()).collect();
    let expected: Vec<u64> = (1..=saved.len() as u64).collect();
    assert_eq!(saved, expected, "above the marker: every line from the first, in order, nothing in between lost");
    let kept = saved.last().copied().unwrap_or(0);
    let lost = n1.saturating_sub(kept);
    let lost_secs = lost as f64 / rate;
    println!(
        "SIGKILL after {:.1} s at {rate:.0} lines/s: shown up to line {n1}, saved up to line {kept}, lost {lost} \
         lines = {lost_secs:.2} s of output (documented bound: 1 s)",
        t1.duration_since(t0).as_secs_f64()
    );
    let allowed = (2.0 * rate).ceil() as u64 + 5;
    assert!(
        lost <= allowed,
        "lost {lost} lines ({lost_secs:.2} s of output at {rate:.0} lines/s); the bound is 1 s, allowed with margin \
         {allowed}\n--- above the marker ---\n{}",
        lines[..marker].join("\n")
    );
}

// ---- 4. a corrupt file among good ones ----

#[test]
fn a_corrupt_state_file_is_named_and_moved_aside_and_the_others_are_restored() {
    let env = Env::new();
    for name in ["a", "b", "c"] {
        env.start_detached(name, &["cat"]);
    }
    let keys: Vec<String> = ["a", "b", "c"].iter().map(|n| wait_key(&env, n)).collect();
    kill_server(&env, "a");

    let dir = state_dir(&env);
    let bad = dir.join(format!("{}.json", keys[1]));
    let garbage = b"{ this is not \x00 a state file";
    fs::write(&bad, garbage).expect("cannot overwrite b's state file");

    let (saved, stderr) = ls_saved(&env);
    assert_eq!(names(&saved), ["a", "c"], "ls --saved lists the good ones");
    let problems: Vec<&str> = stderr.lines().collect();
    assert_eq!(problems.len(), 1, "one line about the bad file: {stderr:?}");
    assert!(problems[0].starts_with("qmux: "), "{stderr:?}");
    assert!(problems[0].contains(&*bad.to_string_lossy()), "the line names the file: {stderr:?}");

    let aside = dir.join(format!("{}.json.corrupt", keys[1]));
    assert!(!bad.exists(), "the bad file is no longer where it was");
    assert_eq!(fs::read(&aside).ok().as_deref(), Some(&garbage[..]), "moved aside, unchanged, not deleted");

    let out = env.qmux(&["restore"]);
    assert!(out.status.success(), "qmux restore: {out:?}");
    let listed: Vec<String> = env.sessions().into_iter().map(|s| s.name).collect();
    assert_eq!(listed, ["a", "c"], "the two good sessions are back");
    assert!(aside.exists(), "the corrupt file is still kept aside");
}

#[test]
fn a_state_file_from_another_version_is_named_as_such_and_moved_aside() {
    let env = Env::new();
    env.start_detached("a", &["cat"]);
    env.start_detached("b", &["cat"]);
    let key = wait_key(&env, "b");
    kill_server(&env, "a");

    let path = state_dir(&env).join(format!("{key}.json"));
    let mut json: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    json["version"] = 999.into();
    fs::write(&path, json.to_string()).unwrap();

    // No `ls --saved` first: the server started by restore finds it.
    let out = env.qmux(&["restore"]);
    assert!(out.status.success(), "qmux restore: {out:?}");
    let restore_said = out.stderr_text();
    let listed: Vec<String> = env.sessions().into_iter().map(|s| s.name).collect();
    assert_eq!(listed, ["a"], "the good session is back");
    assert!(state_dir(&env).join(format!("{key}.json.corrupt")).exists(), "the other version's file is kept aside");
    // The new server says so, to restore or to the next command that shows
    // notices.
    let out = env.qmux(&["new", "-d", "-s", "later", "--", "cat"]);
    let said = format!("{restore_said}{}", out.stderr_text());
    assert!(
        said.contains("another qmux version") && said.contains(&*path.to_string_lossy()),
        "the user is told which file and why: {said:?}"
    );
}

// ---- 5. kill removes the state, kill-server does not ----

#[test]
fn kill_removes_a_sessions_saved_state_and_kill_server_keeps_the_rest() {
    let env = Env::new();
    let (cmd_x, done_x) = {
        let flag = env.work_dir().join("x.done");
        (format!("seq 1 100; touch '{}'; exec cat", flag.display()), flag)
    };
    env.start_detached("x", &["sh", "-c", &cmd_x]);
    env.start_detached("y", &["cat"]);
    let x = wait_key(&env, "x");
    let y = wait_key(&env, "y");
    poll_until(DEFAULT_TIMEOUT, "x's seq to finish", || done_x.exists().then_some(()), String::new);
    let files_of =
        |key: &str| -> Vec<String> { state_files(&env).into_iter().filter(|f| f.starts_with(key)).collect() };
    poll_until(
        DEFAULT_TIMEOUT,
        "x's json, history and screen to be saved",
        || (files_of(&x).len() == 3).then_some(()),
        || format!("{:?}", state_files(&env)),
    );

    env.qmux_ok(&["kill", "-t", "x"]);
    assert_eq!(files_of(&x), Vec::<String>::new(), "qmux kill removed every file of x");
    assert!(files_of(&y).contains(&format!("{y}.json")), "y's state is untouched: {:?}", state_files(&env));

    kill_server(&env, "y");
    let kept = files_of(&y);
    for ext in ["json", "screen"] {
        assert!(kept.contains(&format!("{y}.{ext}")), "kill-server keeps y's {ext}: {kept:?}");
    }
    assert_eq!(names(&ls_saved(&env).0), ["y"], "y can be restored, x cannot");
}

// ---- 6. two resumable chats in one directory ----

#[test]
fn a_second_chat_in_the_same_directory_is_warned_about_at_creation_and_at_restore() {
    let env = Env::new();
    let dir = project_dir(&env, "shared");
    let other_dir = project_dir(&env, "elsewhere");
    let new = |name: &str, dir: &Path, command: &[&str]| {
        let dir = dir.to_string_lossy();
        let mut args = vec!["new", "-d", "-s", name, "-c", &*dir];
        if !command.is_empty() {
            args.push("--");
            args.extend_from_slice(command);
        }
        let out = env.qmux(&args);
        assert!(out.status.success(), "qmux {}: {out:?}", args.join(" "));
        assert!(out.stdout.is_empty(), "nothing on stdout: {out:?}");
        out.stderr_text()
    };
    assert_eq!(new("one", &dir, &[]), "", "the first chat in a directory: no warning");
    let warning = new("two", &dir, &[]);
    let lines: Vec<&str> = warning.lines().collect();
    assert_eq!(lines.len(), 1, "one warning line: {warning:?}");
    assert!(lines[0].starts_with("qmux: warning: "), "{warning:?}");
    assert!(lines[0].contains("0:one"), "it names the other session: {warning:?}");
    assert!(lines[0].contains(&*dir.to_string_lossy()), "and the directory: {warning:?}");
    assert_eq!(new("three", &dir, &["cat"]), "", "cat has no conversation to fight over");
    assert_eq!(new("four", &other_dir, &[]), "", "a chat elsewhere is fine");

    kill_server(&env, "one");
    let out = env.qmux(&["restore"]);
    assert!(out.status.success(), "qmux restore: {out:?}");
    let stderr = out.stderr_text();
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("qmux: warning: ")).collect();
    assert_eq!(warnings.len(), 1, "one warning at restore: {stderr:?}");
    assert!(warnings[0].contains("0:one") || warnings[0].contains("1:two"), "it names a session: {stderr:?}");
    assert!(warnings[0].contains(&*dir.to_string_lossy()), "and the directory: {stderr:?}");
}

// ---- 7. unsafe permissions ----

#[test]
fn a_state_directory_others_can_read_is_refused() {
    let env = Env::new();
    let dir = state_dir(&env);
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let shown = dir.to_string_lossy().into_owned();

    assert_error(&env.qmux(&["new", "-d", "-s", "x", "--", "cat"]), &["unsafe permissions", &shown]);
    assert_error(&env.qmux(&["restore"]), &["unsafe permissions", &shown]);
    assert_error(&env.qmux(&["ls", "--saved"]), &["unsafe permissions", &shown]);
    assert_error(&env.qmux(&["ls"]), &["no server running"]);
    assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o755, "qmux did not change it");
}

// ---- 8. restore = "auto" ----

#[test]
fn with_restore_auto_a_new_server_brings_the_saved_sessions_back_itself() {
    let env = Env::with_config("restore = \"auto\"\n");
    let dir = project_dir(&env, "auto-project");
    chat_with_one_turn(&env, "chat", &dir);
    let key = wait_key(&env, "chat");
    let said = format!("You said: {TURN}");
    wait_saved_screen(&env, &key, "the saved screen to hold the turn", |rows| {
        rows.iter().any(|r| r.contains(&said)) && last_line(rows) == Some(">")
    });
    signal_server(&env, "chat", Signal::SIGKILL);

    let out = env.qmux(&["new", "-d", "-s", "other", "--", "cat"]);
    assert!(out.status.success(), "qmux new: {out:?}");
    assert!(out.stderr_text().contains("restored 0:chat"), "the new server says what it restored: {out:?}");
    let listed: Vec<String> = env.sessions().into_iter().map(|s| s.name).collect();
    assert_eq!(listed, ["chat", "other"], "the chat is back next to the new session");
    wait_restored_chat(&env, "chat");
    assert_in_dir(&env, "chat", &dir);
}

// ---- the news of saved sessions ----

#[test]
fn sessions_already_restored_are_not_announced_as_waiting_for_restore() {
    let env = Env::new();
    env.start_detached("a", &["cat"]);
    wait_key(&env, "a");
    kill_server(&env, "a");

    let out = env.qmux(&["restore"]);
    assert!(out.status.success() && out.stderr_text().contains("restored 0:a"), "qmux restore: {out:?}");
    assert!(ls_saved(&env).0.is_empty(), "nothing is left to restore");
    // The next command that passes on the server's news must not say that
    // saved sessions wait for `qmux restore`: there are none.
    let out = env.qmux(&["new", "-d", "-s", "b", "--", "cat"]);
    assert!(out.status.success(), "qmux new: {out:?}");
    assert!(
        !out.stderr_text().contains("qmux restore"),
        "stale news after the sessions were restored:\n{}",
        out.stderr_text()
    );
}

// ---- 9. a new session beside saved ones ----

/// Issue 24 §3: after `kill-server`, a bare `qmux` starts a chat named
/// after the directory, as the saved session was; it must take neither
/// that name nor that index, and must offer the saved one. A target that
/// names the saved one is not the newcomer's, and a restore that cannot
/// have its own name says so.
#[test]
fn a_new_session_after_a_restart_takes_no_saved_sessions_name_or_index() {
    let env = Env::new();
    let dir = env.work_dir().canonicalize().expect("the work directory");
    let dir_name = dir.file_name().expect("a named directory").to_string_lossy().into_owned();
    let out = env.qmux(&["new", "-d", "-c", &dir.to_string_lossy(), "--", "cat"]);
    assert!(out.status.success(), "qmux new: {out:?}");
    wait_key(&env, &dir_name);
    kill_server(&env, &dir_name);

    // The natural next step: `qmux`.
    let mut term = env.attach(&[], 100, 30);
    term.wait_text("qmux restore");
    let live = env.wait_ls("the new chat to be listed", |l| l.len() == 1);
    assert_ne!(live[0].name, dir_name, "the new chat took the saved session's name: {}", env.ls());
    assert_ne!(live[0].index, 0, "the new chat took the saved session's index: {}", env.ls());
    // Its name begins the saved one's, which a target still means.
    assert_error(&env.qmux(&["send", "-t", &dir_name, "hello"]), &["saved session", "qmux restore"]);

    let out = env.qmux(&["restore"]);
    assert!(out.status.success(), "qmux restore: {out:?}");
    assert!(out.stderr_text().contains(&format!("restored 0:{dir_name} (cat)")), "{out:?}");
    assert!(!out.stderr_text().contains("came back as"), "nothing was renamed: {out:?}");
    env.qmux_ok(&["send", "-t", &dir_name, "hello cat"]);
    wait_capture(&env, "0", "cat to echo what was sent to its name", |lines| {
        lines.iter().filter(|l| l.contains("hello cat")).count() == 2
    });
    drop(term);

    // A name given on purpose is the user's to give; the saved session
    // then comes back under another, and says so.
    kill_server(&env, &dir_name);
    let out = env.qmux(&["new", "-d", "-s", &dir_name, "--", "cat"]);
    assert!(out.status.success(), "qmux new -s: {out:?}");
    assert!(out.stderr_text().contains("warning: a saved session is also called"), "{out:?}");
    let newcomer = env.session(&dir_name).expect("listed");
    assert!(newcomer.index >= 2, "the saved sessions' indexes stay theirs: {}", env.ls());
    let out = env.qmux(&["restore"]);
    assert!(out.status.success(), "qmux restore: {out:?}");
    let renamed = format!("0:{dir_name} came back as 0:{dir_name}-");
    let line = out.stderr_text().lines().find(|l| l.contains(&renamed)).map(str::to_string);
    let line = line.unwrap_or_else(|| panic!("the rename is said: {out:?}"));
    assert!(line.contains(&format!("{}:{dir_name} has its name", newcomer.index)), "and why: {line:?}");
}

/// `qmux restore` with nothing saved says so, and the server it started for
/// that ends with it instead of lingering (it waited ten seconds).
#[test]
fn restore_with_nothing_saved_leaves_no_server_running() {
    let env = Env::new();
    let out = env.qmux(&["restore"]);
    assert!(out.status.success() && out.stderr_text().contains("no saved sessions"), "qmux restore: {out:?}");
    poll_until(
        Duration::from_secs(2),
        "the server started for the restore to end",
        || env.server_pids().is_empty().then_some(()),
        || format!("still running: {:?}", env.server_pids()),
    );
}
