//! The engine behind a [`Map`]'s iterator and stream: checking its settings, pulling the
//! input into the window of chunks in flight, and polling for the next result.
//!
//! 1. The first poll checks the settings (an invalid one is the map's only result) and
//!    starts the clock of the map's timeout.
//! 2. The window is topped up in bursts (once at most half of it is in flight); a pool's
//!    map starts it small and quadruples it each time half as many chunks as it holds
//!    are done, up to its bound. A
//!    burst is sent to the workers in one flush — but the first chunk of a burst is sent
//!    at once, and once a pull has been slow, so is every chunk until the input has been
//!    fast for a while: a slow input's works start as its items arrive. While a slow
//!    input is pulled, the burst also stops as soon as a result is ready, so results
//!    flow as items do. The map's deadline is checked as items arrive. Whatever was
//!    submitted is flushed however the burst ends, a panic of the input iterator
//!    included.
//! 3. Results come from the front chunk (ordered) or from whichever chunk ends first.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::stream::StreamExt;
use futures_timer::Delay;

use super::{ChunkFuture, FlushChunks, Map, MAX_SPARES};
use crate::backend::chunk::Chunk;
use crate::backend::chunk_results::{self, ChunkResults};
use crate::deadline::later_by;
use crate::{Clock, Error};

/// A pull of the input that took at least this long means the input is slow: chunks are
/// then sent one by one, as they arrive, rather than at the end of the burst.
const SLOW_PULL: Duration = Duration::from_micros(20);

/// How many fast pulls in a row turn a slow input back into a fast one.
const FAST_AGAIN_AFTER: u8 = 64;

/// A chunk in flight and how many items it holds.
pub(crate) struct Labeled<T> {
    /// Its future; handed out with its outcome (for its cell, `keep_spare`), so `None`
    /// only once the chunk is done, when nobody polls it again.
    future: Option<ChunkFuture<T>>,
    items: usize,
}

impl<T> Labeled<T> {
    /// Whether the chunk has its outcome (or has handed it out).
    fn done(&self) -> bool {
        self.future.as_ref().is_none_or(ChunkFuture::done)
    }

    /// Cancels the chunk, unless it is done.
    pub(crate) fn cancel(&self) {
        if let Some(future) = &self.future {
            future.cancel();
        }
    }
}

/// A chunk's outcome and how many items it held.
pub(crate) type LabeledOutcome<T> = (Result<ChunkResults<T>, Error>, usize);

impl<T: Send + 'static> Future for Labeled<T> {
    /// The outcome, and the future it came from (whose cell may serve the next chunk).
    type Output = (LabeledOutcome<T>, Option<ChunkFuture<T>>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let items = self.items;
        let Some(future) = self.future.as_mut() else {
            // Done and handed out: neither the ordered queue nor `FuturesUnordered` polls
            // a finished chunk again.
            return Poll::Pending;
        };
        let outcome = std::task::ready!(Pin::new(future).poll(cx));
        Poll::Ready(((outcome, items), self.future.take()))
    }
}

/// Flushes what a burst submitted when the burst ends, however it ends.
struct FlushOnExit<'f, 'a> {
    flush: &'f mut FlushChunks<'a>,
    staged: bool,
}

impl FlushOnExit<'_, '_> {
    fn now(&mut self) {
        if std::mem::take(&mut self.staged) {
            (self.flush)();
        }
    }
}

impl Drop for FlushOnExit<'_, '_> {
    fn drop(&mut self) {
        self.now();
    }
}

/// Whether a chunk in flight has its outcome (ordered: the front one).
fn has_ready_chunk<T>(
    in_order: &std::collections::VecDeque<Labeled<T>>,
    as_completed: &futures::stream::FuturesUnordered<Labeled<T>>,
) -> bool {
    match in_order.front() {
        Some(front) => front.done(),
        None => as_completed.iter().any(Labeled::done),
    }
}

