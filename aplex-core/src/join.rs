//! `join_results`: runs the works of one chunk concurrently, cheaply when they finish at
//! once.
//!
//! Each future is polled once on the spot, in a pinned heap slot; a future that finishes
//! there (most, for tiny works) is dropped in place and its slot reused by the next, so
//! a chunk of futures that finish at once costs one allocation, not one per future, and
//! while all of them succeed only their outputs are kept. Only the ones still pending
//! keep their slot (a pinned box, which may move) and go into a `FuturesUnordered`, which
//! then wakes just the futures that can make progress. `futures::join_all` instead gives
//! every future of a large chunk its own task node and waker up front.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{FuturesUnordered, StreamExt};

use crate::{ChunkResults, Error};

/// A pinned heap slot for one future at a time.
type Slot<F> = Pin<Box<Option<F>>>;

/// Polls the future in `slot`; empties the slot (dropping the future in place) once it
/// is ready.
#[inline]
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

/// Runs a chunk's works (futures of `Result`s) to completion, concurrently, and returns
/// their results in order.
///
/// While every future finishes at once with `Ok` (tiny works), only the outputs are
/// kept, as [`ChunkResults::all_ok`]; the first that fails or has to wait switches to
/// one `Result` per item.
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

#[cfg(test)]
mod tests {
    use std::task::Poll;

    use super::join_results;
    use crate::Error;

    /// Returns `Pending` once (waking itself), then `Ready`.
    async fn yield_once() {
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                return Poll::Ready(());
            }
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        })
        .await;
    }

    /// Runs items `0..count`: those in `waiting` wait once, those in `failing` fail.
    fn run(count: u64, waiting: &[u64], failing: &[u64]) -> Vec<Result<u64, Error>> {
        let works = (0..count).map(|x| async move {
            if waiting.contains(&x) {
                yield_once().await;
            }
            if failing.contains(&x) {
                Err(Error::Cancelled)
            } else {
                Ok(x)
            }
        });
        futures::executor::block_on(join_results(works))
            .into_iter()
            .collect()
    }

    fn expected(count: u64, failing: &[u64]) -> Vec<Result<u64, Error>> {
        (0..count)
            .map(|x| {
                if failing.contains(&x) {
                    Err(Error::Cancelled)
                } else {
                    Ok(x)
                }
            })
            .collect()
    }

    #[test]
    fn works_that_finish_at_once_give_their_outputs_in_order() {
        assert_eq!(run(50, &[], &[]), expected(50, &[]));
    }

    #[test]
    fn a_waiting_work_first_keeps_every_result_in_place() {
        let (waiting, failing) = ([1, 4, 5, 9], [2, 5, 8]);
        assert_eq!(run(12, &waiting, &failing), expected(12, &failing));
    }

    #[test]
    fn a_failing_work_first_keeps_every_result_in_place() {
        let (waiting, failing) = ([6, 7], [0, 3, 7]);
        assert_eq!(run(10, &waiting, &failing), expected(10, &failing));
    }
}
