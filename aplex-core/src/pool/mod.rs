//! `Pool`: the one pool type every backend shares — it owns the executor, shuts it down
//! on `Drop` within the grace period, and offers the whole user API: submitting works
//! (`submit.rs`), mapping over inputs (`map.rs`), the same from async code
//! (`asynchronous.rs`), shutting down and inspecting (here).
//!
//! A backend's pool (`ThreadAsyncPoolExecutor`, `ProcessAsyncPoolExecutor`) is a thin
//! owner of a `Pool` of its workers that dereferences to it, so the methods below are
//! called on it directly, with no trait to import. What a backend decides — which works
//! it accepts and how it ships them — is its [`Accepts`](crate::backend::Accepts)
//! implementation.

mod asynchronous;
mod map;
mod submit;

use std::fmt;
use std::time::Duration;

use crate::deadline::deadline_after;
use crate::executor::Executor;
use crate::worker::Worker;
use crate::{PoolStats, WorkerInfo};

/// A pool of workers of type `W` (threads, processes), with the API every pool has.
///
/// Made by a backend's builder (`ThreadAsyncPoolExecutor::builder()`,
/// `ProcessAsyncPoolExecutor::builder()`), whose pool dereferences to this. Dropping the
/// pool shuts it down as [`shutdown_now`](Self::shutdown_now) does; dropped on an async
/// runtime's thread, it leaves the wait for its workers to a thread of its own.
///
/// # Examples
///
/// ```
/// use aplex::{blocking, ThreadAsyncPoolExecutor};
///
/// async fn double(x: u64) -> u64 { x * 2 }
/// fn square(x: u64) -> u64 { x * x }
///
/// let pool = ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
/// assert_eq!(pool.submit(double, 21).result()?, 42);
/// assert_eq!(pool.submit(blocking(square), 7).result()?, 49);
/// pool.shutdown(true);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pool<W: Worker> {
    executor: Executor<W>,
    grace: Duration,
}

impl<W: Worker> Pool<W> {
    pub(crate) fn new(executor: Executor<W>, grace: Duration) -> Self {
        Pool { executor, grace }
    }

    pub(crate) fn executor(&self) -> &Executor<W> {
        &self.executor
    }

    /// Stops intake: new submissions fail with [`Error::ShutDown`](crate::Error::ShutDown);
    /// queued and running works still finish. With `wait`, blocks until they have and
    /// every worker has stopped. Without it, keep the pool until the works you need are
    /// done: dropping it stops what is left, as [`Drop`](#impl-Drop-for-Pool<W>) says.
    ///
    /// Inside one of this pool's own works (async or blocking), where the drain would wait
    /// for that very work, `shutdown(true)` does not wait (it logs a warning). On an
    /// async runtime's thread it blocks that thread until the drain is over, as any
    /// blocking call does: `.await` [`shutdown_async`](Self::shutdown_async) there.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let queued = pool.submit(|x: u8| async move { x }, 3);
    /// pool.shutdown(true);
    /// assert_eq!(queued.result(), Ok(3));
    /// assert_eq!(pool.submit(|x: u8| async move { x }, 3).result(), Err(aplex::Error::ShutDown));
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn shutdown(&self, wait: bool) {
        if wait && self.executor.serves_this_thread() {
            tracing::warn!(
                "aplex: shutdown(true) inside one of the pool's own works does not wait for \
                 the drain, which would wait for that work"
            );
            self.executor.shutdown(false);
            return;
        }
        self.executor.shutdown(wait);
    }

    /// Stops intake, cancels every queued work and aborts running async works; waits up
    /// to the pool's `shutdown_grace` for running blocking works, then abandons them (a
    /// worker process is killed) and their futures say [`Error::Cancelled`](crate::Error::Cancelled).
    /// On a thread that must not block, or inside one of this pool's works, the wait for
    /// the workers goes to a thread of its own and `shutdown_now` returns once every
    /// work is cancelled or aborted.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let forever = pool.submit(|()| std::future::pending::<()>(), ());
    /// pool.shutdown_now();
    /// assert_eq!(forever.result(), Err(aplex::Error::Cancelled));
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn shutdown_now(&self) {
        let deadline = deadline_after(self.grace);
        // Cancelled here, so that it is done when this returns wherever the wait goes.
        self.executor.cancel_everything();
        if !self.wait_elsewhere_if_must_not_wait(move |executor| {
            executor.join_workers(Some(deadline));
        }) {
            self.executor.join_workers(Some(deadline));
        }
    }

    /// Whether this thread must not wait for the pool's workers: it must not block at
    /// all, or it runs one of this pool's works (a blocking one, say), which the wait
    /// would wait for.
    fn must_not_wait(&self) -> bool {
        must_not_block() || self.executor.serves_this_thread()
    }

