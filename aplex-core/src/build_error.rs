//! `BuildError`: why a pool could not be built — a setting out of range, or a worker
//! that did not start — kept apart from [`Error`](crate::Error), which is what a work's
//! future resolves to.
//!
//! The type is opaque over a private kind (as rayon-core's `ThreadPoolBuildError`), so
//! new reasons can be added; a worker that failed to start keeps its cause as
//! [`source`](std::error::Error::source) (and, as the error-handling guidelines ask, does
//! not repeat it in its message).

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// Why a pool could not be built.
///
/// # Examples
///
/// ```
/// let error = aplex::ThreadAsyncPoolExecutor::builder().pool_size(0).build().unwrap_err();
/// assert_eq!(error.setting(), Some("pool_size"));
/// assert_eq!(error.to_string(), "invalid setting `pool_size`: a pool needs at least 1 worker");
/// ```
#[derive(Debug, Clone)]
pub struct BuildError {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    InvalidSetting {
        setting: &'static str,
        message: String,
    },
    WorkerStart {
        worker: usize,
        reason: String,
        source: Option<Arc<dyn StdError + Send + Sync>>,
    },
}

impl BuildError {
    /// A setting out of range: `setting` is its builder method's name, `message` what
    /// it must be.
    ///
    /// # Examples
    ///
    /// ```
    /// let error = aplex::BuildError::invalid_setting("pool_size", "a pool needs at least 1 worker");
    /// assert_eq!(error.setting(), Some("pool_size"));
    /// ```
    pub fn invalid_setting(setting: &'static str, message: impl Into<String>) -> Self {
        BuildError {
            kind: Kind::InvalidSetting {
                setting,
                message: message.into(),
            },
        }
    }

    /// Worker `worker` failed to start, for `reason`, caused by `source` if there is one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::error::Error;
    ///
    /// let cause = std::io::Error::other("no more threads");
    /// let error = aplex::BuildError::worker_start(0, "spawning its thread", Some(cause.into()));
    /// assert_eq!(error.worker(), Some(0));
    /// assert_eq!(error.source().unwrap().to_string(), "no more threads");
    /// ```
    pub fn worker_start(
        worker: usize,
        reason: impl Into<String>,
        source: Option<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        BuildError {
            kind: Kind::WorkerStart {
                worker,
                reason: reason.into(),
                source: source.map(Arc::from),
            },
        }
    }

    /// The setting that was refused, if that is why the build failed.
    ///
    /// # Examples
    ///
    /// ```
    /// let error = aplex::ThreadAsyncPoolExecutor::builder().max_works_per_worker(0).build().unwrap_err();
    /// assert_eq!(error.setting(), Some("max_works_per_worker"));
    /// ```
    pub fn setting(&self) -> Option<&'static str> {
        match &self.kind {
            Kind::InvalidSetting { setting, .. } => Some(setting),
            Kind::WorkerStart { .. } => None,
        }
    }

    /// The worker that failed to start, if that is why the build failed.
    ///
    /// # Examples
    ///
    /// ```
    /// let error = aplex::ThreadAsyncPoolExecutor::builder()
    ///     .worker_initializer(|| Err("no database".into()))
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(error.worker(), Some(0));
    /// assert!(error.to_string().contains("no database"));
    /// ```
    pub fn worker(&self) -> Option<usize> {
        match &self.kind {
            Kind::WorkerStart { worker, .. } => Some(*worker),
            Kind::InvalidSetting { .. } => None,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::InvalidSetting { setting, message } => {
                write!(f, "invalid setting `{setting}`: {message}")
            }
            // The cause is the source, not repeated here.
            Kind::WorkerStart { worker, reason, .. } => {
                write!(f, "worker {worker} failed to start: {reason}")
            }
        }
    }
}

impl StdError for BuildError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.kind {
            Kind::WorkerStart {
                source: Some(source),
                ..
            } => Some(&**source as &(dyn StdError + 'static)),
            _ => None,
        }
    }
}
