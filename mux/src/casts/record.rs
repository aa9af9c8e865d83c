//! `qmux agents record`: runs a program on this terminal, as if qmux were
//! not there, and writes what it draws and what reaches it as a recording,
//! with the markers the user types: Ctrl-] then `w` (now it waits), `b`
//! (now it works), `a` (now it asks); Ctrl-] twice sends one Ctrl-].

use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::Instant;

use portable_pty::{CommandBuilder, PtySize};

use super::line;
use crate::detect::State;
use crate::error::{Error, Result};

/// The key that starts a marker.
const MARK: u8 = 0x1d;

/// What the threads tell the recorder, with when it happened.
enum Happened {
    Output(Vec<u8>),
    Input(Vec<u8>),
    Mark(State),
    Resize(u16, u16),
    /// The program closed its terminal (ended).
    Closed,
    /// A signal asks the recorder to stop.
    Stop(i32),
}

/// Records `command` into `out` until it ends; returns its exit code.
pub fn record(name: &str, command: &[String], out: &Path) -> Result<i32> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(Error::msg("qmux agents record needs a terminal to run the agent on"));
    }
    let Some(program) = command.first() else {
        return Err(Error::msg("qmux agents record needs the agent's command after --"));
    };
    if out.exists() {
        return Err(Error::msg(format!("{} exists: name another file with -o", out.display())));
    }
    let mut file =
        std::fs::File::create(out).map_err(|e| Error::msg(format!("cannot write {}: {e}", out.display())))?;
    let (cols, rows) = crate::client::terminal_size().unwrap_or((80, 24));
    let pair = portable_pty::native_pty_system()
        .openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
        .map_err(|e| Error::msg(format!("cannot open a pseudo-terminal: {e}")))?;
    // Through the trampoline, as sessions are: it gives the program back
    // the signal dispositions Rust changed in this process (SIGPIPE).
    let exe = std::env::current_exe().map_err(|e| Error::msg(format!("cannot find the qmux binary: {e}")))?;
    let mut cmd = CommandBuilder::new(exe);
    cmd.arg("__exec");
    cmd.arg("--");
    cmd.args(command);
    cmd.cwd(std::env::current_dir().map_err(|e| Error::msg(format!("cannot read this directory: {e}")))?);
    let mut child = pair.slave.spawn_command(cmd).map_err(|e| Error::msg(format!("cannot run {program}: {e}")))?;
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().map_err(|e| Error::msg(format!("cannot read the pty: {e}")))?;
    let mut writer = pair.master.take_writer().map_err(|e| Error::msg(format!("cannot write the pty: {e}")))?;

    let header = serde_json::json!({
        "version": 2, "width": cols, "height": rows,
        "timestamp": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        "title": format!("qmux agents record {name}"),
        "env": {"TERM": std::env::var("TERM").unwrap_or_default(), "SHELL": std::env::var("SHELL").unwrap_or_default()},
    });
    writeln!(file, "{header}").map_err(|e| Error::msg(format!("cannot write {}: {e}", out.display())))?;

    let start = Instant::now();
    let (tx, rx) = mpsc::channel::<(Instant, Happened)>();
    let raw = RawTerminal::take()?;
    let output = tx.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let mut stdout = std::io::stdout().lock();
                    let _ = stdout.write_all(&buf[..n]).and_then(|_| stdout.flush());
                    if output.send((Instant::now(), Happened::Output(buf[..n].to_vec()))).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = output.send((Instant::now(), Happened::Closed));
    });
    let input = tx.clone();
    std::thread::spawn(move || {
        let mut marking = false;
        let mut buf = [0u8; 4096];
        let mut stdin = std::io::stdin().lock();
        // Keys go to the program, and into the recording, in the order they
        // came, markers between them where they were typed.
        let mut pass = |keys: &mut Vec<u8>| {
            if keys.is_empty() {
                return true;
            }
            // Recorded before the program can echo them.
            let _ = input.send((Instant::now(), Happened::Input(keys.clone())));
            let ok = writer.write_all(keys).and_then(|_| writer.flush()).is_ok();
            keys.clear();
            ok
        };
        while let Ok(n @ 1..) = stdin.read(&mut buf) {
            let mut keys = Vec::new();
            for &b in &buf[..n] {
                if !std::mem::take(&mut marking) {
                    if b == MARK {
                        marking = true;
                    } else {
                        keys.push(b);
                    }
                    continue;
                }
                let state = match b {
                    b'w' => State::Waiting,
                    b'b' => State::Busy,
                    b'a' => State::Approval,
                    MARK => {
                        keys.push(MARK);
                        continue;
                    }
                    _ => continue,
                };
                if !pass(&mut keys) {
                    return;
                }
                let _ = input.send((Instant::now(), Happened::Mark(state)));
            }
            if !pass(&mut keys) {
                return;
            }
        }
    });
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGWINCH,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGTERM,
    ])?;
    std::thread::spawn(move || {
        for sig in signals.forever() {
            let event = match sig {
                signal_hook::consts::SIGWINCH => match crate::client::terminal_size() {
                    Some((c, r)) => Happened::Resize(c, r),
                    None => continue,
                },
                sig => Happened::Stop(sig),
            };
            if tx.send((Instant::now(), event)).is_err() {
                break;
            }
        }
    });

    let mut cast = Writer { file, pending: Vec::new(), start, marks: 0 };
    let mut stopped = None;
    for (when, happened) in rx {
        match happened {
            Happened::Output(bytes) => cast.output(when, &bytes),
            Happened::Input(bytes) => cast.event(when, "i", &String::from_utf8_lossy(&bytes)),
            Happened::Mark(state) => {
                cast.event(when, "m", &format!("expect {}", state.name()));
                cast.marks += 1;
                raw.title(&format!("qmux record {name}: {} marked", state.name()));
            }
            Happened::Resize(c, r) => {
                let _ = pair.master.resize(PtySize { rows: r, cols: c, pixel_width: 0, pixel_height: 0 });
                cast.event(when, "r", &format!("{c}x{r}"));
            }
            Happened::Closed => break,
            Happened::Stop(sig) => {
                let _ = child.kill();
                stopped = Some(sig);
                break;
            }
        }
    }
    cast.event(Instant::now(), "m", "expect exited");
    let status = child.wait().map_err(|e| Error::msg(format!("cannot wait for {program}: {e}")))?;
    drop(raw);
    eprintln!("qmux: recorded {} with {} markers", out.display(), cast.marks);
    match stopped {
        Some(sig) => Ok(128 + sig),
        None => Ok(i32::try_from(status.exit_code()).unwrap_or(1)),
    }
}

