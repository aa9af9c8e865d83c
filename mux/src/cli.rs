//! The command line: one clap definition that drives parsing, the manual page
//! (`man/qmux.1`) and shell completions, so the three can never disagree.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A terminal multiplexer for AI agents.
///
/// Each session runs an unmodified agent (Claude Code, Codex, Gemini CLI, Kiro
/// CLI, `q chat`, aider, or any other program) in its own pseudo-terminal. A
/// server keeps every session running and fully read while you work in
/// another, and knows what each agent is doing: busy, waiting at its prompt,
/// asking for approval, or exited. The client shows a session, or several side
/// by side in panes, with a status bar; a prefix key (C-b by default, the
/// config's prefix) switches, splits and opens the chooser.
///
/// With no command, qmux attaches to the most recent session, or starts one
/// running the default command.
#[derive(Debug, Parser)]
#[command(name = "qmux", version, propagate_version = true, max_term_width = 100)]
#[command(after_long_help = crate::bindings::help(crate::config::DEFAULT_PREFIX))]
pub struct Cli {
    /// Server socket path (default: $QMUX_TMPDIR, $XDG_RUNTIME_DIR or /tmp, then qmux-UID/NAME).
    #[arg(short = 'S', long = "socket-path", value_name = "PATH", conflicts_with = "socket_name")]
    pub socket_path: Option<PathBuf>,

    /// Server socket name inside the socket directory.
    #[arg(short = 'L', long = "socket-name", value_name = "NAME")]
    pub socket_name: Option<String>,

    /// Config file (default: $XDG_CONFIG_HOME/qmux/config.toml); `/dev/null` for none.
    #[arg(short = 'f', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Act on the qmux server of another machine, over ssh: an alias from ~/.ssh/config, user@host:port or ssh://….
    #[arg(short = 'H', long = "host", value_name = "HOST", global = true)]
    pub host: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a session and attach to it (or, with -d, leave it in the background).
    #[command(visible_alias = "new-session")]
    New(NewArgs),

    /// Attach this terminal to a session.
    #[command(visible_alias = "a", visible_alias = "attach-session")]
    Attach(TargetOpt),

    /// Detach the clients showing a session; inside qmux, with no -t, detach your own client.
    #[command(visible_alias = "detach-client")]
    Detach(TargetOpt),

    /// List sessions.
    #[command(visible_alias = "list-sessions")]
    Ls(LsArgs),

    /// Kill a session and its program.
    #[command(visible_alias = "kill-session")]
    Kill(TargetOpt),

    /// Kill the server and every session (with --handoff, upgrade instead: nothing is killed).
    KillServer(KillServerArgs),

    /// Start this qmux binary as the server and hand it every session, live: programs keep running, clients reconnect.
    Upgrade,

    /// Rename a session.
    #[command(visible_alias = "rename-session")]
    Rename(RenameArgs),

    /// Show another session; inside qmux it moves your own client.
    #[command(visible_alias = "switch-client")]
    Switch(TargetArg),

    /// Attach with every session tiled in one view: who is busy, waiting, asking.
    Watch,

    /// Go to the session that needs you (asking for approval longest, else finished longest ago); outside qmux, print its index.
    Next(NextArgs),

    /// Inside qmux: split your focused pane in two, the new one showing an existing session (-t) or a new one.
    #[command(visible_alias = "split-window", disable_help_flag = true)]
    Split(SplitArgs),

    /// Type text into a session, or queue it until the session waits at its prompt; never into an approval question.
    #[command(visible_alias = "send-keys", after_long_help = SEND_HELP)]
    Send(SendArgs),

    /// Answer "yes" to the approval question a session shows (the keys its agent's rule set names).
    Approve(ApproveArgs),

    /// Answer "no" to the approval question a session shows.
    Deny(TargetOpt),

    /// Print a session's screen (plain text, or with --ansi its colours and attributes).
    #[command(visible_alias = "capture-pane")]
    Capture(CaptureArgs),

    /// Wait until a session is busy, waiting, asks for approval, has exited, or shows some output.
    #[command(after_long_help = WAIT_HELP)]
    Wait(WaitArgs),

