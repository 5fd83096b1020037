//! The worker process's intake: frames from the parent read on the runtime's own thread,
//! woken by the runtime's reactor, with no reader thread between.
//!
//! A frame used to reach the works through a reader thread (a blocking `recv`, then a
//! hop to the runtime thread): two thread wake-ups per message where one does, and the
//! extra one is the costly kind on a VM whose idle vCPUs halt.
//!
//! 1. ipc-channel does not hand out its receiver's socket, but its `Debug` output names
//!    it ([`socket_of`]); the number is trusted only if that descriptor is a
//!    `SOCK_SEQPACKET` socket, as ipc-channel's channels are.
//! 2. The runtime's reactor watches a duplicate of that socket ([`AsyncFd`]; readiness
//!    is the socket's, whichever number reads it); when it is readable, the
//!    intake task drains it with non-blocking `try_recv`s, delivering every frame where
//!    the reader thread did. Every message fits one `sendmsg` (`batch_writer.rs`), so a
//!    `try_recv` never waits for the rest of one. After [`FAIR_SHARE`] messages in a row
//!    it yields, so a flood of frames does not starve the works.
//! 3. If the socket cannot be found or watched, the reader thread serves as before
//!    (`serve.rs`), so a change in ipc-channel costs speed, never a worker.
//!
//! When the parent's end closes (the parent is gone) the process exits, as it did.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::process;
use std::rc::Rc;

use ipc_channel::ipc::{IpcReceiver, OpaqueIpcReceiver};
use ipc_channel::TryRecvError;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::child::serve::Reader;
use crate::protocol::wire::DownFrame;

/// The most messages read in a row before the intake lets the works run.
const FAIR_SHARE: usize = 64;

/// The parent's frames, watched by the runtime's reactor.
pub(crate) struct Intake {
    watched: AsyncFd<Socket>,
    /// Shared with the process's main function, which keeps the socket open until the
    /// process exits, as the reader thread did: the parent's last frames (a region
    /// released while the final replies leave) find an open socket, not a closed one.
    down: Rc<IpcReceiver<Vec<DownFrame>>>,
}

/// A duplicate of the receiver's socket, owned here, for the reactor to watch: readiness
/// belongs to the socket, not to the number, so the receiver's reads clear it.
struct Socket(OwnedFd);

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl Intake {
    /// Watches `down`'s socket with the current runtime's reactor; hands `down` back if
    /// its socket cannot be found or watched. Must be called within a runtime.
    pub(crate) fn watch(
        down: IpcReceiver<Vec<DownFrame>>,
    ) -> Result<Intake, IpcReceiver<Vec<DownFrame>>> {
        let opaque = down.to_opaque();
        let socket = socket_of(&opaque);
        let down = opaque.to();
        let Some(socket) = socket else {
            return Err(down);
        };
        // SAFETY: `socket_of` checked that `socket` is an open socket, owned by `down`,
        // which is alive here; it is only borrowed for the duplicate.
        #[allow(unsafe_code)]
        let borrowed = unsafe { BorrowedFd::borrow_raw(socket) };
        let Ok(duplicate) = borrowed.try_clone_to_owned() else {
            return Err(down);
        };
        // SAFETY: the descriptor is the `Socket`'s own `OwnedFd`: open, and the same one,
        // until the `AsyncFd` (which owns the `Socket`) is dropped.
        #[allow(unsafe_code)]
        let registered =
            unsafe { AsyncFd::register_with_interest(Socket(duplicate), Interest::READABLE) };
        match registered {
            Ok(watched) => Ok(Intake {
                watched,
                down: Rc::new(down),
            }),
            Err(_) => Err(down),
        }
    }

    /// The receiver, to be kept until the process exits (see [`Intake`]'s field).
    pub(crate) fn receiver(&self) -> Rc<IpcReceiver<Vec<DownFrame>>> {
        Rc::clone(&self.down)
    }

    /// Delivers every frame the parent sends, for ever; exits the process when the
    /// parent's end closes. Runs as a task on the worker's runtime thread.
    pub(crate) async fn serve(self, reader: Reader) {
        loop {
            let Ok(mut ready) = self.watched.readable().await else {
                gone();
            };
            let mut read = 0;
            loop {
                match self.down.try_recv() {
                    Ok(frames) => {
                        for frame in frames {
                            reader.deliver(frame);
                        }
                    }
                    Err(TryRecvError::Empty) => {
                        ready.clear_ready();
                        break;
                    }
                    Err(TryRecvError::IpcError(_)) => gone(),
                }
                read += 1;
                if read == FAIR_SHARE {
                    // Still readable: the next `readable()` returns at once.
                    drop(ready);
                    tokio::task::yield_now().await;
                    break;
                }
            }
        }
    }
}

/// The parent is gone (its end closed, or its socket failed): nobody wants our results.
fn gone() -> ! {
    process::exit(0)
}

/// The socket under `receiver`, read from its `Debug` output (`fd: Cell { value: 7 }` in
/// ipc-channel 0.23), if that descriptor is a `SOCK_SEQPACKET` socket.
fn socket_of(receiver: &OpaqueIpcReceiver) -> Option<RawFd> {
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

    use ipc_channel::ipc;

    use super::{is_seqpacket_socket, socket_of};

    #[test]
    fn the_receivers_socket_is_found_and_becomes_readable_when_a_message_comes() {
        let (sender, receiver) = ipc::channel::<u32>().unwrap();
        let opaque = receiver.to_opaque();
        let fd = socket_of(&opaque).expect("ipc-channel's Debug output names the socket");
        let receiver = opaque.to::<u32>();
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
