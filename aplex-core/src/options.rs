//! `PoolOptions`: the settings every pool has, whatever its backend, and their checks.

use std::fmt;
use std::num::NonZeroUsize;
use std::time::Duration;

use crate::balancer::LoadBalancer;
use crate::BuildError;

/// The default for `max_works_per_worker`, as in Python aplex.
///
/// # Examples
///
/// ```
/// assert_eq!(aplex::DEFAULT_MAX_WORKS_PER_WORKER, 300);
/// ```
pub const DEFAULT_MAX_WORKS_PER_WORKER: usize = 300;

/// The default for `max_blocking_works_per_worker`: one blocking work at a time on each
/// worker, so a pool of N runs N CPU-bound works at once, as rayon, `concurrent.futures`
/// and Python aplex do. Raise it for blocking works that mostly wait (blocking I/O).
///
/// # Examples
///
/// ```
/// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
/// assert_eq!(pool.max_blocking_works_per_worker(), aplex::DEFAULT_MAX_BLOCKING_WORKS_PER_WORKER);
/// # Ok::<(), aplex::BuildError>(())
/// ```
pub const DEFAULT_MAX_BLOCKING_WORKS_PER_WORKER: usize = 1;

/// The default time `Drop` lets workers finish before giving up on them.
///
/// # Examples
///
/// ```
/// assert_eq!(aplex::DEFAULT_SHUTDOWN_GRACE.as_secs(), 5);
/// ```
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Backend-independent pool settings, filled in by a backend's builder.
///
/// # Examples
///
/// ```
/// use aplex::backend::PoolOptions;
///
/// let mut options = PoolOptions::default();
/// options.pool_size = Some(0);
/// assert!(options.validate().is_err());
/// ```
#[non_exhaustive] // settings every backend has will be added
pub struct PoolOptions {
    /// Number of workers; `None` means the number of CPUs.
    pub pool_size: Option<usize>,
    /// The most works one worker runs at once.
    pub max_works_per_worker: usize,
    /// The most blocking works one worker runs at once (the rest of its blocking works
    /// wait on the worker, not yet begun: still cancellable, their timeouts not started).
    pub max_blocking_works_per_worker: usize,
    /// Bound on the parent-side queue of works waiting for a free worker; `None` is
    /// unbounded.
    pub max_pending: Option<usize>,
    /// The balancer; `None` means the backend's default (`RoundRobin`).
    pub load_balancer: Option<Box<dyn LoadBalancer>>,
    /// How long `Drop` waits for workers to stop before leaving them behind (threads) or
    /// killing them (processes).
    pub shutdown_grace: Duration,
    /// The timeout of every work that does not set its own (see
    /// [`WorkOptions::timeout`](crate::WorkOptions::timeout)); `None` for none.
    pub work_timeout: Option<Duration>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            pool_size: None,
            max_works_per_worker: DEFAULT_MAX_WORKS_PER_WORKER,
            max_blocking_works_per_worker: DEFAULT_MAX_BLOCKING_WORKS_PER_WORKER,
            max_pending: None,
            load_balancer: None,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            work_timeout: None,
        }
    }
}

impl fmt::Debug for PoolOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolOptions")
            .field("pool_size", &self.pool_size)
            .field("max_works_per_worker", &self.max_works_per_worker)
            .field(
                "max_blocking_works_per_worker",
                &self.max_blocking_works_per_worker,
            )
            .field("max_pending", &self.max_pending)
            .field("custom_load_balancer", &self.load_balancer.is_some())
            .field("shutdown_grace", &self.shutdown_grace)
            .field("work_timeout", &self.work_timeout)
            .finish()
    }
}

impl PoolOptions {
    /// The pool size these options give: the set one, or the number of CPUs.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::backend::PoolOptions;
    ///
    /// let mut options = PoolOptions::default();
    /// options.pool_size = Some(3);
    /// assert_eq!(options.resolved_pool_size(), 3);
    /// assert!(PoolOptions::default().resolved_pool_size() >= 1);
    /// ```
    pub fn resolved_pool_size(&self) -> usize {
        self.pool_size
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
    }

    /// Checks every setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::backend::PoolOptions;
    ///
    /// let mut zero_cap = PoolOptions::default();
    /// zero_cap.max_works_per_worker = 0;
    /// assert_eq!(zero_cap.validate().unwrap_err().setting(), Some("max_works_per_worker"));
    /// assert!(PoolOptions::default().validate().is_ok());
    /// ```
    ///
    /// # Errors
    ///
    /// A [`BuildError`] naming the first setting out of range.
    pub fn validate(&self) -> Result<(), BuildError> {
        if self.pool_size == Some(0) {
            return Err(BuildError::invalid_setting(
                "pool_size",
                "a pool needs at least 1 worker",
            ));
        }
        if self.max_works_per_worker == 0 {
            return Err(BuildError::invalid_setting(
                "max_works_per_worker",
                "each worker must be allowed at least 1 work at a time",
            ));
        }
        if self.max_blocking_works_per_worker == 0 {
            return Err(BuildError::invalid_setting(
                "max_blocking_works_per_worker",
                "each worker must be allowed at least 1 blocking work at a time",
            ));
        }
        if self.work_timeout.is_some_and(|timeout| timeout.is_zero()) {
            return Err(BuildError::invalid_setting(
                "work_timeout",
                "a work timeout must be longer than zero (or unset for none)",
            ));
        }
        if self.max_pending == Some(0) {
            return Err(BuildError::invalid_setting(
                "max_pending",
                "the pending queue bound must be at least 1 (or unset for unbounded)",
            ));
        }
        Ok(())
    }
}
