use super::*;
use crate::terminal::Terminal;

fn lines(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("line {i}")).collect()
}

fn feed(t: &mut Terminal, lines: &[String]) {
    for l in lines {
        t.process(format!("{l}\r\n").as_bytes());
    }
}

#[test]
fn rows_arrive_in_order_with_attributes() {
    let mut t = Terminal::new(5, 40);
    for i in 0..10 {
        t.process(format!("\x1b[3{}mred {i}\x1b[0m plain\r\n", 1 + i % 2).as_bytes());
    }
    let h = t.history();
    // 10 lines and an empty cursor row on a 5-row screen: 6 scrolled off.
    assert_eq!(h.len(), 6);
    for i in 0..6 {
        assert_eq!(h.row_text(i), format!("red {i} plain"));
        let fg = format!("\x1b[3{}m", 1 + i % 2);
        assert!(h.row_formatted(i).starts_with(&format!("{fg}red {i}\x1b[m plain")), "{:?}", h.row_formatted(i));
        assert!(!h.row_wrapped(i));
    }
    assert_eq!(h.first_line(), 0);
    assert_eq!(h.total_pushed(), 6);
}

#[test]
fn rows_are_self_contained() {
    // The attribute set on one row is still on when the next begins;
    // each stored row must say so itself.
    let mut t = Terminal::new(2, 20);
    t.process(b"\x1b[1;32mgreen\r\nstill green\r\nx\r\n");
    let h = t.history();
    assert_eq!(h.len(), 2);
    assert!(h.row_formatted(1).starts_with("\x1b[32;1mstill"), "{:?}", h.row_formatted(1));
}

#[test]
fn wrapped_rows_are_marked() {
    let mut t = Terminal::new(3, 10);
    t.process(b"0123456789abcdef\r\nshort\r\n\r\n\r\n");
    let h = t.history();
    assert_eq!(h.row_text(0), "0123456789");
    assert!(h.row_wrapped(0));
    assert_eq!(h.row_text(1), "abcdef");
    assert!(!h.row_wrapped(1));
}

#[test]
fn limit_is_enforced() {
    let mut t = Terminal::with_history_limit(5, 20, 100);
    feed(&mut t, &lines(1000));
    let h = t.history();
    assert_eq!(h.len(), 100);
    assert_eq!(h.limit(), 100);
    // 1000 lines and the cursor row: 996 scrolled off, the last 100 kept.
    assert_eq!(h.total_pushed(), 996);
    assert_eq!(h.first_line(), 896);
    assert_eq!(h.row_text(0), "line 896");
    assert_eq!(h.row_text(99), "line 995");
}

#[test]
fn set_limit_drops_the_oldest_and_clear_empties() {
    let mut h = History::new(1000);
    for i in 0..500 {
        h.push(&format!("row {i}"), false);
    }
    h.set_limit(10);
    assert_eq!(h.len(), 10);
    assert_eq!(h.row_text(0), "row 490");
    // Chunks no row uses are freed.
    assert!(h.memory_bytes() < 2 * CHUNK_MAX, "{}", h.memory_bytes());
    h.clear();
    assert!(h.is_empty());
    assert_eq!(h.total_pushed(), 500);
    h.push("again", true);
    assert_eq!(h.row_formatted(0), "again");
    assert!(h.row_wrapped(0));
    assert_eq!(h.first_line(), 500);
}

#[test]
fn zero_limit_keeps_nothing() {
    let mut h = History::new(0);
    h.push("x", false);
    assert!(h.is_empty());
    assert_eq!(h.total_pushed(), 1);
}

#[test]
fn empty_rows_first_and_after_a_sealed_chunk() {
    let mut h = History::new(100_000);
    h.push("", false);
    for i in 0..20_000 {
        h.push(if i % 2 == 0 { "" } else { "some text that fills chunks" }, false);
    }
    h.push("", false);
    assert_eq!(h.len(), 20_002);
    assert_eq!(h.row_formatted(0), "");
    assert_eq!(h.row_formatted(2), "some text that fills chunks");
    assert_eq!(h.row_formatted(20_001), "");
}

