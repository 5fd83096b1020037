//! `join_results`: runs the works of one chunk concurrently, cheaply when they finish at
//! once, catching each work's panic as that item's error.
//!
//! Each future is polled once on the spot, in a pinned heap slot; a future that finishes
//! there (most, for tiny works) is dropped in place and its slot reused by the next, so
//! a chunk of futures that finish at once costs one allocation, not one per future, and
//! while all of them succeed only their outputs are kept. That first pass runs under one
//! `catch_unwind` for the whole chunk; a panic there fails just the item that panicked,
//! and the pass goes on from the next item with one `catch_unwind` per poll. Only the
//! futures still pending keep their slot (a pinned box, which may move) and go into a
//! `FuturesUnordered`, which then wakes just the futures that can make progress.
//! `futures::join_all` instead gives every future of a large chunk its own task node and
//! waker up front.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{FuturesUnordered, StreamExt};

use crate::backend::catch::panicked;
use crate::backend::chunk_results::ChunkResults;
use crate::Error;

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

/// Polls the future in `slot`, turning a panic into [`Error::Panicked`] (and dropping the
/// future that panicked).
fn poll_caught<F: Future>(
    slot: &mut Slot<F>,
    cx: &mut Context<'_>,
) -> Poll<Result<F::Output, Error>> {
    match catch_unwind(AssertUnwindSafe(|| poll_slot(slot, cx))) {
        Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
        Ok(Poll::Pending) => Poll::Pending,
        Err(payload) => {
            slot.set(None);
            Poll::Ready(Err(panicked(payload)))
        }
    }
}

/// A pending future and the position of its output.
struct Indexed<F> {
    index: usize,
    slot: Slot<F>,
}

impl<F: Future> Future for Indexed<F> {
    type Output = (usize, Result<F::Output, Error>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let index = self.index;
        poll_caught(&mut self.slot, cx).map(|output| (index, output))
    }
}

/// How the first pass over a chunk stopped short.
enum Interrupted<F> {
    /// This future has to wait.
    Pending(Slot<F>),
    /// A work panicked: its item's error.
    Panicked(Error),
}

/// Runs a chunk's works to completion, concurrently, and returns their results in
/// order; a work that panics fails only its own item, with [`Error::Panicked`].
///
/// While every future finishes at once (tiny works), only the outputs are kept, as
/// [`ChunkResults::all_ok`]; the first that panics or has to wait switches to one
/// `Result` per item.
///
/// # Examples
///
/// ```
/// use aplex::backend::join::join_results;
/// use aplex::Error;
///
/// let works = (0..3).map(|x| async move { if x == 1 { panic!("one") } else { x } });
/// let results = futures::executor::block_on(join_results(works));
/// let message = String::from("one");
/// assert_eq!(results.into_iter().collect::<Vec<_>>(), [Ok(0), Err(Error::Panicked { message }), Ok(2)]);
/// ```
pub async fn join_results<F: Future>(
    futures: impl IntoIterator<Item = F>,
) -> ChunkResults<F::Output> {
    let mut futures = futures.into_iter();
    let mut outputs: Vec<F::Output> = Vec::with_capacity(futures.size_hint().0);
    let mut interrupted = None;
    std::future::poll_fn(|cx| {
        let mut slot: Slot<F> = Box::pin(None);
        let pass = catch_unwind(AssertUnwindSafe(|| {
            for future in futures.by_ref() {
                slot.set(Some(future));
                match poll_slot(&mut slot, cx) {
                    Poll::Ready(output) => outputs.push(output),
                    Poll::Pending => return true,
                }
            }
            false
        }));
        interrupted = match pass {
            Ok(false) => None,
            Ok(true) => Some(Interrupted::Pending(slot)),
            Err(payload) => {
                slot.set(None);
                Some(Interrupted::Panicked(panicked(payload)))
            }
        };
        Poll::Ready(())
    })
    .await;
    let Some(interrupted) = interrupted else {
        return ChunkResults::all_ok(outputs);
    };
    let interrupted = match interrupted {
        // The last future waits (a lone work: the common case): wait for it alone,
        // without building a set of pending futures.
        Interrupted::Pending(mut slot) if futures.size_hint().1 == Some(0) => {
            let last = std::future::poll_fn(|cx| poll_caught(&mut slot, cx)).await;
            let mut results = Vec::with_capacity(outputs.len() + 1);
            results.extend(outputs.into_iter().map(Ok));
            results.push(last);
            return results.into();
        }
        other => other,
    };
    let mut results: Vec<Option<Result<F::Output, Error>>> =
        Vec::with_capacity(outputs.len() + 1 + futures.size_hint().0);
    results.extend(outputs.into_iter().map(|output| Some(Ok(output))));
    let pending = FuturesUnordered::new();
    match interrupted {
        Interrupted::Panicked(error) => results.push(Some(Err(error))),
        Interrupted::Pending(slot) => {
            pending.push(Indexed {
                index: results.len(),
                slot,
            });
            results.push(None);
        }
    }
    join_rest(results, pending, futures).await.into()
}

