//! One function per CLI verb. Each is thin: work out the request, send it,
//! print the answer.

use std::path::{Path, PathBuf};

use crate::cli::{AgentsAction, Cli, Command, HooksAction, LsArgs, NewArgs, Shell, SplitArgs, WorktreeAction};
use crate::client::{self, Connection};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::protocol::{Caller, NewSession, Request, Response, SessionInfo};
use crate::remote::{Host, Remote};
use crate::rules::Choice;

mod agents;
mod log;
mod mcp;
mod messages;
mod team;
mod worktrees;

/// What every verb needs to know: where the server is, and who is asking.
struct Context {
    socket: PathBuf,
    config: Option<PathBuf>,
    /// Set when running inside a session of this same server.
    caller: Option<Caller>,
    /// Set when running inside any qmux session.
    nested: bool,
    /// Set by `--host`: the machine whose server the verb acts on.
    remote: Option<Remote>,
    /// The prefix key of the local config, for an attach to another
    /// machine: your keys work the same everywhere.
    prefix: Vec<u8>,
}

impl Context {
    fn new(cli: &Cli) -> Result<Context> {
        let config = crate::paths::config_path(cli.config.as_deref());
        let qmux_env = std::env::var("QMUX").ok().filter(|v| !v.is_empty());
        let nested = qmux_env.is_some();
        if let Some(host) = &cli.host {
            // -S and -L name the socket over there; the shared ssh
            // connection's control socket lives in our socket directory.
            let host = Host::parse(host)?;
            let loaded = Config::load(config.as_deref())?;
            let socket_args = match (&cli.socket_path, &cli.socket_name) {
                (Some(path), _) => vec!["-S".into(), path.clone().into_os_string()],
                (None, Some(name)) => vec!["-L".into(), name.into()],
                (None, None) => Vec::new(),
            };
            let socket = crate::paths::socket_path(None, None)?;
            let control_dir = socket.parent().map(Path::to_path_buf);
            let remote = Remote::new(host, &loaded, socket_args, control_dir);
            return Ok(Context { socket, config, caller: None, nested, remote: Some(remote), prefix: loaded.prefix });
        }
        let socket = crate::paths::socket_path(cli.socket_path.as_deref(), cli.socket_name.as_deref())?;
        let caller = qmux_env.as_deref().and_then(|v| parse_qmux_env(v, &socket));
        Ok(Context { socket, config, caller, nested, remote: None, prefix: Vec::new() })
    }

    fn connect(&self) -> Result<Connection> {
        match &self.remote {
            Some(remote) => Connection::open_remote(remote, false),
            None => Connection::open(&self.socket),
        }
    }

    /// Connects, starting the server if needed, after checking the config
    /// and the state directory, so a problem is reported here and not
    /// swallowed by the daemon.
    fn connect_or_start(&self) -> Result<Connection> {
        if let Some(remote) = &self.remote {
            return Connection::open_remote(remote, true);
        }
        Config::load(self.config.as_deref())?;
        if let Some(dir) = crate::persist::state_dir(&self.socket) {
            crate::persist::Store::open(dir)?;
        }
        Connection::open_or_start(&self.socket, self.config.as_deref())
    }

    /// The session a verb acts on: `-t`, else (inside qmux) the caller's
    /// own, by id so a rename does not lose it. Empty outside qmux: the
    /// server's error then names the sessions.
    fn target(&self, target: Option<String>) -> String {
        target.or_else(|| self.caller.map(|c| format!("${}", c.session))).unwrap_or_default()
    }

    fn refuse_nesting(&self) -> Result<()> {
        if self.nested {
            return Err(Error::msg(
                "sessions should be nested with care: this is already inside qmux (unset $QMUX to force, or use \
                 `qmux switch -t TARGET`)",
            ));
        }
        Ok(())
    }
}

/// `$QMUX` is `SOCKET,SERVER_PID,SESSION_ID`; the id counts only for the
/// same socket.
fn parse_qmux_env(value: &str, socket: &Path) -> Option<Caller> {
    let (path, caller) = qmux_env(value)?;
    (path == socket).then_some(caller)
}

/// The server socket and session that `$QMUX` names.
fn qmux_env(value: &str) -> Option<(PathBuf, Caller)> {
    let (rest, id) = value.rsplit_once(',')?;
    let (path, _pid) = rest.rsplit_once(',')?;
    Some((PathBuf::from(path), Caller { session: id.parse().ok()? }))
}

