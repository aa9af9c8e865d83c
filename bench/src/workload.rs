//! What the measured programs print: generated input files, the shell
//! wrappers that start a measured command at a precise moment, and the
//! streaming child of the scale metric.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::term::{COLS, ROWS};
use crate::Result;

/// The last line of a measured burst. No other line starts with `#`, so the
/// harness can spot it by looking at the first cell of each row.
pub const END_MARKER: &str = "#END-OF-BENCH-OUTPUT#";

/// Printed by every measured session once it is ready.
pub const READY: &str = "bench-ready";

/// `sh -c SCRIPT` as an argument vector.
pub fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

/// Single-quotes a path for a shell script.
pub fn quote(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', r"'\''"))
}

/// A script that prints [`READY`], waits until someone writes a line to
/// `fifo`, runs `command`, then idles so the session stays open (tmux would
/// close a window whose program ended). Startup is thus not measured.
pub fn gated(fifo: &Path, command: &str) -> String {
    format!("printf '{READY}\\n'; read _ < {}; {command}; exec sleep 1000000", quote(fifo))
}

/// Creates the named pipe [`gated`] waits on.
pub fn make_fifo(path: &Path) -> Result<()> {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR)
        .map_err(|e| format!("cannot create the pipe {}: {e}", path.display()))
}

/// Releases a [`gated`] script. Returns the moment just before.
pub fn open_gate(fifo: &Path) -> Result<Instant> {
    let at = Instant::now();
    let mut pipe = std::fs::OpenOptions::new()
        .write(true)
        .open(fifo)
        .map_err(|e| format!("cannot open the pipe {}: {e}", fifo.display()))?;
    pipe.write_all(b"go\n").map_err(|e| format!("cannot write the pipe {}: {e}", fifo.display()))?;
    Ok(at)
}

/// A small deterministic generator, so every run prints the same bytes.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }

    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "the", "model", "reads", "a", "file", "and", "writes", "patch", "for", "review", "tool", "session", "output",
    "stream", "token", "line", "buffer", "terminal", "screen", "cursor", "history", "prompt", "answer", "build",
];

/// One line of exactly `width` printable ASCII characters that reads like
/// prose: numbered, then words, ending in a word as text lines do (a blank
/// cut off at the end would be an artefact of the fixed width).
fn text_line(n: u64, width: usize, rng: &mut Lcg) -> String {
    let mut line = format!("{n:08} ");
    while line.len() < width {
        line.push_str(WORDS[rng.below(WORDS.len() as u32) as usize]);
        line.push(' ');
    }
    line.truncate(width);
    if line.ends_with(' ') {
        line.pop();
        line.push('.');
    }
    line
}

/// Writes about `bytes` of 100-character text lines.
pub fn text_file(path: &Path, bytes: u64) -> Result<()> {
    let mut out = std::io::BufWriter::new(create(path)?);
    let mut rng = Lcg(1);
    let mut written = 0u64;
    let mut n = 0u64;
    while written < bytes {
        let line = text_line(n, 100, &mut rng);
        writeln!(out, "{line}").map_err(|e| write_error(path, e))?;
        written += line.len() as u64 + 1;
        n += 1;
    }
    out.flush().map_err(|e| write_error(path, e))
}

/// Writes `lines` lines of 100 visible characters in ten colours (an SGR
/// sequence every 10 characters, as syntax-highlighted output has), then
/// [`END_MARKER`].
pub fn colour_file(path: &Path, lines: u64) -> Result<()> {
    let mut out = std::io::BufWriter::new(create(path)?);
    let mut rng = Lcg(2);
    for n in 0..lines {
        let text = text_line(n, 100, &mut rng);
        let mut line = String::new();
        for (i, piece) in text.as_bytes().chunks(10).enumerate() {
            let colour = 31 + (n as usize + i) % 7;
            let bold = if i % 3 == 0 { ";1" } else { "" };
            line.push_str(&format!("\x1b[{colour}{bold}m"));
            line.push_str(std::str::from_utf8(piece).unwrap_or_default());
        }
        writeln!(out, "{line}\x1b[0m").map_err(|e| write_error(path, e))?;
    }
    writeln!(out, "{END_MARKER}").map_err(|e| write_error(path, e))?;
    out.flush().map_err(|e| write_error(path, e))
}

