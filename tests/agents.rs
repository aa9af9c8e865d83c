//! The real agents, unmodified, inside the real qmux, driven offline by the
//! mock LLM (tests/mockllm) on 127.0.0.1: Claude Code, Codex, Gemini CLI,
//! Qwen Code, pi, GitHub Copilot CLI and opencode, as pinned in
//! tests/agents/package.json, and aider, as pinned in
//! tests/agents/aider-requirements.txt. The mock's request log is the ground
//! truth for "the message reached the model, once".
//!
//! For each agent: the state timeline through a reply (never waiting while
//! it streams), `send` and multi-line `send -`, `--when-waiting` delivered
//! exactly once and never into an approval dialog, `wait --until approval`
//! (pi, which never asks, instead runs a tool and is never taken to ask),
//! the done mark after a background reply, `kill` leaving no process, two
//! sessions in one directory each resumed into its own conversation after
//! `kill-server` and `restore`, the agent typed into a shell found in the
//! foreground, (Claude Code, Gemini CLI) state reported through hooks,
//! (GitHub Copilot CLI) its question whether to trust a new folder, and
//! (Claude Code, Gemini CLI) driving Codex through `qmux mcp`.
//!
//! The agents are installed by tests/agents/install (CI runs it first; a
//! test runs it itself when they are missing).

// Beside the install scripts: the agents, and one test's world.
#[path = "agents/agent.rs"]
mod agent;
#[path = "agents/notices.rs"]
mod notices;
#[path = "agents/worktrees.rs"]
mod worktrees;
#[path = "agents/world.rs"]
mod world;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use qmux_e2e::{alive, cmdline, poll_until, scaled};

use agent::*;
use world::*;
/// One `#[test]` per agent for a scenario: `agent_tests!(timeline: Claude => claude_code_timeline, …)`.
macro_rules! agent_tests {
    ($scenario:ident: $($agent:ident => $name:ident),+) => {
        $(
            #[test]
            fn $name() {
                $scenario(Agent::$agent);
            }
        )+
    };
}

// ---- the state timeline ----------------------------------------------------

fn timeline(agent: Agent) {
    let w = World::new(agent);
    w.start("a", None);
    assert_eq!(w.state("a"), "waiting", "at its prompt after start:\n{}", w.explain("a"));
    let sent = Instant::now();
    w.send("a", &["hello there"]);
    let accepted = Instant::now();
    // Sample until the reply is fully streamed and the agent is back at its
    // prompt.
    let samples = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            sample_states(&w.env, "a", |samples| {
                let finished = w
                    .mock
                    .requests()
                    .iter()
                    .find(|r| r.last_user_text.as_deref() == Some("hello there"))
                    .and_then(|r| r.finished);
                finished.is_some_and(|f| samples.last().is_some_and(|(b, _, s)| *b >= f && s == "waiting"))
            })
        });
        sampler.join().expect("the sampler")
    });
    let request = w.mock.requests().into_iter().find(|r| r.last_user_text.as_deref() == Some("hello there"));
    // The states seen, each with how many samples in a row.
    let mut runs: Vec<(&str, usize)> = Vec::new();
    for (_, _, state) in &samples {
        match runs.last_mut() {
            Some((last, n)) if *last == state.as_str() => *n += 1,
            _ => runs.push((state, 1)),
        }
    }
    let request = request.unwrap_or_else(|| {
        panic!("{agent:?}: the message never reached the model; states {runs:?}\n{}", w.sessions_explained())
    });
    let finished = request.finished.unwrap_or_else(|| {
        panic!("{agent:?}: the reply was never streamed; states {runs:?}\n{}", w.sessions_explained())
    });
    assert!(request.at >= sent, "the request came after the send");
    // While the reply streams, never waiting.
    let false_waiting: Vec<&(Instant, Instant, String)> =
        samples.iter().filter(|(b, e, s)| *b >= accepted && *e <= finished && s == "waiting").collect();
    assert!(
        false_waiting.is_empty(),
        "{agent:?} was waiting while its reply streamed ({} of {} samples): at {:?} ms after the send was accepted; \
         the reply was streamed by {} ms",
        false_waiting.len(),
        samples.len(),
        false_waiting.iter().map(|(b, _, _)| (*b - accepted).as_millis()).collect::<Vec<_>>(),
        (finished - accepted).as_millis()
    );
    assert!(samples.iter().any(|(_, _, s)| s == "busy"), "{agent:?} was seen busy while it replied");
    let back = samples.iter().find(|(b, _, s)| *b >= finished && s == "waiting").map(|(_, e, _)| *e);
    let back = back.expect("waiting again after the reply");
    println!("{agent:?}: waiting {} ms after the last token was sent", (back - finished).as_millis());
    assert_eq!(w.mock.deliveries("hello there"), 1, "one message, once");
    let screen = w.env.capture("a");
    assert!(screen.contains("Reply 1"), "the reply is on screen:\n{screen}");
}