pub fn run(cli: Cli) -> Result<i32> {
    let ctx = Context::new(&cli)?;
    match cli.command {
        None => default(&ctx),
        Some(Command::New(args)) => new(&ctx, args),
        Some(Command::Attach(t)) => attach(&ctx, t.target),
        Some(Command::Detach(t)) => detach(&ctx, t.target),
        Some(Command::Ls(args)) => ls(&ctx, args),
        Some(Command::Kill(t)) => simple(&ctx, Request::Kill { target: ctx.target(t.target) }),
        Some(Command::KillServer(args)) if args.handoff => upgrade(&ctx),
        Some(Command::KillServer(_)) => simple(&ctx, Request::KillServer),
        Some(Command::Upgrade) => upgrade(&ctx),
        Some(Command::Rename(r)) => simple(&ctx, Request::Rename { target: ctx.target(r.target), name: r.name }),
        Some(Command::Switch(t)) => simple(&ctx, Request::Switch { target: t.target, caller: ctx.caller }),
        Some(Command::Split(args)) => split(&ctx, args),
        Some(Command::Watch) => watch(&ctx),
        Some(Command::Next(args)) => next(&ctx, args.attention),
        Some(Command::Send(args)) => messages::send(&ctx, args),
        Some(Command::Approve(a)) => {
            messages::answer(&ctx, a.target, if a.always { Choice::Always } else { Choice::Yes })
        }
        Some(Command::Deny(t)) => messages::answer(&ctx, t.target, Choice::No),
        Some(Command::Capture(args)) => messages::capture(&ctx, args),
        Some(Command::Wait(args)) => messages::wait(&ctx, args),
        Some(Command::Diff(args)) => worktrees::diff(&ctx, args),
        Some(Command::Merge(args)) => worktrees::merge(&ctx, args),
        Some(Command::Worktree(args)) => worktrees::worktree(&ctx, args.action.unwrap_or(WorktreeAction::Ls)),
        Some(Command::Explain(args)) => agents::explain(&ctx, args),
        Some(Command::Log(args)) => log::log(&ctx, args),
        Some(Command::Agents(args)) => agents::agents(&ctx, args.action.unwrap_or(AgentsAction::List)),
        Some(Command::Config) => config(&ctx),
        Some(Command::Reload) => simple(&ctx, Request::Reload { config: ctx.config.clone() }),
        Some(Command::Hooks(args)) => agents::hooks(&ctx, args.action.unwrap_or(HooksAction::Status)),
        Some(Command::Mcp(args)) => mcp::mcp(&ctx, args.action),
        Some(Command::Up(args)) => team::up(&ctx, args),
        Some(Command::Down(args)) => team::down(&ctx, args),
        Some(Command::Report(args)) => agents::report(&ctx, args),
        Some(Command::Restore(t)) => restore(&ctx, t.target),
        Some(Command::Forget(t)) => forget(&ctx, t.target),
        Some(Command::Completions(c)) => completions(c.shell),
        Some(Command::Server) => server(&ctx),
        Some(Command::Bridge(args)) => bridge(&ctx, &args),
    }
}

impl Context {
    /// What a new session runs, and where. For another machine, the
    /// directory is its own (home, unless -c says) and so is the
    /// environment, under this terminal's variables.
    fn new_session(&self, name: Option<String>, cwd: Option<PathBuf>, command: Vec<String>) -> Result<NewSession> {
        if self.remote.is_some() {
            let cwd = cwd.unwrap_or_default();
            return Ok(NewSession {
                name,
                cwd,
                command,
                env: self.environment(),
                size: client::terminal_size(),
                worktree: None,
            });
        }
        let cwd = match cwd {
            Some(dir) => dir,
            None => {
                std::env::current_dir().map_err(|e| Error::msg(format!("cannot read the current directory: {e}")))?
            }
        };
        let cwd = std::fs::canonicalize(&cwd)
            .map_err(|e| Error::msg(format!("cannot use directory {}: {e}", cwd.display())))?;
        Ok(NewSession { name, cwd, command, env: self.environment(), size: client::terminal_size(), worktree: None })
    }

    fn environment(&self) -> Vec<(String, String)> {
        match self.remote {
            Some(_) => crate::remote::terminal_env(),
            None => std::env::vars().collect(),
        }
    }

