//! `Placement`: how a work's body becomes an in-process worker's job (the thread pool's),
//! chosen by the body's type — a `Send` future for the runtime's scheduler, a [`Local`]
//! future for the worker's own thread, a [`Blocking`] call for its blocking pool.
//!
//! Whether a future is `Send` cannot be asked of a generic type, so the body's type
//! says it: every future that is `Send` is placed on the scheduler (which, on a
//! current-thread runtime, is the worker's thread anyway), and a future that is not must
//! come wrapped in [`local`](crate::local).
//!
//! A blocking job's promise lives in its `finish`, which completes it on the blocking
//! thread the moment the work is over (no hop back to the worker's thread). The worker's
//! loop keeps the `finish` until then: its drop — when the worker abandons its works at
//! the end of a shutdown's grace period — drops the promise while the work is still
//! running, so its future resolves `Cancelled` even though the thread is stuck.

use std::future::Future;
use std::sync::Arc;

use crate::backend::chunk::Chunk;
use crate::backend::chunk_results::ChunkResults;
use crate::backend::join::join_results;
use crate::backend::local::{catch_async, catch_blocking, BlockingJob, LocalJob, Task};
use crate::future::WorkPromise;
use crate::local_work::Local;
use crate::work::{Blocking, WorkBody};
use crate::Error;

/// How a body of this type runs on an in-process worker: the jobs for one work and for
/// one map chunk of works returning it. Implemented for every `Send` future, for
/// [`Local`] and for [`Blocking`]; nothing else.
///
/// # Examples
///
/// ```
/// use aplex::backend::local::LocalJob;
/// use aplex::backend::{future_pair, Placement};
///
/// let (promise, future) = future_pair::<u64>(true);
/// let job = <_ as Placement>::work_job(|x: u64| async move { x + 1 }, 41, promise);
/// let LocalJob::Async(make) = job else { unreachable!("an async work") };
/// futures::executor::block_on(make().into_local());
/// assert_eq!(future.result(), Ok(42));
/// ```
#[diagnostic::on_unimplemented(
    message = "this work's future is not `Send`, so it cannot run on any thread of a worker's runtime",
    label = "a work whose body is `{Self}`",
    note = "hold no `Rc`, `RefCell` borrow or other non-`Send` value across an `.await`, or wrap the work in `aplex::local(..)` to pin it to its worker's thread"
)]
pub trait Placement: WorkBody {
    /// The job for `work(args)`, completing `promise`.
    fn work_job<W, A>(work: W, args: A, promise: WorkPromise<Self::Output>) -> LocalJob
    where
        W: FnOnce(A) -> Self + Send + 'static,
        A: Send + 'static,
        Self::Output: Send + 'static;

    /// The job for one map chunk of `work`, completing `promise` with every item's result.
    fn chunk_job<W, A>(
        work: Arc<W>,
        chunk: Chunk<A>,
        promise: WorkPromise<ChunkResults<Self::Output>>,
    ) -> LocalJob
    where
        W: Fn(A) -> Self + Send + Sync + 'static,
        A: Send + 'static,
        Self::Output: Send + 'static;
}

impl<F> Placement for F
where
    F: Future + Send + 'static,
{
    fn work_job<W, A>(work: W, args: A, promise: WorkPromise<F::Output>) -> LocalJob
    where
        W: FnOnce(A) -> F + Send + 'static,
        A: Send + 'static,
        F::Output: Send + 'static,
    {
        // Called inside the catch: a work that panics when called fails its future.
        scheduled_job(promise, move || {
            catch_async(async move { work(args).await })
        })
    }

    fn chunk_job<W, A>(
        work: Arc<W>,
        chunk: Chunk<A>,
        promise: WorkPromise<ChunkResults<F::Output>>,
    ) -> LocalJob
    where
        W: Fn(A) -> F + Send + Sync + 'static,
        A: Send + 'static,
        F::Output: Send + 'static,
    {
        scheduled_job(promise, move || async move {
            Ok(match chunk {
                Chunk::One(item) => {
                    ChunkResults::one(catch_async(async { work(item).await }).await)
                }
                Chunk::Many(items) => join_results(items.into_iter().map(|item| work(item))).await,
            })
        })
    }
}