    /// Show a worktree session's changes against its base: its commits and its uncommitted work together.
    Diff(DiffArgs),

    /// Merge a worktree session's branch into its base, in the main checkout; all or nothing.
    Merge(MergeArgs),

    /// List qmux's worktrees of this repository with their sessions, or remove one.
    Worktree(WorktreeArgs),

    /// Show why a session is busy, waiting or asking: the program found, its rule set, every signal.
    Explain(ExplainArgs),

    /// Show the attention log: each session's state changes and notifications, with their times; --summary: how long each worked and waited for you.
    #[command(after_long_help = LOG_HELP)]
    Log(LogArgs),

    /// List the agents qmux knows, or show one's rule set (built in, or your file that replaces it).
    Agents(AgentsArgs),

    /// Print the effective config: every key with its value, its default and what it does.
    #[command(visible_alias = "show-options")]
    Config,

    /// Re-read the config and agent rule files; running sessions take the new rules.
    #[command(visible_alias = "source-file")]
    Reload,

    /// Make an agent report its state to qmux through its own hooks (Claude Code, Gemini CLI).
    Hooks(HooksArgs),

    /// Start a team of sessions from .qmux.toml (or FILE): only those not running, each first prompt queued; then attach with the team's panes.
    #[command(after_long_help = TEAM_HELP)]
    Up(TeamArgs),

    /// End the team of .qmux.toml (or FILE): kill its sessions (worktrees with work not merged are kept).
    Down(TeamArgs),

    /// Serve qmux's verbs as MCP tools over stdio, for agents that drive agents; install adds it to an agent's MCP config.
    #[command(after_long_help = MCP_HELP)]
    Mcp(McpArgs),

    /// Tell qmux a session's state or conversation id (what the installed hooks run).
    Report(ReportArgs),

    /// Bring back sessions saved by a previous server (all, or one), resuming their chats.
    Restore(TargetOpt),

    /// Drop saved sessions (all, or one) so they are not restored.
    Forget(TargetOpt),

    /// Print a shell completion script.
    Completions(CompletionsArgs),

    /// Run the server in the foreground (started automatically; for debugging).
    #[command(hide = true)]
    Server,

    /// Speak qmux's protocol on stdin and stdout to this machine's server: what --host runs over ssh.
    Bridge(BridgeArgs),
}

#[derive(Debug, Args)]
pub struct KillServerArgs {
    /// Hand the sessions to a new server running this binary instead (qmux upgrade).
    #[arg(long)]
    pub handoff: bool,
}

#[derive(Debug, Args)]
pub struct BridgeArgs {
    /// Start the server if none is running (as the verbs that create sessions do).
    #[arg(long)]
    pub start: bool,

    /// Carry the terminal of the attached client given TOKEN: its keys in, its frames out.
    #[arg(long, value_name = "TOKEN", conflicts_with = "start")]
    pub tty: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_long_help = NEW_WORKTREE_HELP)]
pub struct NewArgs {
    /// Do not attach: leave the new session in the background.
    #[arg(short = 'd', long = "detached")]
    pub detached: bool,

    /// Session name (default: the directory's name).
    #[arg(short = 's', long = "name", value_name = "NAME")]
    pub name: Option<String>,

    /// Working directory (default: the current one).
    #[arg(short = 'c', long = "cwd", value_name = "DIR")]
    pub cwd: Option<PathBuf>,

    /// The session's width (default: this terminal's, else default-size from the config).
    #[arg(short = 'x', value_name = "COLS", value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub cols: Option<u16>,

    /// The session's height, not counting the status bar (default: this terminal's less one).
    #[arg(short = 'y', value_name = "ROWS", value_parser = clap::value_parser!(u16).range(1..=999))]
    pub rows: Option<u16>,

    /// Start it in a git worktree of its own, beside the repository: a new branch qmux/NAME from HEAD (see below).
    #[arg(short = 'w', long = "worktree", value_name = "NAME")]
    pub worktree: Option<String>,

    /// With -w: the commit to branch from, and the branch `qmux merge` merges into [default: the current branch].
    #[arg(long, value_name = "REF", requires = "worktree")]
    pub base: Option<String>,

