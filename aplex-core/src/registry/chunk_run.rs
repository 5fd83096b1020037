//! How an async trampoline runs the chunk it is given: decoded first, then a chunk of one
//! item — every `submit`, and every chunk of a map at chunksize 1 — awaits its work's
//! future alone, inside the trampoline's own future, and a larger chunk joins its works
//! (`join_results`).
//!
//! The one-item way is one allocation (the trampoline's future, holding the work's) where
//! the join took four: its bigger future (the join's state for any number of items), a
//! slot for the work's future, and two vectors. A process or remote worker keeps these for
//! as long as the work runs: 100,000 sleeping works kept 100,000 of each.

use std::future::Future;

use futures::future::{self, Either};
use futures::FutureExt;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::backend::chunk_results::ChunkResults;
use crate::backend::join::join_results;
use crate::backend::local::{catch_async, catch_blocking};
use crate::registry::answer::Answer;
use crate::registry::encoded::Encoded;
use crate::registry::framed::{decode_single, decode_split, merge_failures, Failures};
use crate::registry::outcomes::encode_outcomes;
use crate::registry::Args;
use crate::Error;

/// A chunk's arguments, decoded.
pub(crate) enum Decoded<A> {
    /// One item, decoded.
    One(A),
    /// Any other number of items, with the positions and errors of those that did not
    /// decode.
    Chunk(Vec<A>, Failures),
}

/// Decodes `args` of the work called `name`, and frees them (their buffer, or the shared
/// region they were read from in place) before any work runs.
///
/// A panic in `A`'s `Deserialize` (user code) fails the work with [`Error::Panicked`],
/// as it does a blocking work's, and leaves the worker serving: the trampoline decodes
/// where the loop makes the work's future, which nothing else catches.
pub(crate) fn decode<A: DeserializeOwned>(
    args: Args,
    name: &'static str,
) -> Result<Decoded<A>, Error> {
    catch_blocking(move || decode_uncaught(args, name)).and_then(|decoded| decoded)
}

fn decode_uncaught<A: DeserializeOwned>(
    args: Args,
    name: &'static str,
) -> Result<Decoded<A>, Error> {
    if let Some(item) = decode_single::<A>(args.bytes()) {
        drop(args);
        return Ok(Decoded::One(item));
    }
    // Not one item that decodes: any other count, or one that fails as its chunk's item.
    let (items, failed) = decode_split::<A>(args.bytes(), name, "arguments")?;
    drop(args);
    Ok(Decoded::Chunk(items, failed))
}

/// Runs the work that `make` starts, at the first poll (a panic there or in the future
/// fails it with [`Error::Panicked`]), and encodes its outcome as a chunk of one.
///
/// Combinators rather than an `async fn`: the generator of one kept the work's future
/// twice while it ran (the one `make` returned, moved from but still in its frame, and
/// the catch around it): 336 bytes per sleeping work whose own future is 136, kept by a
/// worker process or node for every work in flight.
pub(crate) fn run_one<Fut>(
    make: impl FnOnce() -> Fut,
    name: &'static str,
) -> impl Future<Output = Result<Encoded, Error>>
where
    Fut: Future,
    Fut::Output: Serialize,
{
    future::lazy(move |_| catch_blocking(make))
        .then(|started| match started {
            Ok(future) => Either::Left(catch_async(future)),
            Err(panicked) => Either::Right(future::ready(Err(panicked))),
        })
        .map(move |result| encode_outcomes(ChunkResults::one(result), name))
}

/// Runs a trampoline's `run` and sends its outcome to `answer` as the run's last step,
/// inside the same future (no wrapper of its own for a worker to keep beside it). A panic
/// that slips out of the run (a `Serialize` that panics while the outcomes are encoded)
/// is the answer's [`Error::Panicked`].
pub(crate) fn answered(
    run: impl Future<Output = Result<Encoded, Error>>,
    answer: Answer,
) -> impl Future<Output = ()> {
    catch_async(run).map(move |caught| answer.send(caught.and_then(|outcome| outcome)))
}

