//! History (issue 4): rows that scroll off the screen are kept, bounded by
//! `history-limit`, printed by `qmux capture --history`/`-S -`, and read back
//! in scroll mode (prefix `[`, PageUp, the wheel) with search and copy.
//!
//! Detached sessions start at 80x24 (23 rows for the program); the attached
//! tests use an 80x24 terminal too, so the session keeps that size.

use std::path::PathBuf;

use qmux_e2e::chat::at_prompt;
use qmux_e2e::{poll_until, session_rows, Env, Term, DEFAULT_TIMEOUT};

const COLS: u16 = 80;
const ROWS: u16 = 24;

// ---- helpers ----

/// A shell script that runs `body`, then creates `flag` and becomes `cat`,
/// so the session stays alive and quiet once its output is all out.
fn then_quiet(env: &Env, flag: &str, body: &str) -> (Vec<String>, PathBuf) {
    let path = env.work_dir().join(flag);
    let script = format!("{body}; touch '{}'; exec cat", path.display());
    (vec!["sh".into(), "-c".into(), script], path)
}

/// Starts a detached session running `command`.
fn start(env: &Env, name: &str, command: &[String]) {
    let args: Vec<&str> = command.iter().map(String::as_str).collect();
    env.start_detached(name, &args);
}

/// `qmux capture -t TARGET EXTRA…` as lines.
fn capture_lines(env: &Env, target: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["capture", "-t", target];
    args.extend_from_slice(extra);
    env.qmux_ok(&args).lines().map(str::to_string).collect()
}

/// Waits until the file `flag` exists and `capture -S -` ends with `last`:
/// the program is done and the server has read all of it.
fn wait_done(env: &Env, target: &str, flag: &std::path::Path, last: &str) -> Vec<String> {
    poll_until(
        DEFAULT_TIMEOUT,
        &format!("{target} to finish its output with {last:?}"),
        || {
            if !flag.exists() {
                return None;
            }
            let lines = capture_lines(env, target, &["-S", "-"]);
            (lines.last().map(String::as_str) == Some(last)).then_some(lines)
        },
        || format!("--- capture -S - ---\n{}", env.qmux_ok(&["capture", "-t", target, "-S", "-"])),
    )
}

/// The scroll-mode position `[POS/TOTAL]` in a status row: the last
/// bracketed pair of numbers.
fn scroll_position(row: &str) -> Option<(u64, u64)> {
    let mut found = None;
    let mut rest = row;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else { break };
        if let Some((a, b)) = rest[..close].split_once('/') {
            if let (Ok(a), Ok(b)) = (a.trim().parse(), b.trim().parse()) {
                found = Some((a, b));
            }
        }
    }
    found
}

/// Waits until the status row shows a scroll position satisfying `pred`.
fn wait_position(term: &mut Term, what: &str, mut pred: impl FnMut(u64, u64) -> bool) -> (u64, u64) {
    term.wait_status(|row| scroll_position(row).is_some_and(|(p, t)| pred(p, t)), what);
    scroll_position(&term.status_row()).expect("the position was just seen")
}

/// Where `text` is on the terminal's session rows: (row, column in cells).
fn find_on_screen(term: &Term, text: &str) -> Option<(u16, u16)> {
    term.screen(|s| {
        session_rows(s).iter().enumerate().find_map(|(r, row)| {
            let byte = row.find(text)?;
            Some((r as u16, row[..byte].chars().count() as u16))
        })
    })
}

/// Whether every cell of `text` at (row, col) is drawn in reverse video,
/// and whether it is bold too (scroll mode's mark for the current match).
fn highlight_at(term: &Term, (row, col): (u16, u16), len: usize) -> (bool, bool) {
    term.screen(|s| {
        let cells: Vec<_> = (0..len as u16).filter_map(|i| s.cell(row, col + i)).collect();
        (cells.iter().all(|c| c.inverse()), cells.iter().all(|c| c.bold()))
    })
}

/// Waits until the first `len` cells of `text`, on screen, are drawn in
/// reverse video and bold: scroll mode's current search match. Returns the
/// row.
fn wait_current_match(term: &mut Term, text: &str, len: usize) -> u16 {
    let mut at = None;
    term.wait_for(
        |s| {
            at = session_rows(s).iter().enumerate().find_map(|(r, row)| {
                let byte = row.find(text)?;
                let col = row[..byte].chars().count() as u16;
                let cells: Vec<_> = (0..len as u16).filter_map(|i| s.cell(r as u16, col + i)).collect();
                (cells.len() == len && cells.iter().all(|c| c.inverse() && c.bold())).then_some(r as u16)
            });
            at.is_some()
        },
        &format!("{text:?} on screen, its first {len} cells highlighted as the current match (bold, reverse)"),
    );
    at.expect("just found")
}

