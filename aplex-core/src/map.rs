//! `Map`: a work applied to every item of an input, with results as a blocking iterator or
//! an async `Stream`, in input order or as completed.
//!
//! The input is pulled lazily: at most `window` chunks of `chunksize` items are in
//! flight, so an endless iterator works and memory stays bounded. The first error (a
//! failed work, or the timeout) is yielded once, then everything still in flight is
//! cancelled and the map ends. Dropping a map cancels what it still has in flight.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, Stream, StreamExt};
use futures_timer::Delay;

use crate::chunk::{self, Chunk, ChunkSource};
use crate::chunk_results::{self, ChunkResults};
use crate::future::WorkFuture;
use crate::wait::{block_until, ensure_blocking_allowed};
use crate::work_options::WorkOptions;
use crate::Error;

/// The future of one chunk.
///
/// # Examples
///
/// ```
/// use aplex_core::{ChunkFuture, WorkFuture};
///
/// let (promise, future): (_, ChunkFuture<u8>) = WorkFuture::pair(true);
/// promise.complete(Ok(vec![Ok(1), Ok(2)].into()));
/// assert_eq!(future.result().unwrap().len(), 2);
/// ```
pub type ChunkFuture<T> = WorkFuture<ChunkResults<T>>;

/// Submits one chunk of items (with the map's meta) and returns its future; what it
/// dispatches may stay staged until [`FlushChunks`] is called.
///
/// # Examples
///
/// ```
/// use aplex_core::{SubmitChunk, WorkFuture};
///
/// let _inline: SubmitChunk<'_, u8, u8> = Box::new(|chunk, _options| {
///     let (promise, future) = WorkFuture::pair(true);
///     promise.complete(Ok(chunk.into_iter().map(Ok).collect()));
///     future
/// });
/// ```
pub type SubmitChunk<'a, A, T> =
    Box<dyn FnMut(Chunk<A>, WorkOptions) -> ChunkFuture<T> + Send + 'a>;

/// Sends the chunks submitted since the last call (see `Executor::submit_staged`).
///
/// # Examples
///
/// ```
/// use aplex_core::FlushChunks;
///
/// let _nothing_to_flush: FlushChunks<'_> = Box::new(|| {});
/// ```
pub type FlushChunks<'a> = Box<dyn FnMut() + Send + 'a>;

/// Results of a work mapped over an input; made by a pool's `map`.
///
/// Configure it with the builder methods, then iterate it (blocking), or turn it into a
/// [`Stream`] with [`into_stream`](Self::into_stream). Results come in input order unless
/// [`unordered`](Self::unordered) is set. Each item is a `Result`: the first `Err` ends
/// the map and cancels the rest.
///
/// # Examples
///
/// ```
/// # use aplex_core::{Map, WorkFuture};
/// # // A map whose "pool" doubles each item at once (a real pool runs works on workers).
/// # fn doubling_map<'a>(input: impl Iterator<Item = u64> + Send + 'a) -> Map<'a, u64, u64> {
/// #     Map::new(input, 8, Box::new(|chunk: aplex_core::Chunk<u64>, _options| {
/// #         let (promise, future) = WorkFuture::pair(true);
/// #         promise.complete(Ok(chunk.into_iter().map(|x| Ok(x * 2)).collect()));
/// #         future
/// #     }), Box::new(|| {}))
/// # }
/// let doubled: Vec<u64> = doubling_map(0..5).collect::<Result<_, _>>()?;
/// assert_eq!(doubled, [0, 2, 4, 6, 8]);
/// # Ok::<(), aplex_core::Error>(())
/// ```
///
/// # Cancel safety
///
/// Dropping the map (or its stream) cancels every work it still has in flight.
#[must_use = "a map does nothing until it is iterated or streamed"]
pub struct Map<'a, A, T> {
    submit: SubmitChunk<'a, A, T>,
    flush: FlushChunks<'a>,
    input: Box<dyn ChunkSource<A> + Send + 'a>,
    input_done: bool,
    chunksize: usize,
    window: usize,
    ordered: bool,
    started: Instant,
    timeout: Option<Duration>,
    delay: Option<Delay>,
    options: WorkOptions,
    in_order: VecDeque<ChunkFuture<T>>,
    as_completed: FuturesUnordered<ChunkFuture<T>>,
    /// The outputs of a finished chunk whose items all succeeded, handed out first.
    ready_outputs: chunk::IntoIter<T>,
    /// The results of any other finished chunk.
    ready: chunk_results::IntoIter<T>,
    finished: bool,
    #[cfg(feature = "progress")]
    progress: crate::progress::Progress,
}

