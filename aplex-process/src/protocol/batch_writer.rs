//! `BatchWriter`: the sending side of one ipc channel, used both ways (parent → child
//! frames, child → parent replies).
//!
//! Items normally go through a writer thread, which sends everything handed to it
//! meanwhile in one ipc `send` (ipc-channel's `send` blocks, so it is kept off the threads
//! that have other things to do). Senders push items onto one shared `Vec`, and the writer
//! takes it whole, leaving an empty one with room for as many: an item is moved once on its
//! way in, and a burst costs no allocation per item (a queue of items had cost its senders
//! and its writer a tenth of a burst's transport, `docs/PERFORMANCE.md`, fifteenth
//! session). A sender may instead ask to send `direct`ly: that happens only while the
//! writer has nothing queued, so order is kept, and saves the writer's wake-up. Who may
//! ask is the caller's policy (`slot.rs` for frames to an idle process, `reply.rs` for the
//! reply of a process's only live work); see ARCHITECTURE.md. A writer may also wait a
//! short window for more items while its owner says many are coming ([`Coalesce`]: the
//! child's replies while it is busy with many works).
//!
//! No message carries more than [`message_budget`] bytes of items, so every `send` is one
//! `sendmsg` that fits a socket buffer (see `payload.rs` for why that makes every send
//! abandonable), and a direct send carries at most [`DIRECT_LIMIT`] bytes: far less than
//! an idle receiver's socket buffer holds, so a caller's direct send does not wait for
//! the receiver even when it has stopped reading.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use ipc_channel::ipc::IpcSender;
use serde::Serialize;

use crate::protocol::coalesce::Coalesce;
use crate::protocol::payload::{message_budget, WireSize, MAX_FDS_PER_MESSAGE};
use crate::protocol::regions::{Lender, Lends};

/// The most items packed into one message (the receiver hands a message's works to its
/// loop together).
const MAX_BATCH: usize = 4096;

/// The most bytes a caller may send directly rather than through the writer thread.
pub(crate) const DIRECT_LIMIT: usize = 16 * 1024;

/// What the senders have handed the writer and it has not taken yet.
struct Pending<T> {
    items: Vec<T>,
    /// Answered once everything handed before has been sent.
    flushes: Vec<SyncSender<()>>,
    /// The [`BatchWriter`] handles alive: the writer ends once none is left and it has
    /// sent everything.
    handles: usize,
    /// The writer waits for items: the next sender wakes it.
    writer_waiting: bool,
    /// The writer is gone: items handed now come back.
    closed: bool,
}

/// The channel, its regions and what is handed to the writer, shared with the writer.
struct Shared<T: Serialize> {
    channel: Mutex<IpcSender<Vec<T>>>,
    /// Lends big payloads a region as they leave (under the channel's lock, in order).
    lender: Arc<Lender>,
    /// Items handed to the writer and not yet sent (nor dropped by a gone writer, which
    /// leaves them counted: no direct send overtakes what it never sent).
    queued: AtomicUsize,
    pending: Mutex<Pending<T>>,
    /// Wakes the writer waiting for items.
    wake: Condvar,
}

/// A handle for sending over one channel; cheap to clone.
pub(crate) struct BatchWriter<T: Serialize> {
    shared: Arc<Shared<T>>,
}

/// The writer thread's end: run [`WriterThread::run`] on its own thread. It ends when
/// every [`BatchWriter`] is dropped or the channel's other end is gone; once it is gone
/// (or dropped unrun), items handed to it come back.
pub(crate) struct WriterThread<T: Serialize> {
    shared: Arc<Shared<T>>,
}

/// Creates the writer handle and the writer thread's end for `channel`, whose big
/// payloads go in `lender`'s regions.
pub(crate) fn batch_writer<T: Serialize>(
    channel: IpcSender<Vec<T>>,
    lender: Arc<Lender>,
) -> (BatchWriter<T>, WriterThread<T>) {
    let shared = Arc::new(Shared {
        channel: Mutex::new(channel),
        lender,
        queued: AtomicUsize::new(0),
        pending: Mutex::new(Pending {
            items: Vec::new(),
            flushes: Vec::new(),
            handles: 1,
            writer_waiting: false,
            closed: false,
        }),
        wake: Condvar::new(),
    });
    let writer = WriterThread {
        shared: Arc::clone(&shared),
    };
    (BatchWriter { shared }, writer)
}

