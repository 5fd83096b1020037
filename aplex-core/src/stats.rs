//! Pool statistics: a snapshot per worker, the counters behind it, and how a finished
//! work is counted (`OutcomeKind`, recorded in `Outcomes`).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::Error;

/// What one worker has done, at the moment of the snapshot.
///
/// Counts are of works: a submitted work counts once, and each item of a map chunk
/// counts as the work it is (a chunk of 64 whose third item panicked: 63 completed, 1
/// panicked). Every dispatched work is counted exactly once, by its first outcome, so
/// the outcomes add up to what was dispatched.
///
/// # Examples
///
/// ```
/// let stats = aplex::WorkerStats::default();
/// assert_eq!(stats.completed + stats.failed, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// The worker's index.
    pub index: usize,
    /// Its thread name or process label.
    pub name: String,
    /// The pid it runs in now (`None` while a process worker is being replaced).
    pub pid: Option<u32>,
    /// Works running on it now.
    pub workload: usize,
    /// Works that returned a value.
    pub completed: u64,
    /// Works that failed otherwise (serialisation, pool broken, ...).
    pub failed: u64,
    /// Works that panicked.
    pub panicked: u64,
    /// Works cancelled after they were dispatched to it (queued works cancelled before
    /// dispatch are not counted: they never reached a worker).
    pub cancelled: u64,
    /// Works that ran past their timeout.
    pub timed_out: u64,
    /// Works lost because the worker died.
    pub crashed: u64,
    /// Times a crashed process worker was replaced.
    pub restarts: u64,
    /// Times a process worker was replaced after `max_works_per_child` works.
    pub recycles: u64,
}

/// A snapshot of a pool: its pending queue and each worker.
///
/// # Examples
///
/// ```
/// let stats = aplex::PoolStats::default();
/// assert_eq!(stats.pending, 0);
/// assert!(stats.workers.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Works waiting in the pending queue for a free worker.
    pub pending: usize,
    /// Every worker, by index.
    pub workers: Vec<WorkerStats>,
}

/// The outcome counters of one worker, on a cache line of their own: each worker's
/// completions update only its line.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct OutcomeCounters {
    completed: AtomicU64,
    failed: AtomicU64,
    panicked: AtomicU64,
    cancelled: AtomicU64,
    timed_out: AtomicU64,
    crashed: AtomicU64,
}

impl OutcomeCounters {
    pub(crate) fn record(&self, outcome: OutcomeKind, count: u64) {
        let counter = match outcome {
            OutcomeKind::Completed => &self.completed,
            OutcomeKind::Failed => &self.failed,
            OutcomeKind::Panicked => &self.panicked,
            OutcomeKind::Cancelled => &self.cancelled,
            OutcomeKind::TimedOut => &self.timed_out,
            OutcomeKind::Crashed => &self.crashed,
        };
        counter.fetch_add(count, Ordering::Relaxed);
    }

    /// Copies the counters into `stats`.
    pub(crate) fn fill(&self, stats: &mut WorkerStats) {
        stats.completed = self.completed.load(Ordering::Relaxed);
        stats.failed = self.failed.load(Ordering::Relaxed);
        stats.panicked = self.panicked.load(Ordering::Relaxed);
        stats.cancelled = self.cancelled.load(Ordering::Relaxed);
        stats.timed_out = self.timed_out.load(Ordering::Relaxed);
        stats.crashed = self.crashed.load(Ordering::Relaxed);
    }
}

/// How a dispatched work ended, for the per-worker stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutcomeKind {
    Completed,
    Failed,
    Panicked,
    Cancelled,
    TimedOut,
    Crashed,
}

impl OutcomeKind {
    /// Every kind, in declaration order (so `kind as usize` indexes it).
    pub(crate) const ALL: [OutcomeKind; 6] = [
        OutcomeKind::Completed,
        OutcomeKind::Failed,
        OutcomeKind::Panicked,
        OutcomeKind::Cancelled,
        OutcomeKind::TimedOut,
        OutcomeKind::Crashed,
    ];

    /// The kind of a work that ended with `error` (none: completed).
    pub(crate) fn of_error(error: Option<&Error>) -> Self {
        match error {
            None => OutcomeKind::Completed,
            Some(Error::Panicked { .. }) => OutcomeKind::Panicked,
            Some(Error::Cancelled) => OutcomeKind::Cancelled,
            Some(Error::TimedOut { .. }) => OutcomeKind::TimedOut,
            Some(Error::WorkerCrashed { .. }) => OutcomeKind::Crashed,
            Some(_) => OutcomeKind::Failed,
        }
    }
}

/// The outcome counters of every worker, by index: where dispatched works' outcomes are
/// counted (the executor's stats). A concrete type, not a trait object: every work in
/// flight holds a pointer to it, and a thin one keeps its cell 8 bytes smaller.
pub(crate) struct Outcomes(pub(crate) Box<[OutcomeCounters]>);

impl Outcomes {
    /// Counts `count` works of worker `worker` that ended as `outcome`.
    pub(crate) fn record(&self, worker: usize, outcome: OutcomeKind, count: u64) {
        if let Some(counters) = self.0.get(worker) {
            counters.record(outcome, count);
        }
    }
}
