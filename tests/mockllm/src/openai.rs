//! The OpenAI Responses API, as Codex streams it (`wire_api = "responses"`).
//!
//! `POST …/responses` with `stream: true` answers with the same server-sent
//! events the real API sends: `response.created`, `response.in_progress`,
//! `response.output_item.added`, `response.content_part.added`,
//! `response.output_text.delta` per word, `response.output_text.done`,
//! `response.content_part.done`, `response.output_item.done` and
//! `response.completed` with usage. A shell turn becomes a call of the
//! shell tool Codex offered in `tools` (`exec_command`, `shell_command`,
//! `shell` or `local_shell`), with the argument shape that tool takes.
//! `GET …/models` answers an empty list, so Codex keeps its built-in one.

use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::script::{self, Conversation, Turn};
use crate::{Reply, Request};

/// The conversation in a Responses `input`.
///
/// User messages that Codex writes itself — `<environment_context>`,
/// `<user_instructions>`, AGENTS.md text and the like — are not the user's:
/// they are left out, so `user_texts` holds only what was typed.
pub fn conversation(body: &Value) -> Conversation {
    if is_side_request(body) {
        return Conversation::default();
    }
    let items: &[Value] =
        body.get("input").or_else(|| body.get("messages")).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let mut convo = Conversation::default();
    // What the newest meaningful item was: a typed user message, a tool
    // result, or something else (the model's own output).
    let mut last = Last::Other;
    for item in items {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or("message");
        match kind {
            "message" => match item.get("role").and_then(Value::as_str) {
                Some("user") => {
                    let text = message_text(item);
                    if is_typed(&text) {
                        convo.user_texts.push(text.clone());
                        convo.tool_outputs.clear();
                        last = Last::User(text);
                    }
                }
                Some("tool") => {
                    convo.tool_outputs.push(message_text(item));
                    last = Last::Tool
                }
                Some("assistant") => last = Last::Other,
                _ => {}
            },
            "function_call_output" | "custom_tool_call_output" | "local_shell_call_output" | "tool_search_output" => {
                convo.tool_outputs.push(script::strings_in(item.get("output").unwrap_or(&Value::Null)));
                last = Last::Tool
            }
            "function_call" | "custom_tool_call" | "local_shell_call" | "reasoning" => last = Last::Other,
            _ => {}
        }
    }
    match last {
        Last::User(text) => convo.last_user_text = Some(text),
        Last::Tool => convo.tool_result = true,
        Last::Other => {}
    }
    convo
}

enum Last {
    User(String),
    Tool,
    Other,
}

/// The text parts of a message, joined.
fn message_text(item: &Value) -> String {
    match item.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n")
        }
        _ => String::new(),
    }
}

/// Whether a user message is what the user typed rather than context Codex
/// adds on its own (those start with an XML-ish tag or a `# ` heading).
fn is_typed(text: &str) -> bool {
    let t = text.trim_start();
    !(t.is_empty()
        || t.starts_with("<environment_context>")
        || t.starts_with("<user_instructions>")
        || t.starts_with("<permissions")
        || t.starts_with("<turn_aborted>")
        || t.starts_with("<user_shell_command>")
        || t.starts_with("<skills")
        || t.starts_with("<collaboration_mode>")
        || t.starts_with("# AGENTS.md instructions"))
}

/// A request Codex makes on its own rather than for the user's turn: it
/// offers no tools and asks for JSON by a schema (the thread title, "Generate
/// a concise, single-line task title …", with `text.format.name =
/// "codex_output_schema"`). Its conversation is left empty, so the log never
/// counts it as a delivery of the user's message.
pub fn is_side_request(body: &Value) -> bool {
    let no_tools = body.get("tools").and_then(Value::as_array).is_none_or(Vec::is_empty);
    let schema = body.pointer("/text/format/type").and_then(Value::as_str) == Some("json_schema");
    body.get("input").is_some() && (no_tools || schema)
}

/// The answer to a side request: a title made of the prompt's first words,
/// the same thing Codex shows when it gets no title.
fn side_answer(body: &Value) -> Value {
    let items: &[Value] = body.get("input").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let prompt = items
        .iter()
        .rev()
        .filter(|i| i.get("role").and_then(Value::as_str) == Some("user"))
        .map(message_text)
        .next()
        .unwrap_or_default();
    let prompt = prompt.rsplit("User prompt:").next().unwrap_or("").trim();
    let title: String = prompt.lines().next().unwrap_or("").chars().take(36).collect();
    let title = if title.trim().is_empty() { "Mock task".to_string() } else { title.trim().to_string() };
    if body.pointer("/text/format/schema/properties/title").is_some() {
        json!({"title": title})
    } else {
        json!({})
    }
}

