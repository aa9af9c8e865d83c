//! The server's logic driven event by event, with fake programs and a fake
//! clock: no process, socket or thread. The end-to-end suite covers the
//! real paths.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::os::{Child, Notify, Os, Program};
use super::{ClientId, Event, Server};
use crate::config::Config;
use crate::detect::State;
use crate::protocol::{Caller, Hello, NewSession, Request, Response, SessionId, ToClient, ToServer, WaitFor};
use crate::pty::{OutputPending, PtyEvent};
use crate::terminal::Terminal;

const PREFIX: u8 = 0x02;

/// What a fake program was given.
#[derive(Default)]
struct FakeProgram {
    written: RefCell<Vec<u8>>,
    size: Cell<(u16, u16)>,
    terminal: RefCell<Option<Arc<Mutex<Terminal>>>>,
    /// A client shows it (else its output is read on the background ticks).
    shown: Cell<bool>,
}

struct FakeChild(Rc<FakeProgram>);

impl Child for FakeChild {
    fn write(&self, bytes: Vec<u8>) {
        self.0.written.borrow_mut().extend(bytes);
    }
    fn resize(&self, cols: u16, rows: u16) {
        self.0.size.set((cols, rows));
    }
    fn set_shown(&self, shown: bool) {
        self.0.shown.set(shown);
    }
}

struct FakeOs {
    start: Instant,
    elapsed: Rc<Cell<Duration>>,
    programs: Rc<RefCell<Vec<Rc<FakeProgram>>>>,
}

impl FakeOs {
    fn program(&self, terminal: Arc<Mutex<Terminal>>, size: (u16, u16)) -> Box<dyn Child> {
        let program = Rc::new(FakeProgram::default());
        program.size.set(size);
        *program.terminal.borrow_mut() = Some(terminal);
        self.programs.borrow_mut().push(program.clone());
        Box::new(FakeChild(program))
    }
}

impl Os for FakeOs {
    fn start(
        &self,
        program: Program<'_>,
        terminal: Arc<Mutex<Terminal>>,
        _: OutputPending,
        _: Notify,
    ) -> Result<Box<dyn Child>, String> {
        let size = match program {
            Program::Spawn(spec) if spec.argv.first().is_some_and(|a| a == "missing") => {
                return Err("missing: command not found".into())
            }
            Program::Spawn(spec) => (spec.cols, spec.rows),
            Program::Adopt { .. } => terminal.lock().map(|t| t.size()).unwrap_or_default(),
        };
        Ok(self.program(terminal, size))
    }

    fn now(&self) -> Instant {
        self.start + self.elapsed.get()
    }
}

/// A server on a fake OS, and its clients.
struct Harness {
    server: Server,
    elapsed: Rc<Cell<Duration>>,
    programs: Rc<RefCell<Vec<Rc<FakeProgram>>>>,
    clients: Vec<(ClientId, mpsc::Receiver<ToClient>)>,
    _events: mpsc::UnboundedReceiver<Event>,
}

impl Harness {
    fn new() -> Harness {
        let os = FakeOs { start: Instant::now(), elapsed: Rc::default(), programs: Rc::default() };
        let (elapsed, programs) = (os.elapsed.clone(), os.programs.clone());
        let (tx, rx) = mpsc::unbounded_channel();
        let server = Server::new(PathBuf::from("/nonexistent/qmux-test"), Config::default(), Box::new(os), tx);
        Harness { server, elapsed, programs, clients: Vec::new(), _events: rx }
    }

    /// Starts a session running a fake program.
    fn session(&mut self, name: &str) -> SessionId {
        let spec = NewSession {
            name: Some(name.into()),
            cwd: PathBuf::from("/"),
            command: vec!["fake".into()],
            env: Vec::new(),
            size: None,
            worktree: None,
        };
        let sid = self.server.create_session(spec).expect("a fake program starts");
        self.server.settle();
        sid
    }

    fn program(&self, sid: SessionId) -> Rc<FakeProgram> {
        let s = self.server.sessions.get(sid).expect("the session exists");
        self.programs
            .borrow()
            .iter()
            .find(|p| p.terminal.borrow().as_ref().is_some_and(|t| Arc::ptr_eq(t, &s.terminal)))
            .cloned()
            .expect("its program")
    }

