//! `Executor`, the backend-independent pool: it starts the workers a backend spawns,
//! admits works, and shuts down.
//!
//! A pool ([`Pool`](crate::Pool)) owns an `Executor` and adds typed `submit`/`map` on top;
//! see `dispatch.rs` for how works reach workers, `shutdown.rs` for how the pool stops,
//! and `inspect.rs` for what it tells about itself.

mod inspect;
mod shutdown;

use std::fmt;
use std::sync::Arc;

use crate::backend::chunk_results::ChunkResults;
use crate::balancer::LoadBalancer;
use crate::cell::{CancelRunning, SpareCell};
use crate::dispatch::{Admission, Shared};
use crate::future::{WorkFuture, WorkPromise};
use crate::options::PoolOptions;
use crate::work_options::WorkOptions;
use crate::worker::{CloseMode, Worker, WorkerEvents, WorkerSeat};
use crate::{BuildError, Error};

/// A handle to a running pool of `W` workers. Cheap to clone; the pool lives until its
/// owner shuts it down.
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
    /// let executor = aplex_core::testing::inline_executor(2);
    /// assert_eq!(executor.pool_size(), 2);
    /// # Ok::<(), aplex::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`BuildError`] for a bad setting, or the first error `spawn` returns.
    pub fn start(
        mut options: PoolOptions,
        default_balancer: impl FnOnce() -> Box<dyn LoadBalancer>,
        mut spawn: impl FnMut(WorkerSeat) -> Result<W, BuildError>,
    ) -> Result<Self, BuildError> {
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
            options.max_blocking_works_per_worker,
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

    /// Admits one work: makes its future and promise, and calls `build` with the promise
    /// to make its job — only if the work is admitted, under the pool's lock. `abortable`
    /// says whether a running work can be stopped (async works) or must be left to finish
    /// (blocking works).
    ///
    /// On refusal the future is resolved with the error too, and handed back with it.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::backend::Admission;
    /// use aplex_core::testing::{inline_executor, InlineJob};
    /// use aplex::WorkOptions;
    ///
    /// let executor = inline_executor(2);
    /// let future = executor
    ///     .submit(WorkOptions::new(), Admission::Wait, false, |promise| {
    ///         Box::new(move || { promise.complete(Ok(6 * 7)); }) as InlineJob
    ///     })
    ///     .unwrap_or_else(|(_, future)| future);
    /// assert_eq!(future.result(), Ok(42));
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::ShutDown`] after shutdown; [`Error::QueueFull`] when the bounded pending
    /// queue is full and `admission` is [`Admission::FailFast`].
    #[allow(clippy::type_complexity)] // the refusal and the future it resolved
    pub fn submit<T: Send + 'static>(
        &self,
        options: WorkOptions,
        admission: Admission,
        abortable: bool,
        build: impl FnOnce(WorkPromise<T>) -> W::Job,
    ) -> Result<WorkFuture<T>, (Error, WorkFuture<T>)> {
        let (promise, mut future) = WorkFuture::pair(abortable);
        match self.admit(&mut future, options, admission, true, move || {
            build(promise)
        }) {
            Ok(()) => Ok(future),
            Err(error) => Err((error, future)),
        }
    }

    /// Admits one chunk of `items` items of a map, waiting for room in a bounded queue,
    /// and returns its future (resolved with the refusal if the pool refuses it). What it
    /// dispatches stays staged in the worker until [`flush`](Self::flush): a map submits
    /// a burst of chunks, then flushes once, so each worker gets the burst as one message.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex_core::testing::{inline_executor, InlineJob};
    /// use aplex::WorkOptions;
    ///
    /// let executor = inline_executor(1);
    /// let future = executor.submit_chunk(WorkOptions::new(), false, 2, |promise| {
    ///     Box::new(move || { promise.complete(Ok(vec![Ok(1), Ok(2)].into())); }) as InlineJob
    /// });
    /// executor.flush();
    /// assert_eq!(future.result().unwrap().len(), 2);
    /// ```
    pub fn submit_chunk<U: Send + 'static>(
        &self,
        options: WorkOptions,
        abortable: bool,
        items: usize,
        build: impl FnOnce(WorkPromise<ChunkResults<U>>) -> W::Job,
    ) -> WorkFuture<ChunkResults<U>> {
        self.submit_chunk_reusing(options, abortable, items, None, Admission::Wait, build)
            .unwrap_or_else(|(_refusal_is_in_the_future, future)| future)
    }

    /// [`submit_chunk`](Self::submit_chunk), the future's cell written over `spare`
    /// if there is one (a pool's map keeps the cells of the chunks it has read), and
    /// admitted as `admission` says: with [`Admission::FailFast`], a full bounded queue
    /// gives back [`Error::QueueFull`] and the future, the job unbuilt.
    #[allow(clippy::type_complexity)] // the refusal and the future it resolved
    pub(crate) fn submit_chunk_reusing<U: Send + 'static>(
        &self,
        options: WorkOptions,
        abortable: bool,
        items: usize,
        spare: Option<SpareCell<ChunkResults<U>>>,
        admission: Admission,
        build: impl FnOnce(WorkPromise<ChunkResults<U>>) -> W::Job,
    ) -> Result<WorkFuture<ChunkResults<U>>, (Error, WorkFuture<ChunkResults<U>>)> {
        let (promise, mut future) = WorkFuture::chunk_pair(abortable, items, spare);
        match self.admit(&mut future, options, admission, false, move || {
            build(promise)
        }) {
            Ok(()) => Ok(future),
            Err(error) => Err((error, future)),
        }
    }

    /// Ends once a submit may find room in the bounded pending queue (or the pool has
    /// stopped taking works): what `submit_async` and a map that must not block await
    /// before they try a refused work or chunk again.
    pub(crate) fn room(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        async move {
            loop {
                // Registered before looking, so room freed in between is not missed.
                let mut freed = std::pin::pin!(shared.room_async.notified());
                freed.as_mut().enable();
                if shared.may_have_room() {
                    return;
                }
                freed.await;
            }
        }
    }

    /// Sends every job dispatched by [`submit_chunk`](Self::submit_chunk) so far.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = aplex_core::testing::inline_executor(2);
    /// executor.flush(); // nothing staged: nothing sent
    /// # Ok::<(), aplex::Error>(())
    /// ```
    pub fn flush(&self) {
        self.shared.flush_staged();
    }

    fn admit<T: Send + 'static>(
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
