//! The command line: every knob is a flag with an environment fallback, so a
//! test harness can set them for a whole process tree without touching argv.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::FalseyValueParser;
use clap::Parser;

use crate::chat::{self, Settings};

/// A stand-in for `q chat`: a real rustyline chat with an offline,
/// deterministic model, for testing qmux.
#[derive(Debug, Parser)]
#[command(name = "qmux-chat", version)]
pub struct Cli {
    /// How long the "Thinking..." spinner runs before a reply.
    #[arg(long, value_name = "MS", env = "QMUX_CHAT_THINK_MS", default_value_t = 700)]
    pub think_ms: u64,

    /// Delay between streamed words of a reply.
    #[arg(long, value_name = "MS", env = "QMUX_CHAT_TOKEN_MS", default_value_t = 35)]
    pub token_ms: u64,

    /// Number of words in a reply, after the "You said" line.
    #[arg(long, value_name = "N", env = "QMUX_CHAT_REPLY_WORDS", default_value_t = 60)]
    pub reply_words: usize,

    /// How long an approved tool runs, silently, before the reply.
    #[arg(long, value_name = "MS", env = "QMUX_CHAT_TOOL_MS", default_value_t = 1500)]
    pub tool_ms: u64,

    /// How long a reply goes silent halfway when the message says "pause".
    #[arg(long, value_name = "MS", env = "QMUX_CHAT_PAUSE_MS", default_value_t = 1500)]
    pub pause_ms: u64,

    /// Ring the bell (BEL) when a reply finishes, like q's chat.enableNotifications.
    #[arg(long, env = "QMUX_CHAT_BELL", value_parser = FalseyValueParser::new())]
    pub bell: bool,

    /// Restore the conversation saved for the current directory.
    #[arg(long)]
    pub resume: bool,

    /// Where conversations are saved [default: ${XDG_DATA_HOME:-$HOME/.local/share}/qmux-chat]
    #[arg(long, value_name = "DIR", env = "QMUX_CHAT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

impl Cli {
    /// Resolves the flags into the chat's settings, filling in the default
    /// data directory.
    pub fn settings(self) -> Result<Settings, String> {
        let data_dir = match self.data_dir {
            Some(dir) => dir,
            None => chat::default_data_dir()?,
        };
        Ok(Settings {
            think: Duration::from_millis(self.think_ms),
            token: Duration::from_millis(self.token_ms),
            reply_words: self.reply_words,
            tool: Duration::from_millis(self.tool_ms),
            pause: Duration::from_millis(self.pause_ms),
            bell: self.bell,
            resume: self.resume,
            data_dir,
        })
    }
}
