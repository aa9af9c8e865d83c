//! The way into a program: its input queue and the writer task that
//! drains it, and a descriptor written to without blocking (a PTY master,
//! a client's terminal), registered with the reactor only while a write
//! waits for room.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// The way into a program's input. A keystroke is written at once when
/// nothing is queued ahead of it (one system call); what the program does
/// not take waits in the queue for the writer task. Query answers from the
/// reader take the same way, so the two never overtake each other.
pub(super) struct Input {
    pub(super) master: WriteEnd,
    pub(super) queue: Mutex<VecDeque<Vec<u8>>>,
    /// Wakes the writer task when the queue gains something.
    pub(super) queued: tokio::sync::Notify,
}

impl Input {
    pub(super) fn write(&self, mut bytes: Vec<u8>) {
        let Ok(mut queue) = self.queue.lock() else { return };
        if queue.is_empty() {
            match self.master.file().write(&bytes) {
                Ok(n) if n == bytes.len() => return,
                Ok(n) => {
                    bytes.drain(..n);
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
                Err(_) => return, // the program is gone
            }
        }
        queue.push_back(bytes);
        self.queued.notify_one();
    }

    pub(super) fn pending(&self) -> bool {
        self.queue.lock().is_ok_and(|q| !q.is_empty())
    }

    /// Writes what it can of the queue now, without waiting; false once
    /// the program is gone.
    pub(super) fn write_queued(&self) -> io::Result<()> {
        let Ok(mut queue) = self.queue.lock() else { return Ok(()) };
        while let Some(front) = queue.front_mut() {
            match self.master.file().write(front) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) if n == front.len() => {
                    queue.pop_front();
                }
                Ok(n) => {
                    front.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if e.kind() != io::ErrorKind::WouldBlock {
                        queue.clear();
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// The writer task: writes queued input as the program takes it.
    pub(super) async fn run(self: Arc<Self>) {
        loop {
            self.queued.notified().await;
            while self.pending() {
                match self.write_queued() {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if self.master.writable().await.is_err() {
                            return;
                        }
                    }
                    Err(_) => return, // the program is gone
                }
            }
        }
    }
}

/// A descriptor as the reactor sees it, not owned: registering it (the
/// reader's master, a write end waiting for room) opens nothing.
pub(crate) struct Watched(pub(crate) std::os::fd::RawFd);

impl AsRawFd for Watched {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0
    }
}

/// A descriptor written to without blocking (a PTY master, a client's
/// terminal), registered with the reactor only while a write waits for
/// room. Registered for good, it would wake the server each time the
/// other side reads: the program taking a key, the terminal taking a
/// frame. That is twice per keystroke, for nothing.
pub(crate) struct WriteEnd(File);

impl WriteEnd {
    /// `file` is non-blocking.
    pub fn new(file: File) -> WriteEnd {
        WriteEnd(file)
    }

    pub fn file(&self) -> &File {
        &self.0
    }

    /// Waits until a write may take something: registered for as long as
    /// that takes (the reactor says at once if there is room already).
    pub async fn writable(&self) -> io::Result<()> {
        // SAFETY: the descriptor is `self.0`'s, open for as long as this
        // borrow of `self`, which outlives the registration dropped here.
        let watch = unsafe { AsyncFd::register_with_interest(Watched(self.0.as_raw_fd()), Interest::WRITABLE) }
            .map_err(io::Error::from)?;
        let ready = watch.writable().await;
        ready.map(drop)
    }
}