    /// On a thread that must not wait, runs `wait` on a thread of its own and returns
    /// true; else (or if no thread can be started) returns false, for the caller to wait.
    fn wait_elsewhere_if_must_not_wait(
        &self,
        wait: impl FnOnce(Executor<W>) + Send + 'static,
    ) -> bool {
        self.must_not_wait() && self.wait_elsewhere(wait)
    }

    /// Runs `wait` on a thread of its own; false if no thread can be started.
    fn wait_elsewhere(&self, wait: impl FnOnce(Executor<W>) + Send + 'static) -> bool {
        let executor = self.executor.clone();
        std::thread::Builder::new()
            .name("aplex-shutdown".into())
            .spawn(move || wait(executor))
            .is_ok()
    }

    /// Like [`shutdown(true)`](Self::shutdown), but for at most `timeout`: what is still
    /// queued or running then is stopped as by [`shutdown_now`](Self::shutdown_now) —
    /// queued works cancelled, async works aborted, and running blocking works given up
    /// to `shutdown_grace` more before they are abandoned (a worker process killed).
    /// Returns whether every work finished in time. Inside one of this pool's own works,
    /// the drain goes on, bounded as above, on a thread of its own, and this returns
    /// false at once (it could not see the works finish).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let forever = pool.submit(|()| std::future::pending::<()>(), ());
    /// assert!(!pool.shutdown_timeout(Duration::from_millis(20)));
    /// assert_eq!(forever.result(), Err(aplex::Error::Cancelled));
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn shutdown_timeout(&self, timeout: Duration) -> bool {
        let (deadline, grace) = (deadline_after(timeout), self.grace);
        if self.executor.serves_this_thread()
            && self.wait_elsewhere(move |executor| {
                executor.shutdown_until(deadline, grace);
            })
        {
            // Intake stops before this returns, as it would after the wait.
            self.executor.shutdown(false);
            return false;
        }
        self.executor.shutdown_until(deadline, grace)
    }

    /// The number of workers.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(3).build()?;
    /// assert_eq!(pool.pool_size(), 3);
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn pool_size(&self) -> usize {
        self.executor.pool_size()
    }

    /// The most works one worker runs at once (`max_works_per_worker`).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().max_works_per_worker(8).build()?;
    /// assert_eq!(pool.max_works_per_worker(), 8);
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn max_works_per_worker(&self) -> usize {
        self.executor.max_works_per_worker()
    }

    /// The most blocking works one worker runs at once (`max_blocking_works_per_worker`,
    /// default 1: a pool of N runs N CPU-bound works at a time).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().max_blocking_works_per_worker(4).build()?;
    /// assert_eq!(pool.max_blocking_works_per_worker(), 4);
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn max_blocking_works_per_worker(&self) -> usize {
        self.executor.max_blocking_works_per_worker()
    }

    /// How many works each worker runs now, by worker index.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// assert_eq!(pool.workloads(), [0, 0]);
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn workloads(&self) -> Vec<usize> {
        self.executor.workloads()
    }

    /// How many works wait in the pending queue for a worker with room.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// assert_eq!(pool.pending(), 0);
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn pending(&self) -> usize {
        self.executor.pending_len()
    }

    /// Each worker's index, name and process id.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// assert_eq!(pool.workers()[1].index, 1);
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.executor.worker_infos()
    }

    /// What each worker has done so far, and the pending queue's length.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// pool.submit(|x: u8| async move { x }, 1).result()?;
    /// assert_eq!(pool.stats().workers[0].completed, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> PoolStats {
        self.executor.stats()
    }

    /// Whether the pool was shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().build()?;
    /// pool.shutdown(false);
    /// assert!(pool.is_shut_down());
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.executor.is_shut_down()
    }

    /// Whether the pool is broken: it can no longer run works (a process pool whose
    /// workers crash faster than its crash limit allows, a thread pool whose worker's
    /// runtime itself panicked — a work's panic never breaks a pool).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().build()?;
    /// assert!(!pool.is_broken());
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn is_broken(&self) -> bool {
        self.executor.is_broken()
    }
}

impl<W: Worker> Drop for Pool<W> {
    /// Shuts the pool down as [`shutdown_now`](Self::shutdown_now) does. On a thread that
    /// must not block — one driving an async runtime's tasks, or a pool's own worker — or
    /// inside one of this pool's works, the wait for the workers (up to the grace period)
    /// is handed to a thread of its own, and `drop` returns at once.
    fn drop(&mut self) {
        let deadline = deadline_after(self.grace);
        if !self.wait_elsewhere_if_must_not_wait(move |executor| {
            executor.terminate(deadline);
        }) {
            self.executor.terminate(deadline);
        }
    }
}

impl<W: Worker> fmt::Debug for Pool<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("executor", &self.executor)
            .field("shutdown_grace", &self.grace)
            .finish()
    }
}

/// Whether this thread must not block: it drives an async runtime's tasks, or is a
/// pool's own worker (`wait.rs`).
fn must_not_block() -> bool {
    crate::wait::ensure_blocking_allowed().is_err()
}
