//! `ThreadAsyncPoolExecutor`: the thread pool and its typed submit/map API.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aplex_core::{
    Admission, ChunkResults, Error, Executor, Map, PoolStats, Refused, WorkFuture, WorkOptions,
    WorkPromise, WorkerInfo,
};

use crate::builder::ThreadPoolBuilder;
use crate::job::{async_chunk_job, async_job, blocking_chunk_job, blocking_job, ThreadJob};
use crate::worker::ThreadWorker;

/// A pool of worker threads, each driving its own tokio runtime, running async works
/// and blocking works (the seeds' `ThreadAsyncPoolExecutor`).
///
/// Async works (`async fn`s, closures returning futures) run as local tasks on a worker's
/// runtime, so their futures need not be `Send`. Blocking works run on that runtime's
/// blocking pool, so they never stall the worker's async works. Results come back as
/// [`WorkFuture`]s: `.await` them on any runtime or wait with [`WorkFuture::result`].
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

    /// Runs the async work `work(args)` on a worker and returns its future.
    ///
    /// Several arguments travel as a tuple: `pool.submit(|(a, b)| async move { a + b }, (1, 2))`.
    /// If the pool is shut down, the future resolves to [`Error::ShutDown`]. When the
    /// pending queue is bounded and full, this waits for room.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// async fn double(x: u64) -> u64 { x * 2 }
    ///
    /// let future = pool.submit(double, 21);
    /// assert_eq!(future.result()?, 42);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit<F, A, Fut>(&self, work: F, args: A) -> WorkFuture<Fut::Output>
    where
        F: FnOnce(A) -> Fut + Send + 'static,
        A: Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        self.submit_with(work, args, WorkOptions::new())
    }

    /// Like [`submit`](Self::submit), passing `meta` to the load balancer (the seeds'
    /// `load_balancing_meta`).
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let future = pool.submit_with_meta(|x: u32| async move { x + 1 }, 1, "high-priority");
    /// assert_eq!(future.result()?, 2);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_with_meta<F, A, Fut, M>(
        &self,
        work: F,
        args: A,
        meta: M,
    ) -> WorkFuture<Fut::Output>
    where
        F: FnOnce(A) -> Fut + Send + 'static,
        A: Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
        M: Any + Send + Sync,
    {
        self.submit_with(work, args, WorkOptions::new().meta(meta))
    }

    /// Like [`submit`](Self::submit), with per-work [`WorkOptions`]: the balancer's
    /// meta and a timeout (past it the work is aborted and its future says
    /// [`Error::TimedOut`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use aplex_core::{Error, WorkOptions};
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    ///
    /// let stuck = pool.submit_with(
    ///     |()| std::future::pending::<()>(),
    ///     (),
    ///     WorkOptions::new().timeout(Duration::from_millis(20)),
    /// );
    /// assert_eq!(stuck.result(), Err(Error::TimedOut));
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_with<F, A, Fut>(
        &self,
        work: F,
        args: A,
        options: WorkOptions,
    ) -> WorkFuture<Fut::Output>
    where
        F: FnOnce(A) -> Fut + Send + 'static,
        A: Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        self.submit_job(options, Admission::Wait, true, |promise| {
            async_job(work, args, promise)
        })
        .unwrap_or_else(|(_, future)| future)
    }

    /// Like [`submit_blocking`](Self::submit_blocking), with per-work [`WorkOptions`].
    /// A blocking work past its timeout cannot be stopped: its future says
    /// [`Error::TimedOut`] and the work is left to finish (its slot stays taken until
    /// then).
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex_core::WorkOptions;
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    ///
    /// let future = pool.submit_blocking_with(|x: u8| x + 1, 1, WorkOptions::new().meta("any"));
    /// assert_eq!(future.result()?, 2);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_blocking_with<F, A, R>(
        &self,
        work: F,
        args: A,
        options: WorkOptions,
    ) -> WorkFuture<R>
    where
        F: FnOnce(A) -> R + Send + 'static,
        A: Send + 'static,
        R: Send + 'static,
    {
        self.submit_job(options, Admission::Wait, false, |promise| {
            blocking_job(work, args, promise)
        })
        .unwrap_or_else(|(_, future)| future)
    }

    /// Runs the plain function `work(args)` on a worker runtime's blocking pool and
    /// returns its future. A running blocking work cannot be cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// fn square(x: u64) -> u64 { x * x }
    ///
    /// assert_eq!(pool.submit_blocking(square, 7).result()?, 49);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_blocking<F, A, R>(&self, work: F, args: A) -> WorkFuture<R>
    where
        F: FnOnce(A) -> R + Send + 'static,
        A: Send + 'static,
        R: Send + 'static,
    {
        self.submit_blocking_with(work, args, WorkOptions::new())
    }

    /// Like [`submit_blocking`](Self::submit_blocking), passing `meta` to the balancer.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let future = pool.submit_blocking_with_meta(|x: u32| x * 3, 3, 0_usize);
    /// assert_eq!(future.result()?, 9);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_blocking_with_meta<F, A, R, M>(&self, work: F, args: A, meta: M) -> WorkFuture<R>
    where
        F: FnOnce(A) -> R + Send + 'static,
        A: Send + 'static,
        R: Send + 'static,
        M: Any + Send + Sync,
    {
        self.submit_blocking_with(work, args, WorkOptions::new().meta(meta))
    }

    /// Like [`submit`](Self::submit), but never waits: if the bounded pending queue is
    /// full or the pool is shut down, the work and its arguments are handed back.
    ///
    /// # Errors
    ///
    /// [`Refused`] carrying [`Error::QueueFull`] or [`Error::ShutDown`] and `(work, args)`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// pool.shutdown(true);
    /// let refused = pool.try_submit(|x: u8| async move { x }, 5).unwrap_err();
    /// assert_eq!(refused.error, aplex_core::Error::ShutDown);
    /// let (_work, args) = refused.work;
    /// assert_eq!(args, 5);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    #[allow(clippy::result_large_err)] // the refusal hands back the caller's own values
    pub fn try_submit<F, A, Fut>(
        &self,
        work: F,
        args: A,
    ) -> Result<WorkFuture<Fut::Output>, Refused<(F, A)>>
    where
        F: FnOnce(A) -> Fut + Send + 'static,
        A: Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let mut parts = Some((work, args));
        let submitted = self.submit_job(WorkOptions::new(), Admission::FailFast, true, |promise| {
            let (work, args) = parts.take().expect("the job is built once");
            async_job(work, args, promise)
        });
        refuse_with(submitted, parts)
    }

    /// Like [`submit_blocking`](Self::submit_blocking), but never waits; see
    /// [`try_submit`](Self::try_submit).
    ///
    /// # Errors
    ///
    /// [`Refused`] carrying [`Error::QueueFull`] or [`Error::ShutDown`] and `(work, args)`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let future = pool.try_submit_blocking(|x: u8| x + 1, 1).expect("room in the queue");
    /// assert_eq!(future.result()?, 2);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    #[allow(clippy::result_large_err)] // the refusal hands back the caller's own values
    pub fn try_submit_blocking<F, A, R>(
        &self,
        work: F,
        args: A,
    ) -> Result<WorkFuture<R>, Refused<(F, A)>>
    where
        F: FnOnce(A) -> R + Send + 'static,
        A: Send + 'static,
        R: Send + 'static,
    {
        let mut parts = Some((work, args));
        let submitted =
            self.submit_job(WorkOptions::new(), Admission::FailFast, false, |promise| {
                let (work, args) = parts.take().expect("the job is built once");
                blocking_job(work, args, promise)
            });
        refuse_with(submitted, parts)
    }

    /// Applies the async `work` to every item of `items`, like `concurrent.futures`' map.
    ///
    /// Returns a lazy [`Map`]: set `chunksize`, `timeout`, `meta`, `window` or
    /// `unordered` on it, then iterate it (blocking) or call `into_stream()`. Results
    /// come in input order by default; the first error ends the map and cancels the rest.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// async fn double(x: u64) -> u64 { x * 2 }
    ///
    /// let doubled: Vec<u64> = pool
    ///     .map(double, 0..1000)
    ///     .chunksize(64)
    ///     .timeout(Duration::from_secs(30))
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(doubled[999], 1998);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn map<'a, F, I, Fut>(&self, work: F, items: I) -> Map<'a, I::Item, Fut::Output>
    where
        F: Fn(I::Item) -> Fut + Send + Sync + 'static,
        I: IntoIterator,
        I::IntoIter: Send + 'a,
        I::Item: Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let work = Arc::new(work);
        let executor = self.executor.clone();
        let flusher = self.executor.clone();
        Map::new(
            items.into_iter(),
            self.default_window(),
            Box::new(move |chunk, options| {
                let work = Arc::clone(&work);
                submit_chunk(&executor, options, true, chunk.len(), |promise| {
                    async_chunk_job(work, chunk, promise)
                })
            }),
            Box::new(move || flusher.flush()),
        )
    }

    /// Applies the plain function `work` to every item of `items` on the workers'
    /// blocking pools; otherwise as [`map`](Self::map).
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// let squares: Vec<u64> = pool
    ///     .map_blocking(|x: u64| x * x, 1..=4)
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(squares, [1, 4, 9, 16]);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn map_blocking<'a, F, I, R>(&self, work: F, items: I) -> Map<'a, I::Item, R>
    where
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        I: IntoIterator,
        I::IntoIter: Send + 'a,
        I::Item: Send + 'static,
        R: Send + 'static,
    {
        let work = Arc::new(work);
        let executor = self.executor.clone();
        let flusher = self.executor.clone();
        Map::new(
            items.into_iter(),
            self.default_window(),
            Box::new(move |chunk, options| {
                let work = Arc::clone(&work);
                submit_chunk(&executor, options, false, chunk.len(), |promise| {
                    blocking_chunk_job(work, chunk, promise)
                })
            }),
            Box::new(move || flusher.flush()),
        )
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

    fn default_window(&self) -> usize {
        self.pool_size()
            .saturating_mul(self.max_works_per_worker())
            .max(1)
    }

    fn submit_job<T: Send + 'static>(
        &self,
        options: WorkOptions,
        admission: Admission,
        abortable: bool,
        make: impl FnOnce(WorkPromise<T>) -> ThreadJob,
    ) -> Result<WorkFuture<T>, (Error, WorkFuture<T>)> {
        submit_to(&self.executor, options, admission, abortable, make)
    }
}