    fn attach_request(
        &self,
        target: Option<String>,
        create: Option<NewSession>,
        create_if_none: Option<NewSession>,
    ) -> Request {
        Request::Attach {
            target,
            create,
            create_if_none,
            size: client::terminal_size().unwrap_or((80, 24)),
            env: self.environment(),
            watch: false,
            panes: None,
            prefix: self.remote.as_ref().map(|_| self.prefix.clone()),
        }
    }

    /// Runs the attached client and prints why it ended, as tmux does.
    /// Attached to another machine, a dropped connection is retried: the
    /// sessions there live on. The chooser may send it to another machine's
    /// session; it comes back here on detaching from there.
    fn attached(&self, conn: Connection, req: Request) -> Result<i32> {
        let mut again = self.attach_request(None, None, None);
        if let (Request::Attach { watch, .. }, Request::Attach { watch: w, .. }) = (&mut again, &req) {
            *watch = *w;
        }
        let home = redial(self.remote.clone(), self.socket.clone(), again);
        let config = Config::load(self.config.as_deref())?;
        let (socket, control_dir) = (self.socket.clone(), self.socket.parent().map(Path::to_path_buf));
        let hop: client::HopTo = Box::new(move |host| {
            let remote = Remote::new(Host::parse(host)?, &config, Vec::new(), control_dir.clone());
            let again = Request::Attach {
                target: None,
                create: None,
                create_if_none: None,
                size: (80, 24),
                env: crate::remote::terminal_env(),
                watch: false,
                panes: None,
                prefix: Some(config.prefix.clone()),
            };
            Ok(redial(Some(remote), socket.clone(), again))
        });
        let reason = client::attach(conn, req, Some(home), Some(hop))?;
        println!("[qmux: {reason}]");
        Ok(0)
    }
}

/// How an attached client reaches its server again: `again`, sized and
/// aimed at the session it showed, over ssh to `remote` or to `socket`.
fn redial(remote: Option<Remote>, socket: PathBuf, again: Request) -> client::Redial {
    let request = Box::new(move |size, showing: Option<crate::protocol::SessionId>| {
        let mut req = again.clone();
        if let Request::Attach { size: s, target, .. } = &mut req {
            (*s, *target) = (size, showing.map(|id| format!("${id}")));
        }
        req
    });
    match remote {
        Some(remote) => client::Redial {
            host: Some(remote.host.name.clone()),
            dial: Box::new(move || Connection::open_remote(&remote, false)),
            request,
        },
        None => client::Redial { host: None, dial: Box::new(move || Connection::open(&socket)), request },
    }
}

/// An attached client reads keys from standard input and draws on standard
/// output: both must be the terminal. Checked before anything else, so a
/// script's `qmux attach` neither starts a server nor resizes a session.
fn need_terminal() -> Result<()> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        return Ok(());
    }
    Err(Error::msg(
        "attach needs a terminal; use qmux capture / qmux send from scripts, or qmux new -d to start a session",
    ))
}

/// `qmux`: attach to the most recent session, or create one.
fn default(ctx: &Context) -> Result<i32> {
    ctx.refuse_nesting()?;
    need_terminal()?;
    let conn = ctx.connect_or_start()?;
    let spec = ctx.new_session(None, None, Vec::new())?;
    ctx.attached(conn, ctx.attach_request(None, None, Some(spec)))
}

fn new(ctx: &Context, args: NewArgs) -> Result<i32> {
    let detached = args.detached;
    let mut spec = ctx.new_session(args.name, args.cwd, args.command)?;
    // -x and -y size the session itself; the status bar's row comes on top.
    if args.cols.is_some() || args.rows.is_some() {
        let (cols, rows) = match spec.size {
            Some(size) => size,
            None => Config::load(ctx.config.as_deref())?.default_size,
        };
        spec.size = Some((args.cols.unwrap_or(cols), args.rows.map_or(rows, |r| r + 1)));
    }
    match args.worktree {
        Some(name) => worktrees::new(ctx, &name, (args.base.as_deref(), args.reuse), detached, spec),
        None => start(ctx, detached, spec),
    }
}

