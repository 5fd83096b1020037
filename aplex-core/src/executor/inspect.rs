//! What an [`Executor`] tells about itself: its size and settings, each worker's
//! workload and identity, the pending queue, its state, and per-worker stats.

use std::sync::atomic::Ordering;

use super::Executor;
use crate::dispatch::shown_workload;
use crate::stats::{PoolStats, WorkerStats};
use crate::worker::{Worker, WorkerInfo};
use crate::Error;

impl<W: Worker> Executor<W> {
    /// The number of workers.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Instant;
    /// # use aplex_core::*;
    /// # /// A worker that runs each job at once on the submitting thread.
    /// # struct Inline(WorkerSeat);
    /// # impl Worker for Inline {
    /// #     type Job = Box<dyn FnOnce() + Send>;
    /// #     fn info(&self) -> WorkerInfo {
    /// #         WorkerInfo { index: self.0.index, name: "inline".into(), pid: std::process::id() }
    /// #     }
    /// #     fn dispatch(&self, _id: WorkId, job: Self::Job) -> Result<(), Self::Job> {
    /// #         job();
    /// #         self.0.events.work_finished(self.0.index);
    /// #         Ok(())
    /// #     }
    /// #     fn cancel(&self, _id: WorkId) {}
    /// #     fn close(&self, _mode: CloseMode) {}
    /// #     fn join(&self, _deadline: Option<Instant>) -> bool { true }
    /// # }
    /// # struct First;
    /// # impl LoadBalancer for First {
    /// #     fn get_proper_worker(&mut self, w: &WorkerView<'_>, _: Option<&Meta>) -> usize { w.available_workers().next().unwrap() }
    /// # }
    /// let options = PoolOptions { pool_size: Some(2), ..PoolOptions::default() };
    /// let executor = Executor::start(options, || Box::new(First), |seat| Ok(Inline(seat)))?;
    /// assert_eq!(executor.pool_size(), 2);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn pool_size(&self) -> usize {
        self.shared.workloads.len()
    }

    /// The most works one worker runs at once.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Instant;
    /// # use aplex_core::*;
    /// # /// A worker that runs each job at once on the submitting thread.
    /// # struct Inline(WorkerSeat);
    /// # impl Worker for Inline {
    /// #     type Job = Box<dyn FnOnce() + Send>;
    /// #     fn info(&self) -> WorkerInfo {
    /// #         WorkerInfo { index: self.0.index, name: "inline".into(), pid: std::process::id() }
    /// #     }
    /// #     fn dispatch(&self, _id: WorkId, job: Self::Job) -> Result<(), Self::Job> {
    /// #         job();
    /// #         self.0.events.work_finished(self.0.index);
    /// #         Ok(())
    /// #     }
    /// #     fn cancel(&self, _id: WorkId) {}
    /// #     fn close(&self, _mode: CloseMode) {}
    /// #     fn join(&self, _deadline: Option<Instant>) -> bool { true }
    /// # }
    /// # struct First;
    /// # impl LoadBalancer for First {
    /// #     fn get_proper_worker(&mut self, w: &WorkerView<'_>, _: Option<&Meta>) -> usize { w.available_workers().next().unwrap() }
    /// # }
    /// let options = PoolOptions { pool_size: Some(2), ..PoolOptions::default() };
    /// let executor = Executor::start(options, || Box::new(First), |seat| Ok(Inline(seat)))?;
    /// assert_eq!(executor.max_works_per_worker(), DEFAULT_MAX_WORKS_PER_WORKER);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn max_works_per_worker(&self) -> usize {
        self.shared.max_works_per_worker
    }

    /// Each worker's current workload, by index.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Instant;
    /// # use aplex_core::*;
    /// # /// A worker that runs each job at once on the submitting thread.
    /// # struct Inline(WorkerSeat);
    /// # impl Worker for Inline {
    /// #     type Job = Box<dyn FnOnce() + Send>;
    /// #     fn info(&self) -> WorkerInfo {
    /// #         WorkerInfo { index: self.0.index, name: "inline".into(), pid: std::process::id() }
    /// #     }
    /// #     fn dispatch(&self, _id: WorkId, job: Self::Job) -> Result<(), Self::Job> {
    /// #         job();
    /// #         self.0.events.work_finished(self.0.index);
    /// #         Ok(())
    /// #     }
    /// #     fn cancel(&self, _id: WorkId) {}
    /// #     fn close(&self, _mode: CloseMode) {}
    /// #     fn join(&self, _deadline: Option<Instant>) -> bool { true }
    /// # }
    /// # struct First;
    /// # impl LoadBalancer for First {
    /// #     fn get_proper_worker(&mut self, w: &WorkerView<'_>, _: Option<&Meta>) -> usize { w.available_workers().next().unwrap() }
    /// # }
    /// let options = PoolOptions { pool_size: Some(2), ..PoolOptions::default() };
    /// let executor = Executor::start(options, || Box::new(First), |seat| Ok(Inline(seat)))?;
    /// assert_eq!(executor.workloads(), [0, 0]);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn workloads(&self) -> Vec<usize> {
        self.shared
            .workloads
            .iter()
            .map(|load| shown_workload(load.load(Ordering::SeqCst)))
            .collect()
    }

    /// The number of works waiting in the pending queue for a free worker.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Instant;
    /// # use aplex_core::*;
    /// # /// A worker that runs each job at once on the submitting thread.
    /// # struct Inline(WorkerSeat);
    /// # impl Worker for Inline {
    /// #     type Job = Box<dyn FnOnce() + Send>;
    /// #     fn info(&self) -> WorkerInfo {
    /// #         WorkerInfo { index: self.0.index, name: "inline".into(), pid: std::process::id() }
    /// #     }
    /// #     fn dispatch(&self, _id: WorkId, job: Self::Job) -> Result<(), Self::Job> {
    /// #         job();
    /// #         self.0.events.work_finished(self.0.index);
    /// #         Ok(())
    /// #     }
    /// #     fn cancel(&self, _id: WorkId) {}
    /// #     fn close(&self, _mode: CloseMode) {}
    /// #     fn join(&self, _deadline: Option<Instant>) -> bool { true }
    /// # }
    /// # struct First;
    /// # impl LoadBalancer for First {
    /// #     fn get_proper_worker(&mut self, w: &WorkerView<'_>, _: Option<&Meta>) -> usize { w.available_workers().next().unwrap() }
    /// # }
    /// let options = PoolOptions { pool_size: Some(2), ..PoolOptions::default() };
    /// let executor = Executor::start(options, || Box::new(First), |seat| Ok(Inline(seat)))?;
    /// assert_eq!(executor.pending_len(), 0);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn pending_len(&self) -> usize {
        self.shared.pending_len.load(Ordering::SeqCst)
    }

    /// What the workers are, by index.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Instant;
    /// # use aplex_core::*;
    /// # /// A worker that runs each job at once on the submitting thread.
    /// # struct Inline(WorkerSeat);
    /// # impl Worker for Inline {
    /// #     type Job = Box<dyn FnOnce() + Send>;
    /// #     fn info(&self) -> WorkerInfo {
    /// #         WorkerInfo { index: self.0.index, name: "inline".into(), pid: std::process::id() }
    /// #     }
    /// #     fn dispatch(&self, _id: WorkId, job: Self::Job) -> Result<(), Self::Job> {
    /// #         job();
    /// #         self.0.events.work_finished(self.0.index);
    /// #         Ok(())
    /// #     }
    /// #     fn cancel(&self, _id: WorkId) {}
    /// #     fn close(&self, _mode: CloseMode) {}
    /// #     fn join(&self, _deadline: Option<Instant>) -> bool { true }
    /// # }
    /// # struct First;
    /// # impl LoadBalancer for First {
    /// #     fn get_proper_worker(&mut self, w: &WorkerView<'_>, _: Option<&Meta>) -> usize { w.available_workers().next().unwrap() }
    /// # }
    /// let options = PoolOptions { pool_size: Some(2), ..PoolOptions::default() };
    /// let executor = Executor::start(options, || Box::new(First), |seat| Ok(Inline(seat)))?;
    /// assert_eq!(executor.worker_infos()[1].index, 1);
    /// # Ok::<(), Error>(())
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
    /// # use std::time::Instant;
    /// # use aplex_core::*;
    /// # /// A worker that runs each job at once on the submitting thread.
    /// # struct Inline(WorkerSeat);
    /// # impl Worker for Inline {
    /// #     type Job = Box<dyn FnOnce() + Send>;
    /// #     fn info(&self) -> WorkerInfo {
    /// #         WorkerInfo { index: self.0.index, name: "inline".into(), pid: std::process::id() }
    /// #     }
    /// #     fn dispatch(&self, _id: WorkId, job: Self::Job) -> Result<(), Self::Job> {
    /// #         job();
    /// #         self.0.events.work_finished(self.0.index);
    /// #         Ok(())
    /// #     }
    /// #     fn cancel(&self, _id: WorkId) {}
    /// #     fn close(&self, _mode: CloseMode) {}
    /// #     fn join(&self, _deadline: Option<Instant>) -> bool { true }
    /// # }
    /// # struct First;
    /// # impl LoadBalancer for First {
    /// #     fn get_proper_worker(&mut self, w: &WorkerView<'_>, _: Option<&Meta>) -> usize { w.available_workers().next().unwrap() }
    /// # }
    /// let options = PoolOptions { pool_size: Some(2), ..PoolOptions::default() };
    /// let executor = Executor::start(options, || Box::new(First), |seat| Ok(Inline(seat)))?;
    /// assert!(!executor.is_broken());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn is_broken(&self) -> bool {
        self.shared.refusal() != Error::ShutDown
    }

    /// Whether shutdown has begun (submits are refused).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Instant;
    /// # use aplex_core::*;
    /// # /// A worker that runs each job at once on the submitting thread.
    /// # struct Inline(WorkerSeat);
    /// # impl Worker for Inline {
    /// #     type Job = Box<dyn FnOnce() + Send>;
    /// #     fn info(&self) -> WorkerInfo {
    /// #         WorkerInfo { index: self.0.index, name: "inline".into(), pid: std::process::id() }
    /// #     }
    /// #     fn dispatch(&self, _id: WorkId, job: Self::Job) -> Result<(), Self::Job> {
    /// #         job();
    /// #         self.0.events.work_finished(self.0.index);
    /// #         Ok(())
    /// #     }
    /// #     fn cancel(&self, _id: WorkId) {}
    /// #     fn close(&self, _mode: CloseMode) {}
    /// #     fn join(&self, _deadline: Option<Instant>) -> bool { true }
    /// # }
    /// # struct First;
    /// # impl LoadBalancer for First {
    /// #     fn get_proper_worker(&mut self, w: &WorkerView<'_>, _: Option<&Meta>) -> usize { w.available_workers().next().unwrap() }
    /// # }
    /// let options = PoolOptions { pool_size: Some(2), ..PoolOptions::default() };
    /// let executor = Executor::start(options, || Box::new(First), |seat| Ok(Inline(seat)))?;
    /// assert!(!executor.is_shut_down());
    /// # Ok::<(), Error>(())
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
    /// # use std::time::Instant;
    /// # use aplex_core::*;
    /// # struct Inline(WorkerSeat);
    /// # impl Worker for Inline {
    /// #     type Job = Box<dyn FnOnce() + Send>;
    /// #     fn info(&self) -> WorkerInfo { WorkerInfo { index: self.0.index, name: "inline".into(), pid: 1 } }
    /// #     fn dispatch(&self, _id: WorkId, job: Self::Job) -> Result<(), Self::Job> {
    /// #         job();
    /// #         self.0.events.work_finished(self.0.index);
    /// #         Ok(())
    /// #     }
    /// #     fn cancel(&self, _id: WorkId) {}
    /// #     fn close(&self, _mode: CloseMode) {}
    /// #     fn join(&self, _deadline: Option<Instant>) -> bool { true }
    /// # }
    /// # struct First;
    /// # impl LoadBalancer for First {
    /// #     fn get_proper_worker(&mut self, w: &WorkerView<'_>, _: Option<&Meta>) -> usize { w.available_workers().next().unwrap() }
    /// # }
    /// let options = PoolOptions { pool_size: Some(1), ..PoolOptions::default() };
    /// let executor = Executor::start(options, || Box::new(First), |seat| Ok(Inline(seat)))?;
    /// let (promise, mut future) = WorkFuture::pair(false);
    /// executor.submit(&mut future, WorkOptions::new(), Admission::Wait, move || -> Box<dyn FnOnce() + Send> {
    ///     Box::new(move || { promise.complete(Ok(1)); })
    /// })?;
    /// assert_eq!(future.result()?, 1);
    /// assert_eq!(executor.stats().workers[0].completed, 1);
    /// # Ok::<(), Error>(())
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
                stats.workload =
                    shown_workload(shared.workloads[info.index].load(Ordering::SeqCst));
                shared.outcomes.0[info.index].fill(&mut stats);
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
    /// # use std::time::Instant;
    /// # use aplex_core::*;
    /// # /// A worker that runs each job at once on the submitting thread.
    /// # struct Inline(WorkerSeat);
    /// # impl Worker for Inline {
    /// #     type Job = Box<dyn FnOnce() + Send>;
    /// #     fn info(&self) -> WorkerInfo {
    /// #         WorkerInfo { index: self.0.index, name: "inline".into(), pid: std::process::id() }
    /// #     }
    /// #     fn dispatch(&self, _id: WorkId, job: Self::Job) -> Result<(), Self::Job> {
    /// #         job();
    /// #         self.0.events.work_finished(self.0.index);
    /// #         Ok(())
    /// #     }
    /// #     fn cancel(&self, _id: WorkId) {}
    /// #     fn close(&self, _mode: CloseMode) {}
    /// #     fn join(&self, _deadline: Option<Instant>) -> bool { true }
    /// # }
    /// # struct First;
    /// # impl LoadBalancer for First {
    /// #     fn get_proper_worker(&mut self, w: &WorkerView<'_>, _: Option<&Meta>) -> usize { w.available_workers().next().unwrap() }
    /// # }
    /// let options = PoolOptions { pool_size: Some(2), ..PoolOptions::default() };
    /// let executor = Executor::start(options, || Box::new(First), |seat| Ok(Inline(seat)))?;
    /// assert_eq!(executor.workers().len(), 2);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn workers(&self) -> &[W] {
        self.shared.workers()
    }
}
