//! What one keystroke's frame costs the server at 200x49:
//! `cargo run --release -p qmux --example frame_cost`.

use std::time::Instant;

fn main() {
    let mut t = qmux::terminal::Terminal::new(49, 200);
    for i in 0..49 {
        t.process(format!("\x1b[3{}m{}\x1b[m {}\r\n", i % 7, "chat output ".repeat(12), i).as_bytes());
    }
    let n = 2000;
    let mut drawn = t.screen().clone();
    let start = Instant::now();
    let mut bytes = 0;
    for i in 0..n {
        t.process(if i % 2 == 0 { b"x" } else { b"\x08 \x08" });
        let frame = qmux::render::session_frame(t.screen(), Some(&drawn), Some("status"), (200, 50));
        bytes += frame.len();
        drawn = t.screen().clone();
    }
    let per = start.elapsed().as_secs_f64() / n as f64 * 1e6;
    println!("diff + clone per keystroke frame: {per:.1} us ({} bytes per frame)", bytes / n);
    let start = Instant::now();
    for _ in 0..n {
        drawn = t.screen().clone();
    }
    println!("clone alone: {:.1} us", start.elapsed().as_secs_f64() / n as f64 * 1e6);
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(t.screen().state_diff(&drawn));
    }
    println!("state_diff alone: {:.1} us", start.elapsed().as_secs_f64() / n as f64 * 1e6);
}