/// The numbers on rows that hold only a number.
fn numbers(rows: &[String]) -> Vec<u64> {
    rows.iter().filter_map(|r| r.trim().parse().ok()).collect()
}

fn assert_consecutive(nums: &[u64], what: &str) {
    assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "{what}: not consecutive: {nums:?}");
}

/// Standard base64, to build the OSC 52 sequence the test expects.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---- 1. rows that scroll off arrive in history, in order, with attributes ----

#[test]
fn rows_that_scroll_off_arrive_in_history_in_order_with_their_colours() {
    let env = Env::new();
    let body = "i=1; while [ $i -le 200 ]; do \
                if [ $((i % 10)) = 0 ]; then printf '\\033[31mred %d\\033[0m\\n' $i; else echo \"line $i\"; fi; \
                i=$((i+1)); done";
    let (command, flag) = then_quiet(&env, "printed", body);
    start(&env, "log", &command);
    let all = wait_done(&env, "log", &flag, "red 200");

    let expected: Vec<String> =
        (1..=200).map(|i| if i % 10 == 0 { format!("red {i}") } else { format!("line {i}") }).collect();
    assert_eq!(all, expected, "capture -S - holds every line, in order");
    let screen_only = capture_lines(&env, "log", &[]);
    assert!(screen_only.len() < 24, "without -S the screen alone is printed: {} lines", screen_only.len());

    // With --ansi the red lines keep their colour, history and screen alike.
    let ansi = capture_lines(&env, "log", &["-S", "-", "--ansi"]);
    assert_eq!(ansi.len(), 200, "one line per row with --ansi too");
    for (i, line) in ansi.iter().enumerate() {
        let n = i + 1;
        if n % 10 == 0 {
            assert!(line.contains(&format!("\x1b[31mred {n}")), "line {n} keeps its red SGR: {line:?}");
        } else {
            assert!(!line.contains("\x1b[31m"), "line {n} was not red: {line:?}");
            assert!(line.contains(&format!("line {n}")), "line {n}: {line:?}");
        }
    }
}

// ---- 2. the limit is enforced ----

#[test]
fn history_keeps_at_most_history_limit_rows_the_newest() {
    let env = Env::with_config("history-limit = 50\n");
    let (command, flag) = then_quiet(&env, "printed", "seq 1 500");
    start(&env, "seq", &command);
    let all = wait_done(&env, "seq", &flag, "500");
    let screen = capture_lines(&env, "seq", &[]);

    let nums = numbers(&all);
    assert_eq!(nums.len(), all.len(), "only the numbers were captured: {all:?}");
    assert_consecutive(&nums, "capture -S -");
    assert_eq!(nums.last(), Some(&500), "ends with the last line");
    assert_eq!(
        all.len(),
        50 + screen.len(),
        "exactly 50 history rows above the {} screen rows:\n{}",
        screen.len(),
        all.join("\n")
    );
    assert_eq!(capture_lines(&env, "seq", &["--history", "10"]).len(), 10 + screen.len(), "--history N takes N");
}

// ---- 3. search ----

