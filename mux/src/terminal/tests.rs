use super::*;

#[test]
fn answers_cursor_position_where_the_cursor_is() {
    let mut t = Terminal::new(24, 80);
    assert_eq!(t.process(b"\r\n\r\n> \x1b[6n"), b"\x1b[3;3R");
}

#[test]
fn answers_status_and_device_attributes() {
    let mut t = Terminal::new(24, 80);
    assert_eq!(t.process(b"\x1b[5n"), b"\x1b[0n");
    assert_eq!(t.process(b"\x1b[c"), b"\x1b[?1;2c");
    assert_eq!(t.process(b"\x1b[>c"), b"\x1b[>84;0;0c");
    assert_eq!(t.process(b"plain text"), b"");
}

#[test]
fn answers_its_version_and_its_size_in_characters() {
    let mut t = Terminal::new(24, 80);
    let version = String::from_utf8(t.process(b"\x1b[>q")).unwrap();
    assert_eq!(version, format!("\x1bP>|qmux {}\x1b\\", env!("CARGO_PKG_VERSION")));
    assert_eq!(t.process(b"\x1b[18t"), b"\x1b[8;24;80t", "rows first, as xterm says");
}

#[test]
fn clipboard_writes_are_events() {
    let mut t = Terminal::new(24, 80);
    t.process(b"\x1b]52;c;aGk=\x07");
    assert_eq!(t.take_events(), [Event::Clipboard("c".into(), "aGk=".into())]);
}

#[test]
fn query_split_across_reads_is_still_answered() {
    let mut t = Terminal::new(24, 80);
    assert_eq!(t.process(b"ab\x1b["), b"");
    assert_eq!(t.process(b"6n"), b"\x1b[1;3R");
}

#[test]
fn counts_bells() {
    let mut t = Terminal::new(24, 80);
    t.process(b"\x07x\x07");
    assert_eq!(t.take_events(), [Event::Bell, Event::Bell]);
    assert_eq!(t.take_events(), []);
}

#[test]
fn desktop_notifications_count_as_bells() {
    let mut t = Terminal::new(24, 80);
    t.process(b"\x1b]9;done\x07\x1b]777;notify;title;body\x1b\\\x1b]2;a title\x07\x1b]9;4;1;50\x07");
    let events = t.take_events();
    assert_eq!(events.iter().filter(|e| e.wants_attention()).count(), 2);
    assert_eq!(events[0], Event::Notification("done".into()));
    assert_eq!(events[2], Event::Title("a title".into()));
    assert_eq!(events.len(), 3, "progress is not an event: {events:?}");
}

#[test]
fn a_ringing_loop_does_not_grow_memory() {
    let mut t = Terminal::new(24, 80);
    t.process(&[7u8; 10_000]);
    assert_eq!(t.take_events().len(), MAX_EVENTS);
}

/// An escape string that never ends must not grow memory: the parser
/// keeps at most 1 KiB of an OSC (see the workspace's vt100 entry). With
/// vt100's "std" feature the whole 64 MB would be kept and arrive here.
#[test]
fn unterminated_osc_does_not_grow_memory() {
    let mut t = Terminal::new(24, 80);
    t.process(b"\x1b]2;");
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..64 {
        t.process(&chunk);
    }
    t.process(b"\x07after");
    assert!(t.title().len() <= 1024, "the parser kept {} bytes of one OSC", t.title().len());
    assert!(t.title().starts_with("aaa"));
    assert!(t.text().contains("after"));
}

/// The fast path must leave exactly the screen and history that feeding
/// every byte leaves: same cells, attributes, modes, cursor, history rows.
fn assert_same(fast: &Terminal, slow: &Terminal, what: &str) {
    assert_eq!(fast.screen().state_formatted(), slow.screen().state_formatted(), "screen differs: {what}");
    assert_eq!(fast.screen().cursor_position(), slow.screen().cursor_position(), "cursor differs: {what}");
    let (fh, sh) = (fast.history(), slow.history());
    assert_eq!(fh.total_pushed(), sh.total_pushed(), "history count differs: {what}");
    assert_eq!(fh.len(), sh.len(), "history length differs: {what}");
    for i in 0..fh.len() {
        assert_eq!(fh.row_formatted(i), sh.row_formatted(i), "history row {i} differs: {what}");
        assert_eq!(fh.row_wrapped(i), sh.row_wrapped(i), "history row {i} wrap differs: {what}");
    }
}

