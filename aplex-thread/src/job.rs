//! The jobs a thread worker is handed for one work or one map chunk: closures that run
//! the work, catch its panic and fill in its promise.

use std::future::Future;
use std::sync::Arc;

use aplex_core::join::join_results;
use aplex_core::local::{catch_async, catch_blocking, LocalJob};
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
    ThreadJob::Blocking(Box::new(move || {
        if promise.is_resolved() {
            return;
        }
        promise.complete(catch_blocking(move || work(args)));
    }))
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
    ThreadJob::Blocking(Box::new(move || {
        if promise.is_resolved() {
            return;
        }
        let results = chunk
            .into_iter()
            .map(|item| catch_blocking(|| work(item)))
            .collect();
        promise.complete(Ok(results));
    }))
}
