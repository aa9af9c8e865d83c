//! The metrics of issue 6, each a function that runs every subject it
//! makes sense for and returns table rows.
//!
//! Runs alternate between subjects (qmux, tmux, bare, qmux, tmux, …) so that
//! a noisy neighbour on this shared machine hurts all of them alike, and
//! every run starts a fresh server in a fresh directory.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::report::{percentile, Better, Measurement, Target};
use crate::subjects::{Kind, Subject, Tools, PREFIX};
use crate::term::{any_row_is, any_row_starts_with, Term};
use crate::workload::{self, sh, END_MARKER, READY};
use crate::Result;

/// Sizes and repetitions.
#[derive(Clone, Debug)]
pub struct Plan {
    pub runs: usize,
    pub subjects: Vec<Kind>,
    pub throughput_mb: u64,
    /// A file to `cat` instead of the generated text.
    pub throughput_file: Option<PathBuf>,
    pub seq_count: u64,
    pub memory_sessions: usize,
    pub latency_samples: usize,
    pub switches: usize,
    pub ls_runs: usize,
    pub idle_sessions: usize,
    /// The session counts of the idle-sessions metric.
    pub resident_sessions: Vec<usize>,
    /// The session counts of the agent-load metric, and its seconds.
    pub agent_sessions: Vec<usize>,
    pub agent_secs: u64,
    pub idle_secs: u64,
    pub scale_sessions: usize,
    pub scale_streaming: usize,
    pub scale_samples: usize,
}

impl Plan {
    /// The sizes issue 6 asks for.
    pub fn full() -> Plan {
        Plan {
            runs: 5,
            subjects: Kind::ALL.to_vec(),
            throughput_mb: 64,
            throughput_file: None,
            seq_count: 3_000_000,
            memory_sessions: 5,
            latency_samples: 1000,
            switches: 200,
            ls_runs: 200,
            idle_sessions: 50,
            resident_sessions: vec![1, 50, 200],
            agent_sessions: vec![20, 100],
            agent_secs: 10,
            idle_secs: 10,
            scale_sessions: 200,
            scale_streaming: 20,
            scale_samples: 1000,
        }
    }

    /// A smoke run: every metric, small, once.
    pub fn quick() -> Plan {
        Plan {
            runs: 1,
            subjects: Kind::ALL.to_vec(),
            throughput_mb: 4,
            throughput_file: None,
            seq_count: 200_000,
            memory_sessions: 2,
            latency_samples: 100,
            switches: 20,
            ls_runs: 20,
            idle_sessions: 10,
            resident_sessions: vec![1, 10],
            agent_sessions: vec![5],
            agent_secs: 3,
            idle_secs: 2,
            scale_sessions: 30,
            scale_streaming: 5,
            scale_samples: 100,
        }
    }
}

/// Everything a metric needs.
pub struct Ctx {
    pub plan: Plan,
    pub tools: Tools,
    /// This program, which doubles as the streaming child (`stream`).
    pub bench_exe: PathBuf,
    /// Generated input files, shared by all runs.
    pub data: tempfile::TempDir,
}

/// How long the terminal waits for a subject to draw its first screen.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one burst may take: qmux might be slow, but not this slow.
const BURST_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a single keystroke or switch may take.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);
/// A pause after setup, so the multiplexer has finished attaching (status
/// bar, terminal queries) before the clock starts.
const SETTLE: Duration = Duration::from_millis(300);

impl Ctx {
    fn subjects(&self, allowed: &[Kind]) -> Vec<Kind> {
        self.plan.subjects.iter().copied().filter(|k| allowed.contains(k)).collect()
    }

    /// Runs `run` `runs` times for each allowed subject, alternating.
    pub(crate) fn each_run(&self, allowed: &[Kind], runs: usize, mut run: impl FnMut(Kind)) {
        for i in 1..=runs {
            for kind in self.subjects(allowed) {
                eprintln!("    {kind} run {i}/{runs}");
                run(kind);
            }
        }
    }

    pub(crate) fn subject(&self, kind: Kind) -> Result<Subject> {
        Subject::new(kind, &self.tools)
    }

    fn data_file(&self, name: &str, make: impl FnOnce(&Path) -> Result<()>) -> Result<PathBuf> {
        let path = self.data.path().join(name);
        if !path.exists() {
            make(&path)?;
        }
        Ok(path)
    }
}

// ---- throughput ---------------------------------------------------------