impl<F, A0, Fut> Placement for Local<F, A0>
where
    F: Fn(A0) -> Fut,
    Fut: Future + 'static,
{
    fn work_job<W, A>(work: W, args: A, promise: WorkPromise<Fut::Output>) -> LocalJob
    where
        W: FnOnce(A) -> Self + Send + 'static,
        A: Send + 'static,
        Fut::Output: Send + 'static,
    {
        local_job(promise, move || {
            catch_async(async move { work(args).call().await })
        })
    }

    fn chunk_job<W, A>(
        work: Arc<W>,
        chunk: Chunk<A>,
        promise: WorkPromise<ChunkResults<Fut::Output>>,
    ) -> LocalJob
    where
        W: Fn(A) -> Self + Send + Sync + 'static,
        A: Send + 'static,
        Fut::Output: Send + 'static,
    {
        local_job(promise, move || async move {
            Ok(match chunk {
                Chunk::One(item) => {
                    ChunkResults::one(catch_async(async { work(item).call().await }).await)
                }
                Chunk::Many(items) => {
                    join_results(items.into_iter().map(|item| work(item).call())).await
                }
            })
        })
    }
}

impl<F, A0, R> Placement for Blocking<F, A0>
where
    F: Fn(A0) -> R,
{
    fn work_job<W, A>(work: W, args: A, promise: WorkPromise<R>) -> LocalJob
    where
        W: FnOnce(A) -> Self + Send + 'static,
        A: Send + 'static,
        R: Send + 'static,
    {
        blocking_job(promise, move || {
            catch_blocking(move || work(args).run_blocking())
        })
    }

    fn chunk_job<W, A>(
        work: Arc<W>,
        chunk: Chunk<A>,
        promise: WorkPromise<ChunkResults<R>>,
    ) -> LocalJob
    where
        W: Fn(A) -> Self + Send + Sync + 'static,
        A: Send + 'static,
        R: Send + 'static,
    {
        blocking_job(promise, move || {
            Ok(chunk
                .into_iter()
                .map(|item| catch_blocking(|| work(item).run_blocking()))
                .collect())
        })
    }
}

/// The job for a `Send` future: unless its work was resolved meanwhile (cancelled while
/// on its way), it awaits what `run` makes and completes `promise` with it.
fn scheduled_job<T, G>(
    promise: WorkPromise<T>,
    run: impl FnOnce() -> G + Send + 'static,
) -> LocalJob
where
    T: Send + 'static,
    G: Future<Output = Result<T, Error>> + Send + 'static,
{
    LocalJob::Async(Box::new(move || {
        Task::Send(Box::pin(async move {
            if !promise.is_resolved() {
                promise.complete(run().await);
            }
        }))
    }))
}

/// The job for a future that is not `Send`, as [`scheduled_job`] but kept on the
/// worker's thread.
fn local_job<T, G>(promise: WorkPromise<T>, run: impl FnOnce() -> G + Send + 'static) -> LocalJob
where
    T: Send + 'static,
    G: Future<Output = Result<T, Error>> + 'static,
{
    LocalJob::Async(Box::new(move || {
        Task::Local(Box::pin(async move {
            if !promise.is_resolved() {
                promise.complete(run().await);
            }
        }))
    }))
}

/// The job for a blocking call: `run` on a blocking thread, then its outcome into
/// `promise`, which the job's `finish` holds (see the module's docs). A work cancelled
/// before its turn does not run; its promise is already resolved.
fn blocking_job<T: Send + 'static>(
    promise: WorkPromise<T>,
    run: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> LocalJob {
    let begin = promise.begin_handle();
    LocalJob::Blocking(BlockingJob::new(
        move || begin.begin().then(run),
        move |outcome: Option<Result<T, Error>>| {
            if let Some(outcome) = outcome {
                promise.complete(outcome);
            }
        },
    ))
}
