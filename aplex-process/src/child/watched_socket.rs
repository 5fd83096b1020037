//! The socket under an ipc-channel receiver (found by `protocol/socket_of.rs`), watched
//! by the runtime's reactor.
//!
//! The reactor watches a duplicate of it ([`watch`]): readiness belongs to the socket,
//! not to the number, so the receiver's own reads clear it.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// A duplicate of the receiver's socket, owned here, for the reactor to watch: readiness
/// belongs to the socket, not to the number, so the receiver's reads clear it.
pub(crate) struct Socket(OwnedFd);

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// Watches `socket` (an open socket that stays open meanwhile) with the current runtime's
/// reactor, through a duplicate. Must be called within a runtime.
pub(crate) fn watch(socket: RawFd) -> Option<AsyncFd<Socket>> {
    // SAFETY: the caller keeps `socket` open for this call; it is only borrowed for the
    // duplicate.
    #[allow(unsafe_code)]
    let borrowed = unsafe { BorrowedFd::borrow_raw(socket) };
    let duplicate = borrowed.try_clone_to_owned().ok()?;
    rewatch(Socket(duplicate))
}

/// Watches `socket` (again: after `AsyncFd::into_inner`) with the current runtime's
/// reactor; data already waiting is reported at once.
pub(crate) fn rewatch(socket: Socket) -> Option<AsyncFd<Socket>> {
    // SAFETY: the descriptor is the `Socket`'s own `OwnedFd`: open, and the same one,
    // until the `AsyncFd` (which owns the `Socket`) is dropped or gives it back.
    #[allow(unsafe_code)]
    let registered = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) };
    registered.ok()
}
