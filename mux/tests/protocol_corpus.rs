//! Bad input to the two places where bytes from outside are parsed: the
//! protocol decoder (anything that can reach the socket) and a session's
//! output path (anything a program prints).
//!
//! - Every file in `tests/corpus/` is fed to the frame reader and the
//!   decoder: valid frames of every message type, truncated ones, wrong
//!   lengths, random bytes. The generated files must match the encoder
//!   (regenerate with `QMUX_REGENERATE_CORPUS=1 cargo test -p qmux --test
//!   protocol_corpus` after a protocol change); files added by hand are fed
//!   as they are.
//! - proptest throws 100k random byte strings at the decoder, and a seeded
//!   loop 100k mutations of the valid frames.
//! - About 10 MB of seeded random output, plain and escape-heavy, goes
//!   through `terminal::Terminal::process` with random resizes in between,
//!   through the renderer too, and with the burst fast path on and off: no
//!   panic, bounded time, and both paths agree.
//!
//! None of this may panic, hang or allocate what a length field claims.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use qmux::protocol::{
    self, decode, encode, read_frame, Bridged, Caller, Hello, NewSession, Request, Response, ToClient, ToServer,
    WaitFor, MAX_FRAME,
};
use qmux::terminal::Terminal;

// ---- the corpus ----------------------------------------------------------

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn frame(msg: &impl serde::Serialize) -> Vec<u8> {
    encode(msg)
}

fn request(req: Request) -> Vec<u8> {
    frame(&ToServer::Request(Box::new(req)))
}

fn new_session() -> NewSession {
    NewSession {
        name: Some("chat".into()),
        cwd: "/tmp".into(),
        command: vec!["q".into(), "chat".into()],
        env: vec![("TERM".into(), "xterm-256color".into())],
        size: Some((120, 40)),
        worktree: None,
    }
}

/// Small deterministic generator (xorshift64*), so every run and every
/// corpus file is reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// 1 to `max` random bytes.
    fn some_bytes(&mut self, max: usize) -> Vec<u8> {
        let n = 1 + self.below(max);
        self.bytes(n)
    }
}