#[test]
fn search_finds_words_in_history_and_on_screen_and_n_and_shift_n_move_between_matches() {
    let env = Env::new();
    // needle-0, needle-A, needle-B and alpha-only end up in history,
    // needle-C and omega-only on the screen.
    let body = "echo 'needle-0 top'; echo 'needle-A here'; seq 1 40; echo 'alpha-only word'; echo 'needle-B here'; \
                seq 41 100; echo 'needle-C here'; echo 'omega-only word'; seq 101 105";
    let (command, flag) = then_quiet(&env, "printed", body);
    start(&env, "s", &command);
    let all = wait_done(&env, "s", &flag, "105");
    let screen = capture_lines(&env, "s", &[]);
    assert!(screen.iter().any(|l| l == "omega-only word") && screen.iter().any(|l| l == "needle-C here"));
    assert!(!screen.iter().any(|l| l.contains("alpha-only") || l.contains("needle-B")), "{screen:?}");
    assert!(all.iter().any(|l| l == "alpha-only word"));

    let mut term = env.attach(&["attach", "-t", "s"], COLS, ROWS);
    term.wait_session_text("omega-only word");
    term.prefix(b'[');
    let (_, total) = wait_position(&mut term, "scroll mode at the bottom", |p, _| p == 0);
    assert_eq!(total as usize, all.len() - screen.len(), "the total is the history's length");

    // A word only in history: the view moves up to it and marks it.
    term.type_str("/alpha-only\r");
    let row = wait_current_match(&mut term, "alpha-only", 10);
    let (pos, _) = scroll_position(&term.status_row()).expect("a position");
    assert!(pos > 0, "the view left the bottom for a match in history:\n{}", term.dump());
    assert!(term.rows()[row as usize].contains("alpha-only word"));
    assert!(!term.session_rows().iter().any(|r| r.contains("omega-only")), "{}", term.dump());

    // A word only on the screen: back down to it.
    term.type_str("/omega-only\r");
    wait_current_match(&mut term, "omega-only", 10);

    // n and N step through every match of a word, wrapping round.
    term.type_str("/needle-\r");
    // Forward from the cursor's line (omega) to the end, then round to the
    // top: needle-0.
    wait_current_match(&mut term, "needle-0 top", 7);
    // The other match in view, needle-A, is marked too, but not as current.
    let at_a = find_on_screen(&term, "needle-A").expect("needle-A is in view with needle-0");
    assert_eq!(highlight_at(&term, at_a, 7), (true, false), "a match that is not current:\n{}", term.dump());
    for (key, current) in [
        ("n", "needle-A here"),
        ("n", "needle-B here"),
        ("n", "needle-C here"),
        ("N", "needle-B here"),
        ("N", "needle-A here"),
        ("N", "needle-0 top"),
        ("N", "needle-C here"),
        ("n", "needle-0 top"),
    ] {
        term.type_str(key);
        wait_current_match(&mut term, current, 7);
    }

    term.type_str("q");
    term.wait_status(|row| scroll_position(row).is_none(), "scroll mode left");
    // Leaving restores the live screen without highlights.
    let at = find_on_screen(&term, "omega-only").expect("the live screen shows the last lines");
    assert_eq!(highlight_at(&term, at, 10), (false, false), "no highlight once scroll mode is left");
}

// ---- 4. new output and a resize while scrolled ----

#[test]
fn scroll_mode_holds_still_through_new_output_and_a_resize() {
    let env = Env::new();
    let go = env.work_dir().join("go");
    let script = format!("seq 1 300; until [ -e '{}' ]; do sleep 0.02; done; seq 1001 1100; exec cat", go.display());
    env.start_detached("s", &["sh", "-c", &script]);
    let mut term = env.attach(&["attach", "-t", "s"], COLS, ROWS);
    term.wait_for(|s| session_rows(s).iter().any(|r| r == "300"), "300 at the bottom");

    term.prefix(b'[');
    let (_, total_before) = wait_position(&mut term, "scroll mode", |p, _| p == 0);
    term.send(b"\x1b[5~");
    let (pos_before, _) = wait_position(&mut term, "a page up", |p, _| p > 0);
    let shown = term.session_rows();
    let top = numbers(&shown[..1]);
    assert_eq!(top.len(), 1, "the top row is a number:\n{}", term.dump());
    assert_consecutive(&numbers(&shown), "the page");
    assert!(!shown.iter().any(|r| r == "300"), "the page is above the bottom:\n{}", term.dump());

    // 100 more lines arrive: the view stays on the same text, the position
    // counts them.
    env.trigger("go");
    let (pos_after, total_after) =
        wait_position(&mut term, "the total to count 100 new rows", |_, t| t >= total_before + 100);
    assert_eq!(total_after, total_before + 100, "exactly 100 rows more in history");
    assert_eq!(pos_after, pos_before + 100, "the view is 100 lines further from the bottom");
    assert_eq!(term.session_rows(), shown, "the rows shown did not move:\n{}", term.dump());
    assert!(env.capture("s").contains("1100"), "the session did print them");

    // A resize: still in scroll mode, starting at the same line, consecutive.
    term.resize(100, 30);
    term.wait_for(
        |s| {
            let rows = status_and_rows(s);
            rows.0.is_some() && rows.1.len() == 29 && rows.1.first() == shown.first()
        },
        "scroll mode redrawn at 100x30, from the same top line",
    );
    let rows = term.session_rows();
    let nums = numbers(&rows);
    assert_eq!(nums.len(), 29, "29 rows of numbers:\n{}", term.dump());
    assert_consecutive(&nums, "the view after a resize");

    // q: the live screen, with the new lines, is back.
    term.type_str("q");
    term.wait_status(|row| scroll_position(row).is_none(), "scroll mode left");
    term.wait_for(
        |s| session_rows(s).iter().rev().find(|r| !r.is_empty()).is_some_and(|r| r == "1100"),
        "the live screen ending with 1100",
    );
    assert_consecutive(&numbers(&term.session_rows()), "the live screen");
}

