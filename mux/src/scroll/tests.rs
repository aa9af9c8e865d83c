use super::*;
use crate::terminal::Terminal;

/// A 10×30 terminal that has printed `line 0` .. `line {n-1}`, the
/// cursor on an empty last row.
fn terminal(n: usize) -> Terminal {
    let mut t = Terminal::new(10, 30);
    feed(&mut t, 0..n);
    t
}

fn feed(t: &mut Terminal, lines: std::ops::Range<usize>) {
    let text: String = lines.map(|i| format!("line {i}\r\n")).collect();
    t.process(text.as_bytes());
}

fn press(view: &mut ScrollView, t: &Terminal, keys: &[u8]) -> ScrollAction {
    let mut last = ScrollAction::Stay;
    for key in crate::keys::decode(keys) {
        last = view.handle(key, t.history(), t.screen());
    }
    last
}

fn shown(view: &ScrollView, t: &Terminal) -> Vec<String> {
    let (cols, rows) = t.size();
    view.render(t.history(), t.screen(), rows, cols).iter().map(|l| plain(l).trim_end().to_string()).collect()
}

#[test]
fn starts_at_the_bottom_and_pages_up_and_down() {
    let t = terminal(100);
    let mut view = ScrollView::new(t.history(), t.screen(), 10);
    assert_eq!(t.history().len(), 91);
    assert_eq!(view.position(t.history(), t.screen()), "[0/91]");
    assert_eq!(shown(&view, &t)[0], "line 91");
    assert_eq!(view.cursor_position(t.history(), t.screen()), (9, 0));

    press(&mut view, &t, b"\x1b[5~");
    assert_eq!(view.position(t.history(), t.screen()), "[9/91]");
    assert_eq!(shown(&view, &t)[0], "line 82");
    press(&mut view, &t, b"\x1b[6~\x1b[6~");
    assert_eq!(view.position(t.history(), t.screen()), "[0/91]");

    press(&mut view, &t, b"g");
    assert_eq!(view.position(t.history(), t.screen()), "[91/91]");
    assert_eq!(shown(&view, &t)[0], "line 0");
    assert_eq!(view.cursor_position(t.history(), t.screen()), (0, 0));
    // The cursor moves down through the view, then the view follows.
    press(&mut view, &t, &b"j".repeat(12));
    assert_eq!(view.cursor_position(t.history(), t.screen()), (9, 0));
    assert_eq!(shown(&view, &t)[0], "line 3");
    press(&mut view, &t, b"\x1b[A\x1bOAk");
    assert_eq!(view.cursor_position(t.history(), t.screen()), (6, 0));
    press(&mut view, &t, b"G");
    assert_eq!(view.position(t.history(), t.screen()), "[0/91]");
    assert_eq!(press(&mut view, &t, b"q"), ScrollAction::Leave);
    assert_eq!(press(&mut view, &t, b"\x1b"), ScrollAction::Leave);
}

#[test]
fn view_stays_still_while_output_arrives() {
    let mut t = terminal(200);
    let mut view = ScrollView::new(t.history(), t.screen(), 10);
    press(&mut view, &t, b"\x1b[5~\x1b[5~");
    let before = shown(&view, &t);
    assert_eq!(before[0], "line 173");
    feed(&mut t, 200..1200);
    assert_eq!(shown(&view, &t), before);
    assert_eq!(view.position(t.history(), t.screen()), "[1018/1191]");
    // Keys still work from where the view is.
    press(&mut view, &t, b"k");
    assert_eq!(shown(&view, &t)[0], "line 173");
}

#[test]
fn view_survives_the_oldest_rows_being_dropped() {
    let mut t = Terminal::with_history_limit(10, 30, 500);
    feed(&mut t, 0..600);
    let mut view = ScrollView::new(t.history(), t.screen(), 10);
    press(&mut view, &t, b"\x1b[5~");
    assert_eq!(shown(&view, &t)[0], "line 582");
    feed(&mut t, 600..700);
    assert_eq!(shown(&view, &t)[0], "line 582");
    // Once its own text is dropped, the view holds at the oldest row.
    press(&mut view, &t, b"g");
    feed(&mut t, 700..750);
    assert_eq!(shown(&view, &t)[0], "line 241");
    press(&mut view, &t, b"j");
    assert_eq!(view.position(t.history(), t.screen()), "[500/500]");
}

