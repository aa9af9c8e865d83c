//! qmux: a terminal multiplexer for AI agents.
//!
//! The crate is laid out by the nouns of the design: [`cli`] parses,
//! [`commands`] runs one verb each, [`client`] owns the user's terminal,
//! [`server`] owns the sessions, [`terminal`] models one session's terminal
//! with no I/O, [`pty`] runs programs, [`protocol`] frames messages between
//! them, [`render`] and [`status`] draw, [`keys`] reads keystrokes.

pub mod attention_log;
pub mod bindings;
pub mod casts;
pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod conversation;
pub mod detect;
pub mod error;
pub mod explain;
pub mod fds;
pub mod foreground;
pub mod history;
pub mod hooks;
pub mod keys;
pub mod manual;
pub mod mcp;
pub mod notify;
pub mod paths;
pub mod persist;
pub mod protocol;
pub mod pty;
pub mod remote;
pub mod render;
pub mod rules;
pub mod scroll;
pub mod server;
pub mod status;
pub mod target;
pub mod team;
pub mod terminal;
pub mod worktree;
