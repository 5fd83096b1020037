//! Shutting an [`Executor`] down, in numbered steps:
//!
//! 1. `shutdown(wait)` stops intake (later submits fail with [`Error::ShutDown`]).
//! 2. Queued works keep being dispatched as workers free up; once the queue is empty,
//!    every worker is told to close after its in-flight works ([`CloseMode::Drain`]).
//! 3. With `wait`, the caller blocks until the queue has emptied and every worker has
//!    stopped.
//! 4. `shutdown_now` instead cancels every queued work, tells workers to abort their
//!    running async works ([`CloseMode::Abort`]) and joins them; `terminate` does the
//!    same with a deadline, for `Drop`.
//!
//! `shutdown_until` drains like `shutdown(true)` until a deadline, then terminates,
//! giving running blocking works a grace period as `shutdown_now` does.

use std::sync::PoisonError;
use std::time::{Duration, Instant};

use super::Executor;
use crate::deadline::deadline_after;
use crate::dispatch::Shared;
use crate::worker::{CloseMode, Worker};
use crate::Error;

impl<W: Worker> Executor<W> {
    /// Stops intake; queued and running works still finish. With `wait`, blocks until
    /// they have and every worker has stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = aplex_core::testing::inline_executor(2);
    /// executor.shutdown(true);
    /// assert!(executor.is_shut_down());
    /// ```
    pub fn shutdown(&self, wait: bool) {
        tracing::info!(wait, "aplex pool shutting down");
        let shared = &self.shared;
        let mut queue = shared.lock_queue();
        shared.stop_intake();
        shared.room_freed();
        if queue.pending.is_empty() {
            shared.close_workers(CloseMode::Drain);
        }
        if !wait {
            return;
        }
        while !queue.pending.is_empty() {
            queue = shared
                .emptied
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
        drop(queue);
        shared.close_workers(CloseMode::Drain);
        self.join_workers(None);
    }

    /// Like [`shutdown(true)`](Self::shutdown), but only until `deadline`: queued and
    /// running works finish if they can by then; at the deadline what is left is
    /// cancelled as by [`terminate`](Self::terminate), which waits up to `grace` more
    /// for running blocking works. Returns whether everything finished in time (the
    /// drain completed and every worker stopped by `deadline`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let executor = aplex_core::testing::inline_executor(2);
    /// assert!(executor.shutdown_until(Instant::now() + Duration::from_secs(5), Duration::ZERO));
    /// ```
    pub fn shutdown_until(&self, deadline: Instant, grace: Duration) -> bool {
        tracing::info!("aplex pool shutting down, draining until a deadline");
        let shared = &self.shared;
        let mut queue = shared.lock_queue();
        shared.stop_intake();
        shared.room_freed();
        while !queue.pending.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(queue);
                self.terminate(deadline_after(grace));
                return false;
            }
            queue = shared
                .emptied
                .wait_timeout(queue, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(queue);
        shared.close_workers(CloseMode::Drain);
        if self.wait_until_idle(deadline) && self.join_workers(Some(deadline)) {
            return true;
        }
        self.terminate(deadline_after(grace));
        false
    }

    /// Stops intake, cancels every queued work, aborts running async works and waits for
    /// every worker to stop (running blocking works are waited for).
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = aplex_core::testing::inline_executor(2);
    /// executor.shutdown_now();
    /// assert!(executor.is_shut_down());
    /// ```
    pub fn shutdown_now(&self) {
        self.cancel_everything();
        self.join_workers(None);
    }

    /// Like [`shutdown_now`](Self::shutdown_now), but stops waiting at `deadline`;
    /// returns whether every worker stopped in time.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = aplex_core::testing::inline_executor(2);
    /// assert!(executor.terminate(std::time::Instant::now()));
    /// ```
    pub fn terminate(&self, deadline: Instant) -> bool {
        self.cancel_everything();
        self.join_workers(Some(deadline))
    }

    /// Stops intake, cancels every queued work and tells the workers to abort their
    /// running async works, without waiting for anything.
    pub(crate) fn cancel_everything(&self) {
        tracing::info!("aplex pool shutting down, cancelling what is left");
        let shared = &self.shared;
        for pending in shared.take_pending(Shared::stop_intake) {
            pending.fail(Error::Cancelled);
        }
        shared.close_workers(CloseMode::Abort);
    }

    /// Waits until no worker runs a work, or `deadline` passes; returns whether they all
    /// became idle. Intake has stopped, so every finishing work signals `idled`.
    fn wait_until_idle(&self, deadline: Instant) -> bool {
        let shared = &self.shared;
        let mut queue = shared.lock_queue();
        loop {
            if self.workloads().iter().all(|&load| load == 0) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            queue = shared
                .idled
                .wait_timeout(queue, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Waits for every worker to stop (killing, at `deadline`, what a backend can kill);
    /// returns whether they all stopped in time.
    pub(crate) fn join_workers(&self, deadline: Option<Instant>) -> bool {
        let mut all = true;
        for worker in self.shared.workers() {
            all &= worker.join(deadline);
        }
        self.shared.deadlines.stop();
        all
    }
}
