//! `Map`: a work applied to every item of an input, with results as a blocking iterator or
//! an async `Stream`, in input order or as completed.
//!
//! The input is pulled lazily, from the first poll on: at most `window` chunks of
//! `chunksize` items are in flight, so an endless iterator works and memory stays
//! bounded. The first error (a failed work, or the timeout) is yielded once, then
//! everything still in flight is cancelled and the map ends — unless the map was told to
//! [`keep_going`](Map::keep_going), when every item gets its own result. Dropping a map
//! cancels what it still has in flight.
//!
//! `mod.rs` holds the type and its settings; `engine.rs` pulls the input and polls for
//! results (`held.rs`: a chunk waiting for room); `blocking.rs` and `stream.rs` are the
//! two ways to read them.

mod blocking;
mod engine;
mod held;
mod stream;

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use futures::stream::FuturesUnordered;
use futures_timer::Delay;

use crate::backend::chunk::{self, Chunk, ChunkSource};
use crate::backend::chunk_results::{self, ChunkResults};
use crate::cell::SpareCell;
use crate::future::WorkFuture;
use crate::work_options::WorkOptions;

pub use stream::MapStream;

use engine::Labeled;
pub(crate) use held::Held;

/// The future of one chunk.
///
/// # Examples
///
/// ```
/// use aplex::backend::ChunkFuture;
/// use aplex::WorkFuture;
///
/// let (promise, future): (_, ChunkFuture<u8>) = aplex::backend::future_pair(true);
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
/// use aplex::backend::SubmitChunk;
/// use aplex::WorkFuture;
///
/// let _inline: SubmitChunk<'_, u8, u8> = Box::new(|chunk, _options| {
///     let (promise, future) = aplex::backend::future_pair(true);
///     promise.complete(Ok(chunk.into_iter().map(Ok).collect()));
///     future
/// });
/// ```
pub type SubmitChunk<'a, A, T> =
    Box<dyn FnMut(Chunk<A>, WorkOptions) -> ChunkFuture<T> + Send + 'a>;

/// A [`SubmitChunk`] that writes the chunk's cell over a spare one if it is given one: a
/// pool's own map, which keeps the cells of the chunks it has read (`cell::SpareCell`).
/// Where the thread must not block, it hands a chunk back ([`Held`]) rather than wait for
/// room in a full bounded queue.
pub(crate) type SubmitReusing<'a, A, T> = Box<
    dyn FnMut(
            Chunk<A>,
            WorkOptions,
            Option<SpareCell<ChunkResults<T>>>,
        ) -> Result<ChunkFuture<T>, Held<'a, A>>
        + Send
        + 'a,
>;

/// The most spare cells a map keeps: more than a burst of a 2 × 300 window needs (a
/// cell is about 200 bytes beside its output type's).
const MAX_SPARES: usize = 1024;

/// Sends the chunks submitted since the last call (see `Executor::submit_staged`).
///
/// # Examples
///
/// ```
/// use aplex::backend::FlushChunks;
///
/// let _nothing_to_flush: FlushChunks<'_> = Box::new(|| {});
/// ```
pub type FlushChunks<'a> = Box<dyn FnMut() + Send + 'a>;

/// Results of a work mapped over an input; made by a pool's `map`.
///
/// Configure it with the builder methods, then iterate it (blocking), or turn it into a
/// [`Stream`](futures::Stream) with [`into_stream`](Self::into_stream). Results come in input order unless
/// [`unordered`](Self::unordered) is set. Each item is a `Result`: the first `Err` ends
/// the map and cancels the rest.
///
/// # Examples
///
/// ```
/// # let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(2).build().unwrap();
/// # let doubling_map = |input| pool.map(|x: u64| async move { x * 2 }, input);
/// let doubled: Vec<u64> = doubling_map(0..5).collect::<Result<_, _>>()?;
/// assert_eq!(doubled, [0, 2, 4, 6, 8]);
/// # Ok::<(), aplex::Error>(())
/// ```
///
/// # Cancel safety
///
/// Dropping the map (or its stream) cancels every work it still has in flight.
#[must_use = "a map does nothing until it is iterated or streamed"]
pub struct Map<'a, A, T> {
    submit: SubmitReusing<'a, A, T>,
    /// Cells of chunks already read, for the next submits (empty unless `submit` uses
    /// them).
    spares: Vec<SpareCell<ChunkResults<T>>>,
    /// Whether `submit` uses spare cells: only then are cells kept.
    reuses_cells: bool,
    flush: FlushChunks<'a>,
    /// A chunk the pool had no room for, submitted again before any other.
    held: Option<Held<'a, A>>,
    input: Box<dyn ChunkSource<A> + Send + 'a>,
    input_done: bool,
    chunksize: usize,
    /// The most chunks in flight: set by [`window`](Self::window), or the pool's capacity.
    window: usize,
    /// Unless the window was set: the ramping window, quadrupled each time half as many
    /// chunks as it holds are done (see `engine.rs`), so a map read only in part runs
    /// little more than it yields.
    ramp_from: Option<usize>,
    /// Chunks whose results have come back.
    chunks_done: usize,
    ordered: bool,
    /// Yield every item's result instead of ending at the first error.
    keep_going: bool,
    /// Fast pulls left before a slow input counts as fast again (0: fast).
    slow_input: u8,
    /// When the map was first polled (its settings checked, its works started).
    started: Option<Instant>,
    timeout: Option<Duration>,
    delay: Option<Delay>,
    options: WorkOptions,
    in_order: VecDeque<Labeled<T>>,
    as_completed: FuturesUnordered<Labeled<T>>,
    /// The outputs of a finished chunk whose items all succeeded, handed out first.
    ready_outputs: chunk::IntoIter<T>,
    /// The results of any other finished chunk.
    ready: chunk_results::IntoIter<T>,
    finished: bool,
    #[cfg(feature = "progress")]
    progress: crate::progress::Progress,
}

