//! `ThreadAsyncPoolExecutor`: the thread pool — building it, shutting it down, and what
//! it tells about itself. Submitting works is in `submit.rs`, mapping in `map.rs`.

mod map;
mod submit;

use std::fmt;
use std::time::{Duration, Instant};

use aplex_core::{Error, Executor, PoolStats, WorkerInfo};

use crate::builder::ThreadPoolBuilder;
use crate::worker::ThreadWorker;

/// A pool of worker threads, each driving its own tokio runtime, running async works
/// and blocking works (the seeds' `ThreadAsyncPoolExecutor`).
///
/// Async works (`async fn`s, closures returning futures) run as local tasks on a worker's
/// runtime, so their futures need not be `Send`. Blocking works run on that runtime's
/// blocking pool, so they never stall the worker's async works. Results come back as
/// [`WorkFuture`](aplex_core::WorkFuture)s: `.await` them on any runtime or wait with
/// [`WorkFuture::result`](aplex_core::WorkFuture::result).
///
/// Dropping the pool cancels what is left (queued works, running async works), gives
/// workers [`shutdown_grace`](ThreadPoolBuilder::shutdown_grace) to stop and joins them;
/// call [`shutdown(true)`](Self::shutdown) first to let everything finish.
///
/// # Examples
///
/// ```
/// use aplex_thread::ThreadAsyncPoolExecutor;
///
/// async fn double(x: u64) -> u64 { x * 2 }
///
/// let pool = ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
/// assert_eq!(pool.submit(double, 21).result()?, 42);
/// let doubled: Vec<u64> = pool.map(double, 0..5).collect::<Result<_, _>>()?;
/// assert_eq!(doubled, [0, 2, 4, 6, 8]);
/// pool.shutdown(true);
/// # Ok::<(), aplex_core::Error>(())
/// ```
pub struct ThreadAsyncPoolExecutor {
    executor: Executor<ThreadWorker>,
    grace: Duration,
}

impl ThreadAsyncPoolExecutor {
    /// A builder with the defaults: one worker per CPU, 300 works per worker,
    /// `RoundRobin`, a current-thread runtime per worker.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(3).build()?;
    /// assert_eq!(pool.pool_size(), 3);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn builder() -> ThreadPoolBuilder {
        ThreadPoolBuilder::default()
    }

    /// A pool with the default settings.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex_thread::ThreadAsyncPoolExecutor::new()?;
    /// assert_eq!(pool.max_works_per_worker(), 300);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::WorkerStart`] if a worker could not be started.
    pub fn new() -> Result<Self, Error> {
        Self::builder().build()
    }

    pub(crate) fn from_executor(executor: Executor<ThreadWorker>, grace: Duration) -> Self {
        ThreadAsyncPoolExecutor { executor, grace }
    }

    /// Stops accepting works. Queued and running works still finish; with `wait`, blocks
    /// until they have and every worker thread has been joined.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let future = pool.submit(|x: u8| async move { x }, 1);
    /// pool.shutdown(true);
    /// assert_eq!(future.result()?, 1);
    /// assert_eq!(pool.submit(|x: u8| async move { x }, 2).result(), Err(aplex_core::Error::ShutDown));
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn shutdown(&self, wait: bool) {
        self.executor.shutdown(wait);
    }

    /// Stops accepting works, cancels every queued work, aborts running async works and
    /// joins the workers (running blocking works are waited for, as they cannot be
    /// stopped).
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let sleeper = pool.submit(|()| tokio::time::sleep(std::time::Duration::from_secs(3600)), ());
    /// pool.shutdown_now();
    /// assert_eq!(sleeper.result(), Err(aplex_core::Error::Cancelled));
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn shutdown_now(&self) {
        self.executor.shutdown_now();
    }

    /// The number of worker threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
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
    /// let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().max_works_per_worker(8).build()?;
    /// assert_eq!(pool.max_works_per_worker(), 8);
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
    /// let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// let forever = pool.submit(|()| std::future::pending::<()>(), ());
    /// assert_eq!(pool.workloads().iter().sum::<usize>(), 1);
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
    /// let pool = aplex_thread::ThreadAsyncPoolExecutor::builder()
    ///     .pool_size(1)
    ///     .max_works_per_worker(1)
    ///     .build()?;
    /// let running = pool.submit(|()| std::future::pending::<()>(), ());
    /// let waiting = pool.submit(|()| async {}, ());
    /// assert_eq!(pool.pending(), 1);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn pending(&self) -> usize {
        self.executor.pending_len()
    }

    /// The workers (index, thread name, pid).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// let names: Vec<String> = pool.workers().into_iter().map(|w| w.name).collect();
    /// assert_eq!(names, ["aplex-worker-0", "aplex-worker-1"]);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.executor.worker_infos()
    }

    /// A snapshot of the pending queue and of each worker: workload and how many works
    /// completed, failed, panicked, were cancelled or timed out.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// pool.submit(|x: u8| async move { x }, 1).result()?;
    /// let boom = pool.submit(|()| async { panic!("boom") }, ()).result();
    /// let stats = pool.stats();
    /// assert_eq!((stats.workers[0].completed, stats.workers[0].panicked), (1, 1));
    /// assert_eq!(stats.workers[0].name, "aplex-worker-0");
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn stats(&self) -> PoolStats {
        self.executor.stats()
    }

    /// Whether the pool has been shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// assert!(!pool.is_shut_down());
    /// pool.shutdown(false);
    /// assert!(pool.is_shut_down());
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.executor.is_shut_down()
    }
}

impl Drop for ThreadAsyncPoolExecutor {
    fn drop(&mut self) {
        self.executor.terminate(Instant::now() + self.grace);
    }
}

impl fmt::Debug for ThreadAsyncPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadAsyncPoolExecutor")
            .field("executor", &self.executor)
            .finish()
    }
}
