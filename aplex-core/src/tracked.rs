//! `Tracked`: the executor's type-erased view of one work's cell (`cell.rs`), so the
//! pending queue, the dispatcher, the timer and the backends' begin handles never need
//! to know the work's output type.

use std::sync::Arc;

use crate::deadlines::{DeferredTimer, Expiring};
use crate::stats::Outcomes;
use crate::worker::WorkId;
use crate::Error;

/// The executor's type-erased view of a work's cell.
pub(crate) trait Tracked: Expiring {
    /// Records that the work was handed to `worker` as `id`, its outcome to be counted in
    /// `sink`; false if it is already resolved (cancelled while queued), in which case it
    /// must not be dispatched.
    fn start(&self, worker: usize, id: WorkId, sink: Option<Arc<Outcomes>>) -> bool;
    /// Resolves the work with `error` unless it already has an outcome.
    fn fail(&self, error: Error);
    /// Whether the work's timeout starts when it begins (a blocking work) rather than
    /// when it is dispatched.
    fn times_from_begin(&self) -> bool;
    /// Keeps `timer` until the work begins (or schedules it now if it has begun).
    fn defer_timeout(&self, timer: DeferredTimer) -> Option<DeferredTimer>;
    /// The work can no longer be cancelled; false if it already has an outcome.
    fn commit(&self) -> bool;
    /// Whether a timeout waits for the work to begin.
    fn has_deferred_timeout(&self) -> bool;
    /// The work begins: it can no longer be cancelled, and its deferred timeout, if any,
    /// is handed back to be scheduled. `None` if it already has an outcome.
    fn begin(&self) -> Option<Option<DeferredTimer>>;
}
