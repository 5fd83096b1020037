//! Receiving plain messages (the parent's frames, the child's replies) into one reused
//! buffer, sparing ipc-channel's buffer of a whole fragment (~208 KiB) per call.
//!
//! ipc-channel's `try_recv` allocates a buffer the size of its largest fragment for every
//! message, however small. On a reader thread that cost little; on the worker's runtime
//! thread (`child/intake.rs`), whose heap also holds every task, each such allocation made
//! glibc consolidate its free lists: a fifth of the child's CPU during 100,000 sleepers.
//! The parent reads its replies the same way (`parent/replies.rs`), where a caller
//! waiting for its reply looks at the socket again and again while it spins.
//!
//! 1. Peek at the next message's ipc-channel header (its size and its data's size) and
//!    learn whether it carries descriptors (a shared-memory region), without taking it.
//! 2. If it is one whole fragment without descriptors, take it into the reused buffer and
//!    decode its data in place with postcard, ipc-channel's own encoding (what its
//!    `IpcMessage::to` does; the unit tests below check the two agree).
//! 3. Anything else (descriptors, several fragments, a header not as expected, an error)
//!    is read by ipc-channel's own `try_recv`, which reads every kind
//!    ([`PlainReceiver::try_next`] does both; [`Broken`] says why nothing more comes).

use std::io;
use std::os::fd::RawFd;

use ipc_channel::ipc::IpcReceiver;
use ipc_channel::{IpcError, TryRecvError};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// ipc-channel's header: the fragment's size (header included) and the data's size.
const HEADER: usize = 2 * std::mem::size_of::<usize>();

/// What a look at the socket found.
#[derive(Debug)]
pub(crate) enum Received<T> {
    /// A plain message, taken and decoded.
    Message(T),
    /// Nothing to read now.
    Empty,
    /// A message (or a state) for ipc-channel's own `try_recv`: it is still there.
    Other,
    /// A plain message was taken but could not be decoded.
    Undecodable(String),
}

/// Why a channel gives no more messages.
#[derive(Debug)]
pub(crate) enum Broken {
    /// The other end closed, or the socket failed.
    Closed,
    /// A message could not be decoded.
    Undecodable(String),
}

impl From<IpcError> for Broken {
    fn from(error: IpcError) -> Self {
        match error {
            IpcError::SerializationError(error) => Broken::Undecodable(error.to_string()),
            IpcError::Io(_) | IpcError::Disconnected => Broken::Closed,
        }
    }
}

/// What ipc-channel's own `try_recv` (or `try_recv_timeout`) gave: a message, nothing
/// yet, or why nothing more comes.
pub(crate) fn received<T>(outcome: Result<T, TryRecvError>) -> Result<Option<T>, Broken> {
    match outcome {
        Ok(message) => Ok(Some(message)),
        Err(TryRecvError::Empty) => Ok(None),
        Err(TryRecvError::IpcError(error)) => Err(error.into()),
    }
}

/// Takes plain messages from one ipc-channel socket into one buffer, reused.
#[derive(Debug)]
pub(crate) struct PlainReceiver {
    socket: RawFd,
    buffer: Vec<u8>,
}

impl PlainReceiver {
    /// Reads `socket`, which must stay open (its receiver alive) as long as this lives.
    pub(crate) fn new(socket: RawFd) -> Self {
        PlainReceiver {
            socket,
            buffer: Vec::new(),
        }
    }

    /// The next message if one is there, without waiting: a plain one taken here, any
    /// other through ipc-channel's own `try_recv` on `receiver`, whose socket this reads.
    pub(crate) fn try_next<T: DeserializeOwned + Serialize>(
        &mut self,
        receiver: &IpcReceiver<T>,
    ) -> Result<Option<T>, Broken> {
        match self.try_recv() {
            Received::Message(message) => Ok(Some(message)),
            Received::Empty => Ok(None),
            Received::Undecodable(reason) => Err(Broken::Undecodable(reason)),
            Received::Other => received(receiver.try_recv()),
        }
    }

    /// The next message if it is plain; never waits.
    fn try_recv<T: DeserializeOwned + Serialize>(&mut self) -> Received<T> {
        let len = match self.peek() {
            Ok(Some(len)) => len,
            Ok(None) => return Received::Other,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Received::Empty,
            Err(_) => return Received::Other,
        };
        self.buffer.clear();
        self.buffer.reserve(len);
        // SAFETY: the buffer has room for `len` bytes and `recv` writes at most `len`.
        #[allow(unsafe_code)]
        let taken = unsafe {
            libc::recv(
                self.socket,
                self.buffer.as_mut_ptr().cast(),
                len,
                libc::MSG_DONTWAIT,
            )
        };
        if taken != len as isize {
            // The peeked message was there, whole, and only this thread reads the socket.
            return Received::Undecodable(format!(
                "a message of {len} bytes was peeked but {taken} came"
            ));
        }
        // SAFETY: `recv` initialised the first `len` bytes.
        #[allow(unsafe_code)]
        unsafe {
            self.buffer.set_len(len)
        };
        match postcard::from_bytes::<T>(&self.buffer[HEADER..]) {
            Ok(message) => Received::Message(message),
            Err(error) => Received::Undecodable(error.to_string()),
        }
    }