impl<'a, A: 'a, T: Send + 'static> Map<'a, A, T> {
    /// Creates a map; pools call this. `window` is the default bound on chunks in flight;
    /// `flush` is called after each burst of `submit`s.
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex_core::{Map, WorkFuture};
    /// # // A map whose "pool" doubles each item at once (a real pool runs works on workers).
    /// # fn doubling_map<'a>(input: impl Iterator<Item = u64> + Send + 'a) -> Map<'a, u64, u64> {
    /// #     Map::new(input, 8, Box::new(|chunk: aplex_core::Chunk<u64>, _options| {
    /// #         let (promise, future) = WorkFuture::pair(true);
    /// #         promise.complete(Ok(chunk.into_iter().map(|x| Ok(x * 2)).collect()));
    /// #         future
    /// #     }), Box::new(|| {}))
    /// # }
    /// assert_eq!(doubling_map(1..3).count(), 2);
    /// ```
    pub fn new(
        input: impl Iterator<Item = A> + Send + 'a,
        window: usize,
        submit: SubmitChunk<'a, A, T>,
        flush: FlushChunks<'a>,
    ) -> Self {
        Map {
            submit,
            flush,
            input: Box::new(input),
            input_done: false,
            chunksize: 1,
            window: window.max(1),
            ordered: true,
            started: Instant::now(),
            timeout: None,
            delay: None,
            options: WorkOptions::new(),
            in_order: VecDeque::new(),
            as_completed: FuturesUnordered::new(),
            ready_outputs: Chunk::Many(Vec::new()).into_iter(),
            ready: chunk_results::IntoIter::empty(),
            finished: false,
            #[cfg(feature = "progress")]
            progress: crate::progress::Progress::default(),
        }
    }

    /// Sends items to workers in chunks of `chunksize` (default 1): one dispatch per
    /// chunk, fewer round trips for tiny works. `0` makes the map yield
    /// [`Error::InvalidConfig`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex_core::{Map, WorkFuture};
    /// # // A map whose "pool" doubles each item at once (a real pool runs works on workers).
    /// # fn doubling_map<'a>(input: impl Iterator<Item = u64> + Send + 'a) -> Map<'a, u64, u64> {
    /// #     Map::new(input, 8, Box::new(|chunk: aplex_core::Chunk<u64>, _options| {
    /// #         let (promise, future) = WorkFuture::pair(true);
    /// #         promise.complete(Ok(chunk.into_iter().map(|x| Ok(x * 2)).collect()));
    /// #         future
    /// #     }), Box::new(|| {}))
    /// # }
    /// let doubled: Vec<u64> = doubling_map(0..100).chunksize(10).collect::<Result<_, _>>()?;
    /// assert_eq!(doubled[99], 198);
    /// assert!(doubling_map(0..3).chunksize(0).next().unwrap().is_err());
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn chunksize(mut self, chunksize: usize) -> Self {
        self.chunksize = chunksize;
        self
    }