/// The scroll position in the status row (last row), and the other rows.
fn status_and_rows(s: &qmux_e2e::vt100::Screen) -> (Option<(u64, u64)>, Vec<String>) {
    let mut rows = qmux_e2e::screen_rows(s);
    let status = rows.pop().unwrap_or_default();
    (scroll_position(&status), rows)
}

// ---- 5. capture and scroll mode agree ----

#[test]
fn the_top_of_scroll_mode_is_the_top_of_capture_with_history() {
    let env = Env::new();
    let body = "i=1; while [ $i -le 120 ]; do \
                if [ $((i % 7)) = 0 ]; then printf 'row %d \\033[32mgreen\\033[0m end\\n' $i; else echo \"row $i\"; fi; \
                i=$((i+1)); done";
    let (command, flag) = then_quiet(&env, "printed", body);
    start(&env, "s", &command);
    let all = wait_done(&env, "s", &flag, "row 120");

    let mut term = env.attach(&["attach", "-t", "s"], COLS, ROWS);
    term.wait_session_text("row 120");
    term.prefix(b'[');
    wait_position(&mut term, "scroll mode", |p, _| p == 0);
    term.type_str("g");
    let height = usize::from(ROWS - 1);
    let expected: Vec<String> = all[..height].to_vec();
    term.wait_for(
        |s| session_rows(s) == expected,
        &format!("scroll mode at the top showing the first {height} lines of capture -S -:\n{}", expected.join("\n")),
    );
    let (pos, total) = scroll_position(&term.status_row()).expect("a position");
    assert_eq!(pos, total, "at the top, the position is the whole history");

    // The colours are the same too: `green` on row 7 is green.
    let at = find_on_screen(&term, "green").expect("row 7 is in view");
    let fg = term.screen(|s| s.cell(at.0, at.1).map(|c| c.fgcolor()));
    assert_eq!(fg, Some(qmux_e2e::vt100::Color::Idx(2)), "scroll mode keeps history's colours");
    let ansi = capture_lines(&env, "s", &["-S", "-", "--ansi"]);
    assert!(ansi[6].contains("\x1b[32mgreen"), "capture --ansi too: {:?}", ansi[6]);

    // And a page down shows the next lines of the capture.
    term.send(b"\x1b[6~");
    let page = height - 1;
    let expected: Vec<String> = all[page..page + height].to_vec();
    term.wait_for(|s| session_rows(s) == expected, &format!("one page down:\n{}", expected.join("\n")));
}

// ---- 6. the alternate screen ----

#[test]
fn output_on_the_alternate_screen_never_reaches_history() {
    let env = Env::new();
    let body = "seq 1 40; printf '\\033[?1049h'; i=1; while [ $i -le 200 ]; do echo \"alt $i\"; i=$((i+1)); done; \
                printf '\\033[?1049l'; echo after-alt";
    let (command, flag) = then_quiet(&env, "printed", body);
    start(&env, "s", &command);
    let all = wait_done(&env, "s", &flag, "after-alt");

    assert!(!all.iter().any(|l| l.starts_with("alt ")), "no alternate-screen row in capture -S -:\n{}", all.join("\n"));
    let mut expected: Vec<String> = (1..=40).map(|i| i.to_string()).collect();
    expected.push("after-alt".into());
    assert_eq!(all, expected, "history and screen are the main screen's lines only");
    let screen = capture_lines(&env, "s", &[]);
    // 41 lines on a 23-row screen whose last row holds the cursor: 19 scrolled off.
    assert_eq!(all.len() - screen.len(), 19, "history holds what the main screen scrolled off");
}

// ---- 7. PageUp, the wheel, and copying ----

