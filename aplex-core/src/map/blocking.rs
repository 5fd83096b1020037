//! A [`Map`] as a blocking iterator.

use super::Map;
use crate::wait::{block_until, ensure_blocking_allowed};
use crate::Error;

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
            self.progress.advance(false);
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
                self.progress.advance(false);
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
            return self.end_with(error);
        }
        let mut next = futures::future::poll_fn(|cx| self.poll_next_result(cx));
        block_until(&mut next, None).flatten()
    }
}
