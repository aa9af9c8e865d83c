use std::io::Write;

use super::*;

#[test]
fn a_signal_is_read_back_from_its_description() {
    assert_eq!(signal_number(Some("Segmentation fault")), 11);
    assert_eq!(signal_number(Some("Hangup")), 1);
    assert_eq!(signal_number(Some("Killed")), 9);
    assert_eq!(signal_number(Some("SIGTERM")), 15);
    assert_eq!(signal_number(Some("Signal 40")), 40);
    assert_eq!(signal_number(None), 0);
}

/// The number on the row above the cursor, and what the cursor's row
/// holds of the next one.
fn last_lines(terminal: &Mutex<Terminal>) -> (u64, String) {
    let mut t = terminal.lock().expect("the terminal");
    // What waits for its line's end, as a handoff's snapshot takes it.
    t.process(&[]);
    let screen = t.screen();
    let (row, _) = screen.cursor_position();
    let rows: Vec<String> = screen.rows(0, 80).collect();
    let above = rows[usize::from(row).saturating_sub(1)].trim();
    let full = above.parse().unwrap_or_else(|_| panic!("a whole number above the cursor: {rows:#?}"));
    (full, rows[usize::from(row)].trim().to_string())
}

/// Starts `argv` in a new pseudo-terminal of `rows` rows and 80
/// columns: the child, and our own descriptor for the master.
fn spawn_in_pty(argv: &[&str], rows: u16) -> (Box<dyn portable_pty::Child + Send + Sync>, OwnedFd) {
    let pair = portable_pty::native_pty_system()
        .openpty(PtySize { rows, cols: 80, pixel_width: 0, pixel_height: 0 })
        .expect("a pseudo-terminal");
    let mut cmd = CommandBuilder::new(argv[0]);
    cmd.args(&argv[1..]);
    let child = pair.slave.spawn_command(cmd).expect("the program runs");
    drop(pair.slave);
    (child, dup_master(&*pair.master).expect("the master"))
}

/// Runs `sh -c script` in a PTY, shown or not, until it ends: the
/// output events it caused, how long it ran, and the screen.
fn output_events(script: &str, shown: bool) -> (usize, std::time::Duration, String) {
    use std::sync::atomic::AtomicUsize;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let (child, master) = spawn_in_pty(&["sh", "-c", script], 120);
        let terminal = Arc::new(Mutex::new(Terminal::new(120, 80)));
        // The server's part: it takes each event, so the next output
        // is news again.
        let pending: OutputPending = Arc::default();
        let (events, ended) = (Arc::new(AtomicUsize::new(0)), Arc::new(tokio::sync::Notify::new()));
        let notify: Notify = {
            let (pending, events, ended) = (pending.clone(), events.clone(), ended.clone());
            Box::new(move |event| match event {
                PtyEvent::Output => {
                    pending.store(false, Ordering::Release);
                    events.fetch_add(1, Ordering::Relaxed);
                }
                PtyEvent::Exited(_) => ended.notify_one(),
            })
        };
        let start = Instant::now();
        let pty = Pty::adopt(master, child.process_id(), terminal.clone(), pending, notify).expect("the reader starts");
        pty.set_shown(shown);
        tokio::time::timeout(std::time::Duration::from_secs(30), ended.notified()).await.expect("sh ends");
        let screen = terminal.lock().expect("the terminal").screen().contents();
        (events.load(Ordering::Relaxed), start.elapsed(), screen)
    })
}

/// A program nobody sees that keeps writing is read on the background
/// ticks, a few writes a time, with nothing lost; shown, each write is
/// read as it comes.
#[test]
fn an_unseen_program_is_read_on_the_ticks_and_a_shown_one_at_once() {
    let script = "i=0; while [ $i -lt 100 ]; do echo line$i; i=$((i+1)); sleep 0.005; done";
    let ticks = |ran: std::time::Duration| (ran.as_millis() / BACKGROUND_TICK.as_millis()) as usize;
    let (events, ran, screen) = output_events(script, false);
    for i in 0..100 {
        assert!(screen.lines().any(|l| l == format!("line{i}")), "line{i} is missing:\n{screen}");
    }
    // One event for the first write, one each tick after (and the last
    // read, of the end), at most.
    assert!(events <= ticks(ran) + 3, "{events} events in {ran:?} unseen");
    let (events, ran, _) = output_events(script, true);
    assert!(events > ticks(ran) + 3, "only {events} events in {ran:?} shown");
}

