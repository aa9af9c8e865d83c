//! The agents the suite runs, and what the scenarios need to know of each:
//! its program, its set-up against the mock, its question and how it
//! resumes.

use std::path::Path;

use qmux_mockllm::agents::{self, Prepared};

/// A command the agents ask to run (Gemini CLI and Claude Code run `echo`
/// without asking). What it prints, [`TOOL_OUTPUT`], is not in its text, so
/// the mock sees it only if the command ran.
pub const TOOL_COMMAND: &str = "printf 'qmux-%s' ran";
pub const TOOL_OUTPUT: &str = "qmux-ran";
/// aider keeps a command's output only if the command is still running
/// when it starts reading it (pexpect's `interact` loops `while
/// isalive()`): a bare `printf` is often done by then, its output lost, and
/// aider never asks to add it to the chat.
pub const AIDER_TOOL_COMMAND: &str = "sleep 0.5; printf 'qmux-%s' ran";

#[derive(Clone, Copy, Debug)]
pub enum Agent {
    Claude,
    Codex,
    Gemini,
    Qwen,
    Pi,
    Copilot,
    Aider,
    Opencode,
}

impl Agent {
    pub fn program(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
            Agent::Gemini => "gemini",
            Agent::Qwen => "qwen",
            Agent::Pi => "pi",
            Agent::Copilot => "copilot",
            Agent::Aider => "aider",
            Agent::Opencode => "opencode",
        }
    }

    pub fn prepare(self, home: &Path, cwd: &Path, url: &str) -> Prepared {
        let prepared = match self {
            Agent::Claude => agents::claude::prepare(home, cwd, url),
            Agent::Codex => agents::codex::prepare(home, cwd, url),
            Agent::Gemini => agents::gemini::prepare(home, cwd, url),
            Agent::Qwen => agents::qwen::prepare(home, cwd, url),
            Agent::Pi => agents::pi::prepare(home, cwd, url),
            Agent::Copilot => agents::copilot::prepare(home, cwd, url),
            Agent::Aider => agents::aider::prepare(home, cwd, url),
            Agent::Opencode => agents::opencode::prepare(home, cwd, url),
        };
        prepared.unwrap_or_else(|e| panic!("cannot set up {}: {e}", self.program()))
    }

    /// Whether its question for a shell command offers "don't ask again"
    /// (as run here, against the mock).
    pub fn offers_always(self) -> bool {
        matches!(self, Agent::Gemini | Agent::Copilot | Agent::Opencode)
    }

    /// Its approval question, as the screen shows it; none for pi, which
    /// runs every tool call unasked ("No permission popups", its README).
    pub fn question(self) -> Option<&'static str> {
        match self {
            Agent::Claude => Some("Do you want to proceed?"),
            Agent::Codex => Some("Would you like to run the following command?"),
            Agent::Gemini => Some("Allow execution of"),
            Agent::Qwen => Some("Allow execution of:"),
            Agent::Pi => None,
            Agent::Copilot => Some("Do you want to run this command?"),
            Agent::Aider => Some("Run shell command?"),
            Agent::Opencode => Some("Permission required"),
        }
    }

    /// A word of the command line that resumes a conversation.
    pub fn resumes_with(self) -> &'static str {
        match self {
            Agent::Pi => "--session",
            Agent::Aider => "--restore-chat-history",
            _ => "resume",
        }
    }

    /// The command it is asked to run, which prints [`TOOL_OUTPUT`].
    pub fn tool_command(self) -> &'static str {
        match self {
            Agent::Aider => AIDER_TOOL_COMMAND,
            _ => TOOL_COMMAND,
        }
    }

    /// The message that makes the mock ask to run [`Agent::tool_command`].
    pub fn tool_request(self) -> String {
        format!("please run `{}`", self.tool_command())
    }

    /// The prompt of an agent that writes inline, below its transcript (its
    /// answered questions stay above it).
    pub fn inline_prompt(self) -> Option<&'static str> {
        matches!(self, Agent::Aider).then_some("diff>")
    }

    /// Once its command ran, it asks a second question: aider's "Add
    /// command output to the chat?" (answered yes, the output goes with
    /// the next message).
    pub fn asks_to_keep_the_output(self) -> bool {
        matches!(self, Agent::Aider)
    }
}
