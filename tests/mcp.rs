//! `qmux mcp` through the official MCP SDK's own client (rmcp): the
//! handshake, every tool with its schema, each tool's success and its
//! one-line errors, cancellation, and a client that goes mid-`wait_for`.
//! The sessions are the stand-in chat (`qmux-chat`).

use std::time::Duration;

use qmux_e2e::{alive, poll_until, Env, DEFAULT_TIMEOUT};
use rmcp::model::{CallToolRequest, CallToolRequestParams, CallToolResult, ClientRequest};
use rmcp::service::{PeerRequestOptions, RoleClient, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::ServiceExt;
use serde_json::{json, Value};

type Client = RunningService<RoleClient, ()>;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// `qmux mcp` in `env`, with `extra` variables (e.g. `QMUX`), connected.
async fn connect(env: &Env, extra: &[(&str, &str)]) -> (Client, u32) {
    let mut cmd = tokio::process::Command::from(env.cmd(&["mcp"]));
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let transport = TokioChildProcess::new(cmd).expect("qmux mcp starts");
    let pid = transport.id().expect("its pid");
    let client = tokio::time::timeout(Duration::from_secs(10), ().serve(transport))
        .await
        .expect("the handshake in time")
        .expect("the MCP handshake");
    (client, pid)
}

/// Calls `tool` with `args`: the text of its answer, or the error's message.
async fn call(client: &Client, tool: &str, args: Value) -> Result<String, String> {
    let params = CallToolRequestParams::new(tool.to_string()).with_arguments(args.as_object().unwrap().clone());
    match client.call_tool(params).await {
        // A tool's own failure (arguments that do not fit its schema).
        Ok(result) if result.is_error == Some(true) => Err(text_of(&result)),
        Ok(result) => Ok(text_of(&result)),
        Err(rmcp::ServiceError::McpError(e)) => Err(e.message.to_string()),
        Err(e) => panic!("{tool}: not an MCP answer: {e}"),
    }
}

fn text_of(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.raw.as_text()).map(|t| t.text.as_str()).collect::<Vec<_>>().join("\n")
}

#[test]
fn every_tool_has_its_schema_and_drives_a_session_through_a_turn() {
    let env = Env::new();
    runtime().block_on(async {
        let (client, _) = connect(&env, &[]).await;
        let info = client.peer_info().expect("the server introduced itself");
        assert_eq!(info.server_info.name, "qmux");
        let tools = client.list_all_tools().await.unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        for want in
            ["list_sessions", "start_session", "send_message", "approve", "deny", "wait_for", "read_screen", "explain"]
        {
            assert!(names.contains(&want), "{want} in {names:?}");
        }
        for t in &tools {
            assert!(t.description.as_deref().is_some_and(|d| d.len() > 20), "{} has a description", t.name);
            let schema = Value::Object((*t.input_schema).clone());
            if t.name != "list_sessions" && t.name != "start_session" {
                assert_eq!(schema["properties"]["session"]["type"], "string", "{}: {schema}", t.name);
                assert!(schema["required"].as_array().unwrap().contains(&json!("session")), "{}: {schema}", t.name);
            }
        }

        // No server yet: no sessions, said as an empty list.
        assert_eq!(
            serde_json::from_str::<Value>(&call(&client, "list_sessions", json!({})).await.unwrap()).unwrap(),
            json!([])
        );
        let dir = env.work_dir().display().to_string();
        let started = call(
            &client,
            "start_session",
            json!({"command": ["qmux-chat"], "directory": dir, "name": "b", "prompt": "hello from a driver"}),
        )
        .await
        .unwrap();
        assert_eq!(started, "0:b (prompt sent)");
        call(
            &client,
            "wait_for",
            json!({"session": "b", "until": "output:You said: hello from a driver", "timeout_seconds": 10}),
        )
        .await
        .unwrap();
        call(&client, "wait_for", json!({"session": "b", "until": "waiting", "timeout_seconds": 10})).await.unwrap();
        let screen = call(&client, "read_screen", json!({"session": "b"})).await.unwrap();
        assert!(screen.contains("You said: hello from a driver"), "{screen}");
        let list: Value = serde_json::from_str(&call(&client, "list_sessions", json!({})).await.unwrap()).unwrap();
        assert_eq!(list[0]["name"], "b");
        assert_eq!(list[0]["state"], "waiting");

        // A question: queued messages never answer it; approve does.
        call(&client, "send_message", json!({"session": "b", "text": "please use the tool"})).await.unwrap();
        call(&client, "wait_for", json!({"session": "b", "until": "approval", "timeout_seconds": 10})).await.unwrap();
        let queued = call(&client, "send_message", json!({"session": "b", "text": "after it"})).await.unwrap();
        assert!(queued.contains("queued"), "{queued}");
        let why = call(&client, "explain", json!({"session": "b"})).await.unwrap();
        assert!(why.contains("approval"), "{why}");
        call(&client, "approve", json!({"session": "b"})).await.unwrap();
        call(&client, "wait_for", json!({"session": "b", "until": "output:You said: after it", "timeout_seconds": 10}))
            .await
            .unwrap();
        // And deny.
        call(&client, "wait_for", json!({"session": "b", "until": "waiting", "timeout_seconds": 10})).await.unwrap();
        call(&client, "send_message", json!({"session": "b", "text": "the tool again"})).await.unwrap();
        call(&client, "wait_for", json!({"session": "b", "until": "approval", "timeout_seconds": 10})).await.unwrap();
        call(&client, "deny", json!({"session": "b"})).await.unwrap();
        call(&client, "wait_for", json!({"session": "b", "until": "waiting", "timeout_seconds": 10})).await.unwrap();
        let history = call(&client, "read_screen", json!({"session": "b", "lines": 200})).await.unwrap();
        assert!(history.contains("hello from a driver") && history.contains("the tool again"), "{history}");
        client.cancel().await.unwrap();
    });
}

