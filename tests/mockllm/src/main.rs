//! `mockllm [PORT]`: run the mock by hand, to drive an agent in a terminal.
//! Prints its base URL, then one line per request.

use std::time::Duration;

fn main() {
    let port = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
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