/// Asks for a new session: in the background, in the caller's own client
/// (inside qmux), or attached to this terminal.
fn start(ctx: &Context, detached: bool, spec: NewSession) -> Result<i32> {
    if detached {
        let mut conn = ctx.connect_or_start()?;
        print_response(conn.request(Request::New { session: spec, caller: ctx.caller, switch_caller: false })?);
        return Ok(0);
    }
    if ctx.caller.is_some() {
        // Inside qmux: create it and show it in the caller's client.
        let mut conn = ctx.connect()?;
        print_response(conn.request(Request::New { session: spec, caller: ctx.caller, switch_caller: true })?);
        return Ok(0);
    }
    ctx.refuse_nesting()?;
    need_terminal()?;
    let conn = ctx.connect_or_start()?;
    ctx.attached(conn, ctx.attach_request(None, Some(spec), None))
}

fn attach(ctx: &Context, target: Option<String>) -> Result<i32> {
    ctx.refuse_nesting()?;
    need_terminal()?;
    let conn = ctx.connect()?;
    ctx.attached(conn, ctx.attach_request(target, None, None))
}

/// `qmux watch`: attach with every session tiled.
fn watch(ctx: &Context) -> Result<i32> {
    ctx.refuse_nesting()?;
    need_terminal()?;
    let conn = ctx.connect()?;
    let mut req = ctx.attach_request(None, None, None);
    if let Request::Attach { watch, .. } = &mut req {
        *watch = true;
    }
    ctx.attached(conn, req)
}

/// `qmux next --attention`: inside qmux, go there; outside, print its
/// index.
fn next(ctx: &Context, attention: bool) -> Result<i32> {
    if !attention {
        return Err(Error::msg("next goes to a session that needs you: qmux next --attention").with_code(2));
    }
    match ctx.connect()?.request(Request::NextAttention { caller: ctx.caller })? {
        Response::Text(index) => print!("{index}"),
        other => print_response(other),
    }
    Ok(0)
}

fn detach(ctx: &Context, target: Option<String>) -> Result<i32> {
    simple(ctx, Request::Detach { target, caller: ctx.caller })
}

/// `qmux split`: a pane in the client this runs in.
fn split(ctx: &Context, args: SplitArgs) -> Result<i32> {
    if ctx.caller.is_none() {
        return Err(Error::msg("not inside qmux: run split in a session's shell, or press the prefix and % there"));
    }
    let create = match args.target {
        Some(_) => None,
        None => Some(ctx.new_session(None, args.cwd, args.command)?),
    };
    let req = Request::Split { target: args.target, create, horizontal: args.horizontal, caller: ctx.caller };
    simple(ctx, req)
}

fn simple(ctx: &Context, req: Request) -> Result<i32> {
    print_response(ctx.connect()?.request(req)?);
    Ok(0)
}

/// Prints what a successful answer has to say (`reloaded (2 changes)`);
/// notices (warnings, news) go to stderr.
fn print_response(response: Response) {
    match response {
        Response::Text(text) => print!("{text}"),
        Response::Notice(lines) => {
            for line in lines {
                eprintln!("qmux: {line}");
            }
        }
        _ => {}
    }
}

/// The saved sessions: from the server if one runs, else from the state
/// directory directly (the server that saved them is gone).
fn saved_sessions(ctx: &Context) -> Result<Vec<crate::persist::SavedSession>> {
    match ctx.connect() {
        Ok(mut conn) => match conn.request(Request::ListSaved)? {
            Response::Saved(list) => Ok(list),
            _ => Err(Error::msg("the server sent an unexpected answer to ls --saved")),
        },
        Err(_) => {
            let Some(dir) = crate::persist::state_dir(&ctx.socket) else { return Ok(Vec::new()) };
            let (saved, problems) = crate::persist::Store::open(dir)?.load_all();
            for p in problems {
                eprintln!("qmux: {p}");
            }
            Ok(saved.into_iter().map(|s| crate::persist::SavedSession { env: Vec::new(), ..s.meta }).collect())
        }
    }
}

fn restore(ctx: &Context, target: Option<String>) -> Result<i32> {
    let mut conn = ctx.connect_or_start()?;
    let response = conn.request(Request::Restore { target })?;
    if matches!(&response, Response::Notice(lines) if lines.is_empty()) {
        eprintln!("qmux: there are no saved sessions to restore");
    }
    print_response(response);
    Ok(0)
}

