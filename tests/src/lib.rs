//! The end-to-end harness for qmux: the real `qmux` binary in a real PTY, with
//! a `vt100::Parser` standing in as the user's terminal.
//!
//! A test reads as a story:
//!
//! ```no_run
//! use qmux_e2e::Env;
//!
//! let env = Env::new();
//! env.start_detached("a", &["cat"]);
//! let mut term = env.attach(&["attach", "-t", "a"], 100, 30);
//! term.wait_marker("a", "*");
//! term.type_str("hello\r");
//! term.wait_text("hello");
//! term.prefix(b'd');
//! assert!(term.wait_exit().success());
//! ```
//!
//! Everything is isolated per [`Env`]: its own HOME, socket directory, config
//! and XDG directories, so tests run in parallel without seeing each other.
//! Nothing sleeps and hopes: every wait polls a condition against a deadline
//! and, on timeout, panics with what it waited for and what the screen showed.

pub mod chat;
mod env;
mod inspect;
pub mod notifyd;
mod preflight;
mod procs;
pub mod sshd;
pub mod status;
mod term;
mod witness;

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use env::{Background, Env, LsLine};
pub use inspect::{alive, children_of, cmdline, ProcStats};
pub use preflight::{preflight, stop};
pub use status::StatusEntry;
pub use term::{screen_rows, session_rows, Term};
pub use witness::{quantile, Witness};

// The types tests need, without a second dependency list.
pub use nix::sys::signal::Signal;
pub use portable_pty::ExitStatus;
pub use vt100;

/// How long a wait may take before the test fails. Generous, because a failed
/// wait costs only time and a flaky one costs trust. `QMUX_E2E_TIMEOUT_SCALE`
/// multiplies it (and every other harness timeout) on slow machines.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one `qmux` command may run before the test fails.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// How often waits re-check their condition.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// The byte of the default prefix key, C-b.
pub const PREFIX: u8 = 0x02;

/// A harness timeout scaled by `QMUX_E2E_TIMEOUT_SCALE` (a float, default 1).
pub fn scaled(timeout: Duration) -> Duration {
    let scale = std::env::var("QMUX_E2E_TIMEOUT_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(1.0);
    timeout.mul_f64(scale)
}

/// The directory holding the workspace's binaries (`qmux`, `qmux-chat`,
/// `termprobe`): the test binary runs from `target/<profile>/deps/`, and
/// cargo puts bins one level up.
pub fn bins_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("cannot find the test binary's own path");
    let deps = exe.parent().expect("test binary has no parent directory");
    let dir = if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().expect("deps/ has no parent").to_path_buf()
    } else {
        deps.to_path_buf()
    };
    for bin in ["qmux", "qmux-chat"] {
        assert!(
            dir.join(bin).is_file(),
            "{bin} not found in {}: build the workspace first: cargo build --workspace",
            dir.display()
        );
    }
    dir
}

/// The path of one of the workspace's binaries.
pub fn bin(name: &str) -> PathBuf {
    let path = bins_dir().join(name);
    assert!(
        path.is_file(),
        "{name} not found at {}: build the workspace first: cargo build --workspace",
        path.display()
    );
    path
}

/// Polls `check` every [`POLL_INTERVAL`] until it returns `Some`, or panics
/// after `timeout` with `what` and whatever `describe` says about the state
/// at that moment.
pub fn poll_until<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
    describe: impl FnOnce() -> String,
) -> T {
    let timeout = scaled(timeout);
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for: {what}\n{}", describe());
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Makes bytes readable in a failure message: printable ASCII as is, the rest
/// as `\e`, `\r`, `\n`, `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            0x1b => out.push_str("\\e"),
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// Asserts that `out` is a user-facing error: exit code 1, nothing on
/// stdout, and exactly one line on stderr that starts `qmux: ` and contains
/// every string in `mentions`.
pub fn assert_error(out: &std::process::Output, mentions: &[&str]) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let context = format!("exit {}\nstdout: {stdout:?}\nstderr: {stderr:?}", out.status);
    assert_eq!(out.status.code(), Some(1), "expected exit code 1\n{context}");
    assert!(stdout.is_empty(), "expected nothing on stdout\n{context}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected exactly one line on stderr\n{context}");
    assert!(lines[0].starts_with("qmux: "), "expected the line to start with \"qmux: \"\n{context}");
    for m in mentions {
        assert!(lines[0].contains(m), "expected the error to mention {m:?}\n{context}");
    }
}
