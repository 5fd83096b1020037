//! `Executor`, the backend-independent pool: it starts the workers a backend spawns,
//! admits works, and shuts down.
//!
//! A backend's pool type owns an `Executor` and adds typed `submit`/`map` methods on top;
//! see `dispatch.rs` for how works reach workers. Shutdown, in numbered steps:
//!
//! 1. `shutdown(wait)` stops intake (later submits fail with [`Error::ShutDown`]).
//! 2. Queued works keep being dispatched as workers free up; once the queue is empty,
//!    every worker is told to close after its in-flight works ([`CloseMode::Drain`]).
//! 3. With `wait`, the caller blocks until the queue has emptied and every worker has
//!    stopped.
//! 4. `shutdown_now` instead cancels every queued work, tells workers to abort their
//!    running async works ([`CloseMode::Abort`]) and joins them; `terminate` does the
//!    same with a deadline, for `Drop`.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use crate::balancer::LoadBalancer;
use crate::cell::CancelRunning;
use crate::dispatch::{shown_workload, Admission, Shared};
use crate::future::WorkFuture;
use crate::options::PoolOptions;
use crate::stats::{PoolStats, WorkerStats};
use crate::work_options::WorkOptions;
use crate::worker::{CloseMode, Worker, WorkerEvents, WorkerInfo, WorkerSeat};
use crate::Error;

/// A handle to a running pool of `W` workers. Cheap to clone; the pool lives until its
/// owner shuts it down.
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
/// let (promise, mut future) = WorkFuture::pair(false);
/// executor.submit(&mut future, WorkOptions::new(), Admission::Wait, move || -> Box<dyn FnOnce() + Send> {
///     Box::new(move || { promise.complete(Ok(6 * 7)); })
/// })?;
/// assert_eq!(future.result()?, 42);
/// # Ok::<(), Error>(())
/// ```
pub struct Executor<W: Worker> {
    pub(crate) shared: Arc<Shared<W>>,
}

impl<W: Worker> Clone for Executor<W> {
    fn clone(&self) -> Self {
        Executor {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<W: Worker> fmt::Debug for Executor<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("pool_size", &self.pool_size())
            .field("workloads", &self.workloads())
            .field("pending", &self.pending_len())
            .field("shut_down", &self.is_shut_down())
            .finish()
    }
}

impl<W: Worker> Executor<W> {
    /// Validates `options`, then starts `pool_size` workers with `spawn`.
    ///
    /// `default_balancer` is used when the options name none. If any worker fails to
    /// start, the ones already started are closed and joined.
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
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a bad setting, or the first error `spawn` returns.
    pub fn start(
        mut options: PoolOptions,
        default_balancer: impl FnOnce() -> Box<dyn LoadBalancer>,
        mut spawn: impl FnMut(WorkerSeat) -> Result<W, Error>,
    ) -> Result<Self, Error> {
        options.validate()?;
        let pool_size = options.resolved_pool_size();
        let balancer = options
            .load_balancer
            .take()
            .unwrap_or_else(default_balancer);
        let shared = Arc::new(Shared::<W>::new(
            pool_size,
            options.max_works_per_worker,
            options.max_pending,
            options.work_timeout,
            balancer,
        ));
        let _ = shared.this.set(Arc::downgrade(&shared));
        let events: Arc<dyn WorkerEvents> = Arc::clone(&shared) as Arc<dyn WorkerEvents>;
        let mut workers = Vec::with_capacity(pool_size);
        for index in 0..pool_size {
            let seat = WorkerSeat {
                index,
                events: Arc::clone(&events),
            };
            match spawn(seat) {
                Ok(worker) => workers.push(worker),
                Err(error) => {
                    for worker in &workers {
                        worker.close(CloseMode::Abort);
                    }
                    for worker in &workers {
                        worker.join(None);
                    }
                    return Err(error);
                }
            }
        }
        let infos = workers.iter().map(Worker::info).collect();
        let _ = shared.infos.set(infos);
        let _ = shared.workers.set(workers);
        Ok(Executor { shared })
    }