#[test]
fn resize_clamps() {
    let mut t = terminal(30);
    let mut view = ScrollView::new(t.history(), t.screen(), 10);
    press(&mut view, &t, b"g");
    t.history_mut().set_limit(5);
    t.resize(30, 4);
    view.resize(4);
    let lines = shown(&view, &t);
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0], "line 22");
    assert_eq!(view.cursor_position(t.history(), t.screen()), (0, 0));
    // Taller than everything there is: the rest is blank. (The taller
    // screen pulled the five history rows back, as tmux's does.)
    t.resize(30, 20);
    view.resize(40);
    let (history, screen) = (t.history(), t.screen());
    let lines = view.render(history, screen, 40, 30);
    assert_eq!(lines.len(), 40);
    assert_eq!(view.position(history, screen), "[0/0]");
    press(&mut view, &t, b"\x1b[6~G\x1b[5~gkj");
    let (row, _) = view.cursor_position(t.history(), t.screen());
    assert!(row < 40);
    // Narrower than the history's rows: cut to the width.
    let narrow = view.render(t.history(), t.screen(), 3, 4);
    assert_eq!(plain(&narrow[0]), "line");
}

#[test]
fn search_finds_text_in_history_and_on_screen() {
    let mut t = terminal(50);
    t.process(b"the needle here\r\nmore\r\n");
    let mut view = ScrollView::new(t.history(), t.screen(), 10);
    press(&mut view, &t, b"g/line 4");
    assert_eq!(view.status(t.history(), t.screen()), "/line 4");
    assert!(view.prompting());
    press(&mut view, &t, b"\r");
    assert!(!view.prompting());
    assert_eq!(view.cursor_position(t.history(), t.screen()), (4, 0));
    press(&mut view, &t, b"n");
    assert_eq!(shown(&view, &t)[5], "line 40");
    assert_eq!(view.cursor_position(t.history(), t.screen()), (5, 0));
    press(&mut view, &t, b"nN");
    assert_eq!(view.cursor_position(t.history(), t.screen()), (5, 0));
    press(&mut view, &t, b"N");
    assert_eq!(view.cursor_position(t.history(), t.screen()), (4, 0));
    assert_eq!(shown(&view, &t)[4], "line 4");

    // On the screen, and highlighted there.
    press(&mut view, &t, b"/needle\r");
    assert_eq!(view.position(t.history(), t.screen()), "[0/43]");
    let (row, col) = view.cursor_position(t.history(), t.screen());
    assert_eq!(col, 4);
    let drawn = view.render(t.history(), t.screen(), 10, 30);
    assert!(drawn[usize::from(row)].contains("the \x1b[1;7mneedle\x1b[m here"), "{:?}", drawn[usize::from(row)]);

    // Backward with ?, all matches highlighted, the current one bold.
    press(&mut view, &t, b"?line 1\r");
    let drawn = view.render(t.history(), t.screen(), 10, 30);
    let (row, _) = view.cursor_position(t.history(), t.screen());
    assert!(drawn[usize::from(row)].contains("\x1b[1;7mline 1\x1b[m"), "{drawn:?}");
    assert!(drawn.iter().filter(|l| l.contains("\x1b[7mline 1")).count() > 0, "{drawn:?}");

    press(&mut view, &t, b"/nowhere\r");
    assert!(view.status(t.history(), t.screen()).starts_with("not found: nowhere"));
}

#[test]
fn search_prompt_edits_and_cancels() {
    let t = terminal(50);
    let mut view = ScrollView::new(t.history(), t.screen(), 10);
    press(&mut view, &t, b"/lx\x7fine 7");
    assert_eq!(view.status(t.history(), t.screen()), "/line 7");
    assert_eq!(press(&mut view, &t, b"\x1b"), ScrollAction::Stay);
    assert!(!view.prompting());
    assert_eq!(view.position(t.history(), t.screen()), "[0/41]");
    press(&mut view, &t, b"?x\x7f\x7f");
    assert!(!view.prompting());
}

#[test]
fn highlights_keep_the_rows_own_colors() {
    // "bc" marked: it starts in the default colors and ends in red.
    let marks = [Mark { start: 1, end: 3, sgr: MATCH }];
    let line = decorate("ab\x1b[31mcd\x1b[32mef\x1b[m g", 80, &marks, None);
    assert_eq!(line, "\x1b[ma\x1b[7mb\x1b[31m\x1b[7mc\x1b[m\x1b[31md\x1b[32mef\x1b[m g\x1b[m");
    let mut t = Terminal::new(1, 10);
    t.process(line.as_bytes());
    let cell = |c| t.screen().cell(0, c).unwrap().clone();
    assert!(!cell(0).inverse() && cell(1).inverse() && cell(2).inverse() && !cell(3).inverse());
    assert_eq!(cell(2).fgcolor(), vt100::Color::Idx(1));
    assert_eq!(cell(3).fgcolor(), vt100::Color::Idx(1));
    assert_eq!(cell(4).fgcolor(), vt100::Color::Idx(2));
    assert_eq!(cell(7).fgcolor(), vt100::Color::Default);

    // A mark across a reset in the row stays on; a selected line is
    // reversed to the full width.
    let marks = [Mark { start: 0, end: 2, sgr: MATCH }];
    let line = decorate("\x1b[31ma\x1b[mb", 4, &marks, Some(SELECTED));
    let mut t = Terminal::new(1, 10);
    t.process(line.as_bytes());
    assert!((0..4).all(|c| t.screen().cell(0, c).unwrap().inverse()));
    assert!(!t.screen().cell(0, 4).unwrap().inverse());
}