impl<'a, A: 'a, T: Send + 'static> Map<'a, A, T> {
    /// The first invalid setting, if any.
    fn check_settings(&self) -> Result<(), Error> {
        let zero = |timeout: Option<Duration>| timeout.is_some_and(|timeout| timeout.is_zero());
        if self.chunksize == 0 {
            return Err(Error::invalid_config(
                "chunksize",
                "chunksize must be at least 1",
            ));
        }
        if self.window == 0 {
            return Err(Error::invalid_config(
                "window",
                "a map's window must hold at least 1 chunk",
            ));
        }
        if zero(self.timeout) {
            return Err(Error::invalid_config(
                "timeout",
                "a map's timeout must be longer than zero (or unset for none)",
            ));
        }
        if zero(self.options.timeout) {
            return Err(Error::invalid_config(
                "work_timeout",
                "a work timeout must be longer than zero (or unset for none)",
            ));
        }
        Ok(())
    }

    fn deadline(&self) -> Option<Instant> {
        Some(later_by(self.started?, self.timeout?))
    }

    pub(super) fn in_flight(&self) -> usize {
        self.in_order.len() + self.as_completed.len()
    }

    /// The window now: the set one, or the ramp's, which quadruples each time half as many
    /// chunks as it holds are done (so it grows in a few steps, each one burst), up to
    /// the bound.
    fn current_window(&self) -> usize {
        match self.ramp_from {
            Some(ramp) => ramp.min(self.window),
            None => self.window,
        }
    }

    /// One more chunk is done: the ramp quadruples once half as many chunks as it holds
    /// are (measured: growing by doubling, in more and smaller bursts, cost a map of
    /// 256-item chunks on the thread pool about a sixth of its throughput).
    fn chunk_done(&mut self) {
        self.chunks_done += 1;
        if let Some(ramp) = &mut self.ramp_from {
            if self.chunks_done.saturating_mul(2) >= *ramp && *ramp < self.window {
                *ramp = ramp.saturating_mul(4);
            }
        }
    }

    /// Tops the window up, in bursts (see the module docs), a held chunk first (`cx` is
    /// woken once it may have room); fails with [`Error::TimedOut`] when the map's
    /// deadline passes while the input is pulled.
    fn refill(&mut self, cx: &mut Context<'_>) -> Result<(), Error> {
        let in_flight = self.in_flight();
        let window = self.current_window();
        if in_flight > 0 && in_flight > window / 2 {
            return Ok(());
        }
        let deadline = self.deadline();
        let Map {
            submit,
            spares,
            flush,
            held,
            input,
            input_done,
            chunksize,
            ordered,
            options,
            in_order,
            as_completed,
            slow_input,
            ..
        } = self;
        let mut burst = FlushOnExit {
            flush,
            staged: false,
        };
        let mut pulled = 0usize;
        loop {
            let (chunk, pull) = match held.take() {
                Some(mut waiting) => {
                    if waiting.poll_room(cx).is_pending() {
                        *held = Some(waiting);
                        return Ok(());
                    }
                    (waiting.chunk, None)
                }
                None if *input_done || in_order.len() + as_completed.len() >= window => break,
                None => {
                    // Only the pull is timed, not the submit (which may wait for a lock):
                    // every pull while the input is slow, the first few of a burst, and
                    // every 16th.
                    let timed = *slow_input > 0
                        || pulled < 4
                        || pulled.is_multiple_of(16)
                        || deadline.is_some();
                    let before = timed.then(Instant::now);
                    let Some(chunk) = input.next_chunk(*chunksize) else {
                        *input_done = true;
                        break;
                    };
                    (chunk, Some(before.map(|before| (before, Instant::now()))))
                }
            };
            let items = chunk.len();
            let future = match submit(chunk, options.clone(), spares.pop()) {
                Ok(future) => future,
                Err(refused) => {
                    // No room: hold the chunk, and poll for room at the top of the loop.
                    *held = Some(refused);
                    continue;
                }
            };
            let first = pulled == 0;
            pulled += 1;
            let labeled = Labeled {
                items,
                future: Some(future),
            };
            burst.staged = true;
            if *ordered {
                in_order.push_back(labeled);
            } else {
                as_completed.push(labeled);
            }
            if let Some(Some((before, after))) = pull {
                if after.duration_since(before) >= SLOW_PULL {
                    *slow_input = FAST_AGAIN_AFTER;
                } else {
                    *slow_input = slow_input.saturating_sub(1);
                }
                if deadline.is_some_and(|deadline| after >= deadline) {
                    return Err(Error::TimedOut { clock: Clock::Map });
                }
            }
            if first || *slow_input > 0 {
                burst.now();
            }
            if *slow_input > 0 && has_ready_chunk(in_order, as_completed) {
                break;
            }
        }
        Ok(())
    }