/// A flood's buffer is freed when it ends, and counted, so the server
/// knows the heap has pages to hand back.
#[test]
fn the_end_of_a_flood_is_counted() {
    let before = floods_ended();
    let (_, _, screen) = output_events("seq 1 200000", true);
    assert!(screen.contains("200000"), "{screen}");
    assert!(floods_ended() > before, "no flood ended");
}

#[test]
fn a_pause_mid_flood_leaves_each_byte_parsed_or_in_the_kernel() {
    const ROUNDS: usize = 20;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let (mut child, master) = spawn_in_pty(&["seq", "1", "5000000"], 24);
        let terminal = Arc::new(Mutex::new(Terminal::new(24, 80)));
        let mut pty = Pty::adopt(master, child.process_id(), terminal.clone(), Arc::default(), Box::new(|_| {}))
            .expect("the reader starts");

        // Pauses mid-flood, round after round, handing what the kernel
        // held back to the terminal before reading again.
        let deadline = Instant::now() + std::time::Duration::from_secs(30);
        let mut file = File::from(pty.master().try_clone_to_owned().expect("the master"));
        for _ in 0..ROUNDS {
            // Until a flood is being parsed on the blocking pool.
            while pty.reading.parsing.count.lock().map(|c| *c == 0).expect("the count") {
                assert!(Instant::now() < deadline, "seq's output was never parsed as a flood");
                tokio::task::yield_now().await;
            }
            pty.pause();

            // What the terminal holds and what the kernel still holds
            // meet with nothing between them.
            let (full, partial) = last_lines(&terminal);
            let mut rest = Vec::new();
            let mut buf = [0u8; 4096];
            while !rest.contains(&b'\n') {
                assert!(Instant::now() < deadline, "seq wrote nothing more: {rest:?}");
                match file.read(&mut buf) {
                    Ok(n) => rest.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                    Err(e) => panic!("reading the rest: {e}"),
                }
            }
            let end = rest.iter().position(|b| *b == b'\n').unwrap_or(0);
            let next = String::from_utf8_lossy(&rest[..end]);
            assert_eq!(format!("{partial}{}", next.trim_end_matches('\r')), (full + 1).to_string());
            terminal.lock().expect("the terminal").process(&rest);
            pty.resume();
        }
        child.kill().expect("seq is stopped");
    });
}

/// Whether any epoll instance of this process watches `fd`.
fn watched_anywhere(fd: std::os::fd::RawFd) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else { return false };
    dir.flatten()
        .filter(|e| std::fs::read_link(e.path()).is_ok_and(|l| l.as_os_str() == "anon_inode:[eventpoll]"))
        .filter_map(|e| std::fs::read_to_string(format!("/proc/self/fdinfo/{}", e.file_name().to_string_lossy())).ok())
        .any(|info| {
            info.lines()
                .any(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()) == Some(fd) && l.starts_with("tfd:"))
        })
}

/// A write end is on the reactor only while a write waits for room:
/// a pipe filled, then drained by its reader.
#[test]
fn a_write_end_is_watched_only_while_a_write_waits_for_room() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let (read_end, write_end) = nix::unistd::pipe().expect("a pipe");
        let end = Arc::new(WriteEnd::new(nonblocking_handle(&write_end).expect("a non-blocking write end")));
        drop(write_end);
        let fd = end.file().as_raw_fd();
        let chunk = [b'x'; 4096];
        while end.file().write(&chunk).is_ok() {}
        assert!(!watched_anywhere(fd), "nothing waits: not on the reactor");
        let waiting = tokio::spawn({
            let end = end.clone();
            async move { end.writable().await }
        });
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        while !watched_anywhere(fd) {
            assert!(Instant::now() < deadline, "the wait registers the write end");
            tokio::task::yield_now().await;
        }
        assert!(!waiting.is_finished(), "a full pipe has no room");
        // The reader takes it all: the wait ends, and lets go.
        let mut reader = File::from(read_end);
        let mut buf = vec![0u8; 1 << 20];
        let _ = reader.read(&mut buf).expect("the pipe's contents");
        tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
            .await
            .expect("room, once the reader took the contents")
            .expect("the waiting task")
            .expect("writable");
        assert!(!watched_anywhere(fd), "off the reactor again");
        assert!(end.file().write(b"more").is_ok());
    });
}