fn forget(ctx: &Context, target: Option<String>) -> Result<i32> {
    if let Ok(mut conn) = ctx.connect() {
        print_response(conn.request(Request::Forget { target })?);
        return Ok(0);
    }
    // No server: the files are all there is.
    let Some(dir) = crate::persist::state_dir(&ctx.socket) else { return Ok(0) };
    let store = crate::persist::Store::open(dir)?;
    let (saved, _) = store.load_all();
    let picked = crate::persist::pick(&saved, target.as_deref()).map_err(Error::msg)?;
    if picked.is_empty() {
        return Err(Error::msg("there are no saved sessions"));
    }
    for s in picked.into_iter().map(|i| &saved[i]) {
        store.forget(&s.meta.key);
        eprintln!("qmux: forgot {}:{}", s.meta.index, s.meta.name);
    }
    Ok(0)
}

fn ls(ctx: &Context, args: LsArgs) -> Result<i32> {
    if args.saved {
        let saved = saved_sessions(ctx)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&saved).map_err(|e| Error::msg(e.to_string()))?);
        } else {
            for s in &saved {
                let when =
                    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s.saved));
                println!(
                    "{}: {} ({}) in {} [{}, saved {when}]",
                    s.index,
                    s.name,
                    s.command.join(" "),
                    s.cwd.display(),
                    s.state.name()
                );
            }
        }
        return Ok(0);
    }
    if args.all {
        return ls_all(ctx, args.json);
    }
    let sessions = match list(ctx.connect()) {
        // No server, no sessions: a script reading JSON gets an empty list.
        Err(e) if args.json && no_server(&e) => Vec::new(),
        sessions => sessions?,
    };
    if args.json {
        let json = serde_json::to_string_pretty(&sessions).map_err(|e| Error::msg(e.to_string()))?;
        println!("{json}");
    } else {
        for s in &sessions {
            println!("{}", ls_line(s));
        }
    }
    Ok(0)
}

fn no_server(e: &Error) -> bool {
    e.to_string().starts_with("no server running")
}

fn list(conn: Result<Connection>) -> Result<Vec<SessionInfo>> {
    match conn?.request(Request::List)? {
        Response::Sessions(sessions) => Ok(sessions),
        _ => Err(Error::msg("the server sent an unexpected answer to ls")),
    }
}

/// `qmux ls --all`: this machine's sessions, then each host's, asked all
/// at once. A host that cannot be reached says so on its own line (on
/// stderr with --json) and holds up nothing else.
fn ls_all(ctx: &Context, json: bool) -> Result<i32> {
    let config = Config::load(ctx.config.as_deref())?;
    let remotes: Vec<Remote> = config
        .hosts
        .iter()
        .map(|h| Ok(Remote::new(Host::parse(h)?, &config, Vec::new(), ctx.socket.parent().map(Path::to_path_buf))))
        .collect::<Result<_>>()?;
    let asked: Vec<_> = remotes
        .into_iter()
        .map(|remote| {
            std::thread::spawn(move || (remote.host.name.clone(), list(Connection::open_remote(&remote, false))))
        })
        .collect();
    let mut machines = vec![(None, list(Connection::open(&ctx.socket)))];
    for handle in asked {
        let (host, answer) = handle.join().map_err(|_| Error::msg("ls --all: a host's thread failed"))?;
        machines.push((Some(host), answer));
    }
    let mut all = Vec::new();
    for (host, answer) in machines {
        let shown = host.as_deref().unwrap_or("this machine");
        match answer {
            Err(e) if no_server(&e) => {}
            Ok(sessions) if json => all.extend(sessions.iter().map(|s| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                v["host"] = host.clone().map_or(serde_json::Value::Null, serde_json::Value::String);
                v
            })),
            Ok(sessions) => {
                for s in &sessions {
                    match &host {
                        Some(h) => println!("{h}/{}", ls_line(s)),
                        None => println!("{}", ls_line(s)),
                    }
                }
            }
            Err(e) => {
                let why = e.preface.as_deref().map(|p| p.lines().last().unwrap_or(p).to_string());
                let line = format!("{shown}: unreachable: {}", why.unwrap_or_else(|| e.to_string()));
                if json {
                    eprintln!("qmux: {line}");
                } else {
                    println!("{line}");
                }
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&all).map_err(|e| Error::msg(e.to_string()))?);
    }
    Ok(0)
}