/// The recording being written. Output is held back at a UTF-8 sequence
/// cut by a read, so every event is whole text.
struct Writer {
    file: std::fs::File,
    pending: Vec<u8>,
    start: Instant,
    marks: usize,
}

impl Writer {
    fn event(&mut self, when: Instant, kind: &str, data: &str) {
        let t = when.saturating_duration_since(self.start).as_secs_f64();
        let _ = self.file.write_all(line(t, kind, data).as_bytes());
    }

    fn output(&mut self, when: Instant, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        let whole = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.pending.len(),
        };
        let text = String::from_utf8_lossy(&self.pending[..whole]).into_owned();
        self.pending.drain(..whole);
        if !text.is_empty() {
            self.event(when, "o", &text);
        }
    }
}

/// This terminal in raw mode while the recording runs, put back on drop
/// and on a panic.
struct RawTerminal;

impl RawTerminal {
    fn take() -> Result<RawTerminal> {
        crossterm::terminal::enable_raw_mode().map_err(|e| Error::msg(format!("cannot use this terminal: {e}")))?;
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            RawTerminal::restore();
            previous(info);
        }));
        Ok(RawTerminal)
    }

    fn title(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "\x1b]2;{text}\x07").and_then(|_| out.flush());
    }

    fn restore() {
        let mut out = std::io::stdout().lock();
        // The program may have left its modes on (mouse, paste, keys).
        let _ = write!(out, "{}", crate::render::RESET_MODES).and_then(|_| out.flush());
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        RawTerminal::restore();
    }
}
