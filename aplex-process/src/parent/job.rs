//! Turning a typed submission into a `ProcessJob` (for any executor whose workers take
//! one; the process pool's, in practice): the work's registry index, its chunk
//! of arguments encoded as one buffer, and a completer that decodes the reply into the
//! typed future.

use std::fmt;

use aplex_core::backend::{Begin, ChunkResults, Executor, WorkPromise, Worker};
use aplex_core::{Error, WorkOptions};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::protocol::payload::Payload;
use crate::protocol::store::STORE;
use aplex_core::registry::encoded_promise::EncodedPromise;
use aplex_core::registry::framed::encode_each_to;
use aplex_core::registry::outcomes::{decode_chunk, decode_one};
use aplex_core::registry::registry;

/// Turns the reply to one `Run` into its future's outcome; dropped unused, its future
/// resolves `Cancelled`. Kept inline in its slot's map of works in flight, in three words:
/// the promise decodes the reply itself (no allocation per work, where a boxed closure
/// made one on the submitting thread that the supervisor freed), `work` is the work's
/// registry index, which names it in a decoding error, and `expected` the number of
/// outcomes the reply carries (a map chunk's items).
pub(crate) struct Completer {
    promise: EncodedPromise,
    work: u32,
    expected: u32,
}

impl Completer {
    /// The completer of a lone work (`expected` 1) or of a chunk, of work `work`.
    pub(crate) fn decoding(promise: EncodedPromise, work: u32, expected: u32) -> Self {
        Completer {
            promise,
            work,
            expected,
        }
    }

    /// A completer of work `work` that is a closure, given the reply's outcome (a work
    /// that may be retried, a chunk with items to put back).
    pub(crate) fn by_closure<F>(work: u32, complete: F) -> Self
    where
        F: FnOnce(Result<&[u8], Error>) + Send + 'static,
    {
        Completer::decoding(EncodedPromise::by_closure(complete), work, 0)
    }

    /// Completes the future with the reply's `outcome`.
    pub(crate) fn complete(self, outcome: Result<Payload, Error>) {
        let Completer {
            promise,
            work,
            expected,
        } = self;
        let name = registry().get(work).map_or("a work", |(name, _)| name);
        let expected = expected as usize;
        match outcome {
            Ok(bytes) => promise.complete(Ok(&bytes), name, expected),
            Err(error) => promise.complete(Err(error), name, expected),
        };
    }
}

/// Runs a completer on the supervisor thread, which must survive whatever user code the
/// completer reaches (a waker, a `Drop`): a panic there leaves the future to resolve as
/// its dropped promise does (`Cancelled`) rather than kill the thread reading replies.
pub(crate) fn settle(completer: Completer, outcome: Result<Payload, Error>) {
    let settled =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| completer.complete(outcome)));
    if let Err(panic) = settled {
        tracing::error!(
            panic = %aplex_core::backend::panic_message(&*panic),
            "aplex: user code panicked while a work's outcome was delivered"
        );
    }
}

/// What a process worker is handed for one work or map chunk: the work's registry
/// index, its encoded arguments, and how to complete its future from the reply.
pub struct ProcessJob {
    pub(crate) work: u32,
    pub(crate) args: Payload,
    pub(crate) complete: Completer,
    /// For a blocking work: says when it is beyond recall, and when it begins.
    pub(crate) begin: Option<Begin>,
}

impl fmt::Debug for ProcessJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessJob")
            .field("work", &self.work)
            .field("args", &self.args)
            .finish_non_exhaustive()
    }
}

/// Encodes a chunk of arguments (one item for a submit) as one buffer, each item on its
/// own (`framed.rs`): the payload of the items that could be encoded, and the positions
/// and errors of those that could not.
pub(crate) fn encode_chunk<A: Serialize>(
    items: &[A],
    name: &str,
) -> (Payload, Vec<(usize, Error)>) {
    // A big argument is written straight into a region of the process's store.
    let (encoded, failed) = encode_each_to(items, name, "arguments", Some(&STORE));
    (Payload::encoded(encoded), failed)
}

/// What a job needs to be dispatched again if its worker crashes
/// (`WorkOptions::retry_crashed`): the pool, the work's options, how many retries are
/// left, and a copy of its arguments. Boxed where a job keeps it: most jobs have none, and
/// inline it made every work's completer 136 bytes rather than 40.
pub(crate) struct Retry<W: Worker<Job = ProcessJob>> {
    executor: Executor<W>,
    options: WorkOptions,
    left: u32,
    args: Payload,
}

