//! `ProcessAsyncPoolExecutor`: the process pool and its typed submit/map API.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use aplex_core::{
    Admission, Chunk, Error, Executor, Map, PoolStats, Refused, WorkFuture, WorkOptions,
    WorkPromise, WorkerInfo,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::builder::ProcessPoolBuilder;
use crate::job::ProcessJob;
use crate::job::{chunk_job, encode_chunk, single_job, Retry};
use crate::registry::lookup;
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

    /// Runs the registered async work `work(args)` in a worker process.
    ///
    /// The future resolves to [`Error::UnknownWork`] if `work` is not marked
    /// `#[aplex::work]`, to [`Error::Serialization`] if `args` cannot be encoded or the
    /// output decoded, and to [`Error::ShutDown`] after shutdown.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// async fn add((a, b): (u64, u64)) -> u64 { a + b }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// assert_eq!(pool.submit(add, (2, 3)).result()?, 5);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit<F, A, Fut>(&self, work: F, args: A) -> WorkFuture<Fut::Output>
    where
        F: FnOnce(A) -> Fut + 'static,
        A: Serialize,
        Fut: Future,
        Fut::Output: DeserializeOwned + Send + 'static,
    {
        self.submit_with(work, args, WorkOptions::new())
    }

    /// Like [`submit`](Self::submit), passing `meta` to the load balancer.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// async fn id(x: u8) -> u8 { x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// assert_eq!(pool.submit_with_meta(id, 7, "any meta").result()?, 7);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_with_meta<F, A, Fut, M>(
        &self,
        work: F,
        args: A,
        meta: M,
    ) -> WorkFuture<Fut::Output>
    where
        F: FnOnce(A) -> Fut + 'static,
        A: Serialize,
        Fut: Future,
        Fut::Output: DeserializeOwned + Send + 'static,
        M: Any + Send + Sync,
    {
        self.submit_with(work, args, WorkOptions::new().meta(meta))
    }

    /// Like [`submit`](Self::submit), with per-work [`WorkOptions`]: the balancer's
    /// meta and a timeout (past it the work is aborted in its worker and its future says
    /// [`Error::TimedOut`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// use std::time::Duration;
    /// use aplex_core::{Error, WorkOptions};
    ///
    /// #[aplex::work]
    /// async fn nap(ms: u64) { tokio::time::sleep(Duration::from_millis(ms)).await }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let options = WorkOptions::new().timeout(Duration::from_millis(20));
    /// assert_eq!(pool.submit_with(nap, 60_000, options).result(), Err(Error::TimedOut));
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_with<F, A, Fut>(
        &self,
        work: F,
        args: A,
        options: WorkOptions,
    ) -> WorkFuture<Fut::Output>
    where
        F: FnOnce(A) -> Fut + 'static,
        A: Serialize,
        Fut: Future,
        Fut::Output: DeserializeOwned + Send + 'static,
    {
        drop(work);
        self.submit_work::<F, A, Fut::Output>(true, &args, options, Admission::Wait)
            .unwrap_or_else(|(_, future)| future)
    }

    /// Like [`submit_blocking`](Self::submit_blocking), with per-work [`WorkOptions`].
    /// A blocking work past its timeout is left to finish (its future says
    /// [`Error::TimedOut`] at once), unless the pool was built with
    /// [`kill_on_timeout`](ProcessPoolBuilder::kill_on_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// use aplex_core::WorkOptions;
    ///
    /// #[aplex::work]
    /// fn square(x: u64) -> u64 { x * x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// assert_eq!(pool.submit_blocking_with(square, 4, WorkOptions::new()).result()?, 16);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_blocking_with<F, A, R>(
        &self,
        work: F,
        args: A,
        options: WorkOptions,
    ) -> WorkFuture<R>
    where
        F: FnOnce(A) -> R + 'static,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        drop(work);
        self.submit_work::<F, A, R>(false, &args, options, Admission::Wait)
            .unwrap_or_else(|(_, future)| future)
    }

    /// Runs the registered plain function `work(args)` on a worker process's blocking
    /// pool. A running blocking work cannot be cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// fn square(x: u64) -> u64 { x * x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// assert_eq!(pool.submit_blocking(square, 7).result()?, 49);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_blocking<F, A, R>(&self, work: F, args: A) -> WorkFuture<R>
    where
        F: FnOnce(A) -> R + 'static,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        self.submit_blocking_with(work, args, WorkOptions::new())
    }

    /// Like [`submit_blocking`](Self::submit_blocking), passing `meta` to the balancer.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// fn square(x: u64) -> u64 { x * x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// assert_eq!(pool.submit_blocking_with_meta(square, 3, 0_usize).result()?, 9);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_blocking_with_meta<F, A, R, M>(&self, work: F, args: A, meta: M) -> WorkFuture<R>
    where
        F: FnOnce(A) -> R + 'static,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        M: Any + Send + Sync,
    {
        self.submit_blocking_with(work, args, WorkOptions::new().meta(meta))
    }

    /// Like [`submit`](Self::submit), but never waits; any refusal hands the work and its
    /// arguments back.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// async fn id(x: u8) -> u8 { x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// pool.shutdown(true);
    /// let refused = pool.try_submit(id, 4).unwrap_err();
    /// assert_eq!(refused.error, aplex_core::Error::ShutDown);
    /// assert_eq!(refused.work.1, 4);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Refused`] with [`Error::QueueFull`], [`Error::ShutDown`], [`Error::UnknownWork`]
    /// or [`Error::Serialization`], and `(work, args)`.
    #[allow(clippy::result_large_err)] // the refusal hands back the caller's own values
    pub fn try_submit<F, A, Fut>(
        &self,
        work: F,
        args: A,
    ) -> Result<WorkFuture<Fut::Output>, Refused<(F, A)>>
    where
        F: FnOnce(A) -> Fut + 'static,
        A: Serialize,
        Fut: Future,
        Fut::Output: DeserializeOwned + Send + 'static,
    {
        match self.submit_work::<F, A, Fut::Output>(
            true,
            &args,
            WorkOptions::new(),
            Admission::FailFast,
        ) {
            Ok(future) => Ok(future),
            Err((error, _)) => Err(Refused {
                error,
                work: (work, args),
            }),
        }
    }

    /// Like [`submit_blocking`](Self::submit_blocking), but never waits; see
    /// [`try_submit`](Self::try_submit).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// fn square(x: u64) -> u64 { x * x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let future = pool.try_submit_blocking(square, 5).expect("room in the queue");
    /// assert_eq!(future.result()?, 25);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`try_submit`](Self::try_submit).
    #[allow(clippy::result_large_err)] // the refusal hands back the caller's own values
    pub fn try_submit_blocking<F, A, R>(
        &self,
        work: F,
        args: A,
    ) -> Result<WorkFuture<R>, Refused<(F, A)>>
    where
        F: FnOnce(A) -> R + 'static,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        match self.submit_work::<F, A, R>(false, &args, WorkOptions::new(), Admission::FailFast) {
            Ok(future) => Ok(future),
            Err((error, _)) => Err(Refused {
                error,
                work: (work, args),
            }),
        }
    }

    /// Applies the registered async `work` to every item, in worker processes; a lazy
    /// [`Map`] as on the thread pool (chunks travel as one frame each).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// async fn double(x: u64) -> u64 { x * 2 }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// let doubled: Vec<u64> = pool.map(double, 0..100).chunksize(10).collect::<Result<_, _>>()?;
    /// assert_eq!(doubled[99], 198);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn map<'a, F, I, Fut>(&self, work: F, items: I) -> Map<'a, I::Item, Fut::Output>
    where
        F: Fn(I::Item) -> Fut + 'static,
        I: IntoIterator,
        I::IntoIter: Send + 'a,
        I::Item: Serialize + 'a,
        Fut: Future,
        Fut::Output: DeserializeOwned + Send + 'static,
    {
        drop(work);
        self.map_work::<F, I, Fut::Output>(true, items)
    }

    /// Applies the registered plain function `work` to every item, in worker processes'
    /// blocking pools; otherwise as [`map`](Self::map).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// fn square(x: u64) -> u64 { x * x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// let squares: Vec<u64> = pool.map_blocking(square, 1..=3).collect::<Result<_, _>>()?;
    /// assert_eq!(squares, [1, 4, 9]);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn map_blocking<'a, F, I, R>(&self, work: F, items: I) -> Map<'a, I::Item, R>
    where
        F: Fn(I::Item) -> R + 'static,
        I: IntoIterator,
        I::IntoIter: Send + 'a,
        I::Item: Serialize + 'a,
        R: DeserializeOwned + Send + 'static,
    {
        drop(work);
        self.map_work::<F, I, R>(false, items)
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

    fn default_window(&self) -> usize {
        self.pool_size()
            .saturating_mul(self.max_works_per_worker())
            .max(1)
    }

    fn submit_work<F, A: Serialize, T: DeserializeOwned + Send + 'static>(
        &self,
        want_async: bool,
        args: &A,
        options: WorkOptions,
        admission: Admission,
    ) -> Result<WorkFuture<T>, (Error, WorkFuture<T>)> {
        let prepared = lookup::<F>(want_async).and_then(|(index, name)| {
            let (bytes, mut failed) = encode_chunk(std::slice::from_ref(args), name);
            match failed.pop() {
                Some((_, error)) => Err(error),
                None => Ok((index, name, bytes)),
            }
        });
        let (index, name, bytes) = match prepared {
            Ok(prepared) => prepared,
            Err(error) => return Err((error.clone(), WorkFuture::failed(error))),
        };
        let retry = Retry::new(&self.executor, &options, &bytes);
        submit_to(&self.executor, options, admission, want_async, |promise| {
            single_job(index, name, bytes, promise, retry, !want_async)
        })
    }

    fn map_work<'a, F, I, T>(&self, want_async: bool, items: I) -> Map<'a, I::Item, T>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'a,
        I::Item: Serialize + 'a,
        T: DeserializeOwned + Send + 'static,
    {
        let target = lookup::<F>(want_async);
        let executor = self.executor.clone();
        let flusher = self.executor.clone();
        Map::new(
            items.into_iter(),
            self.default_window(),
            Box::new(move |chunk: Chunk<I::Item>, options| {
                let (index, name) = match &target {
                    Ok(target) => *target,
                    Err(error) => return WorkFuture::failed(error.clone()),
                };
                let (encoded, failed) = encode_chunk(chunk.as_slice(), name);
                if failed.len() == chunk.len() {
                    // Nothing to send: each item fails with its own error.
                    let errors = failed.into_iter().map(|(_, error)| Err(error));
                    let (promise, future) = WorkFuture::pair(want_async);
                    promise.complete(Ok(errors.collect()));
                    return future;
                }
                let expected = chunk.len() - failed.len();
                let (promise, mut future) = WorkFuture::chunk_pair(want_async, chunk.len());
                let retry = Retry::new(&executor, &options, &encoded);
                let blocking = !want_async;
                let job = || {
                    chunk_job(
                        index, name, encoded, expected, promise, retry, blocking, failed,
                    )
                };
                let _ = executor.submit_staged(&mut future, options, Admission::Wait, job);
                future
            }),
            Box::new(move || flusher.flush()),
        )
    }
}

fn submit_to<T: Send + 'static>(
    executor: &Executor<ProcessWorker>,
    options: WorkOptions,
    admission: Admission,
    abortable: bool,
    make: impl FnOnce(WorkPromise<T>) -> ProcessJob,
) -> Result<WorkFuture<T>, (Error, WorkFuture<T>)> {
    let (promise, mut future) = WorkFuture::pair(abortable);
    match executor.submit(&mut future, options, admission, move || make(promise)) {
        Ok(()) => Ok(future),
        Err(error) => Err((error, future)),
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
