//! `ThreadPoolBuilder`: the settings of a thread pool, checked by `build()`.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use aplex_balance::{LoadBalancer, RoundRobin};
use aplex_core::{Error, Executor, PoolOptions};
use tokio::runtime::Runtime;

use crate::pool::ThreadAsyncPoolExecutor;
use crate::worker::ThreadWorker;

/// Builds each worker's tokio runtime (the seeds' `worker_loop_factory`).
///
/// # Examples
///
/// ```
/// use aplex_thread::RuntimeFactory;
/// use std::sync::Arc;
///
/// let factory: RuntimeFactory = Arc::new(|| tokio::runtime::Builder::new_current_thread().enable_all().build());
/// assert!(factory().is_ok());
/// ```
pub type RuntimeFactory = Arc<dyn Fn() -> io::Result<Runtime> + Send + Sync>;

/// Runs once on each worker thread before it takes works; an `Err` fails the start.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let init: aplex_thread::WorkerInitializer = Arc::new(|| Ok(()));
/// assert_eq!(init(), Ok(()));
/// ```
pub type WorkerInitializer = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// The default `worker_loop_factory`: a current-thread runtime with I/O and time.
///
/// # Examples
///
/// ```
/// let runtime = aplex_thread::default_runtime()?;
/// assert_eq!(runtime.block_on(async { 1 }), 1);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn default_runtime() -> io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Configures and builds a [`ThreadAsyncPoolExecutor`].
///
/// # Examples
///
/// ```
/// use aplex_thread::ThreadAsyncPoolExecutor;
/// use aplex_balance::Average;
///
/// let pool = ThreadAsyncPoolExecutor::builder()
///     .pool_size(2)
///     .max_works_per_worker(100)
///     .load_balancer(Average::default())
///     .build()?;
/// assert_eq!(pool.pool_size(), 2);
/// # Ok::<(), aplex_core::Error>(())
/// ```
#[must_use = "a builder does nothing until build() is called"]
pub struct ThreadPoolBuilder {
    options: PoolOptions,
    factory: RuntimeFactory,
    thread_name_prefix: String,
    initializer: Option<WorkerInitializer>,
}

impl Default for ThreadPoolBuilder {
    fn default() -> Self {
        ThreadPoolBuilder {
            options: PoolOptions::default(),
            factory: Arc::new(default_runtime),
            thread_name_prefix: "aplex-worker-".to_owned(),
            initializer: None,
        }
    }
}

impl fmt::Debug for ThreadPoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPoolBuilder")
            .field("options", &self.options)
            .field("thread_name_prefix", &self.thread_name_prefix)
            .finish_non_exhaustive()
    }
}

