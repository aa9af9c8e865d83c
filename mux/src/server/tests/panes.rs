//! Panes, driven event by event: splits, focus, zoom, layouts, two
//! clients over the same sessions, the attention jump and tile-all.

use std::time::Duration;

use super::*;
use crate::server::layout::Tree;
use crate::server::view::PANE_FRAME_GAP;

/// A harness whose new sessions (prefix c, %, ") run the fake program.
fn with_panes() -> Harness {
    let mut h = Harness::new();
    h.server.config.default_command = Some(vec!["fake".into()]);
    h
}

/// Session `a` in an 81×25 client, split by prefix `key` (`%` or `"`):
/// the harness, the client, `a`, and the new pane's session (focused).
fn split(key: u8) -> (Harness, ClientId, SessionId, SessionId) {
    let mut h = with_panes();
    let a = h.session("a");
    let cid = h.attach("a", 81, 25);
    h.keys(cid, &[PREFIX, key]);
    let b = h.focused(cid);
    (h, cid, a, b)
}

#[test]
fn a_split_shows_two_sessions_and_keys_go_to_the_focused_pane() {
    let mut h = with_panes();
    let a = h.session("a");
    let cid = h.attach("a", 81, 25);
    h.keys(cid, &[PREFIX, b'%']);
    let view = h.server.view(cid).expect("attached");
    assert_eq!(view.panes.len(), 2);
    let b = view.focused();
    assert_ne!(a, b, "the new pane runs a new session");
    assert_eq!((h.size(a), h.size(b)), ((40, 23), (40, 23)), "each pane's session gets its size, less its header");
    h.output(a, b"left side");
    h.output(b, b"right side");
    let mut screen = Terminal::new(25, 81);
    let shown = h.screen(cid, &mut screen);
    let top: Vec<String> = screen.screen().rows(0, 81).take(2).collect();
    let right = |row: &str| row.chars().skip(41).collect::<String>();
    assert!(top[0].starts_with(" 0:a") && right(&top[0]).starts_with(" 1:"), "headers: {top:?}");
    assert!(top[1].starts_with("left side") && right(&top[1]).starts_with("right side"), "{shown}");
    assert_eq!(screen.screen().cell(1, 40).map(|c| c.contents().to_string()), Some("│".into()), "a border between");
    h.keys(cid, b"typed");
    assert_eq!(*h.program(b).written.borrow(), b"typed", "the focused pane's program");
    assert!(h.program(a).written.borrow().is_empty());
    h.keys(cid, &[PREFIX, b'o']);
    h.keys(cid, b"other");
    assert_eq!(*h.program(a).written.borrow(), b"other");
    // Prefix and an arrow move the focus that way.
    h.keys(cid, b"\x02\x1b[C");
    assert_eq!(h.focused(cid), b);
}

/// Beside other panes a frame writes only the rows that changed: after
/// every kind of change, each pane on the client's terminal shows its
/// session's screen cell for cell.
#[test]
fn frames_beside_other_panes_keep_each_pane_as_its_screen_is() {
    let (mut h, cid, a, b) = split(b'%');
    let lines: String = (1..40).map(|i| format!("line {i}\r\n")).collect();
    let steps: [(SessionId, &[u8]); 16] = [
        (a, b"one\r\ntwo\r\n\x1b[31mred\x1b[m"),
        (b, b"right\r\n"),
        (a, b"\x1b[2;1H\x1b[K\x1b[1;44mbold on blue"),
        (a, lines.as_bytes()),
        (b, b"\x1b[?1049h\x1b[5;5Halternate"),
        (a, b"\x1b[3;3H\x1b[2@\x1b[5;1H\x1b[3P"),
        (b, b"\x1b[?1049l"),
        (a, b"\x1b[2J\x1b[H\xe4\xb8\x80 wide\x1b[10;30Hfar"),
        (b, b"\x1b[2;1H\x1b[L\x1b[3;1H\x1b[M"),
        (a, b"\x1b[4;1H\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\x1b[2S"),
        (b, b"\x1b[22;1Hbottom\x1b[1T"),
        // A cell or a few changed in the middle of a row: over either half
        // of a wide character, and attributes alone.
        (a, b"\x1b[1;1Habc\xe4\xb8\x80def\xe4\xb8\x80g"),
        (a, b"\x1b[1;4Hx"),
        (a, b"\x1b[1;9H\x1b[32mY\x1b[m"),
        (a, b"\x1b[1;2H\x1b[7mb\x1b[m"),
        (a, b"\x1b[1;6H\xe4\xb8\x80"),
    ];
    let mut client = Terminal::new(25, 81);
    for (sid, bytes) in steps {
        h.output(sid, bytes);
        h.advance(PANE_FRAME_GAP);
        h.screen(cid, &mut client);
        let rects = h.server.view(cid).expect("attached").rects();
        for (pane, rect) in [a, b].into_iter().zip(rects) {
            let session = h.server.sessions.get(pane).expect("the session exists");
            let terminal = session.terminal.lock().expect("terminal");
            for row in 0..rect.h - 1 {
                for col in 0..rect.w {
                    let cell = |screen: &vt100::Screen, r, c| {
                        // A blank is written as a space.
                        let text =
                            |c: &vt100::Cell| if c.has_contents() { c.contents().to_string() } else { " ".into() };
                        screen.cell(r, c).map(|c| (text(c), c.fgcolor(), c.bgcolor(), c.bold(), c.inverse()))
                    };
                    assert_eq!(
                        cell(client.screen(), rect.y + 1 + row, rect.x + col),
                        cell(terminal.screen(), row, col),
                        "row {row}, column {col} of {pane:?} after {:?}",
                        String::from_utf8_lossy(bytes)
                    );
                }
            }
        }
    }
}