/// Every generated corpus file: name and bytes.
fn generated_corpus() -> Vec<(&'static str, Vec<u8>)> {
    let hello = frame(&ToServer::Hello(Hello::ours()));
    let with_len = |len: u32, body: &[u8]| [&len.to_le_bytes()[..], body].concat();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    vec![
        // Valid frames of each message type, both directions.
        ("valid-hello.bin", hello.clone()),
        ("valid-hello-old-protocol.bin", frame(&ToServer::Hello(Hello { protocol: 0, version: "0.0.1".into() }))),
        (
            "valid-request-attach.bin",
            request(Request::Attach {
                target: Some("chat".into()),
                create: None,
                create_if_none: Some(new_session()),
                size: (100, 30),
                env: vec![("HOME".into(), "/root".into())],
                watch: false,
                panes: None,
                prefix: Some(b"\x01".to_vec()),
            }),
        ),
        (
            "valid-request-new.bin",
            request(Request::New { session: new_session(), caller: Some(Caller { session: 3 }), switch_caller: true }),
        ),
        ("valid-request-list.bin", request(Request::List)),
        ("valid-request-kill.bin", request(Request::Kill { target: "chat".into() })),
        ("valid-request-kill-server.bin", request(Request::KillServer)),
        ("valid-request-rename.bin", request(Request::Rename { target: "0".into(), name: "review".into() })),
        ("valid-request-switch.bin", request(Request::Switch { target: "1".into(), caller: None })),
        ("valid-request-detach.bin", request(Request::Detach { target: None, caller: Some(Caller { session: 1 }) })),
        (
            "valid-request-send.bin",
            request(Request::Send {
                target: "chat".into(),
                text: "hi\nthere".into(),
                enter: true,
                when_waiting: true,
                now: false,
            }),
        ),
        (
            "valid-request-answer.bin",
            request(Request::Answer {
                target: "chat".into(),
                choice: qmux::rules::Choice::Always,
                caller: Some(Caller { session: 2 }),
            }),
        ),
        ("valid-request-capture.bin", request(Request::Capture { target: "chat".into(), ansi: true, history: 100 })),
        (
            "valid-request-wait.bin",
            request(Request::Wait { target: "chat".into(), until: WaitFor::Output("done|fail(ed)?".into()) }),
        ),
        ("valid-request-list-saved.bin", request(Request::ListSaved)),
        ("valid-request-info.bin", request(Request::Info { target: "chat".into() })),
        ("valid-request-restore.bin", request(Request::Restore { target: Some("chat".into()) })),
        ("valid-request-forget.bin", request(Request::Forget { target: None })),
        ("valid-input.bin", frame(&ToServer::Input(b"hello\x02c\x1b[A".to_vec()))),
        ("valid-resize.bin", frame(&ToServer::Resize(120, 40))),
        ("valid-tty.bin", frame(&ToServer::Tty { path: "/dev/pts/3".into(), rdev: 0x8803 })),
        ("valid-tty-ready.bin", frame(&ToServer::TtyReady)),
        (
            "valid-bridge.bin",
            frame(&ToServer::Bridge(Bridged {
                env: vec![("PATH".into(), "/usr/bin:/bin".into()), ("HOME".into(), "/home/me".into())],
                home: Some("/home/me".into()),
                exe: Some("/usr/local/bin/qmux".into()),
            })),
        ),
        ("valid-tty-bridge.bin", frame(&ToServer::TtyBridge)),
        ("valid-tty-from.bin", frame(&ToServer::TtyFrom("7-00112233445566778899aabbccddeeff".into()))),
        ("valid-client-tty-bridge.bin", frame(&ToClient::TtyBridge("7-00112233445566778899aabbccddeeff".into()))),
        ("valid-client-direct.bin", frame(&ToClient::Direct(true))),
        ("valid-client-frame.bin", frame(&ToClient::Frame(b"\x1b[?2026h\x1b[Hhi\x1b[?2026l".to_vec()))),
        ("valid-client-detached.bin", frame(&ToClient::Detached("detached".into()))),
        ("valid-client-reconnect.bin", frame(&ToClient::Reconnect(Some(3)))),
        ("valid-client-hop.bin", frame(&ToClient::Hop { host: "box".into(), session: 2, from: 1 })),
        ("valid-request-handoff.bin", request(Request::Handoff { exe: "/usr/local/bin/qmux".into() })),
        ("valid-client-response-error.bin", frame(&ToClient::Response(Response::Error("no session".into())))),
        // Valid frames with hostile contents: sizes no terminal has.
        ("hostile-resize-max.bin", frame(&ToServer::Resize(u16::MAX, u16::MAX))),
        ("hostile-resize-zero.bin", frame(&ToServer::Resize(0, 0))),
        // Not a terminal, or not the one it claims to be.
        ("hostile-tty-not-a-terminal.bin", frame(&ToServer::Tty { path: "/etc/passwd".into(), rdev: 0 })),
        ("hostile-tty-fifo.bin", frame(&ToServer::Tty { path: "/dev/null".into(), rdev: u64::MAX })),
        (
            "hostile-attach-max-size.bin",
            request(Request::Attach {
                target: None,
                create: None,
                create_if_none: None,
                size: (u16::MAX, u16::MAX),
                env: Vec::new(),
                watch: false,
                panes: Some(qmux::protocol::Panes {
                    sessions: vec!["plan".into(), "code".into()],
                    layout: "tiled".into(),
                }),
                prefix: Some(vec![0x1b; 4096]),
            }),
        ),
        // A bridge whose environment no program could be given, and paths
        // that are nowhere.
        (
            "hostile-bridge-nul-env.bin",
            frame(&ToServer::Bridge(Bridged {
                env: vec![("A\0B".into(), "x\0y".into()), ("".into(), "=".into())],
                home: Some("".into()),
                exe: Some("".into()),
            })),
        ),
        ("hostile-bridge-empty.bin", frame(&ToServer::Bridge(Bridged::default()))),
        // A terminal's bridge with a token no server gives.
        ("hostile-tty-from-huge-token.bin", frame(&ToServer::TtyFrom("\0".repeat(64 * 1024)))),
        // Broken framing.
        ("empty.bin", Vec::new()),
        ("truncated-header.bin", vec![0x05, 0x00]),
        ("truncated-hello.bin", hello[..hello.len() - 2].to_vec()),
        ("length-too-short.bin", with_len(2, &hello[4..])),
        ("length-too-long.bin", with_len(1000, &hello[4..])),
        ("length-max-u32.bin", with_len(u32::MAX, b"xxxx")),
        ("length-limit-plus-one.bin", with_len(MAX_FRAME as u32 + 1, b"x")),
        // Broken bodies.
        ("bad-variant.bin", with_len(2, &[0x7f, 0x00])),
        ("overlong-varint.bin", with_len(11, &[0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])),
        // Input whose byte count claims 4 GiB in a 6-byte body.
        ("vec-length-lie.bin", with_len(6, &[0x02, 0xff, 0xff, 0xff, 0xff, 0x0f])),
        // Kill { target } whose string is not UTF-8.
        ("invalid-utf8-string.bin", with_len(5, &[0x01, 0x03, 0x02, 0xff, 0xfe])),
        ("random-16.bin", rng.bytes(16)),
        ("random-256.bin", rng.bytes(256)),
        ("random-4k.bin", rng.bytes(4096)),
    ]
}

