//! qmux-bench: qmux against tmux (and the bare PTY, the physical limit),
//! side by side in one run, seen from the user's terminal.
//!
//! Run it with `bench/run` (or `bench/run --quick` for a smoke run). The
//! metrics and their targets are those of issue 6; BENCHMARKS.md explains
//! the method and the results.

mod metrics;
mod procs;
mod report;
mod subjects;
mod term;
mod workload;
mod worktrees;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::metrics::{Ctx, Plan};
use crate::subjects::{Kind, Tools};

/// Errors are messages: every one says what failed, and a failed metric
/// shows in the table instead of stopping the run.
pub type Result<T> = std::result::Result<T, String>;

/// Benchmark qmux against tmux and the bare PTY.
#[derive(Parser, Debug)]
#[command(name = "qmux-bench", args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    helper: Option<Helper>,

    /// Small sizes, one run each: a smoke run in under a minute.
    #[arg(long)]
    quick: bool,

    /// Run only these metrics (comma-separated; default all).
    #[arg(long, value_delimiter = ',')]
    only: Vec<Metric>,

    /// Runs per metric and subject; the table shows medians.
    #[arg(long)]
    runs: Option<usize>,

    /// Subjects to measure (comma-separated; default qmux,tmux,bare).
    #[arg(long, value_delimiter = ',')]
    subjects: Vec<SubjectArg>,

    /// The qmux binary (default: `qmux` next to this program; given twice,
    /// the last wins, so `bench/run --qmux PATH` measures another build).
    #[arg(long)]
    qmux: Option<PathBuf>,

    /// The tmux binary.
    #[arg(long, default_value = "tmux")]
    tmux: PathBuf,

    /// Size of the throughput file, in MB.
    #[arg(long)]
    throughput_mb: Option<u64>,

    /// `cat` this file in the throughput metric instead of generated text
    /// (any output; no line of it may start with `#END-OF-BENCH`).
    #[arg(long, value_name = "FILE")]
    throughput_file: Option<PathBuf>,

    /// N of the `seq 1 N` line-heavy run.
    #[arg(long)]
    seq: Option<u64>,

    /// Keystrokes per latency run.
    #[arg(long)]
    samples: Option<usize>,

    /// Switches per switch-time run.
    #[arg(long)]
    switches: Option<usize>,

    /// Sessions and streaming sessions of the scale run, as TOTAL,STREAMING.
    #[arg(long, value_delimiter = ',', num_args = 2)]
    scale: Vec<usize>,

    /// Write the results into this Markdown file (default: BENCHMARKS.md for
    /// a full run; nothing for --quick).
    #[arg(long)]
    output: Option<PathBuf>,

    /// Don't write results anywhere; just print them.
    #[arg(long, conflicts_with = "output")]
    no_write: bool,

    /// Which qmux build this is, for the record (default: `git describe` of
    /// the current directory, which is right when --qmux is this checkout's).
    #[arg(long, value_name = "TEXT")]
    label: Option<String>,

    /// The command line to record as "how to reproduce" (bench/run passes
    /// its own).
    #[arg(long, hide = true)]
    command: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Helper {
    /// The streaming child of the scale metric (used by the benchmark).
    #[command(hide = true)]
    Stream {
        #[arg(long)]
        stats: PathBuf,
        #[arg(long, default_value_t = 5)]
        interval_ms: u64,
    },
    /// A program that streams like an agent (used by the benchmark).
    #[command(hide = true)]
    Agent {
        /// Repaint the bottom 20 rows at 30 frames/s, as Ink UIs do.
        #[arg(long)]
        ink: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Metric {
    Throughput,
    Seq,
    Memory,
    Latency,
    Switch,
    Command,
    Idle,
    Scale,
    Panes,
    Remote,
    Sessions,
    Agents,
    Worktrees,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SubjectArg {
    Qmux,
    Tmux,
    Bare,
}

impl From<SubjectArg> for Kind {
    fn from(s: SubjectArg) -> Kind {
        match s {
            SubjectArg::Qmux => Kind::Qmux,
            SubjectArg::Tmux => Kind::Tmux,
            SubjectArg::Bare => Kind::Bare,
        }
    }
}

/// A metric: runs its subjects and returns its table rows.
type Measure = fn(&Ctx) -> Vec<report::Measurement>;

/// The metrics in issue 6's priority order.
const ORDER: [(Metric, Measure); 13] = [
    (Metric::Throughput, metrics::throughput),
    (Metric::Seq, metrics::line_heavy),
    (Metric::Memory, metrics::memory),
    (Metric::Latency, metrics::keystroke),
    (Metric::Switch, metrics::switch),
    (Metric::Command, metrics::command),
    (Metric::Idle, metrics::idle),
    (Metric::Scale, metrics::scale),
    (Metric::Panes, metrics::panes),
    (Metric::Remote, metrics::remote),
    (Metric::Sessions, metrics::sessions),
    (Metric::Agents, metrics::agents),
    (Metric::Worktrees, worktrees::worktrees),
];

fn main() {
    let cli = Cli::parse();
    let helped = match &cli.helper {
        Some(Helper::Stream { stats, interval_ms }) => {
            Some(workload::stream(stats, Duration::from_millis(*interval_ms)))
        }
        Some(Helper::Agent { ink }) => Some(workload::agent(*ink)),
        None => None,
    };
    if let Some(result) = helped {
        if let Err(e) = result {
            eprintln!("qmux-bench helper: {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Err(e) = run(cli) {
        eprintln!("qmux-bench: {e}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let plan = plan(&cli);
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let qmux = match &cli.qmux {
        Some(p) => p.clone(),
        None => exe.with_file_name("qmux"),
    };
    if !qmux.is_file() {
        return Err(format!("no qmux binary at {} (build it, or pass --qmux PATH)", qmux.display()));
    }
    let qmux = std::fs::canonicalize(&qmux).map_err(|e| format!("{}: {e}", qmux.display()))?;
    let machine = machine(&Tools { qmux: qmux.clone(), tmux: cli.tmux.clone() }, cli.label.as_deref());
    eprintln!("{machine}");
    let data = tempfile::Builder::new()
        .prefix("qmux-bench-data-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    // Measure private copies: a rebuild of target/ during the run would
    // otherwise swap the binary under a server that re-executes itself.
    let qmux = snapshot(&qmux, data.path())?;
    let bench_exe = snapshot(&exe, data.path())?;
    let ctx = Ctx { plan, tools: Tools { qmux, tmux: cli.tmux.clone() }, bench_exe, data };

    let mut rows = Vec::new();
    for (metric, measure) in ORDER {
        if !cli.only.is_empty() && !cli.only.contains(&metric) {
            continue;
        }
        eprintln!("== {metric:?}");
        rows.extend(measure(&ctx));
    }

    let table = report::table(&rows);
    println!("\n{table}");
    let details = report::details(&rows);
    println!("{details}");

    let output = match (&cli.output, cli.no_write, cli.quick) {
        (Some(p), _, _) => Some(p.clone()),
        (None, false, false) => Some(PathBuf::from("BENCHMARKS.md")),
        _ => None,
    };
    if let Some(path) = output {
        let command = cli.command.clone().unwrap_or_else(|| std::env::args().collect::<Vec<_>>().join(" "));
        let kind = if cli.quick { "quick smoke run" } else { "full run" };
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        let section = format!(
            "## Results ({kind})\n\n{machine}- load average at the end: {}\n- command: `{command}`\n\n{table}\n\
             Runs (each value is one run; the table shows medians):\n\n{details}",
            load.join(" ")
        );
        report::write_section(&path, &section)?;
        eprintln!("results written to {}", path.display());
    }
    Ok(())
}

/// Copies a binary into `dir`, keeping its name and permissions.
fn snapshot(binary: &std::path::Path, dir: &std::path::Path) -> Result<PathBuf> {
    let copy = dir.join(binary.file_name().unwrap_or_default());
    std::fs::copy(binary, &copy).map_err(|e| format!("cannot copy {}: {e}", binary.display()))?;
    Ok(copy)
}

/// The plan: full or quick sizes, then any sizes given on the command line.
fn plan(cli: &Cli) -> Plan {
    let mut plan = if cli.quick { Plan::quick() } else { Plan::full() };
    if let Some(runs) = cli.runs {
        plan.runs = runs.max(1);
    }
    if !cli.subjects.is_empty() {
        plan.subjects = cli.subjects.iter().map(|s| Kind::from(*s)).collect();
    }
    if let Some(mb) = cli.throughput_mb {
        plan.throughput_mb = mb;
    }
    if let Some(file) = &cli.throughput_file {
        plan.throughput_file = Some(std::fs::canonicalize(file).unwrap_or_else(|_| file.clone()));
    }
    if let Some(n) = cli.seq {
        plan.seq_count = n;
    }
    if let Some(n) = cli.samples {
        plan.latency_samples = n;
        plan.scale_samples = n;
    }
    if let Some(n) = cli.switches {
        plan.switches = n;
    }
    if let [total, streaming] = cli.scale[..] {
        plan.scale_sessions = total;
        plan.scale_streaming = streaming.min(total.saturating_sub(1));
    }
    plan
}

/// The machine and software the numbers come from, as Markdown list items.
fn machine(tools: &Tools, label: Option<&str>) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_string()))
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let date = output_of(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]));
    let tmux = output_of(Command::new(&tools.tmux).arg("-V"));
    let qmux = output_of(Command::new(&tools.qmux).arg("--version"));
    let commit = match label {
        Some(label) => label.to_string(),
        None => format!("commit {}", output_of(Command::new("git").args(["describe", "--always", "--dirty"]))),
    };
    format!(
        "- machine: {cores} cores ({model}), Linux {}, load average at start {}\n- date: {date}\n- {tmux}; {qmux} \
         ({commit}) at {}\n",
        kernel.trim(),
        load.join(" "),
        tools.qmux.display()
    )
}

fn output_of(cmd: &mut Command) -> String {
    cmd.output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}