    /// Ends the map, cancelling everything in flight.
    pub(super) fn finish(&mut self) {
        #[cfg(feature = "progress")]
        self.progress.finish();
        self.finished = true;
        self.spares = Vec::new();
        self.held = None;
        self.ready_outputs = Chunk::Many(Vec::new()).into_iter();
        self.ready = chunk_results::IntoIter::empty();
        for chunk in self.in_order.drain(..) {
            chunk.cancel();
        }
        for chunk in self.as_completed.iter() {
            chunk.cancel();
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

    /// Hands out one item's result; an error ends the map unless it keeps going.
    #[inline]
    pub(super) fn yield_item(&mut self, item: Result<T, Error>) -> Option<Result<T, Error>> {
        #[cfg(feature = "progress")]
        self.progress.advance(item.is_err());
        if item.is_err() && !self.keep_going {
            self.finish();
        }
        Some(item)
    }

    /// Hands out an error that ends the map whatever its settings.
    pub(super) fn end_with(&mut self, error: Error) -> Option<Result<T, Error>> {
        #[cfg(feature = "progress")]
        self.progress.advance(true);
        self.finish();
        Some(Err(error))
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<LabeledOutcome<T>>> {
        let (outcome, read) = if self.ordered {
            let Some(front) = self.in_order.front_mut() else {
                return Poll::Ready(None);
            };
            let read = std::task::ready!(Pin::new(front).poll(cx));
            self.in_order.pop_front();
            read
        } else {
            match std::task::ready!(self.as_completed.poll_next_unpin(cx)) {
                Some(read) => read,
                None => return Poll::Ready(None),
            }
        };
        if let Some(read) = read {
            self.keep_spare(read);
        }
        Poll::Ready(Some(outcome))
    }

    /// Keeps the cell of a chunk whose outcome was read for a next chunk, if the submit
    /// reuses cells, there is room, and nothing else holds it (the worker may not have
    /// dropped its promise yet: then the cell is freed as before).
    fn keep_spare(&mut self, read: ChunkFuture<T>) {
        // Once the input is done no submit will take one.
        if self.reuses_cells && !self.input_done && self.spares.len() < MAX_SPARES {
            if let Some(spare) = read.into_spare() {
                self.spares.push(spare);
            }
        }
    }

    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(deadline) = self.deadline() else {
            return Poll::Pending;
        };
        let delay = self
            .delay
            .get_or_insert_with(|| Delay::new(deadline.saturating_duration_since(Instant::now())));
        if Instant::now() >= deadline {
            return Poll::Ready(());
        }
        Pin::new(delay).poll(cx)
    }

    /// The next result, polled: the engine behind both the iterator and the stream.
    pub(super) fn poll_next_result(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<T, Error>>> {
        if self.finished {
            return Poll::Ready(None);
        }
        if self.started.is_none() {
            if let Err(error) = self.check_settings() {
                return Poll::Ready(self.end_with(error));
            }
            self.started = Some(Instant::now());
        }
        loop {
            if let Some(item) = self.next_ready() {
                return Poll::Ready(self.yield_item(item));
            }
            if let Err(error) = self.refill(cx) {
                return Poll::Ready(self.end_with(error));
            }
            let polled = self.poll_chunk(cx);
            if matches!(polled, Poll::Ready(Some(_))) {
                self.chunk_done();
            }
            match polled {
                // Nothing in flight, but a chunk waits for room (`refill` polled it).
                Poll::Ready(None) if self.held.is_some() => break,
                Poll::Ready(None) => {
                    self.finish();
                    return Poll::Ready(None);
                }
                Poll::Ready(Some((Ok(results), _))) => match results.into_outputs() {
                    Ok(outputs) => self.ready_outputs = outputs.into_iter(),
                    Err(results) => self.ready = results.into_iter(),
                },
                Poll::Ready(Some((Err(error), items))) if self.keep_going => {
                    // The whole chunk failed: each of its items gets the error.
                    let each: ChunkResults<T> = (0..items).map(|_| Err(error.clone())).collect();
                    self.ready = each.into_iter();
                }
                Poll::Ready(Some((Err(error), _))) => {
                    return Poll::Ready(self.yield_item(Err(error)))
                }
                Poll::Pending => break,
            }
        }
        if self.poll_deadline(cx).is_ready() {
            return Poll::Ready(self.end_with(Error::TimedOut { clock: Clock::Map }));
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use crate::backend::chunk_results::ChunkResults;
    use crate::future::WorkFuture;
    use crate::map::Map;

    /// A map of `0..items`, each doubled, in chunks of one, 8 in flight; each chunk
    /// resolves as it is submitted, so nothing else holds a cell once it is read. Counts
    /// in `reused` the submits given a spare cell.
    fn doubling_map(items: u64, reused: &Arc<AtomicUsize>) -> Map<'static, u64, u64> {
        let counted = Arc::clone(reused);
        Map::reusing(
            0..items,
            8,
            Box::new(move |chunk, _options, spare| {
                counted.fetch_add(usize::from(spare.is_some()), Ordering::Relaxed);
                let (promise, future) = WorkFuture::chunk_pair(true, chunk.len(), spare);
                let doubled: ChunkResults<u64> = chunk.into_iter().map(|x| Ok(x * 2)).collect();
                promise.complete(Ok(doubled));
                Ok(future)
            }),
            Box::new(|| {}),
        )
    }

    /// An ordered map hands the cells of the chunks it has read to its next submits, and
    /// every result still comes once, in order, never an earlier chunk's: every submit
    /// after the first window's gets a spare.
    #[test]
    fn an_ordered_map_reuses_the_cells_it_has_read() {
        let reused = Arc::new(AtomicUsize::new(0));
        let doubled: Vec<u64> = doubling_map(1000, &reused)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(doubled, (0..1000).map(|x| x * 2).collect::<Vec<_>>());
        assert_eq!(reused.load(Ordering::Relaxed), 1000 - 8);
    }

    /// An unordered map reuses the cells of the chunks it has read as an ordered one
    /// does, and yields every result once.
    #[test]
    fn an_unordered_map_reuses_the_cells_it_has_read() {
        let reused = Arc::new(AtomicUsize::new(0));
        let mut doubled: Vec<u64> = doubling_map(1000, &reused)
            .unordered()
            .collect::<Result<_, _>>()
            .unwrap();
        doubled.sort_unstable();
        assert_eq!(doubled, (0..1000).map(|x| x * 2).collect::<Vec<_>>());
        assert_eq!(reused.load(Ordering::Relaxed), 1000 - 8);
    }

    /// A map keeps spare cells while its input lasts (one at least after every item
    /// read: the next refill takes them), and none once it is read to its end.
    #[test]
    fn a_map_keeps_spare_cells_only_while_its_input_lasts() {
        let mut map = doubling_map(1000, &Arc::new(AtomicUsize::new(0)));
        assert_eq!(map.by_ref().take(50).count(), 50);
        assert!(!map.spares.is_empty());
        assert_eq!(map.by_ref().count(), 950);
        assert!(map.spares.is_empty());
    }

    /// A map whose submit cannot use spare cells (a backend's own, `backend::new_map`)
    /// keeps none, even midway.
    #[test]
    fn a_map_of_a_plain_submit_keeps_no_spare_cells() {
        let mut map = Map::new(
            0..1000_u64,
            8,
            Box::new(|chunk, _options| {
                let (promise, future) = WorkFuture::chunk_pair(true, chunk.len(), None);
                promise.complete(Ok(chunk.into_iter().map(Ok).collect()));
                future
            }),
            Box::new(|| {}),
        );
        assert_eq!(map.by_ref().take(50).count(), 50);
        assert!(map.spares.is_empty());
    }
}