/// Writes `lines` lines of `cols` cells, every cell in a truecolour of its
/// own, then [`END_MARKER`]: history's worst case, with nothing for
/// compression to share.
pub fn rainbow_file(path: &Path, lines: u64, cols: u64) -> Result<()> {
    let mut out = std::io::BufWriter::new(create(path)?);
    for row in 0..lines {
        let mut line = String::new();
        for col in 0..cols {
            let n = row * cols + col;
            let c = (b'a' + (n % 26) as u8) as char;
            line.push_str(&format!("\x1b[38;2;{};{};{}m{c}", n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff));
        }
        writeln!(out, "{line}\x1b[0m").map_err(|e| write_error(path, e))?;
    }
    writeln!(out, "{END_MARKER}").map_err(|e| write_error(path, e))?;
    out.flush().map_err(|e| write_error(path, e))
}

/// The rows of the session area: what a 200×50 terminal shows above the
/// status bar.
pub const SESSION_ROWS: u16 = ROWS - 1;

/// The start of row `row` of [`screen_file`] for `letter`.
pub fn screen_row_label(letter: char, row: u16) -> String {
    format!("{letter}{row:02}|")
}

/// Writes a file that fills the whole session area with text: every row
/// full, starting with its label and ending with `letter`, and no newline
/// after the last, so nothing scrolls.
pub fn screen_file(path: &Path, letter: char) -> Result<()> {
    let mut rng = Lcg(letter as u64);
    let width = usize::from(COLS);
    let rows: Vec<String> = (0..SESSION_ROWS)
        .map(|row| {
            let mut line = screen_row_label(letter, row);
            while line.len() < width - 1 {
                line.push(char::from(b'a' + rng.below(26) as u8));
            }
            line.push(letter);
            line
        })
        .collect();
    std::fs::write(path, rows.join("\n")).map_err(|e| write_error(path, e))
}

/// Whether `screen` shows the whole of [`screen_file`] for `letter`: its
/// first, middle and last rows, each from first to last column.
pub fn shows_screen_file(screen: &vt100::Screen, letter: char) -> bool {
    let last_col = COLS - 1;
    let mut ends = [0, SESSION_ROWS / 2, SESSION_ROWS - 1].into_iter().map(|row| {
        let tail = screen.cell(row, last_col).is_some_and(|c| c.contents().starts_with(letter));
        tail && crate::term::row_starts_with(screen, row, &screen_row_label(letter, row))
    });
    ends.all(|shown| shown)
}

fn create(path: &Path) -> Result<std::fs::File> {
    std::fs::File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))
}

fn write_error(path: &Path, e: std::io::Error) -> String {
    format!("cannot write {}: {e}", path.display())
}

