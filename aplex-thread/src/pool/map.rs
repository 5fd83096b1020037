//! Mapping a work over an input on a thread pool: `map` and `map_blocking`, whose chunks
//! are admitted staged by `submit_chunk` and sent a burst at a time.

use std::future::Future;
use std::sync::Arc;

use aplex_core::{Admission, ChunkResults, Executor, Map, WorkFuture, WorkOptions, WorkPromise};

use super::ThreadAsyncPoolExecutor;
use crate::job::{async_chunk_job, blocking_chunk_job, ThreadJob};
use crate::worker::ThreadWorker;

impl ThreadAsyncPoolExecutor {
    /// Applies the async `work` to every item of `items`, like `concurrent.futures`' map.
    ///
    /// Returns a lazy [`Map`]: set `chunksize`, `timeout`, `meta`, `window` or
    /// `unordered` on it, then iterate it (blocking) or call `into_stream()`. Results
    /// come in input order by default; the first error ends the map and cancels the rest.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// async fn double(x: u64) -> u64 { x * 2 }
    ///
    /// let doubled: Vec<u64> = pool
    ///     .map(double, 0..1000)
    ///     .chunksize(64)
    ///     .timeout(Duration::from_secs(30))
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(doubled[999], 1998);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn map<'a, F, I, Fut>(&self, work: F, items: I) -> Map<'a, I::Item, Fut::Output>
    where
        F: Fn(I::Item) -> Fut + Send + Sync + 'static,
        I: IntoIterator,
        I::IntoIter: Send + 'a,
        I::Item: Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let work = Arc::new(work);
        let executor = self.executor.clone();
        let flusher = self.executor.clone();
        Map::new(
            items.into_iter(),
            self.default_window(),
            Box::new(move |chunk, options| {
                let work = Arc::clone(&work);
                submit_chunk(&executor, options, true, chunk.len(), |promise| {
                    async_chunk_job(work, chunk, promise)
                })
            }),
            Box::new(move || flusher.flush()),
        )
    }

    /// Applies the plain function `work` to every item of `items` on the workers'
    /// blocking pools; otherwise as [`map`](Self::map).
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex_thread::ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// let squares: Vec<u64> = pool
    ///     .map_blocking(|x: u64| x * x, 1..=4)
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(squares, [1, 4, 9, 16]);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn map_blocking<'a, F, I, R>(&self, work: F, items: I) -> Map<'a, I::Item, R>
    where
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        I: IntoIterator,
        I::IntoIter: Send + 'a,
        I::Item: Send + 'static,
        R: Send + 'static,
    {
        let work = Arc::new(work);
        let executor = self.executor.clone();
        let flusher = self.executor.clone();
        Map::new(
            items.into_iter(),
            self.default_window(),
            Box::new(move |chunk, options| {
                let work = Arc::clone(&work);
                submit_chunk(&executor, options, false, chunk.len(), |promise| {
                    blocking_chunk_job(work, chunk, promise)
                })
            }),
            Box::new(move || flusher.flush()),
        )
    }

    fn default_window(&self) -> usize {
        self.pool_size()
            .saturating_mul(self.max_works_per_worker())
            .max(1)
    }
}

/// Submits one map chunk, staged until the map flushes its burst.
fn submit_chunk<T: Send + 'static>(
    executor: &Executor<ThreadWorker>,
    options: WorkOptions,
    abortable: bool,
    items: usize,
    make: impl FnOnce(WorkPromise<ChunkResults<T>>) -> ThreadJob,
) -> WorkFuture<ChunkResults<T>> {
    let (promise, mut future) = WorkFuture::chunk_pair(abortable, items);
    let _ = executor.submit_staged(&mut future, options, Admission::Wait, move || make(promise));
    future
}
