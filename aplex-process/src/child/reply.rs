//! The worker process's replies: the one-reply guard each `Run` carries, and the path
//! its reply takes to the parent.
//!
//! Replies go through the child's [`BatchWriter`], which packs every reply finished
//! meanwhile into one ipc `send`; while many works are alive here (at least
//! [`COALESCE_AT_LEAST`]: a map, a swarm of sleepers) it first waits `COALESCE_WINDOW`
//! (100 µs, `batch_writer.rs`) for more ([`Replies::coalesce`]), so a stream of replies
//! wakes the writer and the parent's reader once per window rather than once per reply —
//! a map of 10 µs blocking works at chunksize 1 went from 0.39–0.41 s to 0.31–0.32 s for
//! 40,000, as each of those wake-ups preempted a work on 2 cores. A reply is so held
//! back at most the window, and only while the child is busy with many works. One case
//! sends directly: when the finishing work is the only one alive in this process (and
//! the writer has nothing queued), the thread that finished it sends the reply itself,
//! saving a thread wake-up on the way back (the latency of a lone
//! `submit(..).result()`). That thread may be the runtime thread; nothing else runs on
//! it then, so no other work can be stalled, and with nothing queued the socket to the
//! parent is drained by the parent's reader, so the `send` does not wait for room.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::protocol::batch_writer::{BatchWriter, Coalesce};
use crate::protocol::payload::Payload;
use crate::protocol::wire::UpFrame;
use aplex_core::registry::wire_error::WireError;

/// The fewest works alive for the writer to wait for more replies.
pub(crate) const COALESCE_AT_LEAST: usize = 8;

/// Where this process's replies go; cloned into every [`Reply`].
#[derive(Clone)]
pub(crate) struct Replies {
    writer: BatchWriter<UpFrame>,
    /// Works given a [`Reply`] whose reply is not sent yet.
    alive: Arc<AtomicUsize>,
}

impl Replies {
    /// Sends replies through `writer`.
    pub(crate) fn new(writer: BatchWriter<UpFrame>) -> Self {
        Replies {
            writer,
            alive: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The reply guard for the `Run` of work `id`.
    pub(crate) fn reply(&self, id: u64) -> Reply {
        self.alive.fetch_add(1, Ordering::AcqRel);
        Reply {
            id,
            replies: Some(self.clone()),
        }
    }

    /// How many works were given a [`Reply`] not sent yet.
    pub(crate) fn alive(&self) -> usize {
        self.alive.load(Ordering::Acquire)
    }

    /// When the writer waits for more replies (see the module's docs).
    pub(crate) fn coalesce(&self) -> Coalesce {
        Coalesce::while_at_least(Arc::clone(&self.alive), COALESCE_AT_LEAST)
    }

    /// Waits until every reply queued so far has been sent.
    pub(crate) fn flush(&self) {
        self.writer.flush();
    }

    /// Says that work `id` (a blocking work whose parent asked to know) begins now.
    pub(crate) fn began(&self, id: u64) {
        let only_one_alive = self.alive.load(Ordering::Acquire) == 1;
        let _ = self
            .writer
            .send(vec![UpFrame::Began { id }], only_one_alive);
    }

    /// Tells the parent its shared region `region` is read (`regions.rs`); sent directly
    /// on the same terms as a reply.
    pub(crate) fn release(&self, region: u32) {
        let only_one_alive = self.alive.load(Ordering::Acquire) <= 1;
        let _ = self
            .writer
            .send(vec![UpFrame::Release { region }], only_one_alive);
    }

    fn send(&self, frame: UpFrame) {
        let only_one_alive = self.alive.fetch_sub(1, Ordering::AcqRel) == 1;
        // A refused reply means the parent is gone; whoever reads its frames (`intake.rs`)
        // exits the process.
        let _ = self.writer.send(vec![frame], only_one_alive);
    }
}

/// The one reply a `Run` gets; sends `Cancelled` if dropped unsent (aborted, never run).
pub(crate) struct Reply {
    id: u64,
    replies: Option<Replies>,
}

impl Reply {
    /// Says that the work begins now (see [`Replies::began`]).
    pub(crate) fn began(&self) {
        if let Some(replies) = &self.replies {
            replies.began(self.id);
        }
    }

    /// Sends the work's outcome to the parent.
    pub(crate) fn send(mut self, outcome: Result<Payload, WireError>) {
        if let Some(replies) = self.replies.take() {
            replies.send(UpFrame::Done {
                id: self.id,
                outcome: outcome.map_err(Box::new),
            });
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if let Some(replies) = self.replies.take() {
            replies.send(UpFrame::Done {
                id: self.id,
                outcome: Err(Box::new(WireError::Cancelled)),
            });
        }
    }
}
