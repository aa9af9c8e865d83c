//! The things measured: qmux, tmux, and the bare PTY (the measured command
//! run straight in the harness's terminal: the physical limit).
//!
//! Every [`Subject`] gets a fresh temporary directory that holds its socket,
//! its HOME and its scratch files, so runs never see each other's servers,
//! config or sessions. Both multiplexers run without a config
//! (`-f /dev/null`) with their status bar on (qmux always has one; tmux's is
//! on by default), and tmux keeps 10000 lines of history, qmux's default.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::term::{Term, COLS, ROWS};
use crate::Result;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Qmux,
    Tmux,
    Bare,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Qmux, Kind::Tmux, Kind::Bare];
    pub const MULTIPLEXERS: [Kind; 2] = [Kind::Qmux, Kind::Tmux];
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Qmux => "qmux",
            Kind::Tmux => "tmux",
            Kind::Bare => "bare",
        })
    }
}

/// The binaries under test.
#[derive(Clone, Debug)]
pub struct Tools {
    pub qmux: PathBuf,
    pub tmux: PathBuf,
}

/// The prefix key both multiplexers use by default.
pub const PREFIX: u8 = 0x02;

/// One isolated instance of a subject: a server of its own (for the
/// multiplexers) in a directory of its own.
pub struct Subject {
    pub kind: Kind,
    tools: Tools,
    dir: tempfile::TempDir,
}