/// `0: api (q chat) [120x39] (attached)`.
fn ls_line(s: &SessionInfo) -> String {
    let program = crate::config::program_name(&s.command).to_string();
    let command = std::iter::once(program).chain(s.command.iter().skip(1).cloned()).collect::<Vec<_>>().join(" ");
    let state = match s.exit_code {
        Some(code) => format!("exited {code}"),
        None => s.state.name().to_string(),
    };
    let mut line = format!("{}: {} ({}) [{}x{}] {state}", s.index, s.name, command, s.cols, s.rows);
    if s.queued_messages > 0 {
        line.push_str(&format!(" [{} queued]", s.queued_messages));
    }
    let marks = s.attention().marks();
    if !marks.is_empty() {
        line.push(' ');
        line.push_str(&marks);
    }
    line.push_str(&s.worktree_note());
    if s.attached_clients > 0 {
        line.push_str(" (attached)");
    }
    line
}

/// `qmux config`: the config in force, as a file you could write.
fn config(ctx: &Context) -> Result<i32> {
    let config = Config::load(ctx.config.as_deref())?;
    let source = match &ctx.config {
        Some(path) if path.exists() => format!("from {}", path.display()),
        Some(path) => format!("{} does not exist: the defaults", path.display()),
        None => "no config file ($HOME is not set): the defaults".into(),
    };
    println!("# qmux's effective config, {source}; `qmux reload` applies changes to a running server.\n");
    print!("{}", config.describe());
    Ok(0)
}

/// The example config shipped as `config.example.toml`.
pub fn example_config() -> String {
    format!(
        "# An example qmux config: every key at its default. Copy it to\n\
         # ~/.config/qmux/config.toml (or $XDG_CONFIG_HOME/qmux/config.toml) and change\n\
         # what you like; `qmux config` prints what is in force, `qmux reload` applies it.\n\n{}",
        Config::default().describe()
    )
}

fn completions(shell: Shell) -> Result<i32> {
    use clap_complete::Shell as S;
    let shell = match shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Elvish => S::Elvish,
        Shell::Powershell => S::PowerShell,
    };
    clap_complete::generate(shell, &mut Cli::command(), "qmux", &mut std::io::stdout());
    Ok(0)
}

/// `qmux upgrade`: the running server hands every session to a new one
/// running this binary.
fn upgrade(ctx: &Context) -> Result<i32> {
    let exe = std::env::current_exe().map_err(|e| Error::msg(format!("cannot find this qmux binary: {e}")))?;
    let mut conn = ctx.connect()?;
    conn.set_timeout(Some(std::time::Duration::from_secs(60)))?;
    match conn.request(Request::Handoff { exe })? {
        Response::Notice(lines) => lines.iter().for_each(|l| println!("qmux: {l}")),
        other => print_response(other),
    }
    Ok(0)
}

/// `qmux bridge`: the far end of `--host`.
fn bridge(ctx: &Context, args: &crate::cli::BridgeArgs) -> Result<i32> {
    if let Some(token) = &args.tty {
        return crate::remote::bridge_tty(ctx.connect()?, token);
    }
    crate::remote::bridge(|| match args.start {
        true => ctx.connect_or_start(),
        false => ctx.connect().map_err(|e| e.with_code(crate::remote::NO_SERVER)),
    })
}

fn server(ctx: &Context) -> Result<i32> {
    let config = Config::load(ctx.config.as_deref())?;
    let listener = match client::inherited_listener() {
        Some(l) => l,
        None => {
            if std::os::unix::net::UnixStream::connect(&ctx.socket).is_ok() {
                return Err(Error::msg(format!("a server is already running on {}", ctx.socket.display())));
            }
            let _ = std::fs::remove_file(&ctx.socket);
            let l = std::os::unix::net::UnixListener::bind(&ctx.socket)?;
            crate::paths::restrict_socket(&ctx.socket)?;
            l
        }
    };
    let state_dir = crate::persist::state_dir(&ctx.socket);
    crate::server::run(ctx.socket.clone(), (config, ctx.config.clone()), listener, state_dir)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qmux_env_names_the_caller_only_for_its_own_socket() {
        let sock = Path::new("/tmp/qmux-0/default");
        assert_eq!(parse_qmux_env("/tmp/qmux-0/default,123,7", sock), Some(Caller { session: 7 }));
        assert_eq!(parse_qmux_env("/tmp/qmux-0/other,123,7", sock), None);
        assert_eq!(parse_qmux_env("garbage", sock), None);
    }
}
