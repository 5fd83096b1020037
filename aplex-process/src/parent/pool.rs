//! `ProcessAsyncPoolExecutor`: the process pool, an owner of a [`Pool`] of worker-process
//! slots that dereferences to it for the whole pool API, plus what only processes have
//! (pids, restarts, recycles).

use std::fmt;
use std::ops::Deref;

use aplex_core::backend::executor_of;
use aplex_core::{BuildError, Pool};

use crate::parent::builder::ProcessPoolBuilder;
use crate::parent::worker::ProcessWorker;

/// A pool of worker processes, each driving its own tokio runtime, running registered
/// async and blocking works (Python aplex's `ProcessAsyncPoolExecutor`).
///
/// Works are functions marked `#[aplex::work]`; they travel by name, and their argument
/// and output travel as serde values. Each worker is a child process running this same
/// executable, which turns into a worker before `main` (see the crate docs). A worker
/// that dies fails only its own in-flight works with
/// [`Error::WorkerCrashed`](aplex_core::Error::WorkerCrashed) and is replaced; too many
/// crashes too fast break the pool ([`Error::PoolBroken`](aplex_core::Error::PoolBroken)).
///
/// The pool API — `submit`, `submit_with`, `try_submit`, `map`, shutting down, stats —
/// is [`Pool`]'s, which this dereferences to. Dropping the pool cancels what is left,
/// gives workers [`shutdown_grace`](ProcessPoolBuilder::shutdown_grace) to exit, kills
/// any that remain and reaps them all.
///
/// # Examples
///
/// ```
/// # extern crate aplex_facade as aplex;
/// use aplex::{blocking, ProcessAsyncPoolExecutor};
///
/// #[aplex::work]
/// async fn double(x: u64) -> u64 { x * 2 }
///
/// #[aplex::work]
/// fn whoami(_: ()) -> u32 { std::process::id() }
///
/// let pool = ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
/// assert_eq!(pool.submit(double, 21).result()?, 42);
/// assert_ne!(pool.submit(blocking(whoami), ()).result()?, std::process::id());
/// pool.shutdown(true);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ProcessAsyncPoolExecutor {
    pool: Pool<ProcessWorker>,
}

impl ProcessAsyncPoolExecutor {
    /// A builder with the defaults: one worker per CPU, 300 works per worker,
    /// `RoundRobin`, a current-thread runtime per worker.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_facade as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// assert_eq!(pool.pool_size(), 1);
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn builder() -> ProcessPoolBuilder {
        ProcessPoolBuilder::default()
    }

    /// A pool with the default settings.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] if a worker process could not start.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_facade as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::new()?;
    /// assert_eq!(pool.max_works_per_worker(), 300);
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn new() -> Result<Self, BuildError> {
        Self::builder().build()
    }

    pub(crate) fn from_pool(pool: Pool<ProcessWorker>) -> Self {
        ProcessAsyncPoolExecutor { pool }
    }

    /// The pid of each worker process now, by index (`None` while one is being replaced
    /// or after shutdown).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_facade as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// let pids = pool.worker_pids();
    /// assert!(pids.iter().all(|pid| pid.is_some_and(|pid| pid != std::process::id())));
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn worker_pids(&self) -> Vec<Option<u32>> {
        self.slots().iter().map(ProcessWorker::pid).collect()
    }

    /// How many times each worker process has been replaced after dying, by index.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_facade as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// assert_eq!(pool.restarts(), [0, 0]);
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn restarts(&self) -> Vec<u64> {
        self.slots().iter().map(ProcessWorker::restarts).collect()
    }

    /// How many times each worker process has been replaced after reaching
    /// [`max_works_per_child`](ProcessPoolBuilder::max_works_per_child), by index.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_facade as aplex;
    /// #[aplex::work]
    /// async fn id(x: u8) -> u8 { x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).max_works_per_child(2).build()?;
    /// for x in 0..5 {
    ///     assert_eq!(pool.submit(id, x).result()?, x);
    /// }
    /// // The fifth work went to the third process; the second recycle may still be under way.
    /// assert!(pool.recycles()[0] >= 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recycles(&self) -> Vec<u64> {
        self.slots().iter().map(ProcessWorker::recycles).collect()
    }

    fn slots(&self) -> &[ProcessWorker] {
        executor_of(&self.pool).workers()
    }
}

impl Deref for ProcessAsyncPoolExecutor {
    type Target = Pool<ProcessWorker>;

    fn deref(&self) -> &Pool<ProcessWorker> {
        &self.pool
    }
}

impl fmt::Debug for ProcessAsyncPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ProcessAsyncPoolExecutor")
            .field(&self.pool)
            .finish()
    }
}
