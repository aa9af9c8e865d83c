//! What the end-to-end tests need besides Rust, checked once per test
//! binary before its first test: on a machine without it, one line names
//! what to install and the binary stops, rather than every test failing on
//! its own.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Once;

/// Stops this test binary, with one line on stderr, unless the programs the
/// tests drive are here: tmux (the reference terminal), OpenSSH's server and
/// client (the far machine), npm (which installs the pinned agents), a
/// python3 that makes venvs (aider's) and dbus-daemon (a private session
/// bus for desktop notifications).
pub fn preflight() {
    static CHECKED: Once = Once::new();
    CHECKED.call_once(|| {
        let missing = missing();
        if !missing.is_empty() {
            stop(&format!(
                "the end-to-end tests need {}: install them (Debian: apt-get install {}; .ci/run does)",
                missing.join(", "),
                missing.join(" ")
            ));
        }
    });
}

/// Stops this test binary with `line` on stderr: for a need the tests
/// cannot meet themselves, which every test after would fail on too.
pub fn stop(line: &str) -> ! {
    // Past the test harness's capture of eprintln!, which exit would lose.
    let _ = writeln!(std::io::stderr(), "qmux tests: {line}");
    std::process::exit(1);
}

fn missing() -> Vec<&'static str> {
    let mut missing = Vec::new();
    if !on_path("tmux") {
        missing.push("tmux");
    }
    if !Path::new("/usr/sbin/sshd").is_file() {
        missing.push("openssh-server");
    }
    if !on_path("ssh") || !on_path("ssh-keygen") {
        missing.push("openssh-client");
    }
    if !on_path("npm") {
        missing.push("npm");
    }
    let venv = Command::new("/usr/bin/python3")
        .args(["-c", "import ensurepip, venv"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !venv.is_ok_and(|s| s.success()) {
        missing.push("python3-venv");
    }
    if !on_path("dbus-daemon") {
        missing.push("dbus-daemon");
    }
    missing
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}