agent_tests!(timeline: Claude => claude_code_timeline, Codex => codex_timeline, Gemini => gemini_cli_timeline, Qwen => qwen_code_timeline, Pi => pi_timeline, Copilot => copilot_timeline, Aider => aider_timeline, Opencode => opencode_timeline);

// ---- send, multi-line send, and queued messages ----------------------------

fn sending(agent: Agent) {
    let w = World::new(agent);
    w.start("a", None);
    w.send("a", &["first message"]);
    w.wait_delivered("first message", 1);
    w.wait("a", "waiting");

    // Several lines go as one message.
    let out = w.env.qmux_with_stdin(&["send", "-t", "a", "-"], b"line one\nline two\n");
    assert!(out.status.success(), "send -: {}", String::from_utf8_lossy(&out.stderr));
    poll_until(
        scaled(AGENT_TIMEOUT),
        "both lines in one message",
        || {
            w.mock
                .requests()
                .into_iter()
                .find(|r| r.last_user_text.as_deref().is_some_and(|t| t.contains("line one") && t.contains("line two")))
        },
        || format!("{:#?}", w.user_texts()),
    );
    w.wait("a", "waiting");

    // Queued while busy, delivered once at the next prompt.
    w.send("a", &["a long one"]);
    poll_until(scaled(AGENT_TIMEOUT), "busy", || (w.state("a") == "busy").then_some(()), || w.explain("a"));
    w.send("a", &["--when-waiting", "queued message"]);
    let queued = w.env.session_json("a").expect("listed")["queued_messages"].as_u64();
    assert!(queued == Some(1) || w.mock.deliveries("queued message") == 1, "queued until the reply ends: {queued:?}");
    w.wait_delivered("queued message", 1);
    w.wait("a", "waiting");
    assert_eq!(w.mock.deliveries("queued message"), 1, "delivered exactly once");
    assert_eq!(w.mock.deliveries("a long one"), 1);
    assert_eq!(w.mock.deliveries("first message"), 1);
}

agent_tests!(sending: Claude => claude_code_send, Codex => codex_send, Gemini => gemini_cli_send, Qwen => qwen_code_send, Pi => pi_send, Copilot => copilot_send, Aider => aider_send, Opencode => opencode_send);

// ---- approval --------------------------------------------------------------

