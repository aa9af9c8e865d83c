//! Panes through the real binary: splitting, splits in a split against
//! tmux's, keys going only to the focused pane, zoom, layouts, killing a
//! pane's session, `qmux split`, and two clients with different layouts over
//! the same sessions.

use std::process::Command;

use qmux_e2e::Env;

const COLS: u16 = 101;
const ROWS: u16 = 31;

fn size_is(env: &Env, name: &str, size: &str) {
    let what = format!("{name} at {size}");
    env.wait_ls(&what, |s| s.iter().any(|l| l.name == name && l.line.contains(size)));
}

/// Session `a` running cat, attached, split with prefix `%`: the client,
/// and the new pane's session's name.
fn split_in_two(env: &Env) -> (qmux_e2e::Term, String) {
    env.start_detached("a", &["cat"]);
    let mut term = env.attach(&["attach", "-t", "a"], COLS, ROWS);
    term.wait_marker("a", "*");
    term.prefix(b'%');
    // 101 columns: two panes of 50 and a border; 30 rows less a header.
    env.wait_ls("a second session", |s| s.len() == 2);
    let b = env.sessions().into_iter().find(|s| s.name != "a").expect("the new pane's session").name;
    size_is(env, "a", "[50x29]");
    size_is(env, &b, "[50x29]");
    (term, b)
}

#[test]
fn split_type_zoom_cycle_and_kill() {
    let env = Env::with_config("default-command = [\"cat\"]\n");
    let (mut term, b) = split_in_two(&env);
    term.type_str("to the right\r");
    term.wait_text("to the right");
    assert!(env.capture(&b).contains("to the right"), "the focused pane's session got it");
    assert!(!env.capture("a").contains("to the right"), "the other did not");
    // Prefix and the left arrow: the left pane.
    term.send(b"\x02\x1b[D");
    term.type_str("to the left\r");
    term.wait_text("to the left");
    assert!(env.capture("a").contains("to the left"));
    term.prefix(b'z');
    size_is(&env, "a", "[101x30]");
    // The bar says so, as tmux's window list flags a zoomed pane with Z.
    term.wait_status(|row| row.contains(":a*Z"), "the zoomed pane flagged");
    term.prefix(b'z');
    size_is(&env, "a", "[50x29]");
    term.wait_status(|row| row.contains(":a*") && !row.contains('Z'), "the flag gone with the zoom");
    term.prefix(b' ');
    term.wait_status(|row| row.contains("layout even-vertical"), "the next layout");
    size_is(&env, "a", "[101x13]");
    // Killing the focused pane's session closes the pane.
    term.prefix(b'x');
    term.type_str("y");
    env.wait_ls("a killed", |s| s.len() == 1);
    size_is(&env, &b, "[101x30]");
}

#[test]
fn qmux_split_shows_an_existing_session_and_clients_keep_their_own_layouts() {
    let env = Env::new();
    env.start_detached("a", &["sh"]);
    env.start_detached("b", &["cat"]);
    let mut split = env.attach(&["attach", "-t", "a"], COLS, ROWS);
    split.wait_marker("a", "*");
    let mut whole = env.attach(&["attach", "-t", "b"], 120, 40);
    whole.wait_marker("b", "*");
    split.type_str("qmux split -h -t b\r");
    size_is(&env, "b", "[50x29]");
    size_is(&env, "a", "[50x29]");
    // The other client still shows b alone, at the size both can show.
    whole.wait_for(|s| s.contents().contains('.'), "dots beside the smaller session");
    split.type_str("beside\r");
    split.wait_text("beside");
    assert!(env.capture("b").contains("beside"), "keys went to the pane the split focused");
}

