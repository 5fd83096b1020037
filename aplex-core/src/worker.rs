//! The `Worker` trait: a backend's handle to one worker (a thread or a process), and the
//! `WorkerEvents` a worker reports back through.
//!
//! The executor owns the workers, decides which one gets each work, and counts workloads;
//! a backend only has to ship jobs, forward cancels, close, and say when a work is over.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

/// Identifies one dispatched work (or chunk of a map) within its pool.
///
/// # Examples
///
/// ```
/// use aplex::backend::WorkId;
///
/// assert_eq!(WorkId(7).to_string(), "work#7");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkId(pub u64);

impl fmt::Display for WorkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "work#{}", self.0)
    }
}

/// What a load balancer (and a user) may know about one worker.
///
/// # Examples
///
/// ```
/// use aplex::WorkerInfo;
///
/// let info = WorkerInfo::new(0, "aplex-worker-0", std::process::id());
/// assert_eq!(info.index, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive] // a remote worker will say which node it is on
pub struct WorkerInfo {
    /// Position of the worker in the pool, `0..pool_size`.
    pub index: usize,
    /// A readable name: the worker thread's name, or a process worker's label.
    pub name: String,
    /// The OS process id the worker runs in.
    pub pid: u32,
}

impl WorkerInfo {
    /// The info of worker `index`, called `name`, running in process `pid`.
    ///
    /// # Examples
    ///
    /// ```
    /// let info = aplex::WorkerInfo::new(1, "crawler-1", 42);
    /// assert_eq!((info.index, info.name.as_str(), info.pid), (1, "crawler-1", 42));
    /// ```
    pub fn new(index: usize, name: impl Into<String>, pid: u32) -> Self {
        WorkerInfo {
            index,
            name: name.into(),
            pid,
        }
    }
}

/// How a worker should stop.
///
/// # Examples
///
/// ```
/// use aplex::backend::CloseMode;
///
/// assert_ne!(CloseMode::Drain, CloseMode::Abort);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseMode {
    /// Finish every work already handed over, then exit.
    Drain,
    /// Abort running async works now (their futures resolve cancelled), let running
    /// blocking works end, then exit.
    Abort,
}

/// A backend's handle to one worker.
///
/// Implemented by the thread and process backends, each on its own; the executor in this
/// crate drives it. Calls never block on the worker: a backend queues what it is given.
///
/// # Under the executor's lock
///
/// The executor keeps one lock over its pending queue and the workloads, so that a
/// workload only grows, and a work is only dispatched, under it. These run with that lock
/// held, and must therefore return at once, never wait on the worker (a full socket, a
/// busy thread), and never call back into the pool (submit, cancel, shut down, inspect):
///
/// - [`dispatch`](Self::dispatch) and [`flush`](Self::flush);
/// - [`shutdown_began`](Self::shutdown_began) and [`close`](Self::close);
/// - [`Accepts::job`](crate::backend::Accepts::job) and
///   [`Accepts::chunk_job`](crate::backend::Accepts::chunk_job), which build the job of
///   an admitted work.
///
/// The others run without it: [`cancel`](Self::cancel) (from a future's `cancel`),
/// [`time_out`](Self::time_out) and [`overdue`](Self::overdue) (from the timer thread),
/// [`join`](Self::join), [`info`](Self::info) and [`annotate_stats`](Self::annotate_stats),
/// and [`Accepts::pack`](crate::backend::Accepts::pack) and
/// [`Accepts::pack_chunk`](crate::backend::Accepts::pack_chunk), which run before the
/// lock is taken. A worker reports back through [`WorkerEvents`], which may be called
/// from any thread but never from inside the calls above.
///
/// # Examples
///
/// ```
/// # use aplex::backend::Admission;
/// # use aplex_core::testing::InlineJob;
/// # use aplex::WorkOptions;
/// let executor = aplex_core::testing::inline_executor(2);
/// let future = executor.submit(WorkOptions::new(), Admission::Wait, false, |promise| {
///     Box::new(move || { promise.complete(Ok(6 * 7)); }) as InlineJob
/// }).unwrap_or_else(|(_, future)| future);
/// assert_eq!(future.result()?, 42);
/// # Ok::<(), aplex::Error>(())
/// ```
pub trait Worker: Send + Sync + 'static {
    /// What the backend ships to its worker for one work (a boxed closure for threads,
    /// a work name and encoded arguments for processes).
    type Job: Send + 'static;

    /// Describes the worker for balancers and stats.
    fn info(&self) -> WorkerInfo;

    /// Hands `job` to the worker (or stages it until the next [`flush`](Self::flush)).
    /// When it is over, however it ended, the worker must call
    /// [`WorkerEvents::work_finished`] exactly once for it.
    ///
    /// # Errors
    ///
    /// Gives the job back if the worker is gone, or if the work was cancelled on its
    /// way here (see [`cancel`](Self::cancel)); the executor then takes its claim on
    /// the worker back and fails the work, unless it is resolved already (cancelled),
    /// and drops the job.
    fn dispatch(&self, id: WorkId, job: Self::Job) -> Result<(), Self::Job>;

    /// Sends everything [`dispatch`](Self::dispatch) has staged since the last flush.
    ///
    /// The executor calls it after every submit, every drain of its pending queue and
    /// every map refill, so a backend may stage dispatched jobs and ship them together
    /// here (one message, one wake-up) instead of one at a time. The default does
    /// nothing, for backends whose `dispatch` sends at once.
    fn flush(&self) {}

    /// Asks the worker to abort the running async work `id`; unknown ids are ignored.
    ///
    /// A cancel can reach the worker just before the work does: the executor marks a work
    /// running, then dispatches it, and `cancel()` may come in between. Ids reach a
    /// worker in increasing order, so a worker that cannot check the work's future
    /// itself (a process's) keeps a cancelled id above those it has seen and refuses its
    /// dispatch.
    fn cancel(&self, id: WorkId);

    /// Work `id` ran out of time (its future already says [`Error::TimedOut`]). The
    /// default aborts it if it is an async work and leaves a blocking work to finish; a
    /// backend may do more (a process pool can kill the worker running it).
    ///
    /// A returned grace period asks the executor to call [`overdue`](Self::overdue) for
    /// `id` once it has passed, for a backend that cannot be sure its abort lands (a
    /// process whose work never yields). The default asks for none.
    ///
    /// [`Error::TimedOut`]: crate::Error::TimedOut
    fn time_out(&self, id: WorkId, abortable: bool) -> Option<std::time::Duration> {
        if abortable {
            self.cancel(id);
        }
        None
    }

    /// The pool has begun to shut down (no more works are accepted). A backend that
    /// replaces workers that die should stop doing so: a worker lost from now on is
    /// reported with [`WorkerEvents::worker_gone`]. The default does nothing.
    fn shutdown_began(&self) {}

    /// The grace period [`time_out`](Self::time_out) asked for has passed: if work `id`
    /// is still running, stop it harder. The default does nothing.
    fn overdue(&self, id: WorkId) {
        let _ = id;
    }

    /// Adds what only the backend knows to the worker's stats (a process worker: its
    /// pid, restarts and recycles). The default adds nothing.
    fn annotate_stats(&self, stats: &mut crate::WorkerStats) {
        let _ = stats;
    }

    /// Asks the worker to stop, as `mode` says. Idempotent.
    fn close(&self, mode: CloseMode);

    /// Waits until the worker has stopped, or `deadline` passes; returns whether it has
    /// stopped (and its resources are released).
    fn join(&self, deadline: Option<Instant>) -> bool;
}

