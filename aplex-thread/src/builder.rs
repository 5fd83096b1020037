//! `ThreadPoolBuilder`: the settings of a thread pool, checked by `build()`.

use std::fmt;
use std::io;
use std::sync::Arc;

use aplex_balance::RoundRobin;
use aplex_core::backend::{new_pool, Executor, PoolOptions};
use aplex_core::BuildError;
use tokio::runtime::Runtime;

use crate::pool::ThreadAsyncPoolExecutor;
use crate::runtime::{default_runtime, RuntimeFactory, StateMaker, WorkerInitializer};
use crate::worker::{ThreadWorker, WorkerSetup};

/// Configures and builds a [`ThreadAsyncPoolExecutor`].
///
/// # Examples
///
/// ```
/// use aplex::ThreadAsyncPoolExecutor;
/// use aplex_balance::Average;
///
/// let pool = ThreadAsyncPoolExecutor::builder()
///     .pool_size(2)
///     .max_works_per_worker(100)
///     .load_balancer(Average::default())
///     .build()?;
/// assert_eq!(pool.pool_size(), 2);
/// # Ok::<(), aplex::BuildError>(())
/// ```
#[must_use = "a builder does nothing until build() is called"]
pub struct ThreadPoolBuilder {
    options: PoolOptions,
    factory: RuntimeFactory,
    thread_name_prefix: String,
    initializer: Option<WorkerInitializer>,
    state: Option<StateMaker>,
}

impl Default for ThreadPoolBuilder {
    fn default() -> Self {
        ThreadPoolBuilder {
            options: PoolOptions::default(),
            factory: Arc::new(default_runtime),
            thread_name_prefix: "aplex-worker-".to_owned(),
            initializer: None,
            state: None,
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
    aplex_core::backend::pool_settings!("aplex::ThreadAsyncPoolExecutor");

    /// How each worker builds its tokio runtime (Python aplex's `worker_loop_factory`);
    /// default [`default_runtime`]. Called once on each worker thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::ThreadAsyncPoolExecutor;
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
    /// # Ok::<(), aplex::BuildError>(())
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
    /// `Err` or panics, `build()` fails with a [`BuildError`] naming the worker.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// thread_local!(static READY: Cell<bool> = const { Cell::new(false) });
    ///
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder()
    ///     .pool_size(2)
    ///     .worker_initializer(|| {
    ///         READY.with(|ready| ready.set(true));
    ///         Ok(())
    ///     })
    ///     .build()?;
    /// assert!(pool.submit(|()| async { READY.with(Cell::get) }, ()).result().unwrap());
    /// let failing = aplex::ThreadAsyncPoolExecutor::builder().worker_initializer(|| Err("no database".into())).build();
    /// assert_eq!(failing.unwrap_err().worker(), Some(0));
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn worker_initializer(
        mut self,
        init: impl Fn() -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.initializer = Some(Arc::new(init));
        self
    }

    /// Makes each worker's state with `make(worker_index)`, once, on the worker's thread
    /// inside its runtime, before the worker takes any work: a connection, a loaded model,
    /// a cache. Every work on that worker, async or blocking, reaches it with
    /// [`aplex::worker_state::<S>()`](aplex_core::worker_state). If `make` returns `Err`
    /// or panics, `build()` fails with a [`BuildError`] naming the worker.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use aplex::{blocking, worker_state};
    ///
    /// /// A per-worker cache of lookups.
    /// struct Cache { worker: usize, hits: AtomicUsize }
    ///
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder()
    ///     .pool_size(1)
    ///     .worker_state(|worker| Ok(Cache { worker, hits: AtomicUsize::new(0) }))
    ///     .build()?;
    /// let hit = |()| {
    ///     let cache = worker_state::<Cache>().expect("every worker has one");
    ///     cache.hits.fetch_add(1, Ordering::SeqCst) + 1
    /// };
    /// assert_eq!(pool.submit(blocking(hit), ()).result()?, 1);
    /// assert_eq!(pool.submit(blocking(hit), ()).result()?, 2);
    /// let worker = pool.submit(|()| async { worker_state::<Cache>().map(|cache| cache.worker) }, ());
    /// assert_eq!(worker.result()?, Some(0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn worker_state<S>(
        mut self,
        make: impl Fn(usize) -> Result<S, String> + Send + Sync + 'static,
    ) -> Self
    where
        S: Send + Sync + 'static,
    {
        self.state = Some(Arc::new(move |index| {
            make(index).map(|state| Arc::new(state) as aplex_core::backend::WorkerStateValue)
        }));
        self
    }

    /// Names worker threads `{prefix}{index}` (default `aplex-worker-`).
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::ThreadAsyncPoolExecutor;
    /// let pool = ThreadAsyncPoolExecutor::builder().pool_size(1).thread_name_prefix("crawler-").build()?;
    /// assert_eq!(pool.workers()[0].name, "crawler-0");
    /// # Ok::<(), aplex::BuildError>(())
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
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// assert_eq!(pool.workers().len(), 2);
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`BuildError`] for a setting out of range (pool size 0, cap 0, bound 0), or
    /// naming the worker whose thread, runtime or initializer failed (the workers
    /// already started are stopped first).
    pub fn build(self) -> Result<ThreadAsyncPoolExecutor, BuildError> {
        let grace = self.options.shutdown_grace;
        let factory = self.factory;
        let prefix = self.thread_name_prefix;
        let initializer = self.initializer;
        let state = self.state;
        let blocking_limit = self.options.max_blocking_works_per_worker;
        let executor = Executor::start(
            self.options,
            || Box::new(RoundRobin::default()),
            |seat| {
                let setup = WorkerSetup {
                    name_prefix: &prefix,
                    factory: Arc::clone(&factory),
                    initializer: initializer.clone(),
                    state: state.clone(),
                    blocking_limit,
                };
                ThreadWorker::spawn(seat, setup)
            },
        )?;
        Ok(ThreadAsyncPoolExecutor::from_pool(new_pool(
            executor, grace,
        )))
    }
}
