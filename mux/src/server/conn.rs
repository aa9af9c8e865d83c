//! Connections: each client's socket, its greeting, and what is sent to it.
//!
//! A local client hands over its terminal (`ToServer::Tty`): the server
//! then reads its keys and draws on it directly, as tmux does, so an echo
//! crosses one process fewer each way. The socket still carries sizes,
//! requests and the end of the attachment.
//!
//! A client on another machine cannot hand over its terminal itself, so it
//! has a second ssh carry it (`qmux bridge --tty`): that bridge hands the
//! server its standard input and output, which the server then reads keys
//! from and draws on as it would a terminal. Keys and frames then cross
//! ssh alone, as with `ssh -t host tmux attach`, and no process of ours
//! on either side.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::unix::OwnedReadHalf;
use tokio::net::UnixStream;
use tokio::sync::mpsc;

use super::view::View;
use super::{ClientId, Event, Server};
use crate::protocol::{self, Bridged, Hello, Response, ToClient, ToServer};
use crate::pty::WriteEnd;

/// Frames queued per client before we stop queueing and repaint later.
const CLIENT_QUEUE: usize = 64;

pub(super) struct Connection {
    pub tx: mpsc::Sender<ToClient>,
    pub greeted: bool,
    /// Set while the client is attached.
    pub view: Option<View>,
    /// The task writing to the socket (none for the unit tests' clients).
    pub writer: Option<tokio::task::JoinHandle<()>>,
    /// The client's terminal, once it handed it over: where the writer
    /// draws frames.
    pub tty: TtySlot,
    /// Handed over, waiting for the client's `TtyReady`.
    pub tty_offered: Option<Arc<Tty>>,
    /// The task reading keys from the client's terminal.
    pub tty_reader: Option<tokio::task::JoinHandle<()>>,
    /// A client a bridge handed over: what its requests are filled in with.
    pub local: Option<Bridged>,
    /// The bridge's own connection and the one it handed over, each
    /// naming the other: closing one closes both.
    pub link: Option<ClientId>,
    /// What a `qmux bridge --tty` carrying this client's terminal will
    /// bring (`ToServer::TtyFrom`).
    pub tty_token: Option<String>,
    /// The connection of the bridge carrying this client's terminal: it
    /// closes when the server stops using the terminal.
    pub tty_bridge: Option<ClientId>,
    /// On that bridge's connection: the client whose terminal it carries,
    /// which has it back when the bridge goes.
    pub tty_of: Option<ClientId>,
}

impl Connection {
    /// The client's terminal, while the server draws on it and nothing
    /// that ends that is on its way.
    pub fn direct_tty(&self) -> Option<Arc<Tty>> {
        self.tty_reader.as_ref()?;
        self.tty.lock().ok()?.clone()
    }
}

/// A client's terminal, as the server reads and draws on it: the terminal
/// itself, or the two ends ssh carries it on.
pub(super) struct Tty {
    /// Registered to be read from.
    keys: AsyncFd<File>,
    /// Written to; watched for room only while a frame waits for it.
    screen: WriteEnd,
}

impl Tty {
    pub fn screen(&self) -> &WriteEnd {
        &self.screen
    }
}

/// The terminal a connection's frames go to, when not its socket.
pub(super) type TtySlot = Arc<Mutex<Option<Arc<Tty>>>>;

impl Server {
    pub(super) fn connected(&mut self, stream: UnixStream) {
        let (read, write) = stream.into_split();
        self.serve(read, write);
    }

