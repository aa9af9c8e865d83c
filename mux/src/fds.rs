//! Descriptors passed over a Unix socket (SCM_RIGHTS): the PTY masters of a
//! live upgrade, and a bridge's standard input and output.
//!
//! Each message carries one byte with its descriptors, so a reader of the
//! plain byte stream (the protocol's frames) never swallows them: a frame is
//! read exactly, and the descriptors' byte after it is taken with
//! [`receive`].

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Descriptors per message (the kernel takes at most 253).
const PER_MESSAGE: usize = 200;

/// Sends `fds`, in as many messages as they take.
pub fn send(socket: &(impl AsRawFd + ?Sized), fds: &[RawFd]) -> io::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    for chunk in fds.chunks(PER_MESSAGE) {
        let iov = [io::IoSlice::new(b"f")];
        sendmsg::<()>(socket.as_raw_fd(), &iov, &[ControlMessage::ScmRights(chunk)], MsgFlags::empty(), None)?;
    }
    Ok(())
}

/// Takes one message: its byte and the descriptors that came with it
/// (close-on-exec), perhaps none. On a non-blocking socket, `WouldBlock`
/// until the message is there.
pub fn receive(socket: &(impl AsRawFd + ?Sized)) -> io::Result<Vec<OwnedFd>> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut byte = [0u8; 1];
    let mut iov = [io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; PER_MESSAGE]);
    let msg = recvmsg::<()>(socket.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)?;
    let mut fds = Vec::new();
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(received) = c {
            // SAFETY: the kernel just gave us these descriptors.
            fds.extend(received.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
        }
    }
    if msg.bytes == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the connection closed where descriptors were due"));
    }
    if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
        // Those that fit close as `fds` drops.
        return Err(io::Error::other("more descriptors came than one message holds"));
    }
    Ok(fds)
}

/// Takes exactly `count` descriptors, sent by [`send`], blocking.
pub fn receive_all(socket: &(impl AsRawFd + ?Sized), count: usize) -> io::Result<Vec<OwnedFd>> {
    let mut fds = Vec::with_capacity(count);
    while fds.len() < count {
        let got = receive(socket)?;
        if got.is_empty() {
            return Err(io::Error::other("no descriptors came where they were due"));
        }
        fds.extend(got);
    }
    if fds.len() > count {
        return Err(io::Error::other(format!("{} descriptors came where {count} were due", fds.len())));
    }
    Ok(fds)
}