impl ThreadPoolBuilder {
    /// The number of worker threads (default: the number of CPUs). Must be at least 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex_thread::ThreadAsyncPoolExecutor;
    /// let pool = ThreadAsyncPoolExecutor::builder().pool_size(3).build()?;
    /// assert_eq!(pool.pool_size(), 3);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn pool_size(mut self, pool_size: usize) -> Self {
        self.options.pool_size = Some(pool_size);
        self
    }

    /// The most works one worker runs at once (default 300). Must be at least 1. More
    /// works wait in the pool's pending queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex_thread::ThreadAsyncPoolExecutor;
    /// let pool = ThreadAsyncPoolExecutor::builder().max_works_per_worker(10).build()?;
    /// assert_eq!(pool.max_works_per_worker(), 10);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn max_works_per_worker(mut self, max: usize) -> Self {
        self.options.max_works_per_worker = max;
        self
    }

    /// The balancer choosing a worker for each work (default [`RoundRobin`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex_thread::ThreadAsyncPoolExecutor;
    /// let pool = ThreadAsyncPoolExecutor::builder().load_balancer(aplex_balance::Random::default()).build()?;
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn load_balancer(mut self, balancer: impl LoadBalancer) -> Self {
        self.options.load_balancer = Some(Box::new(balancer));
        self
    }

    /// Bounds the pending queue: beyond `max` waiting works, `submit` blocks and
    /// `try_submit` fails with [`Error::QueueFull`] (default: unbounded).
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex_thread::ThreadAsyncPoolExecutor;
    /// let pool = ThreadAsyncPoolExecutor::builder().pool_size(1).max_works_per_worker(1).max_pending(1).build()?;
    /// let running = pool.submit(|()| std::future::pending::<()>(), ());
    /// let queued = pool.try_submit(|()| async {}, ()).expect("one place in the queue");
    /// let refused = pool.try_submit(|()| async {}, ()).unwrap_err();
    /// assert_eq!(refused.error, aplex_core::Error::QueueFull { capacity: 1 });
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn max_pending(mut self, max: usize) -> Self {
        self.options.max_pending = Some(max);
        self
    }

    /// How long dropping the pool waits for workers to stop (default 5 s).
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex_thread::ThreadAsyncPoolExecutor;
    /// let pool = ThreadAsyncPoolExecutor::builder().shutdown_grace(std::time::Duration::from_millis(100)).build()?;
    /// drop(pool); // stops waiting for workers after 100 ms
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.options.shutdown_grace = grace;
        self
    }

    /// The timeout of every work that does not set its own with
    /// [`WorkOptions::timeout`](aplex_core::WorkOptions::timeout) (default: none).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = aplex_thread::ThreadAsyncPoolExecutor::builder()
    ///     .pool_size(1)
    ///     .work_timeout(Duration::from_millis(20))
    ///     .build()?;
    /// let stuck = pool.submit(|()| std::future::pending::<()>(), ());
    /// assert_eq!(stuck.result(), Err(aplex_core::Error::TimedOut));
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn work_timeout(mut self, timeout: Duration) -> Self {
        self.options.work_timeout = Some(timeout);
        self
    }

    /// How each worker builds its tokio runtime (the seeds' `worker_loop_factory`);
    /// default [`default_runtime`]. Called once on each worker thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex_thread::ThreadAsyncPoolExecutor;
    ///
    /// let pool = ThreadAsyncPoolExecutor::builder()
    ///     .pool_size(1)
    ///     .worker_loop_factory(|| {
    ///         tokio::runtime::Builder::new_current_thread()
    ///             .enable_all()
    ///             .max_blocking_threads(4)
    ///             .build()
    ///     })
    ///     .build()?;
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn worker_loop_factory(
        mut self,
        factory: impl Fn() -> io::Result<Runtime> + Send + Sync + 'static,
    ) -> Self {
        self.factory = Arc::new(factory);
        self
    }

    /// Runs `init` once on each worker thread, inside its runtime's context, before the
    /// worker takes any work (for example, to set up thread-local state). If it returns
    /// `Err` or panics, `build()` fails with [`Error::WorkerStart`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// thread_local!(static READY: Cell<bool> = const { Cell::new(false) });
    ///
    /// let pool = aplex_thread::ThreadAsyncPoolExecutor::builder()
    ///     .pool_size(2)
    ///     .worker_initializer(|| {
    ///         READY.with(|ready| ready.set(true));
    ///         Ok(())
    ///     })
    ///     .build()?;
    /// assert!(pool.submit(|()| async { READY.with(Cell::get) }, ()).result()?);
    /// let failing = aplex_thread::ThreadAsyncPoolExecutor::builder().worker_initializer(|| Err("no database".into())).build();
    /// assert!(matches!(failing, Err(aplex_core::Error::WorkerStart { .. })));
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn worker_initializer(
        mut self,
        init: impl Fn() -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.initializer = Some(Arc::new(init));
        self
    }

    /// Names worker threads `{prefix}{index}` (default `aplex-worker-`).
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex_thread::ThreadAsyncPoolExecutor;
    /// let pool = ThreadAsyncPoolExecutor::builder().pool_size(1).thread_name_prefix("crawler-").build()?;
    /// assert_eq!(pool.workers()[0].name, "crawler-0");
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name_prefix = prefix.into();
        self
    }

    /// Starts the workers.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// assert_eq!(pool.workers().len(), 2);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a setting out of range (pool size 0, cap 0, bound 0);
    /// [`Error::WorkerStart`] if a thread or its runtime could not be started (the
    /// workers already started are stopped first).
    pub fn build(self) -> Result<ThreadAsyncPoolExecutor, Error> {
        let grace = self.options.shutdown_grace;
        let factory = self.factory;
        let prefix = self.thread_name_prefix;
        let initializer = self.initializer;
        let executor = Executor::start(
            self.options,
            || Box::new(RoundRobin::default()),
            |seat| ThreadWorker::spawn(seat, &prefix, Arc::clone(&factory), initializer.clone()),
        )?;
        Ok(ThreadAsyncPoolExecutor::from_executor(executor, grace))
    }
}