/// An echo in a pane writes the cells it changed: not its row, nor the
/// status row, which did not change.
#[test]
fn an_echo_in_a_pane_writes_the_cells_it_changed_not_the_row() {
    let (mut h, cid, _a, b) = split(b'%');
    let mut client = Terminal::new(25, 81);
    h.output(b, b"$ abcdefghijklmnopqrstuvwxyz");
    assert!(h.screen(cid, &mut client).contains("$ abcdefghijklmnopqrstuvwxyz"));
    h.received(cid);
    h.output(b, b"!");
    let frames: Vec<Vec<u8>> = h
        .received(cid)
        .into_iter()
        .filter_map(|m| match m {
            ToClient::Frame(bytes) => Some(bytes),
            _ => None,
        })
        .collect();
    let frame = String::from_utf8_lossy(&frames.concat()).into_owned();
    assert!(frame.contains('!') && !frame.contains("xyz"), "the new cell alone: {frame:?}");
    let status_row = crate::render::move_to(24, 0);
    assert!(!frame.contains(&status_row), "the status row is as it was: {frame:?}");
    client.process(&frames.concat());
    assert!(client.text().contains("$ abcdefghijklmnopqrstuvwxyz!"), "{}", client.text());
}

/// The focused pane's output is drawn at once; its neighbours' waits for
/// the frame gap to pass since the last frame, many outputs in one frame,
/// and does not ride along in the focused pane's frames (an echo stays
/// small).
#[test]
fn output_beside_the_focused_pane_is_drawn_at_most_once_a_frame_gap() {
    let (mut h, cid, a, b) = split(b'%');
    let mut client = Terminal::new(25, 81);
    h.screen(cid, &mut client);
    let frames = |h: &mut Harness| h.received(cid).iter().filter(|m| matches!(m, ToClient::Frame(_))).count();
    h.output(b, b"focused");
    assert!(h.screen(cid, &mut client).contains("focused"), "the focused pane's output, at once");
    h.output(a, b"one ");
    h.advance(PANE_FRAME_GAP / 2);
    h.output(a, b"two");
    assert_eq!(frames(&mut h), 0, "its neighbour's waits");
    h.advance(PANE_FRAME_GAP / 2);
    assert!(h.screen(cid, &mut client).contains("one two"), "both in one frame once the gap has passed");
    h.advance(PANE_FRAME_GAP);
    h.output(a, b" three");
    assert!(h.screen(cid, &mut client).contains("one two three"), "after a quiet gap, at once");
    h.output(a, b" four");
    h.output(b, b" more");
    let shown = h.screen(cid, &mut client);
    assert!(shown.contains("focused more") && !shown.contains("four"), "only the focused pane's: {shown}");
    h.advance(PANE_FRAME_GAP);
    assert!(h.screen(cid, &mut client).contains("one two three four"), "the neighbour's at its time");
    h.advance(PANE_FRAME_GAP);
    assert_eq!(frames(&mut h), 0, "nothing more to draw");
}

