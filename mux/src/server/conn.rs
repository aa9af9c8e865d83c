//! Connections: each client's socket, its greeting, and what is sent to it.

use tokio::net::UnixStream;
use tokio::sync::mpsc;

use super::view::View;
use super::{ClientId, Event, Server};
use crate::protocol::{self, Hello, Response, ToClient, ToServer};

/// Frames queued per client before we stop queueing and repaint later.
const CLIENT_QUEUE: usize = 64;

pub(super) struct Connection {
    pub tx: mpsc::Sender<ToClient>,
    pub greeted: bool,
    /// Set while the client is attached.
    pub view: Option<View>,
    /// The task writing to the socket (none for the unit tests' clients).
    pub writer: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    pub(super) fn connected(&mut self, stream: UnixStream) {
        let cid = self.next_client;
        let (mut read, mut write) = stream.into_split();
        let (tx, mut rx) = mpsc::channel::<ToClient>(CLIENT_QUEUE);
        let events = self.events.clone();
        tokio::spawn(async move {
            // A malformed frame ends this connection only.
            while let Ok(Some(msg)) = protocol::read_frame_async::<ToServer>(&mut read).await {
                if events.send(Event::Message(cid, msg)).is_err() {
                    break;
                }
            }
            let _ = events.send(Event::Disconnected(cid));
        });
        let events = self.events.clone();
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            while let Some(msg) = rx.recv().await {
                let is_frame = matches!(msg, ToClient::Frame(_));
                if write.write_all(&protocol::encode(&msg)).await.is_err() {
                    break;
                }
                if is_frame {
                    let _ = events.send(Event::Flushed(cid));
                }
            }
            let _ = write.shutdown().await;
        });
        self.add_connection(tx, Some(writer));
    }

    /// Registers a connection that takes its messages from `tx`.
    pub(super) fn add_connection(
        &mut self,
        tx: mpsc::Sender<ToClient>,
        writer: Option<tokio::task::JoinHandle<()>>,
    ) -> ClientId {
        let cid = self.next_client;
        self.next_client += 1;
        self.connections.insert(cid, Connection { tx, greeted: false, view: None, writer });
        cid
    }

    pub(super) fn send(&mut self, cid: ClientId, msg: ToClient) {
        if let Some(conn) = self.connections.get(&cid) {
            if conn.tx.try_send(msg).is_err() {
                // A client that stopped reading: drop the connection rather
                // than let it hold the server's memory.
                self.close(cid);
            }
        }
    }

    pub(super) fn respond(&mut self, cid: ClientId, result: Result<Response, String>) {
        let response = result.unwrap_or_else(Response::Error);
        self.send(cid, ToClient::Response(response));
    }

    pub(super) fn client_message(&mut self, cid: ClientId, msg: ToServer) {
        let Some(conn) = self.connections.get_mut(&cid) else {
            return;
        };
        match msg {
            ToServer::Hello(hello) => {
                conn.greeted = true;
                let ours = Hello::ours();
                let mismatch = hello.protocol != ours.protocol;
                self.send(cid, ToClient::Hello(ours.clone()));
                if mismatch {
                    let e = format!(
                        "server is v{}, client is v{}; run `qmux kill-server` to upgrade",
                        ours.version, hello.version
                    );
                    self.respond(cid, Err(e));
                    self.close(cid);
                }
            }
            _ if !conn.greeted => self.close(cid),
            ToServer::Request(req) => self.request(cid, *req),
            ToServer::Input(bytes) => self.input(cid, &bytes),
            ToServer::Resize(cols, rows) => self.resized(cid, (cols, rows)),
        }
    }

    /// Drops a connection; its writer still flushes what was queued.
    pub(super) fn close(&mut self, cid: ClientId) {
        let Some(conn) = self.connections.remove(&cid) else {
            return;
        };
        // Keep the writer so a last message (a detach reason) is flushed
        // even if the server is about to exit.
        self.closing.retain(|w| !w.is_finished());
        self.closing.extend(conn.writer);
        if let Some(view) = conn.view.filter(|v| v.panes.len() > 1) {
            self.keep_layout(&view);
        }
        self.refit = true;
    }

    pub(super) fn disconnected(&mut self, cid: ClientId) {
        self.waiters.retain(|w| w.client != cid);
        self.close(cid);
    }

    /// The client's terminal took its frame: it may have the next one.
    pub(super) fn flushed(&mut self, cid: ClientId) {
        if let Some(view) = self.view_mut(cid) {
            view.frame_in_flight = false;
        }
    }
}