    /// With -w: start on branch NAME even though it exists already.
    #[arg(long, requires = "worktree")]
    pub reuse: bool,

    /// Command to run (default: `default-command` from the config, else `q chat`, else the stand-in chat).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Session: an index, a name (=NAME: exactly that name), or a unique name prefix [default: inside qmux, this session].
    #[arg(short = 't', long = "target", value_name = "TARGET")]
    pub target: Option<String>,
    /// Only the files and how much of each changed.
    #[arg(long)]
    pub stat: bool,
}

#[derive(Debug, Args)]
#[command(after_long_help = MERGE_HELP)]
pub struct MergeArgs {
    /// Session: an index, a name (=NAME: exactly that name), or a unique name prefix [default: inside qmux, this session].
    #[arg(short = 't', long = "target", value_name = "TARGET")]
    pub target: Option<String>,
    /// One commit on the base holding every change of the branch.
    #[arg(long, conflicts_with = "rebase")]
    pub squash: bool,
    /// Rebase the branch onto its base (in its worktree), then fast-forward the base.
    #[arg(long)]
    pub rebase: bool,
}

/// What `qmux new -w` makes, and what it refuses.
pub const NEW_WORKTREE_HELP: &str = "\
With -w NAME, in a git repository: the branch (worktree-branch-prefix, \"qmux/\",
then NAME) starts at HEAD or --base, its worktree goes to worktree-dir
(\"../{repo}.worktrees/NAME\", beside the repository, whose git status stays
clean), the files .worktreeinclude names are copied in, and the setup (the
repository's .qmux.toml [worktree] setup, else worktree-setup) runs in the
session before the program, which a failed setup does not start. No
repository, an existing branch (without --reuse), a taken place or a bad
--base is one line and exit status 1, with nothing made. Then: qmux diff,
qmux merge, qmux worktree.";

/// What `qmux merge` refuses, and what a conflict leaves.
pub const MERGE_HELP: &str = "\
Refused, with nothing done, while the session's program is busy or asks for
approval, while the main checkout has uncommitted changes or another branch
checked out, and while the worktree has uncommitted changes (they would stay
behind: commit them there first). A conflict is aborted: the main checkout
and its HEAD stay as they were, the conflicting files are listed, and the
exit status is 1.";

#[derive(Debug, Args)]
pub struct WorktreeArgs {
    #[command(subcommand)]
    pub action: Option<WorktreeAction>,
}

#[derive(Debug, Subcommand)]
pub enum WorktreeAction {
    /// qmux's worktrees of this repository, each with its session: live, saved or none.
    Ls,
    /// Remove a worktree and its branch: refused while a session runs in it, or with work not merged unless --force.
    Rm {
        /// The worktree's name (as given to `qmux new -w`).
        name: String,
        /// Remove it even with uncommitted changes or commits its base lacks.
        #[arg(long)]
        force: bool,
    },
}

/// An optional session target: inside qmux, the current session.
#[derive(Debug, Args)]
pub struct TargetOpt {
    /// Session: an index, a name (=NAME: exactly that name), or a unique name prefix [default: inside qmux, this session].
    #[arg(short = 't', long = "target", value_name = "TARGET")]
    pub target: Option<String>,
}

/// A required session target.
#[derive(Debug, Args)]
pub struct TargetArg {
    /// Session: an index, a name (=NAME: exactly that name), or a unique name prefix.
    #[arg(short = 't', long = "target", value_name = "TARGET")]
    pub target: String,
}

#[derive(Debug, Args)]
#[command(after_long_help = LS_JSON_HELP)]
pub struct LsArgs {
    /// Also list the sessions of every machine in the config's `hosts`, each line led by its host.
    #[arg(long, conflicts_with = "saved")]
    pub all: bool,
    /// Print JSON: one array of session objects (fields below).
    #[arg(long)]
    pub json: bool,
    /// List the sessions a previous server saved, which `qmux restore` brings back.
    #[arg(long)]
    pub saved: bool,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only this session: an index, a name, or index:name as the log shows it.
    #[arg(short = 't', long = "target", value_name = "TARGET")]
    pub target: Option<String>,
    /// Only what happened since: a duration ago ("1h", "30m", "2days") or a time ("2026-12-08T09:00:00Z").
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Per session: its state, how long it worked, how long it waited for you, its longest wait, approvals and notices.
    #[arg(long)]
    pub summary: bool,
    /// Print JSON: one object per line (the log's own lines), or with --summary one array.
    #[arg(long)]
    pub json: bool,
}

const LOG_HELP: &str = "The log is kept in the state directory (attention.log, then attention.log.1: about 2 MB in all).

Each line of --json is one object: \"at\" (RFC 3339, UTC), \"session\" (\"3:codex\"), \"agent\", and either
  \"state\" and \"was\": busy, waiting, approval, exited, closed;
  \"event\" (approval, finished, exited) and \"text\": a notice, with \"sent\" (its channels) or \"skipped\" (why not);
  \"failed\": a channel that could not deliver one, and why.
--summary --json: [{\"session\", \"agent\", \"state\", \"worked_ms\", \"waited_ms\", \"longest_wait_ms\", \"approvals\", \"notices\"}].
Waiting counts from the prompt (or question) to the next busy; a session's clock stops when it exits or is killed.";

#[derive(Debug, Args)]
pub struct NextArgs {
    /// The session that needs you (the only kind of `next` so far).
    #[arg(long)]
    pub attention: bool,
}

#[derive(Debug, Args)]
pub struct SplitArgs {
    /// Side by side (left/right), as tmux's -h; the default is one above the other.
    #[arg(short = 'h')]
    pub horizontal: bool,
    /// Show this existing session in the new pane instead of starting one.
    #[arg(short = 't', long = "target", value_name = "TARGET", conflicts_with = "command")]
    pub target: Option<String>,
    /// Working directory of the new session (default: the current one).
    #[arg(short = 'c', long = "cwd", value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Command for the new session (default: the default command).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Session: an index, a name (=NAME: exactly that name), or a unique name prefix [default: inside qmux, this session].
    #[arg(short = 't', long = "target", value_name = "TARGET")]
    pub target: Option<String>,
    /// Do not press Enter after the text; a single line then goes as plain keys.
    #[arg(long)]
    pub no_enter: bool,
    /// Queue the message; deliver it when the session next waits at its prompt.
    #[arg(long, conflicts_with = "now")]
    pub when_waiting: bool,
    /// Type it even while the session asks for approval: the keys go into the question.
    #[arg(long)]
    pub now: bool,
    /// The text (words are joined with spaces); `-` reads it from standard input; "" is a bare Enter.
    #[arg(required = true, value_name = "TEXT")]
    pub text: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// Session: an index, a name (=NAME: exactly that name), or a unique name prefix [default: inside qmux, this session].
    #[arg(short = 't', long = "target", value_name = "TARGET")]
    pub target: Option<String>,
    /// The agent's "yes, and don't ask again" (an error where the question offers none).
    #[arg(long)]
    pub always: bool,
}

/// What `send` does while a session asks, and how to answer.
pub const SEND_HELP: &str = "\
While the session asks for approval, the message is not typed: it is queued
until the session waits at its prompt again (said on stderr), because an
Enter typed into the question would answer it. --now types it anyway. If a
question appears while the text is being typed, Enter is not pressed and
send fails. Answer a question with `qmux approve` or `qmux deny`; a program
qmux has no answers for takes `qmux send --now --no-enter KEYS`.";

#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Session: an index, a name (=NAME: exactly that name), or a unique name prefix [default: inside qmux, this session].
    #[arg(short = 't', long = "target", value_name = "TARGET")]
    pub target: Option<String>,
    /// Keep colours and attributes as escape sequences.
    #[arg(long)]
    pub ansi: bool,
    /// Also print up to N rows of history above the screen.
    #[arg(long, value_name = "N", conflicts_with = "start")]
    pub history: Option<usize>,
    /// Start line, as tmux: `-` for all history, -N for the last N rows of it.
    #[arg(short = 'S', value_name = "START", allow_hyphen_values = true)]
    pub start: Option<String>,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Session: an index, a name (=NAME: exactly that name), or a unique name prefix [default: inside qmux, this session].
    #[arg(short = 't', long = "target", value_name = "TARGET")]
    pub target: Option<String>,
    /// The condition: `busy`, `waiting`, `approval`, `exited`, or `output REGEX`.
    #[arg(long, required = true, num_args = 1..=2, value_names = ["CONDITION", "REGEX"])]
    pub until: Vec<String>,
    /// Give up after this many seconds (exit code 3).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["target", "screen"]))]
pub struct ExplainArgs {
    /// Session: an index, a name (=NAME: exactly that name), or a unique name prefix.
    #[arg(short = 't', long = "target", value_name = "TARGET")]
    pub target: Option<String>,
    /// Explain a saved screen instead (`qmux capture --ansi` output, or raw
    /// output recorded from a program), as if the program sat reading.
    #[arg(long, value_name = "FILE")]
    pub screen: Option<PathBuf>,
    /// With --screen: the agent whose rules apply (default: the generic rules).
    #[arg(long, value_name = "NAME", requires = "screen")]
    pub agent: Option<String>,
    /// With --screen: the terminal size the screen was drawn for.
    #[arg(long, value_name = "COLSxROWS", requires = "screen", default_value = "200x50")]
    pub size: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AgentsArgs {
    #[command(subcommand)]
    pub action: Option<AgentsAction>,
}

#[derive(Debug, Subcommand)]
pub enum AgentsAction {
    /// Each agent's rule set, and where it comes from.
    List,
    /// Print an agent's rule set: a start for your own `agents/NAME.toml`.
    Show {
        /// The agent (see `qmux agents`).
        name: String,
    },
    /// Run an agent on this terminal and record it, with the states you
    /// mark: Ctrl-] then w (now it waits), b (now it works), a (now it asks).
    Record {
        /// The agent's name, for the file's name and title.
        name: String,
        /// The recording to write (asciicast v2). Default: NAME.cast here.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// The agent's command.
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Replay recordings through a rule set: each marker's detected state
    /// and its delay. Exits 1 when a state is missed or late, or it says
    /// waiting while the agent works.
    Check {
        /// A rule file (NAME.toml), an agent's name, or `generic`.
        rules: String,
        /// Recordings (asciicast v2, with markers).
        #[arg(required = true, value_name = "RECORDING")]
        recordings: Vec<PathBuf>,
        /// The longest a state may take to show, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 1000)]
        max_delay: u64,
    },
}

#[derive(Debug, Args)]
pub struct TeamArgs {
    /// The team file (default: .qmux.toml here or in the nearest directory above).
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Say what would be done, and do nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Start what is missing, and do not attach.
    #[arg(short = 'd', long = "detached")]
    pub detached: bool,
}

const TEAM_HELP: &str = "The team file (.qmux.toml, beside the repository's [worktree] setup):

  [team]
  layout = \"main-vertical\"          # even-horizontal | even-vertical | main-vertical | tiled

  [[session]]
  name = \"plan\"
  command = [\"claude\"]              # or a string run with /bin/sh -c; default: default-command
  prompt = \"Read TODO.md and write PLAN.md\"   # typed in once it waits at its prompt

  [[session]]
  name = \"code\"
  command = [\"codex\"]
  worktree = \"code\"                 # a worktree and branch of its own (as qmux new -w --reuse)
  dir = \"services/api\"              # relative to the file

Sessions are known by name: a second qmux up starts only the missing ones and attaches to the rest.";

#[derive(Debug, Args)]
pub struct McpArgs {
    #[command(subcommand)]
    pub action: Option<McpAction>,
}

#[derive(Debug, Subcommand)]
pub enum McpAction {
    /// Add qmux's MCP server to the agent's own MCP configuration, showing the change.
    Install {
        /// The agent: claude, codex or gemini.
        agent: String,
        /// Show the change without making it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Take qmux's MCP server out of the agent's configuration again.
    Remove {
        /// The agent: claude, codex or gemini.
        agent: String,
        /// Show the change without making it.
        #[arg(long)]
        dry_run: bool,
    },
}

const MCP_HELP: &str =
    "With no subcommand, qmux mcp speaks the Model Context Protocol on stdin and stdout (the agent starts it).
Its tools, with the same argument names throughout:
  list_sessions                                   the sessions, as qmux ls --json
  start_session  command, directory, name, prompt  a new background session; the prompt goes in once it waits
  send_message   session, text, when_waiting       as qmux send: queued while the session asks
  approve        session, always                   as qmux approve
  deny           session                           as qmux deny
  wait_for       session, until, timeout_seconds   until: waiting, approval, exited, busy or output:REGEX
  read_screen    session, lines                    the screen, with LINES rows of history above it
  explain        session                           as qmux explain
session is any -t target. Run inside a qmux session, the calling agent cannot wait_for, approve or deny its own.
qmux mcp install claude|codex|gemini writes it into ~/.claude.json, ~/.codex/config.toml or ~/.gemini/settings.json.";

#[derive(Debug, Args)]
pub struct HooksArgs {
    #[command(subcommand)]
    pub action: Option<HooksAction>,
}

#[derive(Debug, Subcommand)]
pub enum HooksAction {
    /// Which agents offer hooks, and where qmux's are installed.
    Status,
    /// Add qmux's hook to the agent's settings file, showing each change.
    Install {
        /// The agent: claude or gemini.
        agent: String,
        /// Show the change without making it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Take qmux's hooks out of the agent's settings file again.
    Remove {
        /// The agent: claude or gemini.
        agent: String,
        /// Show the change without making it.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).multiple(true).args(["hook", "state", "conversation", "end"]))]
pub struct ReportArgs {
    /// Session: an index, a name (=NAME: exactly that name), or a unique name prefix [default: inside qmux, this session].
    #[arg(short = 't', long = "target", value_name = "TARGET")]
    pub target: Option<String>,
    /// Read a hook's JSON event from standard input, as AGENT sends it; never fails the agent.
    #[arg(long, value_name = "AGENT", conflicts_with_all = ["state", "end"])]
    pub hook: Option<String>,
    /// The state the program is in now.
    #[arg(long, value_enum)]
    pub state: Option<ReportState>,
    /// The agent's own id for its conversation, to resume it by.
    #[arg(long, value_name = "ID")]
    pub conversation: Option<String>,
    /// Stop reporting: the screen rules decide again.
    #[arg(long, conflicts_with = "state")]
    pub end: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportState {
    Busy,
    Waiting,
    Approval,
}

#[derive(Debug, Args)]
pub struct RenameArgs {
    /// Session: an index, a name (=NAME: exactly that name), or a unique name prefix [default: inside qmux, this session].
    #[arg(short = 't', long = "target", value_name = "TARGET")]
    pub target: Option<String>,
    /// The new name.
    pub name: String,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Shell to generate completions for.
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

/// Exit codes of `qmux wait`.
pub const WAIT_HELP: &str = "\
Exit status: 0 the condition holds; 1 an error (no server, no such session);
2 bad arguments; 3 timed out; 4 the session ended (exited or was killed)
before the condition held. `output REGEX` matches the session's screen.";

/// The stable JSON fields of `qmux ls --json`.
pub const LS_JSON_HELP: &str = "\
JSON fields (stable): index, name, id, state (busy|waiting|approval|exited),
command (array), cwd, pid, created and last_output (Unix seconds or null),
unseen_output, done (finished while nobody watched), bell, exit_code,
queued_messages, attached_clients, cols, rows, agent (the rule set in force,
or null), conversation (the agent's own conversation id, or null), title (the
title the program set, or \"\"). A session made with `new -w` also has repo (the
main checkout), worktree, branch, base, and once git has been asked: ahead and
behind (commits against base), changed (files, uncommitted and new ones
included), lines_added, lines_removed, worktree_error (why not, e.g. the
worktree is gone), and conflicts: [{session, files, overlap}], the other
sessions of the repository that a merge would conflict with, in which files,
and every file both changed; null or [] for other sessions.";

impl Cli {
    /// The clap command, for the manual page and completions.
    pub fn command() -> clap::Command {
        <Self as clap::CommandFactory>::command()
    }
}
