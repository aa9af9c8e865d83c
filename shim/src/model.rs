//! The offline "model": turns a message into a reply, with no network and no
//! randomness that a test could not predict.
//!
//! The stand-in exists so that qmux can be tested against something that looks
//! like `q chat` on a terminal. A test must be able to send a message and know
//! what comes back, so the reply is a pure function of the message: the same
//! message always gives the same words. The words come from a fixed vocabulary
//! and are shaped into sentences and paragraphs so that the output wraps,
//! scrolls and streams the way real model output does.

/// What the model decided to do with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The full reply text: a `You said...` header line, then the body.
    pub text: String,
    /// The message asks for a tool, so the chat shows an approval question
    /// before the reply, like `q chat` does before `execute_bash`.
    pub uses_tool: bool,
    /// The message asks for a pause: the chat goes silent halfway through the
    /// reply, the way a real model stalls mid-stream.
    pub pauses: bool,
}

/// Words the body is made of. Chat-flavoured on purpose, so a screen full of
/// them reads like an answer rather than lorem ipsum.
const VOCABULARY: &[&str] = &[
    "the",
    "session",
    "terminal",
    "buffer",
    "reply",
    "stream",
    "prompt",
    "cursor",
    "line",
    "screen",
    "output",
    "input",
    "process",
    "signal",
    "history",
    "window",
    "client",
    "server",
    "socket",
    "message",
    "token",
    "model",
    "tool",
    "answer",
    "question",
    "file",
    "directory",
    "command",
    "shell",
    "pipe",
    "byte",
    "frame",
    "status",
    "state",
    "queue",
    "key",
    "paste",
    "scroll",
    "row",
    "column",
    "width",
    "height",
    "resize",
    "detach",
    "attach",
    "switch",
    "focus",
    "background",
    "foreground",
    "simple",
    "quick",
    "careful",
    "small",
    "large",
    "clear",
    "quiet",
    "busy",
    "idle",
    "ready",
    "waiting",
    "running",
    "finished",
    "then",
    "because",
    "while",
    "so",
    "and",
    "but",
    "with",
    "without",
    "into",
    "from",
    "over",
    "under",
    "after",
    "before",
    "each",
    "every",
    "some",
    "many",
    "few",
    "this",
    "that",
    "it",
    "we",
    "you",
    "should",
    "can",
    "will",
    "might",
    "must",
    "reads",
    "writes",
    "keeps",
    "shows",
    "sends",
    "draws",
    "waits",
    "checks",
    "returns",
    "starts",
    "stops",
];

/// Shortest and longest sentence, in words.
const SENTENCE_WORDS: (usize, usize) = (5, 14);
/// Fewest and most sentences in a paragraph.
const PARAGRAPH_SENTENCES: (usize, usize) = (2, 5);

/// Builds the reply to `message`, with `body_words` words after the header.
///
/// Trailing line breaks are ignored, so a paste that ends in a newline counts
/// the same as one that doesn't.
pub fn reply(message: &str, body_words: usize) -> Reply {
    let message = message.trim_end_matches(['\r', '\n']);
    let mut text = header(message);
    let body = body(fnv1a(message.as_bytes()), body_words);
    if !body.is_empty() {
        text.push('\n');
        text.push_str(&body);
    }
    Reply { text, uses_tool: has_word(message, "tool"), pauses: has_word(message, "pause") }
}

/// Splits text into the pieces the chat prints one at a time: each piece is a
/// word with the whitespace that follows it, so the pieces put back together
/// give the text unchanged.
pub fn tokens(text: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start = 0;
    let mut previous_was_space = false;
    for (index, c) in text.char_indices() {
        let is_space = c.is_whitespace();
        if previous_was_space && !is_space && index > start {
            tokens.push(&text[start..index]);
            start = index;
        }
        previous_was_space = is_space;
    }
    if start < text.len() {
        tokens.push(&text[start..]);
    }
    tokens
}

/// 64-bit FNV-1a. Small, stable across builds and platforms, and good enough
/// to spread messages (and directory names) over a seed space; nothing here
/// needs a cryptographic hash.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(PRIME))
}

/// The first line of every reply, so a test can tell which message it answers.
fn header(message: &str) -> String {
    let mut lines = message.lines();
    let first = lines.next().unwrap_or("");
    let count = 1 + lines.count();
    if count == 1 {
        format!("You said: {first}")
    } else {
        format!("You said ({count} lines): {first} ...")
    }
}

