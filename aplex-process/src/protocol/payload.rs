//! `Payload`: a work's encoded arguments or outputs on their way between processes, and
//! the size rule that keeps every ipc message small enough to be abandonable.
//!
//! ipc-channel sends a message larger than one socket buffer in fragments over a second,
//! dedicated socket whose receiving end the sender keeps open until the whole message is
//! through; if the receiving process dies or stops reading meanwhile, that `send` never
//! returns (killing the receiver does not help: the sender still holds the other end).
//! So no message here ever needs fragments:
//!
//! 1. A payload above [`shared_threshold`] travels in a shared-memory region
//!    (`IpcSharedMemory`, a memfd), reused between the same two processes where it can
//!    be (`regions.rs`): the frame carries only the region's number, and its descriptor
//!    the first time.
//! 2. The writer threads split a batch so no message carries more than
//!    [`message_budget`] bytes of frames (`batch_writer.rs`).
//! 3. Every message then fits the socket buffer in one `sendmsg`, and a `sendmsg` that
//!    waits for room is woken with an error as soon as the receiving process is gone.

use std::ops::Deref;
use std::sync::OnceLock;

use ipc_channel::ipc::IpcSharedMemory;
use ipc_channel::platform::OsIpcSender;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::protocol::regions::Borrowed;
use crate::protocol::store::{stored, Region};
use aplex_core::registry::encoded::Encoded;
use aplex_core::registry::inline_bytes::InlineBytes;

/// Payloads larger than this travel through shared memory rather than inside a frame,
/// unless the system's socket buffers are so small that [`shared_threshold`] is lower.
pub(crate) const SHARED_THRESHOLD: usize = 64 * 1024;

/// What a frame costs in a message beyond its payload (ids, tags, lengths).
pub(crate) const FRAME_OVERHEAD: usize = 64;

/// The most frame bytes one ipc message may carry: half of what fits in one fragment,
/// so the message never needs a second one.
pub(crate) fn message_budget() -> usize {
    static BUDGET: OnceLock<usize> = OnceLock::new();
    *BUDGET.get_or_init(|| OsIpcSender::get_max_fragment_size() / 2)
}

/// Payloads larger than this travel through shared memory: [`SHARED_THRESHOLD`], or
/// less where a message may carry less.
pub(crate) fn shared_threshold() -> usize {
    SHARED_THRESHOLD.min(message_budget().saturating_sub(FRAME_OVERHEAD) / 2)
}

/// Encoded values: inline bytes, or a shared-memory region for large ones.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Payload {
    /// Small payloads, copied into the frame (the smallest kept inside it).
    Inline(InlineBytes),
    /// A payload in a one-off region, passed as a memfd (when no reused region is free).
    Shared(IpcSharedMemory),
    /// A payload in the sender's reused region number `region`; `map` is its descriptor
    /// the first time the region crosses.
    Lent {
        region: u32,
        len: u64,
        map: Option<IpcSharedMemory>,
    },
    // The variants that never cross come last: serde numbers the variants it
    // deserialises without the skipped ones.
    /// Payloads above [`shared_threshold`], not sent yet: the channel's writer lends
    /// them a region (`regions.rs`) as they leave. Never crosses as such.
    #[serde(skip)]
    Large(ByteBuf),
    /// A `Lent` payload as its reader holds it: read in place, released when dropped.
    /// Never crosses.
    #[serde(skip)]
    Borrowed(Borrowed),
    /// Payloads encoded straight into a region of this process's store (`store.rs`), not
    /// sent yet: the channel's writer lends the region as it leaves. Never crosses as
    /// such.
    #[serde(skip)]
    Stored {
        /// The region (boxed: a `Run` frame stays small).
        region: Box<Region>,
        /// How many of its bytes are the payload.
        len: usize,
    },
}

impl Payload {
    /// Wraps encoded bytes; large ones are marked to go through shared memory.
    pub(crate) fn new(bytes: ByteBuf) -> Self {
        if bytes.len() > shared_threshold() {
            Payload::Large(bytes)
        } else {
            Payload::Inline(InlineBytes::from(bytes))
        }
    }

    /// Wraps an encoding: one written into a region of the store stays there.
    pub(crate) fn encoded(encoded: Encoded) -> Self {
        match encoded {
            Encoded::Bytes(bytes) => Payload::new(bytes),
            Encoded::External { storage, len } => match stored(storage) {
                Ok(region) => Payload::Stored { region, len },
                Err(storage) => Payload::new(Encoded::External { storage, len }.into_byte_buf()),
            },
        }
    }

