//! `mockllm [PORT]`: run the mock by hand, to drive an agent in a terminal.
//! Prints its base URL, then one line per request.
//!
//! `mockllm prepare AGENT HOME CWD URL`: set up HOME for `claude`, `codex`,
//! `copilot`, `crush`, `gemini`, `qwen`, `pi`, `opencode` or `aider` against the mock at
//! URL, and print the command line and environment (as `env` arguments) to start it with.

use std::path::Path;
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("prepare") {
        std::process::exit(prepare(&args[1..]));
    }
    let port = args.first().and_then(|p| p.parse().ok()).unwrap_or(0);
    let token_ms = std::env::var("MOCKLLM_TOKEN_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let config = qmux_mockllm::Config { port, token_delay: Duration::from_millis(token_ms), ..Default::default() };
    let mock = match qmux_mockllm::Mock::start(config) {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("mockllm: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    println!("{}", mock.url());
    let mut seen = 0;
    loop {
        let log = mock.requests();
        for r in &log[seen..] {
            println!(
                "{} {} {:?} last_user={:?} tool_result={}",
                r.method, r.path, r.api, r.last_user_text, r.tool_result
            );
        }
        seen = log.len();
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn prepare(args: &[String]) -> i32 {
    let [agent, home, cwd, url] = args else {
        eprintln!("usage: mockllm prepare claude|codex|copilot|crush|gemini|qwen|pi|opencode|aider HOME CWD URL");
        return 2;
    };
    let (home, cwd) = (Path::new(home), Path::new(cwd));
    let prepared = match agent.as_str() {
        "claude" => qmux_mockllm::agents::claude::prepare(home, cwd, url),
        "codex" => qmux_mockllm::agents::codex::prepare(home, cwd, url),
        "copilot" => qmux_mockllm::agents::copilot::prepare(home, cwd, url),
        "crush" => qmux_mockllm::agents::crush::prepare(home, cwd, url),
        "gemini" => qmux_mockllm::agents::gemini::prepare(home, cwd, url),
        "qwen" => qmux_mockllm::agents::qwen::prepare(home, cwd, url),
        "pi" => qmux_mockllm::agents::pi::prepare(home, cwd, url),
        "aider" => qmux_mockllm::agents::aider::prepare(home, cwd, url),
        "opencode" => qmux_mockllm::agents::opencode::prepare(home, cwd, url),
        other => {
            eprintln!(
                "mockllm: no agent {other:?}: use claude, codex, copilot, crush, gemini, qwen, pi, opencode or aider"
            );
            return 2;
        }
    };
    match prepared {
        Ok(p) => {
            let env: Vec<String> = p.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!("env -i {} {}", env.join(" "), p.argv.join(" "));
            0
        }
        Err(e) => {
            eprintln!("mockllm: cannot set up {agent}: {e}");
            1
        }
    }
}