#[test]
fn zoom_layouts_break_and_swap() {
    let (mut h, cid, a, b) = split(b'"');
    assert_eq!((h.size(a), h.size(b)), ((81, 11), (81, 10)), "one above the other, the new one half, rounded down");
    h.keys(cid, &[PREFIX, b'z']);
    assert_eq!(h.size(b), (81, 24), "zoomed: the whole view");
    assert!(h.server.view(cid).is_some_and(|v| v.single()));
    h.keys(cid, &[PREFIX, b'z']);
    assert_eq!(h.size(b), (81, 10));
    h.keys(cid, &[PREFIX, b' ']);
    assert_eq!(h.server.view(cid).map(|v| v.layout), Some(crate::server::layout::Layout::MainVertical));
    let mut screen = Terminal::new(25, 81);
    assert!(h.screen(cid, &mut screen).contains("layout main-vertical"));
    h.keys(cid, &[PREFIX, b'{']);
    let view = h.server.view(cid).expect("attached");
    assert_eq!((view.panes[0].session, view.focus), (b, 0), "swapped, the focus with it");
    h.keys(cid, &[PREFIX, b'!']);
    let view = h.server.view(cid).expect("attached");
    assert_eq!(view.panes.len(), 1);
    assert_eq!(view.focused(), b);
    assert_eq!(h.size(b), (81, 24));
    assert!(h.server.sessions.get(a).is_some(), "breaking out a pane kills nothing");
}

#[test]
fn killing_a_panes_session_closes_the_gap() {
    let (mut h, cid, a, b) = split(b'%');
    h.keys(cid, &[PREFIX, b'x', b'y']);
    assert!(h.server.sessions.get(b).is_none());
    let view = h.server.view(cid).expect("attached");
    assert_eq!(view.panes.len(), 1);
    assert_eq!(view.focused(), a);
    assert_eq!(h.size(a), (81, 24), "the one left fills the view");
}

#[test]
fn two_clients_with_different_layouts_share_sessions_at_the_smaller_size() {
    let mut h = with_panes();
    let a = h.session("a");
    let b = h.session("b");
    let split = h.attach("a", 81, 25);
    let whole = h.attach("b", 100, 30);
    h.responses(split);
    h.message(
        split,
        ToServer::Request(Box::new(Request::Split {
            target: Some("b".into()),
            create: None,
            horizontal: true,
            caller: Some(crate::protocol::Caller { session: a }),
        })),
    );
    let answer = h.responses(split);
    assert!(matches!(answer[..], [Response::Notice(_)]), "{answer:?}");
    assert_eq!(h.server.view(split).map(|v| v.panes.len()), Some(2));
    assert_eq!(h.size(b), (40, 23), "the pane is smaller than the other client's terminal");
    assert_eq!(h.size(a), (40, 23));
    h.keys(split, &[PREFIX, b'o', PREFIX, b'!']);
    assert_eq!(h.size(b), (100, 29), "only the whole-terminal client shows b now");
    assert_eq!(h.size(a), (81, 24));
    let _ = whole;
}

#[test]
fn the_chooser_opens_a_session_beside_this_one() {
    let mut h = with_panes();
    let a = h.session("a");
    let b = h.session("b");
    let cid = h.attach("a", 81, 25);
    h.keys(cid, &[PREFIX, b'w', b'j', b'v']);
    let view = h.server.view(cid).expect("attached");
    assert_eq!(view.panes.iter().map(|p| p.session).collect::<Vec<_>>(), [a, b]);
    assert_eq!(view.focused(), b);
    // A click in the other pane focuses it.
    h.keys(cid, b"\x1b[<0;5;5M");
    assert_eq!(h.focused(cid), a);
}