fn submit_to<T: Send + 'static>(
    executor: &Executor<ThreadWorker>,
    options: WorkOptions,
    admission: Admission,
    abortable: bool,
    make: impl FnOnce(WorkPromise<T>) -> ThreadJob,
) -> Result<WorkFuture<T>, (Error, WorkFuture<T>)> {
    let (promise, mut future) = WorkFuture::pair(abortable);
    match executor.submit(&mut future, options, admission, move || make(promise)) {
        Ok(()) => Ok(future),
        Err(error) => Err((error, future)),
    }
}

/// Submits one map chunk, staged until the map flushes its burst.
fn submit_chunk<T: Send + 'static>(
    executor: &Executor<ThreadWorker>,
    options: WorkOptions,
    abortable: bool,
    items: usize,
    make: impl FnOnce(WorkPromise<ChunkResults<T>>) -> ThreadJob,
) -> WorkFuture<ChunkResults<T>> {
    let (promise, mut future) = WorkFuture::chunk_pair(abortable, items);
    let _ = executor.submit_staged(&mut future, options, Admission::Wait, move || make(promise));
    future
}

#[allow(clippy::result_large_err)] // the refusal hands back the caller's own values
fn refuse_with<T, P>(
    submitted: Result<WorkFuture<T>, (Error, WorkFuture<T>)>,
    parts: Option<P>,
) -> Result<WorkFuture<T>, Refused<P>> {
    match (submitted, parts) {
        (Ok(future), _) => Ok(future),
        (Err((error, _)), Some(work)) => Err(Refused { error, work }),
        (Err((_, future)), None) => Ok(future),
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
