//! The Gemini API (`generativelanguage.googleapis.com/v1beta`), as Gemini CLI
//! uses it with an API key and `GOOGLE_GEMINI_BASE_URL`:
//! - `POST /v1beta/models/MODEL:streamGenerateContent?alt=sse`: the chat
//!   turns, answered word by word as server-sent events;
//! - `POST …:generateContent`: side calls (JSON-schema requests such as the
//!   model router's classifier or the next-speaker check, and plain ones such
//!   as session summaries), answered at once in the shape asked for;
//! - `POST …:countTokens`, `…:embedContent`, `…:batchEmbedContents`.
//!
//! Only `streamGenerateContent` is a turn of the conversation: every other
//! call is logged with no user text (see [`conversation`] and [`is_side`]),
//! so [`crate::Mock::deliveries`] counts only real deliveries.

use std::io;

use serde_json::{json, Map, Value};

use crate::script::{self, Conversation, Turn};
use crate::{Reply, Request};

/// The user texts of `contents` (role `user`, text parts joined, Gemini
/// CLI's own context parts left out), and whether the newest content carries
/// a `functionResponse`.
pub fn conversation(body: &Value) -> Conversation {
    let mut convo = Conversation::default();
    let Some(contents) = body.get("contents").and_then(Value::as_array) else {
        return convo;
    };
    let is_user = |c: &Value| c.get("role").and_then(Value::as_str).unwrap_or("user") == "user";
    for content in contents.iter().filter(|c| is_user(c)) {
        if let Some(text) = user_text(content) {
            convo.user_texts.push(text);
            convo.tool_outputs.clear();
        }
        let parts = content.get("parts").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
        let responses = parts.iter().filter_map(|p| p.pointer("/functionResponse/response"));
        convo.tool_outputs.extend(responses.map(script::strings_in));
    }
    let Some(newest) = contents.last() else { return convo };
    let parts = newest.get("parts").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    convo.tool_result = parts.iter().any(|p| p.get("functionResponse").is_some());
    if is_user(newest) {
        convo.last_user_text = user_text(newest);
    }
    convo
}

/// The user's own text in one content: its text parts, joined, without the
/// context Gemini CLI adds (`<session_context>…`, the environment it puts
/// first in every chat). None when nothing is left or the content carries a
/// tool's result.
fn user_text(content: &Value) -> Option<String> {
    let parts = content.get("parts").and_then(Value::as_array)?;
    if parts.iter().any(|p| p.get("functionResponse").is_some()) {
        return None;
    }
    let text: String =
        parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).filter(|t| !is_context(t)).collect();
    (!text.is_empty()).then_some(text)
}

/// Gemini CLI's context parts: the session context it puts before the first
/// message (date, OS, folder listing), and the like.
fn is_context(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with("<session_context>") || t.starts_with("This is the Gemini CLI. We are setting up the context")
}

/// A call that is not a turn of the conversation: anything but
/// `streamGenerateContent`.
pub fn is_side(req: &Request) -> bool {
    !req.path.ends_with(":streamGenerateContent")
}

pub fn handle(req: &Request, body: &Value, convo: &Conversation, reply: &mut Reply) -> io::Result<()> {
    let (model, method) = req.path.rsplit_once('/').map(|(_, m)| m).unwrap_or("").split_once(':').unwrap_or(("", ""));
    match method {
        "streamGenerateContent" => stream(body, convo, reply),
        "generateContent" => reply.json(200, &side_answer(body)),
        "countTokens" => reply.json(200, &json!({"totalTokens": estimate_tokens(body)})),
        "embedContent" => reply.json(200, &json!({"embedding": {"values": vec![0.0; 768]}})),
        "batchEmbedContents" => {
            let n = body.get("requests").and_then(Value::as_array).map_or(1, Vec::len);
            let one = json!({"values": vec![0.0; 768]});
            reply.json(200, &json!({"embeddings": vec![one; n]}))
        }
        _ => reply.json(404, &json!({"error": {"code": 404, "message": format!("{model}:{method} is not in the mock"), "status": "NOT_FOUND"}})),
    }
}