#[test]
fn hyperlinks_in_rows_are_kept_and_closed_at_the_views_edge() {
    // The URI holds an `m`, which must not be taken for the end of an SGR.
    let row = "a \x1b]8;;file:///tmp/m.rs\x1b\\m.rs\x1b]8;;\x1b\\ b";
    let marks = [Mark { start: 2, end: 3, sgr: MATCH }];
    let line = decorate(row, 80, &marks, None);
    assert_eq!(line, "\x1b[ma \x1b]8;;file:///tmp/m.rs\x1b\\\x1b[7mm\x1b[m.rs\x1b]8;;\x1b\\ b\x1b[m");
    let mut t = Terminal::new(1, 10);
    t.process(line.as_bytes());
    let uri = |c| t.screen().hyperlink(t.screen().cell(0, c).expect("a cell")).map(|l| l.uri().to_string());
    assert_eq!(
        (0..7).map(uri).collect::<Vec<_>>(),
        [
            None,
            None,
            Some("file:///tmp/m.rs".into()),
            Some("file:///tmp/m.rs".into()),
            Some("file:///tmp/m.rs".into()),
            Some("file:///tmp/m.rs".into()),
            None
        ]
    );
    // Cut inside the link, the line closes it.
    let cut = decorate(row, 4, &[], None);
    assert_eq!(cut, "\x1b[ma \x1b]8;;file:///tmp/m.rs\x1b\\m.\x1b]8;;\x1b\\\x1b[m");
}

#[test]
fn selection_is_drawn_and_yanked() {
    let mut t = terminal(30);
    t.process(b"0123456789012345678901234567890123456789\r\n");
    let mut view = ScrollView::new(t.history(), t.screen(), 10);
    press(&mut view, &t, b"\x1b[5~");
    let first = shown(&view, &t)[view.cursor_position(t.history(), t.screen()).0 as usize].clone();
    assert_eq!(first, "line 23");
    press(&mut view, &t, b"vjj");
    let drawn = view.render(t.history(), t.screen(), 10, 30);
    let selected = drawn.iter().filter(|l| l.starts_with("\x1b[m\x1b[7m")).count();
    assert_eq!(selected, 3);
    assert_eq!(press(&mut view, &t, b"y"), ScrollAction::Yank("line 23\nline 24\nline 25".into()));

    // Upward, and a wrapped row joined to its continuation.
    let mut view = ScrollView::new(t.history(), t.screen(), 10);
    press(&mut view, &t, b"kvkkk");
    assert_eq!(
        press(&mut view, &t, b"y"),
        ScrollAction::Yank("line 28\nline 29\n0123456789012345678901234567890123456789".into())
    );
    // With no selection, the cursor's line.
    let mut view = ScrollView::new(t.history(), t.screen(), 10);
    press(&mut view, &t, b"kkkk");
    assert_eq!(press(&mut view, &t, b"y"), ScrollAction::Yank("line 28".into()));
}

#[test]
fn osc52_encodes_base64() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    assert_eq!(osc52("héllo\n"), "\x1b]52;c;aMOpbGxvCg==\x07");
}

#[test]
fn wheeling_back_to_the_bottom_leaves() {
    let t = terminal(100);
    let mut view = ScrollView::new(t.history(), t.screen(), 10);
    let up = b"\x1b[<64;1;1M";
    let down = b"\x1b[<65;1;1M";
    assert_eq!(press(&mut view, &t, up), ScrollAction::Stay);
    assert_eq!(press(&mut view, &t, up), ScrollAction::Stay);
    assert_eq!(view.position(t.history(), t.screen()), "[10/91]");
    assert_eq!(press(&mut view, &t, down), ScrollAction::Stay);
    assert_eq!(press(&mut view, &t, down), ScrollAction::Leave, "back at the bottom");
    // PageDown to the bottom stays: only the wheel leaves on its own.
    let mut view = ScrollView::new(t.history(), t.screen(), 10);
    press(&mut view, &t, b"\x1b[5~");
    assert_eq!(press(&mut view, &t, b"\x1b[6~"), ScrollAction::Stay);
}
