//! The chat loop: prompt, think, ask about tools, stream, repeat.
//!
//! Everything here is about looking like `q chat` to whatever sits on the other
//! side of the terminal, because that is what qmux watches:
//!
//! - input is read by a real rustyline `Editor`, so the terminal is in raw mode
//!   with bracketed paste on exactly while the chat waits at a prompt, and the
//!   prompt asks for the cursor position (`ESC[6n`) like the real thing;
//! - while a reply is produced the terminal is back in cooked mode with the
//!   cursor hidden, so Ctrl-C arrives as SIGINT, which only sets a flag that
//!   every wait checks;
//! - a tool run prints nothing at all for a while, because `q chat` shows no
//!   spinner there and qmux must not mistake that silence for a prompt.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rustyline::error::ReadlineError;
use rustyline::{Cmd, DefaultEditor, EventHandler, KeyCode, KeyEvent, Modifiers};

use crate::model::{self, Reply};
use crate::store::{Conversation, Role, Store};

/// The prompt, the same as `q chat` without an agent or trust-all.
const PROMPT: &str = "> ";

const BANNER: &str = "\
Welcome to the qmux stand-in chat!

/help all commands
ctrl + j new lines

Try a message with the word 'tool' in it: the chat asks for approval [y/n/t].
With the word 'pause', it goes quiet halfway through its reply.

You are chatting with stand-in (offline, deterministic)

";

const HELP: &str = "\
/help         show this list
/clear        forget the conversation for this directory
/history      show the saved conversation
/quit [CODE]  exit, with exit code CODE (default 0)
ctrl + j      new line in a message
ctrl + c      interrupt a reply
ctrl + d      exit (at an empty prompt)

";

const SPINNER_FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const SPINNER_INTERVAL: Duration = Duration::from_millis(80);

/// How often waits look at the interrupt flag. Short enough that Ctrl-C feels
/// instant, long enough to cost nothing.
const TICK: Duration = Duration::from_millis(10);

const TOOL_BLOCK: &str = " ⋮
 ● I will run the following shell command:
echo hello
 ⋮
";

const APPROVAL_QUESTION: &str =
    "\nAllow this action? Use 't' to trust (always allow) this tool for the session. [y/n/t]:\n\n";

const HIDE_CURSOR: &str = "\x1b[?25l";
const SHOW_CURSOR: &str = "\x1b[?25h";
const CLEAR_LINE: &str = "\r\x1b[2K";
const BELL: &str = "\x07";

/// The knobs, already resolved from flags and environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub think: Duration,
    pub token: Duration,
    pub reply_words: usize,
    pub tool: Duration,
    pub pause: Duration,
    pub bell: bool,
    pub resume: bool,
    pub data_dir: PathBuf,
}

/// Runs the chat until the user quits. Returns the exit code to use, or a
/// one-line error for the user.
pub fn run(settings: Settings) -> Result<ExitCode, String> {
    let interrupted = Arc::new(AtomicBool::new(false));
    // A handler, never SIG_IGN: an ignored signal stays ignored in every
    // program started from here. rustyline swaps in its own handler while it
    // reads a line and puts this one back afterwards.
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted))
        .map_err(|err| format!("cannot handle Ctrl-C: {err}"))?;
    let store = Store::open(&settings.data_dir)?;
    let cwd = std::env::current_dir()
        .and_then(|dir| dir.canonicalize())
        .map_err(|err| format!("cannot find the current directory: {err}"))?;
    // Like q chat: ask the terminal where the cursor is at every prompt
    // (rustyline 19 has this off by default), so a multiplexer that does not
    // answer costs the same 100 ms it costs q.
    let config = rustyline::Config::builder().check_cursor_position(true).build();
    let mut editor =
        DefaultEditor::with_config(config).map_err(|err| format!("cannot start the line editor: {err}"))?;
    // Like q chat: Ctrl-J (and Alt-Enter) put a newline into the message
    // instead of sending it.
    let newline = || EventHandler::Simple(Cmd::Insert(1, "\n".to_string()));
    editor.bind_sequence(KeyEvent::ctrl('J'), newline());
    editor.bind_sequence(KeyEvent(KeyCode::Enter, Modifiers::ALT), newline());

    let mut chat =
        Chat { settings, editor, store, cwd, conversation: Conversation::default(), tool_trusted: false, interrupted };
    chat.start().map_err(terminal_error)?;
    chat.run()
}