/// A small deterministic generator (xorshift), so failures replay.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Output mixing floods of plain lines with what breaks the fast path's
/// assumptions: colours, cursor moves, scroll regions, the alternate
/// screen, OSC strings, split escapes, bad UTF-8, long and wide lines.
fn random_output(rng: &mut Rng, len: usize) -> Vec<u8> {
    let pieces: &[&[u8]] = &[
        b"\x1b[31m",
        b"\x1b[0m",
        b"\x1b[1;44m",
        b"\x1b[H",
        b"\x1b[5;3H",
        b"\x1b[2J",
        b"\x1b[K",
        b"\x1b[3;8r",
        b"\x1b[r",
        b"\x1b[?1049h",
        b"\x1b[?1049l",
        b"\x1b]0;title",
        b"\x07",
        b"\x1b[",
        b"\x1b",
        b"\x1b[?25l",
        b"\x1b[?6h",
        b"\x1b[?6l",
        b"\x1b[4h",
        b"\x1b[4l",
        b"\x1b[2S",
        b"\x1bM",
        b"\x1bc",
        b"\x1b\r",
        b"c",
        b"\xe2\x94",
        b"\xe2\x94\x80",
        "日本語".as_bytes(),
        b"\t",
        b"\x18",
        b"\x1b(0",
        b"\x1b(B",
        b"\x1b)0",
        b"\x1b[?7l",
        b"\x1b[?7h",
        b"\x0e",
        b"\x0f",
        b"\r",
        b"\n",
        b"   ",
        // Tab stops, index and next line, saved cursor, alignment, the
        // other alternate screens, DECCOLM, underline styles and colours,
        // overline, hyperlinks.
        b"\x1bH",
        b"\x1b[3g",
        b"\x1b[g",
        b"\x1b[2Z",
        b"\x1b[3I",
        b"\x1bD",
        b"\x1bE",
        b"\x1b[s",
        b"\x1b[u",
        b"\x1b#8",
        b"\x1b[?47h",
        b"\x1b[?47l",
        b"\x1b[?1047h",
        b"\x1b[?1047l",
        b"\x1b[?3h",
        b"\x1b[4:3;58:2::1:2:3m",
        b"\x1b[21;53m",
        b"\x1b[24;55;59m",
        b"\x1b]8;id=x;http://example.com/a;b\x1b\\",
        b"\x1b]8;;\x07",
    ];
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        match rng.below(10) {
            0..=5 => {
                // A flood of plain lines, some long enough to wrap.
                let flood = if rng.below(3) == 0 { 600 } else { 60 };
                for _ in 0..rng.below(flood) {
                    let max = if rng.below(8) == 0 { 150 } else { 30 };
                    let n = rng.below(max);
                    for _ in 0..n {
                        out.push(b'!' + rng.below(94) as u8);
                    }
                    out.extend_from_slice(b"\r\n");
                }
            }
            _ => {
                for _ in 0..rng.below(6) {
                    out.extend_from_slice(pieces[rng.below(pieces.len() as u64) as usize]);
                }
            }
        }
    }
    out
}

