//! `join_inline`: runs the futures of one chunk concurrently, cheaply when they finish at
//! once.
//!
//! Each future is polled once on the spot, in a pinned heap slot; a future that finishes
//! there (most, for tiny works) is dropped in place and its slot reused by the next, so
//! a chunk of futures that finish at once costs one allocation, not one per future. Only
//! the ones still pending keep their slot (a pinned box, which may move) and go into a
//! `FuturesUnordered`, which then wakes just the futures that can make progress.
//! `futures::join_all` instead gives every future of a large chunk its own task node and
//! waker up front.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{FuturesUnordered, StreamExt};

use crate::{ChunkResults, Error};

/// A pinned heap slot for one future at a time.
type Slot<F> = Pin<Box<Option<F>>>;

/// Polls the future in `slot`; empties the slot (dropping the future in place) once it
/// is ready.
fn poll_slot<F: Future>(slot: &mut Slot<F>, cx: &mut Context<'_>) -> Poll<F::Output> {
    let future = slot
        .as_mut()
        .as_pin_mut()
        .expect("a slot is polled only while it holds a future");
    let output = std::task::ready!(future.poll(cx));
    slot.set(None);
    Poll::Ready(output)
}

/// A pending future and the position of its output.
struct Indexed<F> {
    index: usize,
    slot: Slot<F>,
}

impl<F: Future> Future for Indexed<F> {
    type Output = (usize, F::Output);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let index = self.index;
        poll_slot(&mut self.slot, cx).map(|output| (index, output))
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
    let outputs = Vec::with_capacity(futures.size_hint().0);
    join_rest(outputs, FuturesUnordered::new(), futures).await
}

/// Runs a chunk's works (futures of `Result`s) to completion, concurrently, and returns
/// their results in order.
///
/// While every future finishes at once with `Ok` (tiny works), only the outputs are
/// kept, as [`ChunkResults::all_ok`]; the first that fails or has to wait switches to
/// one `Result` per item, as [`join_inline`].
///
/// # Examples
///
/// ```
/// use aplex_core::join::join_results;
/// use aplex_core::Error;
///
/// let works = (0..3).map(|x| async move { if x == 1 { Err(Error::Cancelled) } else { Ok(x) } });
/// let results = futures::executor::block_on(join_results(works));
/// assert_eq!(results.into_iter().collect::<Vec<_>>(), [Ok(0), Err(Error::Cancelled), Ok(2)]);
/// ```
pub async fn join_results<T, F>(futures: impl IntoIterator<Item = F>) -> ChunkResults<T>
where
    F: Future<Output = Result<T, Error>>,
{
    let mut futures = futures.into_iter();
    let mut outputs: Vec<T> = Vec::with_capacity(futures.size_hint().0);
    let mut interrupted = None;
    std::future::poll_fn(|cx| {
        let mut slot: Slot<F> = Box::pin(None);
        for future in futures.by_ref() {
            slot.set(Some(future));
            match poll_slot(&mut slot, cx) {
                Poll::Ready(Ok(output)) => outputs.push(output),
                Poll::Ready(Err(error)) => {
                    interrupted = Some(Err(error));
                    break;
                }
                Poll::Pending => {
                    interrupted = Some(Ok(slot));
                    break;
                }
            }
        }
        Poll::Ready(())
    })
    .await;
    let Some(interrupted) = interrupted else {
        return ChunkResults::all_ok(outputs);
    };
    let mut results: Vec<Option<Result<T, Error>>> =
        Vec::with_capacity(outputs.len() + 1 + futures.size_hint().0);
    results.extend(outputs.into_iter().map(|output| Some(Ok(output))));
    let pending = FuturesUnordered::new();
    match interrupted {
        Err(error) => results.push(Some(Err(error))),
        Ok(slot) => {
            pending.push(Indexed {
                index: results.len(),
                slot,
            });
            results.push(None);
        }
    }
    join_rest(results, pending, futures).await.into()
}

/// Polls the remaining `futures` once each after the outputs and pending futures so
/// far, then waits for every pending one; the outputs in order.
async fn join_rest<F: Future>(
    mut outputs: Vec<Option<F::Output>>,
    mut pending: FuturesUnordered<Indexed<F>>,
    mut futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    std::future::poll_fn(|cx| {
        let mut slot: Slot<F> = Box::pin(None);
        for future in futures.by_ref() {
            let index = outputs.len();
            slot.set(Some(future));
            match poll_slot(&mut slot, cx) {
                Poll::Ready(output) => outputs.push(Some(output)),
                Poll::Pending => {
                    outputs.push(None);
                    let slot = std::mem::replace(&mut slot, Box::pin(None));
                    pending.push(Indexed { index, slot });
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
