//! Submitting one registered work to a process pool: `submit` and its variants, each a
//! thin layer over `submit_work`, which looks the work up, encodes its argument, and
//! admits its job.

use std::any::Any;
use std::future::Future;

use aplex_core::{Admission, Error, Executor, Refused, WorkFuture, WorkOptions, WorkPromise};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::ProcessAsyncPoolExecutor;
use crate::job::{encode_chunk, single_job, ProcessJob, Retry};
use crate::registry::lookup;
use crate::worker::ProcessWorker;

impl ProcessAsyncPoolExecutor {
    /// Runs the registered async work `work(args)` in a worker process.
    ///
    /// The future resolves to [`Error::UnknownWork`] if `work` is not marked
    /// `#[aplex::work]`, to [`Error::Serialization`] if `args` cannot be encoded or the
    /// output decoded, and to [`Error::ShutDown`] after shutdown.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// async fn add((a, b): (u64, u64)) -> u64 { a + b }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// assert_eq!(pool.submit(add, (2, 3)).result()?, 5);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit<F, A, Fut>(&self, work: F, args: A) -> WorkFuture<Fut::Output>
    where
        F: FnOnce(A) -> Fut + 'static,
        A: Serialize,
        Fut: Future,
        Fut::Output: DeserializeOwned + Send + 'static,
    {
        self.submit_with(work, args, WorkOptions::new())
    }