#[test]
fn fast_path_matches_feeding_every_byte_on_random_output() {
    let mut fast_rows = 0;
    for seed in 1..=24u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (rows, cols) = (2 + rng.below(30) as u16, 10 + rng.below(90) as u16);
        let mut fast = Terminal::with_history_limit(rows, cols, 3000);
        let mut slow = Terminal::with_history_limit(rows, cols, 3000).without_fast_path();
        // Settle vt100's scrollback count first (see COUNT_SETTLED).
        let settle: Vec<u8> = (0..COUNT_SETTLED + 10).flat_map(|i| format!("settle {i}\r\n").into_bytes()).collect();
        fast.process(&settle);
        slow.process(&settle);
        assert_same(&fast, &slow, &format!("seed {seed} after settling"));

        for round in 0..12 {
            let data = random_output(&mut rng, 40_000);
            // Random read boundaries, as a PTY gives them.
            let mut at = 0;
            while at < data.len() {
                let n = (1 + rng.below(9000) as usize).min(data.len() - at);
                fast.process_batch(&data[at..at + n], rng.below(2) == 0);
                slow.process(&data[at..at + n]);
                at += n;
            }
            fast.process_batch(&[], false);
            assert_same(&fast, &slow, &format!("seed {seed} round {round} ({rows}x{cols})"));
            if rng.below(3) == 0 {
                let (r, c) = (2 + rng.below(30) as u16, 10 + rng.below(90) as u16);
                fast.resize(c, r);
                slow.resize(c, r);
                assert_same(&fast, &slow, &format!("seed {seed} round {round} resized to {r}x{c}"));
            }
        }
        fast_rows += fast.parser.callbacks().fast_rows;
    }
    // The comparison means something only if the fast path ran (random
    // output often leaves scroll regions, colours or the alternate screen
    // on, where it must not; the tests below show it takes real floods).
    assert!(fast_rows > 1000, "the fast path hardly ran: {fast_rows} rows");
}

#[test]
fn fast_path_matches_on_real_output() {
    let seq: Vec<u8> = (1..=200_000).flat_map(|i| format!("{i}\r\n").into_bytes()).collect();
    let log: Vec<u8> = (0..30_000)
        .flat_map(|i| {
            let line = match i % 7 {
                0 => format!("\x1b[32m   Compiling\x1b[0m crate-{i} v0.1.{i}"),
                1 => String::new(),
                2 => format!("warning: unused variable `x{i}` at src/lib.rs:{i}:5 {}", "-".repeat(i % 90)),
                _ => format!("{i:06} The quick brown fox jumps over the lazy dog; {}", "x".repeat(i % 60)),
            };
            format!("{line}\r\n").into_bytes()
        })
        .collect();
    for (name, data) in [("seq", &seq), ("build log", &log)] {
        for (rows, cols) in [(49, 200), (23, 80), (5, 20)] {
            let mut fast = Terminal::new(rows, cols);
            let mut slow = Terminal::new(rows, cols).without_fast_path();
            // As a PTY gives it: 4095-byte reads, batched while more waits.
            for batch in data.chunks(4095 * 7) {
                for read in batch.chunks(4095) {
                    fast.process_batch(read, true);
                }
                slow.process(batch);
            }
            fast.process_batch(&[], false);
            assert_same(&fast, &slow, &format!("{name} at {rows}x{cols}"));
        }
    }
}

#[test]
fn fast_path_takes_the_bulk_of_a_flood() {
    // Not a timing test: it checks the fast path is actually used, by
    // counting the scrolls vt100 really made.
    let mut t = Terminal::new(49, 200);
    let data: Vec<u8> = (0..100_000).flat_map(|i| format!("{i}\r\n").into_bytes()).collect();
    for chunk in data.chunks(65536) {
        t.process(chunk);
    }
    let made = t.parser.callbacks().scrolls;
    assert!(made < 20_000, "vt100 scrolled {made} times for 100000 lines");
    assert_eq!(t.history().total_pushed(), 100_000 - 48);
}

#[test]
fn zero_size_is_clamped() {
    let mut t = Terminal::new(0, 0);
    t.resize(0, 0);
    assert_eq!(t.size(), (1, 1));
    t.process(b"hello\r\nworld");
}