    /// Serves a client on any reading and writing side: a socket's halves,
    /// or the pipes a bridge handed over.
    fn serve<R: Incoming, W: AsyncWrite + Unpin + Send + 'static>(&mut self, mut read: R, mut write: W) -> ClientId {
        let cid = self.next_client;
        let (tx, mut rx) = mpsc::channel::<ToClient>(CLIENT_QUEUE);
        let events = self.events.clone();
        tokio::spawn(async move {
            // A malformed frame ends this connection only.
            while let Ok(Some(msg)) = protocol::read_frame_async::<ToServer>(&mut read).await {
                let event = match msg {
                    ToServer::Bridge(bridged) => Event::Bridge(cid, bridged, bridge_fds(&read).await),
                    ToServer::TtyFrom(token) => Event::TtyFrom(cid, token, bridge_fds(&read).await),
                    msg => Event::Message(cid, msg),
                };
                if events.send(event).is_err() {
                    break;
                }
            }
            let _ = events.send(Event::Disconnected(cid));
        });
        let events = self.events.clone();
        let tty = TtySlot::default();
        let slot = tty.clone();
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            while let Some(msg) = rx.recv().await {
                let direct = slot.lock().ok().and_then(|t| t.clone());
                let written = match (&msg, direct) {
                    (ToClient::Frame(bytes), Some(tty)) => {
                        if write_tty(tty.screen(), bytes).await.is_err() {
                            // The terminal went (ssh carried it): the
                            // client has it back, and a repaint.
                            slot.lock().map(|mut t| t.take()).ok();
                            let _ = events.send(Event::TtyLost(cid));
                        }
                        Ok(())
                    }
                    _ => {
                        if ends_direct(&msg) {
                            // The client takes its terminal back with this.
                            slot.lock().map(|mut t| t.take()).ok();
                        }
                        write.write_all(&protocol::encode(&msg)).await
                    }
                };
                if written.is_err() {
                    break;
                }
                if matches!(msg, ToClient::Frame(_)) {
                    let _ = events.send(Event::Flushed(cid));
                }
            }
            let _ = write.shutdown().await;
        });
        let cid = self.add_connection(tx, Some(writer));
        if let Some(conn) = self.connections.get_mut(&cid) {
            conn.tty = tty;
        }
        cid
    }

    /// A bridge hands over its standard input and output: serve its client
    /// on them, filling in its requests as the bridge would have, and end
    /// the two connections together. Refused, the bridge relays.
    pub(super) fn bridged(&mut self, cid: ClientId, bridged: Bridged, fds: Result<Vec<OwnedFd>, String>) {
        let Some(conn) = self.connections.get(&cid) else { return };
        if !conn.greeted {
            return self.close(cid);
        }
        let taken = match (conn.link, conn.local.is_some()) {
            (None, false) => fds.and_then(bridge_halves),
            _ => Err("this connection is already a bridged one".into()),
        };
        match taken {
            Ok((read, write)) => {
                let client = self.serve(read, write);
                if let Some(conn) = self.connections.get_mut(&client) {
                    // The bridge and the client greeted each other.
                    conn.greeted = true;
                    conn.local = Some(bridged);
                    conn.link = Some(cid);
                }
                if let Some(conn) = self.connections.get_mut(&cid) {
                    conn.link = Some(client);
                }
                self.respond(cid, Ok(Response::Ok));
            }
            Err(e) => self.respond(
                cid,
                Err(format!(
                    "cannot serve the bridge's standard input and output ({e}); pass a pipe or socket for each"
                )),
            ),
        }
    }

    /// The client offers its terminal: open it ourselves (the same
    /// device, checked) and hold frames until the client has written those
    /// already sent. Refused, the client goes on relaying.
    fn tty_offered(&mut self, cid: ClientId, path: &str, rdev: u64) {
        let Some(conn) = self.connections.get_mut(&cid) else { return };
        let opened = match (&conn.view, conn.writer.is_some()) {
            (Some(_), true) => open_tty(path, rdev).ok(),
            _ => None,
        };
        match opened {
            Some(tty) => self.offer_drawing(cid, tty),
            None => self.send(cid, ToClient::Direct(false)),
        }
    }

    /// The server will draw on the client's terminal: frames wait until
    /// the client has written those already sent (`ToServer::TtyReady`).
    fn offer_drawing(&mut self, cid: ClientId, tty: Tty) {
        let Some(conn) = self.connections.get_mut(&cid) else { return };
        conn.tty_offered = Some(Arc::new(tty));
        if let Some(view) = conn.view.as_mut() {
            view.frame_in_flight = true;
        }
        self.send(cid, ToClient::Direct(true));
    }

    /// A client on another machine will have ssh carry its terminal: the
    /// token its bridge is to bring.
    fn tty_bridge_asked(&mut self, cid: ClientId) {
        let Some(conn) = self.connections.get_mut(&cid) else { return };
        if conn.view.is_none() || conn.writer.is_none() || conn.tty_offered.is_some() || conn.tty_reader.is_some() {
            return self.send(cid, ToClient::Direct(false));
        }
        let token = new_token(cid);
        conn.tty_token = Some(token.clone());
        self.send(cid, ToClient::TtyBridge(token));
    }

    /// A `qmux bridge --tty` brings a client's terminal: offer to draw on
    /// it, as for a local client's (`tty_offered`), and hold the bridge
    /// until the terminal is the client's again.
    pub(super) fn tty_from(&mut self, bridge: ClientId, token: String, fds: Result<Vec<OwnedFd>, String>) {
        let Some(conn) = self.connections.get(&bridge) else { return };
        if !conn.greeted {
            return self.close(bridge);
        }
        let client = self
            .connections
            .iter()
            .find(|(_, c)| c.tty_token.as_ref() == Some(&token) && c.view.is_some())
            .map(|(&cid, _)| cid);
        let found = match client {
            Some(cid) => fds.and_then(carried_tty).map(|tty| (cid, tty)),
            None => Err("no attached client is waiting for it; attach again".into()),
        };
        let (cid, tty) = match found {
            Ok(found) => found,
            Err(e) => return self.respond(bridge, Err(format!("cannot take the terminal: {e}"))),
        };
        if let Some(conn) = self.connections.get_mut(&cid) {
            conn.tty_token = None;
            conn.tty_bridge = Some(bridge);
        }
        if let Some(conn) = self.connections.get_mut(&bridge) {
            conn.tty_of = Some(cid);
        }
        self.respond(bridge, Ok(Response::Ok));
        self.offer_drawing(cid, tty);
    }

    /// The terminal the server drew on went (the ssh carrying it ended):
    /// the client has it back, repainted.
    pub(super) fn tty_lost(&mut self, cid: ClientId) {
        let Some(conn) = self.connections.get(&cid) else { return };
        if conn.tty_reader.is_none() && conn.tty_offered.is_none() {
            return;
        }
        self.send(cid, ToClient::Direct(false));
        if let Some(view) = self.view_mut(cid) {
            view.frame_in_flight = false;
            view.repaint();
        }
    }

    /// The client wrote every frame it had: read and draw on its terminal.
    fn tty_ready(&mut self, cid: ClientId) {
        let Some(conn) = self.connections.get_mut(&cid) else { return };
        let Some(tty) = conn.tty_offered.take() else { return };
        if let Ok(mut slot) = conn.tty.lock() {
            *slot = Some(tty.clone());
        }
        let events = self.events.clone();
        conn.tty_reader = Some(tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok(mut ready) = tty.keys.readable().await else { break };
                match ready.try_io(|t| t.get_ref().read(&mut buf)) {
                    Ok(Ok(0)) => break,
                    Ok(Ok(n)) => {
                        // A short read took all there was: waiting for the
                        // next key without a read that hears EAGAIN, which
                        // would first wait for the kernel's tty worker, ahead
                        // of handling this key (see `pty::read_available`).
                        if n < buf.len() {
                            ready.clear_ready();
                        }
                        if events.send(Event::Message(cid, ToServer::Input(buf[..n].to_vec()))).is_err() {
                            return;
                        }
                    }
                    Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                    Ok(Err(_)) => break,
                    Err(_would_block) => {}
                }
            }
            // The terminal is gone: a local client hears of it too; one
            // ssh carried is the client's again.
            let _ = events.send(Event::TtyLost(cid));
        }));
        self.flushed(cid);
    }

    /// Stops reading the client's terminal: it is the client's again (or
    /// the connection is going).
    fn stop_tty(&mut self, cid: ClientId) {
        let Some(conn) = self.connections.get_mut(&cid) else { return };
        conn.tty_offered = None;
        conn.tty_token = None;
        if let Some(reader) = conn.tty_reader.take() {
            reader.abort();
        }
        // Its bridge ends, and with it the ssh that carried the terminal,
        // once that has written every frame.
        if let Some(bridge) = conn.tty_bridge.take() {
            self.close(bridge);
        }
    }

    /// Registers a connection that takes its messages from `tx`.
    pub(super) fn add_connection(
        &mut self,
        tx: mpsc::Sender<ToClient>,
        writer: Option<tokio::task::JoinHandle<()>>,
    ) -> ClientId {
        let cid = self.next_client;
        self.next_client += 1;
        self.connections.insert(
            cid,
            Connection {
                tx,
                greeted: false,
                view: None,
                writer,
                tty: TtySlot::default(),
                tty_offered: None,
                tty_reader: None,
                local: None,
                link: None,
                tty_token: None,
                tty_bridge: None,
                tty_of: None,
            },
        );
        cid
    }

    pub(super) fn send(&mut self, cid: ClientId, msg: ToClient) {
        if ends_direct(&msg) {
            self.stop_tty(cid);
        }
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
            ToServer::Request(mut req) => {
                if let Some(local) = &conn.local {
                    local.localize(&mut req);
                }
                self.request(cid, *req)
            }
            ToServer::Input(bytes) => self.input(cid, &bytes),
            ToServer::Resize(cols, rows) => self.resized(cid, (cols, rows)),
            ToServer::Tty { path, rdev } => self.tty_offered(cid, &path, rdev),
            ToServer::TtyReady => self.tty_ready(cid),
            ToServer::TtyRelease => self.send(cid, ToClient::Direct(false)),
            ToServer::TtyBridge => self.tty_bridge_asked(cid),
            // The reader takes these with their descriptors (Event::Bridge,
            // Event::TtyFrom).
            ToServer::Bridge(bridged) => self.bridged(cid, bridged, Err("no descriptors came with it".into())),
            ToServer::TtyFrom(token) => self.tty_from(cid, token, Err("no descriptors came with it".into())),
        }
    }

    /// Drops a connection; its writer still flushes what was queued.
    pub(super) fn close(&mut self, cid: ClientId) {
        self.stop_tty(cid);
        let Some(conn) = self.connections.remove(&cid) else {
            return;
        };
        // What is still queued goes to the socket: the terminal may be its
        // shell's again already.
        conn.tty.lock().map(|mut t| t.take()).ok();
        // Keep the writer so a last message (a detach reason) is flushed
        // even if the server is about to exit.
        self.closing.retain(|w| !w.is_finished());
        self.closing.extend(conn.writer);
        if let Some(view) = conn.view {
            self.keep_layout(&view);
        }
        self.refit = true;
        // The bridge waits for its client's end, and a client handed over
        // by a bridge that went has nobody holding its ssh session.
        if let Some(other) = conn.link {
            self.close(other);
        }
        if let Some(client) = conn.tty_of {
            self.tty_lost(client);
        }
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

/// How long a bridge's descriptors may lag behind its request.
const BRIDGE_FDS_TIMEOUT: Duration = Duration::from_secs(5);

/// The reading side of a connection. A socket of our own listener's can
/// carry descriptors after a frame; what a bridge handed over cannot.
pub(super) trait Incoming: AsyncRead + Unpin + Send + Sync + 'static {
    fn socket(&self) -> Option<&UnixStream> {
        None
    }
}

