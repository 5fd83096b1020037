//! `ProcessPoolBuilder`: the settings of a process pool, checked by `build()`.

use std::sync::Arc;
use std::time::Duration;

use aplex_balance::RoundRobin;
use aplex_core::backend::{new_pool, Executor, PoolOptions};
use aplex_core::{BuildError, Error, WorkKind};

use crate::child::bootstrap;
use crate::parent::context::PoolContext;
use crate::parent::crash_limit::{CrashLimit, CrashWindow};
use crate::parent::pool::ProcessAsyncPoolExecutor;
use crate::parent::prestart::Prestarted;
use crate::parent::worker::ProcessWorker;
use crate::protocol::runtime_config::RuntimeConfig;
use crate::protocol::wire::StartSettings;

/// The default bound on a worker process's start-up (spawn and handshake).
///
/// # Examples
///
/// ```
/// # extern crate aplex_facade as aplex;
/// assert_eq!(aplex_process::DEFAULT_START_TIMEOUT.as_secs(), 10);
/// ```
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(10);

/// Configures and builds a [`ProcessAsyncPoolExecutor`].
///
/// # Examples
///
/// ```
/// # extern crate aplex_facade as aplex;
/// use aplex_process::{CrashLimit, ProcessAsyncPoolExecutor};
/// use aplex_balance::Average;
///
/// let pool = ProcessAsyncPoolExecutor::builder()
///     .pool_size(2)
///     .max_works_per_worker(100)
///     .load_balancer(Average::default())
///     .crash_limit(CrashLimit::default())
///     .build()?;
/// assert_eq!(pool.pool_size(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a builder does nothing until build() is called"]
#[derive(Debug, Default)]
pub struct ProcessPoolBuilder {
    options: PoolOptions,
    runtime: RuntimeConfig,
    start_timeout: Option<Duration>,
    crash_limit: CrashLimit,
    kill_on_timeout: bool,
    max_works_per_child: Option<usize>,
    shared_memory_threshold: Option<usize>,
    initializer: Option<Result<(u32, &'static str), Error>>,
    state: Option<Result<u32, String>>,
}

impl ProcessPoolBuilder {
    aplex_core::backend::pool_settings!(
        "aplex::ProcessAsyncPoolExecutor",
        "# extern crate aplex_facade as aplex;"
    );

    /// Kill the worker process running a *blocking* work that runs out of time (default:
    /// no). The work stops at once and the process is replaced; the trade-off is that
    /// every other work in flight on that worker fails with
    /// [`Error::WorkerCrashed`](aplex_core::Error::WorkerCrashed), and each kill counts
    /// towards the [`crash_limit`](Self::crash_limit). Without it, a blocking work past
    /// its time is left to finish while its caller stops waiting. Async works are always
    /// aborted in place.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_facade as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder()
    ///     .pool_size(1)
    ///     .kill_on_timeout(true)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kill_on_timeout(mut self, kill: bool) -> Self {
        self.kill_on_timeout = kill;
        self
    }