/// Polls the remaining `futures` once each (each under its own `catch_unwind`) after the
/// results and pending futures so far, then waits for every pending one; the results in
/// order.
async fn join_rest<F: Future>(
    mut results: Vec<Option<Result<F::Output, Error>>>,
    mut pending: FuturesUnordered<Indexed<F>>,
    mut futures: impl Iterator<Item = F>,
) -> Vec<Result<F::Output, Error>> {
    // Held by `&mut` (`push` takes `&self`): the chunk's future is then `Send` when its
    // works' futures are, without asking them to be `Sync`.
    let (results_now, pending_now, futures_now) = (&mut results, &mut pending, &mut futures);
    std::future::poll_fn(move |cx| {
        let mut slot: Slot<F> = Box::pin(None);
        loop {
            // The iterator makes each future by calling the work: catch a panic there too.
            let next = catch_unwind(AssertUnwindSafe(|| futures_now.next()));
            let future = match next {
                Ok(Some(future)) => future,
                Ok(None) => break,
                Err(payload) => {
                    results_now.push(Some(Err(panicked(payload))));
                    continue;
                }
            };
            let index = results_now.len();
            slot.set(Some(future));
            match poll_caught(&mut slot, cx) {
                Poll::Ready(result) => results_now.push(Some(result)),
                Poll::Pending => {
                    results_now.push(None);
                    let slot = std::mem::replace(&mut slot, Box::pin(None));
                    pending_now.push(Indexed { index, slot });
                }
            }
        }
        Poll::Ready(())
    })
    .await;
    while let Some((index, result)) = pending.next().await {
        results[index] = Some(result);
    }
    results
        .into_iter()
        .map(|result| result.expect("every future of the chunk finished"))
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

    /// Runs items `0..count`: those in `waiting` wait once, those in `panicking` panic
    /// (after waiting, if they wait), those in `panicking_early` panic when called.
    fn run(
        count: u64,
        waiting: &[u64],
        panicking: &[u64],
        panicking_early: &[u64],
    ) -> Vec<Result<u64, Error>> {
        let works = (0..count).map(|x| {
            assert!(!panicking_early.contains(&x), "early {x}");
            async move {
                if waiting.contains(&x) {
                    yield_once().await;
                }
                assert!(!panicking.contains(&x), "late {x}");
                x
            }
        });
        futures::executor::block_on(join_results(works))
            .into_iter()
            .collect()
    }

    fn expected(count: u64, panicking: &[u64], panicking_early: &[u64]) -> Vec<Result<u64, Error>> {
        (0..count)
            .map(|x| {
                if panicking.contains(&x) {
                    Err(Error::Panicked {
                        message: format!("late {x}"),
                    })
                } else if panicking_early.contains(&x) {
                    Err(Error::Panicked {
                        message: format!("early {x}"),
                    })
                } else {
                    Ok(x)
                }
            })
            .collect()
    }

    #[test]
    fn works_that_finish_at_once_give_their_outputs_in_order() {
        assert_eq!(run(50, &[], &[], &[]), expected(50, &[], &[]));
    }

    #[test]
    fn a_waiting_work_first_keeps_every_result_in_place() {
        let (waiting, panicking, early) = ([1, 4, 5, 9], [2, 5, 8], [10]);
        assert_eq!(
            run(12, &waiting, &panicking, &early),
            expected(12, &panicking, &early)
        );
    }

    #[test]
    fn a_panicking_work_first_keeps_every_result_in_place() {
        let (waiting, panicking, early) = ([6, 7], [0, 3, 7], [8]);
        assert_eq!(
            run(10, &waiting, &panicking, &early),
            expected(10, &panicking, &early)
        );
    }

    #[test]
    fn a_work_that_panics_when_called_fails_only_its_item() {
        let early = [0, 2, 3];
        assert_eq!(run(5, &[], &[], &early), expected(5, &[], &early));
    }

    #[test]
    fn a_last_work_that_waits_is_awaited_alone_and_keeps_its_place() {
        // A lone work (what most chunks are), and a last one after others finished.
        assert_eq!(run(1, &[0], &[], &[]), expected(1, &[], &[]));
        assert_eq!(run(1, &[0], &[0], &[]), expected(1, &[0], &[]));
        assert_eq!(run(4, &[3], &[], &[]), expected(4, &[], &[]));
        assert_eq!(run(4, &[3], &[3], &[]), expected(4, &[3], &[]));
    }
}
