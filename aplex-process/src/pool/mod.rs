//! `ProcessAsyncPoolExecutor`: the process pool — building it, shutting it down, and
//! what it tells about itself. Submitting works is in `submit.rs`, mapping in `map.rs`.

mod map;
mod submit;

use std::fmt;
use std::time::{Duration, Instant};

use aplex_core::{Error, Executor, PoolStats, WorkerInfo};

use crate::builder::ProcessPoolBuilder;
use crate::worker::ProcessWorker;

/// A pool of worker processes, each driving its own tokio runtime, running registered
/// async and blocking works (the seeds' `ProcessAsyncPoolExecutor`).
///
/// Works are functions marked `#[aplex::work]`; they travel by name, and their argument
/// and output travel as serde values. Each worker is a child process running this same
/// executable, which turns into a worker before `main` (see the crate docs). A worker
/// that dies fails only its own in-flight works with [`Error::WorkerCrashed`] and is
/// replaced; too many crashes too fast break the pool ([`Error::PoolBroken`]).
///
/// Dropping the pool cancels what is left, gives workers
/// [`shutdown_grace`](ProcessPoolBuilder::shutdown_grace) to exit, kills any that remain
/// and reaps them all.
///
/// # Examples
///
/// ```
/// # extern crate aplex_process as aplex;
/// use aplex::ProcessAsyncPoolExecutor;
///
/// #[aplex::work]
/// async fn double(x: u64) -> u64 { x * 2 }
///
/// let pool = ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
/// assert_eq!(pool.submit(double, 21).result()?, 42);
/// pool.shutdown(true);
/// # Ok::<(), aplex_core::Error>(())
/// ```
pub struct ProcessAsyncPoolExecutor {
    executor: Executor<ProcessWorker>,
    grace: Duration,
}

