//! The body of a worker thread: build the worker's tokio runtime, run the pool's
//! initializer and make the worker's state if asked, report whether that worked, then
//! run [`aplex_core::backend::local::serve_local`] on it until the worker is closed. If
//! the runtime itself panics, the worker dies: that is reported as an error event and
//! breaks the pool, so nothing waits for it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use aplex_core::backend::local::{serve_local, LocalMessage, OnFinished};
use aplex_core::backend::{panic_message, WorkerSeat, WORKER_LINGER};
use aplex_core::BuildError;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::LocalSet;

use crate::runtime::Preparation;

/// Runs the worker until it is closed; the body of the worker's OS thread.
///
/// The runtime comes from the pool's `worker_loop_factory`; success or failure is sent
/// on `ready` so `build()` can fail cleanly.
pub(crate) fn run_worker(
    seat: WorkerSeat,
    preparation: Preparation,
    blocking_limit: usize,
    receiver: UnboundedReceiver<LocalMessage>,
    ready: SyncSender<Result<(), BuildError>>,
) {
    let index = seat.index;
    let failed = |reason: String, source: Option<std::io::Error>| {
        let source = source.map(|error| error.into());
        let _ = ready.send(Err(BuildError::worker_start(index, reason, source)));
    };
    let Preparation {
        factory,
        initializer,
        state,
    } = preparation;
    let runtime = match catch_unwind(AssertUnwindSafe(|| factory())) {
        Ok(Ok(runtime)) => runtime,
        Ok(Err(error)) => return failed("the worker_loop_factory failed".into(), Some(error)),
        Err(payload) => {
            let message = panic_message(&*payload);
            return failed(format!("the worker_loop_factory panicked: {message}"), None);
        }
    };
    if let Some(initializer) = initializer {
        let _context = runtime.enter();
        let outcome = match catch_unwind(AssertUnwindSafe(|| initializer())) {
            Ok(outcome) => outcome,
            Err(payload) => Err(format!("it panicked: {}", panic_message(&*payload))),
        };
        if let Err(reason) = outcome {
            return failed(format!("the worker initializer failed: {reason}"), None);
        }
    }
    let state = match state {
        None => None,
        Some(make) => {
            let _context = runtime.enter();
            match catch_unwind(AssertUnwindSafe(|| make(index))) {
                Ok(Ok(state)) => Some(state),
                Ok(Err(reason)) => {
                    return failed(format!("making the worker's state failed: {reason}"), None)
                }
                Err(payload) => {
                    let message = panic_message(&*payload);
                    return failed(
                        format!("making the worker's state panicked: {message}"),
                        None,
                    );
                }
            }
        }
    };
    let _ = ready.send(Ok(()));
    drop(ready);
    // This thread and its blocking threads run the pool's works: a shutdown that waits,
    // asked from one of them, must not wait for itself.
    let _serving = aplex_core::backend::serve_works_of(&seat);
    let WorkerSeat { index, events } = seat;
    let reporter = Arc::clone(&events);
    let local = LocalSet::new();
    // Works' panics are caught where they run; what unwinds here comes from the runtime
    // itself (a factory's hook that panics, say), and kills this worker.
    let served = catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(local.run_until(serve_local(
            receiver,
            blocking_limit,
            WORKER_LINGER,
            state,
            // The pool's counters may be told from any thread: a blocking work's end is
            // told by the thread that ran it, without waking this loop.
            OnFinished::anywhere(move |count| {
                reporter.works_finished(index, count);
            }),
        )))
    }));
    match served {
        Ok(abandoned) => {
            drop(local);
            tracing::info!(worker = index, abandoned, "aplex worker thread stopped");
            if abandoned {
                // Blocking works still run on their threads: leave them, do not wait.
                runtime.shutdown_background();
            }
        }
        Err(payload) => {
            let message = panic_message(&*payload);
            // A thread pool does not replace a worker whose runtime failed: fail what
            // waits rather than leave it queued for a worker that is gone. Broken before
            // the death is told, so that whoever hears of it finds the pool broken (the
            // works it held may have resolved `Cancelled` already, as the loop unwound).
            events.pool_broken(format!("worker thread {index} died: {message}"));
            tracing::error!(worker = index, %message, "aplex worker thread died; the pool is broken");
            // What is left of its works goes with the runtime: their futures resolve
            // `Cancelled`.
            let _ = catch_unwind(AssertUnwindSafe(move || {
                drop(local);
                runtime.shutdown_background();
            }));
        }
    }
}
