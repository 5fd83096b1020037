//! `WorkCell`: the state one work's future and promise share — a small mutex-guarded
//! state machine (queued → running → resolved → taken) with the outcome, the waker and
//! what the stats and the timer need — and its implementation of `Tracked`, the
//! object-safe view the executor has of it, so it never needs to know the work's output
//! type. The first
//! outcome to arrive wins: a result, a failure, or a cancellation; later ones are
//! dropped.

use std::sync::{Arc, PoisonError};
use std::task::Waker;

use crate::backend::chunk_results::ChunkResults;
use crate::deadlines::{DeferredTimer, Expiring};
use crate::stats::{OutcomeKind, Outcomes};
use crate::sync::{Mutex, MutexGuard};
use crate::tracked::Tracked;
use crate::worker::WorkId;
use crate::{Clock, Error};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Queued,
    /// Dispatched to worker `worker` (an index: a `u32` keeps the phase 16 bytes).
    Running {
        worker: u32,
        id: WorkId,
    },
    Resolved,
    Taken,
}

impl Phase {
    /// Running on worker `worker` as work `id`.
    pub(crate) fn running(worker: usize, id: WorkId) -> Phase {
        Phase::Running {
            // A pool's size is far below `u32::MAX` (each worker is a thread or a process).
            worker: u32::try_from(worker).unwrap_or(u32::MAX),
            id,
        }
    }

    /// The worker and id of a running work.
    pub(crate) fn worker_and_id(self) -> Option<(usize, WorkId)> {
        match self {
            Phase::Running { worker, id } => Some((worker as usize, id)),
            _ => None,
        }
    }
}

pub(crate) struct CellState<T> {
    pub(crate) phase: Phase,
    /// The outcome, its error boxed: errors are rare, and an `Error` would make every
    /// queued or running work's cell 64 bytes bigger.
    pub(crate) outcome: Option<Result<T, Box<Error>>>,
    pub(crate) waker: Option<Waker>,
    /// Where the outcome is counted, once the work is dispatched.
    pub(crate) sink: Option<Arc<Outcomes>>,
    /// The outcome was `Cancelled` (still known once the outcome is read).
    pub(crate) cancelled: bool,
    /// How many works the cell stands for (the items of a map chunk; a `u32` beside the
    /// flags keeps the cell within 88 bytes, a 112-byte block of glibc's with its `Arc`).
    pub(crate) items: u32,
    /// An async work, which can always be aborted (a blocking one, only until it begins).
    pub(crate) abortable: bool,
    /// A blocking work that can no longer be cancelled (it has begun, or its worker has
    /// it beyond recall); an async work can always be aborted.
    pub(crate) committed: bool,
    /// The work has begun on its worker (its timeout clock, if deferred, is running).
    pub(crate) began: bool,
    /// A blocking work's timeout, started when it begins rather than at dispatch (boxed:
    /// only blocking works with a timeout have one).
    pub(crate) deferred: Option<Box<DeferredTimer>>,
}

/// Counts the works a cell's outcome stands for, by kind: one for a single work, one per
/// item for a map chunk (of the given number of items).
pub(crate) type Tally<T> = fn(&Result<T, Error>, u64, &mut dyn FnMut(OutcomeKind, u64));

/// The tally of a single work.
pub(crate) fn tally_one<T>(
    outcome: &Result<T, Error>,
    _items: u64,
    record: &mut dyn FnMut(OutcomeKind, u64),
) {
    record(OutcomeKind::of_error(outcome.as_ref().err()), 1);
}

/// The tally of a map chunk: each item counts as the work it is.
pub(crate) fn tally_chunk<T>(
    outcome: &Result<ChunkResults<T>, Error>,
    items: u64,
    record: &mut dyn FnMut(OutcomeKind, u64),
) {
    match outcome {
        Ok(results) if results.all_ok_len().is_some() => {
            record(
                OutcomeKind::Completed,
                results.all_ok_len().unwrap_or(0) as u64,
            );
        }
        Ok(results) => {
            // Counted here, recorded once per kind: one update of the shared counters
            // per chunk, not per item.
            let mut counts = [0u64; OutcomeKind::ALL.len()];
            results.each_error(|error| counts[OutcomeKind::of_error(error) as usize] += 1);
            for (kind, count) in OutcomeKind::ALL.into_iter().zip(counts) {
                if count > 0 {
                    record(kind, count);
                }
            }
        }
        Err(error) => record(OutcomeKind::of_error(Some(error)), items),
    }
}