pub fn handle(req: &Request, body: &Value, convo: &Conversation, reply: &mut Reply) -> io::Result<()> {
    if req.method == "GET" && req.path.ends_with("/models") {
        return reply.json(200, &json!({"object": "list", "data": [], "models": []}));
    }
    if req.method != "POST" || !req.path.ends_with("/responses") {
        return reply.json(404, &json!({"error": {"message": "not in the mock", "path": req.path}}));
    }
    let turn = if is_side_request(body) {
        Turn::Text(vec![side_answer(body).to_string()])
    } else {
        script::decide(convo, reply.config().reply_words)
    };
    if body.get("stream").and_then(Value::as_bool) != Some(true) {
        return reply.json(200, &whole_response(body, &turn));
    }
    stream(body, &turn, reply)
}

/// Ids unique enough for one run.
fn id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}_{:x}{:04x}", nanos, N.fetch_add(1, Ordering::Relaxed))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn model(body: &Value) -> String {
    body.get("model").and_then(Value::as_str).unwrap_or("mock").to_string()
}

/// The output item of a turn that calls a tool: the shell's, or a scripted
/// call of the function the request offers under the step's name.
fn tool_call(body: &Value, turn: &Turn, call_id: &str, item_id: &str) -> Value {
    let Turn::Call(call) = turn else {
        let Turn::Shell(cmd) = turn else { unreachable!("text calls no tool") };
        return shell_call(body, cmd, call_id, item_id);
    };
    let tools: &[Value] = body.get("tools").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let name = script::tool_name(call, tools.iter().filter_map(|t| t.get("name").and_then(Value::as_str)));
    json!({
        "type": "function_call", "id": item_id, "status": "completed",
        "call_id": call_id, "name": name, "arguments": call.args.to_string(),
    })
}