impl<T: Serialize + WireSize + Lends> BatchWriter<T> {
    /// Sends `items` in order after everything sent before; hands them back if the writer
    /// is gone. With `direct`, sends on this thread when the writer has nothing queued
    /// and the items are small (at most [`DIRECT_LIMIT`] bytes). A failed direct send
    /// means the other end is gone, which its owner learns from its reading side.
    pub(crate) fn send(&self, items: Vec<T>, direct: bool) -> Result<(), Vec<T>> {
        let mut items = items;
        if direct && self.shared.queued.load(Ordering::Acquire) == 0 {
            // Lent first: a payload lent a region adds a descriptor and no bytes.
            let channel = self.shared.lock();
            items = self.shared.lent(items);
            if wire_size(&items) <= DIRECT_LIMIT
                && items.iter().map(WireSize::fds).sum::<usize>() <= MAX_FDS_PER_MESSAGE
            {
                let _ = channel.send(items);
                return Ok(());
            }
        }
        self.hand_over(items.len(), |pending| pending.append(&mut items))
            .map_err(|()| self.taken_back(items))
    }

    /// Sends one item as [`send`](Self::send) does, in a `Vec` of its own only if it is
    /// sent directly: otherwise it goes straight onto the writer's items, so the sending
    /// thread allocates nothing that the writer frees (a reply or a `Run` frame per work,
    /// made on one thread and freed on another, on each side of a process pool).
    pub(crate) fn send_one(&self, item: T, direct: bool) -> Result<(), Vec<T>> {
        if direct && self.shared.queued.load(Ordering::Acquire) == 0 {
            return self.send(vec![item], true);
        }
        let mut item = Some(item);
        self.hand_over(1, |pending| pending.extend(item.take()))
            .map_err(|()| self.taken_back(item.into_iter().collect()))
    }

    /// Puts `count` items onto the writer's (by `put`) and wakes it if it waits; `Err`
    /// (nothing put) if the writer is gone.
    fn hand_over(&self, count: usize, put: impl FnOnce(&mut Vec<T>)) -> Result<(), ()> {
        let mut pending = self.shared.pending();
        if pending.closed {
            return Err(());
        }
        // Counted before the writer can take them, as it uncounts them once sent.
        self.shared.queued.fetch_add(count, Ordering::AcqRel);
        put(&mut pending.items);
        self.shared.wake_writer(pending);
        Ok(())
    }

    /// `items` as they came, to be handed back: a payload lent by a direct send that did
    /// not fit names a region of this channel's, which its next owner lacks.
    fn taken_back(&self, mut items: Vec<T>) -> Vec<T> {
        for item in &mut items {
            item.take_back(&self.shared.lender);
        }
        items
    }

    /// Waits until everything handed over so far has been sent (or the writer is gone).
    pub(crate) fn flush(&self) {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        let mut pending = self.shared.pending();
        if pending.closed {
            return;
        }
        pending.flushes.push(done_tx);
        self.shared.wake_writer(pending);
        let _ = done_rx.recv();
    }
}

