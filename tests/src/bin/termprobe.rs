//! termprobe: asks its terminal the questions line editors ask, and prints the
//! answers in readable form.
//!
//! It moves the cursor to row 5, column 7 and writes `xyz` (so the cursor is at
//! 5;10), then sends `CSI 6n` (cursor position), `CSI 5n` (status), `CSI c`
//! (primary device attributes) and `CSI > c` (secondary), reads the replies
//! for up to 3 s in raw mode, and prints one line each:
//!
//! ```text
//! cpr=\e[5;10R
//! status=\e[0n
//! da1=\e[?62;22c
//! da2=\e[>1;10;0c
//! replies=4 ms=3
//! ```
//!
//! With `--done FILE` it also writes those lines to FILE, so a test can tell
//! that the probe finished without looking at any screen. Then it waits for a
//! line of input, so its session stays open to be looked at.

use std::io::{self, BufRead, Read, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use qmux_e2e::escape_bytes;

const QUERIES: &[u8] = b"\x1b[6n\x1b[5n\x1b[c\x1b[>c";

/// With `--colours`: the foreground and background colours (OSC 10/11).
const COLOUR_QUERIES: &[u8] = b"\x1b]10;?\x1b\\\x1b]11;?\x1b\\";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let colours = args.iter().any(|a| a == "--colours");
    let done_file = args.iter().position(|a| a == "--done").and_then(|i| args.get(i + 1).cloned());
    let mut stdout = io::stdout();
    let stdin = io::stdin();

    let saved = tcgetattr(stdin.as_fd()).expect("termprobe: stdin is not a terminal");
    let mut raw = saved.clone();
    cfmakeraw(&mut raw);
    tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).expect("termprobe: cannot enter raw mode");

    let started = Instant::now();
    let _ = stdout.write_all(b"probe\r\n\x1b[5;7Hxyz");
    let _ = stdout.write_all(if colours { COLOUR_QUERIES } else { QUERIES });
    let _ = stdout.flush();
    let replies = if colours {
        read_osc_replies(&stdin, Duration::from_secs(3))
    } else {
        read_replies(&stdin, Duration::from_secs(3))
    };
    let elapsed = started.elapsed();

    let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &saved);

    let mut report = String::new();
    for (label, reply) in &replies {
        report.push_str(&format!("{label}={}\n", reply.as_deref().map(escape_bytes).unwrap_or_else(|| "none".into())));
    }
    let count = replies.iter().filter(|(_, r)| r.is_some()).count();
    report.push_str(&format!("replies={count} ms={}\n", elapsed.as_millis()));

    let _ = stdout.write_all(b"\r\n");
    let _ = stdout.write_all(report.as_bytes());
    let _ = stdout.flush();
    if let Some(path) = done_file {
        std::fs::write(&path, &report).expect("termprobe: cannot write the done file");
    }

    let mut line = String::new();
    let _ = stdin.lock().read_line(&mut line);
}

/// Reads until all four replies came or the time is up. Each slot holds the
/// first reply of its kind.
fn read_replies(stdin: &io::Stdin, timeout: Duration) -> Vec<(&'static str, Option<Vec<u8>>)> {
    let mut replies: Vec<(&'static str, Option<Vec<u8>>)> =
        vec![("cpr", None), ("status", None), ("da1", None), ("da2", None)];
    let deadline = Instant::now() + timeout;
    let mut buf = Vec::new();
    while replies.iter().any(|(_, r)| r.is_none()) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
        let ms = PollTimeout::try_from(left.as_millis().min(60_000) as i32).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, ms) {
            Ok(0) => break,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break,
        }
        let mut chunk = [0u8; 256];
        match stdin.lock().read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        while let Some((seq, used)) = next_csi(&buf) {
            let slot = match (seq.get(2), seq.last()) {
                (_, Some(b'R')) => 0,
                (_, Some(b'n')) => 1,
                (Some(b'?'), Some(b'c')) => 2,
                (Some(b'>'), Some(b'c')) => 3,
                _ => usize::MAX,
            };
            if let Some((_, r @ None)) = replies.get_mut(slot) {
                *r = Some(seq);
            }
            buf.drain(..used);
        }
    }
    replies
}

/// Reads the answers to OSC 10 and 11, each ended by BEL or ST, until both
/// came or the time is up.
fn read_osc_replies(stdin: &io::Stdin, timeout: Duration) -> Vec<(&'static str, Option<Vec<u8>>)> {
    let mut replies: Vec<(&'static str, Option<Vec<u8>>)> = vec![("fg", None), ("bg", None)];
    let deadline = Instant::now() + timeout;
    let mut buf = Vec::new();
    while replies.iter().any(|(_, r)| r.is_none()) {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
        let ms = PollTimeout::try_from(left.as_millis().min(60_000) as i32).unwrap_or(PollTimeout::MAX);
        if left.is_zero() || !matches!(poll(&mut fds, ms), Ok(1..)) {
            break;
        }
        let mut chunk = [0u8; 256];
        match stdin.lock().read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        for (slot, prefix) in [(0, &b"\x1b]10;"[..]), (1, &b"\x1b]11;"[..])] {
            let Some(start) = buf.windows(prefix.len()).position(|w| w == prefix) else { continue };
            let Some(len) = buf[start..].iter().position(|b| *b == 0x07 || *b == b'\\') else { continue };
            if replies[slot].1.is_none() {
                replies[slot].1 = Some(buf[start..=start + len].to_vec());
            }
        }
    }
    replies
}

/// The first complete `ESC [ params final` sequence in `buf` and how many
/// bytes up to its end; bytes before it are skipped.
fn next_csi(buf: &[u8]) -> Option<(Vec<u8>, usize)> {
    let start = buf.windows(2).position(|w| w == b"\x1b[")?;
    let end = buf[start + 2..].iter().position(|&b| (0x40..=0x7e).contains(&b))? + start + 2;
    Some((buf[start..=end].to_vec(), end + 1))
}
