//! How a slot's frames leave: staged `Run`s and any other frame handed to the current
//! process's writer in one batch — a lone submit's frame on its own, with no batch made
//! for it — or kept in the outbox while no process is attached; blocking works committed
//! as their frame leaves.

use super::SlotState;
use crate::parent::job::{settle, Completer};
use crate::protocol::wire::DownFrame;
use aplex_core::backend::Begin;
use aplex_core::Error;

impl SlotState {
    /// Hands the staged frames, then `frame` if any, to the writer as one batch (or to
    /// the outbox while no process is attached).
    pub(super) fn send(&mut self, frame: Option<DownFrame>) {
        if frame.is_none() && self.lone_frame_sends_alone() {
            return;
        }
        let mut frames = std::mem::take(&mut self.staged);
        if self.retiring.is_some() {
            // Works wait for the replacement; the retiring process gets no more.
            self.outbox.append(&mut frames);
        }
        frames.extend(frame);
        if self.writer.is_some() {
            frames = self.commit(frames);
        }
        if frames.is_empty() {
            return;
        }
        let direct = self.direct_send_allowed(&frames);
        let unsent = match &self.writer {
            Some(writer) => writer.send(frames, direct).err(),
            None => Some(frames),
        };
        if let Some(frames) = unsent {
            self.outbox.extend(frames);
        }
    }

    /// Sends a lone staged `Run` on its own when nothing else applies (no blocking work
    /// to commit, no retiring process, a writer): `staged` keeps its room for the next
    /// submit, and the writer's queue holds the frame inline, so a submit allocates no
    /// batch that the writer thread frees. Whether it did.
    fn lone_frame_sends_alone(&mut self) -> bool {
        if self.staged.len() != 1 || !self.begins.is_empty() || self.retiring.is_some() {
            return false;
        }
        let Some(writer) = &self.writer else {
            return false;
        };
        let direct = self.direct_send_allowed(&self.staged);
        let Some(lone) = self.staged.pop() else {
            return false;
        };
        if let Err(unsent) = writer.send_one(lone, direct) {
            self.outbox.extend(unsent);
        }
        true
    }

    /// Commits the blocking works among `frames`, which are about to leave for the
    /// process: from now on they cannot be cancelled. The frame of a work cancelled just
    /// before is withdrawn: it never leaves, and the work is reported over.
    pub(super) fn commit(&mut self, frames: Vec<DownFrame>) -> Vec<DownFrame> {
        if self.begins.is_empty() {
            return frames;
        }
        let (leaving, withheld): (Vec<_>, Vec<_>) =
            frames.into_iter().partition(|frame| match frame {
                DownFrame::Run { id, .. } => self.begins.get(id).is_none_or(Begin::commit),
                _ => true,
            });
        let withdrawn: Vec<Completer> = withheld
            .iter()
            .filter_map(|frame| match frame {
                DownFrame::Run { id, .. } => {
                    self.begins.remove(id);
                    self.in_flight.remove(id)
                }
                _ => None,
            })
            .collect();
        if !withdrawn.is_empty() {
            self.report_withdrawn(withdrawn);
        }
        leaving
    }

    /// Reports withdrawn works over from another thread: this one may hold the
    /// executor's queue lock, which reporting a work over can take.
    fn report_withdrawn(&self, withdrawn: Vec<Completer>) {
        let Some((index, events)) = self.reporter.clone() else {
            return;
        };
        let report = move || {
            for completer in withdrawn {
                settle(completer, Err(Error::Cancelled));
                events.work_finished(index);
            }
        };
        if let Err(error) = std::thread::Builder::new()
            .name("aplex-withdrawn".into())
            .spawn(report)
        {
            tracing::error!(%error, "aplex: cannot report withdrawn works over");
        }
    }

    /// Whether the calling thread may send `frames` itself (see `batch_writer.rs`): they
    /// are only `Run`s, the process has nothing else in flight, and this thread drives no
    /// runtime.
    fn direct_send_allowed(&self, frames: &[DownFrame]) -> bool {
        self.in_flight.len() == frames.len()
            && frames
                .iter()
                .all(|frame| matches!(frame, DownFrame::Run { .. }))
            && tokio::runtime::Handle::try_current().is_err()
    }
}
