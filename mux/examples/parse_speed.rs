//! How fast the session model parses typical output (release build):
//! `cargo run --release -p qmux --example parse_speed`.

use std::time::Instant;

fn main() {
    let seq: String = (1..=1_000_000).map(|i| format!("{i}\r\n")).collect();
    let line = "x".repeat(99);
    let text: String = (0..200_000).map(|i| format!("{i:06} {line}\r\n")).collect();
    for (name, data) in [("seq", seq.as_bytes()), ("100-char lines", text.as_bytes())] {
        let mut t = qmux::terminal::Terminal::new(49, 200);
        let start = Instant::now();
        for chunk in data.chunks(64 * 1024) {
            t.process(chunk);
        }
        let secs = start.elapsed().as_secs_f64();
        println!("{name}: {:.1} MB/s ({} history rows)", data.len() as f64 / secs / 1e6, t.history().len());
    }
}
