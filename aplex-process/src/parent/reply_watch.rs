//! `ReplyWatch`: an `epoll` set holding a process's reply socket, which the slot's
//! supervisor waits in, and from which a caller that reads the replies itself removes the
//! socket meanwhile (`replies.rs`).
//!
//! Removing the socket is what spares the supervisor's wake-up: a thread blocked in a
//! `recv` on the socket, or in `epoll` with the socket in its set, is woken by every
//! reply, while `EPOLL_CTL_DEL` and `EPOLL_CTL_ADD` change the set under a waiting
//! thread without waking it. The set is level-triggered, so a socket added back with a
//! reply (or its closing) already waiting wakes the supervisor at once.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// The longest a wait lasts: a socket that could not be put back in the set (the kernel
/// out of memory) is still looked at.
pub(crate) const LOOK_AT_LEAST_EVERY: Duration = Duration::from_secs(1);

/// An `epoll` set for one socket, which stays open as long as this lives.
pub(crate) struct ReplyWatch {
    epoll: OwnedFd,
    socket: RawFd,
}

impl ReplyWatch {
    /// A set watching `socket` for replies and for its closing.
    pub(crate) fn new(socket: RawFd) -> io::Result<ReplyWatch> {
        // SAFETY: `epoll_create1` takes no pointer; a descriptor it returns is ours.
        #[allow(unsafe_code)]
        let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epoll < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `epoll` was just created and is owned by nothing else.
        #[allow(unsafe_code)]
        let epoll = unsafe { OwnedFd::from_raw_fd(epoll) };
        let watch = ReplyWatch { epoll, socket };
        watch.watch()?;
        Ok(watch)
    }

    /// Waits until the socket has a reply or has closed (`true`), or `timeout` (whole
    /// milliseconds; the supervisor's is [`LOOK_AT_LEAST_EVERY`]) has passed (`false`):
    /// callers look, and wait again.
    pub(crate) fn wait(&self, timeout: Duration) -> io::Result<bool> {
        let mut event = libc::epoll_event { events: 0, u64: 0 };
        let timeout = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        loop {
            // SAFETY: room for one event, and the count says one.
            #[allow(unsafe_code)]
            let ready = unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), &mut event, 1, timeout) };
            if ready >= 0 {
                return Ok(ready > 0);
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }

    /// Takes the socket out of the set: a thread waiting in it is not woken by replies.
    pub(crate) fn unwatch(&self) -> io::Result<()> {
        self.control(libc::EPOLL_CTL_DEL)
    }

    /// Puts the socket (back) in the set.
    pub(crate) fn watch(&self) -> io::Result<()> {
        self.control(libc::EPOLL_CTL_ADD)
    }

    fn control(&self, operation: libc::c_int) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLRDHUP) as u32,
            u64: 0,
        };
        // SAFETY: a live event (ignored by `EPOLL_CTL_DEL`); the socket is open while
        // this lives (the caller's promise).
        #[allow(unsafe_code)]
        let done =
            unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), operation, self.socket, &mut event) };
        if done < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::ReplyWatch;
    use crate::protocol::socket_of::channel_and_socket;

    #[test]
    fn the_set_reports_a_reply_only_while_the_socket_is_in_it() {
        let (sender, receiver, socket) = channel_and_socket::<u32>();
        let watch = ReplyWatch::new(socket).unwrap();
        assert!(!watch.wait(Duration::ZERO).unwrap(), "nothing sent yet");
        sender.send(1).unwrap();
        assert!(watch.wait(Duration::ZERO).unwrap(), "a reply is waiting");
        // Taken out: the reply is still there, but a waiter in the set is not told.
        watch.unwatch().unwrap();
        assert!(!watch.wait(Duration::ZERO).unwrap(), "unwatched");
        // Put back with the reply waiting: the set reports it at once.
        watch.watch().unwrap();
        assert!(watch.wait(Duration::ZERO).unwrap(), "watched again");
        assert_eq!(receiver.try_recv().unwrap(), 1);
        assert!(!watch.wait(Duration::ZERO).unwrap(), "the reply was read");
    }

    #[test]
    fn a_closed_socket_is_reported() {
        let (sender, _receiver, socket) = channel_and_socket::<u32>();
        let watch = ReplyWatch::new(socket).unwrap();
        drop(sender);
        assert!(
            watch.wait(Duration::ZERO).unwrap(),
            "the closing is reported"
        );
    }
}
