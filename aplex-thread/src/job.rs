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

use aplex_core::join::join_results;
use aplex_core::local::{catch_async, catch_blocking, BlockingJob, LocalJob};
use aplex_core::{Chunk, ChunkResults, WorkPromise};

/// A thread worker's job: the work itself, boxed.
pub(crate) type ThreadJob = LocalJob;

/// Runs an async work once, unless its future was cancelled before it started.
pub(crate) fn async_job<F, A, Fut>(work: F, args: A, promise: WorkPromise<Fut::Output>) -> ThreadJob
where
    F: FnOnce(A) -> Fut + Send + 'static,
    A: Send + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    ThreadJob::Async(Box::new(move || {
        Box::pin(async move {
            if promise.is_resolved() {
                return;
            }
            let outcome = catch_async(async move { work(args).await }).await;
            promise.complete(outcome);
        })
    }))
}

/// Runs a blocking work once on the blocking pool, unless cancelled before it started.
pub(crate) fn blocking_job<F, A, R>(work: F, args: A, promise: WorkPromise<R>) -> ThreadJob
where
    F: FnOnce(A) -> R + Send + 'static,
    A: Send + 'static,
    R: Send + 'static,
{
    blocking(promise, move || catch_blocking(move || work(args)))
}

/// Runs an async work over a chunk of items, concurrently, one result per item.
pub(crate) fn async_chunk_job<F, A, Fut>(
    work: Arc<F>,
    chunk: Chunk<A>,
    promise: WorkPromise<ChunkResults<Fut::Output>>,
) -> ThreadJob
where
    F: Fn(A) -> Fut + Send + Sync + 'static,
    A: Send + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    ThreadJob::Async(Box::new(move || {
        Box::pin(async move {
            if promise.is_resolved() {
                return;
            }
            let results = match chunk {
                Chunk::One(item) => {
                    // Called inside the catch: a work that panics when called fails its item.
                    ChunkResults::one(catch_async(async { work(item).await }).await)
                }
                Chunk::Many(items) => join_results(items.into_iter().map(|item| work(item))).await,
            };
            promise.complete(Ok(results));
        })
    }))
}

/// Runs a blocking work over a chunk of items, in order, one result per item.
pub(crate) fn blocking_chunk_job<F, A, R>(
    work: Arc<F>,
    chunk: Chunk<A>,
    promise: WorkPromise<ChunkResults<R>>,
) -> ThreadJob
where
    F: Fn(A) -> R + Send + Sync + 'static,
    A: Send + 'static,
    R: Send + 'static,
{
    blocking(promise, move || {
        Ok(chunk
            .into_iter()
            .map(|item| catch_blocking(|| work(item)))
            .collect())
    })
}

/// A blocking job around `run`: it begins only if its work was not cancelled meanwhile
/// (see `aplex_core::Begin`), and completes `promise` on its blocking thread.
fn blocking<T: Send + 'static>(
    promise: WorkPromise<T>,
    run: impl FnOnce() -> Result<T, aplex_core::Error> + Send + 'static,
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