    /// Gives up with [`Error::TimedOut`] if a result is not there `timeout` after the
    /// call to `map` (as in `concurrent.futures`); the rest is then cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex_core::{Map, WorkFuture};
    /// # // A map whose "pool" doubles each item at once (a real pool runs works on workers).
    /// # fn doubling_map<'a>(input: impl Iterator<Item = u64> + Send + 'a) -> Map<'a, u64, u64> {
    /// #     Map::new(input, 8, Box::new(|chunk: aplex_core::Chunk<u64>, _options| {
    /// #         let (promise, future) = WorkFuture::pair(true);
    /// #         promise.complete(Ok(chunk.into_iter().map(|x| Ok(x * 2)).collect()));
    /// #         future
    /// #     }), Box::new(|| {}))
    /// # }
    /// use std::time::Duration;
    /// let doubled: Vec<u64> = doubling_map(0..3).timeout(Duration::from_secs(5)).collect::<Result<_, _>>()?;
    /// assert_eq!(doubled, [0, 2, 4]);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Passes `meta` to the load balancer for every chunk (the seeds'
    /// `load_balancing_meta`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex_core::{Map, WorkFuture};
    /// # // A map whose "pool" doubles each item at once (a real pool runs works on workers).
    /// # fn doubling_map<'a>(input: impl Iterator<Item = u64> + Send + 'a) -> Map<'a, u64, u64> {
    /// #     Map::new(input, 8, Box::new(|chunk: aplex_core::Chunk<u64>, _options| {
    /// #         let (promise, future) = WorkFuture::pair(true);
    /// #         promise.complete(Ok(chunk.into_iter().map(|x| Ok(x * 2)).collect()));
    /// #         future
    /// #     }), Box::new(|| {}))
    /// # }
    /// let doubled: Vec<u64> = doubling_map(0..3).meta("batch 7").collect::<Result<_, _>>()?;
    /// assert_eq!(doubled.len(), 3);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn meta<M: std::any::Any + Send + Sync>(mut self, meta: M) -> Self {
        self.options = std::mem::take(&mut self.options).meta(meta);
        self
    }

    /// Gives each chunk (each work, at chunksize 1) at most `timeout` once it starts on
    /// a worker; see [`WorkOptions::timeout`]. A chunk that runs out of time makes the map
    /// yield [`Error::TimedOut`] (and end, as for any error).
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex_core::{Map, WorkFuture};
    /// # fn doubling_map<'a>(input: impl Iterator<Item = u64> + Send + 'a) -> Map<'a, u64, u64> {
    /// #     Map::new(input, 8, Box::new(|chunk: aplex_core::Chunk<u64>, _options| {
    /// #         let (promise, future) = WorkFuture::pair(true);
    /// #         promise.complete(Ok(chunk.into_iter().map(|x| Ok(x * 2)).collect()));
    /// #         future
    /// #     }), Box::new(|| {}))
    /// # }
    /// use std::time::Duration;
    /// let doubled: Vec<u64> = doubling_map(0..3).work_timeout(Duration::from_secs(1)).collect::<Result<_, _>>()?;
    /// assert_eq!(doubled, [0, 2, 4]);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn work_timeout(mut self, timeout: Duration) -> Self {
        self.options = std::mem::take(&mut self.options).timeout(timeout);
        self
    }

    /// Bounds the chunks in flight at once (default: `pool_size × max_works_per_worker`);
    /// the input is pulled no further ahead than this.
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex_core::{Map, WorkFuture};
    /// # // A map whose "pool" doubles each item at once (a real pool runs works on workers).
    /// # fn doubling_map<'a>(input: impl Iterator<Item = u64> + Send + 'a) -> Map<'a, u64, u64> {
    /// #     Map::new(input, 8, Box::new(|chunk: aplex_core::Chunk<u64>, _options| {
    /// #         let (promise, future) = WorkFuture::pair(true);
    /// #         promise.complete(Ok(chunk.into_iter().map(|x| Ok(x * 2)).collect()));
    /// #         future
    /// #     }), Box::new(|| {}))
    /// # }
    /// let endless = 0..;
    /// let first: Vec<u64> = doubling_map(endless).window(4).take(10).collect::<Result<_, _>>()?;
    /// assert_eq!(first[9], 18);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn window(mut self, chunks: usize) -> Self {
        self.window = chunks.max(1);
        self
    }

    /// Yields results as they complete instead of in input order.
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex_core::{Map, WorkFuture};
    /// # // A map whose "pool" doubles each item at once (a real pool runs works on workers).
    /// # fn doubling_map<'a>(input: impl Iterator<Item = u64> + Send + 'a) -> Map<'a, u64, u64> {
    /// #     Map::new(input, 8, Box::new(|chunk: aplex_core::Chunk<u64>, _options| {
    /// #         let (promise, future) = WorkFuture::pair(true);
    /// #         promise.complete(Ok(chunk.into_iter().map(|x| Ok(x * 2)).collect()));
    /// #         future
    /// #     }), Box::new(|| {}))
    /// # }
    /// let mut doubled: Vec<u64> = doubling_map(0..5).unordered().collect::<Result<_, _>>()?;
    /// doubled.sort();
    /// assert_eq!(doubled, [0, 2, 4, 6, 8]);
    /// # Ok::<(), aplex_core::Error>(())
    /// ```
    pub fn unordered(mut self) -> Self {
        self.ordered = false;
        self
    }

    /// Shows a progress bar (on stderr) that advances with every result: a bar when the
    /// input's length is known, a counter otherwise. Needs the `progress` feature.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex_core::Map;
    ///
    /// fn with_progress<A: 'static, T: Send + 'static>(map: Map<'_, A, T>) -> Map<'_, A, T> {
    ///     map.progress()
    /// }
    /// ```
    #[cfg(feature = "progress")]
    pub fn progress(mut self) -> Self {
        self.progress.enable(self.input.items_left_hint());
        self
    }

    /// Turns the map into an async [`Stream`] of results, for any runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex_core::{Map, WorkFuture};
    /// # // A map whose "pool" doubles each item at once (a real pool runs works on workers).
    /// # fn doubling_map<'a>(input: impl Iterator<Item = u64> + Send + 'a) -> Map<'a, u64, u64> {
    /// #     Map::new(input, 8, Box::new(|chunk: aplex_core::Chunk<u64>, _options| {
    /// #         let (promise, future) = WorkFuture::pair(true);
    /// #         promise.complete(Ok(chunk.into_iter().map(|x| Ok(x * 2)).collect()));
    /// #         future
    /// #     }), Box::new(|| {}))
    /// # }
    /// use futures::StreamExt;
    /// let doubled: Vec<_> = futures::executor::block_on(doubling_map(0..3).into_stream().collect());
    /// assert_eq!(doubled, [Ok(0), Ok(2), Ok(4)]);
    /// ```
    pub fn into_stream(self) -> MapStream<'a, A, T> {
        MapStream { map: self }
    }

    fn in_flight(&self) -> usize {
        self.in_order.len() + self.as_completed.len()
    }

    /// Tops the window up, in bursts: nothing is pulled until at most half the window is
    /// in flight, then it is filled. Submitting many works at once lets workers take
    /// them in one batch and lets results pile up between wake-ups, instead of one
    /// cross-thread wake-up per work at the steady state.
    fn refill(&mut self) {
        let in_flight = self.in_flight();
        if in_flight > 0 && in_flight > self.window / 2 {
            return;
        }
        let mut submitted = false;
        while !self.input_done && self.in_flight() < self.window {
            let Some(chunk) = self.input.next_chunk(self.chunksize) else {
                self.input_done = true;
                break;
            };
            let future = (self.submit)(chunk, self.options.clone());
            submitted = true;
            if self.ordered {
                self.in_order.push_back(future);
            } else {
                self.as_completed.push(future);
            }
        }
        if submitted {
            (self.flush)();
        }
    }

    /// Ends the map, cancelling everything in flight.
    fn finish(&mut self) {
        #[cfg(feature = "progress")]
        self.progress.finish();
        self.finished = true;
        self.ready_outputs = Chunk::Many(Vec::new()).into_iter();
        self.ready = chunk_results::IntoIter::empty();
        for future in self.in_order.drain(..) {
            future.cancel();
        }
        for future in self.as_completed.iter() {
            future.cancel();
        }
        self.as_completed.clear();
    }

    /// The next result of a finished chunk, if any.
    #[inline]
    fn next_ready(&mut self) -> Option<Result<T, Error>> {
        match self.ready_outputs.next() {
            Some(output) => Some(Ok(output)),
            None => self.ready.next(),
        }
    }

    #[inline]
    fn yield_item(&mut self, item: Result<T, Error>) -> Option<Result<T, Error>> {
        #[cfg(feature = "progress")]
        self.progress.advance();
        if item.is_err() {
            self.finish();
        }
        Some(item)
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<ChunkResults<T>, Error>>> {
        if self.ordered {
            let Some(front) = self.in_order.front_mut() else {
                return Poll::Ready(None);
            };
            let outcome = std::task::ready!(Pin::new(front).poll(cx));
            self.in_order.pop_front();
            Poll::Ready(Some(outcome))
        } else {
            self.as_completed.poll_next_unpin(cx)
        }
    }

    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(timeout) = self.timeout else {
            return Poll::Pending;
        };
        let deadline = self.started + timeout;
        let delay = self
            .delay
            .get_or_insert_with(|| Delay::new(deadline.saturating_duration_since(Instant::now())));
        if Instant::now() >= deadline {
            return Poll::Ready(());
        }
        Pin::new(delay).poll(cx)
    }

    /// The next result, polled: the engine behind both the iterator and the stream.
    fn poll_next_result(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, Error>>> {
        if self.finished {
            return Poll::Ready(None);
        }
        if self.chunksize == 0 {
            self.finish();
            return Poll::Ready(Some(Err(Error::invalid_config(
                "chunksize",
                "chunksize must be at least 1",
            ))));
        }
        loop {
            if let Some(item) = self.next_ready() {
                return Poll::Ready(self.yield_item(item));
            }
            self.refill();
            match self.poll_chunk(cx) {
                Poll::Ready(None) => {
                    self.finish();
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Ok(results))) => match results.into_outputs() {
                    Ok(outputs) => self.ready_outputs = outputs.into_iter(),
                    Err(results) => self.ready = results.into_iter(),
                },
                Poll::Ready(Some(Err(error))) => return Poll::Ready(self.yield_item(Err(error))),
                Poll::Pending => break,
            }
        }
        if self.poll_deadline(cx).is_ready() {
            return Poll::Ready(self.yield_item(Err(Error::TimedOut)));
        }
        Poll::Pending
    }
}

