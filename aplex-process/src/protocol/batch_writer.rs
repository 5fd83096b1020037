//! `BatchWriter`: the sending side of one ipc channel, used both ways (parent → child
//! frames, child → parent replies).
//!
//! Items normally go through a writer thread, which packs every batch queued meanwhile
//! into one ipc `send` (ipc-channel's `send` blocks, so it is kept off the threads that
//! have other things to do). A sender may instead ask to send `direct`ly: that happens
//! only while the writer has nothing queued, so order is kept, and saves the writer's
//! wake-up. Who may ask is the caller's policy (`slot.rs` for frames to an idle process,
//! `reply.rs` for the reply of a process's only live work); see ARCHITECTURE.md. A
//! writer may also wait a short window for more items while its owner says many are
//! coming ([`Coalesce`]: the child's replies while it is busy with many works).
//!
//! No message carries more than [`message_budget`] bytes of items, so every `send` is one
//! `sendmsg` that fits a socket buffer (see `payload.rs` for why that makes every send
//! abandonable), and a direct send carries at most [`DIRECT_LIMIT`] bytes: far less than
//! an idle receiver's socket buffer holds, so a caller's direct send does not wait for
//! the receiver even when it has stopped reading.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ipc_channel::ipc::IpcSender;
use serde::Serialize;

use crate::protocol::coalesce::Coalesce;
use crate::protocol::payload::{message_budget, WireSize, MAX_FDS_PER_MESSAGE};
use crate::protocol::regions::{Lender, Lends};

/// The most items packed into one message.
const MAX_BATCH: usize = 4096;

/// The most bytes a caller may send directly rather than through the writer thread.
pub(crate) const DIRECT_LIMIT: usize = 16 * 1024;

/// What the writer thread is handed.
enum Queued<T> {
    Items(Vec<T>),
    /// One item, held inline: no `Vec` made by the sender and freed by the writer.
    One(T),
    /// Answer once everything queued before has been sent.
    Flush(SyncSender<()>),
}

/// The channel, its regions and the count of batches queued for the writer, shared with
/// the writer.
struct Shared<T: Serialize> {
    channel: Mutex<IpcSender<Vec<T>>>,
    /// Lends big payloads a region as they leave (under the channel's lock, in order).
    lender: Arc<Lender>,
    /// Batches handed to the writer and not yet sent.
    queued: AtomicUsize,
}

/// A handle for sending over one channel; cheap to clone.
pub(crate) struct BatchWriter<T: Serialize> {
    queue: Sender<Queued<T>>,
    shared: Arc<Shared<T>>,
}

/// The writer thread's end: run [`WriterThread::run`] on its own thread. It ends when
/// every [`BatchWriter`] is dropped or the channel's other end is gone.
pub(crate) struct WriterThread<T: Serialize> {
    batches: Receiver<Queued<T>>,
    shared: Arc<Shared<T>>,
}

/// Creates the writer handle and the writer thread's end for `channel`, whose big
/// payloads go in `lender`'s regions.
pub(crate) fn batch_writer<T: Serialize>(
    channel: IpcSender<Vec<T>>,
    lender: Arc<Lender>,
) -> (BatchWriter<T>, WriterThread<T>) {
    let (queue, batches) = mpsc::channel();
    let shared = Arc::new(Shared {
        channel: Mutex::new(channel),
        lender,
        queued: AtomicUsize::new(0),
    });
    let writer = WriterThread {
        batches,
        shared: Arc::clone(&shared),
    };
    (BatchWriter { queue, shared }, writer)
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
        self.queue_for_writer(Queued::Items(items))
    }

    /// Sends one item as [`send`](Self::send) does, in a `Vec` of its own only if it is
    /// sent directly: otherwise the writer's queue holds it inline, so the sending thread
    /// allocates nothing that the writer frees (a reply or a `Run` frame per work, made
    /// on one thread and freed on another, on each side of a process pool).
    pub(crate) fn send_one(&self, item: T, direct: bool) -> Result<(), Vec<T>> {
        if direct && self.shared.queued.load(Ordering::Acquire) == 0 {
            return self.send(vec![item], true);
        }
        self.queue_for_writer(Queued::One(item))
    }

    fn queue_for_writer(&self, queued: Queued<T>) -> Result<(), Vec<T>> {
        self.shared.queued.fetch_add(1, Ordering::AcqRel);
        self.queue.send(queued).map_err(|error| {
            self.shared.queued.fetch_sub(1, Ordering::AcqRel);
            let mut items = match error.0 {
                Queued::Items(items) => items,
                Queued::One(item) => vec![item],
                Queued::Flush(_) => Vec::new(),
            };
            // Handed back as they came: a payload lent by a direct send that did not fit
            // names a region of this channel's, which its next owner lacks.
            for item in &mut items {
                item.take_back(&self.shared.lender);
            }
            items
        })
    }

    /// Waits until everything queued so far has been sent (or the writer is gone).
    pub(crate) fn flush(&self) {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        if self.queue.send(Queued::Flush(done_tx)).is_ok() {
            let _ = done_rx.recv();
        }
    }
}

