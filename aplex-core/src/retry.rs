//! Retrying a work lost to a crashed worker (`WorkOptions::retry_crashed`): the same
//! future, dispatched again.
//!
//! 1. A backend that learns a work's worker died, and that the work has retries left,
//!    hands its promise and a way to rebuild its job to [`Executor::retry`] instead of
//!    failing the promise with `WorkerCrashed`.
//! 2. The work's cell goes back to queued (unless it has an outcome already: cancelled
//!    meanwhile, or timed out), and the work is admitted again at the front of the
//!    queue: it was admitted once, so the pending bound does not apply and it goes before
//!    works submitted after it.
//! 3. While the pool is shutting down or broken there is no retry: the backend fails the
//!    promise with the crash, as without retries.

use crate::dispatch::{Pending, Shared};
use crate::executor::Executor;
use crate::future::WorkPromise;
use crate::work_options::WorkOptions;
use crate::worker::Worker;

impl<W: Worker> Executor<W> {
    /// Dispatches again the work of `promise`, whose worker crashed; `build` makes its
    /// job around the promise. Gives the promise back when there is no retry (the pool
    /// is shutting down or broken): fail it then.
    ///
    /// # Errors
    ///
    /// The promise, for the caller to fail, when the pool no longer runs.
    pub fn retry<T: Send + 'static>(
        &self,
        promise: WorkPromise<T>,
        options: WorkOptions,
        build: impl FnOnce(WorkPromise<T>) -> W::Job,
    ) -> Result<(), WorkPromise<T>> {
        self.shared.readmit(promise, options, build)
    }
}

impl<W: Worker> Shared<W> {
    fn readmit<T: Send + 'static>(
        &self,
        promise: WorkPromise<T>,
        options: WorkOptions,
        build: impl FnOnce(WorkPromise<T>) -> W::Job,
    ) -> Result<(), WorkPromise<T>> {
        let mut queue = self.lock_queue();
        if !self.is_running() {
            return Err(promise);
        }
        let Some(tracked) = promise.tracked() else {
            return Ok(());
        };
        if !promise.requeue() {
            // It has an outcome already (cancelled or timed out meanwhile).
            return Ok(());
        }
        queue
            .pending
            .push_front(Pending::new(build(promise), tracked, options));
        self.gauge.queued();
        self.drain(&mut queue);
        self.flush_locked(&mut queue);
        Ok(())
    }
}