fn corpus_files() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(corpus_dir())
        .expect("tests/corpus/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Everything the server and the client do with bytes off the socket.
fn feed(bytes: &[u8]) {
    // A stream of frames, as a connection reads them, until the first error.
    let mut stream = bytes;
    while let Ok(Some(_)) = read_frame::<ToServer>(&mut stream) {}
    let mut stream = bytes;
    while let Ok(Some(_)) = read_frame::<ToClient>(&mut stream) {}
    // The body alone, with and without the header.
    let _ = decode::<ToServer>(bytes);
    let _ = decode::<ToClient>(bytes);
    if bytes.len() >= 4 {
        let _ = decode::<ToServer>(&bytes[4..]);
        let _ = decode::<ToClient>(&bytes[4..]);
        let _ = protocol::frame_len(bytes[..4].try_into().unwrap());
    }
}

#[test]
fn the_corpus_matches_the_encoder() {
    let dir = corpus_dir();
    if std::env::var_os("QMUX_REGENERATE_CORPUS").is_some() {
        fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in generated_corpus() {
            fs::write(dir.join(name), bytes).unwrap();
        }
    }
    for (name, bytes) in generated_corpus() {
        let path = dir.join(name);
        let on_disk = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; regenerate the corpus", path.display()));
        assert!(
            on_disk == bytes,
            "{name} no longer matches the encoder: the protocol changed shape. Regenerate with \
             QMUX_REGENERATE_CORPUS=1 cargo test -p qmux --test protocol_corpus, and bump PROTOCOL_VERSION if \
             an old peer would misread the new shape"
        );
    }
}

#[test]
fn every_corpus_file_is_read_without_panicking() {
    let files = corpus_files();
    assert!(files.len() >= 20, "the corpus has {} files", files.len());
    for (path, bytes) in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        feed(bytes);
        let first = read_frame::<ToServer>(&mut &bytes[..]);
        let first_to_client = read_frame::<ToClient>(&mut &bytes[..]);
        if name.starts_with("valid-client-") {
            assert!(matches!(first_to_client, Ok(Some(_))), "{name} reads as a message to the client");
        } else if name.starts_with("valid-") || name.starts_with("hostile-") {
            assert!(matches!(first, Ok(Some(_))), "{name} reads as a message to the server: {first:?}");
        } else if name.starts_with("length-") || name.starts_with("truncated-") || name.starts_with("bad-") {
            // Refused, or (a header cut short) read as the end of the stream.
            assert!(!matches!(first, Ok(Some(_))), "{name} is refused, got {first:?}");
        }
    }
}

#[test]
fn a_length_from_the_wire_is_checked_before_anything_is_allocated() {
    // A reader that would hand out gigabytes: the frame must be refused
    // from its header alone.
    struct Endless;
    impl io::Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            buf.fill(0xff);
            Ok(buf.len())
        }
    }
    let err = read_frame::<ToServer>(&mut Endless).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
}