impl<T: Serialize> Clone for BatchWriter<T> {
    fn clone(&self) -> Self {
        self.shared.pending().handles += 1;
        BatchWriter {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T: Serialize> Drop for BatchWriter<T> {
    fn drop(&mut self) {
        let mut pending = self.shared.pending();
        pending.handles -= 1;
        if pending.handles == 0 {
            // The writer sends what is left, then ends.
            self.shared.wake_writer(pending);
        }
    }
}

impl<T: Serialize> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, IpcSender<Vec<T>>> {
        self.channel.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn pending(&self) -> MutexGuard<'_, Pending<T>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes the writer if it waits for items, once `pending` is unlocked.
    fn wake_writer(&self, mut pending: MutexGuard<'_, Pending<T>>) {
        let waiting = std::mem::take(&mut pending.writer_waiting);
        drop(pending);
        if waiting {
            self.wake.notify_one();
        }
    }
}

impl<T: Serialize + Lends> Shared<T> {
    /// `items` with their big payloads lent a region; called under the channel's lock.
    fn lent(&self, mut items: Vec<T>) -> Vec<T> {
        for item in &mut items {
            item.lend(&self.lender);
        }
        items
    }
}

/// What the writer takes in one go.
struct Taken<T> {
    items: Vec<T>,
    flushes: Vec<SyncSender<()>>,
}

impl<T: Serialize + WireSize + Lends> WriterThread<T> {
    /// Sends what the senders hand over, everything handed meanwhile in one message (or as
    /// few as the budget allows), until every handle is dropped or the other end is gone.
    /// With `coalesce`, while many more items are coming (see [`Coalesce`]), it waits the
    /// window once before it sends what it has, so they leave together.
    pub(crate) fn run(self, coalesce: Option<Coalesce>) {
        let mut last_sent = 0;
        while let Some(mut taken) = self.take(last_sent) {
            if let Some(coalesce) = &coalesce {
                if taken.flushes.is_empty()
                    && taken.items.len() < MAX_BATCH
                    && coalesce.many_coming()
                {
                    coalesce.wait(last_sent);
                    self.take_more(&mut taken);
                }
            }
            let count = taken.items.len();
            last_sent = count;
            let sent = self.send_in_messages(taken.items);
            self.shared.queued.fetch_sub(count, Ordering::AcqRel);
            for done in taken.flushes {
                let _ = done.send(());
            }
            if !sent {
                return;
            }
        }
    }

    /// Waits for items or flushes and takes them all, leaving the senders an empty `Vec`
    /// with room for `last_sent` (allocated before the lock: a sender waits for no
    /// allocation); `None` once every handle is gone and nothing is left.
    fn take(&self, last_sent: usize) -> Option<Taken<T>> {
        let room = Vec::with_capacity(last_sent.max(1));
        let mut pending = self.shared.pending();
        while pending.items.is_empty() && pending.flushes.is_empty() {
            if pending.handles == 0 {
                return None;
            }
            pending.writer_waiting = true;
            pending = self
                .shared
                .wake
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        Some(Taken {
            items: std::mem::replace(&mut pending.items, room),
            flushes: std::mem::take(&mut pending.flushes),
        })
    }

    /// Adds what was handed over since `taken` was.
    fn take_more(&self, taken: &mut Taken<T>) {
        let mut pending = self.shared.pending();
        taken.items.append(&mut pending.items);
        taken.flushes.append(&mut pending.flushes);
    }

    /// Sends `batch` as few messages as the budget allows; false once the other end is gone.
    fn send_in_messages(&self, mut batch: Vec<T>) -> bool {
        let budget = message_budget();
        let channel = self.shared.lock();
        let (mut size, mut fds) = (0, 0);
        let mut fits = batch.len() <= MAX_BATCH;
        for item in &mut batch {
            if !fits {
                break;
            }
            // Lent before it is measured: lending turns bytes into a descriptor.
            item.lend(&self.shared.lender);
            size += item.wire_size();
            fds += item.fds();
            fits = size <= budget && fds <= MAX_FDS_PER_MESSAGE;
        }
        if fits {
            // Most batches: one message, the batch itself.
            return batch.is_empty() || channel.send(batch).is_ok();
        }
        // Split: the rest are lent as their message is made (a region the peer releases
        // meanwhile can serve them), as those measured above already were.
        let mut message = Vec::new();
        (size, fds) = (0, 0);
        for mut item in batch {
            item.lend(&self.shared.lender);
            let (item_size, item_fds) = (item.wire_size(), item.fds());
            let full = size + item_size > budget
                || fds + item_fds > MAX_FDS_PER_MESSAGE
                || message.len() == MAX_BATCH;
            if !message.is_empty() && full {
                if channel.send(std::mem::take(&mut message)).is_err() {
                    return false;
                }
                (size, fds) = (0, 0);
            }
            size += item_size;
            fds += item_fds;
            message.push(item);
        }
        message.is_empty() || channel.send(message).is_ok()
    }
}

impl<T: Serialize> Drop for WriterThread<T> {
    /// The writer is gone: what was handed to it and not taken goes (its works are the
    /// owner's to settle, as it learns the other end is gone), flushes waiting on it
    /// return, and what is handed from now on comes back.
    fn drop(&mut self) {
        let mut pending = self.shared.pending();
        pending.closed = true;
        let left = std::mem::take(&mut pending.items);
        let flushes = std::mem::take(&mut pending.flushes);
        drop(pending);
        drop((left, flushes));
    }
}

/// Bytes `items` add to a message.
fn wire_size<T: WireSize>(items: &[T]) -> usize {
    items.iter().map(WireSize::wire_size).sum()
}

#[cfg(test)]
mod tests;
