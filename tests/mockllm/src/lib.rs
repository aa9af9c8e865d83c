//! A small LLM server for qmux's tests, on 127.0.0.1 only.
//!
//! It speaks enough of four wire protocols for the real agent CLIs to run
//! offline against it, unmodified:
//! - the Anthropic Messages API, streaming (Claude Code): [`anthropic`];
//! - the OpenAI Responses API, streaming (Codex): [`openai`];
//! - the OpenAI Chat Completions API (Qwen Code, pi, opencode, aider, GitHub
//!   Copilot CLI): [`chat`];
//! - the Gemini API, `streamGenerateContent` (Gemini CLI): [`gemini`].
//!
//! What it answers is decided by [`script`] from the conversation: a plain
//! message gets a reply streamed word by word at [`Config::token_delay`]; a
//! message that says ``run `CMD` `` gets a shell tool call, so the agent asks
//! for approval; a tool result gets a short closing reply. A message that
//! says ``call mcp SERVER TOOL {ARGS} then …`` gets that chain of tool calls,
//! one a turn, and a reply that quotes the last result (see [`script`]).
//!
//! Every request is logged ([`Mock::requests`]): the log is the ground truth
//! for "the message reached the model exactly once".

pub mod agents;
pub mod anthropic;
pub mod chat;
pub mod gemini;
pub mod openai;
pub mod script;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How the mock behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// 0 for any free port.
    pub port: u16,
    /// The pause between two streamed words.
    pub token_delay: Duration,
    /// How many words a plain reply has (besides its first line).
    pub reply_words: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { port: 0, token_delay: Duration::from_millis(30), reply_words: 40 }
    }
}

/// Which protocol a request spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Anthropic,
    OpenAi,
    /// OpenAI Chat Completions.
    Chat,
    Gemini,
    /// Anything else: answered 404 and logged, so a new agent version's
    /// extra calls show up in the log.
    Other,
}

/// One request, as logged.
#[derive(Debug, Clone)]
pub struct Logged {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub api: Api,
    /// The whole request body (null when it was not JSON).
    pub body: Value,
    /// The text of every user message in the conversation, oldest first.
    pub user_texts: Vec<String>,
    /// The text of the newest user message, if the newest turn is one.
    pub last_user_text: Option<String>,
    /// The newest turn carries a tool's result.
    pub tool_result: bool,
    /// A side call (e.g. Gemini CLI's routing classifier), not a turn of the
    /// conversation: never counted as a delivery.
    pub side: bool,
    /// When the whole reply had been written.
    pub finished: Option<Instant>,
}

/// A running mock. Dropping it stops accepting (connections in flight end
/// with their reply).
pub struct Mock {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Logged>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Mock {
    /// Listens on 127.0.0.1 and serves every connection on its own thread.
    pub fn start(config: Config) -> io::Result<Mock> {
        let listener = TcpListener::bind(("127.0.0.1", config.port))?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (log2, stop2) = (log.clone(), stop.clone());
        std::thread::Builder::new().name("mockllm".into()).spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (log, config) = (log2.clone(), config.clone());
                let _ = std::thread::Builder::new().name("mockllm-conn".into()).spawn(move || {
                    let _ = serve(conn, &config, &log);
                });
            }
        })?;
        Ok(Mock { addr, log, stop })
    }

    /// `http://127.0.0.1:PORT`, with no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Logged> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The model requests (not side calls) whose newest user message is
    /// exactly `text`, trimmed: how many times that message reached the model.
    pub fn deliveries(&self, text: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.api != Api::Other && !r.tool_result && !r.side)
            .filter(|r| r.last_user_text.as_deref().map(str::trim) == Some(text.trim()))
            .count()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// One parsed HTTP request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path without the query.
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Reads one request: request line, headers, and a body by Content-Length
/// or chunked encoding.
fn read_request(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target, String::new()),
    };
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut req = Request { method, path, query, headers, body: Vec::new() };
    if req.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            if size == 0 {
                // Trailers end with an empty line.
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0; size];
            reader.read_exact(&mut chunk)?;
            req.body.extend_from_slice(&chunk);
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else if let Some(len) = req.header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        req.body = vec![0; len];
        reader.read_exact(&mut req.body)?;
    }
    Ok(Some(req))
}