impl Subject {
    pub fn new(kind: Kind, tools: &Tools) -> Result<Subject> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("qmux-bench-{kind}-"))
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        std::fs::create_dir(dir.path().join("home")).map_err(|e| format!("cannot create HOME: {e}"))?;
        Ok(Subject { kind, tools: tools.clone(), dir })
    }

    /// A scratch directory that lives as long as the subject.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// The environment everything of this subject runs with: nothing
    /// inherited but PATH, so TMUX, QMUX and the user's settings stay out.
    pub fn env(&self) -> Vec<(String, String)> {
        let dir = self.dir.path().to_string_lossy().into_owned();
        vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())),
            ("HOME".into(), format!("{dir}/home")),
            ("TERM".into(), "xterm-256color".into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("QMUX_TMPDIR".into(), dir.clone()),
            ("TMUX_TMPDIR".into(), dir),
        ]
    }

    /// A command line of this multiplexer, isolated: its own socket, no
    /// config. It runs with no controlling terminal, so qmux sizes the
    /// sessions it creates from COLUMNS/LINES (200×50, like the harness's
    /// terminal) instead of from whatever terminal runs the benchmark.
    pub fn cli<S: AsRef<str>>(&self, args: &[S]) -> Command {
        let (program, isolation): (&Path, &[&str]) = match self.kind {
            Kind::Qmux => (&self.tools.qmux, &["-f", "/dev/null"]),
            // The bare subject has no server; nothing calls this for it.
            Kind::Tmux | Kind::Bare => (&self.tools.tmux, &["-L", "bench", "-f", "/dev/null"]),
        };
        let mut cmd = Command::new(program);
        cmd.args(isolation).args(args.iter().map(AsRef::as_ref));
        cmd.env_clear().envs(self.env()).env("COLUMNS", COLS.to_string()).env("LINES", ROWS.to_string());
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        // SAFETY: setsid is async-signal-safe.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                nix::unistd::setsid().map(drop).map_err(std::io::Error::from)
            });
        }
        cmd
    }

    /// Runs a command line and returns its standard output; a failure is an
    /// error that shows what failed.
    pub fn run<S: AsRef<str>>(&self, args: &[S]) -> Result<String> {
        let out = self.cli(args).output().map_err(|e| format!("cannot run {}: {e}", self.kind))?;
        check(&out, || format!("{} {}", self.kind, args.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(" ")))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Creates a background session `name` running `argv`, with a
    /// 200×49 screen: what a 200×50 terminal shows above the status bar.
    pub fn new_session(&self, name: &str, argv: &[String]) -> Result<()> {
        let mut args: Vec<String> = match self.kind {
            Kind::Qmux => ["new", "-d", "-s", name, "--"].map(String::from).to_vec(),
            Kind::Tmux => ["set", "-g", "history-limit", "10000", ";", "new-session", "-d", "-s", name]
                .into_iter()
                .map(String::from)
                .chain(["-x".into(), COLS.to_string(), "-y".into(), (ROWS - 1).to_string(), "--".into()])
                .collect(),
            Kind::Bare => return Err("the bare PTY has no sessions".into()),
        };
        args.extend(argv.iter().cloned());
        self.run(&args).map(drop)
    }

    /// A new window in tmux's session `session`: what tmux users switch
    /// between with prefix `n`, as qmux users do between sessions.
    pub fn new_tmux_window(&self, session: &str, argv: &[String]) -> Result<()> {
        let mut args: Vec<String> = ["new-window", "-d", "-t", session, "--"].map(String::from).to_vec();
        args.extend(argv.iter().cloned());
        self.run(&args).map(drop)
    }

    /// Attaches a client, in the harness's terminal, to session `name`.
    pub fn attach(&self, name: &str) -> Result<Term> {
        let program = match self.kind {
            Kind::Qmux => &self.tools.qmux,
            Kind::Tmux => &self.tools.tmux,
            Kind::Bare => return Err("the bare PTY has no sessions".into()),
        };
        let mut argv = vec![program.to_string_lossy().into_owned()];
        let tail: &[&str] = match self.kind {
            Kind::Qmux => &["-f", "/dev/null", "attach", "-t", name],
            _ => &["-L", "bench", "-f", "/dev/null", "attach-session", "-t", name],
        };
        argv.extend(tail.iter().map(|s| s.to_string()));
        Term::spawn(&argv, &self.env(), self.dir.path())
    }

    /// The harness's terminal showing `argv`: for the multiplexers, a new
    /// session `name` running it with a client attached; for the bare
    /// subject, `argv` itself.
    pub fn show(&self, name: &str, argv: &[String]) -> Result<Term> {
        match self.kind {
            Kind::Bare => Term::spawn(argv, &self.env(), self.dir.path()),
            _ => {
                self.new_session(name, argv)?;
                self.attach(name)
            }
        }
    }

    /// The session's screen as the multiplexer holds it.
    pub fn capture(&self, name: &str) -> Result<String> {
        match self.kind {
            Kind::Qmux => self.run(&["capture", "-t", name]),
            _ => self.run(&["capture-pane", "-p", "-t", name]),
        }
    }

    /// Waits until `name`'s screen, as the multiplexer holds it, contains
    /// `text`: the session has drawn it, whether or not a client shows it.
    pub fn wait_capture(&self, name: &str, text: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.capture(name)?;
            if screen.contains(text) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("{}: session {name} never showed {text:?}; it shows:\n{screen}", self.kind));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's process id.
    pub fn server_pid(&self) -> Result<u32> {
        match self.kind {
            Kind::Tmux => {
                let out = self.run(&["list-sessions", "-F", "#{pid}"])?;
                out.lines()
                    .next()
                    .and_then(|l| l.trim().parse().ok())
                    .ok_or_else(|| format!("tmux printed no pid: {out:?}"))
            }
            // The server is `qmux -S SOCKET ... server`, and SOCKET lies in
            // this subject's own directory.
            Kind::Qmux => {
                let dir = self.dir.path().to_string_lossy().into_owned();
                crate::procs::find(|argv| {
                    argv.iter().any(|a| a == "server") && argv.iter().any(|a| a.starts_with(&dir))
                })
                .ok_or_else(|| "cannot find the qmux server process".to_string())
            }
            Kind::Bare => Err("the bare PTY has no server".into()),
        }
    }

    /// The command that lists sessions, for the command-latency metric.
    pub fn ls(&self) -> Command {
        let mut cmd = self.cli(&[match self.kind {
            Kind::Qmux => "ls",
            _ => "list-sessions",
        }]);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        cmd
    }
}

impl Drop for Subject {
    fn drop(&mut self) {
        if self.kind != Kind::Bare {
            let _ = self.cli(&["kill-server"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
        // Programs of the killed sessions may still write their files here
        // for a moment, so removing the directory can race them: retry.
        for _ in 0..20 {
            if std::fs::remove_dir_all(self.dir.path()).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn check(out: &Output, what: impl FnOnce() -> String) -> Result<()> {
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    Err(format!("{} failed ({}): {}", what(), out.status, err.trim()))
}