impl Incoming for OwnedReadHalf {
    fn socket(&self) -> Option<&UnixStream> {
        Some(self.as_ref())
    }
}

/// A bridged client's sides: a pipe or a socket each.
type Reading = Box<dyn AsyncRead + Unpin + Send + Sync>;
type Writing = Box<dyn AsyncWrite + Unpin + Send>;

impl Incoming for Reading {}

/// Takes the descriptors a bridge sends after `ToServer::Bridge`: the one
/// message that follows the frame.
async fn bridge_fds(read: &impl Incoming) -> Result<Vec<OwnedFd>, String> {
    let Some(socket) = read.socket() else {
        return Err("descriptors come only over the server's socket".into());
    };
    let receive = async {
        loop {
            socket.readable().await?;
            match socket.try_io(tokio::io::Interest::READABLE, || crate::fds::receive(socket)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                received => return received,
            }
        }
    };
    match tokio::time::timeout(BRIDGE_FDS_TIMEOUT, receive).await {
        Ok(Ok(fds)) => Ok(fds),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("its descriptors did not follow it".into()),
    }
}

/// The reading and writing sides a bridge handed over, its standard input
/// and output: each a pipe or a stream socket (as sshd makes them), made
/// non-blocking. Their file descriptions are the bridge's too, which no
/// longer reads or writes them.
fn bridge_halves(fds: Vec<OwnedFd>) -> Result<(Reading, Writing), String> {
    let [input, output] = stdin_and_stdout(fds)?;
    let read: Reading = match kind(&input)? {
        Kind::Pipe => Box::new(
            tokio::net::unix::pipe::Receiver::from_owned_fd(input)
                .map_err(|e| format!("standard input is not a pipe to read: {e}"))?,
        ),
        Kind::Socket => Box::new(stream(input)?),
    };
    let write: Writing = match kind(&output)? {
        Kind::Pipe => Box::new(
            tokio::net::unix::pipe::Sender::from_owned_fd(output)
                .map_err(|e| format!("standard output is not a pipe to write: {e}"))?,
        ),
        Kind::Socket => Box::new(stream(output)?),
    };
    Ok((read, write))
}

