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
use aplex_core::registry::framed::encode_each_to;
use aplex_core::registry::outcomes::{decode_chunk, decode_one};

/// Turns the reply to one `Run` into its future's outcome.
pub(crate) type Completer = Box<dyn FnOnce(Result<Payload, Error>) + Send>;

/// Runs a completer on the supervisor thread, which must survive whatever user code the
/// completer reaches (a waker, a `Drop`): a panic there leaves the future to resolve as
/// its dropped promise does (`Cancelled`) rather than kill the thread reading replies.
pub(crate) fn settle(completer: Completer, outcome: Result<Payload, Error>) {
    let settled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| completer(outcome)));
    if let Err(panic) = settled {
        tracing::error!(
            message = %aplex_core::backend::panic_message(&*panic),
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
    fn unless_retried<T: Send + 'static>(
        retry: Option<Box<Retry<W>>>,
        outcome: &Result<Payload, Error>,
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
    let complete: Completer = Box::new(move |outcome| {
        let rebuild =
            move |args, promise, next| single_job(work, name, args, promise, next, blocking);
        let Some(promise) = Retry::unless_retried(retry, &outcome, promise, rebuild) else {
            return;
        };
        let result = outcome.and_then(|bytes| decode_one(&bytes, name));
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
    let complete: Completer = Box::new(move |outcome| {
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
        let result = outcome.and_then(|bytes| decode_chunk(&bytes, name, expected, failed));
        promise.complete(result);
    });
    ProcessJob {
        work,
        args,
        complete,
        begin,
    }
}