impl<'a, A: 'a, T: Send + 'static> Map<'a, A, T> {
    /// Creates a map (`backend::new_map`): `window` is the default bound on chunks in
    /// flight; `flush` is called after each burst of `submit`s.
    pub(crate) fn new(
        input: impl Iterator<Item = A> + Send + 'a,
        window: usize,
        mut submit: SubmitChunk<'a, A, T>,
        flush: FlushChunks<'a>,
    ) -> Self {
        let submit = Box::new(move |chunk, options, _spare| Ok(submit(chunk, options)));
        let mut map = Self::reusing(input, window, submit, flush);
        map.reuses_cells = false;
        map
    }

    /// [`new`](Self::new), with a `submit` that reuses the cells of the chunks read.
    pub(crate) fn reusing(
        input: impl Iterator<Item = A> + Send + 'a,
        window: usize,
        submit: SubmitReusing<'a, A, T>,
        flush: FlushChunks<'a>,
    ) -> Self {
        Map {
            submit,
            spares: Vec::new(),
            reuses_cells: true,
            flush,
            held: None,
            input: Box::new(input),
            input_done: false,
            chunksize: 1,
            window: window.max(1),
            ramp_from: None,
            chunks_done: 0,
            ordered: true,
            keep_going: false,
            slow_input: 0,
            started: None,
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
    /// chunk, fewer round trips for tiny works. `0` is refused: the map's first result is
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) (as for every invalid map setting).
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(2).build().unwrap();
    /// # let doubling_map = |input| pool.map(|x: u64| async move { x * 2 }, input);
    /// let doubled: Vec<u64> = doubling_map(0..100).chunksize(10).collect::<Result<_, _>>()?;
    /// assert_eq!(doubled[99], 198);
    /// assert!(doubling_map(0..3).chunksize(0).next().unwrap().is_err());
    /// # Ok::<(), aplex::Error>(())
    /// ```
    pub fn chunksize(mut self, chunksize: usize) -> Self {
        self.chunksize = chunksize;
        self
    }

    /// Gives up with [`Error::TimedOut`](crate::Error::TimedOut) if a result is not there `timeout` after the map
    /// is first polled — when its works start, as a map is lazy — and then cancels the
    /// rest; the deadline is also enforced while the input is pulled. (In
    /// `concurrent.futures` the clock starts at the call, which also submits every item.)
    /// A zero timeout is refused: the map's first result is [`Error::InvalidConfig`](crate::Error::InvalidConfig).
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(2).build().unwrap();
    /// # let doubling_map = |input| pool.map(|x: u64| async move { x * 2 }, input);
    /// use std::time::Duration;
    /// let doubled: Vec<u64> = doubling_map(0..3).timeout(Duration::from_secs(5)).collect::<Result<_, _>>()?;
    /// assert_eq!(doubled, [0, 2, 4]);
    /// # Ok::<(), aplex::Error>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Passes `meta` to the load balancer for every chunk (Python aplex's
    /// `load_balancing_meta`).
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(2).build().unwrap();
    /// # let doubling_map = |input| pool.map(|x: u64| async move { x * 2 }, input);
    /// let doubled: Vec<u64> = doubling_map(0..3).meta("batch 7").collect::<Result<_, _>>()?;
    /// assert_eq!(doubled.len(), 3);
    /// # Ok::<(), aplex::Error>(())
    /// ```
    pub fn meta<M: std::any::Any + Send + Sync>(mut self, meta: M) -> Self {
        self.options = std::mem::take(&mut self.options).meta(meta);
        self
    }

    /// Gives each chunk (each work, at chunksize 1) at most `timeout` once it starts on
    /// a worker; see [`WorkOptions::timeout`]. A chunk that runs out of time makes the map
    /// yield [`Error::TimedOut`](crate::Error::TimedOut) (and end, as for any error). A zero timeout is refused:
    /// the map's first result is [`Error::InvalidConfig`](crate::Error::InvalidConfig).
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex::{Map, WorkFuture};
    /// # fn doubling_map<'a>(input: impl Iterator<Item = u64> + Send + 'a) -> Map<'a, u64, u64> {
    /// #     aplex::backend::new_map(input, 8, Box::new(|chunk: aplex::backend::Chunk<u64>, _options| {
    /// #         let (promise, future) = aplex::backend::future_pair(true);
    /// #         promise.complete(Ok(chunk.into_iter().map(|x| Ok(x * 2)).collect()));
    /// #         future
    /// #     }), Box::new(|| {}))
    /// # }
    /// use std::time::Duration;
    /// let doubled: Vec<u64> = doubling_map(0..3).work_timeout(Duration::from_secs(1)).collect::<Result<_, _>>()?;
    /// assert_eq!(doubled, [0, 2, 4]);
    /// # Ok::<(), aplex::Error>(())
    /// ```
    pub fn work_timeout(mut self, timeout: Duration) -> Self {
        self.options = std::mem::take(&mut self.options).timeout(timeout);
        self
    }

    /// Bounds the chunks in flight at once; the input is pulled no further ahead than
    /// this. `0` is refused: the map's first result is
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig).
    ///
    /// By default a pool's map starts with a window of `4 × pool_size` chunks and
    /// quadruples it each time half as many chunks as it holds are done, up to the pool's
    /// capacity (`pool_size × max_works_per_worker`): a map read in full reaches full
    /// throughput within a few hundred chunks, and one read in part (`.take(n)`, an early
    /// `break`) runs at most about eight times the chunks it yields, plus the first
    /// window (`.take(100)` of an endless map at chunksize 8 on a pool of 2: at most a
    /// few hundred works, where a window of the whole capacity ran 4,800). Set a window to fix it: wider for the most throughput
    /// from the first item, narrower to pull the input less far ahead.
    ///
    /// Many tiny works each keep a worker busy only briefly; a wider window (with the
    /// pool's `max_works_per_worker` raised to hold it) keeps more queued on each worker:
    /// 40,000 blocking works of 10 µs at chunksize 1 on two worker processes took 0.26 s
    /// with `max_works_per_worker(1000)` and `.window(2000)`, against 0.30 s with the
    /// defaults (docs/PERFORMANCE.md). A larger [`chunksize`](Self::chunksize) helps more.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(2).build().unwrap();
    /// # let doubling_map = |input| pool.map(|x: u64| async move { x * 2 }, input);
    /// let endless = 0..;
    /// let first: Vec<u64> = doubling_map(endless).window(4).take(10).collect::<Result<_, _>>()?;
    /// assert_eq!(first[9], 18);
    /// # Ok::<(), aplex::Error>(())
    /// ```
    pub fn window(mut self, chunks: usize) -> Self {
        self.window = chunks;
        self.ramp_from = None;
        self
    }