impl<W: Worker<Job = ProcessJob>> fmt::Debug for Retry<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("left", &self.left)
            .finish_non_exhaustive()
    }
}

impl<W: Worker<Job = ProcessJob>> Retry<W> {
    /// The retry of a job sent with `options` and `args`, if it may be retried.
    pub(crate) fn new(
        executor: &Executor<W>,
        options: &WorkOptions,
        args: &Payload,
    ) -> Option<Box<Retry<W>>> {
        let left = options.retry_crashed_value();
        (left > 0).then(|| {
            Box::new(Retry {
                executor: executor.clone(),
                options: options.clone(),
                left,
                args: args.clone(),
            })
        })
    }

    /// If `outcome` says the work's worker crashed and `retry` has retries left, dispatches
    /// the work again (its job rebuilt by `rebuild`) and gives `None`; otherwise gives the
    /// promise back, to be completed with `outcome`.
    fn unless_retried<T: Send + 'static, B>(
        retry: Option<Box<Retry<W>>>,
        outcome: &Result<B, Error>,
        promise: WorkPromise<T>,
        rebuild: impl FnOnce(Payload, WorkPromise<T>, Option<Box<Retry<W>>>) -> ProcessJob,
    ) -> Option<WorkPromise<T>> {
        match retry {
            Some(retry) if matches!(outcome, Err(Error::WorkerCrashed { .. })) => {
                (*retry).again(promise, rebuild).err()
            }
            _ => Some(promise),
        }
    }

    /// Dispatches the work again, its job rebuilt by `rebuild` from the arguments and
    /// the next retry; gives the promise back if the pool no longer runs.
    fn again<T: Send + 'static>(
        self,
        promise: WorkPromise<T>,
        rebuild: impl FnOnce(Payload, WorkPromise<T>, Option<Box<Retry<W>>>) -> ProcessJob,
    ) -> Result<(), WorkPromise<T>> {
        let Retry {
            executor,
            options,
            left,
            args,
        } = self;
        let next = Retry::new(&executor, &options.clone().retry_crashed(left - 1), &args);
        let retry_options = options.clone();
        executor.retry(promise, retry_options, move |promise| {
            rebuild(args, promise, next)
        })
    }
}

/// A job for one submitted work, whose arguments `encode_chunk` made from one item.
pub(crate) fn single_job<T, W: Worker<Job = ProcessJob>>(
    work: u32,
    name: &'static str,
    args: Payload,
    promise: WorkPromise<T>,
    retry: Option<Box<Retry<W>>>,
    blocking: bool,
) -> ProcessJob
where
    T: DeserializeOwned + Send + 'static,
{
    let begin = blocking.then(|| promise.begin_handle());
    if retry.is_none() {
        return ProcessJob {
            work,
            args,
            complete: Completer::decoding(EncodedPromise::one(promise), work, 1),
            begin,
        };
    }
    let complete = Completer::by_closure(work, move |outcome| {
        let rebuild =
            move |args, promise, next| single_job(work, name, args, promise, next, blocking);
        let Some(promise) = Retry::unless_retried(retry, &outcome, promise, rebuild) else {
            return;
        };
        let result = outcome.and_then(|bytes| decode_one(bytes, name));
        promise.complete(result);
    });
    ProcessJob {
        work,
        args,
        complete,
        begin,
    }
}