    /// Replaces a worker process after it has been handed `works` works (default: never;
    /// compare `max_works_per_worker`, the number of works it runs *at once*). The process
    /// stops taking works, finishes those it has, exits, and a fresh one takes its slot;
    /// no work fails, and works submitted meanwhile wait for the new process. Useful
    /// against leaks in the works' code or their libraries. A map chunk counts as one
    /// work here (it travels to the process as one frame), whatever its chunksize.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_facade as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder()
    ///     .pool_size(2)
    ///     .max_works_per_child(10_000)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_works_per_child(mut self, works: usize) -> Self {
        self.max_works_per_child = Some(works);
        self
    }

    /// Encoded arguments and outputs larger than `bytes` travel through shared memory
    /// instead of the socket (default: 64 KiB, measured in docs/PERFORMANCE.md; the most
    /// allowed is also 64 KiB, or less where the system's socket buffers are small). Each
    /// worker keeps a few regions for this, reused from payload to payload, up to 256 MiB
    /// each way; a payload finding none free travels in a region of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_facade as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder()
    ///     .pool_size(1)
    ///     .shared_memory_threshold(16 * 1024)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shared_memory_threshold(mut self, bytes: usize) -> Self {
        self.shared_memory_threshold = Some(bytes);
        self
    }

    /// Runs `init` once in each worker process, before it takes any work (for example,
    /// to open a connection the works share). `init` is a plain function marked
    /// `#[aplex::work]` taking `()` and returning `Result<(), String>`. If it fails or
    /// panics, `build()` fails with a [`BuildError`] naming the worker (for a replacement worker,
    /// the failed start counts towards the crash limit).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_facade as aplex;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    ///
    /// static READY: AtomicBool = AtomicBool::new(false);
    ///
    /// #[aplex::work]
    /// fn get_ready(_: ()) -> Result<(), String> {
    ///     READY.store(true, Ordering::SeqCst);
    ///     Ok(())
    /// }
    ///
    /// #[aplex::work]
    /// fn is_ready(_: ()) -> bool { READY.load(Ordering::SeqCst) }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).worker_initializer(get_ready).build()?;
    /// assert!(pool.submit(aplex::blocking(is_ready), ()).result()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn worker_initializer<F>(mut self, init: F) -> Self
    where
        F: FnOnce(()) -> Result<(), String> + 'static,
    {
        drop(init);
        let name = std::any::type_name::<F>();
        self.initializer = Some(aplex_core::registry::lookup(name, WorkKind::Blocking));
        self
    }

    /// Makes each worker's state (a connection, a loaded model, a cache) in its own
    /// process, once as it starts (and again in a process that replaces it), with
    /// `make`: a function marked `#[aplex::worker_state]`, called with the worker's
    /// index, inside its runtime. Every work on that worker reaches the state with
    /// [`aplex::worker_state`](aplex_core::worker_state); it is made before the
    /// [`worker_initializer`](Self::worker_initializer) runs. If `make` returns `Err` or
    /// panics, `build()` fails with a [`BuildError`] naming the worker; a function not
    /// marked `#[aplex::worker_state]` fails `build()` with a [`BuildError`] for this
    /// setting. The same function serves the thread pool's `worker_state`.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_facade as aplex;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use aplex::{blocking, worker_state};
    ///
    /// /// What each worker process keeps.
    /// struct Cache { worker: usize, hits: AtomicUsize }
    ///
    /// #[aplex::worker_state]
    /// fn open_cache(worker: usize) -> Result<Cache, String> {
    ///     Ok(Cache { worker, hits: AtomicUsize::new(0) })
    /// }
    ///
    /// #[aplex::work]
    /// fn hit(_: ()) -> (usize, usize) {
    ///     let cache = worker_state::<Cache>().expect("every worker has one");
    ///     (cache.worker, cache.hits.fetch_add(1, Ordering::SeqCst) + 1)
    /// }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).worker_state(open_cache).build()?;
    /// assert_eq!(pool.submit(blocking(hit), ()).result()?, (0, 1));
    /// assert_eq!(pool.submit(blocking(hit), ()).result()?, (0, 2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn worker_state<F, S>(mut self, make: F) -> Self
    where
        F: FnOnce(usize) -> Result<S, String> + 'static,
        S: Send + Sync + 'static,
    {
        drop(make);
        let name = std::any::type_name::<F>();
        self.state = Some(aplex_core::registry::lookup_state(name));
        self
    }

    /// How each worker process builds its tokio runtime (Python aplex's
    /// `worker_loop_factory`); default: current-thread with I/O and time.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_facade as aplex;
    /// use aplex::ProcessAsyncPoolExecutor;
    /// use aplex::{RuntimeConfig, RuntimeFlavor};
    /// let pool = ProcessAsyncPoolExecutor::builder()
    ///     .pool_size(1)
    ///     .worker_loop_factory(RuntimeConfig { flavor: RuntimeFlavor::MultiThread { worker_threads: 2 }, ..RuntimeConfig::default() })
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn worker_loop_factory(mut self, runtime: RuntimeConfig) -> Self {
        self.runtime = runtime;
        self
    }

    /// How long a worker process may take to start and shake hands (default 10 s); a
    /// worker slower than this fails `build()` (or counts as a crash when replacing one).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_facade as aplex;
    /// use aplex::ProcessAsyncPoolExecutor;
    /// let impatient = ProcessAsyncPoolExecutor::builder().pool_size(1).start_timeout(std::time::Duration::from_nanos(1)).build();
    /// assert_eq!(impatient.unwrap_err().worker(), Some(0));
    /// ```
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = Some(timeout);
        self
    }

    /// When crashing workers make the pool give up (default: more than 10 in 60 s).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_facade as aplex;
    /// use aplex::ProcessAsyncPoolExecutor;
    /// use aplex::CrashLimit;
    /// let pool = ProcessAsyncPoolExecutor::builder()
    ///     .pool_size(1)
    ///     .crash_limit(CrashLimit { max_crashes: 100, window: std::time::Duration::from_secs(10) })
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn crash_limit(mut self, limit: CrashLimit) -> Self {
        self.crash_limit = limit;
        self
    }

    /// Starts the worker processes and waits for each one's handshake.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_facade as aplex;
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// assert!(pool.worker_pids().iter().all(Option::is_some));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`BuildError`] for a setting out of range (or an initializer that is not
    /// registered), or naming the worker process that could not start, died, or did not
    /// shake hands within the start timeout (the workers already started are stopped
    /// first).
    pub fn build(self) -> Result<ProcessAsyncPoolExecutor, BuildError> {
        bootstrap::ensure_linked();
        let start_timeout = self.start_timeout.unwrap_or(DEFAULT_START_TIMEOUT);
        if start_timeout.is_zero() {
            return Err(BuildError::invalid_setting(
                "start_timeout",
                "must be longer than zero",
            ));
        }
        if self.max_works_per_child == Some(0) {
            return Err(BuildError::invalid_setting(
                "max_works_per_child",
                "a worker process must be allowed at least 1 work (or unset for no limit)",
            ));
        }
        if self.crash_limit.window.is_zero() {
            return Err(BuildError::invalid_setting(
                "crash_limit",
                "the window must be longer than zero",
            ));
        }
        let most = crate::protocol::payload::shared_threshold();
        let shared_threshold = self.shared_memory_threshold.unwrap_or(most);
        if shared_threshold > most {
            return Err(BuildError::invalid_setting(
                "shared_memory_threshold",
                format!(
                    "at most {most} bytes here: a bigger payload in a frame would not fit \
                     the socket in one send"
                ),
            ));
        }
        self.runtime.check().map_err(|error| {
            BuildError::invalid_setting("worker_loop_factory", error.to_string())
        })?;
        let initializer = self.initializer.transpose().map_err(|error| {
            BuildError::invalid_setting("worker_initializer", error.to_string())
        })?;
        let state = self
            .state
            .transpose()
            .map_err(|reason| BuildError::invalid_setting("worker_state", reason))?;
        let context = Arc::new(PoolContext {
            start: StartSettings {
                runtime: self.runtime,
                blocking_limit: self.options.max_blocking_works_per_worker,
                state,
                worker: 0,
                forward_events: crate::protocol::event::wanted_level(),
                shared_threshold,
            },
            start_timeout,
            crashes: CrashWindow::new(self.crash_limit),
            kill_on_timeout: self.kill_on_timeout,
            max_works_per_child: self.max_works_per_child,
            initializer,
        });
        let grace = self.options.shutdown_grace;
        self.options.validate()?;
        // Every first process at once (`prestart.rs`), then the executor around them.
        let mut first = Prestarted::start(&context, self.options.resolved_pool_size())?;
        let executor = Executor::start(
            self.options,
            || Box::new(RoundRobin::default()),
            |seat| {
                let prestarted = first.take(seat.index)?;
                ProcessWorker::spawn(seat, Arc::clone(&context), prestarted)
            },
        )?;
        Ok(ProcessAsyncPoolExecutor::from_pool(new_pool(
            executor, grace,
        )))
    }
}
