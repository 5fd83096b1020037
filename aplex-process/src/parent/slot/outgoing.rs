//! How a slot's frames leave: staged `Run`s and any other frame handed to the current
//! process's writer in one batch — a lone frame inline, its batch kept for the next — or
//! kept in the outbox while no process is attached; blocking works committed as their
//! frame leaves.

use std::sync::Weak;

use super::SlotState;
use crate::parent::job::{settle, Completer};
use crate::protocol::wire::DownFrame;
use aplex_core::backend::{offer_wait_help, Begin};
use aplex_core::Error;

impl SlotState {
    /// Hands the staged frames, then `frame` if any, to the writer as one batch (or to
    /// the outbox while no process is attached).
    pub(super) fn send(&mut self, frame: Option<DownFrame>) {
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
        if let (true, Some(help)) = (direct, &self.wait_help) {
            // This thread sends its lone work: its next wait may read the reply itself.
            offer_wait_help(Weak::clone(help));
        }
        let unsent = match &self.writer {
            Some(writer) if frames.len() == 1 => {
                // A lone frame (a lone submit's `Run`) goes onto the writer's items as it
                // is, and its batch stays as `staged`'s room for the next: no batch per submit
                // made here and freed by the writer thread.
                // (`staged` was taken above and nothing stages meanwhile.)
                let lone = frames.pop();
                self.staged = frames;
                lone.and_then(|lone| writer.send_one(lone, direct).err())
            }
            Some(writer) => writer.send(frames, direct).err(),
            None => Some(frames),
        };
        if let Some(frames) = unsent {
            self.outbox.extend(frames);
        }
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