#[test]
fn page_up_and_the_wheel_open_scroll_mode_in_a_chat_and_v_y_copies_with_osc52() {
    let env = Env::new().with_var("QMUX_CHAT_REPLY_WORDS", "400").with_var("QMUX_CHAT_TOKEN_MS", "1");
    let mut term = env.attach(&["new", "-s", "chat"], COLS, ROWS);
    term.wait_for(at_prompt, "the chat's prompt");
    term.type_str("fill the screen please\r");
    term.wait_session_text("You said: fill the screen please");
    term.wait_for(at_prompt, "the prompt after the long reply");

    // PageUp at a line-editor prompt opens the history.
    term.send(b"\x1b[5~");
    let (pos, total) = wait_position(&mut term, "scroll mode after PageUp", |p, _| p > 0);
    assert!(total > 0 && pos <= total, "the reply scrolled into history: [{pos}/{total}]");
    term.type_str("q");
    term.wait_status(|row| scroll_position(row).is_none(), "scroll mode left with q");
    term.wait_for(at_prompt, "the prompt back");

    // So does the wheel (SGR mouse report, wheel up, over the session).
    term.send(b"\x1b[<64;10;10M");
    wait_position(&mut term, "scroll mode after a wheel notch", |p, _| p == 5);
    term.send(b"\x1b");
    term.wait_status(|row| scroll_position(row).is_none(), "scroll mode left with Esc");

    // Copy: the top of history is the chat's banner. Select four lines.
    term.send(b"\x1b[<64;10;10M");
    wait_position(&mut term, "scroll mode again", |p, _| p == 5);
    term.type_str("g");
    term.wait_for(
        |s| session_rows(s).first().is_some_and(|r| r == "Welcome to the qmux stand-in chat!"),
        "the top of history: the banner",
    );
    term.type_str("v");
    term.type_str("jjj");
    term.wait_for(
        |s| (0..4).all(|r| s.cell(r, 0).is_some_and(|c| c.inverse())) && !s.cell(4, 0).is_some_and(|c| c.inverse()),
        "the first four lines drawn selected",
    );
    term.type_str("y");
    let copied = "Welcome to the qmux stand-in chat!\n\n/help all commands\nctrl + j new lines";
    let osc = format!("\x1b]52;c;{}\x07", base64(copied.as_bytes()));
    term.wait_raw(osc.as_bytes(), &format!("OSC 52 with the selected text {copied:?}"));
    term.wait_status(|row| scroll_position(row).is_none(), "y leaves scroll mode");
    term.wait_for(at_prompt, "the prompt back after copying");
}

#[test]
fn the_test_base64_is_standard() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"hello\nworld"), "aGVsbG8Kd29ybGQ=");
}

// ---- 8. after a restore ----

/// Issue 24: rows saved at a tile's width come back as the lines they were,
/// laid out at the width they are read at, in `capture` and in scroll mode:
/// not as the tile's 52-column pieces.
#[test]
fn history_after_a_restore_is_rewrapped_to_the_width_it_is_read_at() {
    let env = Env::new();
    let flag = env.work_dir().join("printed");
    // 111 cells a line: three rows at 52 columns. Restored, the script
    // only waits.
    let script = format!(
        "[ -e '{0}' ] && exec cat; i=1; while [ $i -le 40 ]; do printf 'line %02d %0100d %02d\\n' $i 0 $i; \
         i=$((i+1)); done; touch '{0}'; exec cat",
        flag.display()
    );
    env.qmux_ok(&["new", "-d", "-s", "tile", "-x", "52", "-y", "10", "--", "sh", "-c", &script]);
    wait_done(&env, "tile", &flag, "0000 40");
    env.qmux_ok(&["kill-server"]);
    env.qmux_ok(&["restore"]);

    let line = |i: u32| format!("line {i:02} {} {i:02}", "0".repeat(100));
    let restored = poll_until(
        DEFAULT_TIMEOUT,
        "the restored history",
        || {
            let lines = capture_lines(&env, "tile", &["-S", "-"]);
            lines.iter().any(|l| l.starts_with("line 40")).then_some(lines)
        },
        || env.qmux_ok(&["capture", "-t", "tile", "-S", "-"]),
    );
    let first = restored.iter().find(|l| l.starts_with("line 01")).expect("line 01 is back");
    assert_eq!(first.chars().count(), 80, "laid out at the restored session's 80 columns: {restored:#?}");

    // Read at 120 columns, every line is whole, and scroll mode shows them
    // so from the top.
    let mut term = env.attach(&["attach", "-t", "tile"], 120, 31);
    let whole = poll_until(
        DEFAULT_TIMEOUT,
        "every line whole at 120 columns",
        || {
            let lines = capture_lines(&env, "tile", &["-S", "-"]);
            (1..=40).all(|i| lines.contains(&line(i))).then_some(lines)
        },
        || env.qmux_ok(&["capture", "-t", "tile", "-S", "-"]),
    );
    assert!(!whole.iter().any(|l| l.chars().count() == 52), "no 52-column piece is left: {whole:#?}");
    term.prefix(b'[');
    wait_position(&mut term, "scroll mode", |p, _| p == 0);
    term.type_str("g");
    term.wait_for(|s| session_rows(s).first() == Some(&line(1)), "scroll mode's top: line 01, whole");
}