impl<A: 'static, T: Send + 'static> Iterator for Map<'_, A, T> {
    type Item = Result<T, Error>;

    /// Blocks until the next result.
    ///
    /// On a tokio runtime thread this yields [`Error::BlockingInRuntime`] and ends; use
    /// [`Map::into_stream`] there.
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        // The outputs of a finished chunk need no waiting and no checks (`finish` empties
        // them); this path is inlined into the caller's loop, the rest is not.
        if let Some(output) = self.ready_outputs.next() {
            #[cfg(feature = "progress")]
            self.progress.advance();
            return Some(Ok(output));
        }
        self.next_slow()
    }

    /// As `next` in a loop, with each finished chunk's outputs handed to `step` in a
    /// tight inner loop (`count`, `for_each`, `sum` and collecting into a `Vec` use this).
    fn fold<B, G>(mut self, init: B, mut step: G) -> B
    where
        G: FnMut(B, Self::Item) -> B,
    {
        let mut accumulated = init;
        loop {
            for output in self.ready_outputs.by_ref() {
                #[cfg(feature = "progress")]
                self.progress.advance();
                accumulated = step(accumulated, Ok(output));
            }
            match self.next_slow() {
                Some(item) => accumulated = step(accumulated, item),
                None => return accumulated,
            }
        }
    }
}

