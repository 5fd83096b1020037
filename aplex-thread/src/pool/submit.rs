//! Submitting one work to a thread pool: `submit` and its variants, each a thin layer
//! over `submit_job`, which admits the job that runs the work and fills its promise.

use std::any::Any;
use std::future::Future;

use aplex_core::{Admission, Error, Refused, WorkFuture, WorkOptions, WorkPromise};

use super::ThreadAsyncPoolExecutor;
use crate::job::{async_job, blocking_job, ThreadJob};

impl ThreadAsyncPoolExecutor {
    /// Runs the async work `work(args)` on a worker and returns its future.
    ///
    /// Several arguments travel as a tuple: `pool.submit(|(a, b)| async move { a + b }, (1, 2))`.
    /// If the pool is shut down, the future resolves to [`Error::ShutDown`]. When the
    /// pending queue is bounded and full, this waits for room.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// async fn double(x: u64) -> u64 { x * 2 }
    ///
    /// let future = pool.submit(double, 21);
    /// assert_eq!(future.result()?, 42);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit<F, A, Fut>(&self, work: F, args: A) -> WorkFuture<Fut::Output>
    where
        F: FnOnce(A) -> Fut + Send + 'static,
        A: Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        self.submit_with(work, args, WorkOptions::new())
    }

    /// Like [`submit`](Self::submit), passing `meta` to the load balancer (the seeds'
    /// `load_balancing_meta`).
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let future = pool.submit_with_meta(|x: u32| async move { x + 1 }, 1, "high-priority");
    /// assert_eq!(future.result()?, 2);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_with_meta<F, A, Fut, M>(
        &self,
        work: F,
        args: A,
        meta: M,
    ) -> WorkFuture<Fut::Output>
    where
        F: FnOnce(A) -> Fut + Send + 'static,
        A: Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
        M: Any + Send + Sync,
    {
        self.submit_with(work, args, WorkOptions::new().meta(meta))
    }

    /// Like [`submit`](Self::submit), with per-work [`WorkOptions`]: the balancer's
    /// meta and a timeout (past it the work is aborted and its future says
    /// [`Error::TimedOut`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use aplex_core::{Error, WorkOptions};
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    ///
    /// let stuck = pool.submit_with(
    ///     |()| std::future::pending::<()>(),
    ///     (),
    ///     WorkOptions::new().timeout(Duration::from_millis(20)),
    /// );
    /// assert_eq!(stuck.result(), Err(Error::TimedOut));
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_with<F, A, Fut>(
        &self,
        work: F,
        args: A,
        options: WorkOptions,
    ) -> WorkFuture<Fut::Output>
    where
        F: FnOnce(A) -> Fut + Send + 'static,
        A: Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        self.submit_job(options, Admission::Wait, true, |promise| {
            async_job(work, args, promise)
        })
        .unwrap_or_else(|(_, future)| future)
    }

    /// Like [`submit_blocking`](Self::submit_blocking), with per-work [`WorkOptions`].
    /// A blocking work past its timeout cannot be stopped: its future says
    /// [`Error::TimedOut`] and the work is left to finish (its slot stays taken until
    /// then).
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex_core::WorkOptions;
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    ///
    /// let future = pool.submit_blocking_with(|x: u8| x + 1, 1, WorkOptions::new().meta("any"));
    /// assert_eq!(future.result()?, 2);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_blocking_with<F, A, R>(
        &self,
        work: F,
        args: A,
        options: WorkOptions,
    ) -> WorkFuture<R>
    where
        F: FnOnce(A) -> R + Send + 'static,
        A: Send + 'static,
        R: Send + 'static,
    {
        self.submit_job(options, Admission::Wait, false, |promise| {
            blocking_job(work, args, promise)
        })
        .unwrap_or_else(|(_, future)| future)
    }

    /// Runs the plain function `work(args)` on a worker runtime's blocking pool and
    /// returns its future. A running blocking work cannot be cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// fn square(x: u64) -> u64 { x * x }
    ///
    /// assert_eq!(pool.submit_blocking(square, 7).result()?, 49);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_blocking<F, A, R>(&self, work: F, args: A) -> WorkFuture<R>
    where
        F: FnOnce(A) -> R + Send + 'static,
        A: Send + 'static,
        R: Send + 'static,
    {
        self.submit_blocking_with(work, args, WorkOptions::new())
    }

    /// Like [`submit_blocking`](Self::submit_blocking), passing `meta` to the balancer.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let future = pool.submit_blocking_with_meta(|x: u32| x * 3, 3, 0_usize);
    /// assert_eq!(future.result()?, 9);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_blocking_with_meta<F, A, R, M>(&self, work: F, args: A, meta: M) -> WorkFuture<R>
    where
        F: FnOnce(A) -> R + Send + 'static,
        A: Send + 'static,
        R: Send + 'static,
        M: Any + Send + Sync,
    {
        self.submit_blocking_with(work, args, WorkOptions::new().meta(meta))
    }

    /// Like [`submit`](Self::submit), but never waits: if the bounded pending queue is
    /// full or the pool is shut down, the work and its arguments are handed back.
    ///
    /// # Errors
    ///
    /// [`Refused`] carrying [`Error::QueueFull`] or [`Error::ShutDown`] and `(work, args)`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// pool.shutdown(true);
    /// let refused = pool.try_submit(|x: u8| async move { x }, 5).unwrap_err();
    /// assert_eq!(refused.error, aplex_core::Error::ShutDown);
    /// let (_work, args) = refused.work;
    /// assert_eq!(args, 5);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    #[allow(clippy::result_large_err)] // the refusal hands back the caller's own values
    pub fn try_submit<F, A, Fut>(
        &self,
        work: F,
        args: A,
    ) -> Result<WorkFuture<Fut::Output>, Refused<(F, A)>>
    where
        F: FnOnce(A) -> Fut + Send + 'static,
        A: Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let mut parts = Some((work, args));
        let submitted = self.submit_job(WorkOptions::new(), Admission::FailFast, true, |promise| {
            let (work, args) = parts.take().expect("the job is built once");
            async_job(work, args, promise)
        });
        refuse_with(submitted, parts)
    }

    /// Like [`submit_blocking`](Self::submit_blocking), but never waits; see
    /// [`try_submit`](Self::try_submit).
    ///
    /// # Errors
    ///
    /// [`Refused`] carrying [`Error::QueueFull`] or [`Error::ShutDown`] and `(work, args)`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let future = pool.try_submit_blocking(|x: u8| x + 1, 1).expect("room in the queue");
    /// assert_eq!(future.result()?, 2);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    #[allow(clippy::result_large_err)] // the refusal hands back the caller's own values
    pub fn try_submit_blocking<F, A, R>(
        &self,
        work: F,
        args: A,
    ) -> Result<WorkFuture<R>, Refused<(F, A)>>
    where
        F: FnOnce(A) -> R + Send + 'static,
        A: Send + 'static,
        R: Send + 'static,
    {
        let mut parts = Some((work, args));
        let submitted =
            self.submit_job(WorkOptions::new(), Admission::FailFast, false, |promise| {
                let (work, args) = parts.take().expect("the job is built once");
                blocking_job(work, args, promise)
            });
        refuse_with(submitted, parts)
    }

    fn submit_job<T: Send + 'static>(
        &self,
        options: WorkOptions,
        admission: Admission,
        abortable: bool,
        make: impl FnOnce(WorkPromise<T>) -> ThreadJob,
    ) -> Result<WorkFuture<T>, (Error, WorkFuture<T>)> {
        let (promise, mut future) = WorkFuture::pair(abortable);
        match self
            .executor
            .submit(&mut future, options, admission, move || make(promise))
        {
            Ok(()) => Ok(future),
            Err(error) => Err((error, future)),
        }
    }
}

#[allow(clippy::result_large_err)] // the refusal hands back the caller's own values
fn refuse_with<T, P>(
    submitted: Result<WorkFuture<T>, (Error, WorkFuture<T>)>,
    parts: Option<P>,
) -> Result<WorkFuture<T>, Refused<P>> {
    match (submitted, parts) {
        (Ok(future), _) => Ok(future),
        (Err((error, _)), Some(work)) => Err(Refused { error, work }),
        (Err((_, future)), None) => Ok(future),
    }
}