/// Runs `command` in the focused session, starting the clock when it is
/// released, and stops it when the screen first satisfies `done`. Returns
/// (seconds, bytes the terminal received meanwhile).
fn burst(
    ctx: &Ctx,
    kind: Kind,
    command: &str,
    done: impl FnMut(&vt100::Screen) -> bool + Send + 'static,
) -> Result<(f64, u64)> {
    let subject = ctx.subject(kind)?;
    let gate = subject.scratch().join("gate");
    workload::make_fifo(&gate)?;
    let term = subject.show("bench", &sh(&workload::gated(&gate, command)))?;
    term.wait_for(START_TIMEOUT, "the session to start", |s| any_row_is(s, READY))?;
    std::thread::sleep(SETTLE);
    term.set_deferred(true);
    term.expect(done);
    let before = term.bytes_received();
    let start = workload::open_gate(&gate)?;
    let end = term.wait(BURST_TIMEOUT, "the last line")?;
    Ok((end.duration_since(start).as_secs_f64(), term.bytes_received() - before))
}

/// `cat` of 64 MB of 100-character lines (or of `--throughput-file`), until
/// the line printed after it is drawn.
pub fn throughput(ctx: &Ctx) -> Vec<Measurement> {
    let mb = ctx.plan.throughput_mb;
    let file = match &ctx.plan.throughput_file {
        Some(path) => Ok(path.clone()),
        None => ctx.data_file("text.txt", |p| workload::text_file(p, mb * 1_000_000)),
    };
    let size = file.as_ref().ok().and_then(|f| std::fs::metadata(f).ok()).map_or(0, |m| m.len());
    let what = match &ctx.plan.throughput_file {
        Some(path) => format!("`cat` {} ({} MB)", path.display(), size / 1_000_000),
        None => format!("`cat` {mb} MB of 100-char lines"),
    };
    let target = Target::Ratio { at_least: 1.5, text: "≥ 1.5× tmux" };
    let mut rate = Measurement::new(format!("throughput: {what}"), "MB/s", Better::Higher, target);
    let mut drawn = Measurement::new("↳ bytes the terminal received for it", "MB", Better::Neither, Target::None);
    let file = match file {
        Ok(f) if size > 0 => f,
        Ok(f) => {
            rate.fail(Kind::Qmux, &format!("{} is empty or unreadable", f.display()));
            return vec![rate];
        }
        Err(e) => {
            rate.fail(Kind::Qmux, &e);
            return vec![rate];
        }
    };
    let command = format!("cat {}; printf '%s\\n' '{END_MARKER}'", workload::quote(&file));
    ctx.each_run(&Kind::ALL, ctx.plan.runs, |kind| {
        match burst(ctx, kind, &command, |s| any_row_starts_with(s, END_MARKER)) {
            Ok((secs, bytes)) => {
                rate.push(kind, size as f64 / secs / 1e6);
                drawn.push(kind, bytes as f64 / 1e6);
            }
            Err(e) => rate.fail(kind, &e),
        }
    });
    vec![rate, drawn]
}

/// `seq 1 3000000`, until `3000000` is drawn.
pub fn line_heavy(ctx: &Ctx) -> Vec<Measurement> {
    let n = ctx.plan.seq_count;
    let target = Target::Ratio { at_least: 1.5, text: "≥ 1.5× tmux" };
    let mut rate = Measurement::new(format!("line-heavy: `seq 1 {n}`"), "lines/s", Better::Higher, target);
    let mut time = Measurement::new("↳ time to draw the last line", "s", Better::Lower, Target::None);
    let last = n.to_string();
    ctx.each_run(&Kind::ALL, ctx.plan.runs, |kind| {
        let last = last.clone();
        match burst(ctx, kind, &format!("seq 1 {n}"), move |s| any_row_is(s, &last)) {
            Ok((secs, _)) => {
                rate.push(kind, n as f64 / secs);
                time.push(kind, secs);
            }
            Err(e) => rate.fail(kind, &e),
        }
    });
    vec![rate, time]
}

// ---- memory ---------------------------------------------------------------

