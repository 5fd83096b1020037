//! `Executor`, the backend-independent pool: it starts the workers a backend spawns,
//! admits works, and shuts down.
//!
//! A backend's pool type owns an `Executor` and adds typed `submit`/`map` methods on top;
//! see `dispatch.rs` for how works reach workers, `shutdown.rs` for how the pool stops,
//! and `inspect.rs` for what it tells about itself.

mod inspect;
mod shutdown;

use std::fmt;
use std::sync::Arc;

use crate::balancer::LoadBalancer;
use crate::cell::CancelRunning;
use crate::dispatch::{Admission, Shared};
use crate::future::WorkFuture;
use crate::options::PoolOptions;
use crate::work_options::WorkOptions;
use crate::worker::{CloseMode, Worker, WorkerEvents, WorkerSeat};
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
}
