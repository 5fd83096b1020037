//! `RuntimeConfig`: how a worker process builds its tokio runtime (Python aplex's
//! `worker_loop_factory`), as data the parent can send to the child.

use std::io;

use serde::{Deserialize, Serialize};

/// Which tokio scheduler a worker process runs.
///
/// # Examples
///
/// ```
/// # extern crate aplex_facade as aplex;
/// use aplex_process::{RuntimeConfig, RuntimeFlavor};
///
/// let config = RuntimeConfig { flavor: RuntimeFlavor::CurrentThread, ..RuntimeConfig::default() };
/// assert_eq!(config, RuntimeConfig::default());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RuntimeFlavor {
    /// One thread drives every async work of the worker (the default, as one asyncio loop
    /// per aplex worker).
    CurrentThread,
    /// A multi-threaded runtime with this many threads inside the worker process.
    ///
    /// An async work whose future is `Send` runs on the runtime's scheduler, so a
    /// worker's works run in parallel on these threads; one whose future is not `Send`
    /// (`#[aplex::work]` sees which) stays on the thread driving the runtime. Blocking
    /// works are unaffected (they run on the blocking pool). The works of one map chunk
    /// run together as one task: use chunksize 1 for parallel map items.
    MultiThread {
        /// The runtime's worker threads; at least 1.
        worker_threads: usize,
    },
}

/// How each worker process builds its tokio runtime; the process pool's
/// `worker_loop_factory`.
///
/// A closure cannot cross into another process, so the runtime is described by this
/// serialisable value and rebuilt in each child. I/O and time drivers are always enabled.
///
/// # Examples
///
/// ```
/// # extern crate aplex_facade as aplex;
/// use aplex_process::{RuntimeConfig, RuntimeFlavor};
///
/// let config = RuntimeConfig {
///     flavor: RuntimeFlavor::MultiThread { worker_threads: 2 },
///     max_blocking_threads: Some(8),
///     ..RuntimeConfig::default()
/// };
/// let runtime = config.build()?;
/// assert_eq!(runtime.block_on(async { 1 + 1 }), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    /// The scheduler.
    pub flavor: RuntimeFlavor,
    /// Bound on the blocking pool that runs blocking works (tokio's default, 512, if
    /// unset).
    pub max_blocking_threads: Option<usize>,
    /// Stack size of the runtime's threads, in bytes (tokio's default if unset).
    pub thread_stack_size: Option<usize>,
    /// Ticks between polls of external events (tokio's default if unset).
    pub event_interval: Option<u32>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            flavor: RuntimeFlavor::CurrentThread,
            max_blocking_threads: None,
            thread_stack_size: None,
            event_interval: None,
        }
    }
}

impl RuntimeConfig {
    /// Builds the runtime this config describes.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_facade as aplex;
    /// use aplex_process::{RuntimeConfig, RuntimeFlavor};
    ///
    /// let zero = RuntimeConfig { flavor: RuntimeFlavor::MultiThread { worker_threads: 0 }, ..RuntimeConfig::default() };
    /// assert!(zero.build().is_err());
    /// assert!(RuntimeConfig::default().build().is_ok());
    /// ```
    ///
    /// # Errors
    ///
    /// Whatever tokio's builder returns, or `InvalidInput` for a setting of zero
    /// ([`check`](Self::check)).
    pub fn build(&self) -> io::Result<tokio::runtime::Runtime> {
        self.builder()?.build()
    }

    /// Whether tokio can build this runtime: zero worker threads, a blocking pool of zero
    /// threads or an event interval of zero ticks would make its builder panic.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_facade as aplex;
    /// use aplex_process::RuntimeConfig;
    ///
    /// let no_blocking = RuntimeConfig { max_blocking_threads: Some(0), ..RuntimeConfig::default() };
    /// assert!(no_blocking.check().unwrap_err().to_string().contains("max_blocking_threads"));
    /// assert!(RuntimeConfig::default().check().is_ok());
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput`, naming the setting.
    pub fn check(&self) -> io::Result<()> {
        let zero = |what: &str| {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                what.to_string(),
            ))
        };
        if self.flavor == (RuntimeFlavor::MultiThread { worker_threads: 0 }) {
            return zero("a multi-thread runtime needs at least 1 worker thread");
        }
        if self.max_blocking_threads == Some(0) {
            return zero("max_blocking_threads must be at least 1 (or None: tokio's default)");
        }
        if self.event_interval == Some(0) {
            return zero("event_interval must be at least 1 tick (or None: tokio's default)");
        }
        Ok(())
    }

    /// The runtime a worker process runs works on: as [`build`](Self::build), with every
    /// thread it starts watched for stack overflows (`stack_guard.rs`).
    pub(crate) fn build_for_worker(&self) -> io::Result<tokio::runtime::Runtime> {
        self.builder()?
            .on_thread_start(crate::child::stack_guard::watch_this_thread)
            .build()
    }

    fn builder(&self) -> io::Result<tokio::runtime::Builder> {
        self.check()?;
        let mut builder = match self.flavor {
            RuntimeFlavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
            RuntimeFlavor::MultiThread { worker_threads } => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(worker_threads);
                builder
            }
        };
        builder.enable_all();
        if let Some(max) = self.max_blocking_threads {
            builder.max_blocking_threads(max);
        }
        if let Some(size) = self.thread_stack_size {
            builder.thread_stack_size(size);
        }
        if let Some(interval) = self.event_interval {
            builder.event_interval(interval);
        }
        Ok(builder)
    }
}