#[test]
fn the_attention_key_goes_to_the_oldest_question_then_the_oldest_finished() {
    use crate::server::session::Life;
    let mut h = with_panes();
    let a = h.session("a");
    let b = h.session("b");
    let c = h.session("c");
    let d = h.session("d");
    let cid = h.attach("a", 81, 25);
    let now = h.server.os.now();
    let mark = |h: &mut Harness, sid, state, done, ago: u64| {
        let s = h.server.sessions.get_mut(sid).expect("session");
        s.life = Life::Running(state);
        s.attention.done = done;
        s.needs_you_since = Some(now - Duration::from_secs(ago));
    };
    mark(&mut h, b, State::Waiting, true, 30);
    mark(&mut h, c, State::Approval, false, 5);
    mark(&mut h, d, State::Approval, false, 10);
    h.keys(cid, &[PREFIX, b'a']);
    assert_eq!(h.focused(cid), d, "the question asked longest ago");
    h.keys(cid, &[PREFIX, b'a']);
    assert_eq!(h.focused(cid), c, "then the other question");
    h.keys(cid, &[PREFIX, b'a']);
    assert_eq!(h.focused(cid), b, "then what finished");
    // Seen now: the questions still stand, what finished does not.
    h.keys(cid, &[PREFIX, b'a']);
    assert_eq!(h.focused(cid), d);
    assert!(h.server.sessions.get(b).is_some_and(|s| !s.attention.done));
    for sid in [c, d] {
        h.server.sessions.get_mut(sid).expect("session").life = Life::Running(State::Waiting);
    }
    h.keys(cid, &[PREFIX, b'a']);
    let mut screen = Terminal::new(25, 81);
    assert!(h.screen(cid, &mut screen).contains("no session is waiting for you"));
    let _ = a;
}

#[test]
fn watch_tiles_every_session_and_a_layout_comes_back_after_detach() {
    let mut h = with_panes();
    let ids: Vec<SessionId> = (0..5).map(|i| h.session(&format!("s{i}"))).collect();
    let cid = h.attach("s2", 101, 31);
    h.keys(cid, &[PREFIX, b'W']);
    let view = h.server.view(cid).expect("attached");
    assert_eq!(view.panes.iter().map(|p| p.session).collect::<Vec<_>>(), ids);
    assert_eq!((view.layout, view.focused()), (crate::server::layout::Layout::Tiled, ids[2]));
    h.keys(cid, &[PREFIX, b'd']);
    let again = h.attach("s2", 101, 31);
    let view = h.server.view(again).expect("attached");
    assert_eq!(view.panes.len(), 5, "the layout came back");
    assert_eq!(view.focused(), ids[2]);
}

/// `qmux watch` and prefix `W` are one view: keys, Enter among them, go to
/// the focused tile, a click focuses a tile, and prefix `z` takes it full
/// size and back. The watch's status bar says so.
#[test]
fn watch_and_prefix_w_take_keys_alike() {
    for watch in [true, false] {
        let (mut h, ids) = h_sessions();
        let cid = if watch { h.watch("s0", 81, 25) } else { h.attach("s0", 81, 25) };
        if !watch {
            h.keys(cid, &[PREFIX, b'W']);
        }
        let mut screen = Terminal::new(25, 81);
        let shown = h.screen(cid, &mut screen);
        assert_eq!(watch, shown.contains("keys go to the focused tile; C-b z full size"), "{watch}: {shown}");
        assert_eq!(h.server.view(cid).expect("attached").panes.len(), 3, "every session tiled");
        h.keys(cid, b"hi\r");
        assert_eq!(*h.program(ids[0]).written.borrow(), b"hi\r", "watch {watch}: Enter is the program's");
        assert!(!h.server.view(cid).expect("attached").zoomed);
        let r = h.server.view(cid).expect("attached").rects()[2];
        h.keys(cid, format!("\x1b[<0;{};{}M", r.x + 2, r.y + 3).as_bytes());
        assert_eq!(h.focused(cid), ids[2]);
        assert!(!h.server.view(cid).expect("attached").zoomed, "watch {watch}: a click focuses");
        h.keys(cid, &[PREFIX, b'z']);
        assert!(h.server.view(cid).expect("attached").zoomed, "watch {watch}: prefix z, full size");
    }
}

/// A harness with three sessions, s0 to s2.
fn h_sessions() -> (Harness, Vec<crate::protocol::SessionId>) {
    let mut h = Harness::new();
    let ids = (0..3).map(|i| h.session(&format!("s{i}"))).collect();
    (h, ids)
}

