//! The remote pool's defaults, shared by the pool's builder and the node's.

use std::time::Duration;

/// How long a node may hold a work without a heartbeat before the server redelivers it.
pub const DEFAULT_ACK_WAIT: Duration = Duration::from_secs(15);

/// How often a running work tells the server it is alive (a third of `ack_wait`).
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(5);

/// How many times a work is delivered before its future fails with
/// `Error::Undeliverable`.
pub const DEFAULT_MAX_DELIVERIES: u32 = 3;

/// How long a queued work waits for a node before it expires (the server drops it, and a
/// node that fetches it later does not start it): what is left of a submitter that died.
pub const DEFAULT_QUEUED_EXPIRY: Duration = Duration::from_secs(3600);

/// The most works a remote pool has queued or running at once before `submit` waits.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1 << 20;

/// The most works of one kind a submitter puts in one message when several are
/// submitted together (the server then stores, delivers and acks them once); fewer for
/// nodes of few slots (a quarter of the smallest node's).
pub const DEFAULT_MAX_BATCH: usize = 256;

/// The most argument (or result) bytes in one batch message (a bigger single one goes
/// alone).
pub(crate) const MAX_BATCH_BYTES: usize = 256 * 1024;

/// A batch holds at most this share (one in ...) of the slots of the nodes it is for.
const NODE_SHARE: usize = 4;

/// The most works a batch holds for nodes of `slots` slots, before `max_batch`: a
/// quarter of them (a node asks for works again once a quarter of its slots are free).
pub(crate) fn batch_for_node(slots: usize) -> usize {
    (slots / NODE_SHARE).max(1)
}