/// How a worker tells its executor what happened.
///
/// # Examples
///
/// ```
/// # use aplex::backend::Admission;
/// # use aplex_core::testing::InlineJob;
/// # use aplex::WorkOptions;
/// let executor = aplex_core::testing::inline_executor(2);
/// // The inline worker reports each job over with `events.work_finished(index)`.
/// let future = executor.submit(WorkOptions::new(), Admission::Wait, false, |promise| {
///     Box::new(move || { promise.complete(Ok(6 * 7)); }) as InlineJob
/// }).unwrap_or_else(|(_, future)| future);
/// assert_eq!(future.result(), Ok(42));
/// executor.shutdown(true); // joins the workers: every report is in
/// assert_eq!(executor.workloads(), [0, 0]);
/// ```
pub trait WorkerEvents: Send + Sync + 'static {
    /// Work dispatched to `worker` is over: completed, failed, panicked, aborted, or lost.
    fn work_finished(&self, worker: usize);

    /// `count` works dispatched to `worker` are over (one report for a batch that ended
    /// together); the same as `count` calls of [`work_finished`](Self::work_finished).
    fn works_finished(&self, worker: usize, count: usize) {
        for _ in 0..count {
            self.work_finished(worker);
        }
    }

    /// The pool cannot go on (Python aplex's `AplexWorkerError`), e.g. its workers crash too
    /// often: refuse new works, fail the queued ones with [`Error::PoolBroken`], and let
    /// the healthy workers finish what they hold.
    ///
    /// [`Error::PoolBroken`]: crate::Error::PoolBroken
    fn pool_broken(&self, reason: String);

    /// Worker `worker` is gone for good (it died after shutdown began and is not
    /// replaced): no more works are dispatched to it, and once every worker is gone the
    /// works still queued fail with [`Error::PoolBroken`](crate::Error::PoolBroken). Call
    /// it before failing the worker's own works, so none of the works their release
    /// dispatches goes to it. The default does nothing.
    fn worker_gone(&self, worker: usize) {
        let _ = worker;
    }
}

/// Everything a backend needs to start the worker for one slot.
///
/// # Examples
///
/// ```
/// let executor = aplex_core::testing::inline_executor(2);
/// // Executor::start hands each new worker its seat: its index and where to report.
/// assert_eq!(executor.worker_infos().len(), 2);
/// # Ok::<(), aplex::Error>(())
/// ```
#[derive(Clone)]
pub struct WorkerSeat {
    /// The slot's index, `0..pool_size`.
    pub index: usize,
    /// Where the worker reports back.
    pub events: Arc<dyn WorkerEvents>,
}

impl fmt::Debug for WorkerSeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerSeat")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}
