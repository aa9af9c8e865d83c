//! A real agent drives another through `qmux mcp`: the driver (Claude Code,
//! Gemini CLI), its MCP config written by `qmux mcp install` and its qmux
//! tools trusted, is sent a message that scripts its model's tool calls
//! (tests/mockllm's `call mcp …`). It starts Codex in a session of its own
//! with a prompt, waits until Codex has answered and waits at its prompt,
//! reads Codex's screen, and quotes it in its reply. The mock's log holds
//! both sides: Codex's request for the prompt, and the driver's requests
//! that carry each tool's result.

use std::path::Path;
use std::time::{Duration, Instant};

use qmux_e2e::{poll_until, scaled};
use qmux_mockllm::Api;
use serde_json::{json, Value};

use super::agent::Agent;
use super::world::{World, AGENT_TIMEOUT};

/// What the driver has Codex asked, and the start of the mock's reply to it
/// (`Reply N:` and the message), which only Codex's screen can show.
const PROMPT: &str = "say qmux-drive-ok";
const CODEX_REPLY: &str = "Reply 1: say qmux-drive-ok";

/// The session the driver starts Codex in.
const WORKER: &str = "worker";

fn driving(driver: Agent) {
    let (w, others) = World::with_others(driver, &[Agent::Codex]);
    // Codex in the session's directory, the driver's, which Codex trusts:
    // without its `-C DIR`, to keep the message short.
    let mut codex = others[0].clone();
    if let Some(at) = codex.iter().position(|a| a == "-C") {
        codex.drain(at..(at + 2).min(codex.len()));
    }
    install_qmux_mcp(&w, driver);
    w.start("driver", None);

    let session = |until: &str| json!({"session": WORKER, "until": until});
    let steps = [
        ("start_session", json!({"command": codex, "name": WORKER, "prompt": PROMPT})),
        // Its reply on screen, then its prompt back: the turn is over.
        ("wait_for", session("output:End of reply")),
        ("wait_for", session("waiting")),
        ("read_screen", json!({"session": WORKER})),
    ];
    let chain: Vec<String> = steps.iter().map(|(tool, args)| format!("{tool} {args}")).collect();
    let message = format!("please call mcp qmux {}", chain.join(" then "));
    w.send("driver", &[&message]);
    // Gemini CLI takes an Enter within 40 ms of a paste, as it reads them,
    // for a newline; starting its MCP servers under load it has been seen
    // to read both at once, the message left in its input. A user presses
    // Enter again, and so does this test, saying so.
    let delivered = || (w.mock.deliveries(&message) == 1).then_some(());
    let retry_at = Instant::now() + scaled(Duration::from_secs(15));
    while delivered().is_none() && Instant::now() < retry_at {
        std::thread::sleep(Duration::from_millis(100));
    }
    let screen = w.env.capture("driver");
    if delivered().is_none() && screen.contains("please call mcp qmux") {
        eprintln!("{driver:?}: the message was typed but not submitted; pressing Enter again. Its screen:\n{screen}");
        w.send("driver", &[""]);
    }
    poll_until(scaled(AGENT_TIMEOUT), "the scripted message to reach the driver's model", delivered, || {
        let log = w.env.qmux(&["log", "-t", "driver"]);
        let procs = std::process::Command::new("ps").args(["-eo", "pid,ppid,etimes,args"]).output();
        format!(
            "{}\nscreen:\n{}\nlog:\n{}\nps:\n{}",
            w.explain("driver"),
            w.env.qmux_ok(&["capture", "-t", "driver", "-S", "-"]),
            String::from_utf8_lossy(&log.stdout),
            procs.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
        )
    });

    // The driver's model got Codex's screen as read_screen's result ...
    let driver_api = match driver {
        Agent::Claude => Api::Anthropic,
        _ => Api::Gemini,
    };
    let read = poll_until(
        scaled(AGENT_TIMEOUT * 4),
        "Codex's reply to reach the driver's model as a tool result",
        || {
            w.mock
                .requests()
                .into_iter()
                .find(|r| r.api == driver_api && r.tool_result && r.body.to_string().contains(CODEX_REPLY) && !r.side)
        },
        || format!("requests: {:#?}\n{}", w.user_texts(), w.sessions_explained()),
    );
    // ... and quoted it in its reply, on the driver's screen.
    poll_until(
        scaled(AGENT_TIMEOUT),
        "the driver's reply quoting Codex's screen",
        || {
            let screen = w.env.qmux_ok(&["capture", "-t", "driver", "-S", "-"]);
            quoted(&screen).then_some(())
        },
        || format!("{}\n{}", w.explain("driver"), w.env.qmux_ok(&["capture", "-t", "driver", "-S", "-"])),
    );
    w.wait("driver", "waiting");

    // Codex had its own session, its prompt once, and answered it.
    let worker = w.env.session_json(WORKER).unwrap_or_else(|| panic!("no {WORKER} session:\n{}", w.env.ls()));
    assert_eq!(worker["state"], "waiting", "{worker}");
    assert!(w.env.capture(WORKER).contains(CODEX_REPLY), "Codex's screen:\n{}", w.env.capture(WORKER));
    let requests = w.mock.requests();
    let codex_asked: Vec<_> =
        requests.iter().filter(|r| r.last_user_text.as_deref() == Some(PROMPT) && !r.tool_result).collect();
    assert_eq!(codex_asked.len(), 1, "the prompt reached the model once: {:#?}", w.user_texts());
    assert_eq!(codex_asked[0].api, Api::OpenAi, "and from Codex");
    // The driver: its message once, then one request per tool result, in
    // order, the last one after Codex's turn.
    assert_eq!(w.mock.deliveries(&message), 1, "{:#?}", w.user_texts());
    let results: Vec<_> = requests
        .iter()
        .filter(|r| {
            r.api == driver_api && r.tool_result && r.user_texts.last().map(|t| t.trim()) == Some(message.as_str())
        })
        .collect();
    let calls = tool_calls(&requests, driver_api);
    let names: Vec<&str> = calls.iter().map(String::as_str).collect();
    assert!(
        names.len() == steps.len() && names.iter().zip(&steps).all(|(n, (tool, _))| n.ends_with(tool)),
        "the driver called each tool once, in order: {names:?}"
    );
    assert!(results.len() >= steps.len(), "a request per tool result: {}", results.len());
    assert!(codex_asked[0].at < read.at, "Codex answered before its screen was read");
    let started = &results[0];
    let label = started.body.to_string();
    assert!(label.contains(&format!(":{WORKER} (prompt sent)")), "start_session's result: {label}");
}