/// Server memory per session holding 10k lines of history: the server's
/// RSS with one idle session, then with N more sessions that have printed
/// `content`; the difference divided by N.
pub fn memory(ctx: &Ctx) -> Vec<Measurement> {
    let n = ctx.plan.memory_sessions;
    let colour = match ctx.data_file("colour.txt", |p| workload::colour_file(p, 10_000 + 49)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("  memory: {e}");
            return Vec::new();
        }
    };
    // Each cell its own colour, 200 to a row (the terminal is 200 wide).
    let rainbow = match ctx.data_file("rainbow.txt", |p| workload::rainbow_file(p, 10_000 + 49, 199)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("  memory: {e}");
            return Vec::new();
        }
    };
    let half = Target::Ratio { at_least: 2.0, text: "≤ 0.5× tmux" };
    let cases = [
        ("memory per session: 10k lines of history, `seq 1 20000`", "seq 1 20000".to_string(), "20000", half),
        (
            "memory per session: 10k lines of 100-char coloured text",
            format!("cat {}", workload::quote(&colour)),
            END_MARKER,
            half,
        ),
        (
            "memory per session: worst case, 10k lines of 199 cells each its own truecolour",
            format!("cat {}", workload::quote(&rainbow)),
            END_MARKER,
            Target::AtMost { value: 9.4, text: "≤ 8 MiB of history (history-bytes) + 1 MB" },
        ),
    ];
    let mut rows = Vec::new();
    for (label, command, last, target) in cases {
        let mut m = Measurement::new(label, "MB", Better::Lower, target);
        ctx.each_run(&Kind::MULTIPLEXERS, ctx.plan.runs, |kind| match memory_run(ctx, kind, n, &command, last) {
            Ok(bytes) => m.push(kind, bytes / 1e6),
            Err(e) => m.fail(kind, &e),
        });
        rows.push(m);
    }
    rows
}

fn memory_run(ctx: &Ctx, kind: Kind, n: usize, command: &str, last: &str) -> Result<f64> {
    let subject = ctx.subject(kind)?;
    subject.new_session("idle", &sh("exec cat"))?;
    let pid = subject.server_pid()?;
    std::thread::sleep(Duration::from_millis(500));
    let base = crate::procs::rss_bytes(pid)?;
    let script = format!("{command}; exec cat");
    for i in 0..n {
        subject.new_session(&format!("h{i}"), &sh(&script))?;
    }
    for i in 0..n {
        subject.wait_capture(&format!("h{i}"), last, BURST_TIMEOUT)?;
    }
    std::thread::sleep(Duration::from_secs(1));
    let full = crate::procs::rss_bytes(pid)?;
    Ok(full.saturating_sub(base) as f64 / n as f64)
}

// ---- keystroke latency ----------------------------------------------------

/// A session whose program echoes every byte at once: `cat` with the
/// terminal in raw mode.
fn echo_session(subject: &Subject, name: &str) -> Result<Term> {
    let term = subject.show(name, &sh(&format!("stty raw -echo; printf '{READY}\\r\\n'; exec cat")))?;
    term.wait_for(START_TIMEOUT, "the echo session to start", |s| any_row_is(s, READY))?;
    std::thread::sleep(SETTLE);
    Ok(term)
}

/// Types `samples` keys, one at a time, and returns how long each took to
/// appear on the screen, in milliseconds. Keys go along one row (the
/// cursor's), 100 to a row, then a carriage return starts it over, so
/// every key's echo has a known cell to land in.
fn keystrokes(term: &Term, samples: usize) -> Result<Vec<f64>> {
    keystrokes_per_row(term, samples, 100)
}

/// [`keystrokes`], `per_row` keys to a row (a pane is narrower than the
/// terminal).
fn keystrokes_per_row(term: &Term, samples: usize, per_row: usize) -> Result<Vec<f64>> {
    let (row, col0) = term.screen(|s| s.cursor_position());
    let mut latencies = Vec::with_capacity(samples);
    let mut jitter = 1u64;
    for i in 0..samples {
        let col = col0 + (i % per_row) as u16;
        if i > 0 && i % per_row == 0 {
            term.send(b"\r")?;
            term.wait_for(EVENT_TIMEOUT, "the carriage return", move |s| s.cursor_position() == (row, col0))?;
        }
        // Successive keys differ, and so does each key from the one typed
        // in the same cell a row earlier (100 is not a multiple of 26).
        let key = b'a' + (i % 26) as u8;
        let expected = char::from(key).to_string();
        term.expect(move |s| s.cell(row, col).is_some_and(|c| c.contents() == expected));
        let sent = term.send(&[key])?;
        let shown = term.wait(EVENT_TIMEOUT, &format!("the echo of {:?}", char::from(key)))?;
        latencies.push(shown.saturating_duration_since(sent).as_secs_f64() * 1e3);
        // Irregular pauses of 1–3 ms, like typing and unlike any timer.
        jitter = jitter.wrapping_mul(6364136223846793005).wrapping_add(1);
        std::thread::sleep(Duration::from_micros(1000 + (jitter >> 33) % 2000));
    }
    Ok(latencies)
}

