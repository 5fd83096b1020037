//! The socket under an ipc-channel receiver, found from the receiver's `Debug` output.
//!
//! ipc-channel does not hand out its receiver's socket, but its `Debug` output names it;
//! the number is trusted only if that descriptor is an open `SOCK_SEQPACKET` socket, as
//! ipc-channel's channels are. A newer ipc-channel that shows its receivers otherwise
//! makes [`socket_of`] answer `None` (and the unit test below fail), never a wrong
//! descriptor; both sides then read through ipc-channel alone. The child's intake watches
//! this socket with its runtime (`child/watched_socket.rs`), the parent's replies with
//! `epoll` (`parent/reply_watch.rs`), and both take plain messages from it
//! (`plain_recv.rs`).

use std::os::fd::RawFd;

use ipc_channel::ipc::OpaqueIpcReceiver;

/// The socket under `receiver`, read from its `Debug` output (`fd: Cell { value: 7 }` in
/// ipc-channel 0.23), if that descriptor is a `SOCK_SEQPACKET` socket.
pub(crate) fn socket_of(receiver: &OpaqueIpcReceiver) -> Option<RawFd> {
    let shown = format!("{receiver:?}");
    let after = &shown[shown.find("fd:")? + 3..];
    let digits: String = after
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    let fd: RawFd = digits.parse().ok()?;
    is_seqpacket_socket(fd).then_some(fd)
}

/// A fresh ipc-channel and the socket under its receiver, for tests.
#[cfg(test)]
pub(crate) fn channel_and_socket<T>() -> (
    ipc_channel::ipc::IpcSender<T>,
    ipc_channel::ipc::IpcReceiver<T>,
    RawFd,
)
where
    T: serde::Serialize + for<'de> serde::Deserialize<'de>,
{
    let (sender, receiver) = ipc_channel::ipc::channel::<T>().unwrap();
    let opaque = receiver.to_opaque();
    let socket = socket_of(&opaque).expect("ipc-channel's Debug output names the socket");
    (sender, opaque.to(), socket)
}

/// Whether `fd` is an open `SOCK_SEQPACKET` socket.
fn is_seqpacket_socket(fd: RawFd) -> bool {
    let mut kind: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `getsockopt` writes at most `len` bytes into `kind`, a live `c_int` whose
    // size `len` holds; on a descriptor that is not an open socket it fails and writes
    // nothing.
    #[allow(unsafe_code)]
    let answered = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut kind as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    answered == 0 && kind == libc::SOCK_SEQPACKET
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{channel_and_socket, is_seqpacket_socket};

    #[test]
    fn the_receivers_socket_is_found_and_becomes_readable_when_a_message_comes() {
        let (sender, receiver, fd) = channel_and_socket::<u32>();
        let readable = |timeout_ms| {
            let mut poll = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid `pollfd`, and the count says one.
            #[allow(unsafe_code)]
            let ready = unsafe { libc::poll(&mut poll, 1, timeout_ms) };
            ready == 1 && poll.revents & libc::POLLIN != 0
        };
        assert!(!readable(0), "nothing was sent yet");
        sender.send(7).unwrap();
        assert!(readable(10_000), "a message was sent to this socket");
        assert_eq!(
            receiver.try_recv_timeout(Duration::from_secs(10)).unwrap(),
            7
        );
        assert!(!readable(0), "the message was read");
    }

    #[test]
    fn only_an_open_seqpacket_socket_is_taken() {
        assert!(!is_seqpacket_socket(-1));
        let file = std::fs::File::open("/proc/self/exe").unwrap();
        assert!(!is_seqpacket_socket(std::os::fd::AsRawFd::as_raw_fd(&file)));
    }
}