#[test]
fn mutations_of_valid_frames_never_panic() {
    let valid: Vec<Vec<u8>> =
        generated_corpus().into_iter().filter(|(n, _)| n.starts_with("valid-")).map(|(_, b)| b).collect();
    let mut rng = Rng(0x5eed_0001);
    let started = Instant::now();
    for _ in 0..100_000 {
        let mut bytes = valid[rng.below(valid.len())].clone();
        for _ in 0..1 + rng.below(4) {
            let len = bytes.len();
            match rng.below(6) {
                0 if len > 0 => bytes[rng.below(len)] ^= 1 << rng.below(8),
                1 if len > 0 => bytes[rng.below(len)] = rng.next() as u8,
                2 => bytes.truncate(rng.below(len + 1)),
                3 => {
                    let at = rng.below(len + 1);
                    let extra = rng.some_bytes(8);
                    bytes.splice(at..at, extra);
                }
                // Fix the header to the new length, so the body is parsed.
                4 if len >= 4 => {
                    let body = (len - 4) as u32;
                    bytes[..4].copy_from_slice(&body.to_le_bytes());
                }
                _ => bytes.extend(rng.some_bytes(16)),
            }
        }
        feed(&bytes);
    }
    eprintln!("100k mutated frames decoded in {:?}", started.elapsed());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        feed(&bytes);
    }

    #[test]
    fn random_bodies_behind_a_true_length_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut bytes = (body.len() as u32).to_le_bytes().to_vec();
        bytes.extend_from_slice(&body);
        feed(&bytes);
    }
}

// ---- the session output path -----------------------------------------------

/// Pieces that programs print, chosen to reach every parser state: escape
/// sequences finished and not, strings (OSC, DCS, APC) terminated and not,
/// huge parameters, scroll regions, the alternate screen, wide and
/// combining characters, invalid UTF-8, and runs of plain lines (the burst
/// fast path).
const PIECES: &[&[u8]] = &[
    b"\x1b[",
    b"\x1b]",
    b"\x1bP",
    b"\x1b_",
    b"\x1b^",
    b"\x1bX",
    b"\x1b\\",
    b"\x07",
    b"\x1b",
    b"\x1b[?1049h",
    b"\x1b[?1049l",
    b"\x1b[?47h",
    b"\x1b[?2004h",
    b"\x1b[?1000h",
    b"\x1b[?25l",
    b"\x1b[2J",
    b"\x1b[3J",
    b"\x1b[H",
    b"\x1b[65535;65535H",
    b"\x1b[99999999999999999999m",
    b"\x1b[38;2;255;0;0m",
    b"\x1b[48;5;300m",
    b"\x1b[1;4;5;7m",
    b"\x1b[0m",
    b"\x1b[5;10r",
    b"\x1b[r",
    b"\x1b[65535L",
    b"\x1b[65535M",
    b"\x1b[65535@",
    b"\x1b[65535P",
    b"\x1b[65535X",
    b"\x1b[65535S",
    b"\x1b[65535T",
    b"\x1b[?6h",
    b"\x1b[?6l",
    b"\x1b[?7l",
    b"\x1b#8",
    b"\x1bM",
    b"\x1bD",
    b"\x1bE",
    b"\x1b7",
    b"\x1b8",
    b"\x1bc",
    b"\x1b[6n",
    b"\x1b[5n",
    b"\x1b[c",
    b"\x1b[>c",
    b"\x1b]0;title\x07",
    b"\x1b]9;notify\x1b\\",
    b"\x1b]52;c;aGVsbG8=\x07",
    b"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
    b"\x1b(0lqqk\x1b(B",
    b"\t\t\t",
    b"\x08\x08",
    b"\r",
    b"\n",
    b"\r\n",
    b"\x0b\x0c",
    b"\x00\x7f",
    "中文字".as_bytes(),
    "e\u{301}\u{302}\u{303}".as_bytes(),
    "🦀".as_bytes(),
    b"\xff\xfe\xc0\x80\xed\xa0\x80\xf4\x90\x80\x80",
    b"\xe4\xb8",
    b";;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;",
    b"0123456789",
    b"plain text that wraps past the right margin of a narrow screen",
];

fn output_chunk(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 256);
    while out.len() < len {
        match rng.below(10) {
            // Random bytes.
            0 => out.extend(rng.some_bytes(64)),
            // A burst of plain lines, as a build log or `seq` prints.
            1 => {
                for _ in 0..rng.below(200) {
                    let width = rng.below(100);
                    out.extend((0..width).map(|_| b'!' + rng.below(94) as u8));
                    out.extend_from_slice(b"\r\n");
                }
            }
            _ => out.extend_from_slice(PIECES[rng.below(PIECES.len())]),
        }
    }
    out
}

/// What both the fast and the ordinary path must agree on.
fn observable(t: &Terminal) -> (String, (u16, u16), usize, Vec<String>) {
    let history = t.history();
    let rows = (0..history.len()).map(|i| history.row_formatted(i).to_string()).collect();
    (t.screen().contents_formatted(), t.screen().cursor_position(), history.len(), rows)
}

