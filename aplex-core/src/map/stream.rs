//! A [`Map`] as an async [`Stream`].

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::Stream;

use super::Map;
use crate::Error;

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
    pub(super) map: Map<'a, A, T>,
}

impl<'a, A: 'a, T: Send + 'static> Stream for MapStream<'a, A, T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.map.poll_next_result(cx)
    }
}

impl<A, T> Unpin for MapStream<'_, A, T> {}
