//! Mapping a registered work over an input on a process pool: `map` and `map_blocking`,
//! whose chunks are encoded and admitted by `map_work`.

use std::future::Future;

use aplex_core::{Admission, Chunk, Map, WorkFuture};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::ProcessAsyncPoolExecutor;
use crate::job::{chunk_job, encode_chunk, Retry};
use crate::registry::lookup;

impl ProcessAsyncPoolExecutor {
    /// Applies the registered async `work` to every item, in worker processes; a lazy
    /// [`Map`] as on the thread pool (chunks travel as one frame each).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// async fn double(x: u64) -> u64 { x * 2 }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// let doubled: Vec<u64> = pool.map(double, 0..100).chunksize(10).collect::<Result<_, _>>()?;
    /// assert_eq!(doubled[99], 198);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn map<'a, F, I, Fut>(&self, work: F, items: I) -> Map<'a, I::Item, Fut::Output>
    where
        F: Fn(I::Item) -> Fut + 'static,
        I: IntoIterator,
        I::IntoIter: Send + 'a,
        I::Item: Serialize + 'a,
        Fut: Future,
        Fut::Output: DeserializeOwned + Send + 'static,
    {
        drop(work);
        self.map_work::<F, I, Fut::Output>(true, items)
    }

    /// Applies the registered plain function `work` to every item, in worker processes'
    /// blocking pools; otherwise as [`map`](Self::map).
    ///
    /// # Examples
    ///
    /// ```
    /// # extern crate aplex_process as aplex;
    /// #[aplex::work]
    /// fn square(x: u64) -> u64 { x * x }
    ///
    /// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// let squares: Vec<u64> = pool.map_blocking(square, 1..=3).collect::<Result<_, _>>()?;
    /// assert_eq!(squares, [1, 4, 9]);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn map_blocking<'a, F, I, R>(&self, work: F, items: I) -> Map<'a, I::Item, R>
    where
        F: Fn(I::Item) -> R + 'static,
        I: IntoIterator,
        I::IntoIter: Send + 'a,
        I::Item: Serialize + 'a,
        R: DeserializeOwned + Send + 'static,
    {
        drop(work);
        self.map_work::<F, I, R>(false, items)
    }

    fn default_window(&self) -> usize {
        self.pool_size()
            .saturating_mul(self.max_works_per_worker())
            .max(1)
    }

    fn map_work<'a, F, I, T>(&self, want_async: bool, items: I) -> Map<'a, I::Item, T>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'a,
        I::Item: Serialize + 'a,
        T: DeserializeOwned + Send + 'static,
    {
        let target = lookup::<F>(want_async);
        let executor = self.executor.clone();
        let flusher = self.executor.clone();
        Map::new(
            items.into_iter(),
            self.default_window(),
            Box::new(move |chunk: Chunk<I::Item>, options| {
                let (index, name) = match &target {
                    Ok(target) => *target,
                    Err(error) => return WorkFuture::failed(error.clone()),
                };
                let (encoded, failed) = encode_chunk(chunk.as_slice(), name);
                if failed.len() == chunk.len() {
                    // Nothing to send: each item fails with its own error.
                    let errors = failed.into_iter().map(|(_, error)| Err(error));
                    let (promise, future) = WorkFuture::pair(want_async);
                    promise.complete(Ok(errors.collect()));
                    return future;
                }
                let expected = chunk.len() - failed.len();
                let (promise, mut future) = WorkFuture::chunk_pair(want_async, chunk.len());
                let retry = Retry::new(&executor, &options, &encoded);
                let blocking = !want_async;
                let job = || {
                    chunk_job(
                        index, name, encoded, expected, promise, retry, blocking, failed,
                    )
                };
                let _ = executor.submit_staged(&mut future, options, Admission::Wait, job);
                future
            }),
            Box::new(move || flusher.flush()),
        )
    }
}