    /// The length of the next message if it is plain and whole (`None` if not), without
    /// taking it.
    fn peek(&self) -> io::Result<Option<usize>> {
        let mut header = [0u8; HEADER];
        let mut part = libc::iovec {
            iov_base: header.as_mut_ptr().cast(),
            iov_len: HEADER,
        };
        // SAFETY: an all-zero `msghdr` is valid (no name, no control buffer).
        #[allow(unsafe_code)]
        let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
        message.msg_iov = &mut part;
        message.msg_iovlen = 1;
        let flags = libc::MSG_PEEK | libc::MSG_TRUNC | libc::MSG_DONTWAIT;
        // SAFETY: `message` points at one live iovec of `HEADER` bytes and no control
        // buffer: descriptors the message carries are not installed (the kernel sets
        // `MSG_CTRUNC` instead), and nothing is taken from the socket.
        #[allow(unsafe_code)]
        let len = unsafe { libc::recvmsg(self.socket, &mut message, flags) };
        if len < 0 {
            return Err(io::Error::last_os_error());
        }
        // With `MSG_TRUNC`, the message's whole length, not what fit in the header.
        let len = len as usize;
        if message.msg_flags & libc::MSG_CTRUNC != 0 || len < HEADER {
            return Ok(None);
        }
        let word = |at: usize| {
            const WORD: usize = std::mem::size_of::<usize>();
            let mut bytes = [0u8; WORD];
            bytes.copy_from_slice(&header[at..at + WORD]);
            usize::from_ne_bytes(bytes)
        };
        let (fragment, data) = (word(0), word(std::mem::size_of::<usize>()));
        Ok((fragment == len && data == len - HEADER).then_some(len))
    }
}

#[cfg(test)]
mod tests {
    use ipc_channel::ipc::IpcSharedMemory;
    use serde::{Deserialize, Serialize};

    use super::{Broken, PlainReceiver, Received};
    use crate::protocol::socket_of::channel_and_socket as pair;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Note {
        id: u64,
        text: String,
    }

    #[test]
    fn plain_messages_of_every_size_are_taken_as_ipc_channel_sent_them() {
        let (sender, _receiver, socket) = pair::<Note>();
        let mut plain = PlainReceiver::new(socket);
        assert!(matches!(plain.try_recv::<Note>(), Received::Empty));
        for (id, len) in [(1, 0), (2, 10), (3, 70_000), (4, 3)] {
            let note = Note {
                id,
                text: "x".repeat(len),
            };
            sender.send(note.clone()).unwrap();
            match plain.try_recv::<Note>() {
                Received::Message(got) => assert_eq!(got, note),
                other => panic!("message {id}: {other:?}"),
            }
        }
        assert!(matches!(plain.try_recv::<Note>(), Received::Empty));
    }

    #[test]
    fn a_message_with_a_descriptor_or_in_fragments_is_left_for_ipc_channel() {
        let (sender, receiver, socket) = pair::<(u8, Option<IpcSharedMemory>, Vec<u8>)>();
        let mut plain = PlainReceiver::new(socket);
        let region = IpcSharedMemory::from_bytes(b"region");
        sender.send((1, Some(region), Vec::new())).unwrap();
        assert!(matches!(
            plain.try_recv::<(u8, Option<IpcSharedMemory>, Vec<u8>)>(),
            Received::Other
        ));
        let (one, region, _) = receiver.recv().unwrap();
        assert_eq!((one, &region.unwrap()[..]), (1, &b"region"[..]));
        let big = vec![7u8; 4 << 20];
        let sending = std::thread::spawn(move || sender.send((2, None, big)).unwrap());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let got = loop {
            assert!(
                std::time::Instant::now() < deadline,
                "the big message never came"
            );
            match plain.try_recv::<(u8, Option<IpcSharedMemory>, Vec<u8>)>() {
                Received::Empty => std::thread::yield_now(),
                Received::Other => break receiver.recv().unwrap(),
                other => panic!("a fragmented message: {other:?}"),
            }
        };
        sending.join().unwrap();
        assert_eq!((got.0, got.2.len()), (2, 4 << 20));
    }

    #[test]
    fn a_closed_channel_is_left_for_ipc_channel_to_report() {
        let (sender, receiver, socket) = pair::<u32>();
        drop(sender);
        let mut plain = PlainReceiver::new(socket);
        assert!(matches!(plain.try_recv::<u32>(), Received::Other));
        assert!(receiver.try_recv().is_err());
    }

    #[test]
    fn the_next_message_comes_plain_or_through_ipc_channel_until_the_channel_closes() {
        let (sender, receiver, socket) = pair::<(u8, Option<IpcSharedMemory>)>();
        let mut plain = PlainReceiver::new(socket);
        assert!(matches!(plain.try_next(&receiver), Ok(None)));
        sender.send((1, None)).unwrap();
        sender
            .send((2, Some(IpcSharedMemory::from_bytes(b"region"))))
            .unwrap();
        assert!(matches!(plain.try_next(&receiver), Ok(Some((1, None)))));
        match plain.try_next(&receiver) {
            Ok(Some((2, Some(region)))) => assert_eq!(&region[..], b"region"),
            other => panic!("the region's message, through ipc-channel: {other:?}"),
        }
        drop(sender);
        assert!(matches!(plain.try_next(&receiver), Err(Broken::Closed)));
    }
}