/// Byte written by the terminal → its echo drawn, with raw `cat` as the
/// child.
pub fn keystroke(ctx: &Ctx) -> Vec<Measurement> {
    echo_latency(ctx, "keystroke latency", &Kind::ALL, "", |subject| echo_session(subject, "bench"))
}

/// The p50 and p99 rows of keystroke echo, each run's terminal shown by
/// `show`.
fn echo_latency(
    ctx: &Ctx,
    name: &str,
    kinds: &[Kind],
    note: &str,
    show: impl Fn(&Subject) -> Result<Term>,
) -> Vec<Measurement> {
    let target = Target::Ratio { at_least: 1.0, text: "≤ tmux" };
    let mut p50 = Measurement::new(format!("{name} p50"), "ms", Better::Lower, target);
    let mut p99 = Measurement::new(format!("{name} p99"), "ms", Better::Lower, target);
    ctx.each_run(kinds, ctx.plan.runs, |kind| {
        let result = ctx.subject(kind).and_then(|subject| keystrokes(&show(&subject)?, ctx.plan.latency_samples));
        match result {
            Ok(l) => {
                p50.push(kind, percentile(&l, 50.0).unwrap_or(f64::NAN));
                p99.push(kind, percentile(&l, 99.0).unwrap_or(f64::NAN));
            }
            Err(e) => p50.fail(kind, &e),
        }
    });
    p50.notes.push(format!("{} keys per run{note}", ctx.plan.latency_samples));
    vec![p50, p99]
}

// ---- switch time ----------------------------------------------------------

/// Prefix + `n` → the other session fully drawn, both showing a full
/// screen of distinct text. In tmux that is two windows of one session:
/// what a tmux user flips between with prefix `n`.
pub fn switch(ctx: &Ctx) -> Vec<Measurement> {
    let mut p50 = Measurement::new("switch time p50", "ms", Better::Lower, Target::None);
    let mut p99 =
        Measurement::new("switch time p99", "ms", Better::Lower, Target::AtMost { value: 5.0, text: "≤ 5 ms" });
    let files =
        ['A', 'B'].map(|letter| ctx.data_file(&format!("screen-{letter}.txt"), |p| workload::screen_file(p, letter)));
    let [Ok(a), Ok(b)] = files else {
        p99.fail(Kind::Qmux, "cannot write the screen files");
        return vec![p50, p99];
    };
    ctx.each_run(&Kind::MULTIPLEXERS, ctx.plan.runs, |kind| match switch_run(ctx, kind, &a, &b) {
        Ok(times) => {
            p50.push(kind, percentile(&times, 50.0).unwrap_or(f64::NAN));
            p99.push(kind, percentile(&times, 99.0).unwrap_or(f64::NAN));
        }
        Err(e) => p99.fail(kind, &e),
    });
    p99.notes.push(format!("{} switches per run", ctx.plan.switches));
    vec![p50, p99]
}