#[test]
fn prefix_alt_and_ctrl_arrows_move_the_focused_panes_border() {
    let (mut h, cid, a, b) = split(b'%');
    assert_eq!((h.size(a), h.size(b)), ((40, 23), (40, 23)));
    // The right pane has no border on its right: Alt-Right moves its left
    // one, 5 cells; Alt-Left moves it back and 5 more.
    h.keys(cid, b"\x02\x1b[1;3C");
    assert_eq!((h.size(a), h.size(b)), ((45, 23), (35, 23)), "the border 5 cells right");
    h.keys(cid, b"\x02\x1b[1;3D");
    h.keys(cid, b"\x02\x1b[1;3D");
    assert_eq!((h.size(a), h.size(b)), ((35, 23), (45, 23)));
    h.keys(cid, b"\x02\x1b[1;5D");
    assert_eq!((h.size(a), h.size(b)), ((34, 23), (46, 23)), "Ctrl moves it one cell");
    // Every pane keeps a cell however far the border goes.
    for _ in 0..20 {
        h.keys(cid, b"\x02\x1b[1;3D");
    }
    assert_eq!((h.size(a), h.size(b)), ((1, 23), (79, 23)));
    // No border that way in a stack of one row: a message, nothing moves.
    h.keys(cid, b"\x02\x1b[1;3A");
    assert_eq!((h.size(a), h.size(b)), ((1, 23), (79, 23)));
    // A new layout starts even again.
    h.keys(cid, &[PREFIX, b' ']);
    h.keys(cid, &[PREFIX, b' ']);
    h.keys(cid, &[PREFIX, b' ']);
    h.keys(cid, &[PREFIX, b' ']);
    assert_eq!((h.size(a), h.size(b)), ((40, 23), (40, 23)), "back to even-horizontal, even");
}

#[test]
fn dragging_a_border_with_the_mouse_moves_it() {
    let (mut h, cid, a, b) = split(b'"');
    assert_eq!((h.size(a), h.size(b)), ((81, 11), (81, 10)), "one above the other, the border on row 12");
    // Press on the border (SGR, one-based), drag it down 4 rows, let go.
    h.keys(cid, b"\x1b[<0;30;13M\x1b[<32;30;15M\x1b[<32;30;17M\x1b[<0;30;17m");
    assert_eq!((h.size(a), h.size(b)), ((81, 15), (81, 6)));
    // Motion after letting go moves nothing; the program gets no reports.
    h.keys(cid, b"\x1b[<32;30;5M");
    assert_eq!((h.size(a), h.size(b)), ((81, 15), (81, 6)));
    assert!(h.program(b).written.borrow().is_empty(), "{:?}", h.program(b).written.borrow());
}

/// Session `a` in a client 101×31 (30 rows of panes), split with prefix
/// `%`, then the new right pane with prefix `"`: the client and the three
/// sessions, left, top right and bottom right.
fn split_left_then_right(h: &mut Harness) -> (ClientId, [SessionId; 3]) {
    let a = h.session("a");
    let cid = h.attach("a", 101, 31);
    h.keys(cid, &[PREFIX, b'%']);
    let b = h.focused(cid);
    h.keys(cid, &[PREFIX, b'"']);
    let c = h.focused(cid);
    (cid, [a, b, c])
}

fn sizes(h: &Harness, sids: &[SessionId]) -> Vec<(u16, u16)> {
    sids.iter().map(|s| h.size(*s)).collect()
}

#[test]
fn a_split_in_the_right_pane_splits_only_that_pane_as_in_tmux() {
    let mut h = with_panes();
    let (cid, [a, b, c]) = split_left_then_right(&mut h);
    // tmux in a 101×30 window: 0,0 50×30; 51,0 50×15; 51,16 50×14. Each
    // qmux pane gives a row of that to its header.
    assert_eq!(sizes(&h, &[a, b, c]), [(50, 29), (50, 14), (50, 13)]);
    let view = h.server.view(cid).expect("attached");
    assert_eq!(view.panes.iter().map(|p| p.session).collect::<Vec<_>>(), [a, b, c]);
    assert_eq!(view.focused(), c, "the new pane has the focus");
    assert_eq!(view.tree.to_string(), "{50,50[15,14]}");
    let mut screen = Terminal::new(31, 101);
    h.screen(cid, &mut screen);
    let at = |row, col| screen.screen().cell(row, col).map(|c| c.contents().to_string());
    assert_eq!(at(20, 50).as_deref(), Some("│"), "the border down the middle runs the whole height");
    assert_eq!(at(15, 70).as_deref(), Some("─"), "the border between the right two");
    assert_eq!(at(15, 30).as_deref(), Some(" "), "the left pane goes on below it");
    assert_eq!(at(15, 50).as_deref(), Some("├"), "where they meet, as tmux draws it");
    // Up from the bottom right: the top right; left: the left pane.
    h.keys(cid, b"\x02\x1b[A");
    assert_eq!(h.focused(cid), b);
    h.keys(cid, b"\x02\x1b[D");
    assert_eq!(h.focused(cid), a);
}