#[test]
fn the_unfinished_end_of_output_is_a_cut_sequence_or_character() {
    assert_eq!(unfinished(b"text\x1b[38;2;1"), b"\x1b[38;2;1");
    assert_eq!(unfinished(b"text\x1b"), b"\x1b");
    assert_eq!(unfinished(b"\x1b]0;a title"), b"\x1b]0;a title");
    assert_eq!(unfinished(b"\x1b(")[..], b"\x1b("[..]);
    assert_eq!(unfinished("caf\u{e9}".as_bytes()), b"");
    assert_eq!(unfinished(&"caf\u{e9}".as_bytes()[..4]), b"\xc3");
    assert_eq!(unfinished(&"\u{2500}".as_bytes()[..2]), b"\xe2\x94");
    for done in [&b"\x1b[1mbold\x1b[m"[..], b"\x1b]0;title\x07", b"\x1b]0;t\x1b\\", b"\x1b(B", b"\x1b7", b"plain"] {
        assert_eq!(unfinished(done), b"", "{}", String::from_utf8_lossy(done));
    }
}

#[test]
fn a_snapshot_taken_between_two_halves_of_a_sequence_or_character_loses_neither() {
    let whole = "\x1b[31mred \u{2500}\u{2500} \x1b]2;the title\x07\x1b[1;44mbold on blue\x1b[m\r\nnext".as_bytes();
    let mut reference = Terminal::new(5, 40);
    reference.process(whole);
    for cut in 0..whole.len() {
        let mut first = Terminal::new(5, 40);
        first.process(&whole[..cut]);
        let mut rebuilt = Terminal::from_snapshot(&first.snapshot());
        rebuilt.process(&whole[cut..]);
        assert_eq!(rebuilt.screen().contents_formatted(), reference.screen().contents_formatted(), "cut at {cut}");
        assert_eq!(rebuilt.screen().cursor_position(), reference.screen().cursor_position());
        assert_eq!(rebuilt.title(), reference.title(), "cut at {cut}");
    }
}

#[test]
fn a_snapshot_keeps_tab_stops_and_insert_mode() {
    let setup = b"\x1b[3g\x1b[6G\x1bH\x1b[13G\x1bH\r\n\x1b[4h";
    let rest = b"abc\r\tX\tY\rZ";
    let mut reference = Terminal::new(3, 20);
    reference.process(setup);
    reference.process(rest);
    let mut first = Terminal::new(3, 20);
    first.process(setup);
    let mut rebuilt = Terminal::from_snapshot(&first.snapshot());
    rebuilt.process(rest);
    assert_eq!(rebuilt.screen().contents(), reference.screen().contents());
    assert!(rebuilt.screen().insert_mode());
}

#[test]
fn the_users_terminal_colours_are_taken_from_its_answers_and_given_to_programs() {
    // Keys around the answers stay; the answers go (BEL or ST ended).
    let input = b"ab\x1b]10;rgb:1111/2222/3333\x1b\\c\x1b]11;rgb:eeee/eeee/eeee\x07d\x1b[A";
    assert_eq!(take_colour_replies(input).as_deref(), Some(&b"abcd\x1b[A"[..]));
    assert_eq!(take_colour_replies(b"plain keys \x1b]1"), None, "nothing to take, nothing copied");
    // A program asking now hears them.
    let mut t = Terminal::new(5, 20);
    assert_eq!(t.process(b"\x1b]11;?\x1b\\"), b"\x1b]11;rgb:eeee/eeee/eeee\x1b\\");
    assert_eq!(t.process(b"\x1b]10;?\x07"), b"\x1b]10;rgb:1111/2222/3333\x1b\\");
    // Garbage that looks like an answer is not kept as a colour.
    take_colour_replies(b"\x1b]11;\x1b[31mred\x07");
    assert_eq!(t.process(b"\x1b]11;?\x1b\\"), b"\x1b]11;rgb:eeee/eeee/eeee\x1b\\");
}

