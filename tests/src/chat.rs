//! What the stand-in chat (`qmux-chat`, like `q chat`) shows: a `> ` prompt,
//! a `⠋ Thinking...` spinner, then a reply that starts `You said: MSG`.
//!
//! The functions that take a `Screen` look at a qmux client's screen, whose
//! last row is the status bar; the `_in` forms take rows, for a chat run
//! straight in a [`Term`](crate::Term) with no qmux around it.

use crate::term::session_rows;

/// Whether the chat waits at an empty prompt: the last non-blank row of the
/// session is the bare prompt `> ` and no spinner is showing.
pub fn at_prompt(screen: &vt100::Screen) -> bool {
    at_prompt_in(&session_rows(screen))
}

pub fn at_prompt_in(rows: &[String]) -> bool {
    let spinning = rows.iter().any(|r| r.contains("Thinking..."));
    !spinning && rows.iter().rev().find(|r| !r.is_empty()).is_some_and(|r| r == ">")
}

/// How many rows of the session hold an empty prompt.
pub fn empty_prompts(screen: &vt100::Screen) -> usize {
    session_rows(screen).iter().filter(|r| *r == ">").count()
}

/// The row index of `You said: MSG`, if it is on screen.
pub fn reply_row(screen: &vt100::Screen, msg: &str) -> Option<usize> {
    let needle = format!("You said: {msg}");
    session_rows(screen).iter().position(|r| r.contains(&needle))
}

/// Waits, by watching its terminal mode, until the chat with this pid has
/// taken a message and finished replying: rustyline keeps the terminal raw
/// exactly while it reads a line, so the chat goes cooked when it starts on
/// a reply and raw again at the next prompt. This sees the chat itself, not
/// any screen, so it works for a session nobody is looking at.
///
/// Call it right after sending the message: it must see the cooked phase,
/// which lasts at least the think time.
pub fn wait_until_replied(pid: u32) {
    let mode = || crate::Env::tty_is_raw(pid);
    crate::poll_until(
        crate::DEFAULT_TIMEOUT,
        &format!("chat {pid} to start replying (its terminal goes cooked)"),
        || (mode() == Some(false)).then_some(()),
        || format!("terminal raw: {:?}", mode()),
    );
    crate::poll_until(
        crate::DEFAULT_TIMEOUT,
        &format!("chat {pid} to finish replying (its terminal goes raw at the prompt)"),
        || (mode() == Some(true)).then_some(()),
        || format!("terminal raw: {:?}", mode()),
    );
}
