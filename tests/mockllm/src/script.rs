//! What the model says, decided from the conversation alone, the same way
//! for every protocol.
//!
//! A user message can script a chain of tool calls to any tool the agent
//! declares, such as an MCP server's:
//!
//! ```text
//! please call mcp qmux start_session {"command": ["codex"], "prompt": "hi"} then wait_for {"session": "codex", "until": "waiting"} then read_screen {"session": "codex"}
//! ```
//!
//! After `call mcp` comes the server's name, then steps joined by `then`:
//! each step a tool's name and its arguments as one JSON object (none is
//! `{}`). The model answers the message with the first step's call, each
//! tool result with the next step's call, and the last result with a text
//! reply that quotes that result ([`quote`]), so a test sees it. How an
//! agent names a server's tool differs (Claude Code `mcp__qmux__wait_for`,
//! Gemini CLI `mcp_qmux_wait_for`): each protocol calls the tool the
//! request declares under a name that ends with the step's ([`tool_name`]).

/// What a request's conversation holds, as each protocol module reads it.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    /// The text of every user message, oldest first.
    pub user_texts: Vec<String>,
    /// The newest user message's text, if the newest turn is the user's.
    pub last_user_text: Option<String>,
    /// The newest turn is a tool's result.
    pub tool_result: bool,
    /// The text of each tool result since the newest typed user message,
    /// oldest first: how far a scripted chain of calls ([`calls`]) has got.
    pub tool_outputs: Vec<String>,
}

/// The model's next turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// A reply streamed word by word.
    Text(Vec<String>),
    /// A call of the agent's shell tool with this command line.
    Shell(String),
    /// A call of a declared tool, as a message scripted it ([`calls`]).
    Call(Call),
}

/// One step of a scripted chain: a tool of `server`, with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub server: String,
    pub tool: String,
    pub args: serde_json::Value,
}

/// A message that contains ``run `CMD` `` gets a shell call; a tool result
/// gets a closing line; anything else a reply of `words` words that starts
/// `Reply N:` (N = how many user messages so far) and echoes the message, so
/// a test can see which message was answered.
///
/// A message that scripts calls ([`calls`]) gets its chain, one call a turn.
pub fn decide(convo: &Conversation, words: usize) -> Turn {
    let scripted = convo.user_texts.last().map(|t| calls(t)).unwrap_or_default();
    if convo.tool_result {
        if scripted.is_empty() {
            return Turn::Text(split("The command ran. Done."));
        }
        return match scripted.get(convo.tool_outputs.len()) {
            Some(call) => Turn::Call(call.clone()),
            None => Turn::Text(split(&quote(convo.tool_outputs.last().map_or("", String::as_str)))),
        };
    }
    let text = convo.last_user_text.clone().unwrap_or_default();
    if let Some(call) = scripted.first().filter(|_| convo.last_user_text.is_some()) {
        return Turn::Call(call.clone());
    }
    if let Some(cmd) = shell_request(&text) {
        return Turn::Shell(cmd);
    }
    let n = convo.user_texts.len();
    let first_line: String = text.lines().next().unwrap_or("").chars().take(60).collect();
    let mut out = split(&format!("Reply {n}: {first_line}\n"));
    for i in 0..words {
        out.push(format!("{} ", WORDS[i % WORDS.len()]));
    }
    out.push("\nEnd of reply.".into());
    Turn::Text(out)
}

/// The command in ``run `CMD` ``.
pub fn shell_request(text: &str) -> Option<String> {
    let start = text.find("run `")? + "run `".len();
    let len = text[start..].find('`')?;
    Some(text[start..start + len].to_string())
}

/// The calls ``call mcp SERVER TOOL {ARGS} then TOOL {ARGS} …`` scripts
/// (see the module's docs); none when `text` scripts none, or a step's
/// arguments are not a JSON object.
pub fn calls(text: &str) -> Vec<Call> {
    const START: &str = "call mcp ";
    let Some(at) = text.find(START) else { return Vec::new() };
    let mut rest = text[at + START.len()..].trim_start();
    let Some(server) = word(&mut rest) else { return Vec::new() };
    let mut out = Vec::new();
    while let Some(tool) = word(&mut rest) {
        rest = rest.trim_start();
        let mut args = serde_json::Value::Object(Default::default());
        if rest.starts_with('{') {
            let mut values = serde_json::Deserializer::from_str(rest).into_iter::<serde_json::Value>();
            match values.next() {
                Some(Ok(v)) if v.is_object() => args = v,
                _ => return Vec::new(),
            }
            rest = rest[values.byte_offset()..].trim_start();
        }
        out.push(Call { server: server.clone(), tool, args });
        match rest.strip_prefix("then ") {
            Some(next) => rest = next.trim_start(),
            None => break,
        }
    }
    out
}

/// A name at the start of `rest` (letters, digits, `_`, `-`), taken off it.
fn word(rest: &mut &str) -> Option<String> {
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(rest.len());
    let found = (end > 0).then(|| rest[..end].to_string());
    *rest = rest[end..].trim_start();
    found
}

/// The name to call `call` by, among the tool names a request declares: the
/// one that is the step's tool name, or ends with it after a separator
/// (preferring one that also names the server); else Claude Code's own
/// `mcp__SERVER__TOOL`.
pub fn tool_name<'a>(call: &Call, declared: impl IntoIterator<Item = &'a str>) -> String {
    let tool = call.tool.as_str();
    let matching: Vec<&str> = declared
        .into_iter()
        .filter(|n| *n == tool || n.strip_suffix(tool).is_some_and(|head| head.ends_with(['_', '.', '/', ':', '-'])))
        .collect();
    let best = matching.iter().find(|n| n.contains(call.server.as_str())).or(matching.first());
    best.map_or_else(|| format!("mcp__{}__{tool}", call.server), |n| n.to_string())
}