/// The streaming child of the scale metric: prints a 100-character line
/// every `interval`, forever, as a fast LLM reply would. Its output is
/// non-blocking, so a full PTY (a multiplexer that stopped draining it)
/// shows up as a write that would have blocked. The count of those, of
/// lines written, and the seconds since the start are kept in `stats` as
/// `LINES BLOCKED SECONDS`.
pub fn stream(stats: &Path, interval: Duration) -> Result<()> {
    use std::os::fd::AsFd;
    let stdout = std::io::stdout();
    let flags = nix::fcntl::fcntl(stdout.as_fd(), nix::fcntl::FcntlArg::F_GETFL).map_err(|e| e.to_string())?;
    let flags = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(stdout.as_fd(), nix::fcntl::FcntlArg::F_SETFL(flags)).map_err(|e| e.to_string())?;

    let mut rng = Lcg(std::process::id() as u64);
    let (mut lines, mut blocked) = (0u64, 0u64);
    let start = Instant::now();
    let mut next = start;
    let mut saved = start;
    loop {
        let line = format!("{}\n", text_line(lines, 100, &mut rng));
        let mut rest = line.as_bytes();
        let mut stalled = false;
        while !rest.is_empty() {
            match nix::unistd::write(stdout.as_fd(), rest) {
                Ok(n) => rest = &rest[n..],
                Err(nix::errno::Errno::EAGAIN) => {
                    if !stalled {
                        stalled = true;
                        blocked += 1;
                        save_stats(stats, lines, blocked, start)?;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(nix::errno::Errno::EINTR) => {}
                // The PTY is gone: the multiplexer ended the session.
                Err(_) => return Ok(()),
            }
        }
        lines += 1;
        if saved.elapsed() > Duration::from_millis(100) {
            save_stats(stats, lines, blocked, start)?;
            saved = Instant::now();
        }
        next += interval;
        match next.checked_duration_since(Instant::now()) {
            Some(wait) => std::thread::sleep(wait),
            None => next = Instant::now(),
        }
    }
}

/// Writes the stats file whole (write, then rename), so a reader never
/// sees half of it.
fn save_stats(stats: &Path, lines: u64, blocked: u64, start: Instant) -> Result<()> {
    let tmp: PathBuf = stats.with_extension("tmp");
    let secs = start.elapsed().as_secs_f64();
    std::fs::write(&tmp, format!("{lines} {blocked} {secs:.3}\n")).map_err(|e| write_error(&tmp, e))?;
    std::fs::rename(&tmp, stats).map_err(|e| write_error(stats, e))
}

/// What a [`stream`] child reported.
pub struct StreamStats {
    pub lines: u64,
    pub blocked: u64,
    pub seconds: f64,
}

/// Reads a stats file written by [`stream`].
pub fn read_stats(stats: &Path) -> Result<StreamStats> {
    let text = std::fs::read_to_string(stats).map_err(|e| format!("cannot read {}: {e}", stats.display()))?;
    let fields: Vec<f64> = text.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    match fields[..] {
        [lines, blocked, seconds] => Ok(StreamStats { lines: lines as u64, blocked: blocked as u64, seconds }),
        _ => Err(format!("{}: unreadable stats {text:?}", stats.display())),
    }
}

/// A program that behaves like a streaming agent, forever. Plain: every
/// 80 ms it hides the cursor, redraws its spinner line with a timer and a
/// hint, then writes three coloured words; every sixth redraw ends the
/// line. `ink`: like the Ink-based agents (Claude Code, Gemini CLI, Kiro's
/// new UI), it repaints the bottom 20 rows of the screen 30 times a second.
pub fn agent(ink: bool) -> Result<()> {
    const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    let mut out = std::io::stdout().lock();
    let mut rng = Lcg(std::process::id() as u64);
    let start = Instant::now();
    let interval = Duration::from_millis(if ink { 33 } else { 80 });
    let mut next = start;
    if ink {
        // Room for the region it repaints.
        let _ = out.write_all("\n".repeat(20).as_bytes());
    }
    for tick in 0u64.. {
        let secs = start.elapsed().as_secs();
        let spin = SPINNER[(tick % 10) as usize];
        let mut frame = String::from("\x1b[?25l");
        if ink {
            frame.push_str("\x1b[20A\r");
            for row in 0..20u64 {
                let colour = 31 + (tick + row) % 7;
                let words = text_line(tick * 20 + row, 60, &mut rng);
                frame.push_str(&format!("\x1b[2K\x1b[{colour}m{spin} {words}\x1b[0m\r\n"));
            }
        } else {
            frame.push_str(&format!("\r\x1b[2K\x1b[33m{spin}\x1b[0m Thinking… ({secs}s · esc to interrupt) "));
            for w in 0..3u64 {
                let colour = 31 + (tick + w) % 7;
                let word = text_line(tick * 3 + w, 8, &mut rng);
                frame.push_str(&format!("\x1b[{colour}m{}\x1b[0m ", word.trim()));
            }
            if tick % 6 == 5 {
                frame.push_str("\r\n");
            }
        }
        if out.write_all(frame.as_bytes()).and_then(|()| out.flush()).is_err() {
            return Ok(()); // the session is gone
        }
        next += interval;
        match next.checked_duration_since(Instant::now()) {
            Some(wait) => std::thread::sleep(wait),
            None => next = Instant::now(),
        }
    }
    Ok(())
}
