//! Notifications from real agents: an approval in a background session is
//! one notice naming the question and its command, the finished reply one
//! with its last line, and the session a client shows says nothing.

use std::path::Path;

use qmux_e2e::{poll_until, scaled};
use serde_json::Value;

use super::agent::Agent;
use super::world::{World, AGENT_TIMEOUT};

/// The notices a recording command got: one JSON file per call.
fn recorded(dir: &Path) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "json")).collect()
        })
        .unwrap_or_default();
    files.sort();
    files.iter().filter_map(|f| serde_json::from_str(&std::fs::read_to_string(f).ok()?).ok()).collect()
}

pub fn notifications(agent: Agent) {
    let mut w = World::new(agent);
    let dir = w.env.root().join("notices");
    std::fs::create_dir_all(&dir).unwrap();
    let script = format!("n=$(date +%s%N); cat > {d}/$n.part; mv {d}/$n.part {d}/$n.json", d = dir.display());
    w.env.set_config(&format!(
        "notify = [\"command\"]\nnotify-settle-ms = 500\nnotify-quiet-ms = 0\nnotify-command = [\"sh\", \"-c\", {script:?}]\n"
    ));
    for name in ["front", "back"] {
        w.start(name, None);
    }
    let mut term = w.env.attach(&["attach", "-t", "front"], 120, 40);
    term.wait_marker("front", "*");

    // The session on screen: nothing, though it finishes a turn.
    w.send("front", &["hello there"]);
    w.wait_delivered("hello there", 1);
    w.wait("front", "waiting");
    // The background one asks.
    w.send("back", &[&agent.tool_request()]);
    w.wait("back", "approval");
    let asked = poll_until(
        scaled(AGENT_TIMEOUT),
        "the approval notice",
        || recorded(&dir).into_iter().next(),
        || w.env.qmux_ok(&["log"]),
    );
    assert_eq!(asked["event"], "approval", "{asked}");
    assert_eq!(asked["session"], "1:back");
    let body = asked["body"].as_str().unwrap_or_default();
    assert!(body.contains(agent.tool_command()), "the notice names the command: {asked}");
    w.approve("back");
    w.wait("back", "waiting");
    let done = poll_until(
        scaled(AGENT_TIMEOUT),
        "the finished notice",
        || recorded(&dir).get(1).cloned(),
        || w.env.qmux_ok(&["log"]),
    );
    assert_eq!(done["event"], "finished", "{done}");
    let last = done["body"].as_str().unwrap_or_default().trim_matches('"').to_string();
    assert!(!last.is_empty() && w.env.capture("back").contains(&last), "the reply's last line: {done}");
    // One notice per event, none about the session shown.
    let log = w.env.qmux_ok(&["log", "-t", "front"]);
    assert!(log.contains("not notified (the session is shown in a client)"), "{log}");
    let all = recorded(&dir);
    assert_eq!(all.len(), 2, "exactly two notices: {all:#?}");
}