impl<T> CellState<T> {
    /// Stores the first outcome, counts it against its worker, and returns the waker to
    /// wake. The caller has checked that there is no outcome yet.
    pub(crate) fn settle(&mut self, outcome: Result<T, Error>, tally: Tally<T>) -> Option<Waker> {
        // The sink stays until the cell is dropped (normally by the reader of the future,
        // on the thread that cloned it): dropping it here, on a worker, would bounce its
        // reference count between threads once per work.
        if let (Some((worker, _)), Some(sink)) = (self.phase.worker_and_id(), &self.sink) {
            tally(&outcome, u64::from(self.items), &mut |kind, count| {
                sink.record(worker, kind, count)
            });
        }
        self.cancelled = matches!(outcome, Err(Error::Cancelled));
        self.phase = Phase::Resolved;
        self.outcome = Some(outcome.map_err(Box::new));
        self.waker.take()
    }
}

pub(crate) struct WorkCell<T> {
    state: Mutex<CellState<T>>,
    pub(crate) tally: Tally<T>,
}

impl<T> WorkCell<T> {
    /// A queued work's cell, standing for `items` works counted by `tally`.
    pub(crate) fn new(abortable: bool, items: u64, tally: Tally<T>) -> Self {
        WorkCell {
            state: Mutex::new(CellState {
                phase: Phase::Queued,
                outcome: None,
                waker: None,
                sink: None,
                cancelled: false,
                // A chunk of more than `u32::MAX` items cannot be held in memory; were one
                // made, its stats would count it as `u32::MAX` works.
                items: u32::try_from(items).unwrap_or(u32::MAX),
                abortable,
                committed: false,
                began: false,
                deferred: None,
            }),
            tally,
        }
    }

    /// Whether the work can always be aborted (an async work).
    pub(crate) fn abortable(&self) -> bool {
        self.lock().abortable
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, CellState<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Cancels the work if it is still queued; returns whether it did.
    ///
    /// Returns the waker to wake (`Some(None)`: cancelled, nobody to wake), for the
    /// caller to wake once it holds no lock.
    pub(crate) fn cancel_if_queued(&self) -> Option<Option<Waker>> {
        let mut state = self.lock();
        if state.phase != Phase::Queued {
            return None;
        }
        Some(state.settle(Err(Error::Cancelled), self.tally))
    }

    /// Stores the outcome unless one is already there; returns whether it was stored.
    pub(crate) fn resolve(&self, outcome: Result<T, Error>) -> bool {
        let mut state = self.lock();
        if matches!(state.phase, Phase::Resolved | Phase::Taken) {
            return false;
        }
        let waker = state.settle(outcome, self.tally);
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }
}

impl<T: Send> Expiring for WorkCell<T> {
    fn is_resolved(&self) -> bool {
        matches!(self.lock().phase, Phase::Resolved | Phase::Taken)
    }

    fn expire(&self) -> Option<(usize, WorkId, bool)> {
        let mut state = self.lock();
        let (worker, id) = state.phase.worker_and_id()?;
        let abortable = state.abortable;
        let clock = if abortable {
            Clock::Work
        } else {
            Clock::BlockingWork
        };
        let waker = state.settle(Err(Error::TimedOut { clock }), self.tally);
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        Some((worker, id, abortable))
    }
}

impl<T: Send> Tracked for WorkCell<T> {
    fn start(&self, worker: usize, id: WorkId, sink: Option<Arc<Outcomes>>) -> bool {
        let mut state = self.lock();
        if state.phase != Phase::Queued {
            return false;
        }
        state.phase = Phase::running(worker, id);
        state.sink = sink;
        true
    }

    fn fail(&self, error: Error) {
        self.resolve(Err(error));
    }

    fn times_from_begin(&self) -> bool {
        !self.abortable()
    }

    fn defer_timeout(&self, timer: DeferredTimer) -> Option<DeferredTimer> {
        let mut state = self.lock();
        if state.began {
            return Some(timer);
        }
        state.deferred = Some(Box::new(timer));
        None
    }