fn approval(agent: Agent) {
    let w = World::new(agent);
    w.start("a", None);
    w.send("a", &[&agent.tool_request()]);
    w.wait("a", "approval");
    assert!(w.explain("a").contains("approval question"), "{}", w.explain("a"));
    // A plain send while it asks is queued, and says so: its Enter would
    // have answered "yes".
    let out = w.env.qmux(&["send", "-t", "a", "hello while asking"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.contains("queued: 0:a is asking for approval; qmux approve/deny answers it"),
        "{err}"
    );
    w.send("a", &["--when-waiting", "after the tool"]);
    // Nothing reached the question: it still stands, and the tool never
    // ran (watched for longer than the agents take to run it once approved).
    std::thread::sleep(scaled(Duration::from_secs(2)));
    assert!(!w.tool_ran(), "a send ran the tool: {:#?}", w.user_texts());
    assert_eq!(w.state("a"), "approval");
    assert_eq!(w.mock.deliveries("hello while asking"), 0, "nothing typed into the dialog");
    w.approve("a");
    w.wait_delivered("hello while asking", 1);
    w.wait_delivered("after the tool", 1);
    w.wait("a", "waiting");
    assert_eq!(w.mock.deliveries("hello while asking"), 1, "delivered once, after the dialog");
    assert_eq!(w.mock.deliveries("after the tool"), 1, "delivered once, after the dialog");
    // Nothing asks now.
    let out = w.env.qmux(&["approve", "-t", "a"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("0:a is not asking anything (state: waiting)"), "{err}");
}

// Not pi: it never asks before a tool runs (its README: "No permission
// popups"; a confirmation is left to extensions), so it has no approval,
// deny or "always" to test. `tool_run` checks it runs one unasked.
agent_tests!(approval: Claude => claude_code_approval, Codex => codex_approval, Gemini => gemini_cli_approval, Qwen => qwen_code_approval, Copilot => copilot_approval, Aider => aider_approval, Opencode => opencode_approval);

/// `qmux deny` answers "no": the agent leaves the question and the tool
/// never runs.
fn deny(agent: Agent) {
    let w = World::new(agent);
    w.start("a", None);
    w.send("a", &[&agent.tool_request()]);
    w.wait("a", "approval");
    w.answer("a", "deny");
    assert_ne!(w.state("a"), "approval");
    w.wait("a", "waiting");
    let question = agent.question().expect("an agent that asks");
    let screen = w.env.capture("a");
    match (screen.rfind(question), agent.inline_prompt()) {
        // An inline chat's question stays in its transcript, answered: its
        // prompt is back below it.
        (Some(at), Some(prompt)) => assert!(screen[at..].contains(&format!("\n{prompt}")), "{screen}"),
        (Some(_), None) => panic!("the question is still on screen:\n{screen}"),
        (None, _) => {}
    }
    w.send("a", &["after the denial"]);
    // Claude Code tells the model of the denial in the same message. (The
    // mock may ask for the command again: the conversation still wants it.)
    poll_until(
        scaled(AGENT_TIMEOUT),
        "the next message to reach the model",
        || w.mock.requests().iter().any(|r| r.user_texts.iter().any(|t| t.ends_with("after the denial"))).then_some(()),
        || format!("{:#?}", w.user_texts()),
    );
    assert!(!w.tool_ran(), "the denied tool ran: {:#?}", w.user_texts());
}

agent_tests!(deny: Claude => claude_code_deny, Codex => codex_deny, Gemini => gemini_cli_deny, Qwen => qwen_code_deny, Copilot => copilot_deny, Aider => aider_deny, Opencode => opencode_deny);

/// `qmux approve --always` picks the agent's "don't ask again" where the
/// question offers one, and refuses, pressing nothing, where it does not.
fn always(agent: Agent) {
    let w = World::new(agent);
    w.start("a", None);
    w.send("a", &[&agent.tool_request()]);
    w.wait("a", "approval");
    let out = w.env.qmux(&["approve", "--always", "-t", "a"]);
    let err = String::from_utf8_lossy(&out.stderr);
    if agent.offers_always() {
        assert!(out.status.success(), "{err}\n{}", w.env.capture("a"));
        poll_until(scaled(AGENT_TIMEOUT), "the command to run", || w.tool_ran().then_some(()), || w.env.capture("a"));
    } else {
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("the question on screen offers no \"always\"") || err.contains("names no \"always\" answer"),
            "{err}"
        );
        assert_eq!(w.state("a"), "approval", "nothing pressed");
        assert!(!w.tool_ran());
    }
}

agent_tests!(always: Claude => claude_code_always, Codex => codex_always, Gemini => gemini_cli_always, Qwen => qwen_code_always, Copilot => copilot_always, Aider => aider_always, Opencode => opencode_always);

/// An agent that never asks (pi) runs the tool call at once: the session
/// goes busy, the command runs, and it is back waiting after the closing
/// reply, never once taken to be asking.
fn tool_run(agent: Agent) {
    let w = World::new(agent);
    w.start("a", None);
    let ask = format!("please run `{TOOL_COMMAND}`");
    w.send("a", &[&ask]);
    let samples = sample_states(&w.env, "a", |samples| {
        let closed = w.mock.requests().iter().any(|r| r.tool_result && r.finished.is_some());
        closed && samples.last().is_some_and(|(_, _, s)| s == "waiting")
    });
    assert!(w.tool_ran(), "the command ran: {:#?}\n{}", w.user_texts(), w.env.capture("a"));
    assert!(samples.iter().any(|(_, _, s)| s == "busy"), "busy while the tool ran: {samples:?}");
    assert!(samples.iter().all(|(_, _, s)| s != "approval"), "never asking: {samples:?}");
    assert_eq!(samples.last().map(|(_, _, s)| s.as_str()), Some("waiting"), "{}", w.explain("a"));
    assert_eq!(w.mock.deliveries(&ask), 1);
    let out = w.env.qmux(&["approve", "-t", "a"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("0:a is not asking anything (state: waiting)"), "{err}");
}

agent_tests!(tool_run: Pi => pi_tool_run);

/// The question answered by keys a user types in an attached client (`n`,
/// then Enter once it shows): waiting as soon as the prompt is back, not
/// taken for a new turn that has yet to show a busy sign.
fn answered_by_keys(agent: Agent) {
    let w = World::new(agent);
    w.start("a", None);
    let term = w.env.attach(&["attach", "-t", "a"], 100, 31);
    w.send("a", &[&agent.tool_request()]);
    w.wait("a", "approval");
    term.send(b"n");
    poll_until(
        scaled(AGENT_TIMEOUT),
        "the typed answer to show",
        || w.env.capture("a").trim_end().ends_with("[Yes]: n").then_some(()),
        || w.env.capture("a"),
    );
    term.send(b"\r");
    let prompt = agent.inline_prompt().expect("an inline chat");
    let question = agent.question().expect("an agent that asks");
    let prompt_back =
        |screen: &str| screen.rfind(question).is_some_and(|at| screen[at..].contains(&format!("\n{prompt}")));
    let (mut back, mut waiting, mut busy_why) = (None, None, None);
    let deadline = Instant::now() + scaled(AGENT_TIMEOUT);
    while waiting.is_none() && Instant::now() < deadline {
        let screen = w.env.capture("a");
        let state = w.state("a");
        let at = Instant::now();
        if back.is_none() && prompt_back(&screen) {
            back = Some(at);
        }
        if back.is_some() && state == "waiting" {
            waiting = Some(at);
        } else if back.is_some() && busy_why.is_none() {
            busy_why = Some(w.explain("a"));
        }
    }
    let (back, waiting) = (back.expect("the prompt came back"), waiting.expect("waiting after the answer"));
    let delay = waiting - back;
    println!("{agent:?}: waiting {} ms after its prompt came back from a typed answer", delay.as_millis());
    let why = busy_why.unwrap_or_default();
    assert!(delay < Duration::from_secs(1), "{agent:?} was busy for {delay:?} at its prompt:\n{why}");
    assert!(!w.tool_ran());
}

agent_tests!(answered_by_keys: Aider => aider_answered_by_keys);

/// Shown in a small pane (a client of 79x20 is the smallest), then left:
/// the agent redraws at each size and is still known to wait, and takes a
/// message.
fn small_pane(agent: Agent) {
    let w = World::new(agent);
    w.start("a", None);
    let term = w.env.attach(&["attach", "-t", "a"], 79, 21);
    poll_until(
        scaled(AGENT_TIMEOUT),
        "the session to take the small client's size",
        || w.env.session_json("a").filter(|j| j["cols"] == 79 && j["rows"] == 20).map(|_| ()),
        || format!("{:?}", w.env.session_json("a")),
    );
    w.wait("a", "waiting");
    term.prefix(b'd');
    w.env.wait_ls("the client to detach", |ls| ls.iter().all(|l| !l.attached()));
    w.wait("a", "waiting");
    w.send("a", &["after the small pane"]);
    w.wait_delivered("after the small pane", 1);
    w.wait("a", "waiting");
}

agent_tests!(small_pane: Claude => claude_code_small_pane, Gemini => gemini_cli_small_pane, Qwen => qwen_code_small_pane, Pi => pi_small_pane, Copilot => copilot_small_pane, Aider => aider_small_pane, Opencode => opencode_small_pane);

// ---- the generic rules alone -------------------------------------------------

/// With its rule set replaced by one that matches nothing, the agent gets
/// the generic rules, as an agent qmux has never seen would: never waiting
/// while it streams, waiting after its reply, and its question seen by its
/// shape (pi, which never asks, is never taken to ask while its tool runs).
/// The delays are printed for the README's table.
fn generic(agent: Agent) {
    let mut w = World::new(agent);
    w.env.set_config("");
    // Started with its rule set, which knows when its first prompt can take
    // input (Gemini CLI is quiet for a while before it draws its input box
    // and drops what is typed before: a known limit of the generic rules,
    // said in the README); then the rule set is replaced and reloaded.
    w.start("a", None);
    let rules = w.env.config_path().parent().expect("the config's directory").join("agents");
    std::fs::create_dir_all(&rules).expect("the agents directory");
    std::fs::write(rules.join(format!("{}.toml", agent.program())), "[match]\nnames = [\"no-such-agent\"]\n")
        .expect("a rule file");
    w.env.qmux_ok(&["reload"]);
    w.wait("a", "waiting");
    assert!(w.explain("a").contains("generic"), "{}", w.explain("a"));
    let accepted = Instant::now();
    w.send("a", &["hello there"]);
    let samples = sample_states(&w.env, "a", |samples| {
        let finished = w
            .mock
            .requests()
            .iter()
            .find_map(|r| r.finished.filter(|_| r.last_user_text.as_deref() == Some("hello there")));
        finished.is_some_and(|f| samples.last().is_some_and(|(b, _, s)| *b >= f && s == "waiting"))
    });
    let finished = w
        .mock
        .requests()
        .iter()
        .find_map(|r| r.finished.filter(|_| r.last_user_text.as_deref() == Some("hello there")));
    let finished = finished.unwrap_or_else(|| panic!("no reply: {:#?}\n{}", w.user_texts(), w.env.capture("a")));
    let streaming = samples.iter().filter(|(b, e, _)| *b >= accepted && *e <= finished);
    let false_waiting = streaming.clone().filter(|(_, _, s)| s == "waiting").count();
    assert_eq!(false_waiting, 0, "{agent:?} with the generic rules was waiting while it streamed");
    let back = samples.iter().find(|(b, _, s)| *b >= finished && s == "waiting").map(|(_, e, _)| *e - finished);
    println!(
        "{agent:?} generic: {} samples while streaming, none waiting; waiting {:?} after the last token",
        streaming.count(),
        back
    );
    w.send("a", &[&agent.tool_request()]);
    let asked = Instant::now();
    if agent.question().is_none() {
        // It runs the tool unasked: no question to see, and none seen.
        let samples = sample_states(&w.env, "a", |samples| {
            let closed = w.mock.requests().iter().any(|r| r.tool_result && r.finished.is_some());
            closed && samples.last().is_some_and(|(_, _, s)| s == "waiting")
        });
        assert!(w.tool_ran() && samples.iter().all(|(_, _, s)| s != "approval"), "{samples:?}");
        println!(
            "{agent:?} generic: the tool ran and it waits again {} ms after the send",
            asked.elapsed().as_millis()
        );
        return;
    }
    w.wait("a", "approval");
    println!("{agent:?} generic: approval seen {} ms after the send", asked.elapsed().as_millis());
    assert!(w.explain("a").contains("approval question"), "{}", w.explain("a"));
}

// Not opencode: after Enter it shows the conversation without its footer
// spinner for up to 2.4 s under load, longer than the generic rules give a
// turn to show a busy sign (its rule set waits 5 s); its recordings are
// checked under the generic rules in mux/tests/agent_fixtures.rs.
agent_tests!(generic: Claude => claude_code_generic, Codex => codex_generic, Gemini => gemini_cli_generic, Qwen => qwen_code_generic, Pi => pi_generic, Copilot => copilot_generic, Aider => aider_generic);

// ---- the done mark for a background reply ----------------------------------

fn done_mark(agent: Agent) {
    let w = World::new(agent);
    w.start("agent", None);
    w.env.start_detached("other", &["cat"]);
    let mut term = w.env.attach(&["attach", "-t", "other"], 120, 30);
    term.wait_marker("other", "*");
    w.send("agent", &["hello in the background"]);
    w.wait_delivered("hello in the background", 1);
    w.wait("agent", "waiting");
    term.wait_marker("agent", "✓");
    let json = w.env.session_json("agent").expect("listed");
    assert_eq!(json["done"], true, "{json}");
}

agent_tests!(done_mark: Claude => claude_code_done_mark, Codex => codex_done_mark, Gemini => gemini_cli_done_mark, Qwen => qwen_code_done_mark, Pi => pi_done_mark, Copilot => copilot_done_mark, Aider => aider_done_mark, Opencode => opencode_done_mark);

// ---- kill ------------------------------------------------------------------

/// Two sessions of the agent as users run it (Codex with its shared
/// app-server daemon, which the other tests turn off), and a cat beside
/// them. Killing one ends every process of its terminal session, and the
/// other goes on answering: Codex's daemon, which the first Codex started
/// and both talk to, is spared. Killing the other, the last of the agent,
/// leaves nothing qmux started but the server and the cat; and once more,
/// `kill-server` after the first kill leaves nothing at all.
fn kill(agent: Agent) {
    let mut w = World::new(agent);
    w.argv.retain(|a| a != "--no-daemon");
    // A config of its own: rule sets left beside the shared /dev/null (by
    // a test that replaces them) must not stand in for the agent's.
    w.env.set_config("");
    w.env.start_detached("other", &["cat"]);
    start_two_and_kill_the_first(&w, "a", "b");
    let kept: Vec<i32> = [w.env.server_pid()].into_iter().chain(w.processes("other")).collect();
    w.env.qmux_ok(&["kill", "-t", "b"]);
    nothing_left_but(&w, &kept, "the server and the cat");

    start_two_and_kill_the_first(&w, "c", "d");
    w.env.qmux_ok(&["kill-server"]);
    nothing_left_but(&w, &[], "nothing, after kill-server");
}

/// Starts `first`, then `second` (for Codex, once the first has started
/// the daemon both then use), kills `first`, and checks that its terminal
/// session ended and that `second` still answers.
fn start_two_and_kill_the_first(w: &World, first: &str, second: &str) {
    w.start(first, None);
    if matches!(w.agent, Agent::Codex) {
        let started = Instant::now();
        poll_until(
            scaled(AGENT_TIMEOUT),
            "Codex to start its app-server daemon",
            || w.processes(first).iter().any(|p| cmdline(*p).iter().any(|a| a == "--managed-daemon")).then_some(()),
            || format!("{first}'s processes: {:?}", w.processes(first).into_iter().map(cmdline).collect::<Vec<_>>()),
        );
        println!("Codex's daemon started {} ms after its prompt", started.elapsed().as_millis());
    }
    w.start(second, None);
    let terminal = terminal_session(&w.processes(first));
    w.env.qmux_ok(&["kill", "-t", first]);
    poll_until(
        scaled(Duration::from_secs(10)),
        &format!("every process of {first}'s terminal session to end"),
        || terminal.iter().all(|p| !alive(*p)).then_some(()),
        || format!("alive: {:?}", terminal.iter().filter(|p| alive(**p)).collect::<Vec<_>>()),
    );
    let text = format!("still there after {first} went");
    w.wait(second, "waiting");
    w.send(second, &[&text]);
    w.wait_delivered(&text, 1);
    w.wait(second, "waiting");
}

/// Waits until every process the test's qmux started is one of `kept`.
fn nothing_left_but(w: &World, kept: &[i32], what: &str) {
    poll_until(
        scaled(Duration::from_secs(10)),
        &format!("no process qmux started to be left but {what}"),
        || w.env.started_pids().iter().all(|p| kept.contains(p)).then_some(()),
        || {
            let left = w.env.started_pids().into_iter().filter(|p| !kept.contains(p));
            format!("left: {:?}", left.map(|p| (p, cmdline(p))).collect::<Vec<_>>())
        },
    );
}

/// Those of `pids` in the terminal session of the first (its leader).
fn terminal_session(pids: &[i32]) -> Vec<i32> {
    let session = |pid: i32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat[stat.rfind(')')? + 1..].split_whitespace().nth(3)?.parse::<i32>().ok()
    };
    pids.iter().copied().filter(|p| session(*p) == Some(pids[0])).collect()
}

agent_tests!(kill: Claude => claude_code_kill, Codex => codex_kill, Gemini => gemini_cli_kill, Qwen => qwen_code_kill, Pi => pi_kill, Copilot => copilot_kill, Aider => aider_kill, Opencode => opencode_kill);

// ---- restore: two conversations in one directory ---------------------------

fn restore(agent: Agent) {
    let w = World::new(agent);
    let dir: PathBuf = w.env.work_dir();
    // One conversation, then another beside it. (Gemini CLI 0.61 deletes a
    // conversation file with no message yet when another one starts in the
    // same directory, and cannot resume that conversation by id after.)
    for (name, text) in [("one", "remember alpha"), ("two", "remember bravo")] {
        w.start(name, Some(&dir));
        w.send(name, &[text]);
        w.wait_delivered(text, 1);
        w.wait(name, "waiting");
    }
    let ids: Vec<serde_json::Value> =
        ["one", "two"].iter().map(|n| w.env.session_json(n).expect("listed")["conversation"].clone()).collect();
    assert!(ids[0].is_string() && ids[1].is_string() && ids[0] != ids[1], "each has its own conversation id: {ids:?}");
    let mut before: Vec<String> = ["one", "two"].iter().map(|n| w.explain(n)).collect();
    before.push(files_under(&w.env.home()));
    w.kill_server(&["one", "two"]);
    w.env.qmux_ok(&["restore"]);
    for name in ["one", "two"] {
        w.wait(name, "waiting");
        let command = w.env.session_json(name).expect("restored")["command"].to_string();
        assert!(command.contains(agent.resumes_with()), "{name} is resumed: {command}");
    }
    for (name, own, other) in [("one", "remember alpha", "remember bravo"), ("two", "remember bravo", "remember alpha")]
    {
        let request = w.next_request(name, &format!("next for {name}"));
        assert!(
            request.user_texts.iter().any(|t| t.contains(own)),
            "{name} came back to its own conversation: {:?}\nbefore kill-server:\n{}",
            request.user_texts,
            before.join("\n")
        );
        assert!(
            !request.user_texts.iter().any(|t| t.contains(other)),
            "{name} did not get the other one's: {:?}",
            request.user_texts
        );
        w.wait(name, "waiting");
    }
}

agent_tests!(restore: Claude => claude_code_restore, Codex => codex_restore, Gemini => gemini_cli_restore, Qwen => qwen_code_restore, Pi => pi_restore, Copilot => copilot_restore);

/// An agent with no conversation ids, which keeps one conversation per
/// directory and brings it back with an argument (aider's
/// `--restore-chat-history`): two sessions in two directories, each
/// restored into its own after `kill-server` and `restore`, as the next
/// request to the model shows.
fn restore_by_directory(agent: Agent) {
    let w = World::new(agent);
    let texts = [("one", "remember alpha"), ("two", "remember bravo")];
    for (name, text) in texts {
        let dir = w.env.work_dir().join(name);
        std::fs::create_dir_all(&dir).expect("a directory for each");
        w.start(name, Some(&dir));
        w.send(name, &[text]);
        w.wait_delivered(text, 1);
        w.wait(name, "waiting");
    }
    w.kill_server(&["one", "two"]);
    w.env.qmux_ok(&["restore"]);
    for (name, own) in texts {
        w.wait(name, "waiting");
        let command = w.env.session_json(name).expect("restored")["command"].to_string();
        assert!(command.contains("--restore-chat-history"), "{name} is restored with its history: {command}");
        let other = texts.iter().map(|(_, t)| *t).find(|t| *t != own).expect("the other text");
        let request = w.next_request(name, &format!("next for {name}"));
        assert!(
            request.user_texts.iter().any(|t| t.contains(own)),
            "{name} came back to its own conversation: {:?}",
            request.user_texts
        );
        assert!(!request.user_texts.iter().any(|t| t.contains(other)), "{name}: {:?}", request.user_texts);
        w.wait(name, "waiting");
    }
}

agent_tests!(restore_by_directory: Aider => aider_restore);

/// An agent whose conversation id qmux cannot learn (opencode keeps its
/// conversations in one SQLite database, no file each): a restore
/// continues the newest conversation in the directory, which is the
/// session's own when it is the only one there.
fn restore_latest(agent: Agent) {
    let w = World::new(agent);
    w.start("one", None);
    w.send("one", &["remember alpha"]);
    w.wait_delivered("remember alpha", 1);
    w.wait("one", "waiting");
    w.kill_server(&["one"]);
    w.env.qmux_ok(&["restore"]);
    w.wait("one", "waiting");
    let command = w.env.session_json("one").expect("restored")["command"].to_string();
    assert!(command.contains("--continue"), "continued: {command}");
    let request = w.next_request("one", "next for one");
    assert!(
        request.user_texts.iter().any(|t| t.contains("remember alpha")),
        "came back to its conversation: {:?}",
        request.user_texts
    );
    w.wait("one", "waiting");
}

agent_tests!(restore_latest: Opencode => opencode_restore_latest);

// ---- hooks -------------------------------------------------------------------

/// With `qmux hooks install`, the agent reports its state and conversation
/// through its own hooks, and the report decides; `hooks remove` undoes it.
fn hooks(agent: Agent) {
    let w = World::new(agent);
    let installed = w.env.qmux_ok(&["hooks", "install", agent.program()]);
    assert!(installed.contains("adding to") && installed.contains("report --hook"), "{installed}");
    w.start("a", None);
    w.send("a", &[&agent.tool_request()]);
    w.wait("a", "approval");
    poll_until(
        scaled(AGENT_TIMEOUT),
        "the hook to report the approval",
        || w.explain("a").contains("hook report approval").then_some(()),
        || w.explain("a"),
    );
    w.approve("a");
    w.wait("a", "waiting");
    poll_until(
        scaled(AGENT_TIMEOUT),
        "the hook to report waiting and the conversation",
        || {
            let e = w.explain("a");
            (e.contains("hook report waiting") && e.contains("conversation ")).then_some(())
        },
        || w.explain("a"),
    );
    let removed = w.env.qmux_ok(&["hooks", "remove", agent.program()]);
    assert!(removed.contains("taking out of"), "{removed}");
    let status = w.env.qmux_ok(&["hooks"]);
    assert!(status.contains(&format!("{:<10} not installed", agent.program())), "{status}");
}

agent_tests!(hooks: Claude => claude_code_hooks, Gemini => gemini_cli_hooks);

// ---- found whatever started it ---------------------------------------------

/// A shell where the user typed the agent: qmux finds it in the
/// foreground, applies its rules while it runs, and the shell's again after.
fn typed_in_a_shell(agent: Agent) {
    let w = World::new(agent);
    w.env.start_detached("shell", &["sh"]);
    let line: Vec<String> = w.argv.iter().map(|a| format!("'{a}'")).collect();
    w.send("shell", &[&line.join(" ")]);
    poll_until(
        scaled(AGENT_TIMEOUT),
        "the agent's rules to be in force",
        || w.explain("shell").contains(&format!("rules      {} (", agent.program())).then_some(()),
        || w.explain("shell"),
    );
    w.wait("shell", "waiting");
    w.send("shell", &["hello from a shell"]);
    w.wait_delivered("hello from a shell", 1);
    w.wait("shell", "waiting");
    assert!(w.explain("shell").contains("program    pid "), "{}", w.explain("shell"));
}

agent_tests!(typed_in_a_shell: Claude => claude_code_typed_in_a_shell, Codex => codex_typed_in_a_shell, Gemini => gemini_cli_typed_in_a_shell, Qwen => qwen_code_typed_in_a_shell, Pi => pi_typed_in_a_shell, Copilot => copilot_typed_in_a_shell, Aider => aider_typed_in_a_shell, Opencode => opencode_typed_in_a_shell);

// ---- GitHub Copilot CLI's folder trust ---------------------------------------

/// In a folder it was not told to trust, Copilot CLI asks first whether to:
/// a question, which `qmux approve` answers (trusted for this session), and
/// then its prompt.
#[test]
fn copilot_folder_trust() {
    let w = World::new(Agent::Copilot);
    // Not below the work directory, which is trusted, and its folders with it.
    let dir = w.env.home().join("untrusted");
    std::fs::create_dir_all(&dir).expect("a folder");
    let dir_text = dir.to_string_lossy().into_owned();
    let mut args = vec!["new", "-d", "-s", "a", "-c", &dir_text, "--"];
    args.extend(w.argv.iter().map(String::as_str));
    w.env.qmux_ok(&args);
    w.wait("a", "approval");
    assert!(w.env.capture("a").contains("Do you trust the files in this folder?"), "{}", w.env.capture("a"));
    w.answer("a", "approve");
    w.wait("a", "waiting");
    w.send("a", &["hello in a new folder"]);
    w.wait_delivered("hello in a new folder", 1);
}

// ---- notifications ----------------------------------------------------------

use notices::notifications;

agent_tests!(notifications: Claude => claude_code_notifications, Codex => codex_notifications, Gemini => gemini_cli_notifications);

// ---- worktrees: two agents, one file ------------------------------------------

use worktrees::radar_and_merge;

// Claude Code only: Gemini CLI 0.61 started in a fresh worktree never showed its
// prompt pattern here (title "Ready", prompt not on screen), which is for its rule set
// to learn first.
agent_tests!(radar_and_merge: Claude => claude_code_worktrees_radar_and_merge);

// ---- one agent drives another through qmux mcp ------------------------------

// After `agent_tests!`, so the module sees the macro.
#[path = "agents/drive.rs"]
mod drive;
