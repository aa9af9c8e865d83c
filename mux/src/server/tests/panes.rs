//! Panes, driven event by event: splits, focus, zoom, layouts, two
//! clients over the same sessions, the attention jump and tile-all.

use std::time::Duration;

use super::*;

/// A harness whose new sessions (prefix c, %, ") run the fake program.
fn with_panes() -> Harness {
    let mut h = Harness::new();
    h.server.config.default_command = Some(vec!["fake".into()]);
    h
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

#[test]
fn zoom_layouts_break_and_swap() {
    let mut h = with_panes();
    let a = h.session("a");
    let cid = h.attach("a", 81, 25);
    h.keys(cid, &[PREFIX, b'"']);
    let b = h.focused(cid);
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
    let mut h = with_panes();
    let a = h.session("a");
    let cid = h.attach("a", 81, 25);
    h.keys(cid, &[PREFIX, b'%']);
    let b = h.focused(cid);
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

#[test]
fn in_the_dashboard_enter_and_a_click_go_into_a_session_and_z_comes_back() {
    let (mut h, ids) = h_sessions();
    let cid = h.watch("s0", 81, 25);
    assert_eq!(h.server.view(cid).expect("attached").panes.len(), 3, "every session tiled");
    // Enter zooms into the focused one; its program gets nothing.
    h.keys(cid, b"\r");
    assert!(h.server.view(cid).expect("attached").zoomed);
    assert!(h.program(ids[0]).written.borrow().is_empty());
    // Zoomed, Enter is the program's again; prefix z goes back.
    h.keys(cid, b"\r");
    assert_eq!(*h.program(ids[0]).written.borrow(), b"\r");
    h.keys(cid, &[PREFIX, b'z']);
    assert!(!h.server.view(cid).expect("attached").zoomed);
    // A click on another tile goes into it.
    let rects = h.server.view(cid).expect("attached").rects();
    let r = rects[2];
    h.keys(cid, format!("\x1b[<0;{};{}M", r.x + 2, r.y + 3).as_bytes());
    assert_eq!(h.focused(cid), ids[2]);
    assert!(h.server.view(cid).expect("attached").zoomed);
}

#[test]
fn tiled_by_prefix_w_enter_is_the_focused_programs() {
    // Not the dashboard: typing into the focused pane submits there.
    let (mut h, ids) = h_sessions();
    let cid = h.attach("s0", 81, 25);
    h.keys(cid, &[PREFIX, b'W']);
    assert_eq!(h.server.view(cid).expect("attached").panes.len(), 3, "every session tiled");
    h.keys(cid, b"hi\r");
    assert_eq!(*h.program(ids[0]).written.borrow(), b"hi\r");
    assert!(!h.server.view(cid).expect("attached").zoomed);
}

/// A harness with three sessions, s0 to s2.
fn h_sessions() -> (Harness, Vec<crate::protocol::SessionId>) {
    let mut h = Harness::new();
    let ids = (0..3).map(|i| h.session(&format!("s{i}"))).collect();
    (h, ids)
}

#[test]
fn prefix_alt_and_ctrl_arrows_move_the_focused_panes_border() {
    let mut h = with_panes();
    let a = h.session("a");
    let cid = h.attach("a", 81, 25);
    h.keys(cid, &[PREFIX, b'%']);
    let b = h.focused(cid);
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
    let mut h = with_panes();
    let a = h.session("a");
    let cid = h.attach("a", 81, 25);
    h.keys(cid, &[PREFIX, b'"']);
    let b = h.focused(cid);
    assert_eq!((h.size(a), h.size(b)), ((81, 11), (81, 10)), "one above the other, the border on row 12");
    // Press on the border (SGR, one-based), drag it down 4 rows, let go.
    h.keys(cid, b"\x1b[<0;30;13M\x1b[<32;30;15M\x1b[<32;30;17M\x1b[<0;30;17m");
    assert_eq!((h.size(a), h.size(b)), ((81, 15), (81, 6)));
    // Motion after letting go moves nothing; the program gets no reports.
    h.keys(cid, b"\x1b[<32;30;5M");
    assert_eq!((h.size(a), h.size(b)), ((81, 15), (81, 6)));
    assert!(h.program(b).written.borrow().is_empty(), "{:?}", h.program(b).written.borrow());
}
