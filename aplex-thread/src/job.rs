//! The jobs a thread worker is handed for one work or one map chunk: closures that run
//! the work, catch its panic and fill in its promise.
//!
//! A blocking job's promise is shared by the blocking thread, which completes it the
//! moment the work is over (no hop back to the worker's thread), and the worker's local
//! task waiting for that thread, whose drop — when the worker abandons its works at the
//! end of a shutdown's grace period — drops the promise if the work is still running, so
//! its future resolves `Cancelled` even though the thread is stuck.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use aplex_core::backend::join::join_results;
use aplex_core::backend::local::{catch_async, catch_blocking, BlockingJob, LocalJob};
use aplex_core::backend::{Chunk, ChunkResults, WorkPromise};
use aplex_core::{Error, Work, WorkBody, WorkKind};

/// What a thread worker is handed: a job for its runtime's local set, or for its
/// blocking pool.
pub type ThreadJob = LocalJob;

/// The job for one submitted work, async or blocking as its kind says.
pub(crate) fn work_job<W, A>(work: W, args: A, promise: WorkPromise<W::Out>) -> ThreadJob
where
    W: Work<A> + Send + 'static,
    A: Send + 'static,
    W::Out: Send + 'static,
{
    match W::KIND {
        // Called inside the catch: a work that panics when called fails its future.
        WorkKind::Async => local(promise, move || {
            catch_async(async move { work(args).run_async().await })
        }),
        WorkKind::Blocking => blocking(promise, move || {
            catch_blocking(move || work(args).run_blocking())
        }),
    }
}

/// The job for one chunk of a map, async or blocking as the work's kind says.
pub(crate) fn chunk_job<W, A>(
    work: Arc<W>,
    chunk: Chunk<A>,
    promise: WorkPromise<ChunkResults<W::Out>>,
) -> ThreadJob
where
    W: Work<A> + Fn(A) -> W::Body + Send + Sync + 'static,
    A: Send + 'static,
    W::Out: Send + 'static,
{
    match W::KIND {
        WorkKind::Async => local(promise, move || async move {
            Ok(match chunk {
                Chunk::One(item) => {
                    ChunkResults::one(catch_async(async { work(item).run_async().await }).await)
                }
                Chunk::Many(items) => {
                    join_results(items.into_iter().map(|item| work(item).run_async())).await
                }
            })
        }),
        WorkKind::Blocking => blocking(promise, move || {
            Ok(chunk
                .into_iter()
                .map(|item| catch_blocking(|| work(item).run_blocking()))
                .collect())
        }),
    }
}

/// A job run as a local task on the worker's runtime: unless its work was resolved
/// meanwhile (cancelled while on its way), it awaits what `run` makes and completes
/// `promise` with it.
fn local<T, F>(promise: WorkPromise<T>, run: impl FnOnce() -> F + Send + 'static) -> ThreadJob
where
    T: Send + 'static,
    F: Future<Output = Result<T, Error>> + 'static,
{
    ThreadJob::Async(Box::new(move || {
        Box::pin(async move {
            if promise.is_resolved() {
                return;
            }
            promise.complete(run().await);
        })
    }))
}

fn blocking<T: Send + 'static>(
    promise: WorkPromise<T>,
    run: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> ThreadJob {
    let begin = promise.begin_handle();
    let shared = Arc::new(Mutex::new(Some(promise)));
    let abandon = Abandon(Arc::clone(&shared));
    ThreadJob::Blocking(BlockingJob::new(
        move || {
            if begin.begin() {
                let outcome = run();
                let promise = shared.lock().unwrap_or_else(PoisonError::into_inner).take();
                if let Some(promise) = promise {
                    promise.complete(outcome);
                }
            }
        },
        move |()| drop(abandon),
    ))
}

/// Held by the worker's local task: dropping it drops the promise if the blocking thread
/// has not completed it (the future then resolves `Cancelled`).
struct Abandon<T>(Arc<Mutex<Option<WorkPromise<T>>>>);

impl<T> Drop for Abandon<T> {
    fn drop(&mut self) {
        let promise = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        drop(promise);
    }
}
