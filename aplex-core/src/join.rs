//! `join_inline`: runs the futures of one chunk concurrently, cheaply when they finish at
//! once.
//!
//! Each future is boxed and polled once on the spot; those that finish (most, for tiny
//! works) never touch a `FuturesUnordered`. Only the ones still pending are moved (as
//! pinned boxes, which may move) into one, which then wakes just the futures that can
//! make progress. `futures::join_all` instead gives every future of a large chunk its
//! own task node and waker up front.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{FuturesUnordered, StreamExt};

/// A pending future and the position of its output.
struct Indexed<F> {
    index: usize,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for Indexed<F> {
    type Output = (usize, F::Output);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let index = self.index;
        self.future.as_mut().poll(cx).map(|output| (index, output))
    }
}

/// Runs every future to completion, concurrently, and returns their outputs in order.
///
/// # Examples
///
/// ```
/// use aplex_core::join::join_inline;
///
/// let outputs = futures::executor::block_on(join_inline((0..5).map(|x| async move { x * 2 })));
/// assert_eq!(outputs, [0, 2, 4, 6, 8]);
/// ```
pub async fn join_inline<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures = futures.into_iter();
    if futures.size_hint() == (1, Some(1)) {
        // A chunk of one (every plain submit, every map of chunksize 1): just await it.
        if let Some(only) = futures.next() {
            return vec![only.await];
        }
    }
    let mut outputs: Vec<Option<F::Output>> = Vec::with_capacity(futures.size_hint().0);
    let mut pending: FuturesUnordered<Indexed<F>> = FuturesUnordered::new();
    std::future::poll_fn(|cx| {
        for future in futures.by_ref() {
            let index = outputs.len();
            let mut future = Box::pin(future);
            match future.as_mut().poll(cx) {
                Poll::Ready(output) => outputs.push(Some(output)),
                Poll::Pending => {
                    outputs.push(None);
                    pending.push(Indexed { index, future });
                }
            }
        }
        Poll::Ready(())
    })
    .await;
    while let Some((index, output)) = pending.next().await {
        outputs[index] = Some(output);
    }
    outputs
        .into_iter()
        .map(|output| output.expect("every future of the chunk finished"))
        .collect()
}
