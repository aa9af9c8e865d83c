//! The OpenAI Chat Completions API (`POST …/chat/completions`), as the
//! agents that take any OpenAI-compatible endpoint speak it (Qwen Code,
//! opencode, pi, aider).
//!
//! With `stream: true` the answer is server-sent `chat.completion.chunk`s:
//! the role first, then one `choices[0].delta.content` per word (or the
//! shell call as `delta.tool_calls`: its id and name, then its arguments), a
//! last chunk with `finish_reason` (`stop` or `tool_calls`) and `usage`, and
//! `data: [DONE]`. Without it, one `chat.completion`.
//!
//! A request that offers no tools, or forces a function of its own with
//! `tool_choice`, or asks for JSON with `response_format`, is a side call (a
//! title, a next-speaker check), not a turn: its conversation is left empty
//! so the log never counts it as a delivery, and it is answered in the shape
//! it asks for. aider's requests are the exception: it offers no tools at
//! all, so its turns are known by its system prompt, and a shell command is
//! proposed to it as it reads one, a fenced ```bash block in the text.

use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::script::{self, Conversation, Turn};
use crate::{Reply, Request};

/// The user texts of `messages` (the agents' own context messages left
/// out), and whether the newest message is a tool's result.
pub fn conversation(body: &Value) -> Conversation {
    let mut convo = Conversation::default();
    if is_side(body) {
        return convo;
    }
    let messages: &[Value] = body.get("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let mut last_user = None;
    let mut tool = false;
    for message in messages {
        match message.get("role").and_then(Value::as_str) {
            // aider's example conversation ends here: what came before was
            // its examples, not the user's.
            Some("user") if text_of(message).starts_with(AIDER_EXAMPLES_END) => {
                (convo.user_texts, last_user, tool) = (Vec::new(), None, false);
            }
            // A command's output aider adds to the chat: a tool's result.
            Some("user") if text_of(message).starts_with("Output from ") && is_aider(body) => {
                (last_user, tool) = (None, true);
            }
            Some("user") => {
                let text = text_of(message);
                if is_typed(&text) {
                    convo.user_texts.push(text.clone());
                    convo.tool_outputs.clear();
                    (last_user, tool) = (Some(text), false);
                }
            }
            Some("tool") => {
                convo.tool_outputs.push(script::strings_in(message.get("content").unwrap_or(&Value::Null)));
                (last_user, tool) = (None, true)
            }
            Some("assistant") => (last_user, tool) = (None, false),
            _ => {}
        }
    }
    convo.last_user_text = last_user;
    convo.tool_result = tool;
    convo
}

/// A message's text: a string, or its text parts joined, without the
/// context parts an agent adds (Qwen Code puts `<system-reminder>` parts
/// before the user's text in the same message, GitHub Copilot CLI a
/// `<current_datetime>` line; aider appends its rules for edits to the
/// newest one).
fn text_of(message: &Value) -> String {
    match message.get("content") {
        Some(Value::String(s)) => without_datetime(s.split(AIDER_REMINDER).next().unwrap_or_default()).to_string(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .map(without_datetime)
            .filter(|t| is_typed(t))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// `text` after the `<current_datetime>…</current_datetime>` GitHub Copilot
/// CLI puts before what the user typed.
fn without_datetime(text: &str) -> &str {
    let end = "</current_datetime>";
    match text
        .trim_start()
        .strip_prefix("<current_datetime>")
        .and_then(|rest| rest.find(end).map(|i| &rest[i + end.len()..]))
    {
        Some(rest) => rest.trim_start(),
        None => text,
    }
}

/// Whether a user message (or part) is what the user typed, not context an
/// agent adds: Qwen Code's `<system-reminder>`s, the session context it and
/// Gemini CLI open with, and its background runs after a turn when they
/// are on (the memory keeper, the next-message suggestion).
fn is_typed(text: &str) -> bool {
    let t = text.trim_start();
    !(t.is_empty()
        || t.starts_with("<session_context>")
        || t.starts_with("<system-reminder>")
        || t.starts_with("This is the Qwen Code. We are setting up the context")
        || t.starts_with("This is the Gemini CLI. We are setting up the context")
        || t.starts_with("Managed memory has TWO directories")
        || t.starts_with("[SUGGESTION MODE")
        || t.starts_with(AIDER_NO_FILES))
}

/// How aider's system prompt for its coders begins (its summaries of a long
/// chat, side calls, have another).
const AIDER_SYSTEM: &str = "Act as an expert software developer.";
/// The user message that closes aider's example conversation (few-shot
/// edits it sends before the real one).
const AIDER_EXAMPLES_END: &str = "I switched to a new code base.";
/// What aider says in place of the files in the chat when there are none.
const AIDER_NO_FILES: &str = "I am not sharing any files that you can edit yet.";
/// The start of the rules aider (its "diff" edit format) appends to the
/// newest user message.
const AIDER_REMINDER: &str = "\n\n# *SEARCH/REPLACE block* Rules:";

/// A turn of aider's, which offers no tools.
fn is_aider(body: &Value) -> bool {
    let first = body.pointer("/messages/0").filter(|m| m.get("role").and_then(Value::as_str) == Some("system"));
    first.and_then(|m| m.get("content")).and_then(Value::as_str).is_some_and(|t| t.starts_with(AIDER_SYSTEM))
}

/// Whether the request offers tools to call.
fn offers_tools(body: &Value) -> bool {
    body.get("tools").and_then(Value::as_array).is_some_and(|t| !t.is_empty())
}

/// A call the agent makes on its own rather than for the user's turn.
pub fn is_side(body: &Value) -> bool {
    let no_tools = !offers_tools(body) && !is_aider(body);
    let forced = body.pointer("/tool_choice/function/name").is_some();
    let json_format = body.pointer("/response_format/type").and_then(Value::as_str).is_some_and(|t| t != "text");
    no_tools || forced || json_format
}

pub fn handle(req: &Request, body: &Value, convo: &Conversation, reply: &mut Reply) -> io::Result<()> {
    if req.method != "POST" || !req.path.ends_with("/chat/completions") {
        return reply.json(404, &json!({"error": {"message": "not in the mock", "path": req.path}}));
    }
    let answer = answer(body, convo, reply.config().reply_words);
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        stream(body, &answer, reply)
    } else {
        reply.json(200, &whole(body, &answer))
    }
}

/// What the model says: the script's turn, or a side call's answer.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Turn(Turn),
    /// A call of the function the request forced, with these arguments.
    Forced(String, Value),
}

/// The answer to a request: a side call's, or the script's turn (a shell
/// command proposed in a fenced block when there is no tool to call).
fn answer(body: &Value, convo: &Conversation, words: usize) -> Answer {
    if is_side(body) {
        return side_answer(body);
    }
    match script::decide(convo, words) {
        Turn::Shell(cmd) if !offers_tools(body) => {
            Answer::Turn(Turn::Text(script::split(&format!("To run it:\n\n```bash\n{cmd}\n```\n"))))
        }
        turn => Answer::Turn(turn),
    }
}

fn side_answer(body: &Value) -> Answer {
    if let Some(name) = body.pointer("/tool_choice/function/name").and_then(Value::as_str) {
        let tools: &[Value] = body.get("tools").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
        let params = tools
            .iter()
            .find(|t| t.pointer("/function/name").and_then(Value::as_str) == Some(name))
            .and_then(|t| t.pointer("/function/parameters"));
        let args = params.map_or_else(|| json!({}), |p| crate::gemini::example(p, None));
        return Answer::Forced(name.to_string(), args);
    }
    let text = match body.pointer("/response_format/json_schema/schema") {
        Some(schema) => crate::gemini::example(schema, None).to_string(),
        None if body.pointer("/response_format/type").and_then(Value::as_str) == Some("json_object") => "{}".into(),
        None => "Mock session".into(),
    };
    Answer::Turn(Turn::Text(vec![text]))
}

/// The shell tool the request offers (`run_shell_command` for Qwen Code,
/// `bash` for opencode), called with `cmd` in the argument shape it takes.
fn shell_call(body: &Value, cmd: &str) -> (String, Value) {
    let tools: Vec<&Value> = body.get("tools").and_then(Value::as_array).into_iter().flatten().collect();
    fn name_of(t: &Value) -> Option<&str> {
        t.pointer("/function/name").and_then(Value::as_str)
    }
    let known = ["run_shell_command", "bash", "shell", "exec_command"];
    let found = known.iter().find_map(|k| tools.iter().copied().find(|t| name_of(t) == Some(k)));
    let found = found.or_else(|| tools.iter().copied().find(|t| name_of(t).is_some_and(|n| n.contains("shell"))));
    let name = found.and_then(name_of).unwrap_or("run_shell_command").to_string();
    let props = found.and_then(|t| t.pointer("/function/parameters/properties"));
    let mut args = Map::new();
    args.insert("command".into(), json!(cmd));
    if props.is_none_or(|p| p.get("description").is_some()) {
        args.insert("description".into(), json!(format!("Runs `{cmd}`.")));
    }
    (name, Value::Object(args))
}

fn id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}-{:x}{:04x}", nanos, N.fetch_add(1, Ordering::Relaxed))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn model(body: &Value) -> String {
    body.get("model").and_then(Value::as_str).unwrap_or("mock").to_string()
}