/// Whether the driver's reply, the last on its screen, quotes Codex's
/// reply: [`CODEX_REPLY`] between the quote's first words and its last.
/// Lines may be wrapped (Gemini CLI numbers them too), so the screen is
/// looked at as one line of words.
fn quoted(screen: &str) -> bool {
    let flat: String = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    let Some((before_end, _)) = flat.rsplit_once("End of tool result.") else { return false };
    before_end.rsplit_once("The last tool said:").is_some_and(|(_, quote)| quote.contains(CODEX_REPLY))
}

/// The tools the driver's model was answered with calls of: the names in
/// the newest driver request's conversation, oldest first (each protocol
/// keeps the calls it made in its history).
fn tool_calls(requests: &[qmux_mockllm::Logged], api: Api) -> Vec<String> {
    let newest = requests.iter().rev().find(|r| r.api == api && r.tool_result && !r.side);
    let Some(body) = newest.map(|r| &r.body) else { return Vec::new() };
    let mut names = Vec::new();
    let each = |items: Option<&Value>, pick: &dyn Fn(&Value) -> Option<String>, names: &mut Vec<String>| {
        for item in items.and_then(Value::as_array).into_iter().flatten() {
            let parts = item.get("content").or_else(|| item.get("parts")).and_then(Value::as_array);
            names.extend(parts.into_iter().flatten().filter_map(pick));
        }
    };
    match api {
        Api::Anthropic => each(
            body.get("messages"),
            &|b| (b.get("type")? == "tool_use").then(|| b.get("name")?.as_str().map(str::to_string))?,
            &mut names,
        ),
        _ => each(body.get("contents"), &|p| p.pointer("/functionCall/name")?.as_str().map(str::to_string), &mut names),
    }
    names
}

/// `qmux mcp install AGENT` in the world's home, and the qmux server
/// trusted there (its tools run unasked; no other tool is): Claude Code
/// allows `mcp__qmux` in its settings; Gemini CLI's entry gets `trust`, and
/// Codex's key as a variable of its own, because Gemini CLI passes an MCP
/// server no variable whose name says KEY (its environment sanitizer).
fn install_qmux_mcp(w: &World, driver: Agent) {
    w.env.qmux_ok(&["mcp", "install", driver.program()]);
    let home = w.env.home();
    match driver {
        Agent::Claude => edit_json(&home.join(".claude/settings.json"), |s| {
            s["permissions"]["allow"] = json!(["mcp__qmux"]);
        }),
        Agent::Gemini => edit_json(&home.join(".gemini/settings.json"), |s| {
            let entry = &mut s["mcpServers"]["qmux"];
            assert!(entry.is_object(), "qmux mcp install gemini wrote no mcpServers.qmux: {s}");
            entry["trust"] = json!(true);
            entry["env"] = json!({"MOCKLLM_API_KEY": "mock-key"});
        }),
        other => panic!("{other:?} is not set up to drive"),
    }
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut Value)) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    edit(&mut value);
    std::fs::write(path, serde_json::to_string_pretty(&value).expect("JSON")).expect("the settings are written");
}

agent_tests!(driving: Claude => claude_code_drives_codex, Gemini => gemini_cli_drives_codex);
