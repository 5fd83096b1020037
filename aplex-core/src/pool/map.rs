//! Mapping a work over an input: `map` sets up a [`Map`] whose chunks the backend readies
//! and the executor admits staged, a burst at a time.

use std::sync::Arc;

use crate::backend::accepts::Accepts;
use crate::backend::chunk::Chunk;
use crate::dispatch::Admission;
use crate::map::Held;
use crate::work::{Work, WorkKind};
use crate::worker::Worker;
use crate::{Error, Map, Pool, WorkFuture, WorkOptions};

impl<B: Worker> Pool<B> {
    /// Applies `work` to every item of `items`, lazily, and gives the results in input
    /// order (as a blocking iterator, or a stream with [`Map::into_stream`]).
    ///
    /// Items go to workers in chunks ([`Map::chunksize`]); at most [`Map::window`] chunks
    /// are in flight at once, so an endless input works. The first error ends the map
    /// and cancels the rest, unless it is told to [`keep_going`](Map::keep_going).
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::{blocking, Error, ThreadAsyncPoolExecutor};
    ///
    /// async fn double(x: u64) -> u64 { x * 2 }
    /// fn square(x: u64) -> u64 { x * x }
    ///
    /// let pool = ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// let doubled: Vec<u64> = pool.map(double, 0..100).chunksize(8).collect::<Result<_, Error>>()?;
    /// assert_eq!(doubled[99], 198);
    /// let squares: Vec<u64> = pool.map(blocking(square), 1..4).collect::<Result<_, Error>>()?;
    /// assert_eq!(squares, [1, 4, 9]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn map<'a, W, I>(&self, work: W, items: I) -> Map<'a, I::Item, W::Out>
    where
        B: Accepts<W, I::Item>,
        W: Work<I::Item> + Fn(I::Item) -> W::Body + Send + Sync + 'static,
        W::Out: Send + 'static,
        I: IntoIterator,
        I::IntoIter: Send + 'a,
        I::Item: 'a,
    {
        let executor = self.executor().clone();
        let flusher = self.executor().clone();
        let target = B::target();
        let work = Arc::new(work);
        let abortable = W::KIND == WorkKind::Async;
        Map::reusing(
            items.into_iter(),
            self.default_window(),
            Box::new(move |chunk: Chunk<I::Item>, options: WorkOptions, spare| {
                let target = match &target {
                    Ok(target) => target,
                    Err(error) => return Ok(WorkFuture::failed(error.clone())),
                };
                let packed = match B::pack_chunk(&executor, target, &chunk, &options) {
                    Ok(packed) => packed,
                    Err(results) => return Ok(WorkFuture::resolved(Ok(results))),
                };
                // Waiting for room where the thread must not block (a stream polled on a
                // runtime's thread) could stall that runtime: the chunk is held instead.
                let admission = if executor.queue_is_bounded() && super::must_not_block() {
                    Admission::FailFast
                } else {
                    Admission::Wait
                };
                let items = chunk.len();
                let mut unsent = Some(chunk);
                let submitted = executor.submit_chunk_reusing(
                    options,
                    abortable,
                    items,
                    spare,
                    admission,
                    |promise| {
                        let chunk = unsent.take().expect("a chunk is sent at most once");
                        B::chunk_job(target, &work, chunk, packed, promise)
                    },
                );
                match (submitted, unsent) {
                    (Err((Error::QueueFull { .. }, _)), Some(chunk)) => Err(Held {
                        chunk,
                        room: Box::pin(executor.room()),
                    }),
                    (Ok(future) | Err((_, future)), _) => Ok(future),
                }
            }),
            Box::new(move || flusher.flush()),
        )
        .ramp_from(4 * self.pool_size())
    }

    fn default_window(&self) -> usize {
        self.pool_size()
            .saturating_mul(self.max_works_per_worker())
            .max(1)
    }
}
