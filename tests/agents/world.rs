//! One test's world (qmux, the mock, the agent's home) and the verbs the
//! scenarios use on it.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use qmux_e2e::{alive, poll_until, scaled, Env};
use qmux_mockllm::agents;
use qmux_mockllm::{Config, Logged, Mock};

use crate::agent::*;

/// How long an agent may take to start, or to answer: node programs start
/// slowly on a loaded machine.
pub const AGENT_TIMEOUT: Duration = Duration::from_secs(60);
/// Runs tests/agents/install once per test binary when an agent is missing.
pub fn ensure_installed(agent: Agent) {
    static INSTALL: Mutex<bool> = Mutex::new(false);
    let mut done = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if agents::program(agent.program()).is_some() || *done {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("agents/install");
    qmux_e2e::preflight();
    let status = Command::new("bash").arg(&script).status().expect("bash runs tests/agents/install");
    if !status.success() {
        // Every agent test would fail the same way: one line, and stop.
        qmux_e2e::stop("tests/agents/install failed (above): the agents' tests need the npm and PyPI registries");
    }
    *done = true;
    assert!(
        agents::program(agent.program()).is_some(),
        "{} is not installed after tests/agents/install",
        agent.program()
    );
}

/// One test's world: qmux, the mock, and the agent's home set up.
pub struct World {
    pub env: Env,
    pub mock: Mock,
    pub agent: Agent,
    pub argv: Vec<String>,
}

impl World {
    pub fn new(agent: Agent) -> World {
        World::with_others(agent, &[]).0
    }

    /// A world whose home has `others` set up as well (their files, and
    /// those of their variables `agent` does not set), for sessions the
    /// agent starts itself: with their command lines, each program by its
    /// name alone (its folder is put on PATH), so a message that names one
    /// stays short.
    pub fn with_others(agent: Agent, others: &[Agent]) -> (World, Vec<Vec<String>>) {
        ensure_installed(agent);
        let mock = Mock::start(Config { token_delay: Duration::from_millis(40), ..Config::default() })
            .expect("the mock LLM listens on 127.0.0.1");
        let mut env = Env::new();
        let home = env.home();
        let prepared = agent.prepare(&home, &env.work_dir(), &mock.url());
        for (key, value) in &prepared.env {
            env = match key.as_str() {
                // The agents need node 22 first; qmux and its tools stay on PATH.
                "PATH" => {
                    let ours = env.vars().get("PATH").cloned().unwrap_or_default();
                    env.with_var("PATH", &format!("{value}:{ours}"))
                }
                _ => env.with_var(key, value),
            };
        }
        let mut argvs = Vec::new();
        for other in others {
            ensure_installed(*other);
            let theirs = other.prepare(&home, &env.work_dir(), &mock.url());
            for (key, value) in &theirs.env {
                if !prepared.env.iter().any(|(k, _)| k == key) && !env.vars().contains_key(key) {
                    env = env.with_var(key, value);
                }
            }
            let mut argv = theirs.argv;
            let program = Path::new(&argv[0]).to_path_buf();
            if let (Some(dir), Some(name)) = (program.parent(), program.file_name()) {
                let path = env.vars().get("PATH").cloned().unwrap_or_default();
                env = env.with_var("PATH", &format!("{path}:{}", dir.display()));
                argv[0] = name.to_string_lossy().into_owned();
            }
            argvs.push(argv);
        }
        (World { env, mock, agent, argv: prepared.argv }, argvs)
    }

    /// Starts the agent in a background session in `dir` (default: the
    /// work directory) and waits for its prompt.
    pub fn start(&self, name: &str, dir: Option<&Path>) {
        let dir = dir.map_or_else(|| self.env.work_dir(), Path::to_path_buf);
        let mut args = vec!["new", "-d", "-s", name, "-c"];
        let dir_text = dir.to_string_lossy().into_owned();
        args.push(&dir_text);
        args.push("--");
        args.extend(self.argv.iter().map(String::as_str));
        self.env.qmux_ok(&args);
        self.wait(name, "waiting");
    }

    /// `qmux wait --until STATE`, which must hold within the agent timeout
    /// (asked in rounds shorter than the harness's bound on one command).
    pub fn wait(&self, name: &str, state: &str) {
        let deadline = Instant::now() + scaled(AGENT_TIMEOUT);
        loop {
            let out = self.env.qmux(&["wait", "-t", name, "--until", state, "--timeout", "10"]);
            if out.status.success() {
                return;
            }
            assert!(
                out.status.code() == Some(3) && Instant::now() < deadline,
                "{:?} {name} never got to {state}: {}\nexplain:\n{}\nscreen:\n{}",
                self.agent,
                String::from_utf8_lossy(&out.stderr),
                self.explain(name),
                self.env.capture(name)
            );
        }
    }

    pub fn explain(&self, name: &str) -> String {
        String::from_utf8_lossy(&self.env.qmux(&["explain", "-t", name]).stdout).into_owned()
    }

    pub fn send(&self, name: &str, args: &[&str]) {
        let mut all = vec!["send", "-t", name];
        all.extend(args);
        let out = self.env.qmux(&all);
        assert!(
            out.status.success(),
            "{:?}: send {args:?} failed: {}\nscreen:\n{}",
            self.agent,
            String::from_utf8_lossy(&out.stderr),
            self.env.capture(name)
        );
    }

    /// Waits until the mock has had `text` as the newest user message of
    /// `count` requests.
    /// `kill-server`, then waits until the server and every process of
    /// the sessions `names` have ended.
    pub fn kill_server(&self, names: &[&str]) {
        let processes: Vec<i32> = names.iter().flat_map(|n| self.processes(n)).collect();
        let server = self.env.server_pid();
        self.env.qmux_ok(&["kill-server"]);
        poll_until(
            scaled(Duration::from_secs(10)),
            "the server and the agents to end",
            || (!alive(server) && processes.iter().all(|p| !alive(*p))).then_some(()),
            || format!("alive: {:?}", processes.iter().filter(|p| alive(**p)).collect::<Vec<_>>()),
        );
    }

    /// Sends `next` to `name` and returns the model's request it reached
    /// the model in: its conversation so far.
    pub fn next_request(&self, name: &str, next: &str) -> Logged {
        self.send(name, &[next]);
        poll_until(
            scaled(AGENT_TIMEOUT),
            &format!("{next:?} to reach the model"),
            || self.mock.requests().into_iter().find(|r| r.last_user_text.as_deref() == Some(next)),
            || format!("{:#?}\n{}", self.user_texts(), self.env.capture(name)),
        )
    }

    pub fn wait_delivered(&self, text: &str, count: usize) {
        poll_until(
            scaled(AGENT_TIMEOUT),
            &format!("{text:?} to reach the model {count} time(s)"),
            || (self.mock.deliveries(text) >= count).then_some(()),
            || {
                let deliveries = self.mock.deliveries(text);
                format!("deliveries: {deliveries}\nrequests: {:#?}\n{}", self.user_texts(), self.sessions_explained())
            },
        );
    }

    /// Every session's `qmux explain` and screen, for a failure that names
    /// none (tests/agents/drift shows them as the rule that no longer matches).
    pub fn sessions_explained(&self) -> String {
        let ls = self.env.qmux(&["ls"]);
        let names: Vec<String> =
            String::from_utf8_lossy(&ls.stdout).lines().filter_map(qmux_e2e::LsLine::parse).map(|s| s.name).collect();
        let screen = |n: &str| String::from_utf8_lossy(&self.env.qmux(&["capture", "-t", n]).stdout).into_owned();
        let each = names.iter().map(|n| format!("session {n}:\nexplain:\n{}\nscreen:\n{}", self.explain(n), screen(n)));
        each.collect::<Vec<_>>().join("\n")
    }

    pub fn user_texts(&self) -> Vec<Vec<String>> {
        self.mock.requests().into_iter().filter(|r| !r.user_texts.is_empty()).map(|r| r.user_texts).collect()
    }

    pub fn state(&self, name: &str) -> String {
        self.env.state(name)
    }

    /// The session's processes: its program and every descendant.
    pub fn processes(&self, name: &str) -> Vec<i32> {
        let pid = self.env.session_pid(name).expect("the session's pid") as i32;
        let mut all = vec![pid];
        let mut i = 0;
        while i < all.len() {
            let children = qmux_e2e::children_of(all[i]);
            all.extend(children);
            i += 1;
        }
        all
    }

    /// Whether the tool's output reached the model: it ran.
    pub fn tool_ran(&self) -> bool {
        self.mock.requests().iter().any(|r| r.body.to_string().contains(TOOL_OUTPUT))
    }

    /// `qmux approve` (or `deny`): answered once the agent left the
    /// question. Claude Code, under load and with its hooks installed, has
    /// been seen to ignore every key for over half a minute, so a "still
    /// there" is asked again, as a user would, up to the usual timeout.
    pub fn answer(&self, name: &str, verb: &str) {
        let give_up = Instant::now() + scaled(AGENT_TIMEOUT);
        loop {
            let out = self.env.qmux(&[verb, "-t", name]);
            let err = String::from_utf8_lossy(&out.stderr);
            if out.status.success() {
                return;
            }
            assert!(
                err.contains("still there") && Instant::now() < give_up,
                "{:?}: {verb} failed: {err}\nexplain:\n{}\nscreen:\n{}",
                self.agent,
                self.explain(name),
                self.env.capture(name)
            );
        }
    }

    /// Approves the question (and aider's second one, to keep the output),
    /// and waits until the command ran (its output reached the model: for
    /// aider, with the next message).
    pub fn approve(&self, name: &str) {
        self.answer(name, "approve");
        if self.agent.asks_to_keep_the_output() {
            self.wait(name, "approval");
            self.answer(name, "approve");
        }
        poll_until(
            scaled(AGENT_TIMEOUT),
            "the approved command's output to reach the model",
            || self.tool_ran().then_some(()),
            || format!("{}\n{}", self.explain(name), self.env.capture(name)),
        );
    }
}

/// Every file under `dir` with its size and modification time, for
/// failure messages.
pub fn files_under(dir: &Path) -> String {
    let out = Command::new("find").arg(dir).args(["-type", "f", "-printf", "%T+ %s %p\\n"]).output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
}

/// Samples a session's state with `qmux ls --json` until `stop` holds for
/// the samples so far: (when the sample began, when it ended, the state).
pub fn sample_states(
    env: &Env,
    name: &str,
    stop: impl Fn(&[(Instant, Instant, String)]) -> bool,
) -> Vec<(Instant, Instant, String)> {
    let mut samples = Vec::new();
    let deadline = Instant::now() + scaled(AGENT_TIMEOUT);
    while !stop(&samples) && Instant::now() < deadline {
        let began = Instant::now();
        let state = env.state(name);
        samples.push((began, Instant::now(), state));
    }
    samples
}