    /// Like [`submit`](Self::submit), passing `meta` to the load balancer.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// async fn id(x: u8) -> u8 { x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// assert_eq!(pool.submit_with_meta(id, 7, "any meta").result()?, 7);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_with_meta<F, A, Fut, M>(
        &self,
        work: F,
        args: A,
        meta: M,
    ) -> WorkFuture<Fut::Output>
    where
        F: FnOnce(A) -> Fut + 'static,
        A: Serialize,
        Fut: Future,
        Fut::Output: DeserializeOwned + Send + 'static,
        M: Any + Send + Sync,
    {
        self.submit_with(work, args, WorkOptions::new().meta(meta))
    }

    /// Like [`submit`](Self::submit), with per-work [`WorkOptions`]: the balancer's
    /// meta and a timeout (past it the work is aborted in its worker and its future says
    /// [`Error::TimedOut`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// use std::time::Duration;
    /// use aplex_core::{Error, WorkOptions};
    ///
    /// #[aplex::work]
    /// async fn nap(ms: u64) { tokio::time::sleep(Duration::from_millis(ms)).await }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let options = WorkOptions::new().timeout(Duration::from_millis(20));
    /// assert_eq!(pool.submit_with(nap, 60_000, options).result(), Err(Error::TimedOut));
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_with<F, A, Fut>(
        &self,
        work: F,
        args: A,
        options: WorkOptions,
    ) -> WorkFuture<Fut::Output>
    where
        F: FnOnce(A) -> Fut + 'static,
        A: Serialize,
        Fut: Future,
        Fut::Output: DeserializeOwned + Send + 'static,
    {
        drop(work);
        self.submit_work::<F, A, Fut::Output>(true, &args, options, Admission::Wait)
            .unwrap_or_else(|(_, future)| future)
    }

    /// Like [`submit_blocking`](Self::submit_blocking), with per-work [`WorkOptions`].
    /// A blocking work past its timeout is left to finish (its future says
    /// [`Error::TimedOut`] at once), unless the pool was built with
    /// [`kill_on_timeout`](crate::ProcessPoolBuilder::kill_on_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// use aplex_core::WorkOptions;
    ///
    /// #[aplex::work]
    /// fn square(x: u64) -> u64 { x * x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// assert_eq!(pool.submit_blocking_with(square, 4, WorkOptions::new()).result()?, 16);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_blocking_with<F, A, R>(
        &self,
        work: F,
        args: A,
        options: WorkOptions,
    ) -> WorkFuture<R>
    where
        F: FnOnce(A) -> R + 'static,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        drop(work);
        self.submit_work::<F, A, R>(false, &args, options, Admission::Wait)
            .unwrap_or_else(|(_, future)| future)
    }

    /// Runs the registered plain function `work(args)` on a worker process's blocking
    /// pool. A running blocking work cannot be cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// fn square(x: u64) -> u64 { x * x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// assert_eq!(pool.submit_blocking(square, 7).result()?, 49);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_blocking<F, A, R>(&self, work: F, args: A) -> WorkFuture<R>
    where
        F: FnOnce(A) -> R + 'static,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        self.submit_blocking_with(work, args, WorkOptions::new())
    }

    /// Like [`submit_blocking`](Self::submit_blocking), passing `meta` to the balancer.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// fn square(x: u64) -> u64 { x * x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// assert_eq!(pool.submit_blocking_with_meta(square, 3, 0_usize).result()?, 9);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn submit_blocking_with_meta<F, A, R, M>(&self, work: F, args: A, meta: M) -> WorkFuture<R>
    where
        F: FnOnce(A) -> R + 'static,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        M: Any + Send + Sync,
    {
        self.submit_blocking_with(work, args, WorkOptions::new().meta(meta))
    }

    /// Like [`submit`](Self::submit), but never waits; any refusal hands the work and its
    /// arguments back.
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// async fn id(x: u8) -> u8 { x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// pool.shutdown(true);
    /// let refused = pool.try_submit(id, 4).unwrap_err();
    /// assert_eq!(refused.error, aplex_core::Error::ShutDown);
    /// assert_eq!(refused.work.1, 4);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Refused`] with [`Error::QueueFull`], [`Error::ShutDown`], [`Error::UnknownWork`]
    /// or [`Error::Serialization`], and `(work, args)`.
    #[allow(clippy::result_large_err)] // the refusal hands back the caller's own values
    pub fn try_submit<F, A, Fut>(
        &self,
        work: F,
        args: A,
    ) -> Result<WorkFuture<Fut::Output>, Refused<(F, A)>>
    where
        F: FnOnce(A) -> Fut + 'static,
        A: Serialize,
        Fut: Future,
        Fut::Output: DeserializeOwned + Send + 'static,
    {
        match self.submit_work::<F, A, Fut::Output>(
            true,
            &args,
            WorkOptions::new(),
            Admission::FailFast,
        ) {
            Ok(future) => Ok(future),
            Err((error, _)) => Err(Refused {
                error,
                work: (work, args),
            }),
        }
    }

    /// Like [`submit_blocking`](Self::submit_blocking), but never waits; see
    /// [`try_submit`](Self::try_submit).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// fn square(x: u64) -> u64 { x * x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let future = pool.try_submit_blocking(square, 5).expect("room in the queue");
    /// assert_eq!(future.result()?, 25);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`try_submit`](Self::try_submit).
    #[allow(clippy::result_large_err)] // the refusal hands back the caller's own values
    pub fn try_submit_blocking<F, A, R>(
        &self,
        work: F,
        args: A,
    ) -> Result<WorkFuture<R>, Refused<(F, A)>>
    where
        F: FnOnce(A) -> R + 'static,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        match self.submit_work::<F, A, R>(false, &args, WorkOptions::new(), Admission::FailFast) {
            Ok(future) => Ok(future),
            Err((error, _)) => Err(Refused {
                error,
                work: (work, args),
            }),
        }
    }

    fn submit_work<F, A: Serialize, T: DeserializeOwned + Send + 'static>(
        &self,
        want_async: bool,
        args: &A,
        options: WorkOptions,
        admission: Admission,
    ) -> Result<WorkFuture<T>, (Error, WorkFuture<T>)> {
        let prepared = lookup::<F>(want_async).and_then(|(index, name)| {
            let (bytes, mut failed) = encode_chunk(std::slice::from_ref(args), name);
            match failed.pop() {
                Some((_, error)) => Err(error),
                None => Ok((index, name, bytes)),
            }
        });
        let (index, name, bytes) = match prepared {
            Ok(prepared) => prepared,
            Err(error) => return Err((error.clone(), WorkFuture::failed(error))),
        };
        let retry = Retry::new(&self.executor, &options, &bytes);
        submit_to(&self.executor, options, admission, want_async, |promise| {
            single_job(index, name, bytes, promise, retry, !want_async)
        })
    }
}

fn submit_to<T: Send + 'static>(
    executor: &Executor<ProcessWorker>,
    options: WorkOptions,
    admission: Admission,
    abortable: bool,
    make: impl FnOnce(WorkPromise<T>) -> ProcessJob,
) -> Result<WorkFuture<T>, (Error, WorkFuture<T>)> {
    let (promise, mut future) = WorkFuture::pair(abortable);
    match executor.submit(&mut future, options, admission, move || make(promise)) {
        Ok(()) => Ok(future),
        Err(error) => Err((error, future)),
    }
}