/// Runs every work of a chunk concurrently (`join_results`) and encodes the outcomes,
/// those of the items that did not decode among them.
pub(crate) async fn run_chunk<A, Fut>(
    work: impl Fn(A) -> Fut,
    items: Vec<A>,
    failed: Failures,
    name: &'static str,
) -> Result<Encoded, Error>
where
    Fut: Future,
    Fut::Output: Serialize,
{
    let results = join_results(items.into_iter().map(work)).await;
    encode_outcomes(merge_failures(results, failed), name)
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;
    use crate::registry::framed::encode_each;
    use crate::registry::outcomes::{decode_chunk, decode_one};

    fn args<T: Serialize>(items: &[T]) -> Args {
        Args::new(encode_each(items, "w", "arguments").0)
    }

    #[test]
    fn one_item_is_decoded_alone_and_more_as_a_chunk() {
        assert!(matches!(
            decode::<u64>(args(&[7u64]), "w"),
            Ok(Decoded::One(7))
        ));
        let two = decode::<u64>(args(&[1u64, 2]), "w");
        assert!(
            matches!(two, Ok(Decoded::Chunk(items, failed)) if items == [1, 2] && failed.is_empty())
        );
        let none = decode::<u64>(args::<u64>(&[]), "w");
        assert!(matches!(none, Ok(Decoded::Chunk(items, _)) if items.is_empty()));
    }

    #[test]
    fn an_item_that_does_not_decode_stays_a_failure_of_its_chunk() {
        let decoded = decode::<u8>(args(&[300u64]), "w");
        let Ok(Decoded::Chunk(items, failed)) = decoded else {
            panic!("an undecodable item makes a chunk with its failure");
        };
        assert!(items.is_empty());
        assert_eq!(failed.len(), 1);
        let bytes = block_on(run_chunk(|x: u8| async move { x }, items, failed, "w")).unwrap();
        let results = decode_chunk::<u8>(&bytes, "w", 1, Vec::new()).unwrap();
        let results: Vec<_> = results.into_iter().collect();
        assert!(matches!(results[..], [Err(Error::Serialization { .. })]));
    }

    #[test]
    fn a_lone_work_answers_as_a_chunk_of_one() {
        let bytes = block_on(run_one(|| async { 41u64 + 1 }, "w")).unwrap();
        assert_eq!(decode_one::<u64>(&bytes, "w"), Ok(42));
        let results = decode_chunk::<u64>(&bytes, "w", 1, Vec::new()).unwrap();
        assert_eq!(results.into_iter().collect::<Vec<_>>(), [Ok(42)]);
    }

    #[test]
    fn a_lone_works_run_holds_its_future_once() {
        // A work whose future holds 256 bytes while it waits, as a sleeping work holds
        // its timer.
        let work = || async {
            let held = [7u8; 256];
            yield_once().await;
            held.iter().map(|&b| u64::from(b)).sum::<u64>()
        };
        let work_size = std::mem::size_of_val(&work());
        let run_size = std::mem::size_of_val(&run_one(work, "w"));
        assert!(
            run_size < work_size + 64,
            "a run of {run_size} bytes for a work's future of {work_size}"
        );
        let bytes = block_on(run_one(work, "w")).unwrap();
        assert_eq!(decode_one::<u64>(&bytes, "w"), Ok(7 * 256));
    }

    /// What one answer said: its id, and its outcome's bytes (`None`: unanswered).
    type Said = (u64, Option<Result<Vec<u8>, Error>>);

    /// Records what its answers say.
    #[derive(Default)]
    struct Recorded(std::sync::Mutex<Vec<Said>>);

    impl crate::registry::answer::AnswerTo for Recorded {
        fn answer(&self, id: u64, outcome: Result<Encoded, Error>) {
            let outcome = outcome.map(|bytes| bytes.to_vec());
            self.0.lock().unwrap().push((id, Some(outcome)));
        }
        fn unanswered(&self, id: u64) {
            self.0.lock().unwrap().push((id, None));
        }
    }

    #[test]
    fn an_answered_run_holds_its_answer_beside_its_work_and_nothing_more() {
        let work = || async {
            let held = [7u8; 256];
            yield_once().await;
            held.iter().map(|&b| u64::from(b)).sum::<u64>()
        };
        let record = std::sync::Arc::new(Recorded::default());
        let work_size = std::mem::size_of_val(&work());
        let answered_run = answered(run_one(work, "w"), Answer::new(1, record.clone()));
        let run_size = std::mem::size_of_val(&answered_run);
        let allowed = work_size + 64 + std::mem::size_of::<Answer>();
        assert!(
            run_size <= allowed,
            "an answered run of {run_size} bytes for a work's future of {work_size}"
        );
        block_on(answered_run);
        drop(answered(run_one(work, "w"), Answer::new(2, record.clone())));
        let recorded = std::mem::take(&mut *record.0.lock().unwrap());
        let [(1, Some(Ok(bytes))), (2, None)] = &recorded[..] else {
            panic!("work 1 answered, work 2 dropped unanswered: {recorded:?}");
        };
        assert_eq!(decode_one::<u64>(bytes, "w"), Ok(7 * 256));
    }

    #[test]
    fn a_panic_while_the_outcome_is_encoded_is_the_answer() {
        struct Unencodable;
        impl Serialize for Unencodable {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                panic!("cannot encode")
            }
        }
        let record = std::sync::Arc::new(Recorded::default());
        block_on(answered(
            run_one(|| async { Unencodable }, "w"),
            Answer::new(3, record.clone()),
        ));
        let recorded = std::mem::take(&mut *record.0.lock().unwrap());
        let message = String::from("cannot encode");
        assert!(
            matches!(&recorded[..], [(3, Some(Err(Error::Panicked { message: m })))] if *m == message),
            "{recorded:?}"
        );
    }

    /// Pending once (woken at once), then ready.
    async fn yield_once() {
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                return std::task::Poll::Ready(());
            }
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        })
        .await
    }

    fn boom() -> u8 {
        panic!("in the future")
    }

    #[test]
    fn a_lone_work_that_panics_fails_with_its_message() {
        let in_future = block_on(run_one(|| async { boom() }, "w"));
        let message = String::from("in the future");
        assert_eq!(
            decode_one::<u8>(&in_future.unwrap(), "w"),
            Err(Error::Panicked { message })
        );
        let starting = || -> std::future::Ready<u8> { panic!("when called") };
        let when_called = block_on(run_one(starting, "w"));
        let message = String::from("when called");
        assert_eq!(
            decode_one::<u8>(&when_called.unwrap(), "w"),
            Err(Error::Panicked { message })
        );
    }
}