    fn has_deferred_timeout(&self) -> bool {
        self.lock().deferred.is_some()
    }

    fn commit(&self) -> bool {
        let mut state = self.lock();
        if matches!(state.phase, Phase::Resolved | Phase::Taken) {
            return false;
        }
        state.committed = true;
        true
    }

    fn begin(&self) -> Option<Option<DeferredTimer>> {
        let mut state = self.lock();
        if matches!(state.phase, Phase::Resolved | Phase::Taken) {
            return None;
        }
        state.committed = true;
        state.began = true;
        Some(state.deferred.take().map(|timer| *timer))
    }
}

/// A resolved work's cell that nothing else refers to any more (no promise, no timer, no
/// queue): a map keeps a few and writes its next chunks' cells over them, so its thread
/// neither frees one cell nor allocates the next per chunk (docs/PERFORMANCE.md: glibc's
/// per-thread cache holds 7 chunks of a size, a map's bursts free and allocate hundreds).
pub(crate) struct SpareCell<T>(Arc<WorkCell<T>>);

impl<T> SpareCell<T> {
    /// `cell` as a spare, if this is its only reference (strong or weak).
    pub(crate) fn of(mut cell: Arc<WorkCell<T>>) -> Option<Self> {
        Arc::get_mut(&mut cell)?;
        Some(SpareCell(cell))
    }

    /// The spare made a new queued work's cell, as [`WorkCell::new`] makes one.
    pub(crate) fn renew(
        mut self,
        abortable: bool,
        items: u64,
        tally: Tally<T>,
    ) -> Arc<WorkCell<T>> {
        match Arc::get_mut(&mut self.0) {
            Some(cell) => *cell = WorkCell::new(abortable, items, tally),
            // Unreachable (a spare is the only reference and cannot be cloned), but a new
            // cell is a correct answer anyway.
            None => return Arc::new(WorkCell::new(abortable, items, tally)),
        }
        self.0
    }
}

/// Asks the executor to stop a running work (implemented by the executor's shared state).
pub(crate) trait CancelRunning: Send + Sync {
    fn cancel_running(&self, worker: usize, id: WorkId);
    /// Runs `cancel` (which cancels a work if it is still queued, and says whether it
    /// did) under the queue lock, so the pending count stays exact.
    fn cancel_queued(&self, cancel: &mut dyn FnMut() -> bool) -> bool;
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{tally_one, SpareCell, WorkCell};

    /// A cell lives as long as its work is queued or running: its size is memory per
    /// work (a million queued works keep a million cells).
    #[test]
    fn a_cell_stays_small_whatever_its_error_or_timeout_might_hold() {
        // 88 bytes, with its `Arc`'s two counts 104: a 112-byte block of glibc's malloc
        // (one more byte would make it 128).
        let size = std::mem::size_of::<WorkCell<u64>>();
        assert!(
            size <= 88,
            "WorkCell<u64> is {size} bytes; box what is seldom set"
        );
    }

    /// A spare is only taken while nothing else holds the cell, and comes back as a new
    /// queued cell, whatever the old one held.
    #[test]
    fn a_spare_cell_is_taken_only_alone_and_comes_back_queued() {
        let cell = Arc::new(WorkCell::<u64>::new(true, 1, tally_one));
        assert!(
            SpareCell::of(Arc::clone(&cell)).is_none(),
            "a promise's Arc holds it"
        );
        let timed = Arc::new(WorkCell::<u64>::new(true, 1, tally_one));
        let _timer = Arc::downgrade(&timed);
        assert!(SpareCell::of(timed).is_none(), "a timer's Weak holds it");
        assert!(cell.resolve(Ok(7)));
        let spare = SpareCell::of(cell).expect("the only reference");
        let renewed = spare.renew(false, 3, tally_one);
        let state = renewed.lock();
        assert_eq!(state.phase, super::Phase::Queued);
        assert!(state.outcome.is_none());
        assert_eq!(state.items, 3);
        drop(state);
        assert!(!renewed.abortable());
        assert!(renewed.resolve(Ok(8)), "a renewed cell takes a new outcome");
    }
}