    /// A client attached to `target`, its terminal `cols`×`rows`.
    fn attach(&mut self, target: &str, cols: u16, rows: u16) -> ClientId {
        self.attach_with_prefix(target, cols, rows, None)
    }

    /// A client attached as `qmux watch` is: every session tiled, a
    /// dashboard.
    fn watch(&mut self, target: &str, cols: u16, rows: u16) -> ClientId {
        self.attach_as(target, (cols, rows), None, true)
    }

    /// A client that brings its own prefix key (one on another machine).
    fn attach_with_prefix(&mut self, target: &str, cols: u16, rows: u16, prefix: Option<Vec<u8>>) -> ClientId {
        self.attach_as(target, (cols, rows), prefix, false)
    }

    fn attach_as(&mut self, target: &str, size: (u16, u16), prefix: Option<Vec<u8>>, watch: bool) -> ClientId {
        let (tx, rx) = mpsc::channel(64);
        let cid = self.server.add_connection(tx, None);
        self.clients.push((cid, rx));
        self.message(cid, ToServer::Hello(Hello::ours()));
        let req = Request::Attach {
            target: Some(target.into()),
            create: None,
            create_if_none: None,
            size,
            env: Vec::new(),
            watch,
            panes: None,
            prefix,
        };
        self.request(cid, req);
        cid
    }

    /// A client that only asks things (a CLI verb).
    fn cli(&mut self) -> ClientId {
        let (tx, rx) = mpsc::channel(64);
        let cid = self.server.add_connection(tx, None);
        self.clients.push((cid, rx));
        self.message(cid, ToServer::Hello(Hello::ours()));
        cid
    }

    fn message(&mut self, cid: ClientId, msg: ToServer) {
        self.server.handle(Event::Message(cid, msg));
    }

    fn request(&mut self, cid: ClientId, req: Request) {
        self.message(cid, ToServer::Request(Box::new(req)));
    }

    fn keys(&mut self, cid: ClientId, bytes: &[u8]) {
        self.message(cid, ToServer::Input(bytes.to_vec()));
    }

    /// The program writes `bytes`, as its PTY reader would hand them on.
    fn output(&mut self, sid: SessionId, bytes: &[u8]) {
        let s = self.server.sessions.get(sid).expect("the session exists");
        s.terminal.lock().expect("terminal").process(bytes);
        self.server.handle(Event::Pty(sid, PtyEvent::Output));
    }

    /// Time passes; timers that come due fire.
    fn advance(&mut self, by: Duration) {
        self.elapsed.set(self.elapsed.get() + by);
        self.server.fire_timers();
    }

    /// Everything sent to a client since last asked. Frames are taken as
    /// their terminal would: the client's terminal takes each at once.
    fn received(&mut self, cid: ClientId) -> Vec<ToClient> {
        let mut got = Vec::new();
        loop {
            let Some((_, rx)) = self.clients.iter_mut().find(|(id, _)| *id == cid) else { return got };
            let Ok(msg) = rx.try_recv() else { return got };
            if matches!(msg, ToClient::Frame(_)) {
                self.server.handle(Event::Flushed(cid));
            }
            got.push(msg);
        }
    }