/// Usage as the API reports it: a rough prompt count (a quarter of the
/// request's size) and the words written.
fn usage(body: &Value, completion: usize) -> Value {
    let prompt = body.to_string().len() / 4 + 1;
    json!({
        "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
    })
}

/// The tool call an answer makes, if any: (name, arguments).
fn call_of(body: &Value, answer: &Answer) -> Option<(String, Value)> {
    match answer {
        Answer::Turn(Turn::Shell(cmd)) => Some(shell_call(body, cmd)),
        Answer::Turn(Turn::Call(call)) => {
            let tools = body.get("tools").and_then(Value::as_array).into_iter().flatten();
            let names = tools.filter_map(|t| t.pointer("/function/name").and_then(Value::as_str));
            Some((script::tool_name(call, names), call.args.clone()))
        }
        Answer::Forced(name, args) => Some((name.clone(), args.clone())),
        Answer::Turn(Turn::Text(_)) => None,
    }
}

fn whole(body: &Value, answer: &Answer) -> Value {
    let (message, finish, words) = match (answer, call_of(body, answer)) {
        (_, Some((name, args))) => {
            let call = json!({"id": id("call"), "type": "function", "function": {"name": name, "arguments": args.to_string()}});
            (json!({"role": "assistant", "content": null, "tool_calls": [call]}), "tool_calls", 10)
        }
        (Answer::Turn(Turn::Text(words)), None) => {
            (json!({"role": "assistant", "content": words.concat()}), "stop", words.len())
        }
        _ => unreachable!("only text has no call"),
    };
    json!({
        "id": id("chatcmpl"), "object": "chat.completion", "created": now(), "model": model(body),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": null}],
        "usage": usage(body, words),
    })
}

