//! Ending processes without leaving any behind: SIGHUP, then SIGTERM, then
//! SIGKILL to whatever is still there, on threads a server about to exit
//! waits for.

use std::sync::Mutex;

use nix::sys::signal::Signal;

/// Ends processes that no terminal holds any more (a daemon a killed
/// session left to the others), and their descendants, as
/// [`super::Pty::terminate`] ends a session's.
pub fn end_processes(roots: Vec<i32>) {
    escalate(move || crate::foreground::tree(&roots));
}

/// SIGHUP and SIGCONT to what `members` lists now; SIGTERM to what it
/// still lists after [`KILL_GRACE`], SIGKILL after another. The waiting is
/// on a thread of its own, which [`finish_terminations`] joins.
pub(super) fn escalate(members: impl Fn() -> Vec<i32> + Send + 'static) {
    let first = members();
    if first.is_empty() {
        return;
    }
    signal_all(&first, Signal::SIGHUP);
    signal_all(&first, Signal::SIGCONT);
    let handle = std::thread::Builder::new().name("pty-terminate".into()).spawn(move || {
        for signal in [Signal::SIGTERM, Signal::SIGKILL] {
            let deadline = std::time::Instant::now() + KILL_GRACE;
            loop {
                let left = members();
                if left.is_empty() {
                    return;
                }
                if std::time::Instant::now() >= deadline {
                    signal_all(&left, signal);
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    });
    if let (Ok(handle), Ok(mut pending)) = (handle, TERMINATIONS.lock()) {
        pending.retain(|h| !h.is_finished());
        pending.push(handle);
    }
}

/// How long a program gets after SIGHUP before SIGTERM, and after SIGTERM
/// before SIGKILL.
pub const KILL_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Escalations still running (see [`super::Pty::terminate`]).
static TERMINATIONS: Mutex<Vec<std::thread::JoinHandle<()>>> = Mutex::new(Vec::new());

/// Waits until every program being terminated has ended, for a server
/// about to exit: its threads would die with it.
pub fn finish_terminations() {
    let pending = TERMINATIONS.lock().map(|mut p| std::mem::take(&mut *p)).unwrap_or_default();
    for handle in pending {
        let _ = handle.join();
    }
}

fn signal_all(pids: &[i32], signal: Signal) {
    for pid in pids {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), signal);
    }
}
