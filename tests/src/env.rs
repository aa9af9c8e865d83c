//! [`Env`]: one isolated qmux world per test.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::sys::termios::{tcgetattr, LocalFlags};

use crate::procs::{self, TAG_VAR};
use crate::{bins_dir, poll_until, scaled, Term, COMMAND_TIMEOUT, DEFAULT_TIMEOUT};

/// One test's private qmux world: a temporary directory holding HOME, the
/// socket directory (`QMUX_TMPDIR`), the XDG directories and a working
/// directory, plus the environment every `qmux` it runs gets.
///
/// The environment is built from scratch, not inherited: `QMUX`,
/// `QMUX_SESSION`, `TMUX` and `XDG_RUNTIME_DIR` are absent, and `PATH` is the
/// bins directory plus `/usr/bin:/bin`, so `q` is never found and the
/// stand-in chat `qmux-chat` is the default command. The stand-in chat is
/// tuned fast (think 150 ms, 5 ms a token, 30 words a reply); override with
/// [`Env::with_var`].
///
/// Dropping an `Env` runs `qmux kill-server` and then kills any process it
/// started that is still alive.
pub struct Env {
    root: tempfile::TempDir,
    vars: BTreeMap<String, String>,
    config: PathBuf,
    bins: PathBuf,
    runs: AtomicUsize,
}

/// One line of `qmux ls`: `INDEX: NAME (COMMAND) [COLSxROWS] …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LsLine {
    pub index: u32,
    pub name: String,
    /// The whole line, for the markers after the name.
    pub line: String,
}

impl LsLine {
    /// Parses one line; `None` if it does not start `INDEX: NAME`.
    pub fn parse(line: &str) -> Option<LsLine> {
        let (index, rest) = line.split_once(": ")?;
        let index = index.trim().parse().ok()?;
        let name = rest.split(" (").next()?.trim_end();
        Some(LsLine { index, name: name.to_string(), line: line.to_string() })
    }

    /// Whether a client shows this session.
    pub fn attached(&self) -> bool {
        self.line.contains("(attached)")
    }

    /// The exit code from `[exited N]`, if the program ended.
    pub fn exit_code(&self) -> Option<i32> {
        let rest = &self.line[self.line.find("] exited ")? + "] exited ".len()..];
        rest.split_whitespace().next()?.parse().ok()
    }
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    /// A fresh world with no config (`-f /dev/null`).
    pub fn new() -> Env {
        crate::preflight();
        let bins = bins_dir();
        // Under /tmp, not $TMPDIR: a Unix socket path must fit in 108 bytes.
        let root = tempfile::Builder::new()
            .prefix("qmux-e2e.")
            .tempdir_in("/tmp")
            .expect("cannot create a temporary directory in /tmp");
        let dir = |name: &str| {
            let path = root.path().join(name);
            fs::create_dir_all(&path).expect("cannot create a test directory");
            path.to_string_lossy().into_owned()
        };
        let mut vars = BTreeMap::new();
        let mut set = |k: &str, v: String| {
            vars.insert(k.to_string(), v);
        };
        set("HOME", dir("home"));
        set("QMUX_TMPDIR", dir("sock"));
        set("XDG_CONFIG_HOME", dir("config"));
        set("XDG_DATA_HOME", dir("data"));
        set("XDG_STATE_HOME", dir("state"));
        set("TMPDIR", dir("tmp"));
        set("PATH", format!("{}:/usr/bin:/bin", bins.display()));
        set("TERM", "xterm-256color".into());
        set("LANG", "C.UTF-8".into());
        set("SHELL", "/bin/sh".into());
        set("USER", std::env::var("USER").unwrap_or_else(|_| "tester".into()));
        set("QMUX_CHAT_THINK_MS", "150".into());
        set("QMUX_CHAT_TOKEN_MS", "5".into());
        set("QMUX_CHAT_REPLY_WORDS", "30".into());
        if let Ok(v) = std::env::var("RUST_BACKTRACE") {
            set("RUST_BACKTRACE", v);
        }
        set(TAG_VAR, root.path().to_string_lossy().into_owned());
        dir("work");
        dir("runs");
        Env { root, vars, config: PathBuf::from("/dev/null"), bins, runs: AtomicUsize::new(0) }
    }

