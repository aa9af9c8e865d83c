//! Questions: `send` never types into one, and `approve` / `deny` answer
//! one with the rule set's keys, only while it is on screen.

use std::time::Duration;

use super::*;
use crate::rules::{Answers, Choice};

const QUESTION: &[u8] = b"run the tool?\r\nAllow this action? [y/n/t]:";

/// A harness whose fake program answers questions with y or t and Enter,
/// or Esc.
fn harness() -> Harness {
    let mut h = Harness::new();
    h.server.config.rules.tune("fake", |r| {
        r.answers = Answers {
            yes: Some(b"y\r".to_vec()),
            always: Some(b"t\r".to_vec()),
            // Esc, as the menus of Ink and ratatui agents take "no".
            no: Some(b"\x1b".to_vec()),
            always_shown: regex::Regex::new(r"\[y/n/t\]").ok(),
        };
    });
    h
}

/// Session `a`, asking its question (output settled).
fn asking(h: &mut Harness) -> SessionId {
    let sid = h.session("a");
    h.output(sid, QUESTION);
    h.advance(Duration::from_secs(2));
    assert_eq!(h.state(sid), State::Approval);
    sid
}

fn written(h: &Harness, sid: SessionId) -> String {
    String::from_utf8_lossy(&h.program(sid).written.borrow()).into_owned()
}

fn send(text: &str, now: bool) -> Request {
    Request::Send { target: "a".into(), text: text.into(), enter: true, when_waiting: false, now }
}

fn answer(choice: Choice) -> Request {
    Request::Answer { target: "a".into(), choice, caller: None }
}

#[test]
fn a_send_while_the_program_asks_is_queued_and_said() {
    let mut h = harness();
    let sid = asking(&mut h);
    let cli = h.cli();
    h.request(cli, send("hello while asking", false));
    let said = h.responses(cli);
    assert!(
        matches!(&said[..], [Response::Notice(l)] if l[0] == "queued: 0:a is asking for approval; qmux approve/deny answers it"),
        "{said:?}"
    );
    assert_eq!(written(&h, sid), "", "nothing typed into the question");
    // Nor a key without Enter: a menu takes a digit as its answer.
    h.request(
        cli,
        Request::Send { target: "a".into(), text: "1".into(), enter: false, when_waiting: false, now: false },
    );
    assert!(matches!(&h.responses(cli)[..], [Response::Notice(l)] if l[0].starts_with("queued: 0:a is asking")));
    assert_eq!(written(&h, sid), "");
    // Answered: the program goes back to its prompt, and gets the message.
    h.request(cli, answer(Choice::Yes));
    h.advance(Duration::from_millis(500));
    assert_eq!(written(&h, sid), "y\r");
    h.output(sid, b"y\r\nran it\r\n> ");
    assert!(matches!(h.responses(cli)[..], [Response::Ok]), "approve is done once the question went");
    h.advance(Duration::from_secs(2));
    assert_eq!(written(&h, sid), "y\rhello while asking", "delivered once it waits");
    h.output(sid, b"hello while asking");
    h.advance(Duration::from_secs(1));
    h.output(sid, b"\r\nreply\r\n> ");
    h.advance(Duration::from_secs(2));
    assert_eq!(written(&h, sid), "y\rhello while asking\r1", "then the key, in order");
}

#[test]
fn send_now_types_into_the_question() {
    let mut h = harness();
    let sid = asking(&mut h);
    let cli = h.cli();
    h.request(
        cli,
        Request::Send { target: "a".into(), text: "n".into(), enter: false, when_waiting: false, now: true },
    );
    assert_eq!(written(&h, sid), "n");
}

#[test]
fn a_question_that_comes_up_while_text_is_typed_gets_no_enter() {
    let mut h = harness();
    let sid = h.session("a");
    h.output(sid, b"> ");
    h.advance(Duration::from_secs(2));
    assert_eq!(h.state(sid), State::Waiting);
    let cli = h.cli();
    h.request(cli, send("hello", false));
    assert_eq!(written(&h, sid), "hello");
    // The echo, and a question drawn with it.
    let mut echo = b"hello\r\n".to_vec();
    echo.extend_from_slice(QUESTION);
    h.output(sid, &echo);
    h.advance(Duration::from_secs(1));
    assert_eq!(written(&h, sid), "hello", "no Enter into the question");
    let said = h.responses(cli);
    assert!(
        matches!(&said[..], [Response::Error(e)] if e.starts_with("0:a started asking for approval while the text was typed: Enter was not pressed")),
        "{said:?}"
    );
}