impl ProcessAsyncPoolExecutor {
    /// A builder with the defaults: one worker per CPU, 300 works per worker,
    /// `RoundRobin`, a current-thread runtime per worker.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// assert_eq!(pool.pool_size(), 1);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn builder() -> ProcessPoolBuilder {
        ProcessPoolBuilder::default()
    }

    /// A pool with the default settings.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::new()?;
    /// assert_eq!(pool.max_works_per_worker(), 300);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::WorkerStart`] if a worker process could not start.
    pub fn new() -> Result<Self, Error> {
        Self::builder().build()
    }

    pub(crate) fn from_executor(executor: Executor<ProcessWorker>, grace: Duration) -> Self {
        ProcessAsyncPoolExecutor { executor, grace }
    }

    /// Stops accepting works; queued and running works still finish. With `wait`, blocks
    /// until they have and every worker process has exited and been reaped.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// async fn id(x: u8) -> u8 { x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let future = pool.submit(id, 1);
    /// pool.shutdown(true);
    /// assert_eq!(future.result()?, 1);
    /// assert_eq!(pool.worker_pids(), [None]);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn shutdown(&self, wait: bool) {
        self.executor.shutdown(wait);
    }

    /// Stops accepting works, cancels queued works, aborts running async works, and waits
    /// at most [`shutdown_grace`](ProcessPoolBuilder::shutdown_grace) for every worker
    /// process to exit; a worker still busy then (a blocking work cannot be aborted) is
    /// killed. Every worker is reaped before this returns.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// async fn nap(seconds: u64) { tokio::time::sleep(std::time::Duration::from_secs(seconds)).await }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let napping = pool.submit(nap, 3600);
    /// pool.shutdown_now();
    /// assert_eq!(napping.result(), Err(aplex_core::Error::Cancelled));
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn shutdown_now(&self) {
        self.executor.terminate(Instant::now() + self.grace);
    }

    /// Like [`shutdown(true)`](Self::shutdown), but waits at most `timeout`: queued and
    /// running works that finish by then finish; what is left is cancelled, and worker
    /// processes still busy are killed. Every worker is reaped before this returns.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// use std::time::Duration;
    ///
    /// #[aplex::work]
    /// async fn nap(ms: u64) -> u64 { tokio::time::sleep(Duration::from_millis(ms)).await; ms }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let quick = pool.submit(nap, 1);
    /// let slow = pool.submit(nap, 3_600_000);
    /// pool.shutdown_timeout(Duration::from_millis(200));
    /// assert_eq!(quick.result()?, 1);
    /// assert_eq!(slow.result(), Err(aplex_core::Error::Cancelled));
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn shutdown_timeout(&self, timeout: Duration) {
        self.executor.shutdown_until(Instant::now() + timeout);
    }

    /// The number of worker processes.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// assert_eq!(pool.pool_size(), 2);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn pool_size(&self) -> usize {
        self.executor.pool_size()
    }

    /// The most works one worker runs at once.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).max_works_per_worker(5).build()?;
    /// assert_eq!(pool.max_works_per_worker(), 5);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn max_works_per_worker(&self) -> usize {
        self.executor.max_works_per_worker()
    }

    /// Each worker's current number of works, by index.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// assert_eq!(pool.workloads(), [0, 0]);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn workloads(&self) -> Vec<usize> {
        self.executor.workloads()
    }

    /// The number of works waiting for a free worker (queued works that were cancelled
    /// are not counted).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// assert_eq!(pool.pending(), 0);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn pending(&self) -> usize {
        self.executor.pending_len()
    }

    /// The workers as they started (index, name, first pid).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// let names: Vec<String> = pool.workers().into_iter().map(|w| w.name).collect();
    /// assert_eq!(names, ["aplex-worker-0", "aplex-worker-1"]);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.executor.worker_infos()
    }

    /// The pid of each worker process now, by index (`None` while one is being replaced
    /// or after shutdown).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// let pids = pool.worker_pids();
    /// assert!(pids.iter().all(|pid| pid.is_some_and(|pid| pid != std::process::id())));
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn worker_pids(&self) -> Vec<Option<u32>> {
        self.executor
            .workers()
            .iter()
            .map(ProcessWorker::pid)
            .collect()
    }

    /// How many times each worker process has been replaced after dying, by index.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// assert_eq!(pool.restarts(), [0, 0]);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn restarts(&self) -> Vec<u64> {
        self.executor
            .workers()
            .iter()
            .map(ProcessWorker::restarts)
            .collect()
    }

    /// How many times each worker process has been replaced after reaching
    /// [`max_works_per_child`](ProcessPoolBuilder::max_works_per_child), by index.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// async fn id(x: u8) -> u8 { x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).max_works_per_child(2).build()?;
    /// for x in 0..5 {
    ///     assert_eq!(pool.submit(id, x).result()?, x);
    /// }
    /// # // The fifth work went to the third process; the second recycle may still be under way.
    /// assert!(pool.recycles()[0] >= 1);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn recycles(&self) -> Vec<u64> {
        self.executor
            .workers()
            .iter()
            .map(ProcessWorker::recycles)
            .collect()
    }

    /// A snapshot of the pending queue and of each worker: its current pid, workload,
    /// how many works completed, failed, panicked, were cancelled, timed out or died
    /// with it, and how often its process was replaced (crashes, recycles).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// async fn id(x: u8) -> u8 { x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// pool.submit(id, 1).result()?;
    /// let stats = pool.stats();
    /// assert_eq!(stats.workers[0].completed, 1);
    /// assert_eq!(stats.workers[0].pid, pool.worker_pids()[0]);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn stats(&self) -> PoolStats {
        let mut stats = self.executor.stats();
        for (worker, slot) in stats.workers.iter_mut().zip(self.executor.workers()) {
            worker.pid = slot.pid();
            worker.restarts = slot.restarts();
            worker.recycles = slot.recycles();
        }
        stats
    }

    /// Whether the pool has been shut down (or broken).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// pool.shutdown(false);
    /// assert!(pool.is_shut_down());
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.executor.is_shut_down()
    }

    /// Whether the pool gave up because its workers crashed too often.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// assert!(!pool.is_broken());
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn is_broken(&self) -> bool {
        self.executor.is_broken()
    }
}

impl Drop for ProcessAsyncPoolExecutor {
    fn drop(&mut self) {
        self.executor.terminate(Instant::now() + self.grace);
    }
}

impl fmt::Debug for ProcessAsyncPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessAsyncPoolExecutor")
            .field("executor", &self.executor)
            .finish()
    }
}
