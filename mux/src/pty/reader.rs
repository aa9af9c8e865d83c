//! A session's reader: waiting for output on the reactor or on the
//! background ticks, reading it, and feeding the terminal, a flood on the
//! blocking pool in pieces.

use super::*;

/// What the first read after a wakeup found.
enum FirstRead {
    /// Nothing after all.
    Nothing,
    /// A trickle, in the model already: its answers to write back (None:
    /// the terminal is broken).
    Trickle(Option<Vec<u8>>),
    /// The start of a flood: this many bytes at the front of the flood
    /// buffer.
    Flood(usize),
}

impl Reading {
    /// Registers the master with the reactor, to wait for output.
    fn watch(&self) -> io::Result<AsyncFd<Watched>> {
        // SAFETY: the descriptor is `self.master`'s, open as long as this
        // Reading is; the registration lives in the reader task, which
        // holds the Reading, and is dropped (deregistered) first.
        unsafe { AsyncFd::register_with_interest(Watched(self.master.as_raw_fd()), Interest::READABLE) }
            .map_err(io::Error::from)
    }

    /// Waits until there may be output: for the next background tick (off
    /// the reactor), or for the master to be readable (registered with the
    /// reactor, once, until the next wait on the ticks). The guard is
    /// there to clear when the reactor said readable.
    async fn wait_for_output<'a>(
        &self,
        registered: &'a mut Option<AsyncFd<Watched>>,
        on_ticks: bool,
    ) -> io::Result<Option<tokio::io::unix::AsyncFdReadyGuard<'a, Watched>>> {
        if on_ticks {
            *registered = None;
            tokio::select! {
                () = tokio::time::sleep_until(next_background_tick()) => {}
                () = self.came_into_view.notified() => {}
            }
            return Ok(None);
        }
        let fd = match registered {
            Some(fd) => fd,
            None => registered.insert(self.watch()?),
        };
        fd.readable().await.map(Some)
    }

    /// Reads what there is and puts a trickle straight into the model. Its
    /// buffer lives on this function's stack, not in the reader task: an
    /// idle session's task would keep it for good.
    fn first_read(&self, flood: &mut Vec<u8>, open: &mut bool, drained: &mut bool) -> FirstRead {
        let mut small = [0u8; 4096];
        let n = read_available(&mut &self.master, &mut small, open, drained);
        if n == 0 && *open {
            return FirstRead::Nothing;
        }
        if n < small.len() - 1 || !*open {
            // The usual trickle (an echo, a spinner's frame): into the
            // model here, with no thread hop.
            return FirstRead::Trickle(self.terminal.lock().ok().map(|mut t| t.process_batch(&small[..n], false)));
        }
        flood.resize(READ_BATCH, 0);
        flood[..n].copy_from_slice(&small[..n]);
        FirstRead::Flood(n)
    }

    /// The reader task: reads until the program's output ends, then
    /// reports its exit. Everything it reads goes into the terminal before
    /// it reads again, so aborting it ([`Pty::pause`]) loses nothing: a
    /// flood being parsed on the blocking pool is parsed to its end, and
    /// the pause waits for that.
    pub(super) async fn run(self: Arc<Self>) {
        // A small buffer for the usual trickle; a big one only while a
        // flood lasts, freed after, so an idle session holds none.
        let mut flood: Vec<u8> = Vec::new();
        // Registered with the reactor while waiting for output that may be
        // long in coming; not while reading on the ticks, so that a
        // background program's writes do not wake the server.
        let mut registered: Option<AsyncFd<Watched>> = None;
        // Ticks in a row that found nothing, while reading on the ticks.
        let mut quiet_ticks: Option<u32> = None;
        loop {
            let on_ticks = quiet_ticks.is_some_and(|quiet| quiet < QUIET_TICKS) && !self.shown.load(Ordering::Acquire);
            if !on_ticks {
                quiet_ticks = None;
            }
            let Ok(mut ready) = self.wait_for_output(&mut registered, on_ticks).await else { break };
            let (mut open, mut drained) = (true, false);
            let first = self.first_read(&mut flood, &mut open, &mut drained);
            // Unseen, a trickle that asked nothing of the terminal means
            // more of the same to come (a spinner, a streamed reply): read
            // on the ticks from now on. A flood is read at once, as it comes,
            // and so is what comes after a question the program may be
            // waiting on an answer to.
            quiet_ticks = match &first {
                FirstRead::Nothing => quiet_ticks.map(|q| q + 1),
                FirstRead::Trickle(Some(answer)) if answer.is_empty() && !self.shown.load(Ordering::Acquire) => Some(0),
                _ => None,
            };
            let answer = match first {
                FirstRead::Nothing => {
                    if let Some(ready) = ready.as_mut() {
                        ready.clear_ready();
                    }
                    continue;
                }
                FirstRead::Trickle(Some(answer)) => answer,
                FirstRead::Trickle(None) => break,
                FirstRead::Flood(n) => {
                    // A flood: everything readable now, in one batch (a PTY
                    // read gives at most 4095 bytes, and the model is fastest
                    // on whole floods), parsed on a blocking-pool thread so the
                    // server goes on drawing and reading keys meanwhile.
                    let mut file = &self.master;
                    let n = n + read_available(&mut file, &mut flood[n..], &mut open, &mut drained);
                    let terminal = self.terminal.clone();
                    let more_coming = open && !drained;
                    let token = self.parsing.start();
                    let parsed = tokio::task::spawn_blocking(move || {
                        let _token = token;
                        // Piece by piece, so the server waits for the lock at
                        // most one piece's parse when it draws or looks.
                        let mut answer = Vec::new();
                        let mut pieces = flood[..n].chunks(LOCK_PIECE).peekable();
                        while let Some(piece) = pieces.next() {
                            let more = more_coming || pieces.peek().is_some();
                            match terminal.lock() {
                                Ok(mut t) => answer.extend(t.process_batch(piece, more)),
                                Err(_) => return (None, flood),
                            }
                        }
                        (Some(answer), flood)
                    });
                    match parsed.await {
                        Ok((Some(answer), buf)) => {
                            flood = buf;
                            answer
                        }
                        _ => break,
                    }
                }
            };
            if let Some(ready) = ready.as_mut().filter(|_| drained) {
                ready.clear_ready();
            }
            if !answer.is_empty() {
                self.replies.write(answer);
            }
            if !self.pending.swap(true, Ordering::AcqRel) {
                (self.notify)(PtyEvent::Output);
            }
            if !open {
                break;
            }
            if drained && !flood.is_empty() {
                flood = Vec::new();
                FLOODS_ENDED.fetch_add(1, Ordering::Relaxed);
            } else if !flood.is_empty() {
                // Still pouring: the server looks at what came (draws it,
                // hears the news) before the next batch takes the lock.
                tokio::task::yield_now().await;
            }
        }
        let ending = self.ending.lock().ok().and_then(|mut e| e.take());
        let code = match ending {
            Some(Ending::Child(mut child)) => tokio::task::spawn_blocking(move || match child.wait() {
                Ok(status) if status.signal().is_some() => 128 + signal_number(status.signal()),
                Ok(status) => status.exit_code() as i32,
                Err(_) => -1,
            })
            .await
            .unwrap_or(-1),
            Some(Ending::Adopted) => EXIT_UNKNOWN,
            None => return,
        };
        self.reaped.store(true, Ordering::Release);
        (self.notify)(PtyEvent::Exited(code));
    }
}