    /// How many bytes this payload adds to the message that carries it.
    pub(crate) fn wire_size(&self) -> usize {
        match self {
            Payload::Inline(bytes) => bytes.len(),
            _ => 0,
        }
    }

    /// How many file descriptors this payload adds to the message that carries it (a
    /// `Large` one may take one once lent).
    pub(crate) fn fds(&self) -> usize {
        match self {
            Payload::Large(_) | Payload::Shared(_) | Payload::Stored { .. } => 1,
            Payload::Lent { map, .. } => usize::from(map.is_some()),
            Payload::Inline(_) | Payload::Borrowed(_) => 0,
        }
    }
}

impl Clone for Payload {
    /// A copy that owns its bytes: a borrowed payload is copied out of its region (which
    /// only the original releases).
    fn clone(&self) -> Self {
        match self {
            Payload::Inline(bytes) => Payload::Inline(bytes.clone()),
            Payload::Large(bytes) => Payload::Large(bytes.clone()),
            Payload::Shared(region) => Payload::Shared(region.clone()),
            Payload::Lent { region, len, map } => Payload::Lent {
                region: *region,
                len: *len,
                map: map.clone(),
            },
            Payload::Borrowed(borrowed) => Payload::new(ByteBuf::from(borrowed.bytes())),
            Payload::Stored { region, len } => Payload::new(ByteBuf::from(&region.bytes()[..*len])),
        }
    }
}

impl AsRef<[u8]> for Payload {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl Deref for Payload {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Payload::Inline(bytes) => bytes,
            Payload::Large(bytes) => bytes,
            Payload::Shared(region) => region,
            Payload::Borrowed(borrowed) => borrowed.bytes(),
            Payload::Stored { region, len } => &region.bytes()[..*len],
            // Only its reader's `Borrowings` can find the bytes.
            Payload::Lent { .. } => &[],
        }
    }
}

/// The most file descriptors (shared regions) one message may carry: ipc-channel
/// refuses more than 64 in one `sendmsg`.
pub(crate) const MAX_FDS_PER_MESSAGE: usize = 32;

/// Something a batch writer sends: knows how much it adds to a message.
pub(crate) trait WireSize {
    /// Bytes this item adds to the message carrying it (an estimate from above).
    fn wire_size(&self) -> usize;

    /// File descriptors this item adds to the message carrying it.
    fn fds(&self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aplex_core::registry::inline_bytes::SMALL;

    #[test]
    fn small_payloads_stay_inline_and_large_ones_go_to_shared_memory() {
        let threshold = shared_threshold();
        let small = Payload::new(ByteBuf::from(vec![1u8; threshold]));
        assert!(matches!(small, Payload::Inline(_)));
        assert_eq!(small.wire_size(), threshold);
        let large = Payload::new(ByteBuf::from(vec![2u8; threshold + 1]));
        assert!(matches!(large, Payload::Large(_)));
        assert_eq!(large.wire_size(), 0);
        assert_eq!(large.fds(), 1);
        assert_eq!(large.len(), threshold + 1);
        assert!(large.iter().all(|&byte| byte == 2));
    }

    #[test]
    fn inline_payloads_cross_as_ipc_channel_encodes_them() {
        // postcard, ipc-channel's encoding (and `plain_recv.rs`'s): a few bytes inside
        // the frame, more in a buffer, the same bytes either way.
        for len in [0, SMALL, SMALL + 1, 1000] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let wire = postcard::to_stdvec(&Payload::new(ByteBuf::from(bytes.clone()))).unwrap();
            let decoded: Payload = postcard::from_bytes(&wire).unwrap();
            assert!(
                matches!(
                    &decoded,
                    Payload::Inline(InlineBytes::Small { .. }) if len <= SMALL
                ) || matches!(&decoded, Payload::Inline(InlineBytes::Heap(_)) if len > SMALL)
            );
            assert_eq!(&*decoded, &bytes[..]);
        }
    }

    #[test]
    fn the_budget_fits_in_one_fragment() {
        assert!(message_budget() < OsIpcSender::get_max_fragment_size());
        assert!(message_budget() >= 2 * shared_threshold() + FRAME_OVERHEAD);
    }
}