#[test]
fn rows_across_many_chunks_stay_intact() {
    let mut h = History::new(3000);
    let row = |i: usize| format!("\x1b[31m{i:05}\x1b[m{}", "é".repeat(i % 300));
    for i in 0..20_000 {
        h.push(&row(i), i % 3 == 0);
    }
    assert_eq!(h.len(), 3000);
    for i in 0..3000 {
        assert_eq!(h.row_formatted(i), row(17_000 + i));
        assert_eq!(h.row_wrapped(i), (17_000 + i) % 3 == 0);
    }
}

#[test]
fn alternate_screen_leaves_history_untouched() {
    let mut t = Terminal::new(5, 20);
    feed(&mut t, &lines(8));
    let before: Vec<String> = (0..t.history().len()).map(|i| t.history().row_text(i)).collect();
    t.process(b"\x1b[?1049h");
    feed(&mut t, &lines(50));
    t.process(b"\x1b[3;1Hx\x1b[S\x1b[?1049l");
    let after: Vec<String> = (0..t.history().len()).map(|i| t.history().row_text(i)).collect();
    assert_eq!(before, after);
    assert_eq!(before.len(), 4);
}

#[test]
fn search_finds_text_in_history_and_on_screen_both_ways() {
    let mut h = History::new(100);
    for l in ["alpha", "beta needle", "gamma", "needle needle"] {
        h.push(l, false);
    }
    let screen = vec!["delta".to_string(), "screen needle".to_string()];
    let at = |line, col| Some(Position { line, col });
    let start = Position { line: 0, col: 0 };
    assert_eq!(h.search("needle", start, false, &screen), at(1, 5));
    assert_eq!(h.search("needle", Position { line: 1, col: 5 }, false, &screen), at(3, 0));
    assert_eq!(h.search("needle", Position { line: 3, col: 0 }, false, &screen), at(3, 7));
    assert_eq!(h.search("needle", Position { line: 3, col: 7 }, false, &screen), at(5, 7));
    // Forward from the last match wraps to the first.
    assert_eq!(h.search("needle", Position { line: 5, col: 7 }, false, &screen), at(1, 5));
    // Backward.
    assert_eq!(h.search("needle", Position { line: 5, col: 7 }, true, &screen), at(3, 7));
    assert_eq!(h.search("needle", Position { line: 3, col: 7 }, true, &screen), at(3, 0));
    assert_eq!(h.search("needle", Position { line: 1, col: 5 }, true, &screen), at(5, 7));
    // A lone match finds itself; a missing one nothing.
    assert_eq!(h.search("delta", Position { line: 4, col: 0 }, false, &screen), at(4, 0));
    assert_eq!(h.search("delta", Position { line: 4, col: 0 }, true, &screen), at(4, 0));
    assert_eq!(h.search("nothing", start, false, &screen), None);
    assert_eq!(h.search("", start, false, &screen), None);
    assert_eq!(History::new(5).search("x", start, false, &[]), None);
}

#[test]
fn search_matches_across_attribute_changes() {
    let mut h = History::new(10);
    h.push("\x1b[31mnee\x1b[32mdle\x1b[m", false);
    assert_eq!(h.search("needle", Position::default(), true, &[]), Some(Position { line: 0, col: 0 }));
}

#[test]
fn screen_rows_read_like_history_rows() {
    let mut t = Terminal::new(3, 30);
    let text = "\x1b[31;1mred\x1b[0m  \x1b[44m \x1b[m x\x1b[38;5;200mq\x1b[38;2;1;2;3mr\x1b[7m日本\x1b[m\r\n";
    t.process(text.as_bytes());
    let on_screen = screen_row_formatted(t.screen(), 0);
    t.process(b"\r\n\r\n\r\n");
    assert_eq!(t.history().row_formatted(0), on_screen);
}

#[test]
fn capture_gives_history_then_screen() {
    let mut t = Terminal::new(3, 20);
    t.process(b"one\r\ntwo\r\nthree\r\nfour\r\n\x1b[31mfive");
    assert_eq!(t.history().len(), 2);
    assert_eq!(capture(t.history(), t.screen(), 10, false), "one\ntwo\nthree\nfour\nfive\n");
    assert_eq!(capture(t.history(), t.screen(), 1, false), "two\nthree\nfour\nfive\n");
    assert_eq!(capture(t.history(), t.screen(), 0, true), "three\x1b[m\nfour\x1b[m\n\x1b[31mfive\x1b[m\n");
}

