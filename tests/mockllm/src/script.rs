//! What the model says, decided from the conversation alone, the same way
//! for every protocol.

/// What a request's conversation holds, as each protocol module reads it.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    /// The text of every user message, oldest first.
    pub user_texts: Vec<String>,
    /// The newest user message's text, if the newest turn is the user's.
    pub last_user_text: Option<String>,
    /// The newest turn is a tool's result.
    pub tool_result: bool,
}

/// The model's next turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// A reply streamed word by word.
    Text(Vec<String>),
    /// A call of the agent's shell tool with this command line.
    Shell(String),
}

/// A message that contains ``run `CMD` `` gets a shell call; a tool result
/// gets a closing line; anything else a reply of `words` words that starts
/// `Reply N:` (N = how many user messages so far) and echoes the message, so
/// a test can see which message was answered.
pub fn decide(convo: &Conversation, words: usize) -> Turn {
    if convo.tool_result {
        return Turn::Text(split("The command ran. Done."));
    }
    let text = convo.last_user_text.clone().unwrap_or_default();
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
            |t: &str| Conversation { user_texts: vec![t.into()], last_user_text: Some(t.into()), tool_result: false };
        assert_eq!(decide(&c("please run `echo hi` now"), 3), Turn::Shell("echo hi".into()));
        let Turn::Text(words) = decide(&c("hello"), 3) else { panic!() };
        assert_eq!(words.concat(), "Reply 1: hello\nalpha bravo charlie \nEnd of reply.");
        let done = Conversation { tool_result: true, ..c("x") };
        assert!(matches!(decide(&done, 3), Turn::Text(_)));
    }
}