    /// A fresh world whose `-f` points at a config file holding `text`.
    pub fn with_config(text: &str) -> Env {
        let mut env = Env::new();
        let path = env.root.path().join("config.toml");
        fs::write(&path, text).expect("cannot write the config file");
        env.config = path;
        env
    }

    /// Points `-f` at a config file holding `text`, from now on.
    pub fn set_config(&mut self, text: &str) {
        let path = self.root.path().join("config.toml");
        fs::write(&path, text).expect("cannot write the config file");
        self.config = path;
    }

    /// Sets (or overrides) an environment variable for everything this
    /// `Env` runs from now on, e.g. the stand-in chat's knobs.
    pub fn with_var(mut self, key: &str, value: &str) -> Env {
        self.vars.insert(key.to_string(), value.to_string());
        self
    }

    /// The environment every command gets.
    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The directory commands run in. Sessions created without `-c` start
    /// here, and a session named by default is called `work`.
    pub fn work_dir(&self) -> PathBuf {
        self.root.path().join("work")
    }

    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// The directory `QMUX_TMPDIR` points at.
    pub fn socket_dir(&self) -> PathBuf {
        self.root.path().join("sock")
    }

    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// The path of a workspace binary (`qmux`, `qmux-chat`, `termprobe`).
    pub fn bin(&self, name: &str) -> PathBuf {
        let path = self.bins.join(name);
        assert!(
            path.is_file(),
            "{name} not found at {}: build the workspace first: cargo build --workspace",
            path.display()
        );
        path
    }