/// `qmux watch` tiles every session; `qmux next --attention` names, or
/// from inside goes to, the session that needs you.
#[test]
fn watch_and_the_jump_to_whoever_needs_you() {
    let env = Env::new();
    env.start_detached("a", &["cat"]);
    env.start_detached("asks", &["sh", "-c", "printf 'Allow this action? [y/n/t]: '; exec cat"]);
    env.wait_state("asks", "approval");
    let out = env.qmux(&["next", "--attention"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1", "its index, a TARGET");
    let mut term = env.attach(&["watch"], COLS, ROWS);
    term.wait_text(" 0:a");
    term.wait_text(" 1:asks?");
    size_is(&env, "a", "[50x29]");
    term.prefix(b'a');
    term.wait_marker("asks", "*");
}

/// Prefix `%` from an agent's pane starts the default command, named for
/// it and said in the status bar; going to a session outside the split
/// shows it alone, and coming back brings the split back, as tmux windows.
#[test]
fn a_split_names_what_it_started_and_comes_back_after_another_session() {
    let env = Env::new();
    env.start_detached("claude", &["cat"]);
    let mut term = env.attach(&["attach", "-t", "claude"], COLS, ROWS);
    term.wait_marker("claude", "*");
    term.prefix(b'%');
    term.wait_status(|row| row.contains("split: started 1:qmux-chat"), "the split saying what it started");
    size_is(&env, "qmux-chat", "[50x29]");
    env.start_detached("other", &["cat"]);
    term.prefix(b'n');
    term.wait_marker("other", "*");
    size_is(&env, "other", "[101x30]");
    assert!(!term.screen_text().contains(" 0:claude "), "the split is put away:\n{}", term.dump());
    term.prefix(b'l');
    term.wait_marker("qmux-chat", "*");
    term.wait_text(" 0:claude");
    size_is(&env, "claude", "[50x29]");
}

/// `qmux watch` takes keys as prefix `W` does: Enter goes to the focused
/// tile's program.
#[test]
fn watch_sends_enter_to_the_focused_tile() {
    let env = Env::new();
    env.start_detached("a", &["cat"]);
    env.start_detached("b", &["cat"]);
    let mut term = env.attach(&["watch"], COLS, ROWS);
    term.wait_status(|row| row.contains("keys go to the focused tile"), "the watch saying where keys go");
    let focused = term.focused().expect("a focused tile").name;
    term.type_str("typed in the watch\r");
    // The terminal's echo, then cat's copy of the line it was given.
    let submitted = || env.capture(&focused).matches("typed in the watch").count() == 2;
    let what = "cat to write the line back";
    qmux_e2e::poll_until(qmux_e2e::DEFAULT_TIMEOUT, what, || submitted().then_some(()), || env.capture(&focused));
}

/// A layout comes back when the client attaches again, and after the
/// server is gone, with `qmux restore`.
#[test]
fn a_layout_comes_back_after_detach_and_after_restore() {
    let env = Env::new();
    env.start_detached("a", &["cat"]);
    env.start_detached("b", &["cat"]);
    let mut term = env.attach(&["attach", "-t", "a"], COLS, ROWS);
    term.wait_marker("a", "*");
    term.prefix(b'W');
    size_is(&env, "a", "[50x29]");
    term.prefix(b'd');
    term.wait_exit();
    let mut term = env.attach(&["attach", "-t", "b"], COLS, ROWS);
    term.wait_text(" 0:a");
    size_is(&env, "b", "[50x29]");
    env.qmux_ok(&["kill-server"]);
    term.wait_exit();
    env.qmux_ok(&["restore"]);
    let mut term = env.attach(&["attach", "-t", "a"], COLS, ROWS);
    term.wait_text(" 1:b");
    size_is(&env, "a", "[50x29]");
    size_is(&env, "b", "[50x29]");
}

#[test]
fn prefix_alt_arrows_and_a_mouse_drag_move_a_border() {
    let env = Env::with_config("default-command = [\"cat\"]\n");
    let (mut term, b) = split_in_two(&env);
    // The focused right pane: Alt-Left moves its left border 5 cells left,
    // Ctrl-Right one back.
    term.send(b"\x02\x1b[1;3D");
    size_is(&env, "a", "[45x29]");
    size_is(&env, &b, "[55x29]");
    term.send(b"\x02\x1b[1;5C");
    size_is(&env, "a", "[46x29]");
    // The border is now column 47 (one-based): drag it to column 71.
    term.send(b"\x1b[<0;47;10M\x1b[<32;60;10M\x1b[<32;71;10M\x1b[<0;71;10m");
    size_is(&env, "a", "[70x29]");
    size_is(&env, &b, "[30x29]");
    term.type_str("still typing\r");
    term.wait_text("still typing");
    assert!(env.capture(&b).contains("still typing"), "keys still go to the focused pane");
}

/// tmux's panes (left, top, width, height) after `splits` (split-window's
/// flags, each in the pane the last one made) in a `cols` × `rows` window:
/// where qmux's panes should be, their header rows in their heights.
fn tmux_panes(env: &Env, cols: u16, rows: u16, splits: &[&str]) -> Vec<(u16, u16, u16, u16)> {
    let socket = env.root().join("tmux.sock");
    let tmux = |args: &[&str]| {
        let out = Command::new("tmux")
            .env_clear()
            .envs(env.vars())
            .arg("-S")
            .arg(&socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs (.ci/run installs it)");
        assert!(out.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (x, y) = (cols.to_string(), rows.to_string());
    tmux(&["new-session", "-d", "-x", &x, "-y", &y, "cat"]);
    for flag in splits {
        tmux(&["split-window", flag, "cat"]);
    }
    let window = tmux(&["list-windows", "-F", "#{window_width}x#{window_height}"]);
    let panes = tmux(&["list-panes", "-F", "#{pane_left} #{pane_top} #{pane_width} #{pane_height}"]);
    tmux(&["kill-server"]);
    assert_eq!(window.trim(), format!("{cols}x{rows}"), "tmux's window is the size asked for");
    let number = |n: &str| n.parse::<u16>().expect("a number");
    let pane = |l: &str| {
        let n: Vec<u16> = l.split(' ').map(number).collect();
        (n[0], n[1], n[2], n[3])
    };
    panes.lines().map(pane).collect()
}

/// Prefix `%`, then prefix `"` in the new right pane: the right pane alone
/// is split, as tmux splits it, and the three come back after a detach and
/// after `qmux restore`.
#[test]
fn a_split_in_a_split_is_tmuxs_and_comes_back_after_detach_and_restore() {
    let env = Env::with_config("default-command = [\"cat\"]\n");
    let (mut term, b) = split_in_two(&env);
    term.prefix(b'"');
    env.wait_ls("a third session", |s| s.len() == 3);
    let c = env.sessions().into_iter().find(|s| s.name != "a" && s.name != b).expect("the third pane's session").name;
    // A 101×30 area for panes: a pane's session has its size less the
    // header row.
    let expected = [(0, 0, 50, 30), (51, 0, 50, 15), (51, 16, 50, 14)];
    assert_eq!(tmux_panes(&env, COLS, ROWS - 1, &["-h", "-v"]), expected, "tmux's geometry");
    let sizes_are = |env: &Env| {
        for (name, (_, _, w, h)) in [("a", expected[0]), (b.as_str(), expected[1]), (c.as_str(), expected[2])] {
            size_is(env, name, &format!("[{w}x{}]", h - 1));
        }
    };
    sizes_are(&env);
    // The borders: down the middle the whole height, and across the right
    // half only, joined as tmux joins them.
    let across = |s: &vt100::Screen| (51..101).all(|col| s.cell(15, col).is_some_and(|c| c.contents() == "─"));
    term.wait_for(across, "a border across the right half");
    let cell = |row, col| term.screen(|s| s.cell(row, col).map(|c| c.contents().to_string()).unwrap_or_default());
    assert_eq!((cell(0, 50), cell(15, 50), cell(29, 50)), ("│".into(), "├".into(), "│".into()));
    assert_eq!(cell(15, 49), " ", "the left pane goes on beside it");
    term.prefix(b'd');
    term.wait_exit();
    let mut term = env.attach(&["attach", "-t", &c], COLS, ROWS);
    term.wait_text(" 0:a");
    sizes_are(&env);
    env.qmux_ok(&["kill-server"]);
    term.wait_exit();
    env.qmux_ok(&["restore"]);
    let mut term = env.attach(&["attach", "-t", "a"], COLS, ROWS);
    term.wait_text(&format!(" 1:{b}"));
    sizes_are(&env);
}

/// Two clients, 80×24 and 160×45, on a program that redraws rows (erasing
/// them to their end first, as Claude Code does) and wraps a long line:
/// the larger client shows the session's 80×23 as the smaller one does,
/// with dots beside and below it on every row, as tmux shows them.
#[test]
fn a_larger_client_keeps_its_dots_beside_rows_the_program_redraws() {
    let env = Env::new();
    // The rows, then (once both clients show them) the same rows redrawn.
    let redraw = env.work_dir().join("redraw");
    let script = format!(
        "printf 'row 1\\r\\nrow 2\\r\\nrow 3 long\\r\\nrow 4\\r\\nrow 5 long'; \
         until [ -e '{}' ]; do sleep 0.02; done; \
         printf '\\033[3;1H\\033[2Kredrawn\\033[5;4H\\033[K\\033[1;3H\\033[1K'; \
         printf '\\033[7;1H%0100d\\r\\nafter the wrap'; exec cat",
        redraw.display()
    );
    let command = env.after_trigger("go", &script);
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    env.start_detached("draw", &command);
    let mut small = env.attach(&["attach", "-t", "draw"], 80, 24);
    small.wait_marker("draw", "*");
    let mut large = env.attach(&["attach", "-t", "draw"], 160, 45);
    large.wait_marker("draw", "*");
    size_is(&env, "draw", "[80x23]");
    large.wait_for(|s| s.contents().contains('.'), "dots beside the smaller session");
    env.trigger("go");
    small.wait_text("row 5 long");
    large.wait_text("row 5 long");
    env.trigger("redraw");
    small.wait_text("after the wrap");
    let expected: Vec<String> = small.session_rows();
    let wrapped = ["0".repeat(80), "0".repeat(20), "after the wrap".into()];
    assert_eq!(expected[..5], ["    1", "row 2", "redrawn", "row 4", "row"], "as the program drew them");
    assert_eq!(expected[6..9], wrapped);
    let dots = |n: usize| ".".repeat(n);
    let mut want: Vec<String> = expected.iter().map(|row| format!("{row:<80}{}", dots(80))).collect();
    want.extend((23..44).map(|_| dots(160)));
    large.wait_for(
        |s| qmux_e2e::session_rows(s) == want,
        &format!("the larger client to show the session's rows, dots beside and below:\n{}", want.join("\n")),
    );
}

/// A pane opened beside a chat, in its directory and running the same
/// chat, warns on the bar that only one can be resumed: whole, and for
/// longer than a passing message (it was cut at the edge and gone in 3 s).
#[test]
fn a_second_chat_in_one_directory_is_warned_about_whole_on_the_bar() {
    let env = Env::new();
    env.qmux_ok(&["new", "-d", "-s", "one"]);
    let mut term = env.attach(&["attach", "-t", "one"], COLS, ROWS);
    term.wait_marker("one", "*");
    term.prefix(b'%');
    let warning = "0:one runs qmux-chat here too: only one resumes after a restart";
    term.wait_status(|row| row.contains(warning), "the warning, whole");
    std::thread::sleep(std::time::Duration::from_secs(5));
    assert!(term.status_row().contains(warning), "still up after 5 s: {}", term.status_row());
}
