//! Going to another session in a view of panes, as tmux goes to another
//! window: the panes stay as they were, and come back.

use super::*;

/// Split `a` with prefix `%` (the new pane's session is `b`), then start
/// `c` in the background: the harness, the client and the three.
fn split_and_one_more() -> (Harness, ClientId, [SessionId; 3]) {
    let mut h = Harness::new();
    h.server.config.default_command = Some(vec!["fake".into()]);
    let a = h.session("a");
    let cid = h.attach("a", 81, 25);
    h.keys(cid, &[PREFIX, b'%']);
    let b = h.focused(cid);
    let c = h.session("c");
    (h, cid, [a, b, c])
}

fn panes(h: &Harness, cid: ClientId) -> Vec<SessionId> {
    h.server.view(cid).expect("attached").panes.iter().map(|p| p.session).collect()
}

#[test]
fn going_to_a_session_in_the_view_focuses_its_pane() {
    let (mut h, cid, [a, b, _]) = split_and_one_more();
    h.keys(cid, &[PREFIX, b'0']);
    assert_eq!((panes(&h, cid), h.focused(cid)), (vec![a, b], a), "0 is a's pane");
    h.keys(cid, &[PREFIX, b'n']);
    assert_eq!((panes(&h, cid), h.focused(cid)), (vec![a, b], b), "and n the pane of the next one");
}

#[test]
fn going_to_a_session_outside_the_view_puts_its_panes_away_until_one_comes_back() {
    for key in [b'n', b'2', b'a', b'c'] {
        let (mut h, cid, [a, b, c]) = split_and_one_more();
        if key == b'a' {
            h.output(c, b"\x07");
            h.server.sessions.get_mut(c).expect("c").attention.done = true;
            h.server.sessions.get_mut(c).expect("c").needs_you_since = Some(h.server.os.now());
        }
        let (cols, rows) = (h.size(a), h.size(b));
        h.keys(cid, &[PREFIX, key]);
        let shown = h.focused(cid);
        assert!(key == b'c' || shown == c, "{}: c shown", key as char);
        assert_eq!(panes(&h, cid), [shown], "{}: alone, not in b's pane", key as char);
        assert_eq!(h.size(shown), (81, 24), "{}: the whole view", key as char);
        // Back to either session of the split: both panes, as they were.
        h.keys(cid, &[PREFIX, b'l']);
        assert_eq!((panes(&h, cid), h.focused(cid)), (vec![a, b], b), "{}: the split is back", key as char);
        assert_eq!((h.size(a), h.size(b)), (cols, rows));
        h.keys(cid, &[PREFIX, b'l']);
        assert_eq!(panes(&h, cid), [shown], "{}: and l goes back again", key as char);
        h.keys(cid, &[PREFIX, b'0']);
        assert_eq!((panes(&h, cid), h.focused(cid)), (vec![a, b], a), "{}: by a's index", key as char);
    }
}

#[test]
fn a_pane_broken_out_leaves_the_others_to_come_back_to() {
    let (mut h, cid, [a, b, _]) = split_and_one_more();
    h.keys(cid, &[PREFIX, b'"']);
    let d = h.focused(cid);
    h.keys(cid, &[PREFIX, b'o', PREFIX, b'!']);
    assert_eq!(panes(&h, cid), [a], "a alone");
    assert_eq!(h.size(a), (81, 24));
    h.keys(cid, &[PREFIX, b'l']);
    assert_eq!((panes(&h, cid), h.focused(cid)), (vec![b, d], b), "the rest, split as they were");
    assert_eq!((h.size(b), h.size(d)), ((81, 11), (81, 10)), "their heights kept, the whole width");
}

#[test]
fn panes_put_away_come_back_after_a_detach() {
    let (mut h, cid, [a, b, _]) = split_and_one_more();
    h.keys(cid, &[PREFIX, b'n', PREFIX, b'd']);
    let again = h.attach("a", 81, 25);
    assert_eq!((panes(&h, again), h.focused(again)), (vec![a, b], a));
}

#[test]
fn a_split_from_an_agents_pane_runs_the_default_command_named_for_it_and_says_so() {
    let mut h = Harness::new();
    h.server.config.default_command = Some(vec!["/usr/bin/qmux-chat".into()]);
    let claude = h.session("claude");
    let cid = h.attach("claude", 81, 25);
    h.keys(cid, &[PREFIX, b'%']);
    let new = h.focused(cid);
    assert_ne!(new, claude);
    let s = h.server.sessions.get(new).expect("the new pane's session");
    assert_eq!((s.name.as_str(), &s.command[..]), ("qmux-chat", &["/usr/bin/qmux-chat".to_string()][..]));
    let mut screen = Terminal::new(25, 81);
    let shown = h.screen(cid, &mut screen);
    assert!(shown.contains("split: started 1:qmux-chat"), "{shown}");
    // Prefix c: the same program, the same kind of name.
    h.keys(cid, &[PREFIX, b'c']);
    let s = h.server.sessions.get(h.focused(cid)).expect("the new session");
    assert_eq!(s.name, "qmux-chat-2");
}
