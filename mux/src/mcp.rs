//! `qmux mcp`: qmux's verbs as Model Context Protocol tools, over stdio,
//! for agents that drive other agents. Built on the official Rust SDK
//! (rmcp); each tool call is one request to the server, as the CLI verbs
//! make, on a thread of the blocking pool. The calling agent's own session
//! (`$QMUX`) cannot be waited on or answered by itself.
//!
//! `qmux mcp install AGENT` is `mcp/install.rs`.

pub mod install;

use std::path::PathBuf;
use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, Content, Implementation, ServerCapabilities, ServerInfo};
use rmcp::{schemars, tool, tool_handler, tool_router, ErrorData, ServerHandler, ServiceExt};
use serde::Deserialize;

use crate::client::Connection;
use crate::error::{Error, Result};
use crate::protocol::{Caller, Request, Response, SessionInfo, WaitFor};
use crate::rules::Choice;

/// The longest a `wait_for` may be asked to wait.
const MAX_WAIT: f64 = 3600.0;

#[derive(Clone)]
pub struct Tools {
    socket: PathBuf,
    config: Option<PathBuf>,
    /// The session the calling agent runs in, if it runs in one here.
    caller: Option<Caller>,
    tool_router: ToolRouter<Self>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SessionArg {
    /// The session: an index, a name, or a unique name prefix, as `qmux -t` takes.
    pub session: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct StartArgs {
    /// The program and its arguments, e.g. ["codex"] or ["claude"]; default: the config's default-command.
    #[serde(default)]
    pub command: Vec<String>,
    /// Its working directory (absolute); default: the directory qmux mcp runs in.
    pub directory: Option<String>,
    /// The session's name; default: the directory's name.
    pub name: Option<String>,
    /// A first message, sent once the program waits at its prompt.
    pub prompt: Option<String>,
    /// Start it in a git worktree of its own on a new branch of this name (as `qmux new -w`).
    pub worktree: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SendArgs {
    /// The session: an index, a name, or a unique name prefix.
    pub session: String,
    /// The message; several lines go as one paste. Queued while the session asks for approval.
    pub text: String,
    /// Queue it until the session next waits at its prompt, rather than typing it now.
    #[serde(default)]
    pub when_waiting: bool,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ApproveArgs {
    /// The session: an index, a name, or a unique name prefix.
    pub session: String,
    /// The agent's own "yes, and don't ask again" where it offers one.
    #[serde(default)]
    pub always: bool,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct WaitArgs {
    /// The session: an index, a name, or a unique name prefix.
    pub session: String,
    /// "waiting", "approval", "exited", "busy", or "output:REGEX" (the screen matches REGEX).
    pub until: String,
    /// How long to wait at most, in seconds (default 300, at most 3600).
    pub timeout_seconds: Option<f64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ReadArgs {
    /// The session: an index, a name, or a unique name prefix.
    pub session: String,
    /// Also this many rows of history above the screen (default: the screen only).
    pub lines: Option<usize>,
}

/// An MCP error of one line.
fn refused(why: impl std::fmt::Display) -> ErrorData {
    ErrorData::invalid_params(why.to_string(), None)
}

fn text(t: impl Into<String>) -> std::result::Result<CallToolResult, ErrorData> {
    Ok(CallToolResult::success(vec![Content::text(t.into())]))
}

#[tool_router]
impl Tools {
    pub fn new(socket: PathBuf, config: Option<PathBuf>, caller: Option<Caller>) -> Tools {
        Tools { socket, config, caller, tool_router: Self::tool_router() }
    }

    /// One request to the server, off the async runtime; `start` starts
    /// the server if none runs.
    async fn ask(&self, req: Request, start: bool, timeout: Option<Duration>) -> Result<Response> {
        let (socket, config) = (self.socket.clone(), self.config.clone());
        tokio::task::spawn_blocking(move || {
            let mut conn =
                if start { Connection::open_or_start(&socket, config.as_deref())? } else { Connection::open(&socket)? };
            conn.set_timeout(timeout)?;
            match conn.request(req) {
                Err(_) if conn.timed_out() => Err(Error::msg("timed out")),
                answer => answer,
            }
        })
        .await
        .map_err(|e| Error::msg(e.to_string()))?
    }

    async fn sessions(&self) -> std::result::Result<Vec<SessionInfo>, ErrorData> {
        match self.ask(Request::List, false, None).await {
            Ok(Response::Sessions(list)) => Ok(list),
            Ok(other) => Err(refused(format!("unexpected answer {other:?}"))),
            Err(e) => Err(refused(e)),
        }
    }

    /// Refuses a tool on the caller's own session: an agent waiting on (or
    /// answering) itself would wait forever, or approve its own commands.
    async fn not_self(&self, session: &str, what: &str) -> std::result::Result<(), ErrorData> {
        let Some(caller) = self.caller else { return Ok(()) };
        let list = self.sessions().await?;
        let candidates: Vec<crate::target::Candidate<'_>> =
            list.iter().map(|s| crate::target::Candidate { index: s.index, name: &s.name, id: Some(s.id) }).collect();
        let found = crate::target::find(session, &candidates, "session").map_err(refused)?;
        if found.iter().any(|i| list[*i].id == caller.session) {
            return Err(refused(format!("{session:?} is the calling agent's own session: it cannot {what} itself")));
        }
        Ok(())
    }

    #[tool(
        description = "List the sessions: index, name, state (busy, waiting, approval, exited), agent, directory, command, and whether one finished unseen."
    )]
    async fn list_sessions(&self) -> std::result::Result<CallToolResult, ErrorData> {
        let list = match self.ask(Request::List, false, None).await {
            Ok(Response::Sessions(list)) => list,
            Err(e) if e.to_string().contains("no server running") => Vec::new(),
            Ok(other) => return Err(refused(format!("unexpected answer {other:?}"))),
            Err(e) => return Err(refused(e)),
        };
        text(serde_json::to_string_pretty(&list).map_err(refused)?)
    }

    #[tool(
        description = "Start a program (an agent such as [\"codex\"] or [\"claude\"]) in a new background session, optionally sending it a first prompt once it waits. Returns the session as INDEX:NAME."
    )]
    async fn start_session(
        &self,
        Parameters(a): Parameters<StartArgs>,
    ) -> std::result::Result<CallToolResult, ErrorData> {
        let cwd = match a.directory {
            Some(d) if !d.starts_with('/') => return Err(refused(format!("directory {d:?} is not absolute"))),
            Some(d) => PathBuf::from(d),
            None => std::env::current_dir().map_err(refused)?,
        };
        if !cwd.is_dir() {
            return Err(refused(format!("directory {} does not exist", cwd.display())));
        }
        let before: Vec<u64> = self.sessions().await.map(|l| l.iter().map(|s| s.id).collect()).unwrap_or_default();
        // Through `qmux new -d`, as a user would start it: the worktree
        // (made by git on this machine) and every refusal come with it.
        let mut cmd = std::process::Command::new(std::env::current_exe().map_err(refused)?);
        cmd.arg("-S").arg(&self.socket);
        if let Some(config) = &self.config {
            cmd.arg("-f").arg(config);
        }
        cmd.args(["new", "-d", "-c"]).arg(&cwd);
        if let Some(name) = &a.name {
            cmd.args(["-s", name]);
        }
        if let Some(worktree) = &a.worktree {
            cmd.args(["-w", worktree]);
        }
        if !a.command.is_empty() {
            cmd.arg("--").args(&a.command);
        }
        cmd.env_remove("QMUX").stdin(std::process::Stdio::null());
        let out = tokio::task::spawn_blocking(move || cmd.output()).await.map_err(refused)?.map_err(refused)?;
        if !out.status.success() {
            let said = String::from_utf8_lossy(&out.stderr);
            let line = said.lines().find(|l| !l.trim().is_empty()).unwrap_or("qmux new failed");
            return Err(refused(line.trim_start_matches("qmux: ")));
        }
        let label = self
            .sessions()
            .await?
            .into_iter()
            .find(|s| !before.contains(&s.id))
            .map(|s| format!("{}:{}", s.index, s.name))
            .ok_or_else(|| refused("the session started and ended at once"))?;
        let Some(prompt) = a.prompt else { return text(label) };
        let target = label.split(':').next().unwrap_or(&label).to_string();
        self.ask(
            Request::Wait { target: target.clone(), until: WaitFor::Waiting },
            false,
            Some(Duration::from_secs(120)),
        )
        .await
        .map_err(|e| refused(format!("{label} started, but never waited at its prompt: {e}")))?;
        let send = Request::Send { target, text: prompt, enter: true, when_waiting: false, now: false };
        self.ask(send, false, None).await.map_err(|e| refused(format!("{label} started; the prompt: {e}")))?;
        text(format!("{label} (prompt sent)"))
    }

    #[tool(
        description = "Type a message into a session and submit it. While the session asks for approval the message is queued until it waits (it never answers the question)."
    )]
    async fn send_message(
        &self,
        Parameters(a): Parameters<SendArgs>,
    ) -> std::result::Result<CallToolResult, ErrorData> {
        let req =
            Request::Send { target: a.session, text: a.text, enter: true, when_waiting: a.when_waiting, now: false };
        match self.ask(req, false, None).await.map_err(refused)? {
            Response::Notice(lines) => text(lines.join("\n")),
            _ => text("sent"),
        }
    }