fn serve(conn: TcpStream, config: &Config, log: &Mutex<Vec<Logged>>) -> io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut writer = conn;
    while let Some(req) = read_request(&mut reader)? {
        let api = route(&req);
        let body = req.json();
        let convo = match api {
            Api::Anthropic => anthropic::conversation(&body),
            Api::OpenAi => openai::conversation(&body),
            Api::Chat => chat::conversation(&body),
            Api::Gemini => gemini::conversation(&body),
            Api::Other => script::Conversation::default(),
        };
        let index = {
            let mut log = log.lock().map_err(|_| io::Error::other("log poisoned"))?;
            log.push(Logged {
                at: Instant::now(),
                method: req.method.clone(),
                path: req.path.clone(),
                api,
                body: body.clone(),
                user_texts: convo.user_texts.clone(),
                last_user_text: convo.last_user_text.clone(),
                tool_result: convo.tool_result,
                side: (api == Api::Gemini && gemini::is_side(&req)) || (api == Api::Chat && chat::is_side(&body)),
                finished: None,
            });
            log.len() - 1
        };
        let mut reply = Reply { out: &mut writer, config, streaming: false };
        let result = match api {
            Api::Anthropic => anthropic::handle(&req, &body, &convo, &mut reply),
            Api::OpenAi => openai::handle(&req, &body, &convo, &mut reply),
            Api::Chat => chat::handle(&req, &body, &convo, &mut reply),
            Api::Gemini => gemini::handle(&req, &body, &convo, &mut reply),
            Api::Other => {
                reply.json(404, &serde_json::json!({"error": {"message": "not in the mock", "path": req.path}}))
            }
        };
        if let Ok(mut log) = log.lock() {
            log[index].finished = Some(Instant::now());
        }
        result?;
        // A streamed reply is ended by closing the connection.
        if reply.streaming {
            break;
        }
    }
    Ok(())
}

fn route(req: &Request) -> Api {
    let p = req.path.as_str();
    if p.ends_with("/messages") || p.ends_with("/messages/count_tokens") {
        Api::Anthropic
    } else if p.ends_with("/chat/completions") {
        Api::Chat
    } else if p.ends_with("/responses") || p.ends_with("/models") {
        Api::OpenAi
    } else if p.contains("/models/") && p.contains(':') {
        Api::Gemini
    } else {
        Api::Other
    }
}

/// The answer being written: a JSON body, or a server-sent event stream.
pub struct Reply<'a> {
    out: &'a mut TcpStream,
    config: &'a Config,
    streaming: bool,
}

impl Reply<'_> {
    pub fn config(&self) -> &Config {
        self.config
    }

    /// A complete JSON answer.
    pub fn json(&mut self, status: u16, value: &Value) -> io::Result<()> {
        let body = value.to_string();
        write!(
            self.out,
            "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            reason(status),
            body.len()
        )?;
        self.out.flush()
    }

    /// Starts an event stream; it ends when the connection closes.
    pub fn start_events(&mut self) -> io::Result<()> {
        self.streaming = true;
        write!(
            self.out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n"
        )?;
        self.out.flush()
    }

    /// One event: `event: NAME` (if any) and `data: JSON`.
    pub fn event(&mut self, name: Option<&str>, data: &Value) -> io::Result<()> {
        if let Some(name) = name {
            writeln!(self.out, "event: {name}")?;
        }
        write!(self.out, "data: {data}\n\n")?;
        self.out.flush()
    }

    /// `data: [DONE]`, which ends an OpenAI event stream.
    pub fn done(&mut self) -> io::Result<()> {
        write!(self.out, "data: [DONE]\n\n")?;
        self.out.flush()
    }

    /// The pause between two streamed words.
    pub fn pace(&self) {
        std::thread::sleep(self.config.token_delay);
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Status",
    }
}