impl<A: 'static, T: Send + 'static> Map<'_, A, T> {
    /// The blocking iterator's other paths: a result of a chunk with failures, or wait
    /// for the next chunk.
    #[inline(never)]
    fn next_slow(&mut self) -> Option<Result<T, Error>> {
        if self.finished {
            return None;
        }
        if let Some(item) = self.ready.next() {
            return self.yield_item(item);
        }
        if let Err(error) = ensure_blocking_allowed() {
            self.finish();
            return Some(Err(error));
        }
        let mut next = futures::future::poll_fn(|cx| self.poll_next_result(cx));
        block_until(&mut next, None).flatten()
    }
}

impl<A, T> Drop for Map<'_, A, T> {
    fn drop(&mut self) {
        for future in self.in_order.iter() {
            future.cancel();
        }
        for future in self.as_completed.iter() {
            future.cancel();
        }
    }
}

impl<A, T> fmt::Debug for Map<'_, A, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("chunksize", &self.chunksize)
            .field("window", &self.window)
            .field("ordered", &self.ordered)
            .field("timeout", &self.timeout)
            .field(
                "in_flight",
                &(self.in_order.len() + self.as_completed.len()),
            )
            .field("finished", &self.finished)
            .finish()
    }
}

/// A [`Map`] as an async [`Stream`] of results; made by [`Map::into_stream`].
///
/// # Examples
///
/// ```
/// # use aplex_core::{Map, WorkFuture};
/// # // A map whose "pool" doubles each item at once (a real pool runs works on workers).
/// # fn doubling_map<'a>(input: impl Iterator<Item = u64> + Send + 'a) -> Map<'a, u64, u64> {
/// #     Map::new(input, 8, Box::new(|chunk: aplex_core::Chunk<u64>, _options| {
/// #         let (promise, future) = WorkFuture::pair(true);
/// #         promise.complete(Ok(chunk.into_iter().map(|x| Ok(x * 2)).collect()));
/// #         future
/// #     }), Box::new(|| {}))
/// # }
/// use futures::StreamExt;
/// let mut stream = doubling_map(5..6).into_stream();
/// assert_eq!(futures::executor::block_on(stream.next()), Some(Ok(10)));
/// ```
///
/// # Cancel safety
///
/// Dropping the stream cancels every work it still has in flight.
#[must_use = "streams do nothing unless polled"]
#[derive(Debug)]
pub struct MapStream<'a, A, T> {
    map: Map<'a, A, T>,
}

impl<'a, A: 'a, T: Send + 'static> Stream for MapStream<'a, A, T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.map.poll_next_result(cx)
    }
}

impl<A, T> Unpin for MapStream<'_, A, T> {}
