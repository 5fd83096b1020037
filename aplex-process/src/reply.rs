//! The worker process's replies: the one-reply guard each `Run` carries, and the path
//! its reply takes to the parent.
//!
//! Replies normally go through the child's writer thread, which packs every reply
//! finished meanwhile into one ipc `send`. One case skips the writer: when the finishing
//! work is the only one alive in this process and the writer has nothing queued, the
//! thread that finished it sends the reply itself, saving a thread wake-up on the way
//! back (the latency of a lone `submit(..).result()`). That thread may be the runtime
//! thread; nothing else runs on it then, so no other work can be stalled, and with
//! nothing queued the socket to the parent is drained by the parent's reader, so the
//! `send` does not wait for room.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};

use ipc_channel::ipc::IpcSender;
use serde_bytes::ByteBuf;

use crate::wire::{UpFrame, WireError};

/// The most frames packed into one reply message.
const MAX_BATCH: usize = 4096;

/// What the writer thread is sent.
enum Outgoing {
    Frame(UpFrame),
    Flush(mpsc::SyncSender<()>),
}

/// State shared by every reply and the writer thread.
struct Channel {
    up: Mutex<IpcSender<Vec<UpFrame>>>,
    /// Frames handed to the writer and not yet sent.
    queued: AtomicUsize,
    /// Works given a [`Reply`] whose reply is not sent yet.
    alive: AtomicUsize,
}

/// Where this process's replies go; cloned into every [`Reply`].
#[derive(Clone)]
pub(crate) struct Replies {
    queue: Sender<Outgoing>,
    channel: Arc<Channel>,
}

/// The writer thread's end: run [`ReplyWriter::run`] on its own thread.
pub(crate) struct ReplyWriter {
    outgoing: Receiver<Outgoing>,
    channel: Arc<Channel>,
}

/// Creates the reply path over `up` and the writer's end.
pub(crate) fn replies(up: IpcSender<Vec<UpFrame>>) -> (Replies, ReplyWriter) {
    let (queue, outgoing) = mpsc::channel();
    let channel = Arc::new(Channel {
        up: Mutex::new(up),
        queued: AtomicUsize::new(0),
        alive: AtomicUsize::new(0),
    });
    let writer = ReplyWriter {
        outgoing,
        channel: Arc::clone(&channel),
    };
    (Replies { queue, channel }, writer)
}

impl Replies {
    /// The reply guard for the `Run` of work `id`.
    pub(crate) fn reply(&self, id: u64) -> Reply {
        self.channel.alive.fetch_add(1, Ordering::AcqRel);
        Reply {
            id,
            replies: Some(self.clone()),
        }
    }

    /// Waits until every reply queued so far has been sent.
    pub(crate) fn flush(&self) {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        if self.queue.send(Outgoing::Flush(done_tx)).is_ok() {
            let _ = done_rx.recv();
        }
    }

    fn send(&self, frame: UpFrame) {
        let was_alive = self.channel.alive.fetch_sub(1, Ordering::AcqRel);
        if was_alive == 1 && self.channel.queued.load(Ordering::Acquire) == 0 {
            let up = self
                .channel
                .up
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if up.send(vec![frame]).is_err() {
                // The parent is gone: nobody wants our results.
                std::process::exit(0);
            }
            return;
        }
        self.channel.queued.fetch_add(1, Ordering::AcqRel);
        if self.queue.send(Outgoing::Frame(frame)).is_err() {
            self.channel.queued.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl ReplyWriter {
    /// Sends queued replies, packing those queued meanwhile into one message, until every
    /// [`Replies`] is dropped; exits the process if the parent is gone.
    pub(crate) fn run(self) {
        let mut batch = Vec::new();
        let mut flushes = Vec::new();
        while let Ok(first) = self.outgoing.recv() {
            let mut next = Some(first);
            while let Some(message) = next.take() {
                match message {
                    Outgoing::Frame(frame) => batch.push(frame),
                    Outgoing::Flush(done) => flushes.push(done),
                }
                if batch.len() < MAX_BATCH {
                    next = self.outgoing.try_recv().ok();
                }
            }
            let taken = batch.len();
            if taken > 0 {
                let up = self
                    .channel
                    .up
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if up.send(std::mem::take(&mut batch)).is_err() {
                    std::process::exit(0);
                }
            }
            self.channel.queued.fetch_sub(taken, Ordering::AcqRel);
            for done in flushes.drain(..) {
                let _ = done.send(());
            }
        }
    }
}

/// The one reply a `Run` gets; sends `Cancelled` if dropped unsent (aborted, never run).
pub(crate) struct Reply {
    id: u64,
    replies: Option<Replies>,
}

impl Reply {
    /// Sends the work's outcome to the parent.
    pub(crate) fn send(mut self, outcome: Result<ByteBuf, WireError>) {
        if let Some(replies) = self.replies.take() {
            replies.send(UpFrame {
                id: self.id,
                outcome,
            });
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if let Some(replies) = self.replies.take() {
            replies.send(UpFrame {
                id: self.id,
                outcome: Err(WireError::Cancelled),
            });
        }
    }
}