    /// Starts the window at `chunks` and grows it as results are taken, up to its bound
    /// (a pool's default).
    pub(crate) fn ramp_from(mut self, chunks: usize) -> Self {
        self.ramp_from = Some(chunks.max(1));
        self
    }

    /// Yields one result per item, in place, instead of ending at the first error: a
    /// failed, panicked, crashed or timed-out work is just that item's `Err`, and the map
    /// goes on. Only the map's own [`timeout`](Self::timeout) (and a blocking wait
    /// refused on a runtime thread) still ends it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex::{Map, WorkFuture, Error};
    /// # // A map whose "pool" fails odd items at once.
    /// # fn picky_map<'a>(input: impl Iterator<Item = u64> + Send + 'a) -> Map<'a, u64, u64> {
    /// #     aplex::backend::new_map(input, 8, Box::new(|chunk: aplex::backend::Chunk<u64>, _options| {
    /// #         let (promise, future) = aplex::backend::future_pair(true);
    /// #         promise.complete(Ok(chunk.into_iter().map(|x| if x % 2 == 1 { Err(Error::Cancelled) } else { Ok(x) }).collect()));
    /// #         future
    /// #     }), Box::new(|| {}))
    /// # }
    /// let all: Vec<_> = picky_map(0..4).keep_going().collect();
    /// assert_eq!(all, [Ok(0), Err(Error::Cancelled), Ok(2), Err(Error::Cancelled)]);
    /// let first_error_ends: Vec<_> = picky_map(0..4).collect();
    /// assert_eq!(first_error_ends, [Ok(0), Err(Error::Cancelled)]);
    /// ```
    pub fn keep_going(mut self) -> Self {
        self.keep_going = true;
        self
    }