    /// `qmux -f CONFIG ARGS…` with this world's environment, in the work
    /// directory, stdin from /dev/null. Run it with [`Env::run`].
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.bin("qmux"));
        cmd.env_clear()
            .envs(&self.vars)
            .current_dir(self.work_dir())
            .arg("-f")
            .arg(&self.config)
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `qmux ARGS` to completion (or fails the test after
    /// [`COMMAND_TIMEOUT`]).
    pub fn qmux(&self, args: &[&str]) -> Output {
        self.run(self.cmd(args))
    }

    /// Runs a command to completion with a timeout. Its output goes to files,
    /// not pipes, so a daemon that inherits them cannot make us wait for EOF.
    pub fn run(&self, mut cmd: Command) -> Output {
        let n = self.runs.fetch_add(1, Ordering::Relaxed);
        let runs = self.root.path().join("runs");
        let (out_path, err_path) = (runs.join(format!("{n}.out")), runs.join(format!("{n}.err")));
        let create = |p: &Path| File::create(p).expect("cannot create an output file");
        cmd.stdout(create(&out_path)).stderr(create(&err_path));
        let what = format!("{cmd:?}");
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
        let timeout = scaled(COMMAND_TIMEOUT);
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait().expect("cannot wait for a child") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "command did not finish within {timeout:?}: {what}\nstdout: {}\nstderr: {}",
                    String::from_utf8_lossy(&fs::read(&out_path).unwrap_or_default()),
                    String::from_utf8_lossy(&fs::read(&err_path).unwrap_or_default()),
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Output {
            status,
            stdout: fs::read(&out_path).unwrap_or_default(),
            stderr: fs::read(&err_path).unwrap_or_default(),
        }
    }

    /// Runs `qmux ARGS`, fails the test unless it succeeds, returns stdout.
    pub fn qmux_ok(&self, args: &[&str]) -> String {
        let out = self.qmux(args);
        assert!(
            out.status.success(),
            "qmux {} failed ({}):\nstdout: {}\nstderr: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `qmux new -d -s NAME -- CMD…`: a background session, which must
    /// print nothing.
    pub fn start_detached(&self, name: &str, command: &[&str]) {
        let mut args = vec!["new", "-d", "-s", name, "--"];
        args.extend_from_slice(command);
        let out = self.qmux_ok(&args);
        assert!(out.is_empty(), "qmux {} printed {out:?}; it should print nothing", args.join(" "));
    }

    /// `qmux ls`, which must succeed.
    pub fn ls(&self) -> String {
        self.qmux_ok(&["ls"])
    }

    /// The sessions `qmux ls` lists.
    pub fn sessions(&self) -> Vec<LsLine> {
        self.ls().lines().filter_map(LsLine::parse).collect()
    }

    /// The `qmux ls` line of one session.
    pub fn session(&self, name: &str) -> Option<LsLine> {
        self.sessions().into_iter().find(|s| s.name == name)
    }

    /// Polls `qmux ls` until `pred` holds for its lines; returns them.
    pub fn wait_ls(&self, what: &str, mut pred: impl FnMut(&[LsLine]) -> bool) -> Vec<LsLine> {
        let last = std::cell::RefCell::new(String::new());
        poll_until(
            DEFAULT_TIMEOUT,
            what,
            || {
                let out = self.qmux(&["ls"]);
                *last.borrow_mut() = format!(
                    "exit {}\nstdout:\n{}stderr:\n{}",
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                if !out.status.success() {
                    return None;
                }
                let lines: Vec<LsLine> =
                    String::from_utf8_lossy(&out.stdout).lines().filter_map(LsLine::parse).collect();
                pred(&lines).then_some(lines)
            },
            || format!("--- last qmux ls ---\n{}", last.borrow()),
        )
    }

    /// `qmux ls --json`: an array of session objects.
    pub fn ls_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.qmux_ok(&["ls", "--json"])).expect("qmux ls --json printed invalid JSON")
    }

    /// The pid of a session's program, from `qmux ls --json`.
    pub fn session_pid(&self, name: &str) -> Option<u32> {
        let json = self.ls_json();
        json.as_array()?.iter().find(|s| s["name"] == name).and_then(|s| s["pid"].as_u64()).map(|pid| pid as u32)
    }

    /// One session's object from `qmux ls --json`, `None` if it is not listed.
    pub fn session_json(&self, name: &str) -> Option<serde_json::Value> {
        self.ls_json().as_array()?.iter().find(|s| s["name"] == name).cloned()
    }

    /// A session's `state` from `qmux ls --json` (`busy`, `waiting`,
    /// `approval`, `exited`); fails the test if the session is not listed.
    pub fn state(&self, name: &str) -> String {
        let session = self.session_json(name).unwrap_or_else(|| panic!("{name} is not in qmux ls --json"));
        session["state"].as_str().unwrap_or_else(|| panic!("{name} has no string state: {session}")).to_string()
    }

    /// Polls `qmux ls --json` until session `name` is in `state`; returns
    /// its object.
    pub fn wait_state(&self, name: &str, state: &str) -> serde_json::Value {
        let last = std::cell::RefCell::new(serde_json::Value::Null);
        poll_until(
            DEFAULT_TIMEOUT,
            &format!("{name} to be {state} in qmux ls --json"),
            || {
                let session = self.session_json(name)?;
                let found = session["state"] == state;
                *last.borrow_mut() = session.clone();
                found.then_some(session)
            },
            || {
                let screen = self.qmux(&["capture", "-t", name]);
                format!(
                    "--- last object for {name} ---\n{:#}\n--- qmux capture ---\n{}{}",
                    last.borrow(),
                    String::from_utf8_lossy(&screen.stdout),
                    String::from_utf8_lossy(&screen.stderr)
                )
            },
        )
    }

    /// Runs `qmux ARGS` to completion with `input` as its standard input.
    pub fn qmux_with_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let n = self.runs.fetch_add(1, Ordering::Relaxed);
        let path = self.root.path().join("runs").join(format!("{n}.in"));
        fs::write(&path, input).expect("cannot write an input file");
        let mut cmd = self.cmd(args);
        cmd.stdin(File::open(&path).expect("cannot open an input file"));
        self.run(cmd)
    }

    /// Starts `qmux ARGS` and returns at once, for commands that block
    /// (`qmux wait`) while the test makes their condition come true.
    pub fn spawn_qmux(&self, args: &[&str]) -> Background {
        let n = self.runs.fetch_add(1, Ordering::Relaxed);
        let runs = self.root.path().join("runs");
        let (out_path, err_path) = (runs.join(format!("{n}.out")), runs.join(format!("{n}.err")));
        let create = |p: &Path| File::create(p).expect("cannot create an output file");
        let mut cmd = self.cmd(args);
        cmd.stdout(create(&out_path)).stderr(create(&err_path));
        let what = format!("qmux {}", args.join(" "));
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
        Background { child, what, out_path, err_path, output: None }
    }

    /// `qmux capture -t TARGET`: the session's screen as plain text.
    pub fn capture(&self, target: &str) -> String {
        self.qmux_ok(&["capture", "-t", target])
    }

    /// Whether the program with this pid has its terminal in raw mode
    /// (ICANON off), read from its own PTY. A rustyline chat is in raw mode
    /// exactly while it waits at its prompt.
    pub fn tty_is_raw(pid: u32) -> Option<bool> {
        let tty = fs::read_link(format!("/proc/{pid}/fd/0")).ok()?;
        // O_NOCTTY: look at another program's terminal without adopting it.
        let file = fs::OpenOptions::new().read(true).custom_flags(nix::libc::O_NOCTTY).open(&tty).ok()?;
        let termios = tcgetattr(file.as_fd()).ok()?;
        Some(!termios.local_flags.contains(LocalFlags::ICANON))
    }

    /// A command that waits until the file `flag` (relative to the work
    /// directory) exists, then runs the shell `script`. With
    /// [`Env::trigger`] it lets a background session act at a moment the
    /// test chooses, without any way to type into it.
    pub fn after_trigger(&self, flag: &str, script: &str) -> Vec<String> {
        let path = self.work_dir().join(flag);
        vec!["sh".into(), "-c".into(), format!("until [ -e '{}' ]; do sleep 0.02; done; {script}", path.display())]
    }

    /// Creates the file `flag` in the work directory (see [`Env::after_trigger`]).
    pub fn trigger(&self, flag: &str) {
        File::create(self.work_dir().join(flag)).expect("cannot create a trigger file");
    }

    /// Runs `qmux ARGS` in a real terminal of `cols`×`rows`.
    pub fn attach(&self, args: &[&str], cols: u16, rows: u16) -> Term {
        self.attach_with_env(args, cols, rows, &[])
    }

    /// Like [`Env::attach`], with extra environment variables (e.g. `QMUX`,
    /// to act as if inside a session).
    pub fn attach_with_env(&self, args: &[&str], cols: u16, rows: u16, extra: &[(&str, &str)]) -> Term {
        let mut argv: Vec<String> = vec!["-f".into(), self.config.to_string_lossy().into_owned()];
        argv.extend(args.iter().map(|s| s.to_string()));
        let mut vars = self.vars.clone();
        for (k, v) in extra {
            vars.insert(k.to_string(), v.to_string());
        }
        Term::spawn(&self.bin("qmux"), &argv, &vars, &self.work_dir(), cols, rows)
    }

    /// Runs any program (e.g. `qmux-chat` without qmux) in a real terminal.
    pub fn spawn_in_term(&self, program: &Path, args: &[&str], cols: u16, rows: u16) -> Term {
        let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        Term::spawn(program, &argv, &self.vars, &self.work_dir(), cols, rows)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // Best effort and bounded: a test that already failed must not hang here.
        let mut cmd = self.cmd(&["kill-server"]);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        if let Ok(mut child) = cmd.spawn() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        procs::reap(&self.root.path().to_string_lossy(), Duration::from_secs(2));
    }
}

/// A `qmux` command started by [`Env::spawn_qmux`]: still running, or done
/// with its output. Dropping it kills the command if it still runs.
pub struct Background {
    child: std::process::Child,
    what: String,
    out_path: PathBuf,
    err_path: PathBuf,
    output: Option<Output>,
}

impl Background {
    /// The output, if the command has ended.
    pub fn try_output(&mut self) -> Option<Output> {
        if self.output.is_none() {
            if let Some(status) = self.child.try_wait().expect("cannot wait for a child") {
                self.output = Some(Output {
                    status,
                    stdout: fs::read(&self.out_path).unwrap_or_default(),
                    stderr: fs::read(&self.err_path).unwrap_or_default(),
                });
            }
        }
        self.output.clone()
    }

    /// The command's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the command still runs.
    pub fn running(&mut self) -> bool {
        self.try_output().is_none()
    }

    /// Waits (up to [`DEFAULT_TIMEOUT`]) for the command to end.
    pub fn wait_output(&mut self) -> Output {
        let what = format!("{} to end", self.what);
        poll_until(DEFAULT_TIMEOUT, &what, || self.try_output(), String::new)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