#[test]
fn a_call_that_cannot_work_is_an_mcp_error_of_one_line() {
    let env = Env::new();
    env.start_detached("a", &["qmux-chat"]);
    env.wait_state("a", "waiting");
    runtime().block_on(async {
        let (client, _) = connect(&env, &[]).await;
        let cases = [
            ("send_message", json!({"session": "nope", "text": "hi"}), "no session \"nope\""),
            ("wait_for", json!({"session": "a", "until": "lunch"}), "until \"lunch\" is none of"),
            ("wait_for", json!({"session": "a", "until": "busy", "timeout_seconds": 0}), "timeout_seconds must be"),
            (
                "wait_for",
                json!({"session": "a", "until": "output:never there", "timeout_seconds": 0.3}),
                "timed out after 0.3s",
            ),
            ("approve", json!({"session": "a"}), "0:a is not asking anything"),
            ("start_session", json!({"directory": "relative/dir"}), "is not absolute"),
            ("start_session", json!({"directory": "/nonexistent/dir"}), "does not exist"),
            ("read_screen", json!({}), "missing field `session`"),
        ];
        for (tool, args, want) in cases {
            let err = call(&client, tool, args.clone()).await.expect_err(&format!("{tool} {args} fails"));
            assert!(err.contains(want), "{tool} {args}: {err:?} should say {want:?}");
            assert!(!err.contains('\n'), "one line: {err:?}");
        }
        client.cancel().await.unwrap();
    });
}

#[test]
fn an_agent_cannot_wait_on_or_answer_its_own_session() {
    let env = Env::new();
    let file = env.root().join("qmux-var");
    let script = format!("echo \"$QMUX\" > {}; exec qmux-chat", file.display());
    env.start_detached("me", &["sh", "-c", &script]);
    env.wait_state("me", "waiting");
    let qmux_var = std::fs::read_to_string(&file).unwrap().trim().to_string();
    runtime().block_on(async {
        let (client, _) = connect(&env, &[("QMUX", &qmux_var)]).await;
        for (tool, args) in [
            ("wait_for", json!({"session": "me", "until": "waiting"})),
            ("approve", json!({"session": "0"})),
            ("deny", json!({"session": "me"})),
        ] {
            let err = call(&client, tool, args).await.expect_err(tool);
            assert!(err.contains("the calling agent's own session"), "{tool}: {err}");
        }
        // Reading its own screen is fine.
        assert!(call(&client, "read_screen", json!({"session": "me"})).await.is_ok());
        client.cancel().await.unwrap();
    });
}