/// History and screen, each row formatted, with the cursor and whether
/// each row wraps.
fn everything(t: &Terminal) -> (String, Vec<bool>, (u16, u16)) {
    let history = t.history();
    let (_, rows) = t.size();
    let wraps = (0..history.len()).map(|i| history.row_wrapped(i)).chain((0..rows).map(|r| t.screen().row_wrapped(r)));
    (crate::history::capture(history, t.screen(), usize::MAX, true), wraps.collect(), t.screen().cursor_position())
}

#[test]
fn narrowing_wraps_lines_and_widening_joins_them_again() {
    let mut t = Terminal::new(6, 20);
    // Eight coloured lines of 15 cells, and a prompt with the cursor after it.
    for i in 0..8 {
        t.process(format!("\x1b[3{}mline {i} {}\x1b[m\r\n", i % 7 + 1, "x".repeat(8)).as_bytes());
    }
    t.process(b"$ \x1b[1mtyped");
    let before = everything(&t);

    t.resize(10, 6);
    let narrow = crate::history::capture(t.history(), t.screen(), usize::MAX, false);
    let expected: String = (0..8).map(|i| format!("line {i} xxx\nxxxxx\n")).collect::<String>() + "$ typed\n";
    assert_eq!(narrow, expected, "every line wrapped at 10, none cut");
    assert_eq!(t.screen().cursor_position(), (5, 7), "the cursor after what was typed");
    assert!(t.history().row_wrapped(0) && !t.history().row_wrapped(1));

    t.resize(20, 6);
    assert_eq!(everything(&t), before, "widened again, the same rows, wraps, colours and cursor");
    t.process(b" more");
    assert_eq!(t.screen().rows(0, 20).last().as_deref(), Some("$ typed more"), "the pen and the cursor carry on");
    assert!(t.screen().cell(5, 9).is_some_and(vt100::Cell::bold), "still bold");
}

#[test]
fn widening_fills_the_screen_from_history_and_keeps_blank_rows_below() {
    let mut t = Terminal::new(4, 10);
    t.process(b"aaaaaaaaaabbbbbbbbbb\r\nccc\r\n$ ");
    // Cleared the way `clear` does: the prompt alone at the top.
    t.process(b"\x1b[H\x1b[2J$ ");
    t.resize(20, 4);
    assert_eq!(t.screen().contents(), "$ ", "the cleared screen stays cleared");
    assert_eq!(t.screen().cursor_position(), (0, 2));

    let mut t = Terminal::new(4, 10);
    t.process(b"1111111111\r\n2222222222\r\n3333333333\r\n4444444444\r\n5555555555\r\n$ ");
    t.resize(5, 4);
    t.resize(10, 4);
    let rows: Vec<String> = t.screen().rows(0, 10).collect();
    assert_eq!(rows, ["3333333333", "4444444444", "5555555555", "$ "], "the bottom stays at the bottom");
    assert_eq!(t.history().len(), 2);
}

#[test]
fn a_full_screen_program_redraws_into_a_clean_screen() {
    let mut t = Terminal::new(3, 10);
    t.process(b"\x1b[?1049h\x1b[1m0123456789");
    t.resize(5, 4);
    assert_eq!(t.screen().contents(), "", "nothing of the old layout is left");
    assert_eq!(t.size(), (5, 4));
    t.process(b"\x1b[Hab");
    assert!(t.screen().cell(0, 0).is_some_and(vt100::Cell::bold), "the program's pen is kept");
}

#[test]
fn shrinking_width_and_height_at_once_keeps_every_line() {
    let mut t = Terminal::new(45, 160);
    t.process(b"line 1\r\nline 2\r\nline 3\r\nline 4\r\nline 5\r\n$ ");
    for (cols, rows) in [(100, 30), (80, 20), (60, 25), (30, 3), (160, 45)] {
        t.resize(cols, rows);
        let all = crate::history::capture(t.history(), t.screen(), usize::MAX, false);
        assert_eq!(all, "line 1\nline 2\nline 3\nline 4\nline 5\n$\n", "at {cols}x{rows}");
    }
    assert_eq!(t.screen().cursor_position(), (5, 2), "the prompt back where it was");
    assert_eq!(t.history().len(), 0, "every line back on the screen");
}