/// Why a reply ended before its last word.
enum Stop {
    /// Ctrl-C. `echoed` says the terminal driver already drew `^C` at the
    /// cursor, so the chat must not draw a second one.
    Interrupted {
        echoed: bool,
    },
    /// Ctrl-D at the approval prompt: the user wants out.
    EndOfInput,
    Io(io::Error),
}

impl From<io::Error> for Stop {
    fn from(err: io::Error) -> Self {
        Self::Io(err)
    }
}

/// How a reply that was not cut short ended.
enum Ending {
    Finished,
    Rejected,
}

/// What to do after a line of input.
enum Next {
    Prompt,
    Exit(ExitCode),
}

struct Chat {
    settings: Settings,
    editor: DefaultEditor,
    store: Store,
    cwd: PathBuf,
    conversation: Conversation,
    /// Set by answering `t`: later tool uses in this process skip the question.
    tool_trusted: bool,
    /// Set by SIGINT, cleared before each prompt.
    interrupted: Arc<AtomicBool>,
}

impl Chat {
    /// Prints the banner and, with `--resume`, the saved conversation.
    fn start(&mut self) -> io::Result<()> {
        print(BANNER)?;
        if !self.settings.resume {
            return Ok(());
        }
        match self.store.load(&self.cwd) {
            Ok(Some(conversation)) if !conversation.is_empty() => {
                print(&format!(
                    "Picking up where we left off: {} messages in this conversation.\n\n",
                    conversation.messages.len()
                ))?;
                print(&transcript(&conversation))?;
                self.conversation = conversation;
            }
            Ok(_) => {}
            Err(err) => {
                eprintln!("qmux-chat: warning: {err}; starting a new conversation");
                print("\n")?;
            }
        }
        Ok(())
    }

    fn run(&mut self) -> Result<ExitCode, String> {
        loop {
            self.interrupted.store(false, Ordering::SeqCst);
            let line = match self.editor.readline(PROMPT) {
                Ok(line) => line,
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => return Ok(ExitCode::SUCCESS),
                Err(err) => return Err(format!("cannot read input: {err}")),
            };
            let message = line.trim_end_matches(['\r', '\n']);
            if message.trim().is_empty() {
                continue;
            }
            // History is only for up-arrow recall; failing to add is harmless.
            let _ = self.editor.add_history_entry(message);
            let next = if message.starts_with('/') { self.command(message) } else { self.answer(message) };
            if let Next::Exit(code) = next.map_err(terminal_error)? {
                return Ok(code);
            }
        }
    }

    /// Runs a slash command.
    fn command(&mut self, line: &str) -> io::Result<Next> {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or_default();
        let argument = words.next();
        match (name, argument) {
            ("/quit" | "/exit", None) => return Ok(Next::Exit(ExitCode::SUCCESS)),
            ("/quit" | "/exit", Some(code)) => match code.parse::<u8>() {
                Ok(code) => return Ok(Next::Exit(ExitCode::from(code))),
                Err(_) => print(&format!("Exit code must be a number from 0 to 255, not {code:?}.\n\n"))?,
            },
            ("/help", _) => print(HELP)?,
            ("/clear", _) => {
                self.conversation.clear();
                self.save();
                print("Conversation cleared.\n\n")?;
            }
            ("/history", _) if self.conversation.is_empty() => {
                print("No messages in this conversation yet.\n\n")?;
            }
            ("/history", _) => print(&transcript(&self.conversation))?,
            _ => print(&format!("Unknown command {name}. Type /help to see the commands.\n\n"))?,
        }
        Ok(Next::Prompt)
    }