#[test]
fn ten_thousand_colored_rows_fit_in_little_memory() {
    let mut t = Terminal::new(50, 200);
    let mut out = String::new();
    for i in 0..10_050 {
        let color = 31 + i % 7;
        out.push_str(&format!("\x1b[{color}m{i:08} \x1b[1m{}\x1b[0m {}\r\n", "x".repeat(40), "y".repeat(50)));
    }
    t.process(out.as_bytes());
    let h = t.history();
    assert_eq!(h.len(), 10_000);
    assert_eq!(h.row_text(0).len(), 100);
    let bytes = h.memory_bytes();
    println!("history: {} rows of 100-character colored text in {bytes} bytes", h.len());
    assert!(bytes < 2_500_000, "{bytes} bytes");

    let mut t = Terminal::new(50, 200);
    let seq: String = (1..=20_000).map(|i| format!("{i}\r\n")).collect();
    t.process(seq.as_bytes());
    let bytes = t.history().memory_bytes();
    println!("history: seq 1 20000 leaves {} rows in {bytes} bytes", t.history().len());
    assert!(bytes < 500_000, "{bytes} bytes");
}

/// A row of `cols` cells, each its own truecolor: the worst case for
/// history's size (nothing repeats for compression to take).
fn rainbow(row: usize, cols: usize) -> String {
    (0..cols)
        .map(|c| {
            let n = (row * cols + c) as u32;
            format!(
                "\x1b[38;2;{};{};{}m{}",
                n & 0xff,
                (n >> 8) & 0xff,
                (n >> 16) & 0xff,
                (b'a' + (n % 26) as u8) as char
            )
        })
        .collect()
}

#[test]
fn the_byte_budget_drops_the_oldest_rows_whatever_the_output() {
    let budget = 1 << 20;
    let mut h = History::new(10_000);
    h.set_byte_limit(budget);
    let mut most = 0;
    for row in 0..3000 {
        h.push(&rainbow(row, 200), false);
        most = most.max(h.memory_bytes());
        // Never more than the budget and the chunk being written.
        assert!(h.memory_bytes() <= budget + CHUNK_MAX + 64 * 1024, "row {row}: {} bytes", h.memory_bytes());
    }
    assert!(most > budget / 2, "the budget was reached ({most} bytes at most)");
    // What is kept is the newest rows, whole and in order.
    assert!(h.len() > 100 && h.len() < 3000, "{} rows kept", h.len());
    assert_eq!(h.first_line() + h.len() as u64, h.total_pushed());
    assert_eq!(h.row_formatted(h.len() - 1), rainbow(2999, 200));
    assert_eq!(h.row_formatted(0), rainbow(h.first_line() as usize, 200));
    // With room to spare, the row limit is what holds.
    let mut roomy = History::new(500);
    roomy.set_byte_limit(64 << 20);
    for row in 0..1000 {
        roomy.push(&rainbow(row, 20), false);
    }
    assert_eq!(roomy.len(), 500);
}

#[test]
fn a_smaller_budget_takes_effect_at_once() {
    let mut h = History::new(10_000);
    for row in 0..2000 {
        h.push(&rainbow(row, 100), false);
    }
    let before = h.len();
    h.set_byte_limit(256 << 10);
    assert!(h.len() < before);
    assert!(h.memory_bytes() <= (256 << 10) + CHUNK_MAX + 64 * 1024);
    assert_eq!(h.row_formatted(h.len() - 1), rainbow(1999, 100));
}

#[test]
fn struck_blinking_and_concealed_text_keep_their_attributes_in_history_and_on_screen() {
    let mut t = Terminal::new(3, 40);
    t.process(b"\x1b[9mstruck\x1b[29m \x1b[5mblink\x1b[25m \x1b[8mhidden\x1b[m\r\n");
    let on_screen = screen_row_formatted(t.screen(), 0);
    for code in ["\x1b[9m", "\x1b[5m", "\x1b[8m"] {
        assert!(on_screen.contains(code), "{code:?} in {on_screen:?}");
    }
    t.process(b"\r\n\r\n\r\n");
    let row = t.history().row_formatted(0).into_owned();
    assert!(row.contains("\x1b[9mstruck") && row.contains("\x1b[5m") && row.contains("\x1b[8m"), "{row:?}");
}