#[test]
fn killing_one_of_the_right_two_gives_the_pair_back() {
    for (kill, keep) in [(2, 1), (1, 2)] {
        let mut h = with_panes();
        let (cid, sids) = split_left_then_right(&mut h);
        h.keys(cid, b"\x02\x1b[D");
        h.server.remove_session(sids[kill]);
        h.server.settle();
        assert_eq!(sizes(&h, &[sids[0], sids[keep]]), [(50, 29), (50, 29)], "killing {kill}");
        let view = h.server.view(cid).expect("attached");
        assert_eq!(view.tree.to_string(), "{50,50}");
        assert_eq!(view.focused(), sids[0], "the focus stays on its pane");
    }
    // The focused pane's session killed from its pane, with prefix x: the
    // pane before it takes its room.
    let mut h = with_panes();
    let (cid, [a, b, c]) = split_left_then_right(&mut h);
    h.keys(cid, &[PREFIX, b'x', b'y']);
    assert!(h.server.sessions.get(c).is_none());
    assert_eq!(sizes(&h, &[a, b]), [(50, 29), (50, 29)]);
}

#[test]
fn swapping_panes_swaps_their_sessions_and_keeps_the_splits() {
    let mut h = with_panes();
    let (cid, [a, b, c]) = split_left_then_right(&mut h);
    h.keys(cid, &[PREFIX, b'{']);
    assert_eq!(sizes(&h, &[a, c, b]), [(50, 29), (50, 14), (50, 13)], "c above, b below");
    h.keys(cid, &[PREFIX, b'{']);
    assert_eq!(sizes(&h, &[c, a, b]), [(50, 29), (50, 14), (50, 13)], "c on the left");
    let view = h.server.view(cid).expect("attached");
    assert_eq!((view.tree.to_string(), view.focused()), ("{50,50[15,14]}".to_string(), c), "the focus went with it");
}

#[test]
fn the_layouts_still_cycle_from_a_tree_of_splits() {
    let mut h = with_panes();
    let (cid, [a, b, c]) = split_left_then_right(&mut h);
    // The first split was side by side: Space goes on from there.
    let mut screen = Terminal::new(31, 101);
    h.keys(cid, &[PREFIX, b' ']);
    assert!(h.screen(cid, &mut screen).contains("layout even-vertical"));
    assert_eq!(sizes(&h, &[a, b, c]), [(101, 8), (101, 8), (101, 9)]);
    h.keys(cid, &[PREFIX, b' ']);
    assert_eq!(sizes(&h, &[a, b, c]), [(50, 29), (50, 13), (50, 14)], "main-vertical");
    h.keys(cid, &[PREFIX, b' ', PREFIX, b' ']);
    assert_eq!(sizes(&h, &[a, b, c]), [(33, 29), (33, 29), (33, 29)], "even-horizontal");
    assert_eq!(h.focused(cid), c, "the focus stays on its pane");
    // A split after a preset splits the focused pane only.
    h.keys(cid, &[PREFIX, b'"']);
    let d = h.focused(cid);
    assert_eq!(sizes(&h, &[a, b, c, d]), [(33, 29), (33, 29), (33, 14), (33, 13)]);
}

#[test]
fn a_border_moves_at_the_split_it_belongs_to() {
    let mut h = with_panes();
    let (cid, [a, b, c]) = split_left_then_right(&mut h);
    // The bottom right pane: up moves the border above it, and only the
    // right two change.
    h.keys(cid, b"\x02\x1b[1;3A");
    assert_eq!(sizes(&h, &[a, b, c]), [(50, 29), (50, 9), (50, 18)]);
    // Left moves the border down the middle: both right panes narrow.
    h.keys(cid, b"\x02\x1b[1;3C");
    assert_eq!(sizes(&h, &[a, b, c]), [(55, 29), (45, 9), (45, 18)]);
    // A drag of the border between the right two (row 10, one-based 11)
    // down to row 20.
    h.keys(cid, b"\x1b[<0;80;11M\x1b[<32;80;21M\x1b[<0;80;21m");
    assert_eq!(sizes(&h, &[a, b, c]), [(55, 29), (45, 19), (45, 8)]);
    // The terminal resized: every pane in proportion.
    h.message(cid, ToServer::Resize(202, 61));
    h.server.settle();
    assert_eq!(sizes(&h, &[a, b, c]), [(111, 59), (90, 40), (90, 17)]);
    h.message(cid, ToServer::Resize(101, 31));
    h.server.settle();
    assert_eq!(sizes(&h, &[a, b, c]), [(55, 29), (45, 19), (45, 8)], "and back");
}

