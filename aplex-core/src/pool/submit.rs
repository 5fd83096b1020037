//! Submitting one work: `submit`, `submit_with` and `try_submit`, each a thin layer over
//! `submit_work`, which asks the backend to ready the argument, admits the work and
//! returns its future.

use crate::backend::accepts::Accepts;
use crate::dispatch::Admission;
use crate::work::{Work, WorkKind};
use crate::worker::Worker;
use crate::{Error, Pool, Refused, WorkFuture, WorkOptions};

impl<B: Worker> Pool<B> {
    /// Runs `work(args)` on a worker and returns its future.
    ///
    /// An async work (an `async fn`, or a closure returning a future) runs as a task on
    /// the worker's runtime; a plain function wrapped in [`blocking`](crate::blocking)
    /// runs on that runtime's blocking pool. Several arguments travel as a tuple. When
    /// the pending queue is bounded and full, this waits for room — except on a thread
    /// that must not block (one driving an async runtime's tasks, or a pool's own
    /// worker), where the future resolves [`Error::BlockingInRuntime`] instead:
    /// [`submit_async`](Self::submit_async) awaits room there.
    ///
    /// The future resolves to [`Error::ShutDown`] after shutdown; on the process pool, to
    /// [`Error::UnknownWork`] for a work not marked `#[aplex::work]` and to
    /// [`Error::Serialization`] if the argument cannot be encoded or the output decoded.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::{blocking, ThreadAsyncPoolExecutor};
    ///
    /// async fn double(x: u64) -> u64 { x * 2 }
    /// fn add((a, b): (u64, u64)) -> u64 { a + b }
    ///
    /// let pool = ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// assert_eq!(pool.submit(double, 21).result()?, 42);
    /// assert_eq!(pool.submit(blocking(add), (2, 3)).result()?, 5);
    /// assert_eq!(pool.submit(|s: String| async move { s.len() }, "four".into()).result()?, 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit<W, A>(&self, work: W, args: A) -> WorkFuture<W::Out>
    where
        B: Accepts<W, A>,
        W: Work<A>,
        W::Out: Send + 'static,
    {
        self.submit_with(work, args, WorkOptions::new())
    }

    /// Like [`submit`](Self::submit), with per-work [`WorkOptions`]: the load balancer's
    /// meta, a timeout, retries after a crash.
    ///
    /// Past its timeout an async work is aborted; a blocking work is left to finish (its
    /// slot stays taken until then) unless a process pool kills it (`kill_on_timeout`).
    /// Either way its future says [`Error::TimedOut`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use aplex::{Error, WorkOptions};
    ///
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let stuck = pool.submit_with(
    ///     |()| std::future::pending::<()>(),
    ///     (),
    ///     WorkOptions::new().timeout(Duration::from_millis(20)),
    /// );
    /// assert_eq!(stuck.result(), Err(Error::TimedOut { clock: aplex::Clock::Work }));
    /// let routed = pool.submit_with(|x: u8| async move { x }, 1, WorkOptions::new().meta("fast"));
    /// assert_eq!(routed.result(), Ok(1));
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn submit_with<W, A>(&self, work: W, args: A, options: WorkOptions) -> WorkFuture<W::Out>
    where
        B: Accepts<W, A>,
        W: Work<A>,
        W::Out: Send + 'static,
    {
        let mut parts = Some((work, args));
        // Waiting for room on a thread that must not block could stall, even deadlock,
        // the runtime whose works would free it. Asked only of a bounded queue.
        let admission = if self.executor().queue_is_bounded() && super::must_not_block() {
            Admission::FailFast
        } else {
            Admission::Wait
        };
        match self.submit_work(&mut parts, options, admission) {
            Ok(future) => future,
            Err((Error::QueueFull { .. }, _)) if admission == Admission::FailFast => {
                WorkFuture::failed(Error::BlockingInRuntime)
            }
            Err((_, future)) => future,
        }
    }

    /// Like [`submit`](Self::submit), but never waits: if the bounded pending queue is
    /// full, the pool is shut down or the work cannot be sent, the work and its argument
    /// are handed back.
    ///
    /// # Errors
    ///
    /// [`Refused`] carrying the reason ([`Error::QueueFull`], [`Error::ShutDown`], or on
    /// the process pool [`Error::UnknownWork`], [`Error::WrongKind`] or
    /// [`Error::Serialization`]) and `(work, args)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// pool.shutdown(true);
    /// let refused = pool.try_submit(|x: u8| async move { x }, 5).unwrap_err();
    /// assert_eq!(refused.error, aplex::Error::ShutDown);
    /// let (_work, args) = refused.work;
    /// assert_eq!(args, 5);
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    #[allow(clippy::result_large_err)] // the refusal hands back the caller's own values
    pub fn try_submit<W, A>(&self, work: W, args: A) -> Result<WorkFuture<W::Out>, Refused<(W, A)>>
    where
        B: Accepts<W, A>,
        W: Work<A>,
        W::Out: Send + 'static,
    {
        self.try_submit_with(work, args, WorkOptions::new())
    }

    /// [`try_submit`](Self::try_submit) with per-work options.
    #[allow(clippy::result_large_err)] // the refusal hands back the caller's own values
    pub(crate) fn try_submit_with<W, A>(
        &self,
        work: W,
        args: A,
        options: WorkOptions,
    ) -> Result<WorkFuture<W::Out>, Refused<(W, A)>>
    where
        B: Accepts<W, A>,
        W: Work<A>,
        W::Out: Send + 'static,
    {
        let mut parts = Some((work, args));
        match self.submit_work(&mut parts, options, Admission::FailFast) {
            Ok(future) => Ok(future),
            Err((error, future)) => match parts {
                Some(work) => Err(Refused { error, work }),
                // Built, so admitted after all: the future tells the rest.
                None => Ok(future),
            },
        }
    }

    /// Readies `parts` for the backend, admits the work and returns its future; `parts`
    /// is taken only when the job is built, so a refused work can be handed back.
    #[allow(clippy::type_complexity)] // the refusal and the future it resolved
    fn submit_work<W, A>(
        &self,
        parts: &mut Option<(W, A)>,
        options: WorkOptions,
        admission: Admission,
    ) -> Result<WorkFuture<W::Out>, (Error, WorkFuture<W::Out>)>
    where
        B: Accepts<W, A>,
        W: Work<A>,
        W::Out: Send + 'static,
    {
        let executor = self.executor();
        let readied = B::target().and_then(|target| {
            let (_, args) = parts.as_ref().expect("the parts are here until built");
            let packed = B::pack(executor, &target, args, &options)?;
            Ok((target, packed))
        });
        let (target, packed) = match readied {
            Ok(readied) => readied,
            Err(error) => return Err((error.clone(), WorkFuture::failed(error))),
        };
        let abortable = W::KIND == WorkKind::Async;
        executor.submit(options, admission, abortable, |promise| {
            let (work, args) = parts.take().expect("a job is built once");
            B::job(&target, work, args, packed, promise)
        })
    }
}
