//! `ThreadAsyncPoolExecutor`: the thread pool, an owner of a [`Pool`] of worker threads
//! that dereferences to it for the whole pool API.

use std::fmt;
use std::ops::Deref;

use aplex_core::{BuildError, Pool};

use crate::builder::ThreadPoolBuilder;
use crate::worker::ThreadWorker;

/// A pool of worker threads, each driving its own tokio runtime, running async works
/// and blocking works (Python aplex's `ThreadAsyncPoolExecutor`).
///
/// Async works (`async fn`s, closures returning futures) run as tasks on a worker's
/// runtime. Their futures must be `Send` (a worker whose runtime is multi-threaded,
/// from [`worker_loop_factory`](ThreadPoolBuilder::worker_loop_factory), runs them on
/// any of its threads, in parallel), unless the work is wrapped in
/// [`local`](aplex_core::local), which pins it to its worker's own thread. Blocking works (plain functions wrapped
/// in [`blocking`](aplex_core::blocking)) run on that runtime's blocking pool, so they
/// never stall the worker's async works. Results come back as
/// [`WorkFuture`](aplex_core::WorkFuture)s: `.await` them on any runtime or wait with
/// [`WorkFuture::result`](aplex_core::WorkFuture::result).
///
/// The pool API — `submit`, `submit_with`, `try_submit`, `map`, shutting down, stats —
/// is [`Pool`]'s, which this dereferences to. Dropping the pool cancels what is left
/// (queued works, running async works), gives workers
/// [`shutdown_grace`](ThreadPoolBuilder::shutdown_grace) to stop and joins them; call
/// [`shutdown(true)`](Pool::shutdown) first to let everything finish.
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
/// let doubled: Vec<u64> = pool.map(double, 0..5).collect::<Result<_, _>>()?;
/// assert_eq!(doubled, [0, 2, 4, 6, 8]);
/// pool.shutdown(true);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ThreadAsyncPoolExecutor {
    pool: Pool<ThreadWorker>,
}

impl ThreadAsyncPoolExecutor {
    /// A builder with the defaults: one worker per CPU, 300 works per worker,
    /// `RoundRobin`, a current-thread runtime per worker.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(3).build()?;
    /// assert_eq!(pool.pool_size(), 3);
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn builder() -> ThreadPoolBuilder {
        ThreadPoolBuilder::default()
    }

    /// A pool with the default settings.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] if a worker thread could not be started.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::new()?;
    /// assert!(pool.pool_size() >= 1);
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn new() -> Result<Self, BuildError> {
        Self::builder().build()
    }

    pub(crate) fn from_pool(pool: Pool<ThreadWorker>) -> Self {
        ThreadAsyncPoolExecutor { pool }
    }
}

impl Deref for ThreadAsyncPoolExecutor {
    type Target = Pool<ThreadWorker>;

    fn deref(&self) -> &Pool<ThreadWorker> {
        &self.pool
    }
}

impl fmt::Debug for ThreadAsyncPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ThreadAsyncPoolExecutor")
            .field(&self.pool)
            .finish()
    }
}