impl<T: Serialize> Clone for BatchWriter<T> {
    fn clone(&self) -> Self {
        BatchWriter {
            queue: self.queue.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T: Serialize> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, IpcSender<Vec<T>>> {
        self.channel.lock().unwrap_or_else(PoisonError::into_inner)
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

impl<T: Serialize + WireSize + Lends> WriterThread<T> {
    /// Sends queued batches, packing those queued meanwhile into one message, until every
    /// handle is dropped or the other end is gone. With `coalesce`, while many more items
    /// are coming (see [`Coalesce`]), it waits the window once before it sends what it
    /// has, so they leave together.
    pub(crate) fn run(self, coalesce: Option<Coalesce>) {
        let mut batch = Vec::new();
        let mut flushes = Vec::new();
        let mut last_sent = 0;
        while let Ok(first) = self.batches.recv() {
            let mut taken = 0;
            let mut next = Some(first);
            let mut waited = false;
            loop {
                while let Some(queued) = next.take() {
                    match queued {
                        Queued::Items(items) => {
                            batch.extend(items);
                            taken += 1;
                        }
                        Queued::One(item) => {
                            batch.push(item);
                            taken += 1;
                        }
                        Queued::Flush(done) => flushes.push(done),
                    }
                    if batch.len() < MAX_BATCH {
                        next = self.batches.try_recv().ok();
                    }
                }
                match &coalesce {
                    Some(coalesce)
                        if !waited
                            && flushes.is_empty()
                            && batch.len() < MAX_BATCH
                            && coalesce.many_coming() =>
                    {
                        waited = true;
                        coalesce.wait(last_sent);
                        next = self.batches.try_recv().ok();
                    }
                    _ => break,
                }
            }
            last_sent = batch.len();
            let sent = self.send_in_messages(std::mem::take(&mut batch));
            self.shared.queued.fetch_sub(taken, Ordering::AcqRel);
            for done in flushes.drain(..) {
                let _ = done.send(());
            }
            if !sent {
                return;
            }
        }
    }

    /// Sends `batch` as few messages as the budget allows; false once the other end is gone.
    fn send_in_messages(&self, batch: Vec<T>) -> bool {
        let budget = message_budget();
        let mut message = Vec::new();
        let (mut size, mut fds) = (0, 0);
        let channel = self.shared.lock();
        for mut item in batch {
            // Lent before it is measured: lending turns bytes into a descriptor.
            item.lend(&self.shared.lender);
            let (item_size, item_fds) = (item.wire_size(), item.fds());
            let full = size + item_size > budget || fds + item_fds > MAX_FDS_PER_MESSAGE;
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

/// Bytes `items` add to a message.
fn wire_size<T: WireSize>(items: &[T]) -> usize {
    items.iter().map(WireSize::wire_size).sum()
}

#[cfg(test)]
mod tests {
    use ipc_channel::ipc;
    use serde_bytes::ByteBuf;

    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::time::Duration;

    use super::{batch_writer, DIRECT_LIMIT};
    use crate::protocol::coalesce::Coalesce;
    use crate::protocol::payload::{shared_threshold, Payload};
    use crate::protocol::regions::Lender;
    use crate::protocol::wire::DownFrame;
    use crate::protocol::wire::UpFrame;

    #[test]
    fn a_batch_with_more_shared_regions_than_one_message_holds_is_split() {
        let (sender, receiver) = ipc::channel::<Vec<DownFrame>>().unwrap();
        let (writer, thread) = batch_writer(sender, Lender::new(shared_threshold()));
        let thread = std::thread::spawn(move || thread.run(None));
        let big = ByteBuf::from(vec![5u8; shared_threshold() + 1]);
        let frames: Vec<DownFrame> = (0..100)
            .map(|id| DownFrame::Run {
                id,
                work: 0,
                args: Payload::new(big.clone()),
                report_begin: false,
            })
            .collect();
        assert!(writer.send(frames, false).is_ok());
        drop(writer);
        thread.join().unwrap();
        let mut received = 0;
        while let Ok(message) = receiver.try_recv() {
            assert!(message.len() <= crate::protocol::payload::MAX_FDS_PER_MESSAGE);
            received += message.len();
        }
        assert_eq!(received, 100, "every frame arrived");
    }

    #[test]
    fn a_lone_item_queued_inline_arrives_in_order_or_comes_back_if_the_writer_is_gone() {
        let done = |id: u64| UpFrame::Done {
            id,
            outcome: Ok(Payload::new(ByteBuf::from(vec![id as u8]))),
        };
        let (sender, receiver) = ipc::channel::<Vec<UpFrame>>().unwrap();
        let (writer, thread) = batch_writer(sender, Lender::new(shared_threshold()));
        let thread = std::thread::spawn(move || thread.run(None));
        assert!(writer.send(vec![done(0), done(1)], false).is_ok());
        assert!(writer.send_one(done(2), false).is_ok());
        assert!(writer.send(vec![done(3)], false).is_ok());
        drop(writer);
        thread.join().unwrap();
        let ids: Vec<u64> = std::iter::from_fn(|| receiver.try_recv().ok())
            .flatten()
            .map(|frame| match frame {
                UpFrame::Done { id, .. } => id,
                other => panic!("not a reply: {other:?}"),
            })
            .collect();
        assert_eq!(ids, [0, 1, 2, 3]);

        let (sender, _receiver) = ipc::channel::<Vec<UpFrame>>().unwrap();
        let (writer, thread) = batch_writer(sender, Lender::new(shared_threshold()));
        drop(thread);
        let back = writer
            .send_one(done(7), false)
            .expect_err("the writer is gone");
        assert!(matches!(back[..], [UpFrame::Done { id: 7, .. }]));
    }

    #[test]
    fn frames_handed_back_by_a_gone_writer_carry_their_bytes_not_a_region() {
        // A direct send lends the big payload, finds the frames too big to send directly,
        // and queues them; the writer is gone, so they come back, as they went in.
        let (sender, _receiver) = ipc::channel::<Vec<DownFrame>>().unwrap();
        let (writer, thread) = batch_writer(sender, Lender::new(shared_threshold()));
        drop(thread);
        let run = |id: u64, bytes: Vec<u8>| DownFrame::Run {
            id,
            work: 0,
            args: Payload::new(ByteBuf::from(bytes)),
            report_begin: false,
        };
        let big: Vec<u8> = (0..shared_threshold() + 1000).map(|i| i as u8).collect();
        let frames = vec![
            run(0, vec![1; DIRECT_LIMIT / 2 + 1]),
            run(1, vec![2; DIRECT_LIMIT / 2 + 1]),
            run(2, big.clone()),
        ];
        let back = writer.send(frames, true).expect_err("the writer is gone");
        let DownFrame::Run { args, .. } = &back[2] else {
            panic!("a Run came back as {:?}", back[2]);
        };
        assert!(
            matches!(args, Payload::Stored { .. }),
            "taken back: no longer lent under this channel's number, in the region still"
        );
        assert_eq!(&**args, &big[..], "with its bytes");
    }

    #[test]
    fn while_many_items_are_coming_the_writer_sends_them_together() {
        // While many are coming, a first item waits (an hour here) instead of leaving
        // alone, and the items sent meanwhile leave with it once fewer are coming.
        let hour = Duration::from_secs(3600);
        let done = |id: u64| UpFrame::Done {
            id,
            outcome: Ok(Payload::new(ByteBuf::from(vec![id as u8]))),
        };
        let (sender, receiver) = ipc::channel::<Vec<UpFrame>>().unwrap();
        let (writer, thread) = batch_writer(sender, Lender::new(shared_threshold()));
        let coming = Arc::new(AtomicUsize::new(100));
        let coalesce = Coalesce {
            window: hour,
            dense_window: hour,
            ..Coalesce::while_at_least(Arc::clone(&coming), 8)
        };
        let wake = coalesce.wake.clone();
        let thread = std::thread::spawn(move || thread.run(Some(coalesce)));
        assert!(writer.send(vec![done(0)], false).is_ok());
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !wake.has_parked() {
            assert!(
                std::time::Instant::now() < deadline,
                "the writer never waited"
            );
            std::thread::yield_now();
        }
        assert!(receiver.try_recv().is_err(), "the first item left alone");
        assert!(writer.send(vec![done(1), done(2)], false).is_ok());
        coming.store(0, std::sync::atomic::Ordering::Release);
        wake.wake();
        let message = receiver
            .try_recv_timeout(Duration::from_secs(60))
            .expect("the items left once fewer were coming");
        assert_eq!(message.len(), 3, "one message for the three");
        drop(writer);
        thread.join().unwrap();
    }
}