/// The shell tool Codex offered, and how to call it with `cmd`.
fn shell_call(body: &Value, cmd: &str, call_id: &str, item_id: &str) -> Value {
    let tools: &[Value] = body.get("tools").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let name_of = |t: &Value| {
        t.get("name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| t.get("type").and_then(Value::as_str).map(str::to_string))
    };
    let names: Vec<String> = tools.iter().filter_map(name_of).collect();
    let has = |n: &str| names.iter().any(|x| x == n);
    let function = |name: &str, args: Value| {
        json!({
            "type": "function_call", "id": item_id, "status": "completed",
            "call_id": call_id, "name": name, "arguments": args.to_string(),
        })
    };
    if has("shell_command") {
        function(
            "shell_command",
            json!({"command": cmd, "sandbox_permissions": "require_escalated", "justification": "The user asked to run this command."}),
        )
    } else if has("exec_command") {
        function(
            "exec_command",
            json!({"cmd": cmd, "sandbox_permissions": "require_escalated", "justification": "The user asked to run this command."}),
        )
    } else if has("local_shell") {
        json!({
            "type": "local_shell_call", "id": item_id, "call_id": call_id, "status": "completed",
            "action": {"type": "exec", "command": ["bash", "-lc", cmd]},
        })
    } else {
        function(
            "shell",
            json!({"command": ["bash", "-lc", cmd], "sandbox_permissions": "require_escalated", "justification": "The user asked to run this command."}),
        )
    }
}

fn usage() -> Value {
    json!({
        "input_tokens": 100, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 50, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 150,
    })
}

fn response_object(id: &str, body: &Value, status: &str, output: Vec<Value>, with_usage: bool) -> Value {
    json!({
        "id": id, "object": "response", "created_at": now(), "status": status,
        "model": model(body), "output": output,
        "usage": if with_usage { usage() } else { Value::Null },
    })
}

fn message_item(item_id: &str, text: &str, status: &str) -> Value {
    let content = if status == "in_progress" {
        json!([])
    } else {
        json!([{"type": "output_text", "text": text, "annotations": []}])
    };
    json!({"type": "message", "id": item_id, "status": status, "role": "assistant", "content": content})
}

fn whole_response(body: &Value, turn: &Turn) -> Value {
    let output = match turn {
        Turn::Text(words) => vec![message_item(&id("msg"), &words.concat(), "completed")],
        Turn::Shell(_) | Turn::Call(_) => vec![tool_call(body, turn, &id("call"), &id("fc"))],
    };
    response_object(&id("resp"), body, "completed", output, true)
}

fn stream(body: &Value, turn: &Turn, reply: &mut Reply) -> io::Result<()> {
    let resp_id = id("resp");
    let mut seq = 0u64;
    let mut send = |reply: &mut Reply, name: &str, mut data: Value| {
        data["type"] = json!(name);
        data["sequence_number"] = json!(seq);
        seq += 1;
        reply.event(Some(name), &data)
    };
    reply.start_events()?;
    send(
        reply,
        "response.created",
        json!({"response": response_object(&resp_id, body, "in_progress", vec![], false)}),
    )?;
    send(
        reply,
        "response.in_progress",
        json!({"response": response_object(&resp_id, body, "in_progress", vec![], false)}),
    )?;
    let item = match turn {
        Turn::Text(words) => {
            let item_id = id("msg");
            send(
                reply,
                "response.output_item.added",
                json!({"output_index": 0, "item": message_item(&item_id, "", "in_progress")}),
            )?;
            let part = json!({"type": "output_text", "text": "", "annotations": []});
            send(
                reply,
                "response.content_part.added",
                json!({"item_id": item_id, "output_index": 0, "content_index": 0, "part": part}),
            )?;
            for word in words {
                reply.pace();
                send(
                    reply,
                    "response.output_text.delta",
                    json!({"item_id": item_id, "output_index": 0, "content_index": 0, "delta": word, "logprobs": []}),
                )?;
            }
            let text = words.concat();
            send(
                reply,
                "response.output_text.done",
                json!({"item_id": item_id, "output_index": 0, "content_index": 0, "text": text, "logprobs": []}),
            )?;
            let part = json!({"type": "output_text", "text": text, "annotations": []});
            send(
                reply,
                "response.content_part.done",
                json!({"item_id": item_id, "output_index": 0, "content_index": 0, "part": part}),
            )?;
            message_item(&item_id, &text, "completed")
        }
        Turn::Shell(_) | Turn::Call(_) => {
            let item = tool_call(body, turn, &id("call"), &id("fc"));
            let mut added = item.clone();
            if added["type"] == "function_call" {
                added["status"] = json!("in_progress");
                added["arguments"] = json!("");
            }
            send(reply, "response.output_item.added", json!({"output_index": 0, "item": added}))?;
            if item["type"] == "function_call" {
                let args = item["arguments"].clone();
                reply.pace();
                send(
                    reply,
                    "response.function_call_arguments.delta",
                    json!({"item_id": item["id"], "output_index": 0, "delta": args}),
                )?;
                send(
                    reply,
                    "response.function_call_arguments.done",
                    json!({"item_id": item["id"], "output_index": 0, "arguments": args}),
                )?;
            }
            item
        }
    };
    send(reply, "response.output_item.done", json!({"output_index": 0, "item": item}))?;
    send(
        reply,
        "response.completed",
        json!({"response": response_object(&resp_id, body, "completed", vec![item], true)}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_conversation() {
        let tools = json!([{"type": "function", "name": "exec_command"}]);
        let body = json!({"tools": tools, "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "<permissions instructions>"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "# AGENTS.md instructions for /x"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>\n</environment_context>"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]},
        ]});
        let c = conversation(&body);
        assert_eq!(c.user_texts, vec!["hello".to_string()]);
        assert_eq!(c.last_user_text.as_deref(), Some("hello"));
        assert!(!c.tool_result);

        let body = json!({"tools": tools, "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "please run `ls`"}]},
            {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "ok"},
        ]});
        let c = conversation(&body);
        assert_eq!(c.user_texts.len(), 1);
        assert_eq!(c.last_user_text, None);
        assert!(c.tool_result);

        // The title request: no tools, a JSON schema; not the user's turn.
        let body = json!({"tools": [], "text": {"format": {"type": "json_schema", "name": "codex_output_schema",
            "schema": {"properties": {"title": {"type": "string"}}}}}, "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Generate a title.\n\nUser prompt:\nhello"}]},
        ]});
        let c = conversation(&body);
        assert!(c.user_texts.is_empty() && c.last_user_text.is_none() && !c.tool_result);
        assert_eq!(side_answer(&body), json!({"title": "hello"}));
    }

    #[test]
    fn calls_the_offered_shell_tool() {
        let body = json!({"tools": [{"type": "function", "name": "exec_command"}]});
        let call = shell_call(&body, "echo hi", "c", "i");
        assert_eq!(call["name"], "exec_command");
        let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args["cmd"], "echo hi");
    }
}