    fn responses(&mut self, cid: ClientId) -> Vec<Response> {
        self.received(cid)
            .into_iter()
            .filter_map(|m| match m {
                ToClient::Response(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    /// What a client's terminal shows, frames applied in order.
    fn screen(&mut self, cid: ClientId, screen: &mut Terminal) -> String {
        for msg in self.received(cid) {
            if let ToClient::Frame(bytes) = msg {
                screen.process(&bytes);
            }
        }
        screen.text()
    }

    fn size(&self, sid: SessionId) -> (u16, u16) {
        let s = self.server.sessions.get(sid).expect("the session exists");
        let size = s.terminal.lock().expect("terminal").size();
        assert_eq!(self.program(sid).size.get(), size, "the PTY and the model agree");
        size
    }

    fn focused(&self, cid: ClientId) -> SessionId {
        self.server.view(cid).expect("attached").focused()
    }

    fn state(&self, sid: SessionId) -> State {
        self.server.sessions.get(sid).expect("the session exists").state()
    }
}

fn detached(msgs: &[ToClient]) -> bool {
    msgs.iter().any(|m| matches!(m, ToClient::Detached(_)))
}

/// A screen's erased rows keep their cells while the program redraws, and
/// give them back once its output has stopped for a while.
#[test]
fn blank_rows_are_given_back_once_the_output_stops() {
    let mut h = Harness::new();
    let a = h.session("a");
    let allocated = |h: &Harness| {
        let s = h.server.sessions.get(a).expect("the session exists");
        let rows = s.terminal.lock().expect("terminal").screen().allocated_rows();
        rows
    };
    h.output(a, b"one\r\ntwo\r\nthree");
    assert_eq!(allocated(&h), 3);
    h.advance(Duration::from_secs(1));
    h.output(a, b"\x1b[2J\x1b[Hfour");
    assert_eq!(allocated(&h), 3, "erased rows keep their cells for the next text");
    h.advance(Duration::from_secs(1));
    assert_eq!(allocated(&h), 3, "the output stopped only a second ago");
    h.advance(Duration::from_secs(2));
    assert_eq!(allocated(&h), 1, "given back: only the row with text holds cells");
    assert!(h.server.sessions.get(a).is_some_and(|s| s.terminal.lock().expect("terminal").text().contains("four")));
}

/// A program's output is read at once while a client shows its session,
/// in a pane or whole, and on the background ticks while none does.
#[test]
fn programs_know_whether_a_client_shows_them() {
    let mut h = Harness::new();
    h.server.config.default_command = Some(vec!["fake".into()]);
    let (a, b) = (h.session("a"), h.session("b"));
    let shown = |h: &Harness| (h.program(a).shown.get(), h.program(b).shown.get());
    assert_eq!(shown(&h), (false, false), "nobody is attached");
    let cid = h.attach("a", 80, 24);
    assert_eq!(shown(&h), (true, false));
    h.keys(cid, &[PREFIX, b'n']);
    assert_eq!(shown(&h), (false, true), "switched to b");
    h.keys(cid, &[PREFIX, b'%']);
    let c = h.focused(cid);
    assert_eq!((shown(&h), h.program(c).shown.get()), ((false, true), true), "b beside the new pane");
    h.keys(cid, &[PREFIX, b'd']);
    assert_eq!((shown(&h), h.program(c).shown.get()), ((false, false), false), "detached");
}

#[test]
fn a_session_takes_the_smaller_clients_size_and_the_larger_one_when_it_goes() {
    for how in ["prefix d", "qmux detach", "killed"] {
        let mut h = Harness::new();
        let sid = h.session("api");
        let large = h.attach("api", 120, 40);
        assert_eq!(h.size(sid), (120, 39), "one row is the status bar");
        let small = h.attach("api", 60, 15);
        assert_eq!(h.size(sid), (60, 14));
        match how {
            "prefix d" => h.keys(small, &[PREFIX, b'd']),
            "qmux detach" => {
                // Typed at a shell in the session, in the small client's
                // terminal: that is the client it detaches.
                h.keys(large, b"x");
                h.keys(small, b"qmux detach\r");
                let cli = h.cli();
                let caller = Some(crate::protocol::Caller { session: sid });
                h.request(cli, Request::Detach { target: None, caller });
                assert!(matches!(h.responses(cli)[..], [Response::Ok]));
                assert!(!detached(&h.received(large)), "only the client typed in");
            }
            _ => h.server.handle(Event::Disconnected(small)),
        }
        assert!(how == "killed" || detached(&h.received(small)), "{how}: the small client was told");
        assert_eq!(h.size(sid), (120, 39), "{how}: the session grows back to the large client");
        let large_view = h.server.view(large).expect("still attached");
        assert_eq!(large_view.focused(), sid);
    }
}

#[test]
fn qmux_detach_with_a_target_detaches_every_client_of_it() {
    let mut h = Harness::new();
    let api = h.session("api");
    let _docs = h.session("docs");
    let large = h.attach("api", 100, 30);
    let small = h.attach("docs", 50, 10);
    h.keys(small, &[PREFIX, b'0']);
    assert_eq!(h.focused(small), api);
    assert_eq!(h.size(api), (50, 9));
    let cli = h.cli();
    h.request(cli, Request::Detach { target: Some("api".into()), caller: None });
    assert!(matches!(h.responses(cli)[..], [Response::Ok]));
    assert!(detached(&h.received(large)) && detached(&h.received(small)));
    assert_eq!(h.server.views().count(), 0);
    assert_eq!(h.size(api), (50, 9), "a session nobody shows keeps its size");
}

#[test]
fn each_event_draws_a_view_at_most_once() {
    let mut h = Harness::new();
    let sid = h.session("api");
    let cid = h.attach("api", 80, 24);
    h.received(cid);
    // One event that changes the screen, the status bar and the size.
    h.message(cid, ToServer::Resize(90, 30));
    let frames = h.received(cid).iter().filter(|m| matches!(m, ToClient::Frame(_))).count();
    assert_eq!(frames, 1);
    assert_eq!(h.size(sid), (90, 29));
    // A frame in flight holds the next one back; it carries everything.
    h.output(sid, b"one");
    h.output(sid, b"two");
    let (_, rx) = h.clients.iter_mut().find(|(id, _)| *id == cid).expect("client");
    let mut frames = Vec::new();
    while let Ok(ToClient::Frame(f)) = rx.try_recv() {
        frames.push(f);
    }
    assert_eq!(frames.len(), 1, "the second output waits for the first frame");
    h.server.handle(Event::Flushed(cid));
    let mut screen = Terminal::new(30, 90);
    for f in &frames {
        screen.process(f);
    }
    assert!(h.screen(cid, &mut screen).contains("onetwo"));
}

#[test]
fn prefix_keys_move_between_sessions() {
    let mut h = Harness::new();
    let a = h.session("a");
    let b = h.session("b");
    let c = h.session("c");
    let cid = h.attach("a", 80, 24);
    h.keys(cid, &[PREFIX, b'n']);
    assert_eq!(h.focused(cid), b);
    h.keys(cid, &[PREFIX, b'n', PREFIX, b'n']);
    assert_eq!(h.focused(cid), a, "next wraps around");
    h.keys(cid, &[PREFIX, b'p']);
    assert_eq!(h.focused(cid), c);
    h.keys(cid, &[PREFIX, b'l']);
    assert_eq!(h.focused(cid), a, "last goes back");
    h.keys(cid, &[PREFIX, b'1']);
    assert_eq!(h.focused(cid), b);
    // The prefix twice sends it; other keys go to the program.
    h.keys(cid, &[PREFIX, PREFIX, b'x']);
    assert_eq!(*h.program(b).written.borrow(), [PREFIX, b'x']);
}

#[test]
fn a_client_that_brings_its_own_prefix_uses_it_and_the_others_keep_the_servers() {
    let mut h = Harness::new();
    let a = h.session("a");
    let b = h.session("b");
    let far = h.attach_with_prefix("a", 80, 24, Some(vec![0x01]));
    let near = h.attach("a", 80, 24);
    h.keys(far, &[0x01, b'n']);
    assert_eq!(h.focused(far), b, "C-a is its prefix");
    h.keys(far, &[PREFIX, b'x']);
    assert_eq!(*h.program(b).written.borrow(), [PREFIX, b'x'], "C-b is just a key to it");
    h.keys(near, &[0x01, PREFIX, b'n']);
    assert_eq!(h.focused(near), b, "the server's C-b for the other client");
    assert_eq!(*h.program(a).written.borrow(), [0x01], "for which C-a is just a key");
    // An empty prefix is no key: ignored, the server's stands.
    let odd = h.attach_with_prefix("a", 80, 24, Some(Vec::new()));
    h.keys(odd, &[PREFIX, b'n']);
    assert_eq!(h.focused(odd), b);
}

#[test]
fn an_unbound_key_says_so_and_a_missing_index_too() {
    let mut h = Harness::new();
    h.session("a");
    let cid = h.attach("a", 80, 24);
    let mut screen = Terminal::new(24, 80);
    h.keys(cid, &[PREFIX, b'K']);
    let shown = h.screen(cid, &mut screen);
    assert!(shown.contains("C-b K is not bound (C-b ? lists keys)"), "{shown}");
    h.keys(cid, &[PREFIX, b'7']);
    assert!(h.screen(cid, &mut screen).contains("no session 7"));
    h.advance(Duration::from_secs(4));
    assert!(!h.screen(cid, &mut screen).contains("no session 7"), "messages go after a while");
}

#[test]
fn chooser_rename_and_kill_through_their_screens() {
    let mut h = Harness::new();
    let _a = h.session("a");
    let b = h.session("b");
    let cid = h.attach("a", 80, 24);
    let mut screen = Terminal::new(24, 80);
    h.keys(cid, &[PREFIX, b'w']);
    assert!(h.screen(cid, &mut screen).contains("Choose a session"));
    h.keys(cid, b"j\r");
    assert_eq!(h.focused(cid), b);
    h.keys(cid, &[PREFIX, b',']);
    h.keys(cid, b"\x15docs\r");
    assert_eq!(h.server.sessions.get(b).map(|s| s.name.clone()), Some("docs".into()));
    h.keys(cid, &[PREFIX, b'x']);
    assert!(h.screen(cid, &mut screen).contains("kill 1:docs? (y/n)"));
    h.keys(cid, b"y");
    assert!(h.server.sessions.get(b).is_none());
    assert_eq!(h.server.sessions.len(), 1);
    assert!(h.screen(cid, &mut screen).contains("0:a…*"), "the client moved to what is left");
    h.keys(cid, &[PREFIX, b'?']);
    assert!(h.screen(cid, &mut screen).contains("session by index"));
    h.keys(cid, b"q");
    assert!(!h.screen(cid, &mut screen).contains("session by index"));
}

#[test]
fn output_nobody_sees_asks_for_attention_until_shown() {
    let mut h = Harness::new();
    let a = h.session("a");
    let b = h.session("b");
    let cid = h.attach("a", 80, 24);
    let mut screen = Terminal::new(24, 80);
    h.output(b, b"news\x07");
    let s = h.server.sessions.get(b).expect("b");
    assert!(s.attention.unseen_output && s.attention.bell);
    let shown = h.screen(cid, &mut screen);
    assert!(shown.contains("1:b…+!"), "{shown}");
    assert!(shown.contains("bell in 1:b"), "{shown}");
    // Output where a client looks is seen already.
    h.output(a, b"here");
    assert_eq!(h.server.sessions.get(a).map(|s| s.attention), Some(Default::default()));
    h.keys(cid, &[PREFIX, b'1']);
    assert_eq!(h.server.sessions.get(b).map(|s| s.attention), Some(Default::default()));
    let infos = h.server.session_infos();
    assert!(infos.iter().all(|i| i.attention().marks().is_empty()));
}

#[test]
fn a_queued_message_waits_for_the_prompt() {
    let mut h = Harness::new();
    let sid = h.session("a");
    let cli = h.cli();
    h.output(sid, b"working...");
    assert_eq!(h.state(sid), State::Busy);
    let send = Request::Send { target: "a".into(), text: "hello".into(), enter: true, when_waiting: true, now: false };
    h.request(cli, send);
    assert!(
        matches!(&h.responses(cli)[..], [Response::Notice(l)] if l[0] == "queued: 0:a is busy; delivered when it waits at its prompt"),
        "queued at once, and said"
    );
    assert!(h.program(sid).written.borrow().is_empty());
    assert_eq!(h.server.sessions.get(sid).map(|s| s.queue.len()), Some(1));
    // Quiet long enough: the generic program is at its prompt.
    h.advance(Duration::from_secs(5));
    assert_eq!(*h.program(sid).written.borrow(), b"hello", "typed once waiting");
    h.output(sid, b"hello");
    h.advance(Duration::from_secs(1));
    assert_eq!(*h.program(sid).written.borrow(), b"hello\r", "Enter on its own, after the echo");
}

#[test]
fn waiters_answer_when_the_condition_holds_or_never_can() {
    let mut h = Harness::new();
    let sid = h.session("a");
    let cli = h.cli();
    h.request(cli, Request::Wait { target: "a".into(), until: WaitFor::Output("ready".into()) });
    assert!(h.responses(cli).is_empty());
    h.output(sid, b"not yet");
    assert!(h.responses(cli).is_empty());
    h.output(sid, b" ready");
    assert!(matches!(h.responses(cli)[..], [Response::Ok]));
    h.request(cli, Request::Wait { target: "a".into(), until: WaitFor::Approval });
    h.server.handle(Event::Pty(sid, PtyEvent::Exited(3)));
    assert!(matches!(&h.responses(cli)[..], [Response::SessionEnded(why)] if why.contains("exited")));
    h.request(cli, Request::Wait { target: "zzz".into(), until: WaitFor::Waiting });
    assert!(matches!(&h.responses(cli)[..], [Response::Error(e)] if e.contains("no session \"zzz\"")));
}

#[test]
fn an_exited_session_closes_on_enter() {
    let mut h = Harness::new();
    let a = h.session("a");
    let b = h.session("b");
    let cid = h.attach("b", 80, 24);
    h.server.handle(Event::Pty(b, PtyEvent::Exited(0)));
    assert_eq!(h.state(b), State::Exited);
    h.keys(cid, b"x");
    assert!(h.server.sessions.get(b).is_some(), "only Enter closes it");
    h.keys(cid, b"\r");
    assert!(h.server.sessions.get(b).is_none());
    assert_eq!(h.focused(cid), a);
}

#[test]
fn a_program_that_cannot_start_is_an_error_not_a_session() {
    let mut h = Harness::new();
    let cli = h.cli();
    let spec = NewSession {
        name: None,
        cwd: PathBuf::from("/"),
        command: vec!["missing".into()],
        env: Vec::new(),
        size: None,
        worktree: None,
    };
    h.request(cli, Request::New { session: spec, caller: None, switch_caller: false });
    assert!(matches!(&h.responses(cli)[..], [Response::Error(e)] if e == "missing: command not found"));
    assert!(h.server.sessions.is_empty());
}

#[test]
fn the_chooser_keeps_the_selected_session_on_a_small_screen() {
    let mut h = Harness::new();
    let ids: Vec<SessionId> = (0..12).map(|i| h.session(&format!("s{i}"))).collect();
    let cid = h.attach("s0", 60, 12);
    let mut screen = Terminal::new(12, 60);
    h.keys(cid, &[PREFIX, b'w']);
    let shown = h.screen(cid, &mut screen);
    assert!(shown.contains("0:s0") && !shown.contains("11:s11"), "{shown}");
    h.keys(cid, b"k");
    let shown = h.screen(cid, &mut screen);
    assert!(shown.contains("> 11:s11"), "up from the first wraps to the last, in view: {shown}");
    assert!(shown.contains("of 12"), "the header says which part shows: {shown}");
    h.keys(cid, b"\r");
    assert_eq!(h.focused(cid), ids[11]);
}

#[test]
fn help_scrolls_on_a_small_terminal_and_lists_scroll_mode_and_chooser_keys() {
    let mut h = Harness::new();
    h.session("a");
    let cid = h.attach("a", 70, 10);
    let mut screen = Terminal::new(10, 70);
    assert!(h.screen(cid, &mut screen).contains("C-b ? help"), "the bar teaches the prefix");
    h.keys(cid, &[PREFIX, b'?']);
    let shown = h.screen(cid, &mut screen);
    assert!(shown.contains("j/k or PageUp/PageDown scroll"), "{shown}");
    assert!(!shown.contains("C-b ? help"), "taught once used: {shown}");
    let mut pages = String::new();
    for _ in 0..10 {
        h.keys(cid, b"\x1b[6~");
        pages += &h.screen(cid, &mut screen);
    }
    assert!(pages.contains("q or Esc     leave"), "scroll mode's keys are listed: {pages}");
    assert!(pages.contains("v            show it in a new pane"), "the chooser's too: {pages}");
    h.keys(cid, b"x");
    assert!(!h.screen(cid, &mut screen).contains("qmux keys"), "any other key closes it");
}

#[test]
fn a_key_that_closes_a_screen_leaves_the_rest_of_the_read_to_the_prefix() {
    let mut h = Harness::new();
    let a = h.session("a");
    let b = h.session("b");
    let cid = h.attach("a", 80, 24);
    // One read: open the chooser, close it, then prefix n.
    h.keys(cid, &[PREFIX, b'w', 0x1b, PREFIX, b'n']);
    assert_eq!(h.focused(cid), b);
    // And a key that opens the rename prompt hands it the rest.
    h.keys(cid, &[PREFIX, b',', 0x15, b'x', b'\r']);
    assert_eq!(h.server.sessions.get(b).map(|s| s.name.clone()), Some("x".into()));
    assert!(h.program(b).written.borrow().is_empty(), "nothing leaked to the program");
    let _ = a;
}

#[test]
fn a_click_on_a_name_in_the_status_bar_shows_that_session() {
    let mut h = Harness::new();
    let a = h.session("a");
    let b = h.session("b");
    let cid = h.attach("a", 80, 24);
    let mut screen = Terminal::new(24, 80);
    h.screen(cid, &mut screen);
    let bar = screen.screen().rows(0, 80).nth(23).expect("the status row");
    let col = bar.find("1:b").expect("b is on the bar") + 2;
    // Dragging over the bar does nothing, and reaches no program.
    h.keys(cid, format!("\x1b[<32;{col};24M\x1b[<0;{col};24m").as_bytes());
    assert_eq!(h.focused(cid), a);
    h.keys(cid, format!("\x1b[<0;{col};24M").as_bytes());
    assert_eq!(h.focused(cid), b);
    assert!(h.program(a).written.borrow().is_empty() && h.program(b).written.borrow().is_empty());
}

/// Everything sent to a client, frames and alerts, as bytes.
fn bytes_to(h: &mut Harness, cid: ClientId) -> String {
    let mut out = Vec::new();
    for msg in h.received(cid) {
        if let ToClient::Frame(bytes) = msg {
            out.extend(bytes);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_shown_programs_clipboard_and_title_reach_its_terminal() {
    let mut h = Harness::new();
    let a = h.session("a");
    let b = h.session("b");
    let cid = h.attach("a", 80, 24);
    let sent = bytes_to(&mut h, cid);
    assert!(sent.contains("\x1b]2;qmux 0:a\x07"), "a session with no title of its own: {sent:?}");
    h.output(a, b"\x1b]52;c;aGk=\x07\x1b]2;editing main.rs\x07");
    let sent = bytes_to(&mut h, cid);
    assert!(sent.contains("\x1b]52;c;aGk=\x07"), "{sent:?}");
    assert!(sent.contains("\x1b]2;editing main.rs\x07"), "{sent:?}");
    // A session nobody shows keeps its clipboard and title to itself.
    h.output(b, b"\x1b]52;c;b3RoZXI=\x07\x1b]2;other\x07");
    let sent = bytes_to(&mut h, cid);
    assert!(!sent.contains("b3RoZXI=") && !sent.contains("other"), "{sent:?}");
    h.keys(cid, &[PREFIX, b'1']);
    assert!(bytes_to(&mut h, cid).contains("\x1b]2;other\x07"), "its title comes with it when shown");
    let infos = h.server.session_infos();
    assert_eq!(infos.iter().map(|i| i.title.as_str()).collect::<Vec<_>>(), ["editing main.rs", "other"]);
}

#[test]
fn clipboard_and_titles_can_be_turned_off() {
    let mut h = Harness::new();
    h.server.config = Config::parse("set-clipboard = false\nset-titles = false\n").expect("config");
    let a = h.session("a");
    let cid = h.attach("a", 80, 24);
    h.output(a, b"\x1b]52;c;aGk=\x07\x1b]2;title\x07");
    let sent = bytes_to(&mut h, cid);
    assert!(!sent.contains("\x1b]52") && !sent.contains("\x1b]2;"), "{sent:?}");
}

#[test]
fn a_session_nobody_showed_has_the_default_size() {
    let mut h = Harness::new();
    h.server.config = Config::parse("default-size = \"200x50\"\n").expect("config");
    let a = h.session("a");
    assert_eq!(h.size(a), (200, 49));
    assert!(Config::parse("default-size = \"wide\"\n").unwrap_err().contains("default-size \"wide\" is not a size"));
}

mod answer;
mod panes;
mod switching;