fn stream(body: &Value, answer: &Answer, reply: &mut Reply) -> io::Result<()> {
    let (chunk_id, created, model) = (id("chatcmpl"), now(), model(body));
    let chunk = |delta: Value, finish: Value| {
        json!({
            "id": chunk_id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        })
    };
    reply.start_events()?;
    reply.event(None, &chunk(json!({"role": "assistant", "content": ""}), Value::Null))?;
    let (finish, words) = match (answer, call_of(body, answer)) {
        (_, Some((name, args))) => {
            reply.pace();
            let head = json!({"index": 0, "id": id("call"), "type": "function",
                "function": {"name": name, "arguments": ""}});
            reply.event(None, &chunk(json!({"tool_calls": [head]}), Value::Null))?;
            let rest = json!({"index": 0, "function": {"arguments": args.to_string()}});
            reply.event(None, &chunk(json!({"tool_calls": [rest]}), Value::Null))?;
            ("tool_calls", 10)
        }
        (Answer::Turn(Turn::Text(words)), None) => {
            for word in words {
                reply.pace();
                reply.event(None, &chunk(json!({"content": word}), Value::Null))?;
            }
            ("stop", words.len())
        }
        _ => unreachable!("only text has no call"),
    };
    let mut last = chunk(json!({}), json!(finish));
    last["usage"] = usage(body, words);
    reply.event(None, &last)?;
    reply.done()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell_tool() -> Value {
        json!([{"type": "function", "function": {"name": "run_shell_command", "parameters": {
            "type": "object", "properties": {"command": {"type": "string"}, "description": {"type": "string"}}}}}])
    }

    #[test]
    fn reads_the_conversation() {
        let body = json!({"tools": shell_tool(), "messages": [
            {"role": "system", "content": "You are Qwen Code."},
            {"role": "user", "content": "This is the Qwen Code. We are setting up the context for our chat."},
            {"role": "assistant", "content": "Got it."},
            {"role": "user", "content": [{"type": "text", "text": "<system-reminder>\nskills\n</system-reminder>"},
                {"type": "text", "text": "hello"}]},
        ]});
        let c = conversation(&body);
        assert_eq!(c.user_texts, vec!["hello"]);
        assert_eq!(c.last_user_text.as_deref(), Some("hello"));
        assert!(!c.tool_result);

        let mut body = body;
        body["messages"].as_array_mut().unwrap().extend([
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "run_shell_command", "arguments": "{}"}}]}),
            json!({"role": "tool", "tool_call_id": "c1", "content": "ok"}),
        ]);
        let c = conversation(&body);
        assert!(c.tool_result && c.last_user_text.is_none());
        assert_eq!(c.user_texts.len(), 1);

        // GitHub Copilot CLI's date before the typed text.
        let copilot = json!({"tools": shell_tool(), "messages": [{"role": "user",
            "content": "<current_datetime>2026-12-07T20:57:27.092+00:00</current_datetime>\n\nhello"}]});
        assert_eq!(conversation(&copilot).last_user_text.as_deref(), Some("hello"));

        // A title with no tools: no turn of the conversation.
        let side = json!({"messages": [{"role": "user", "content": "Title for: hello"}]});
        assert!(conversation(&side).user_texts.is_empty());
        assert_eq!(side_answer(&side), Answer::Turn(Turn::Text(vec!["Mock session".into()])));
    }

    #[test]
    fn calls_the_offered_shell_tool() {
        let body = json!({"tools": shell_tool()});
        let (name, args) = shell_call(&body, "echo hi");
        assert_eq!(name, "run_shell_command");
        assert_eq!(args["command"], "echo hi");
        assert!(args.get("description").is_some());
        let opencode = json!({"tools": [{"type": "function", "function": {"name": "read"}},
            {"type": "function", "function": {"name": "bash", "parameters": {"properties": {"command": {}, "description": {}}}}}]});
        assert_eq!(shell_call(&opencode, "ls").0, "bash");
        let answer = Answer::Turn(Turn::Shell("echo hi".into()));
        let whole = whole(&body, &answer);
        assert_eq!(whole["choices"][0]["finish_reason"], "tool_calls");
        let call = &whole["choices"][0]["message"]["tool_calls"][0]["function"];
        assert_eq!(call["name"], "run_shell_command");
        let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args["command"], "echo hi");
    }

    /// aider's turn as it sends it: its system prompt, an example
    /// conversation, no files, then the user's message with its edit rules
    /// appended; no tools.
    fn aider_body(typed: &[&str]) -> Value {
        let mut messages = vec![
            json!({"role": "system", "content": "Act as an expert software developer.\nAlways use best practices."}),
            json!({"role": "user", "content": "Change get_factorial() to use math.factorial"}),
            json!({"role": "assistant", "content": "To make this change..."}),
            json!({"role": "user", "content": "I switched to a new code base. Please don't consider the above files."}),
            json!({"role": "assistant", "content": "Ok."}),
            json!({"role": "user", "content": "I am not sharing any files that you can edit yet."}),
            json!({"role": "assistant", "content": "Ok."}),
        ];
        for (i, t) in typed.iter().enumerate() {
            let last = i + 1 == typed.len();
            let text =
                if last { format!("{t}\n\n# *SEARCH/REPLACE block* Rules:\n\nEvery block...") } else { t.to_string() };
            messages.push(json!({"role": "user", "content": text}));
            if !last {
                messages.push(json!({"role": "assistant", "content": "Reply."}));
            }
        }
        json!({"model": "mock", "stream": true, "messages": messages})
    }

    #[test]
    fn reads_aiders_turns_and_proposes_a_fenced_command() {
        let body = aider_body(&["hello", "please run `printf hi`"]);
        assert!(!is_side(&body));
        let c = conversation(&body);
        assert_eq!(c.user_texts, vec!["hello", "please run `printf hi`"]);
        assert_eq!(c.last_user_text.as_deref(), Some("please run `printf hi`"));
        let Answer::Turn(Turn::Text(words)) = answer(&body, &c, 3) else { panic!("a text turn") };
        assert!(words.concat().ends_with("\n\n```bash\nprintf hi\n```\n"), "{words:?}");

        // The command's output aider adds is a tool's result, not typed.
        let mut body = aider_body(&["please run `printf hi`", "next"]);
        let messages = body["messages"].as_array_mut().unwrap();
        messages.insert(9, json!({"role": "user", "content": "Output from printf hi\nhi\n"}));
        messages.insert(10, json!({"role": "assistant", "content": "Ok"}));
        let c = conversation(&body);
        assert_eq!(c.user_texts, vec!["please run `printf hi`", "next"]);
        assert!(!c.tool_result);

        // Its summary of a long chat is a side call.
        let summary = json!({"messages": [{"role": "system", "content": "*Briefly* summarize this partial conversation"},
            {"role": "user", "content": "# USER\nhello"}]});
        assert!(is_side(&summary));
    }

    #[test]
    fn answers_a_forced_function_in_shape() {
        let body = json!({
            "tools": [{"type": "function", "function": {"name": "respond_in_schema", "parameters": {"type": "object",
                "properties": {"next_speaker": {"type": "string", "enum": ["model", "user"]}}}}}],
            "tool_choice": {"type": "function", "function": {"name": "respond_in_schema"}},
        });
        assert!(is_side(&body));
        let Answer::Forced(name, args) = side_answer(&body) else { panic!() };
        assert_eq!(name, "respond_in_schema");
        assert_eq!(args["next_speaker"], "user");
    }
}