fn switch_run(ctx: &Ctx, kind: Kind, a: &Path, b: &Path) -> Result<Vec<f64>> {
    let subject = ctx.subject(kind)?;
    let show = |file: &Path| sh(&format!("cat {}; exec sleep 1000000", workload::quote(file)));
    subject.new_session("a", &show(a))?;
    match kind {
        Kind::Tmux => subject.new_tmux_window("a", &show(b))?,
        _ => subject.new_session("b", &show(b))?,
    }
    let term = subject.attach("a")?;
    term.wait_for(START_TIMEOUT, "session a on screen", |s| workload::shows_screen_file(s, 'A'))?;
    std::thread::sleep(SETTLE);
    let mut times = Vec::with_capacity(ctx.plan.switches);
    for i in 0..ctx.plan.switches {
        let letter = if i % 2 == 0 { 'B' } else { 'A' };
        term.expect(move |s| workload::shows_screen_file(s, letter));
        let sent = term.send(&[PREFIX, b'n'])?;
        let shown = term.wait(EVENT_TIMEOUT, &format!("session {letter} drawn in full"))?;
        times.push(shown.saturating_duration_since(sent).as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(times)
}

// ---- command latency ------------------------------------------------------

/// `qmux ls` against a running server with one session, as `tmux ls`.
pub fn command(ctx: &Ctx) -> Vec<Measurement> {
    let mut med = Measurement::new(
        "command latency: `ls`, median",
        "ms",
        Better::Lower,
        Target::AtMost { value: 5.0, text: "≤ 5 ms" },
    );
    let mut p99 = Measurement::new("↳ `ls` p99", "ms", Better::Lower, Target::None);
    ctx.each_run(&Kind::MULTIPLEXERS, ctx.plan.runs, |kind| match command_run(ctx, kind) {
        Ok(times) => {
            med.push(kind, percentile(&times, 50.0).unwrap_or(f64::NAN));
            p99.push(kind, percentile(&times, 99.0).unwrap_or(f64::NAN));
        }
        Err(e) => med.fail(kind, &e),
    });
    med.notes.push(format!("{} calls per run, after 5 to warm up", ctx.plan.ls_runs));
    vec![med, p99]
}

fn command_run(ctx: &Ctx, kind: Kind) -> Result<Vec<f64>> {
    let subject = ctx.subject(kind)?;
    subject.new_session("one", &sh("exec cat"))?;
    let mut times = Vec::with_capacity(ctx.plan.ls_runs);
    for i in 0..ctx.plan.ls_runs + 5 {
        let start = Instant::now();
        let status = subject.ls().status().map_err(|e| format!("cannot run {kind} ls: {e}"))?;
        let took = start.elapsed();
        if !status.success() {
            return Err(format!("{kind} ls failed: {status}"));
        }
        if i >= 5 {
            times.push(took.as_secs_f64() * 1e3);
        }
    }
    Ok(times)
}

// ---- idle cost -------------------------------------------------------------

/// Server (and client) CPU over a quiet spell with many idle sessions and
/// one client attached.
pub fn idle(ctx: &Ctx) -> Vec<Measurement> {
    let (n, secs) = (ctx.plan.idle_sessions, ctx.plan.idle_secs);
    let server = Measurement::new(
        format!("idle CPU, server: {n} idle sessions, 1 client, {secs} s"),
        "% of a core",
        Better::Lower,
        Target::AtMost { value: 0.0, text: "0.0%" },
    );
    let client = Measurement::new("↳ idle CPU, client", "% of a core", Better::Lower, Target::None);
    let [mut server, client] = two_rows(ctx, server, client, |kind| idle_run(ctx, kind));
    server.notes.push(format!(
        "CPU time from /proc/PID/stat, in clock ticks of 10 ms: over {secs} s one tick is {}%",
        1.0 / secs as f64
    ));
    vec![server, client]
}

/// Runs `run` on both multiplexers, each run giving a main figure and a
/// second one, into the two rows.
fn two_rows(
    ctx: &Ctx,
    mut main: Measurement,
    mut second: Measurement,
    mut run: impl FnMut(Kind) -> Result<(f64, f64)>,
) -> [Measurement; 2] {
    ctx.each_run(&Kind::MULTIPLEXERS, ctx.plan.runs, |kind| match run(kind) {
        Ok((a, b)) => {
            main.push(kind, a);
            second.push(kind, b);
        }
        Err(e) => main.fail(kind, &e),
    });
    [main, second]
}

fn idle_run(ctx: &Ctx, kind: Kind) -> Result<(f64, f64)> {
    let subject = ctx.subject(kind)?;
    for i in 0..ctx.plan.idle_sessions {
        subject.new_session(&format!("idle{i}"), &sh(&format!("printf '{READY}\\n'; exec cat")))?;
    }
    let term = subject.attach("idle0")?;
    term.wait_for(START_TIMEOUT, "the first session", |s| any_row_is(s, READY))?;
    let (server, client) = (subject.server_pid()?, term.pid().ok_or("the client has no pid")?);
    // Let the start-up work (state detection, status bar) die down.
    std::thread::sleep(Duration::from_secs(2));
    let before = (crate::procs::cpu_seconds(server)?, crate::procs::cpu_seconds(client)?);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(ctx.plan.idle_secs));
    let after = (crate::procs::cpu_seconds(server)?, crate::procs::cpu_seconds(client)?);
    let wall = start.elapsed().as_secs_f64();
    Ok(((after.0 - before.0) / wall * 100.0, (after.1 - before.1) / wall * 100.0))
}

// ---- scale -----------------------------------------------------------------

/// Keystroke latency in the focused session while 200 sessions exist and
/// 20 of them stream a line every 5 ms; and whether any streaming child
/// ever found its PTY full.
pub fn scale(ctx: &Ctx) -> Vec<Measurement> {
    let (total, streaming) = (ctx.plan.scale_sessions, ctx.plan.scale_streaming);
    let label = format!("{total} sessions, {streaming} streaming");
    let mut p50 = Measurement::new(format!("scale ({label}): keystroke p50"), "ms", Better::Lower, Target::None);
    let mut p99 = Measurement::new(
        format!("scale ({label}): keystroke p99"),
        "ms",
        Better::Lower,
        Target::AtMost { value: 10.0, text: "≤ 10 ms" },
    );
    let mut blocked = Measurement::new(
        "scale: writes that found the child's PTY full",
        "count",
        Better::Lower,
        Target::AtMost { value: 0.0, text: "0" },
    );
    let mut rate = Measurement::new(
        format!("↳ lines/s each streaming child managed (asked: {})", 1000 / STREAM_INTERVAL_MS),
        "lines/s",
        Better::Higher,
        Target::None,
    );
    ctx.each_run(&Kind::MULTIPLEXERS, ctx.plan.runs, |kind| match scale_run(ctx, kind) {
        Ok((latencies, streams)) => {
            p50.push(kind, percentile(&latencies, 50.0).unwrap_or(f64::NAN));
            p99.push(kind, percentile(&latencies, 99.0).unwrap_or(f64::NAN));
            blocked.push(kind, streams.iter().map(|s| s.blocked as f64).sum());
            let (lines, secs) = streams.iter().fold((0.0, 0.0), |(l, t), s| (l + s.lines as f64, t + s.seconds));
            rate.push(kind, lines / secs);
        }
        Err(e) => p99.fail(kind, &e),
    });
    vec![p50, p99, blocked, rate]
}

/// A stream line every this often, per streaming session: a fast LLM reply,
/// times a few.
const STREAM_INTERVAL_MS: u64 = 5;

fn scale_run(ctx: &Ctx, kind: Kind) -> Result<(Vec<f64>, Vec<workload::StreamStats>)> {
    let subject = ctx.subject(kind)?;
    let plan = &ctx.plan;
    subject.new_session("focus", &sh(&format!("stty raw -echo; printf '{READY}\\r\\n'; exec cat")))?;
    let stats: Vec<PathBuf> = (0..plan.scale_streaming).map(|i| subject.scratch().join(format!("stream{i}"))).collect();
    for (i, path) in stats.iter().enumerate() {
        let argv = [
            ctx.bench_exe.to_string_lossy().into_owned(),
            "stream".into(),
            "--stats".into(),
            path.to_string_lossy().into_owned(),
            "--interval-ms".into(),
            STREAM_INTERVAL_MS.to_string(),
        ];
        subject.new_session(&format!("stream{i}"), &argv)?;
    }
    for i in 0..plan.scale_sessions.saturating_sub(plan.scale_streaming + 1) {
        subject.new_session(&format!("idle{i}"), &sh("exec cat"))?;
    }
    let term = subject.attach("focus")?;
    term.wait_for(START_TIMEOUT, "the focused session", |s| any_row_is(s, READY))?;
    std::thread::sleep(Duration::from_secs(1));
    let latencies = keystrokes(&term, plan.scale_samples)?;
    let streams = stats.iter().map(|path| workload::read_stats(path)).collect::<Result<Vec<_>>>()?;
    Ok((latencies, streams))
}

// ---- panes -----------------------------------------------------------------

/// Panes tiled in one view, and how often each streaming one writes.
const PANES: usize = 4;
const PANE_STREAM_INTERVAL_MS: u64 = 10;

/// Four panes tiled at 200×50: keystroke latency in the focused one while
/// the other three each stream 100 lines/s, and the server's CPU meanwhile.
pub fn panes(ctx: &Ctx) -> Vec<Measurement> {
    let label = format!("{PANES} panes tiled, {} streaming 100 lines/s", PANES - 1);
    let target = Target::Ratio { at_least: 1.0, text: "≤ tmux" };
    let mut p50 = Measurement::new(format!("panes ({label}): keystroke p50"), "ms", Better::Lower, target);
    let mut p99 = Measurement::new(format!("panes ({label}): keystroke p99"), "ms", Better::Lower, target);
    let mut cpu = Measurement::new("↳ server CPU meanwhile", "% of a core", Better::Lower, target);
    ctx.each_run(&Kind::MULTIPLEXERS, ctx.plan.runs, |kind| match panes_run(ctx, kind) {
        Ok((latencies, server_cpu)) => {
            p50.push(kind, percentile(&latencies, 50.0).unwrap_or(f64::NAN));
            p99.push(kind, percentile(&latencies, 99.0).unwrap_or(f64::NAN));
            cpu.push(kind, server_cpu);
        }
        Err(e) => p99.fail(kind, &e),
    });
    vec![p50, p99, cpu]
}

fn panes_run(ctx: &Ctx, kind: Kind) -> Result<(Vec<f64>, f64)> {
    let subject = ctx.subject(kind)?;
    let echo = sh(&format!("stty raw -echo; printf '{READY}\\r\\n'; exec cat"));
    let stream = |i: usize| {
        let stats = subject.scratch().join(format!("pane{i}"));
        let argv = [
            ctx.bench_exe.to_string_lossy().into_owned(),
            "stream".into(),
            "--stats".into(),
            stats.to_string_lossy().into_owned(),
            "--interval-ms".into(),
            PANE_STREAM_INTERVAL_MS.to_string(),
        ];
        argv.to_vec()
    };
    subject.new_session("focus", &echo)?;
    let term = match kind {
        Kind::Qmux => {
            for i in 1..PANES {
                subject.new_session(&format!("pane{i}"), &stream(i))?;
            }
            let term = subject.attach("focus")?;
            term.wait_for(START_TIMEOUT, "the focused session", |s| any_row_is(s, READY))?;
            // Prefix W: every session tiled, the focus kept.
            term.send(b"\x02W")?;
            term.wait_for(START_TIMEOUT, "the tiled view", |s| s.contents().contains(&format!("pane{}", PANES - 1)))?;
            term
        }
        _ => {
            for i in 1..PANES {
                let mut args: Vec<String> = ["split-window", "-d", "-t", "focus", "--"].map(String::from).to_vec();
                args.extend(stream(i));
                subject.run(&args)?;
            }
            subject.run(&["select-layout", "-t", "focus", "tiled"])?;
            subject.run(&["select-pane", "-t", "focus:0.0"])?;
            let term = subject.attach("focus")?;
            term.wait_for(START_TIMEOUT, "the focused pane", |s| s.contents().contains(READY))?;
            term
        }
    };
    std::thread::sleep(Duration::from_secs(1));
    let server = subject.server_pid()?;
    let before = crate::procs::cpu_seconds(server)?;
    let start = Instant::now();
    // A pane is about half the terminal wide: 80 keys to a row.
    let latencies = keystrokes_per_row(&term, ctx.plan.latency_samples, 80)?;
    let used = crate::procs::cpu_seconds(server)? - before;
    Ok((latencies, used / start.elapsed().as_secs_f64() * 100.0))
}

// ---- through ssh ------------------------------------------------------------

/// Keystroke echo on another machine, over ssh to a private sshd on
/// 127.0.0.1: `qmux -H HOST attach` (the client here, the server there,
/// the bridge and a shared ssh connection between) against
/// `ssh -t HOST tmux attach` (the whole of tmux there).
pub fn remote(ctx: &Ctx) -> Vec<Measurement> {
    let root = match tempfile::Builder::new().prefix("qmux-bench-ssh-").tempdir_in("/tmp") {
        Ok(root) => root,
        Err(e) => {
            let mut failed = Measurement::new("keystroke latency through ssh", "ms", Better::Lower, Target::None);
            failed.fail(Kind::Qmux, &format!("cannot create a directory for sshd: {e}"));
            return vec![failed];
        }
    };
    let sshd = qmux_e2e::sshd::Sshd::start_in(root.path(), None);
    echo_latency(ctx, "keystroke latency through ssh", &Kind::MULTIPLEXERS, "; sshd on 127.0.0.1", |subject| {
        remote_echo_session(ctx, subject, &sshd)
    })
}

/// The echo session, started on the subject's server, shown through ssh.
fn remote_echo_session(ctx: &Ctx, subject: &Subject, sshd: &qmux_e2e::sshd::Sshd) -> Result<Term> {
    subject.new_session("bench", &sh(&format!("stty raw -echo; printf '{READY}\\r\\n'; exec cat")))?;
    // The far side is this subject's own world: its socket directory and HOME.
    let far: Vec<String> = subject
        .env()
        .into_iter()
        .filter(|(k, _)| matches!(k.as_str(), "PATH" | "HOME" | "QMUX_TMPDIR" | "TMUX_TMPDIR" | "LANG"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let argv: Vec<String> = match subject.kind {
        Kind::Qmux => {
            let config = subject.scratch().join("remote.toml");
            std::fs::write(&config, sshd.config_for(&far, &ctx.tools.qmux))
                .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
            let qmux = ctx.tools.qmux.to_string_lossy().into_owned();
            [qmux, "-f".into(), config.to_string_lossy().into_owned()]
                .into_iter()
                .chain(["-H", "box", "attach", "-t", "bench"].map(String::from))
                .collect()
        }
        _ => {
            let tmux = ctx.tools.tmux.to_string_lossy().into_owned();
            let remote = format!("env {} {tmux} -L bench -f /dev/null attach-session -t bench", far.join(" "));
            [
                "ssh".into(),
                "-F".into(),
                sshd.ssh_config().to_string_lossy().into_owned(),
                "-t".into(),
                "box".into(),
                remote,
            ]
            .to_vec()
        }
    };
    let term = Term::spawn(&argv, &subject.env(), subject.scratch())?;
    term.wait_for(START_TIMEOUT, "the echo session to show through ssh", |s| any_row_is(s, READY))?;
    std::thread::sleep(SETTLE);
    Ok(term)
}

// ---- what idle sessions cost -----------------------------------------------

/// The server's resident memory and threads with 1, 50 and 200 sessions
/// running `cat` at 200×49, nobody attached: what a session costs when it
/// does nothing.
pub fn sessions(ctx: &Ctx) -> Vec<Measurement> {
    let mut rows = Vec::new();
    for &n in &ctx.plan.resident_sessions {
        let rss = Measurement::new(
            format!("server RSS, {n} idle sessions"),
            "MB",
            Better::Lower,
            Target::Ratio { at_least: 0.5, text: "≤ 2× tmux" },
        );
        let threads = Measurement::new("↳ server threads", "count", Better::Lower, Target::None);
        rows.extend(two_rows(ctx, rss, threads, |kind| {
            sessions_run(ctx, kind, n).map(|(bytes, count)| (bytes as f64 / 1e6, count as f64))
        }));
    }
    rows
}

fn sessions_run(ctx: &Ctx, kind: Kind, n: usize) -> Result<(u64, u64)> {
    let subject = ctx.subject(kind)?;
    for i in 0..n {
        subject.new_session(&format!("s{i}"), &sh("exec cat"))?;
    }
    let pid = subject.server_pid()?;
    // Settled: every session started and drew its (empty) screen.
    std::thread::sleep(Duration::from_secs(1));
    Ok((crate::procs::rss_bytes(pid)?, crate::procs::threads(pid)?))
}

// ---- many agents streaming -------------------------------------------------

/// N sessions each running a program that streams like an agent (a spinner
/// and coloured words every 80 ms; or, `--ink`, the bottom 20 rows
/// repainted 30 times a second), one client attached to one of them: the
/// server's and the client's CPU over the run.
pub fn agents(ctx: &Ctx) -> Vec<Measurement> {
    let mut rows = Vec::new();
    for ink in [false, true] {
        for &n in &ctx.plan.agent_sessions {
            let what = if ink { "Ink-like, 20 rows at 30 frames/s" } else { "spinner and words every 80 ms" };
            let server = Measurement::new(
                format!("agent load, {n} sessions ({what}): server CPU"),
                "% of a core",
                Better::Lower,
                Target::Ratio { at_least: 2.0, text: "≤ 0.5× tmux" },
            );
            let client = Measurement::new("↳ client CPU", "% of a core", Better::Lower, Target::None);
            let [mut server, client] = two_rows(ctx, server, client, |kind| agents_run(ctx, kind, n, ink));
            server
                .notes
                .push(format!("CPU (utime + stime, /proc) over {} s, after 2 s to settle", ctx.plan.agent_secs));
            rows.extend([server, client]);
        }
    }
    rows
}

fn agents_run(ctx: &Ctx, kind: Kind, n: usize, ink: bool) -> Result<(f64, f64)> {
    let subject = ctx.subject(kind)?;
    let mut argv = vec![ctx.bench_exe.to_string_lossy().into_owned(), "agent".to_string()];
    if ink {
        argv.push("--ink".into());
    }
    for i in 0..n {
        subject.new_session(&format!("a{i}"), &argv)?;
    }
    let term = subject.attach("a0")?;
    let server = subject.server_pid()?;
    let client = term.pid().ok_or("the client has no pid")?;
    std::thread::sleep(Duration::from_secs(2));
    let (s0, c0, t0) = (crate::procs::cpu_seconds(server)?, crate::procs::cpu_seconds(client)?, Instant::now());
    std::thread::sleep(Duration::from_secs(ctx.plan.agent_secs));
    let (s1, c1) = (crate::procs::cpu_seconds(server)?, crate::procs::cpu_seconds(client)?);
    let wall = t0.elapsed().as_secs_f64();
    Ok((100.0 * (s1 - s0) / wall, 100.0 * (c1 - c0) / wall))
}