    /// Answers one message and saves the turn, whatever way it ended.
    fn answer(&mut self, message: &str) -> io::Result<Next> {
        let reply = model::reply(message, self.settings.reply_words);
        let mut shown = String::new();
        let ended = self.reply(&reply, &mut shown);
        let next = match ended {
            Ok(Ending::Finished) => {
                let bell = if self.settings.bell { BELL } else { "" };
                print(&format!("\n\n{bell}{SHOW_CURSOR}"))?;
                Next::Prompt
            }
            Ok(Ending::Rejected) => {
                shown = "Tool use was rejected.".to_string();
                print(&format!("{shown}\n\n{SHOW_CURSOR}"))?;
                Next::Prompt
            }
            Err(Stop::Interrupted { echoed }) => {
                let caret = if echoed { "" } else { "^C" };
                print(&format!("{caret}\n{SHOW_CURSOR}"))?;
                Next::Prompt
            }
            Err(Stop::EndOfInput) => {
                print(SHOW_CURSOR)?;
                Next::Exit(ExitCode::SUCCESS)
            }
            Err(Stop::Io(err)) => return Err(err),
        };
        self.conversation.push(Role::User, message);
        if !shown.is_empty() {
            self.conversation.push(Role::Assistant, shown.trim_end());
        }
        self.save();
        Ok(next)
    }

    /// Thinks, runs the tool if the message asks for one, and streams the
    /// reply into `shown` as it goes, so an interrupted reply still saves
    /// what the user saw.
    fn reply(&mut self, reply: &Reply, shown: &mut String) -> Result<Ending, Stop> {
        print(&format!("{HIDE_CURSOR}\n"))?;
        self.think()?;
        if reply.uses_tool {
            if !self.tool_trusted {
                print(&format!("🛠️  Using tool: execute_bash\n{TOOL_BLOCK}"))?;
                if !self.approve()? {
                    return Ok(Ending::Rejected);
                }
            } else {
                print(&format!("🛠️  Using tool: execute_bash (trusted)\n{TOOL_BLOCK}"))?;
            }
            self.run_tool()?;
        }
        let tokens = model::tokens(&reply.text);
        let pause_after = if reply.pauses { tokens.len() / 2 } else { usize::MAX };
        for (index, token) in tokens.iter().enumerate() {
            if index > 0 {
                self.wait(self.settings.token)?;
            }
            if index == pause_after {
                self.wait(self.settings.pause)?;
            }
            print(token)?;
            shown.push_str(token);
        }
        Ok(Ending::Finished)
    }

    /// The `⠋ Thinking...` spinner, for the think time. It leaves the line
    /// empty, so the reply starts where the spinner was; that also wipes a
    /// `^C` the terminal driver echoed there.
    fn think(&self) -> Result<(), Stop> {
        if self.settings.think.is_zero() {
            return Ok(());
        }
        let spun = self.spin();
        print(CLEAR_LINE)?;
        match spun {
            Err(Stop::Interrupted { .. }) => Err(Stop::Interrupted { echoed: false }),
            other => other,
        }
    }

    /// Redraws the spinner every frame until the think time is up.
    fn spin(&self) -> Result<(), Stop> {
        let started = Instant::now();
        for frame in SPINNER_FRAMES.iter().cycle() {
            let left = self.settings.think.saturating_sub(started.elapsed());
            if left.is_zero() {
                break;
            }
            print(&format!("{CLEAR_LINE}{frame} Thinking..."))?;
            self.wait(left.min(SPINNER_INTERVAL))?;
        }
        Ok(())
    }

    /// Asks the approval question until the answer is y, n or t. The question
    /// stands above a plain `> ` prompt read by rustyline, as in `q chat`.
    fn approve(&mut self) -> Result<bool, Stop> {
        print(&format!("{APPROVAL_QUESTION}{SHOW_CURSOR}"))?;
        loop {
            let answer = match self.editor.readline(PROMPT) {
                Ok(answer) => answer,
                // Raw mode: the driver echoed nothing.
                Err(ReadlineError::Interrupted) => return Err(Stop::Interrupted { echoed: false }),
                Err(ReadlineError::Eof) => return Err(Stop::EndOfInput),
                Err(ReadlineError::Io(err)) => return Err(Stop::Io(err)),
                Err(err) => return Err(Stop::Io(io::Error::other(err))),
            };
            match answer.trim().to_ascii_lowercase().as_str() {
                "y" | "yes" => break,
                "t" => {
                    self.tool_trusted = true;
                    break;
                }
                "n" | "no" => return Ok(false),
                _ => print(APPROVAL_QUESTION)?,
            }
        }
        print(HIDE_CURSOR)?;
        Ok(true)
    }