#[test]
fn approve_and_deny_say_why_they_cannot() {
    let mut h = harness();
    let sid = h.session("a");
    h.output(sid, b"> ");
    h.advance(Duration::from_secs(2));
    let cli = h.cli();
    h.request(cli, answer(Choice::Yes));
    assert!(
        matches!(&h.responses(cli)[..], [Response::Error(e)] if e == "0:a is not asking anything (state: waiting)")
    );
    // A session may not answer its own question.
    h.output(sid, QUESTION);
    h.advance(Duration::from_secs(2));
    h.request(cli, Request::Answer { target: "a".into(), choice: Choice::Yes, caller: Some(Caller { session: sid }) });
    assert!(matches!(&h.responses(cli)[..], [Response::Error(e)] if e.contains("cannot answer its own question")));
    // A program that never takes the answer.
    h.request(cli, answer(Choice::No));
    h.advance(Duration::from_millis(500));
    assert_eq!(written(&h, sid), "\x1b");
    h.advance(Duration::from_secs(3));
    assert!(
        matches!(&h.responses(cli)[..], [Response::Error(e)] if e == "0:a: the question is still there after 3 s"),
        "{:?}",
        h.responses(cli)
    );
}

#[test]
fn always_is_pressed_only_where_the_question_offers_it() {
    let mut h = harness();
    let sid = h.session("a");
    h.output(sid, b"Allow this action? [y/n]:");
    h.advance(Duration::from_secs(2));
    let cli = h.cli();
    h.request(cli, answer(Choice::Always));
    h.advance(Duration::from_millis(500));
    assert!(
        matches!(&h.responses(cli)[..], [Response::Error(e)] if e.contains("offers no \"always\"")),
        "{:?}",
        h.responses(cli)
    );
    assert_eq!(written(&h, sid), "");
}

#[test]
fn a_program_without_answers_is_not_guessed_at() {
    let mut h = Harness::new();
    asking(&mut h);
    let cli = h.cli();
    h.request(cli, answer(Choice::Yes));
    assert!(matches!(&h.responses(cli)[..], [Response::Error(e)] if e.contains("has no [answers]")));
}

#[test]
fn y_in_the_chooser_and_prefix_n_answer_the_question() {
    let mut h = harness();
    let sid = asking(&mut h);
    let cid = h.attach("a", 80, 24);
    h.keys(cid, &[PREFIX, b'w']);
    h.keys(cid, b"y");
    h.advance(Duration::from_millis(500));
    assert_eq!(written(&h, sid), "y\r");
    h.output(sid, b"y\r\n");
    h.output(sid, QUESTION);
    h.advance(Duration::from_secs(2));
    h.keys(cid, b"q");
    h.keys(cid, &[PREFIX, b'N']);
    h.advance(Duration::from_millis(500));
    assert_eq!(written(&h, sid), "y\r\x1b");
}

/// An Enter typed into a question answers it, and starts no turn: the
/// prompt that comes back is waiting once it settles, not busy for the
/// grace a new turn gets to show its busy sign.
#[test]
fn an_enter_typed_into_the_question_is_its_answer_not_a_turn() {
    let mut h = harness();
    // A line editor's rules (its prompt known once output settles) with a
    // busy sign, which gives a new turn its grace.
    h.server.config.rules.tune("fake", |r| {
        let d = &mut r.detector;
        (d.detect, d.raw_mode, d.bracketed_paste) = (crate::detect::Detect::Prompt, false, false);
        d.busy = crate::detect::Pattern::new("Waiting for ", crate::detect::Region::Bottom(3)).ok();
    });
    let sid = asking(&mut h);
    let cid = h.attach("a", 80, 24);
    h.keys(cid, b"n");
    h.output(sid, b"n");
    h.advance(Duration::from_millis(50));
    h.keys(cid, b"\r");
    assert_eq!(written(&h, sid), "n\r");
    h.output(sid, b"\r\n> ");
    h.advance(Duration::from_millis(300));
    assert_eq!(h.state(sid), State::Waiting, "at its prompt once it settled");

    // A message typed at the prompt is a turn: busy until it shows a sign
    // or the grace is over.
    h.keys(cid, b"hello\r");
    h.output(sid, b"hello\r\n> ");
    h.advance(Duration::from_millis(300));
    assert_eq!(h.state(sid), State::Busy, "a turn starting");
}