    /// Admits one work whose future is `future`; `build` makes the job, and is called only
    /// if the work is admitted.
    ///
    /// On refusal the future is resolved with the error too, so it can be handed back.
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
    /// let (promise, mut future) = WorkFuture::pair(false);
    /// executor.submit(&mut future, WorkOptions::new(), Admission::Wait, move || -> Box<dyn FnOnce() + Send> {
    ///     Box::new(move || { promise.complete(Ok(6 * 7)); })
    /// })?;
    /// assert_eq!(future.result()?, 42);
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::ShutDown`] after shutdown; [`Error::QueueFull`] when the bounded pending
    /// queue is full and `admission` is [`Admission::FailFast`].
    pub fn submit<T: Send + 'static>(
        &self,
        future: &mut WorkFuture<T>,
        options: WorkOptions,
        admission: Admission,
        build: impl FnOnce() -> W::Job,
    ) -> Result<(), Error> {
        self.submit_with(future, options, admission, true, build)
    }

    /// Like [`submit`](Self::submit), but what it dispatches stays staged in the worker
    /// until [`flush`](Self::flush): a map submits a burst of works, then flushes once,
    /// so each worker gets the burst as one message.
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
    /// let (promise, mut future) = WorkFuture::pair(false);
    /// executor.submit_staged(&mut future, WorkOptions::new(), Admission::Wait, move || -> Box<dyn FnOnce() + Send> {
    ///     Box::new(move || { promise.complete(Ok(1)); })
    /// })?;
    /// executor.flush();
    /// assert_eq!(future.result()?, 1);
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_staged<T: Send + 'static>(
        &self,
        future: &mut WorkFuture<T>,
        options: WorkOptions,
        admission: Admission,
        build: impl FnOnce() -> W::Job,
    ) -> Result<(), Error> {
        self.submit_with(future, options, admission, false, build)
    }

    /// Sends every job dispatched by [`submit_staged`](Self::submit_staged) so far.
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
    /// executor.flush(); // nothing staged: nothing sent
    /// # Ok::<(), Error>(())
    /// ```
    pub fn flush(&self) {
        self.shared.flush_staged();
    }

    fn submit_with<T: Send + 'static>(
        &self,
        future: &mut WorkFuture<T>,
        options: WorkOptions,
        admission: Admission,
        flush: bool,
        build: impl FnOnce() -> W::Job,
    ) -> Result<(), Error> {
        future.set_canceller(Arc::clone(&self.shared) as Arc<dyn CancelRunning>);
        let tracked = future.tracked();
        // Keep the unbuilt job here: it owns the work's promise, and dropping that before
        // the refusal is recorded would resolve the future as cancelled instead.
        let mut unbuilt = Some(build);
        let admitted = self
            .shared
            .admit(Arc::clone(&tracked), options, admission, flush, || {
                (unbuilt.take().expect("a job is built at most once"))()
            });
        if let Err(error) = &admitted {
            tracked.fail(error.clone());
        }
        drop(unbuilt);
        admitted
    }

    /// Stops intake; queued and running works still finish. With `wait`, blocks until
    /// they have and every worker has stopped.
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
    /// executor.shutdown(true);
    /// assert!(executor.is_shut_down());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn shutdown(&self, wait: bool) {
        tracing::info!(wait, "aplex pool shutting down");
        let shared = &self.shared;
        let mut queue = shared.lock_queue();
        shared.stop_intake();
        shared.room.notify_all();
        if queue.pending.is_empty() {
            shared.close_workers(CloseMode::Drain);
        }
        if !wait {
            return;
        }
        while !queue.pending.is_empty() {
            queue = shared
                .emptied
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
        drop(queue);
        shared.close_workers(CloseMode::Drain);
        self.join_workers(None);
    }

    /// Like [`shutdown(true)`](Self::shutdown), but only until `deadline`: queued and
    /// running works finish if they can by then; at the deadline what is left is
    /// cancelled as by [`terminate`](Self::terminate). Returns whether every worker
    /// stopped in time.
    pub fn shutdown_until(&self, deadline: Instant) -> bool {
        tracing::info!("aplex pool shutting down, draining until a deadline");
        let shared = &self.shared;
        let mut queue = shared.lock_queue();
        shared.stop_intake();
        shared.room.notify_all();
        while !queue.pending.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(queue);
                return self.terminate(deadline);
            }
            queue = shared
                .emptied
                .wait_timeout(queue, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(queue);
        shared.close_workers(CloseMode::Drain);
        if self.join_workers(Some(deadline)) {
            return true;
        }
        self.terminate(deadline)
    }

    /// Stops intake, cancels every queued work, aborts running async works and waits for
    /// every worker to stop (running blocking works are waited for).
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
    /// executor.shutdown_now();
    /// assert!(executor.is_shut_down());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn shutdown_now(&self) {
        self.cancel_everything();
        self.join_workers(None);
    }

    /// Like [`shutdown_now`](Self::shutdown_now), but stops waiting at `deadline`;
    /// returns whether every worker stopped in time.
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
    /// assert!(executor.terminate(Instant::now()));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn terminate(&self, deadline: Instant) -> bool {
        self.cancel_everything();
        self.join_workers(Some(deadline))
    }

    fn cancel_everything(&self) {
        tracing::info!("aplex pool shutting down, cancelling what is left");
        let shared = &self.shared;
        for pending in shared.take_pending(Shared::stop_intake) {
            pending.fail(Error::Cancelled);
        }
        shared.close_workers(CloseMode::Abort);
    }

    fn join_workers(&self, deadline: Option<Instant>) -> bool {
        let mut all = true;
        for worker in self.shared.workers() {
            all &= worker.join(deadline);
        }
        self.shared.deadlines.stop();
        all
    }

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