    #[tool(description = "Answer \"yes\" to the approval question a session shows, with the agent's own keys.")]
    async fn approve(&self, Parameters(a): Parameters<ApproveArgs>) -> std::result::Result<CallToolResult, ErrorData> {
        self.not_self(&a.session, "approve").await?;
        let choice = if a.always { Choice::Always } else { Choice::Yes };
        self.ask(Request::Answer { target: a.session, choice, caller: None }, false, None).await.map_err(refused)?;
        text("approved")
    }

    #[tool(description = "Answer \"no\" to the approval question a session shows.")]
    async fn deny(&self, Parameters(a): Parameters<SessionArg>) -> std::result::Result<CallToolResult, ErrorData> {
        self.not_self(&a.session, "deny").await?;
        self.ask(Request::Answer { target: a.session, choice: Choice::No, caller: None }, false, None)
            .await
            .map_err(refused)?;
        text("denied")
    }

    #[tool(
        description = "Wait until a session is waiting at its prompt, asks for approval, has exited, is busy, or its screen matches output:REGEX; errors on timeout."
    )]
    async fn wait_for(&self, Parameters(a): Parameters<WaitArgs>) -> std::result::Result<CallToolResult, ErrorData> {
        let until = match a.until.split_once(':') {
            Some(("output", re)) if !re.is_empty() => WaitFor::Output(re.to_string()),
            _ => match a.until.as_str() {
                "waiting" => WaitFor::Waiting,
                "approval" => WaitFor::Approval,
                "exited" => WaitFor::Exited,
                "busy" => WaitFor::Busy,
                other => {
                    return Err(refused(format!(
                        "until {other:?} is none of waiting, approval, exited, busy, output:REGEX"
                    )))
                }
            },
        };
        let secs = a.timeout_seconds.unwrap_or(300.0);
        if !(secs > 0.0 && secs <= MAX_WAIT) {
            return Err(refused(format!("timeout_seconds must be above 0 and at most {MAX_WAIT}")));
        }
        self.not_self(&a.session, "wait for").await?;
        let req = Request::Wait { target: a.session.clone(), until };
        match self.ask(req, false, Some(Duration::from_secs_f64(secs))).await {
            Ok(Response::SessionEnded(why)) => Err(refused(why)),
            Ok(_) => text(format!("{} is {}", a.session, a.until)),
            Err(e) if e.to_string() == "timed out" => {
                Err(refused(format!("timed out after {secs}s waiting for {} to be {}", a.session, a.until)))
            }
            Err(e) => Err(refused(e)),
        }
    }

    #[tool(description = "Read a session's screen as plain text, with `lines` rows of history above it if asked.")]
    async fn read_screen(&self, Parameters(a): Parameters<ReadArgs>) -> std::result::Result<CallToolResult, ErrorData> {
        let req = Request::Capture { target: a.session, ansi: false, history: a.lines.unwrap_or(0) };
        match self.ask(req, false, None).await.map_err(refused)? {
            Response::Text(t) => text(t),
            other => Err(refused(format!("unexpected answer {other:?}"))),
        }
    }

    #[tool(description = "Explain why a session is busy, waiting or asking: its program, rule set and every signal.")]
    async fn explain(&self, Parameters(a): Parameters<SessionArg>) -> std::result::Result<CallToolResult, ErrorData> {
        match self.ask(Request::Explain { target: a.session }, false, None).await.map_err(refused)? {
            Response::Explain(e) => text(e.text()),
            other => Err(refused(format!("unexpected answer {other:?}"))),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerInfo {
        ServerInfo::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("qmux", env!("CARGO_PKG_VERSION")))
            .with_instructions(
            "qmux runs coding agents (Claude Code, Codex, Gemini CLI, …) in sessions and knows what each is doing. \
             Start one with start_session, give it work with send_message, wait_for it to be waiting, then \
             read_screen for its reply. approve/deny answer its questions.",
        )
    }
}

/// Serves the tools on stdin and stdout until the client goes.
pub fn serve(socket: PathBuf, config: Option<PathBuf>, caller: Option<Caller>) -> Result<i32> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let served = runtime.block_on(async move {
        let running = Tools::new(socket, config, caller)
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| Error::msg(format!("mcp: {e}")))?;
        running.waiting().await.map_err(|e| Error::msg(format!("mcp: {e}")))?;
        Ok(0)
    });
    // A cancelled wait_for may still hold a thread in its request: the
    // client is gone, so nobody waits for it.
    runtime.shutdown_background();
    served
}
