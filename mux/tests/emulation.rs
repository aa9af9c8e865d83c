//! The emulation corpus: byte streams (`emulation/NAME.in`) and the screens a
//! real terminal showed for them (`emulation/NAME.screen`, recorded from tmux by
//! `emulation/record`, whose header says how). Each stream is fed to qmux's
//! `Terminal` at the case's size; every cell, its text and attributes, and the
//! cursor must be what tmux showed. tmux runs only when the corpus is recorded.

use std::path::{Path, PathBuf};

use qmux::terminal::Terminal;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/emulation")
}

/// A recorded screen: its size, the cursor, and the rows as tmux's
/// `capture-pane -e` wrote them, rebuilt into a screen to compare cells.
struct Recorded {
    cols: u16,
    rows: u16,
    cursor: (u16, u16),
    screen: vt100::Parser,
}

fn recorded(path: &Path) -> Recorded {
    let text = std::fs::read_to_string(path).expect("a recorded screen");
    let mut lines = text.lines();
    let head: Vec<u16> =
        lines.next().expect("a header line").split_whitespace().filter_map(|w| w.parse().ok()).collect();
    let [cols, rows, x, y] = head[..] else { panic!("{}: header 'size C R cursor X Y'", path.display()) };
    let size = |n| std::num::NonZeroU16::new(n).expect("a size");
    let mut screen = vt100::Parser::new(size(rows), size(cols), 0);
    // tmux writes line-drawing cells as their ACS letters between SO and SI:
    // G1 is the line-drawing set here.
    screen.process(b"\x1b)0");
    // The capture is one stream: attributes carry over from a row to the
    // next, as a terminal shown it would keep them.
    for (row, line) in lines.enumerate() {
        screen.process(format!("\x1b[{};1H", row + 1).as_bytes());
        // tmux 3.3a's capture writes overline (53) as `5:3`.
        screen.process(line.replace("\x1b[5:3m", "\x1b[53m").as_bytes());
    }
    Recorded { cols, rows, cursor: (y, x), screen }
}

/// A cell as the comparison sees it: text and every attribute tmux records.
fn cell(screen: &vt100::Screen, row: u16, col: u16) -> String {
    let Some(c) = screen.cell(row, col) else { return "none".into() };
    // The capture writes a cell never written as a space.
    let text = if c.has_contents() { c.contents() } else { " " };
    // A concealed cell's text is kept by both; tmux's capture writes it.
    format!(
        "{:?} fg {:?} bg {:?} bold {} dim {} italic {} underline {:?} inverse {} strike {} blink {} conceal {} \
         overline {} wide {}",
        text,
        c.fgcolor(),
        c.bgcolor(),
        c.bold(),
        c.dim(),
        c.italic(),
        c.underline_style(),
        c.inverse(),
        c.strikethrough(),
        c.blink(),
        c.conceal(),
        c.overline(),
        c.is_wide(),
    )
}

#[test]
fn every_stream_looks_as_it_did_in_a_real_terminal() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("the corpus directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "in"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "the corpus is there: {cases:?}");
    let mut failures = Vec::new();
    for input in &cases {
        let name = input.file_stem().and_then(|s| s.to_str()).expect("a case name").to_string();
        let expected = recorded(&input.with_extension("screen"));
        let mut terminal = Terminal::new(expected.rows, expected.cols);
        terminal.process(&std::fs::read(input).expect("the stream"));
        let (got, want) = (terminal.screen(), expected.screen.screen());
        let mut diffs = Vec::new();
        for row in 0..expected.rows {
            for col in 0..expected.cols {
                let (g, w) = (cell(got, row, col), cell(want, row, col));
                if g != w {
                    diffs.push(format!("  row {row} col {col}:\n    qmux {g}\n    tmux {w}"));
                }
            }
        }
        if got.cursor_position() != expected.cursor {
            diffs.push(format!("  cursor: qmux {:?}, tmux {:?}", got.cursor_position(), expected.cursor));
        }
        if !diffs.is_empty() {
            let shown = diffs.len();
            diffs.truncate(6);
            failures.push(format!("{name}: {shown} difference(s)\n{}", diffs.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from tmux:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The rows of a screen as text, each cut to the screen's width.
fn rows(terminal: &Terminal) -> Vec<String> {
    let screen = terminal.screen();
    screen.rows(0, screen.size().1.get()).collect()
}

/// Every character of the DEC special graphics set, as xterm draws it and
/// as tmux writes it to a UTF-8 terminal (tmux's `tty-acs.c`): the arrows
/// and the block of the VT100's set (`+ , - . 0`) too, and `_` blank.
/// Other characters are themselves.
#[test]
fn the_dec_special_graphics_set_draws_what_xterm_and_tmux_draw() {
    let mut terminal = Terminal::new(4, 80);
    terminal.process(b"\x1b(0+,-.0_`abcdefghijklmnopqrstuvwxyz{|}~ 1A\x1b(B+,-.0_q\r\n");
    terminal.process(b"\x1b)0\x0e+,-.0_q\x0f+q\r\n");
    let rows = rows(&terminal);
    assert_eq!(rows[0], "→←↑↓▮ ◆▒␉␌␍␊°±␤␋┘┐┌└┼⎺⎻─⎼⎽├┤┴┬│≤≥π≠£· 1A+,-.0_q");
    assert_eq!(rows[1], "→←↑↓▮ ─+q");
}

/// CHT (`CSI Ps I`) is HT done Ps times, as xterm documents it: vttest's CHT
/// screen, whose lines of stars must look the same whether drawn by CHT or by
/// tabs. tmux 3.3a has no CHT; the tabs are checked against it in the corpus
/// (`tabs-at-the-right-margin`): a tab after a character in the last column
/// leaves the wrap pending, so each line of stars wraps once.
#[test]
fn cursor_forward_tabulation_lands_where_tabs_land() {
    // vttest's tst_CHT at 80 columns: 20 stops, twice the width.
    let last = (80usize * 2).div_ceil(8);
    let mut stream = String::from("\x1b[2J\x1b[1;1HCHT with param == 1:\r\n");
    stream += &"\x1b[1I*".repeat(last);
    stream += "\x1b[4;1HCHT with param != 1:\r\n";
    for n in 0..last {
        stream += &format!("\x1b[5;1H\x1b[{n}I+");
    }
    stream += "\x1b[7;1HNormal tabs:\r\n";
    stream += &"\t*".repeat(last);
    let mut terminal = Terminal::new(24, 80);
    terminal.process(stream.as_bytes());
    let rows = rows(&terminal);
    assert_eq!(rows[1], rows[7], "CHT 1 and a tab land alike");
    assert_eq!(rows[2], rows[8], "both wrap once");
    assert_eq!(rows[2].matches('*').count(), 10, "{rows:#?}");
    // CHT n from the first column: the nth stop, or the last column.
    let plus: Vec<usize> = rows[4].match_indices('+').map(|(i, _)| i).collect();
    assert_eq!(plus, [8, 16, 24, 32, 40, 48, 56, 64, 72, 79]);
    assert_eq!(terminal.screen().cursor_position(), (8, 73), "the wrap went to the next line");
}