/// A chat turn: the script's text word by word, or a call of the shell tool.
fn stream(body: &Value, convo: &Conversation, reply: &mut Reply) -> io::Result<()> {
    let prompt_tokens = estimate_tokens(body);
    reply.start_events()?;
    match script::decide(convo, reply.config().reply_words) {
        Turn::Text(words) => {
            let n = words.len();
            for (i, word) in words.iter().enumerate() {
                let mut chunk = json!({
                    "candidates": [{"content": {"role": "model", "parts": [{"text": word}]}, "index": 0}],
                    "modelVersion": "mock",
                });
                if i + 1 == n {
                    chunk["candidates"][0]["finishReason"] = json!("STOP");
                    chunk["usageMetadata"] = usage(prompt_tokens, n);
                }
                reply.event(None, &chunk)?;
                if i + 1 < n {
                    reply.pace();
                }
            }
            if n == 0 {
                reply.event(None, &finish(prompt_tokens, 0))?;
            }
        }
        turn @ (Turn::Shell(_) | Turn::Call(_)) => {
            let (name, args) = match turn {
                Turn::Call(call) => {
                    (script::tool_name(&call, declarations(body).filter_map(|d| d.get("name")?.as_str())), call.args)
                }
                Turn::Shell(command) => shell_call(body, &command),
                Turn::Text(_) => unreachable!("matched above"),
            };
            reply.pace();
            reply.event(
                None,
                &json!({
                    "candidates": [{
                        "content": {"role": "model", "parts": [{"functionCall": {"name": name, "args": args}}]},
                        "finishReason": "STOP",
                        "index": 0,
                    }],
                    "usageMetadata": usage(prompt_tokens, 10),
                    "modelVersion": "mock",
                }),
            )?;
        }
    }
    Ok(())
}

fn finish(prompt_tokens: usize, out: usize) -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": usage(prompt_tokens, out),
        "modelVersion": "mock",
    })
}

fn usage(prompt: usize, out: usize) -> Value {
    json!({"promptTokenCount": prompt, "candidatesTokenCount": out, "totalTokenCount": prompt + out})
}

/// A rough token count: a quarter of the request's size.
fn estimate_tokens(body: &Value) -> usize {
    body.to_string().len() / 4 + 1
}

/// The name and arguments of the shell tool the request declares
/// (`run_shell_command` in Gemini CLI 0.61): `command`, plus `description`
/// when the tool takes one.
fn shell_call(body: &Value, command: &str) -> (String, Value) {
    let declarations: Vec<&Value> = declarations(body).collect();
    let found =
        declarations.iter().find(|d| d.get("name").and_then(Value::as_str) == Some("run_shell_command")).or_else(
            || declarations.iter().find(|d| d.get("name").and_then(Value::as_str).is_some_and(|n| n.contains("shell"))),
        );
    let name = found.and_then(|d| d.get("name")).and_then(Value::as_str).unwrap_or("run_shell_command").to_string();
    let params = found.and_then(|d| d.get("parametersJsonSchema").or_else(|| d.get("parameters")));
    let mut args = Map::new();
    args.insert("command".into(), json!(command));
    let takes_description =
        params.and_then(|p| p.get("properties")).is_none_or(|props| props.get("description").is_some());
    if takes_description {
        args.insert("description".into(), json!(format!("Runs `{command}`.")));
    }
    (name, Value::Object(args))
}

/// The functions a request declares.
fn declarations(body: &Value) -> impl Iterator<Item = &Value> {
    let tools = body.get("tools").and_then(Value::as_array).into_iter().flatten();
    tools.filter_map(|t| t.get("functionDeclarations").and_then(Value::as_array)).flatten()
}

/// The answer to a non-streaming call: JSON in the shape of the schema it
/// asks for, else a short text.
fn side_answer(body: &Value) -> Value {
    let config = body.get("generationConfig").or_else(|| body.get("config"));
    let schema = config.and_then(|c| c.get("responseJsonSchema").or_else(|| c.get("responseSchema")));
    let json_mime =
        config.and_then(|c| c.get("responseMimeType")).and_then(Value::as_str).is_some_and(|m| m.contains("json"));
    let text = match schema {
        Some(schema) => example(schema, None).to_string(),
        None if json_mime => "{}".to_string(),
        None => "Mock session".to_string(),
    };
    json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": usage(estimate_tokens(body), 5),
        "modelVersion": "mock",
    })
}

