//! Tests of the harness itself, with no qmux in the way: when a qmux test
//! fails, these say whether to suspect the harness.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use qmux_e2e::{poll_until, Env};

#[test]
fn the_terminal_answers_queries_like_a_real_one() {
    let env = Env::new();
    let mut term = env.spawn_in_term(&env.bin("termprobe"), &[], 80, 24);
    term.wait_text("replies=");
    for expected in ["cpr=\\e[5;10R", "status=\\e[0n", "da1=\\e[?62;22c", "da2=\\e[>1;10;0c", "replies=4"] {
        assert!(term.screen_text().contains(expected), "expected {expected:?}:\n{}", term.dump());
    }
}

#[test]
fn a_failed_wait_shows_what_it_waited_for_and_the_screen() {
    let env = Env::new();
    let mut term = env.spawn_in_term(Path::new("/bin/sh"), &["-c", "echo visible-text; exec cat"], 80, 24);
    term.wait_text("visible-text");
    let failure = catch_unwind(AssertUnwindSafe(|| {
        term.wait_for_within(Duration::from_millis(100), |s| s.contents().contains("never-there"), "never-there")
    }))
    .expect_err("the wait must fail");
    let message = failure.downcast_ref::<String>().cloned().unwrap_or_default();
    for part in ["timed out", "never-there", "visible-text", "program running"] {
        assert!(message.contains(part), "the failure should mention {part:?}:\n{message}");
    }
}

#[test]
fn a_terminal_keeps_the_mode_its_program_left() {
    let env = Env::new();
    let mut term = env.spawn_in_term(Path::new("/bin/sh"), &["-c", "stty raw -echo; echo raw-now; read x"], 80, 24);
    term.wait_text("raw-now");
    assert!(!term.is_cooked(), "stty raw -echo shows in termios");
    term.kill(qmux_e2e::Signal::SIGKILL);
    term.wait_exit();
    assert!(!term.is_cooked(), "the mode outlives the program, so a restore can be checked");
}

#[test]
fn a_terminal_shows_a_restored_mode_after_its_program_ended() {
    // The other half: after exit the mode read is the one the program left,
    // not some default of the PTY.
    let env = Env::new();
    let script = "saved=$(stty -g); stty raw -echo; echo raw-now; stty \"$saved\"";
    let mut term = env.spawn_in_term(Path::new("/bin/sh"), &["-c", script], 80, 24);
    assert!(term.wait_exit().success());
    assert!(term.screen_text().contains("raw-now"), "all output is read by the time wait_exit returns");
    assert!(term.is_cooked(), "the restored mode shows after exit");
    assert!(term.closed(), "nothing else holds the terminal open");
}

#[test]
fn dropping_an_env_ends_the_processes_it_started() {
    let env = Env::new();
    let mut cmd = Command::new("/bin/sh");
    cmd.env_clear().envs(env.vars()).args(["-c", "setsid sleep 300 >/dev/null 2>&1 </dev/null & echo $!"]);
    let out = env.run(cmd);
    let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().expect("sh printed the pid");
    assert!(Path::new(&format!("/proc/{pid}")).exists(), "the daemon runs");
    drop(env);
    poll_until(
        Duration::from_secs(5),
        "the daemon to be gone",
        || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Gone, or a zombie waiting for init to reap it.
            (stat.is_empty() || stat.contains(") Z ")).then_some(())
        },
        String::new,
    );
}