/// A bridge's two descriptors: its standard input and output.
fn stdin_and_stdout(fds: Vec<OwnedFd>) -> Result<[OwnedFd; 2], String> {
    <[OwnedFd; 2]>::try_from(fds).map_err(|_| "expected two descriptors, standard input and output".into())
}

enum Kind {
    Pipe,
    Socket,
}

fn kind(fd: &OwnedFd) -> Result<Kind, String> {
    use nix::sys::stat::{fstat, SFlag};
    let stat = fstat(fd).map_err(|e| e.to_string())?;
    match SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT {
        SFlag::S_IFIFO => Ok(Kind::Pipe),
        SFlag::S_IFSOCK => Ok(Kind::Socket),
        _ => Err("a descriptor is neither a pipe nor a socket".into()),
    }
}

/// A Unix stream socket (sshd's socketpair end), non-blocking.
fn stream(fd: OwnedFd) -> Result<UnixStream, String> {
    use nix::sys::socket::{getsockname, getsockopt, sockopt, AddressFamily, SockType, SockaddrLike, UnixAddr};
    use std::os::fd::AsRawFd;
    let unix = getsockname::<UnixAddr>(fd.as_raw_fd()).map(|a| a.family() == Some(AddressFamily::Unix));
    if getsockopt(&fd, sockopt::SockType) != Ok(SockType::Stream) || unix != Ok(true) {
        return Err("a socket that is not a Unix stream socket".into());
    }
    let std = std::os::unix::net::UnixStream::from(fd);
    std.set_nonblocking(true).map_err(|e| e.to_string())?;
    UnixStream::from_std(std).map_err(|e| e.to_string())
}