#[test]
fn a_taller_screen_pulls_rows_back_from_history_unless_it_was_erased() {
    let mut t = Terminal::new(10, 80);
    for i in 1..=30 {
        t.process(format!("{i}\r\n").as_bytes());
    }
    t.process(b"done");
    t.resize(80, 15);
    let rows: Vec<String> = t.screen().rows(0, 80).collect();
    assert_eq!(rows.first().map(String::as_str), Some("17"), "{rows:?}");
    assert_eq!(rows.last().map(String::as_str), Some("done"));
    assert_eq!(t.history().len(), 16);

    // Cleared the way `clear` does: the prompt alone at the top, as in tmux.
    t.process(b"\x1b[H\x1b[2J$ ");
    t.resize(80, 20);
    assert_eq!(t.screen().contents(), "$ ");
    assert_eq!(t.history().len(), 16, "history stays history");
}

#[test]
fn hyperlinks_reach_frames_panes_and_history_around_exactly_their_text() {
    let mut t = Terminal::new(4, 30);
    t.process(b"see \x1b]8;;file:///tmp/a;b.rs\x1b\\\x1b[1ma;b.rs\x1b[m\x1b]8;;\x1b\\ now\r\n");
    // SGR first, then the link, as vt100 writes them.
    let linked = "see \x1b[1m\x1b]8;;file:///tmp/a;b.rs\x1b\\a;b.rs\x1b[m\x1b]8;;\x1b\\ now";
    assert_eq!(crate::history::screen_row_formatted(t.screen(), 0), linked);
    let frame = String::from_utf8(crate::render::session_frame(t.screen(), None, Some("status"), (30, 5)))
        .expect("a frame is text");
    assert!(frame.contains(linked), "{frame:?}");
    // The status row after the screen does not take the link.
    assert_eq!(frame.rfind("\x1b]8;"), frame.rfind("\x1b]8;;\x1b\\"), "{frame:?}");
    let plain = String::from_utf8(crate::render::plain_underlines(frame.clone().into_bytes())).expect("text");
    assert!(plain.contains("\x1b]8;;file:///tmp/a;b.rs\x1b\\"), "{plain:?}");
    let pane = crate::render::pane_row(t.screen(), 0, 12);
    assert_eq!(pane, "\x1b[msee \x1b[1m\x1b]8;;file:///tmp/a;b.rs\x1b\\a;b.rs\x1b[m\x1b]8;;\x1b\\ n\x1b[m");
    let cut = crate::render::pane_row(t.screen(), 0, 6);
    assert!(cut.ends_with("a;\x1b]8;;\x1b\\\x1b[m"), "a pane's edge ends the link: {cut:?}");

    // A frame diff writes the link only for the text that changed.
    let before = t.screen().clone();
    t.process(b"\x1b]8;id=x;https://example.com/\x1b\\url\x1b]8;;\x1b\\");
    let diff = String::from_utf8(crate::render::session_frame(t.screen(), Some(&before), None, (30, 5)))
        .expect("a frame is text");
    assert!(diff.contains("\x1b]8;id=x;https://example.com/\x1b\\url\x1b]8;;\x1b\\"), "{diff:?}");
    assert!(!diff.contains("file:"), "{diff:?}");

    // Scrolled off, the row keeps its link in history, and reads as before.
    t.process(b"\r\n\r\n\r\n\r\n");
    assert_eq!(t.history().row_formatted(0), linked);
    assert_eq!(t.history().row_text(0), "see a;b.rs now");
    let captured = crate::history::capture(t.history(), t.screen(), 10, true);
    assert!(captured.starts_with(&format!("{linked}\x1b[m\n")), "{captured:?}");
    let text = crate::history::capture(t.history(), t.screen(), 10, false);
    assert!(text.starts_with("see a;b.rs now\nurl\n"), "{text:?}");
}
