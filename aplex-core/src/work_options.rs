//! `WorkOptions`: what a caller may say about one work besides the work itself.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::balancer::Meta;

/// Per-work settings: the load balancer's meta and a timeout.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use aplex::WorkOptions;
///
/// let options = WorkOptions::new().meta("urgent").timeout(Duration::from_secs(2));
/// assert_eq!(options.timeout_value(), Some(Duration::from_secs(2)));
/// ```
#[derive(Clone, Default)]
pub struct WorkOptions {
    pub(crate) meta: Option<Arc<Meta>>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry_crashed: u32,
}

impl WorkOptions {
    /// No meta, and the pool's default timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aplex::WorkOptions::new().timeout_value(), None);
    /// ```
    pub fn new() -> Self {
        WorkOptions::default()
    }

    /// Passes `meta` to the load balancer (Python aplex's `load_balancing_meta`).
    ///
    /// # Examples
    ///
    /// ```
    /// let options = aplex::WorkOptions::new().meta(7_u32);
    /// # let _ = options;
    /// ```
    pub fn meta<M: Any + Send + Sync>(mut self, meta: M) -> Self {
        self.meta = Some(Arc::new(meta));
        self
    }

    /// Gives the work at most `timeout` once it starts on a worker (time spent queued
    /// does not count). Past it the future resolves [`Error::TimedOut`]; a running async
    /// work is aborted; a blocking work is left to finish (the caller just stops waiting),
    /// unless the process pool was built to kill its worker. A zero timeout is refused:
    /// the submission fails with [`Error::InvalidConfig`].
    ///
    /// [`Error::TimedOut`]: crate::Error::TimedOut
    /// [`Error::InvalidConfig`]: crate::Error::InvalidConfig
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = aplex::WorkOptions::new().timeout(Duration::from_millis(500));
    /// assert_eq!(options.timeout_value(), Some(Duration::from_millis(500)));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries the work, up to `times` times, if it is lost to a worker that crashes
    /// (instead of resolving [`Error::WorkerCrashed`](crate::Error::WorkerCrashed)); the
    /// last crash is the outcome once the retries are spent. Only for idempotent works: a
    /// work may have done part of its job before its worker died. A thread pool's workers
    /// do not crash, so there it changes nothing. Default 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = aplex::WorkOptions::new().retry_crashed(2);
    /// assert_eq!(options.retry_crashed_value(), 2);
    /// ```
    pub fn retry_crashed(mut self, times: u32) -> Self {
        self.retry_crashed = times;
        self
    }

    /// How many times a work lost to a crashed worker is retried.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aplex::WorkOptions::new().retry_crashed_value(), 0);
    /// ```
    pub fn retry_crashed_value(&self) -> u32 {
        self.retry_crashed
    }

    /// The timeout set with [`timeout`](Self::timeout), if any.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aplex::WorkOptions::default().timeout_value(), None);
    /// ```
    pub fn timeout_value(&self) -> Option<Duration> {
        self.timeout
    }

    /// The balancer meta set with [`meta`](Self::meta), if any.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = aplex::WorkOptions::new().meta("gpu");
    /// assert_eq!(options.meta_value().and_then(|meta| meta.downcast_ref::<&str>()), Some(&"gpu"));
    /// ```
    pub fn meta_value(&self) -> Option<&crate::Meta> {
        self.meta.as_deref()
    }
}

impl fmt::Debug for WorkOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkOptions")
            .field("meta", &self.meta.is_some())
            .field("timeout", &self.timeout)
            .field("retry_crashed", &self.retry_crashed)
            .finish()
    }
}