/// The two ends a `qmux bridge --tty` handed over, its standard input and
/// output (a pipe or a socket each, as sshd makes them), as a terminal to
/// read keys from and draw on. Their file descriptions are the bridge's
/// too, which no longer reads or writes them.
fn carried_tty(fds: Vec<OwnedFd>) -> Result<Tty, String> {
    let [keys, screen] = stdin_and_stdout(fds)?;
    let end = |fd: OwnedFd| {
        kind(&fd)?;
        crate::pty::nonblocking_handle(&fd).map_err(|e| e.to_string())
    };
    let keys = crate::pty::register(end(keys)?, tokio::io::Interest::READABLE).map_err(|e| e.to_string())?;
    Ok(Tty { keys, screen: WriteEnd::new(end(screen)?) })
}

/// A token no other client has: random, with the client's id.
fn new_token(cid: ClientId) -> String {
    let mut random = [0u8; 16];
    let _ = File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut random));
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("{cid}-{hex}")
}

/// Messages after which the client has its terminal back.
fn ends_direct(msg: &ToClient) -> bool {
    matches!(msg, ToClient::Detached(_) | ToClient::Hop { .. } | ToClient::Reconnect(_) | ToClient::Direct(false))
}

/// Opens the terminal a client named, if it is the one it claims: a
/// terminal, with the device number the client saw.
fn open_tty(path: &str, rdev: u64) -> io::Result<Tty> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::libc::O_NOCTTY | nix::libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_char_device() || meta.rdev() != rdev || !nix::unistd::isatty(&file).unwrap_or(false) {
        return Err(io::Error::other("not the client's terminal"));
    }
    let screen = WriteEnd::new(file.try_clone()?);
    let keys = crate::pty::register(file, tokio::io::Interest::READABLE)?;
    Ok(Tty { keys, screen })
}

/// Writes what the terminal takes of a frame now, without waiting; returns
/// the rest, and whether that is nothing.
pub(super) fn write_now(tty: &WriteEnd, mut frame: Vec<u8>) -> (Vec<u8>, bool) {
    let mut written = 0;
    while written < frame.len() {
        match tty.file().write(&frame[written..]) {
            Ok(0) => break,
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Full, or gone: the writer waits for it, or finds out.
            Err(_) => break,
        }
    }
    frame.drain(..written);
    let done = frame.is_empty();
    (frame, done)
}

/// Writes a frame to a client's terminal, as fast as it takes it.
async fn write_tty(tty: &WriteEnd, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match tty.file().write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => tty.writable().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