    /// The tool "runs": nothing on the screen, cursor hidden, no input read.
    fn run_tool(&self) -> Result<(), Stop> {
        let started = Instant::now();
        self.wait(self.settings.tool)?;
        let seconds = started.elapsed().as_secs_f64();
        print(&format!("\n ⋮\n ● Completed in {seconds:.1}s\n\n"))?;
        Ok(())
    }

    /// Sleeps for `duration`, giving up early on Ctrl-C.
    fn wait(&self, duration: Duration) -> Result<(), Stop> {
        let deadline = Instant::now() + duration;
        loop {
            if self.interrupted.load(Ordering::SeqCst) {
                let echoed = terminal_echoes_interrupt();
                return Err(Stop::Interrupted { echoed });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            thread::sleep(left.min(TICK));
        }
    }

    /// Saves the conversation for this directory. A failed save is reported
    /// but does not end the chat: the conversation is still on the screen.
    fn save(&self) {
        if let Err(err) = self.store.save(&self.cwd, &self.conversation) {
            let path = self.store.path_for(&self.cwd);
            eprintln!("qmux-chat: warning: cannot save the conversation to {}: {err}", path.display());
        }
    }
}

/// The conversation as it looked on the screen: `> message`, a blank line, the
/// reply, a blank line.
fn transcript(conversation: &Conversation) -> String {
    let mut text = String::new();
    for message in &conversation.messages {
        match message.role {
            Role::User => text.push_str(&format!("{PROMPT}{}\n\n", message.text)),
            Role::Assistant => text.push_str(&format!("{}\n\n", message.text)),
        }
    }
    text
}

/// Whether the terminal driver draws `^C` itself when Ctrl-C is pressed. In
/// cooked mode with ISIG, ECHO and ECHOCTL (the usual setting, and the one
/// rustyline restores between prompts) the kernel echoes it before the signal
/// arrives, and printing another would show `^C^C`.
#[cfg(unix)]
fn terminal_echoes_interrupt() -> bool {
    let mut termios = std::mem::MaybeUninit::<libc::termios>::uninit();
    // SAFETY: tcgetattr only writes into the struct it is given, and the
    // struct is read only when the call succeeded and so filled it in.
    let termios = unsafe {
        if libc::tcgetattr(libc::STDIN_FILENO, termios.as_mut_ptr()) != 0 {
            return false;
        }
        termios.assume_init()
    };
    let wanted = libc::ISIG | libc::ECHO | libc::ECHOCTL;
    termios.c_lflag & wanted == wanted
}

#[cfg(not(unix))]
fn terminal_echoes_interrupt() -> bool {
    false
}

/// Writes to the terminal at once: everything here is timing-sensitive, so
/// nothing may sit in a buffer.
fn print(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

fn terminal_error(err: io::Error) -> String {
    format!("lost the terminal: {err}")
}

/// The default data directory: `${XDG_DATA_HOME:-$HOME/.local/share}/qmux-chat`.
/// An empty or relative `XDG_DATA_HOME` is ignored, as the XDG spec says.
pub fn default_data_dir() -> Result<PathBuf, String> {
    let from_env = |name| std::env::var_os(name).map(PathBuf::from);
    let base = match from_env("XDG_DATA_HOME").filter(|dir| dir.is_absolute()) {
        Some(dir) => dir,
        None => from_env("HOME")
            .filter(|dir| dir.is_absolute())
            .map(|home| home.join(".local/share"))
            .ok_or("cannot find a data directory: set HOME or use --data-dir")?,
    };
    Ok(base.join("qmux-chat"))
}