/// `words` words from the vocabulary, as capitalised sentences ending in a
/// period, grouped into paragraphs separated by a blank line.
fn body(seed: u64, words: usize) -> String {
    let mut random = SplitMix64(seed);
    let mut text = String::new();
    let mut remaining = words;
    let mut sentences_left = random.between(PARAGRAPH_SENTENCES);
    while remaining > 0 {
        let mut length = random.between(SENTENCE_WORDS).min(remaining);
        // Fold a short tail into this sentence rather than end on "Shows."
        if remaining - length < SENTENCE_WORDS.0 {
            length = remaining;
        }
        remaining -= length;
        if !text.is_empty() {
            if sentences_left == 0 {
                text.push_str("\n\n");
                sentences_left = random.between(PARAGRAPH_SENTENCES);
            } else {
                text.push(' ');
            }
        }
        sentences_left = sentences_left.saturating_sub(1);
        for position in 0..length {
            let word = VOCABULARY[random.below(VOCABULARY.len())];
            if position == 0 {
                push_capitalised(&mut text, word);
            } else {
                text.push(' ');
                text.push_str(word);
            }
        }
        text.push('.');
    }
    text
}

fn push_capitalised(text: &mut String, word: &str) {
    let mut chars = word.chars();
    if let Some(first) = chars.next() {
        text.extend(first.to_uppercase());
        text.push_str(chars.as_str());
    }
}

/// Whether `word` appears in `message` as a whole word, ignoring case, so
/// "Use a Tool!" asks for a tool but "stool" does not.
fn has_word(message: &str, word: &str) -> bool {
    message.split(|c: char| !c.is_alphanumeric()).any(|candidate| candidate.eq_ignore_ascii_case(word))
}

/// SplitMix64: a tiny generator whose whole state is one seed, which is all
/// the model needs to be reproducible.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound`. The modulo bias is irrelevant at these sizes.
    fn below(&mut self, bound: usize) -> usize {
        // The bound is a small vocabulary or range size, so it fits in u64 and
        // the result fits back in usize.
        (self.next() % bound as u64) as usize
    }

    /// A number in the inclusive range `(low, high)`.
    fn between(&mut self, (low, high): (usize, usize)) -> usize {
        low + self.below(high - low + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_word_count(reply: &Reply) -> usize {
        let (_, body) = reply.text.split_once('\n').unwrap_or((&reply.text, ""));
        body.split_whitespace().count()
    }

    #[test]
    fn same_message_gives_same_reply() {
        assert_eq!(reply("hello there", 60), reply("hello there", 60));
        assert_ne!(reply("hello there", 60).text, reply("hello where", 60).text);
    }

    #[test]
    fn single_line_header_quotes_the_message() {
        let reply = reply("hello there", 10);
        assert!(reply.text.starts_with("You said: hello there\n"), "{}", reply.text);
    }

    #[test]
    fn multi_line_header_counts_lines_and_shows_the_first() {
        let reply = reply("first line\nsecond\nthird\n", 10);
        assert!(reply.text.starts_with("You said (3 lines): first line ...\n"), "{}", reply.text);
    }

    #[test]
    fn body_has_the_requested_number_of_words() {
        for words in [0, 1, 5, 60, 500] {
            assert_eq!(body_word_count(&reply("count me", words)), words);
        }
    }

    #[test]
    fn no_words_means_header_only() {
        assert_eq!(reply("hi", 0).text, "You said: hi");
    }

    #[test]
    fn body_is_made_of_sentences() {
        let reply = reply("sentences please", 60);
        let (_, body) = reply.text.split_once('\n').unwrap();
        assert!(body.ends_with('.'));
        assert!(body.chars().next().unwrap().is_uppercase());
    }

    #[test]
    fn tool_and_pause_are_whole_words_in_any_case() {
        assert!(reply("please use a Tool now", 5).uses_tool);
        assert!(!reply("a stool", 5).uses_tool);
        assert!(reply("PAUSE, then go on", 5).pauses);
        assert!(!reply("no pauses", 5).pauses);
    }

    #[test]
    fn tokens_rebuild_the_text() {
        let text = reply("tokens\nacross lines", 80).text;
        let tokens = tokens(&text);
        assert_eq!(tokens.concat(), text);
        assert_eq!(tokens[0], "You ");
        assert!(tokens.iter().all(|token| !token.trim().is_empty()));
    }

    #[test]
    fn fnv1a_matches_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