/// A value that fits `schema`. Known side-call fields get the answer that
/// keeps the CLI quiet: the user speaks next, no loop, the cheap model.
pub(crate) fn example(schema: &Value, field: Option<&str>) -> Value {
    match field {
        Some("next_speaker") => return json!("user"),
        Some("model_choice") => return json!("flash"),
        Some("reasoning") => return json!("mock"),
        _ => {}
    }
    if let Some(first) = schema.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.clone();
    }
    let kind = schema.get("type").map(|t| match t {
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null").to_lowercase(),
        other => other.as_str().unwrap_or("").to_lowercase(),
    });
    match kind.as_deref() {
        Some("object") | None if schema.get("properties").is_some() || kind.is_some() => {
            let mut out = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, sub) in props {
                    out.insert(name.clone(), example(sub, Some(name)));
                }
            }
            Value::Object(out)
        }
        Some("array") => json!([]),
        Some("string") => json!(""),
        Some("number") | Some("integer") => json!(0),
        Some("boolean") => json!(false),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_conversation() {
        let body = json!({"contents": [
            {"role": "user", "parts": [{"text": "<session_context>\nThis is the Gemini CLI.</session_context>"}, {"text": "hello"}]},
            {"role": "model", "parts": [{"text": "Reply 1: hello"}]},
            {"role": "user", "parts": [{"text": "please run `echo hi`"}]},
        ]});
        let c = conversation(&body);
        assert_eq!(c.user_texts, vec!["hello", "please run `echo hi`"]);
        assert_eq!(c.last_user_text.as_deref(), Some("please run `echo hi`"));
        assert!(!c.tool_result);

        let mut body = body;
        body["contents"].as_array_mut().unwrap().extend([
            json!({"role": "model", "parts": [{"functionCall": {"name": "run_shell_command", "args": {"command": "echo hi"}}}]}),
            json!({"role": "user", "parts": [{"functionResponse": {"name": "run_shell_command", "response": {"output": "hi"}}}]}),
        ]);
        let c = conversation(&body);
        assert!(c.tool_result);
        assert_eq!(c.last_user_text, None);
        assert_eq!(c.user_texts.len(), 2);
    }

    #[test]
    fn calls_the_declared_shell_tool() {
        let body = json!({"tools": [{"functionDeclarations": [
            {"name": "read_file"},
            {"name": "run_shell_command", "parametersJsonSchema": {"properties": {"command": {}, "description": {}}}},
        ]}]});
        let (name, args) = shell_call(&body, "echo hi");
        assert_eq!(name, "run_shell_command");
        assert_eq!(args["command"], "echo hi");
        assert!(args.get("description").is_some());
    }

    #[test]
    fn answers_json_side_calls_in_shape() {
        let body = json!({"generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": {
            "type": "object",
            "properties": {"reasoning": {"type": "string"}, "next_speaker": {"type": "string", "enum": ["model", "user"]}},
        }}});
        let text = side_answer(&body)["candidates"][0]["content"]["parts"][0]["text"].as_str().unwrap().to_string();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["next_speaker"], "user");
    }

    #[test]
    fn a_scripted_chain_calls_the_declared_mcp_tools() {
        let ask = r#"please call mcp qmux list_sessions then read_screen {"session": "w"}"#;
        let tools = json!([{"functionDeclarations": [
            {"name": "run_shell_command"}, {"name": "mcp_qmux_list_sessions"}, {"name": "mcp_qmux_read_screen"},
        ]}]);
        let mut body = json!({"tools": tools, "contents": [{"role": "user", "parts": [{"text": ask}]}]});
        let Turn::Call(first) = script::decide(&conversation(&body), 3) else { panic!("a call") };
        let names = declarations(&body).filter_map(|d| d.get("name")?.as_str());
        assert_eq!(script::tool_name(&first, names), "mcp_qmux_list_sessions");
        body["contents"].as_array_mut().unwrap().extend([
            json!({"role": "model", "parts": [{"functionCall": {"name": "mcp_qmux_list_sessions", "args": {}}}]}),
            json!({"role": "user", "parts": [{"functionResponse": {"name": "mcp_qmux_list_sessions", "response": {"output": "[]"}}}]}),
        ]);
        let c = conversation(&body);
        assert_eq!(c.tool_outputs, vec!["[]"]);
        let Turn::Call(second) = script::decide(&c, 3) else { panic!("a call") };
        assert_eq!((second.tool.as_str(), &second.args), ("read_screen", &json!({"session": "w"})));
        body["contents"].as_array_mut().unwrap().extend([
            json!({"role": "model", "parts": [{"functionCall": {"name": "mcp_qmux_read_screen", "args": {}}}]}),
            json!({"role": "user", "parts": [{"functionResponse": {"name": "mcp_qmux_read_screen", "response": {"output": "Reply 1: hi"}}}]}),
        ]);
        let Turn::Text(words) = script::decide(&conversation(&body), 3) else { panic!("the quote") };
        assert!(words.concat().contains("\nReply 1: hi\n"));
    }
}
