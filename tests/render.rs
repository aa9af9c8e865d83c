//! What you see inside qmux is what the program drew, with a real terminal
//! as the judge: tmux shows the program once directly and once through a
//! qmux client, and `capture-pane -e` of both must agree cell for cell,
//! attributes included.

use std::num::NonZeroU16;
use std::process::Command;
use std::time::Duration;

use qmux_e2e::{poll_until, scaled, Env};

/// A tmux server of the test's own, as the user's terminal.
struct Tmux {
    socket: String,
    env: Vec<(String, String)>,
}

impl Tmux {
    fn new(env: &Env) -> Tmux {
        let socket = env.root().join("tmux.sock").to_string_lossy().into_owned();
        let vars = env.vars().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        Tmux { socket, env: vars }
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .args(["-S", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs (.ci/run installs it)");
        assert!(out.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The pane's rows with their attributes, as tmux keeps them.
    fn capture(&self, target: &str) -> Vec<String> {
        self.run(&["capture-pane", "-p", "-e", "-t", target]).lines().map(str::to_string).collect()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-S", &self.socket, "kill-server"]).output();
    }
}

/// Bold then dim, both at once, and the colours and attributes around them.
const DRAWING: &str = r"printf '\033[1mB\033[22m\033[2mDIM\033[m \033[1;2mBOTH\033[m \033[1mb\033[2md\033[22mn \033[31;1mR\033[22;2mr\033[m\n'";

/// Runs `script` straight in tmux and in qmux shown by a client in tmux, at
/// 80x24 both, and compares the first `rows` rows as tmux holds them once
/// the first row shows `marker`.
fn first_rows_match(script: &str, marker: &str) {
    rows_match(script, marker, 1);
}

fn rows_match(script: &str, marker: &str, rows: usize) {
    let env = Env::new();
    let tmux = Tmux::new(&env);
    start_both(&env, &tmux, script);
    let shown = |target: &str| tmux.capture(target).into_iter().take(rows).collect::<Vec<_>>().join("\n");
    poll_until(
        scaled(Duration::from_secs(10)),
        "both panes to show the drawing",
        || (shown("direct").contains(marker) && shown("viaqmux").contains(marker)).then_some(()),
        || format!("direct: {:?}\nqmux: {:?}", tmux.capture("direct"), tmux.capture("viaqmux")),
    );
    let (via, direct) = (shown("viaqmux"), shown("direct"));
    assert_eq!(via, line_drawing(&direct), "the rows as tmux holds them, through qmux and directly");
}

/// Runs `script` in tmux's session `direct` at 80x24, and in qmux's session
/// `drawn`, shown by a client in tmux's session `viaqmux` (a row taller,
/// for the status bar).
fn start_both(env: &Env, tmux: &Tmux, script: &str) {
    start_both_at(env, tmux, &format!("{script}; exec cat"), (80, 24));
}

/// Runs the shell command `script` in tmux's session `direct` and in qmux's
/// session `drawn`, shown by a client in tmux's session `viaqmux`, at
/// `cols`x`rows` both (the client a row taller, for the status bar).
fn start_both_at(env: &Env, tmux: &Tmux, script: &str, (cols, rows): (u16, u16)) {
    let (x, y, client_y) = (cols.to_string(), rows.to_string(), (rows + 1).to_string());
    tmux.run(&["new-session", "-d", "-s", "direct", "-x", &x, "-y", &y, "sh", "-c", script]);
    // qmux's client runs in a terminal that says what it draws, as tmux's
    // own entry does (underline styles).
    tmux.run(&["set", "-g", "default-terminal", "tmux-256color"]);
    // The session starts at the size the client will show it at.
    env.qmux_ok(&["new", "-d", "-s", "drawn", "-x", &x, "-y", &y, "--", "sh", "-c", script]);
    let qmux = env.bin("qmux").to_string_lossy().into_owned();
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "viaqmux",
        "-x",
        &x,
        "-y",
        &client_y,
        &qmux,
        "-f",
        "/dev/null",
        "attach",
        "-t",
        "drawn",
    ]);
}

/// tmux's capture writes its line-drawing cells as the ACS letters between
/// SO and SI; qmux keeps the Unicode box drawing characters they stand for.
fn line_drawing(captured: &str) -> String {
    let mut out = String::new();
    let mut acs = false;
    for c in captured.chars() {
        match c {
            '\u{e}' => acs = true,
            '\u{f}' => acs = false,
            'j' if acs => out.push('┘'),
            'k' if acs => out.push('┐'),
            'l' if acs => out.push('┌'),
            'm' if acs => out.push('└'),
            'n' if acs => out.push('┼'),
            'q' if acs => out.push('─'),
            't' if acs => out.push('├'),
            'u' if acs => out.push('┤'),
            'v' if acs => out.push('┴'),
            'w' if acs => out.push('┬'),
            'x' if acs => out.push('│'),
            c => out.push(c),
        }
    }
    out
}

#[test]
fn bold_and_dim_look_the_same_through_qmux_as_in_the_terminal() {
    first_rows_match(DRAWING, "BOTH");
}

/// DEC line drawing through G0 (`ESC ( 0`) and through G1 with SO/SI, as
/// `dialog` and vttest draw their borders under a TERM without UTF-8 boxes.
#[test]
fn dec_line_drawing_looks_the_same_through_qmux_as_in_the_terminal() {
    first_rows_match(r"printf '\033(0lqqk\033(B \033)0\016tqu\017 x done\n'", "done");
}

/// Index, next line, and the cursor saved and restored with `CSI s`/`u`.
#[test]
fn index_next_line_and_saved_cursor_look_the_same_through_qmux() {
    rows_match(r"printf 'ab\033Dc\033Ed\033[s\033[6;5Hx\033[uy done'", "x", 6);
}

/// The screen alignment test fills the screen with E.
#[test]
fn decaln_looks_the_same_through_qmux() {
    rows_match(r"printf '\033[31m\033#8\033[mdone'", "done", 24);
}

/// A program in a pane beside another shows what it shows in a tmux pane
/// of the same size: scrolling, a scroll region, absolute moves, attributes
/// and a long line cut at the pane's edge, compared row by row.
#[test]
fn a_program_in_a_pane_looks_the_same_as_in_a_terminal_of_the_pane_size() {
    let env = Env::new();
    let tmux = Tmux::new(&env);
    let script =
        "printf '\\033[2J\\033[H'; i=1; while [ $i -le 40 ]; do printf 'line %s of a text that scrolls\\n' $i; \
                  i=$((i+1)); done; printf '\\033[5;10r\\033[5;1Hregion\\033[10;1H\\n\\nin the region\\033[r'; \
                  printf '\\033[20;3H\\033[1;31mred\\033[m and \\033[7mreverse\\033[m \\033[2K\\033[21;1Hx%.0s' 1; \
                  printf '\\033[25;1H%060d' 7; printf '\\033[27;40Hdone'; exec cat";
    // The pane's session is 50x29: the left of two panes in a 101x31 client.
    tmux.run(&["new-session", "-d", "-s", "direct", "-x", "50", "-y", "29", "sh", "-c", script]);
    env.qmux_ok(&["new", "-d", "-s", "left", "-x", "50", "-y", "29", "--", "sh", "-c", script]);
    env.qmux_ok(&["new", "-d", "-s", "right", "-x", "50", "-y", "29", "--", "cat"]);
    let qmux = env.bin("qmux").to_string_lossy().into_owned();
    // `qmux watch` tiles both at once: the left pane is 50x29 from the start.
    tmux.run(&["new-session", "-d", "-s", "viaqmux", "-x", "101", "-y", "31", &qmux, "-f", "/dev/null", "watch"]);
    let pane = |target: &str| tmux.run(&["capture-pane", "-p", "-t", target]);
    poll_until(
        scaled(Duration::from_secs(10)),
        "both to draw the script",
        || (pane("direct").contains("done") && pane("viaqmux").contains("done")).then_some(()),
        || format!("direct:\n{}\nqmux:\n{}", pane("direct"), pane("viaqmux")),
    );
    let left_pane = || -> Vec<String> {
        pane("viaqmux")
            .lines()
            .skip(1)
            .take(29)
            .map(|r| r.chars().take(50).collect::<String>().trim_end().to_string())
            .collect()
    };
    poll_until(
        scaled(Duration::from_secs(10)),
        "the tiled view",
        || pane("viaqmux").contains(" 1:right").then_some(()),
        || pane("viaqmux"),
    );
    let direct: Vec<String> = pane("direct").lines().take(29).map(|r| r.trim_end().to_string()).collect();
    let mut direct = direct;
    direct.resize(29, String::new());
    poll_until(
        scaled(Duration::from_secs(10)),
        "the left pane to match the terminal",
        || (left_pane() == direct).then_some(()),
        || {
            format!(
                "direct:\n{}\nin the pane:\n{}\nthe client:\n{}",
                direct.join("\n"),
                left_pane().join("\n"),
                pane("viaqmux")
            )
        },
    );
}

/// Insert mode (`CSI 4 h`): text pushes the rest of the row right, until
/// `CSI 4 l`.
#[test]
fn insert_mode_looks_the_same_through_qmux() {
    rows_match(r"printf 'abcdef\r\033[2C\033[4hXY\033[4lZ\r\n%078d\r\033[4hins\033[4l\r\ndone' 5", "done", 3);
}

/// Tab stops set and cleared (HTS, TBC) and followed forward and back
/// (HT, CBT). tmux 3.3a has no CHT (`CSI I`); vt100's own test covers it,
/// as esctest has xterm do it.
#[test]
fn tab_stops_look_the_same_through_qmux() {
    rows_match(
        r"printf 'a\tb\tc\r\n\033[3g\033[5G\033H\033[20G\033H\rA\tB\tC\033[2ZD\r\n\033[5G\033[g\r1\t2\r\ndone'",
        "done",
        4,
    );
}

/// The alternate screen by `?47` and `?1047`: cleared, with the cursor
/// where it was, both ways.
#[test]
fn the_alternate_screens_cursor_is_the_same_through_qmux() {
    rows_match(
        r"printf 'main\r\nrow2\033[2;3H\033[?1047hx\033[4;5H\033[?1047lA\033[1;2H\033[?47hy\033[?47lB\033[6;1Hdone'",
        "done",
        6,
    );
}

/// DECCOLM (`CSI ? 3 h`/`l`): the width stays, the screen is cleared and
/// the cursor homed.
#[test]
fn deccolm_looks_the_same_through_qmux() {
    rows_match(r"printf 'one\r\ntwo\033[?3hX\r\nthree\033[?3lY\033[5;1Hdone'", "done", 5);
}

/// Colours in the colon form (`38:2::r:g:b`), as newer programs write them.
#[test]
fn colon_form_colours_look_the_same_through_qmux() {
    first_rows_match(r"printf '\033[38:2::10:20:30mfg\033[48:2::200:100:0mbg\033[38:5:99mix\033[m done\n'", "done");
}

/// The first 16 colours in the 256-colour form and in the 16-colour one:
/// the same palette entries, kept apart as tmux keeps them (opencode draws
/// its logo in `38;5;8`).
#[test]
fn low_colours_in_the_256_colour_form_look_the_same_through_qmux() {
    first_rows_match(
        r"printf '\033[38;5;8mgrey\033[90mbright\033[48;5;15mwhite\033[107mtoo\033[38;5;1;48;5;2mlow\033[m done\n'",
        "done",
    );
}

/// Strikethrough, blink and concealed text, as markdown and diagnostics use
/// them.
#[test]
fn strikethrough_blink_and_conceal_look_the_same_through_qmux() {
    first_rows_match(
        r"printf '\033[9mstruck\033[29m \033[5mblink\033[25m \033[8mhidden\033[28m \033[9;31;5mall\033[m done\n'",
        "done",
    );
}

/// Autowrap off (`CSI ? 7 l`): a long line stops at the right margin.
#[test]
fn underline_styles_colours_and_overline_look_the_same_through_qmux() {
    rows_match(
        r"printf '\033[4:3;58:2::255:0:0mcurly\033[m \033[4:2mdouble\033[4:4m dotted\033[4:5m dashed\033[24m \033[58;5;33;4mblue\033[59m text\033[m \033[53mover\033[55m plain \033[21mtwo\033[m done'",
        "done",
        1,
    );
}

#[test]
fn autowrap_off_looks_the_same_through_qmux() {
    rows_match(r"printf '\033[?7l%0100d\033[?7h\r\nnext done' 5", "done", 3);
}

#[test]
fn a_resize_rewraps_lines_as_the_terminal_does() {
    let env = Env::new();
    let tmux = Tmux::new(&env);
    // Coloured lines from 6 to 93 cells, seven of them scrolled into
    // history, and a prompt with the cursor after it.
    start_both(
        &env,
        &tmux,
        r"for i in $(seq 1 30); do printf '\033[3%dm%02d\033[m %s\n' $((i % 7 + 1)) $i $(printf 'w%.0s' $(seq 1 $((i * 3)))); done; printf 'done'",
    );
    let screen = |target: &str| tmux.capture(target).into_iter().take(24).collect::<Vec<_>>();
    poll_until(
        scaled(Duration::from_secs(10)),
        "both panes to show the lines",
        || (screen("direct").join("").contains("done") && screen("viaqmux").join("").contains("done")).then_some(()),
        || format!("direct: {:?}\nqmux: {:?}", screen("direct"), screen("viaqmux")),
    );
    for cols in ["50", "80", "33", "80", "120"] {
        tmux.run(&["resize-window", "-t", "direct", "-x", cols, "-y", "24"]);
        tmux.run(&["resize-window", "-t", "viaqmux", "-x", cols, "-y", "25"]);
        poll_until(
            scaled(Duration::from_secs(10)),
            &format!("the screen rewrapped at {cols} columns through qmux as directly"),
            || (screen("viaqmux") == screen("direct")).then_some(()),
            || format!("direct: {:#?}\nqmux: {:#?}", screen("direct"), screen("viaqmux")),
        );
    }
    // History and screen, every line whole again.
    let trimmed = |text: String| text.trim_end().lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
    let direct = trimmed(tmux.run(&["capture-pane", "-p", "-S", "-", "-t", "direct"]));
    let drawn = trimmed(env.qmux_ok(&["capture", "-t", "drawn", "-S", "-"]));
    assert_eq!(drawn, direct, "qmux's history and screen against tmux's");
    assert!(drawn.contains(&format!("30 {}", "w".repeat(90))), "the longest line whole: {drawn}");
}

/// Captured rows as the cells they stand for, each row formatted again by
/// vt100: two captures that differ only in where an attribute reset falls
/// (tmux writes one where a row's used cells end, and a frame's erase uses
/// the cells after the text) compare equal.
fn cells(rows: &[String], cols: u16) -> Vec<String> {
    let height = u16::try_from(rows.len()).ok().and_then(NonZeroU16::new).unwrap_or(NonZeroU16::MIN);
    let mut parser = vt100::Parser::new(height, NonZeroU16::new(cols).unwrap_or(NonZeroU16::MIN), 0);
    parser.process(rows.join("\r\n").as_bytes());
    parser.screen().rows_formatted(0, cols).collect()
}

/// Waits until qmux shows, in its first `rows` rows at `cols` columns, the
/// cells tmux shows directly; returns tmux's rows.
fn wait_same_screen(tmux: &Tmux, (cols, rows): (u16, u16), what: &str) -> Vec<String> {
    let screen = |target: &str| tmux.capture(target).into_iter().take(rows.into()).collect::<Vec<_>>();
    poll_until(
        scaled(Duration::from_secs(10)),
        what,
        || {
            let direct = screen("direct");
            (cells(&screen("viaqmux"), cols) == cells(&direct, cols)).then_some(direct)
        },
        || format!("direct: {:#?}\nqmux: {:#?}", screen("direct"), screen("viaqmux")),
    )
}

/// Resizes tmux's `direct` and qmux's client to `cols`x`rows` at once, and
/// waits until qmux's screen is tmux's, cell for cell; returns it.
fn resize_both(tmux: &Tmux, (cols, rows): (u16, u16), step: &str) -> Vec<String> {
    let (x, y, client_y) = (cols.to_string(), rows.to_string(), (rows + 1).to_string());
    tmux.run(&["resize-window", "-t", "direct", "-x", &x, "-y", &y]);
    tmux.run(&["resize-window", "-t", "viaqmux", "-x", &x, "-y", &client_y]);
    wait_same_screen(tmux, (cols, rows), &format!("{step}: qmux's screen at {cols}x{rows} to be the terminal's"))
}

/// Issue 24: bash's five lines and prompt survive the width and the height
/// shrinking together, and the height growing back, as in tmux.
#[test]
fn shrinking_width_and_height_together_keeps_the_screen_as_the_terminal_does() {
    let env = Env::new();
    let tmux = Tmux::new(&env);
    let script = "export TERM=tmux-256color; printf 'line %s\\n' 1 2 3 4 5; PS1='$ ' exec bash --norc --noprofile -i";
    start_both_at(&env, &tmux, script, (160, 45));
    poll_until(
        scaled(Duration::from_secs(10)),
        "bash's prompt under its five lines",
        || tmux.capture("direct").get(5).is_some_and(|r| r.starts_with('$')).then_some(()),
        || format!("{:#?}", tmux.capture("direct")),
    );
    wait_same_screen(&tmux, (160, 45), "qmux to show bash as the terminal does");
    for size in [(100, 30), (80, 20), (60, 25)] {
        let shown = resize_both(&tmux, size, "bash's lines");
        let lines: Vec<&str> = shown.iter().map(|r| r.trim_end()).filter(|r| !r.is_empty()).collect();
        assert_eq!(lines, ["line 1", "line 2", "line 3", "line 4", "line 5", "$"], "at {size:?}");
    }
}

/// A small xorshift generator: the same seed, the same sequence.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Lines of words up to a few screens wide: plain, coloured (foreground and
/// background), bold and wide (CJK), some blank, then a prompt with the
/// cursor after it.
fn mixed_content(rng: &mut Rng) -> String {
    let mut out = String::new();
    for i in 0..40 {
        out.push_str(&format!("{i:02}"));
        let words = if rng.below(6) == 0 { 0 } else { rng.below(20) };
        for _ in 0..words {
            out.push(' ');
            let word: String = (0..1 + rng.below(12)).map(|_| char::from(b'a' + rng.below(26) as u8)).collect();
            match rng.below(6) {
                0 => out.push_str(&format!("\x1b[3{}m{word}\x1b[m", 1 + rng.below(7))),
                1 => out.push_str(&format!("\x1b[4{};30m{word}\x1b[m", 1 + rng.below(7))),
                2 => out.push_str(&"漢字".repeat(1 + rng.below(4) as usize)),
                3 => out.push_str(&format!("\x1b[1m{word}\x1b[22m")),
                _ => out.push_str(&word),
            }
        }
        out.push('\n');
    }
    out.push_str("\x1b[1;32mok\x1b[m end$ ");
    out
}

/// Thirty resizes to random sizes, width and height changing alone or
/// together, over wrapped, coloured and wide text with a prompt at the
/// bottom: at every step qmux shows what tmux shows, and at the end holds
/// the same history.
#[test]
fn random_resizes_keep_the_screen_and_history_as_the_terminal_does() {
    let seed = 24;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
    let env = Env::new();
    let tmux = Tmux::new(&env);
    let content = env.root().join("content");
    std::fs::write(&content, mixed_content(&mut rng)).expect("the content is written");
    start_both_at(&env, &tmux, &format!("cat '{}'; exec cat", content.display()), (80, 24));
    poll_until(
        scaled(Duration::from_secs(10)),
        "the content and the prompt",
        || tmux.capture("direct").join("").contains("end$").then_some(()),
        || format!("{:#?}", tmux.capture("direct")),
    );
    wait_same_screen(&tmux, (80, 24), "qmux to show the content as the terminal does");
    let mut size = (80, 24);
    for step in 1..=30 {
        size = match rng.below(3) {
            0 => (20 + rng.below(120) as u16, size.1),
            1 => (size.0, 4 + rng.below(37) as u16),
            _ => (20 + rng.below(120) as u16, 4 + rng.below(37) as u16),
        };
        resize_both(&tmux, size, &format!("seed {seed} step {step}"));
    }
    let trimmed = |text: String| text.trim_end().lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
    let direct = trimmed(tmux.run(&["capture-pane", "-p", "-S", "-", "-t", "direct"]));
    let drawn = trimmed(env.qmux_ok(&["capture", "-t", "drawn", "-S", "-"]));
    assert_eq!(drawn, direct, "qmux's history and screen against tmux's at {size:?}");
}

/// An OSC 8 hyperlink reaches the user's terminal around exactly its text,
/// from the screen and from history. tmux 3.3a drops OSC 8, so a tmux
/// capture cannot judge this one: the test reads the bytes the client
/// writes to its terminal, and `qmux capture --ansi` for the rows that scrolled
/// off.
#[test]
fn hyperlinks_reach_the_terminal_and_history_with_their_text() {
    let env = Env::new();
    let script = r"printf 'see \033]8;;file:///tmp/a;b.rs\033\\a;b.rs\033]8;;\033\\ and \033]8;id=1;https://example.com/\007url\033]8;;\007 done\n'; exec cat";
    env.qmux_ok(&["new", "-d", "-s", "linked", "-x", "80", "-y", "24", "--", "sh", "-c", script]);
    let mut term = env.attach(&["attach", "-t", "linked"], 80, 25);
    term.wait_raw(
        b"\x1b]8;;file:///tmp/a;b.rs\x1b\\a;b.rs\x1b]8;;\x1b\\",
        "the client to write the file link around its text",
    );
    term.wait_raw(
        b"\x1b]8;id=1;https://example.com/\x1b\\url\x1b]8;;\x1b\\",
        "the client to write the URL link, id kept",
    );
    term.wait_text("see a;b.rs and url done");

    // Scrolled into history, `capture --ansi` keeps the link; plain text does not.
    term.type_str(&"\n".repeat(30));
    let linked = "see \x1b]8;;file:///tmp/a;b.rs\x1b\\a;b.rs\x1b]8;;\x1b\\ and ";
    let captured = poll_until(
        scaled(Duration::from_secs(10)),
        "the linked row in history",
        || {
            let text = env.qmux_ok(&["capture", "--ansi", "-t", "linked", "-S", "-"]);
            text.contains(linked).then_some(text)
        },
        || env.qmux_ok(&["capture", "--ansi", "-t", "linked", "-S", "-"]),
    );
    assert!(captured.contains("https://example.com/"), "{captured:?}");
    let plain = env.qmux_ok(&["capture", "-t", "linked", "-S", "-"]);
    assert!(plain.starts_with("see a;b.rs and url done\n"), "{plain:?}");
}