/// The reply to the last result of a chain: the result's lines, trimmed,
/// blank ones left out, in a fenced block so an agent shows them as
/// written (a screen's `>` or `#` is not Markdown).
pub fn quote(result: &str) -> String {
    let lines: Vec<&str> = result.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    format!("The last tool said:\n```\n{}\n```\nEnd of tool result.", lines.join("\n"))
}

/// Every string in a tool result (its `text`s, `output`, …), joined by
/// newlines: what the tool said, however the protocol wraps it.
pub fn strings_in(value: &serde_json::Value) -> String {
    fn walk(v: &serde_json::Value, key: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) if !matches!(key, "type" | "id" | "name" | "tool_use_id" | "call_id") => {
                out.push(s.clone())
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, key, out)),
            serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| walk(v, k, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, "", &mut out);
    out.join("\n")
}

/// Words with their following space kept, so streamed pieces join back.
pub fn split(text: &str) -> Vec<String> {
    text.split_inclusive(' ').map(str::to_string).collect()
}

const WORDS: [&str; 12] =
    ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decides() {
        let c =
            |t: &str| Conversation { user_texts: vec![t.into()], last_user_text: Some(t.into()), ..Default::default() };
        assert_eq!(decide(&c("please run `echo hi` now"), 3), Turn::Shell("echo hi".into()));
        let Turn::Text(words) = decide(&c("hello"), 3) else { panic!() };
        assert_eq!(words.concat(), "Reply 1: hello\nalpha bravo charlie \nEnd of reply.");
        let done = Conversation { tool_result: true, ..c("x") };
        assert!(matches!(decide(&done, 3), Turn::Text(_)));
    }

    #[test]
    fn a_message_scripts_a_chain_of_calls() {
        let text = r#"please call mcp qmux start_session {"command": ["codex", "-C", "/w"], "prompt": "say then hi"} then wait_for {"session":"w","until":"waiting"}  then list_sessions then read_screen {"session": "w"}"#;
        let chain = calls(text);
        let tools: Vec<&str> = chain.iter().map(|c| c.tool.as_str()).collect();
        assert_eq!(tools, ["start_session", "wait_for", "list_sessions", "read_screen"]);
        assert!(chain.iter().all(|c| c.server == "qmux"));
        assert_eq!(chain[0].args["prompt"], "say then hi", "a `then` inside the JSON is the JSON's");
        assert_eq!(chain[0].args["command"][2], "/w");
        assert_eq!(chain[2].args, serde_json::json!({}));
        assert!(calls("please call mcp qmux wait_for {not json}").is_empty());
        assert!(calls(r#"please call mcp qmux wait_for {"until": "waiting""#).is_empty());
        assert!(calls("hello").is_empty());
    }

    #[test]
    fn a_chain_is_one_call_a_turn_then_a_quote() {
        let text = r#"call mcp qmux start_session {"name": "w"} then read_screen {"session": "w"}"#;
        let mut convo =
            Conversation { user_texts: vec![text.into()], last_user_text: Some(text.into()), ..Default::default() };
        let Turn::Call(first) = decide(&convo, 3) else { panic!("a call") };
        assert_eq!((first.tool.as_str(), &first.args), ("start_session", &serde_json::json!({"name": "w"})));
        convo.last_user_text = None;
        convo.tool_result = true;
        convo.tool_outputs = vec!["1:w".into()];
        let Turn::Call(second) = decide(&convo, 3) else { panic!("a call") };
        assert_eq!(second.tool, "read_screen");
        convo.tool_outputs.push("  Reply 1: hi  \n\n  alpha bravo\n".into());
        let Turn::Text(words) = decide(&convo, 3) else { panic!("the quote") };
        assert_eq!(words.concat(), "The last tool said:\n```\nReply 1: hi\nalpha bravo\n```\nEnd of tool result.");
        // An older chain does not outlive a new message.
        let plain = Conversation {
            user_texts: vec![text.into(), "hello".into()],
            last_user_text: Some("hello".into()),
            ..Default::default()
        };
        assert!(matches!(decide(&plain, 3), Turn::Text(_)));
    }

    #[test]
    fn a_step_calls_the_declared_tool_that_ends_with_its_name() {
        let call = Call { server: "qmux".into(), tool: "wait_for".into(), args: serde_json::json!({}) };
        let claude = ["Bash", "mcp__other__wait_for", "mcp__qmux__wait_for", "mcp__qmux__list_sessions"];
        assert_eq!(tool_name(&call, claude), "mcp__qmux__wait_for");
        assert_eq!(tool_name(&call, ["run_shell_command", "mcp_qmux_wait_for"]), "mcp_qmux_wait_for");
        assert_eq!(tool_name(&call, ["wait_for"]), "wait_for");
        assert_eq!(tool_name(&call, ["await_for"]), "mcp__qmux__wait_for", "not a name that merely ends alike");
    }

    #[test]
    fn a_tool_result_is_its_strings() {
        let anthropic = serde_json::json!([{"type": "text", "text": "1:w"}, {"type": "text", "text": "two"}]);
        assert_eq!(strings_in(&anthropic), "1:w\ntwo");
        let gemini = serde_json::json!({"name": "mcp_qmux_read_screen", "response": {"output": "screen"}});
        assert_eq!(strings_in(&gemini), "screen");
    }
}