#[test]
fn a_tree_of_splits_comes_back_after_detach() {
    let mut h = with_panes();
    let (cid, [a, b, c]) = split_left_then_right(&mut h);
    h.keys(cid, b"\x02\x1b[1;3D");
    let before = sizes(&h, &[a, b, c]);
    let tree = h.server.view(cid).expect("attached").tree.clone();
    h.keys(cid, &[PREFIX, b'd']);
    let name = |h: &Harness, sid| h.server.sessions.get(sid).expect("running").name.clone();
    let again = h.attach(&name(&h, b), 101, 31);
    let view = h.server.view(again).expect("attached");
    assert_eq!((view.tree.clone(), view.focused()), (tree, b), "the same tree, the focus on the session attached to");
    assert_eq!(sizes(&h, &[a, b, c]), before);
    // A session gone meanwhile: its pane closes as if it had been killed.
    h.keys(again, &[PREFIX, b'd']);
    h.server.remove_session(c);
    let third = h.attach("a", 101, 31);
    assert_eq!(h.server.view(third).expect("attached").tree.to_string(), "{45,55}");
}

/// What `qmux restore` brings back in a server started on a state directory
/// whose `last.layout` has `first_line` (or the line a client left there),
/// and the first of the saved sessions attached again.
fn restored_tree(first_line: Option<&str>) -> (Tree, Vec<(u16, u16)>) {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = tmp.path().join("state");
    let mut h = with_panes();
    h.server.saving_open(Some(dir.clone()), &[], None);
    assert!(h.server.saving.store.is_some(), "the state directory opens");
    let (cid, _) = split_left_then_right(&mut h);
    h.keys(cid, &[PREFIX, b'd']);
    if let Some(store) = &h.server.saving.store {
        store.flush();
    }
    drop(h);
    let file = dir.join("last.layout");
    if let Some(line) = first_line {
        let text = std::fs::read_to_string(&file).expect("a layout was saved");
        let keys = text.split_once('\n').expect("keys after the layout").1;
        std::fs::write(&file, format!("{line}\n{keys}")).expect("written");
    }
    let mut h = with_panes();
    h.server.saving_open(Some(dir), &[], None);
    let said = h.server.restore(None).expect("restored");
    let cid = h.attach("a", 101, 31);
    let answer = h.responses(cid);
    let view = h.server.view(cid).unwrap_or_else(|| panic!("attached: {said:?} {answer:?}"));
    let sids: Vec<SessionId> = view.panes.iter().map(|p| p.session).collect();
    (view.tree.clone(), sizes(&h, &sids))
}

#[test]
fn qmux_restore_brings_a_tree_back_and_reads_a_presets_name_as_before() {
    use crate::server::layout::Layout;
    let (tree, sizes) = restored_tree(None);
    assert_eq!(tree.to_string(), "{50,50[15,14]}");
    assert_eq!(sizes, [(50, 29), (50, 14), (50, 13)]);
    // A state directory from before trees: the preset's name alone.
    assert_eq!(restored_tree(Some("main-vertical")).0, Tree::preset(Layout::MainVertical, 3, 101, 30));
    // A corrupt tree is its preset's; a corrupt name the default's.
    assert_eq!(restored_tree(Some("tiled {50,[")).0, Tree::preset(Layout::Tiled, 3, 101, 30));
    assert_eq!(restored_tree(Some("{50,50[15,14]}")).0, Tree::preset(Layout::EvenHorizontal, 3, 101, 30));
    assert_eq!(restored_tree(Some("even-vertical {50,50}")).0, Tree::preset(Layout::EvenVertical, 3, 101, 30));
}
