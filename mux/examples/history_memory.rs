//! Where a session's memory goes with 10k rows of coloured history:
//! `cargo run --release -p qmux --example history_memory`.

fn main() {
    let mut t = qmux::terminal::Terminal::new(49, 200);
    for n in 0..10_049u64 {
        let mut line = String::new();
        for i in 0..10 {
            let colour = 31 + (n as usize + i) % 7;
            let bold = if i % 2 == 0 { ";1" } else { "" };
            line.push_str(&format!("\x1b[{colour}{bold}m"));
            line.push_str(&format!("{:010}", n * 10 + i as u64));
        }
        t.process(format!("{line}\x1b[0m\r\n").as_bytes());
    }
    let h = t.history();
    let text: usize = (0..h.len()).map(|i| h.row_formatted(i).len()).sum();
    println!("rows {} text bytes {} memory_bytes {}", h.len(), text, h.memory_bytes());
    println!("row 0: {:?}", h.row_formatted(0));
}
