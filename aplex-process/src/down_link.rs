//! `DownLink`: the parent's sending side of one worker process's channel.
//!
//! Frames normally go through the process's writer thread, which packs every batch queued
//! meanwhile into one ipc `send` (ipc-channel's `send` blocks, so runtime threads never
//! call it). One case skips the writer: a work submitted from plain code to a process that
//! has nothing else in flight, while the writer is idle. Then the caller sends the frame
//! itself, saving a thread wake-up on the way to an idle worker (the latency a
//! `submit(..).result()` sees). Nothing is in flight and nothing is queued, so the socket
//! is empty and the `send` does not wait; frame order is kept because direct sends happen
//! only while the writer has nothing queued, under the slot's lock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};

use ipc_channel::ipc::IpcSender;

use crate::wire::DownFrame;

/// The most frames packed into one message to a worker.
const MAX_BATCH: usize = 4096;

/// The channel and the count of batches queued for the writer, shared with the writer.
#[derive(Debug)]
struct Channel {
    down: Mutex<IpcSender<Vec<DownFrame>>>,
    /// Batches handed to the writer and not yet sent.
    queued: AtomicUsize,
}

/// The slot's handle on one process's sending side.
#[derive(Debug)]
pub(crate) struct DownLink {
    queue: Sender<Vec<DownFrame>>,
    channel: Arc<Channel>,
}

/// The writer thread's end: run [`WriterEnd::run`] on its own thread.
#[derive(Debug)]
pub(crate) struct WriterEnd {
    batches: Receiver<Vec<DownFrame>>,
    channel: Arc<Channel>,
}

/// Creates the link and the writer's end for a process's `down` channel.
pub(crate) fn link(down: IpcSender<Vec<DownFrame>>) -> (DownLink, WriterEnd) {
    let (queue, batches) = mpsc::channel();
    let channel = Arc::new(Channel {
        down: Mutex::new(down),
        queued: AtomicUsize::new(0),
    });
    let writer = WriterEnd {
        batches,
        channel: Arc::clone(&channel),
    };
    (DownLink { queue, channel }, writer)
}

impl DownLink {
    /// Sends `frames` in order after everything sent before; hands them back if the
    /// writer is gone. `direct` allows sending on this thread when the writer is idle.
    pub(crate) fn send(&self, frames: Vec<DownFrame>, direct: bool) -> Result<(), Vec<DownFrame>> {
        if direct && self.channel.queued.load(Ordering::Acquire) == 0 {
            let down = self
                .channel
                .down
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // A failed send means the process is gone; its supervisor fails what it had.
            let _ = down.send(frames);
            return Ok(());
        }
        self.channel.queued.fetch_add(1, Ordering::AcqRel);
        self.queue.send(frames).map_err(|error| {
            self.channel.queued.fetch_sub(1, Ordering::AcqRel);
            error.0
        })
    }
}

impl WriterEnd {
    /// Sends queued batches, packing those queued meanwhile into one message, until the
    /// link is dropped or the process is gone.
    pub(crate) fn run(self) {
        while let Ok(mut batch) = self.batches.recv() {
            let mut taken = 1;
            while batch.len() < MAX_BATCH {
                match self.batches.try_recv() {
                    Ok(more) => {
                        batch.extend(more);
                        taken += 1;
                    }
                    Err(_) => break,
                }
            }
            let sent = {
                let down = self
                    .channel
                    .down
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                down.send(batch)
            };
            self.channel.queued.fetch_sub(taken, Ordering::AcqRel);
            if sent.is_err() {
                return;
            }
        }
    }
}