#[test]
fn random_program_output_never_panics_or_stalls_a_session() {
    const TOTAL: usize = 10 << 20;
    // Another seed, for a longer hunt: QMUX_FUZZ_SEED=N.
    let seed = std::env::var("QMUX_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x0b5e_55ed);
    let mut rng = Rng(seed);
    let mut fast = Terminal::with_history_limit(24, 80, 2000);
    let mut ordinary = Terminal::with_history_limit(24, 80, 2000).without_fast_path();
    let (mut fed, mut chunks, mut slowest) = (0usize, 0usize, Duration::ZERO);
    let mut prev: Option<vt100::Screen> = None;
    let started = Instant::now();
    while fed < TOTAL {
        if rng.below(8) == 0 {
            // Within what the server lets a client ask for (1000x1000):
            // vt100 itself overflows a u16 near 65535 columns.
            let (cols, rows) = match rng.below(20) {
                0 => (1, 1),
                1 => (1000, 1000),
                2 => (1000, 1),
                3 => (1, 1000),
                _ => (1 + rng.below(300) as u16, 1 + rng.below(100) as u16),
            };
            fast.resize(cols, rows);
            ordinary.resize(cols, rows);
            prev = None;
        }
        // Half the chunks are mostly plain text, half escape-heavy.
        let chunk = if chunks % 2 == 0 {
            let len = 1 + rng.below(64 << 10);
            output_chunk(&mut rng, len)
        } else {
            let mut c = rng.some_bytes(64 << 10);
            for b in c.iter_mut().step_by(7) {
                *b = 0x1b;
            }
            c
        };
        let t0 = Instant::now();
        let answer = fast.process(&chunk);
        slowest = slowest.max(t0.elapsed());
        assert_eq!(answer, ordinary.process(&chunk), "both paths answer the same queries (chunk {chunks})");
        if chunks % 16 == 0 {
            let (a, b) = (observable(&fast), observable(&ordinary));
            if a != b {
                let first_row = a.3.iter().zip(&b.3).position(|(x, y)| x != y);
                panic!(
                    "the fast path and the ordinary path disagree after chunk {chunks} (seed {seed}): screens \
                     equal {}, cursors {:?} vs {:?}, history rows {} vs {}, first differing row {first_row:?}: {:?} vs \
                     {:?}",
                    a.0 == b.0,
                    a.1,
                    b.1,
                    a.2,
                    b.2,
                    first_row.map(|i| &a.3[i]),
                    first_row.map(|i| &b.3[i]),
                );
            }
        }
        // What a client would be sent: a diff from the last frame, or all.
        let screen = fast.screen();
        let rows = screen.size().0.get();
        let size = (screen.size().1.get(), rows.saturating_add(1));
        let _ = qmux::render::session_frame(screen, prev.as_ref(), Some("0:chat*"), size);
        let _ = qmux::history::capture(fast.history(), screen, 50, chunks % 3 == 0);
        prev = (rows as usize * screen.size().1.get() as usize <= 200_000).then(|| screen.clone());
        fed += chunk.len();
        chunks += 1;
    }
    let took = started.elapsed();
    eprintln!(
        "{} MB of program output in {chunks} chunks: {took:?} in all (both paths and rendering), slowest chunk \
         {slowest:?} on the fast path",
        fed >> 20
    );
    // Generous for unoptimized builds on a busy machine; a hang or a
    // quadratic blow-up is far beyond it.
    assert!(slowest < Duration::from_secs(5), "one 64 KiB chunk took {slowest:?}");
    assert!(took < Duration::from_secs(240), "10 MB took {took:?}");
}

#[test]
fn an_unterminated_string_then_a_flood_keeps_the_session_usable() {
    for opener in [&b"\x1b]0;"[..], b"\x1bP", b"\x1b_", b"\x1b[", b"\x1b[?"] {
        let mut t = Terminal::new(24, 80);
        t.process(opener);
        let chunk = vec![b'7'; 1 << 20];
        let started = Instant::now();
        for _ in 0..8 {
            t.process(&chunk);
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{opener:?}: 8 MB took {:?}", started.elapsed());
        t.process(b"\x07\x1b\\\x1b[m\r\nafter");
        assert!(t.text().contains("after"), "{opener:?}: the session shows text again:\n{}", t.text());
    }
}