    /// Retries, up to `times` times each, the works lost to a worker that crashed (their
    /// future would say [`Error::WorkerCrashed`](crate::Error::WorkerCrashed)): for idempotent works only, as a work
    /// may have done part of its job before its worker died. See
    /// [`WorkOptions::retry_crashed`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex::{Map, WorkFuture};
    /// # fn doubling_map<'a>(input: impl Iterator<Item = u64> + Send + 'a) -> Map<'a, u64, u64> {
    /// #     aplex::backend::new_map(input, 8, Box::new(|chunk: aplex::backend::Chunk<u64>, _options| {
    /// #         let (promise, future) = aplex::backend::future_pair(true);
    /// #         promise.complete(Ok(chunk.into_iter().map(|x| Ok(x * 2)).collect()));
    /// #         future
    /// #     }), Box::new(|| {}))
    /// # }
    /// let doubled: Vec<u64> = doubling_map(0..3).retry_crashed(2).collect::<Result<_, _>>()?;
    /// assert_eq!(doubled, [0, 2, 4]);
    /// # Ok::<(), aplex::Error>(())
    /// ```
    pub fn retry_crashed(mut self, times: u32) -> Self {
        self.options = std::mem::take(&mut self.options).retry_crashed(times);
        self
    }

    /// Yields results as they complete instead of in input order.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(2).build().unwrap();
    /// # let doubling_map = |input| pool.map(|x: u64| async move { x * 2 }, input);
    /// let mut doubled: Vec<u64> = doubling_map(0..5).unordered().collect::<Result<_, _>>()?;
    /// doubled.sort();
    /// assert_eq!(doubled, [0, 2, 4, 6, 8]);
    /// # Ok::<(), aplex::Error>(())
    /// ```
    pub fn unordered(mut self) -> Self {
        self.ordered = false;
        self
    }

    /// Shows a progress bar on stderr (when it is a terminal) that advances with every
    /// result: a bar with an ETA when the input's length is known, a counter otherwise;
    /// both show throughput and failures, and end on a line of their own. Needs the
    /// `progress` feature.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::Map;
    ///
    /// fn with_progress<A: 'static, T: Send + 'static>(map: Map<'_, A, T>) -> Map<'_, A, T> {
    ///     map.progress()
    /// }
    /// ```
    #[cfg(feature = "progress")]
    pub fn progress(mut self) -> Self {
        self.progress.enable(self.input.items_left_hint(), None);
        self
    }

    /// Like [`progress`](Self::progress), drawn to `writer` (a log file, a buffer): each
    /// redraw rewrites the line after a carriage return, and the last ends with a
    /// newline. Needs the `progress` feature.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::Map;
    ///
    /// fn logged<A: 'static, T: Send + 'static>(map: Map<'_, A, T>) -> Map<'_, A, T> {
    ///     map.progress_to(std::io::sink())
    /// }
    /// ```
    #[cfg(feature = "progress")]
    pub fn progress_to(mut self, writer: impl std::io::Write + Send + 'static) -> Self {
        self.progress
            .enable(self.input.items_left_hint(), Some(Box::new(writer)));
        self
    }

    /// Turns the map into an async [`Stream`](futures::Stream) of results, for any runtime.
    ///
    /// Polled on a tokio runtime's thread, the stream does not block it waiting for room:
    /// a chunk that finds the pool's bounded pending queue (`max_pending`) full is held in
    /// the stream, which awaits room and sends it then. (The input's own iterator still
    /// runs on that thread as items are pulled.)
    ///
    /// # Examples
    ///
    /// ```
    /// # let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(2).build().unwrap();
    /// # let doubling_map = |input| pool.map(|x: u64| async move { x * 2 }, input);
    /// use futures::StreamExt;
    /// let doubled: Vec<_> = futures::executor::block_on(doubling_map(0..3).into_stream().collect());
    /// assert_eq!(doubled, [Ok(0), Ok(2), Ok(4)]);
    /// ```
    pub fn into_stream(self) -> MapStream<'a, A, T> {
        MapStream { map: self }
    }
}

impl<A, T> Drop for Map<'_, A, T> {
    fn drop(&mut self) {
        for chunk in self.in_order.iter() {
            chunk.cancel();
        }
        for chunk in self.as_completed.iter() {
            chunk.cancel();
        }
    }
}

impl<A, T> fmt::Debug for Map<'_, A, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("chunksize", &self.chunksize)
            .field("window", &self.window)
            .field("ramp_from", &self.ramp_from)
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