/// A job for one chunk of a map: `expected` items sent, one result each, and the
/// items that could not be encoded put back in their places (`failed`).
#[allow(clippy::too_many_arguments)] // the parts of one chunk, each used once
pub(crate) fn chunk_job<T, W: Worker<Job = ProcessJob>>(
    work: u32,
    name: &'static str,
    args: Payload,
    expected: usize,
    promise: WorkPromise<ChunkResults<T>>,
    retry: Option<Box<Retry<W>>>,
    blocking: bool,
    failed: Vec<(usize, Error)>,
) -> ProcessJob
where
    T: DeserializeOwned + Send + 'static,
{
    let begin = blocking.then(|| promise.begin_handle());
    // A chunk that is not retried and has no items to put back is decoded by its promise
    // (a count beyond a `u32`, never seen in practice, goes the general way).
    let decoded_by_promise = (retry.is_none() && failed.is_empty())
        .then(|| u32::try_from(expected).ok())
        .flatten();
    if let Some(expected) = decoded_by_promise {
        return ProcessJob {
            work,
            args,
            complete: Completer::decoding(EncodedPromise::chunk(promise), work, expected),
            begin,
        };
    }
    let complete = Completer::by_closure(work, move |outcome| {
        let failed_again = failed.clone();
        let rebuild = move |args, promise, next| {
            chunk_job(
                work,
                name,
                args,
                expected,
                promise,
                next,
                blocking,
                failed_again,
            )
        };
        let Some(promise) = Retry::unless_retried(retry, &outcome, promise, rebuild) else {
            return;
        };
        let result = outcome.and_then(|bytes| decode_chunk(bytes, name, expected, failed));
        promise.complete(result);
    });
    ProcessJob {
        work,
        args,
        complete,
        begin,
    }
}

#[cfg(test)]
mod tests {
    use aplex_core::backend::{future_pair, ChunkResults};
    use aplex_core::registry::framed::encode_each;
    use aplex_core::registry::outcomes::encode_outcomes;

    use super::*;

    /// Every work in flight keeps its completer in its slot's map, beside its id.
    #[test]
    fn a_completer_that_decodes_is_kept_inline_in_three_words() {
        assert!(std::mem::size_of::<Completer>() <= 24);
    }

    fn reply_of(outcomes: ChunkResults<u64>) -> Payload {
        Payload::encoded(encode_outcomes(outcomes, "w").unwrap())
    }

    #[test]
    fn a_lone_work_or_a_whole_chunk_not_retried_is_decoded_by_its_promise() {
        let args = Payload::new(encode_each([1u64], "w", "arguments").0);
        let (promise, future) = future_pair::<u64>(true);
        let job =
            single_job::<u64, crate::ProcessWorker>(7, "w", args.clone(), promise, None, false);
        assert_eq!((job.complete.work, job.complete.expected), (7, 1));
        job.complete
            .complete(Ok(reply_of(ChunkResults::one(Ok(42)))));
        assert_eq!(future.result(), Ok(42));

        let (promise, future) = future_pair::<ChunkResults<u64>>(true);
        let job = chunk_job::<u64, crate::ProcessWorker>(
            7,
            "w",
            args.clone(),
            2,
            promise,
            None,
            false,
            Vec::new(),
        );
        assert_eq!((job.complete.work, job.complete.expected), (7, 2));
        let outputs: ChunkResults<u64> = vec![Ok(1), Ok(2)].into_iter().collect();
        job.complete.complete(Ok(reply_of(outputs)));
        let results: Vec<_> = future.result().unwrap().into_iter().collect();
        assert_eq!(results, [Ok(1), Ok(2)]);

        // Items to put back take the general way, a closure that puts them back.
        let (promise, future) = future_pair::<ChunkResults<u64>>(true);
        let failed = vec![(0, Error::Cancelled)];
        let job =
            chunk_job::<u64, crate::ProcessWorker>(7, "w", args, 1, promise, None, false, failed);
        assert_eq!(
            (job.complete.work, job.complete.expected),
            (7, 0),
            "a closure"
        );
        job.complete
            .complete(Ok(reply_of(ChunkResults::one(Ok(5)))));
        let results: Vec<_> = future.result().unwrap().into_iter().collect();
        assert_eq!(results, [Err(Error::Cancelled), Ok(5)]);
    }

    #[test]
    fn a_decoding_completer_fails_or_cancels_its_future() {
        let (promise, future) = future_pair::<u64>(true);
        let complete = Completer::decoding(EncodedPromise::one(promise), u32::MAX, 1);
        let text = ChunkResults::one(Ok(String::from("not a number")));
        complete.complete(Ok(Payload::encoded(encode_outcomes(text, "w").unwrap())));
        assert!(
            matches!(future.result(), Err(Error::Serialization { .. })),
            "a reply that does not decode is a serialization error"
        );
        let (promise, future) = future_pair::<u64>(true);
        drop(Completer::decoding(EncodedPromise::one(promise), 0, 1));
        assert_eq!(future.result(), Err(Error::Cancelled));
        let (promise, future) = future_pair::<u64>(true);
        drop(Completer::by_closure(0, move |_| drop(promise)));
        assert_eq!(future.result(), Err(Error::Cancelled));
    }
}
