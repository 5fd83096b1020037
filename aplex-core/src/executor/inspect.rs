//! What an [`Executor`] tells about itself: its size and settings, each worker's
//! workload and identity, the pending queue, its state, and per-worker stats.

use super::Executor;
use crate::stats::{PoolStats, WorkerStats};
use crate::worker::{Worker, WorkerInfo};
use crate::Error;

impl<W: Worker> Executor<W> {
    /// The number of workers.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = aplex_core::testing::inline_executor(2);
    /// assert_eq!(executor.pool_size(), 2);
    /// ```
    pub fn pool_size(&self) -> usize {
        self.shared.gauge.workloads().len()
    }

    /// The most works one worker runs at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = aplex_core::testing::inline_executor(2);
    /// assert_eq!(executor.max_works_per_worker(), aplex::DEFAULT_MAX_WORKS_PER_WORKER);
    /// ```
    pub fn max_works_per_worker(&self) -> usize {
        self.shared.gauge.cap()
    }

    /// Whether the current thread runs this pool's works (`serving.rs`): a wait for the
    /// pool's drain there would wait for itself.
    pub(crate) fn serves_this_thread(&self) -> bool {
        crate::serving::serving() == crate::serving::pool_number(&self.shared)
    }

    /// Whether the pending queue is bounded (`max_pending`): a submit may wait for room.
    pub(crate) fn queue_is_bounded(&self) -> bool {
        self.shared.max_pending.is_some()
    }

    /// The most blocking works one worker runs at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = aplex_core::testing::inline_executor(2);
    /// assert_eq!(executor.max_blocking_works_per_worker(), 1);
    /// ```
    pub fn max_blocking_works_per_worker(&self) -> usize {
        self.shared.blocking_limit
    }

    /// Each worker's current workload, by index.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = aplex_core::testing::inline_executor(2);
    /// assert_eq!(executor.workloads(), [0, 0]);
    /// ```
    pub fn workloads(&self) -> Vec<usize> {
        let gauge = &self.shared.gauge;
        (0..gauge.workloads().len())
            .map(|worker| gauge.shown(worker))
            .collect()
    }

    /// The number of works waiting in the pending queue for a free worker.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = aplex_core::testing::inline_executor(2);
    /// assert_eq!(executor.pending_len(), 0);
    /// ```
    pub fn pending_len(&self) -> usize {
        self.shared.gauge.pending()
    }

    /// What the workers are, by index.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = aplex_core::testing::inline_executor(2);
    /// assert_eq!(executor.worker_infos()[1].index, 1);
    /// ```
    pub fn worker_infos(&self) -> Vec<WorkerInfo> {
        self.shared.infos.get().cloned().unwrap_or_default()
    }

    /// Whether the pool has given up (its workers crashed too often); submits then fail
    /// with [`Error::PoolBroken`].
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = aplex_core::testing::inline_executor(2);
    /// assert!(!executor.is_broken());
    /// ```
    pub fn is_broken(&self) -> bool {
        self.shared.refusal() != Error::ShutDown
    }

    /// Whether shutdown has begun (submits are refused).
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = aplex_core::testing::inline_executor(2);
    /// assert!(!executor.is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        !self.shared.is_running()
    }

    /// A snapshot of the pending queue and of every worker (backends add what only they
    /// know, like process restarts).
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex::backend::Admission;
    /// # use aplex_core::testing::InlineJob;
    /// # use aplex::WorkOptions;
    /// let executor = aplex_core::testing::inline_executor(1);
    /// let future = executor.submit(WorkOptions::new(), Admission::Wait, false, |promise| {
    ///     Box::new(move || { promise.complete(Ok(1)); }) as InlineJob
    /// }).unwrap_or_else(|(_, future)| future);
    /// assert_eq!(future.result(), Ok(1));
    /// assert_eq!(executor.stats().workers[0].completed, 1);
    /// ```
    pub fn stats(&self) -> PoolStats {
        let shared = &self.shared;
        let workers = self
            .worker_infos()
            .into_iter()
            .map(|info| {
                let mut stats = WorkerStats {
                    index: info.index,
                    name: info.name,
                    pid: Some(info.pid),
                    ..WorkerStats::default()
                };
                stats.workload = shared.gauge.shown(info.index);
                shared.outcomes.0[info.index].fill(&mut stats);
                if let Some(worker) = shared.workers().get(info.index) {
                    worker.annotate_stats(&mut stats);
                }
                stats
            })
            .collect();
        PoolStats {
            pending: self.pending_len(),
            workers,
        }
    }

    /// The workers, for backends (stats, tests).
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = aplex_core::testing::inline_executor(2);
    /// assert_eq!(executor.workers().len(), 2);
    /// ```
    pub fn workers(&self) -> &[W] {
        self.shared.workers()
    }
}
