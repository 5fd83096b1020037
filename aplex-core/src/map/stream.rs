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
/// # let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(2).build().unwrap();
/// # let doubling_map = |input| pool.map(|x: u64| async move { x * 2 }, input);
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