#[test]
fn a_cancelled_wait_and_a_client_gone_mid_wait_leave_everything_serving() {
    let env = Env::new();
    env.start_detached("a", &["qmux-chat"]);
    env.wait_state("a", "waiting");
    runtime().block_on(async {
        let (client, pid) = connect(&env, &[]).await;
        let params = CallToolRequestParams::new("wait_for").with_arguments(
            json!({"session": "a", "until": "output:never there", "timeout_seconds": 600}).as_object().unwrap().clone(),
        );
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
        let handle = client.peer().send_cancellable_request(request, PeerRequestOptions::no_options()).await.unwrap();
        handle.cancel(Some("the caller changed its mind".into())).await.unwrap();
        // The server answers the next call at once.
        let list = tokio::time::timeout(Duration::from_secs(5), call(&client, "list_sessions", json!({})))
            .await
            .expect("answered after a cancel")
            .unwrap();
        assert!(list.contains("\"a\""), "{list}");

        // Now a client that goes while a wait_for is in flight.
        let params = CallToolRequestParams::new("wait_for").with_arguments(
            json!({"session": "a", "until": "output:never there", "timeout_seconds": 600}).as_object().unwrap().clone(),
        );
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
        let in_flight =
            client.peer().send_cancellable_request(request, PeerRequestOptions::no_options()).await.unwrap();
        drop(in_flight);
        client.cancel().await.unwrap();
        poll_until(
            DEFAULT_TIMEOUT,
            "qmux mcp to end with its client",
            || (!alive(pid as i32)).then_some(()),
            || format!("pid {pid} still runs"),
        );
    });
    // The qmux server and its session are as they were.
    assert_eq!(env.state("a"), "waiting");
}

#[test]
fn install_shows_each_change_writes_it_and_remove_takes_out_exactly_ours() {
    let env = Env::new();
    let home = env.home();
    let gemini = home.join(".gemini/settings.json");
    std::fs::create_dir_all(gemini.parent().unwrap()).unwrap();
    let before = "{\n  \"theme\": \"dark\"\n}\n";
    std::fs::write(&gemini, before).unwrap();
    let dry = env.qmux_ok(&["mcp", "install", "gemini", "--dry-run"]);
    assert!(dry.starts_with(&format!("would add to {}:", gemini.display())) && dry.contains("+ qmux: "), "{dry}");
    assert_eq!(std::fs::read_to_string(&gemini).unwrap(), before, "a dry run writes nothing");
    env.qmux_ok(&["mcp", "install", "gemini"]);
    let settings: Value = serde_json::from_str(&std::fs::read_to_string(&gemini).unwrap()).unwrap();
    assert_eq!(settings["mcpServers"]["qmux"]["args"], json!(["mcp"]));
    assert_eq!(settings["theme"], "dark");
    assert!(env.qmux_ok(&["mcp", "install", "gemini"]).contains("already in"));
    env.qmux_ok(&["mcp", "remove", "gemini"]);
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&gemini).unwrap()).unwrap();
    assert_eq!(after, json!({"theme": "dark"}));

    // Codex's TOML keeps its own lines; Claude Code's JSON is made if missing.
    let codex = home.join(".codex/config.toml");
    std::fs::create_dir_all(codex.parent().unwrap()).unwrap();
    std::fs::write(&codex, "# mine\nmodel = \"o3\"\n").unwrap();
    env.qmux_ok(&["mcp", "install", "codex"]);
    assert!(std::fs::read_to_string(&codex).unwrap().contains("[mcp_servers.qmux]"));
    env.qmux_ok(&["mcp", "remove", "codex"]);
    assert_eq!(std::fs::read_to_string(&codex).unwrap(), "# mine\nmodel = \"o3\"\n");
    env.qmux_ok(&["mcp", "install", "claude"]);
    let claude: Value = serde_json::from_str(&std::fs::read_to_string(home.join(".claude.json")).unwrap()).unwrap();
    assert_eq!(claude["mcpServers"]["qmux"]["type"], "stdio");
    let out = env.qmux(&["mcp", "install", "cursor"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not \"cursor\""));
}
