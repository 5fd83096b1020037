//! `BlockingJob`: a blocking work as a worker's loop is handed it — the half that runs on
//! a blocking thread, and the half that takes its output, which the loop keeps until
//! then.

use std::any::Any;
use std::fmt;

/// A blocking work: `run` on a blocking thread, then `finish` with what `run` returned,
/// on the same thread.
///
/// The work's promise lives in `finish`, which the worker's loop keeps (in its ledger,
/// `blocking_ledger.rs`) until `run` is done: when the loop abandons its works
/// ([`LocalMessage::Abandon`](crate::backend::local::LocalMessage::Abandon)) `finish` is
/// dropped, and with it the promise (its future resolves `Cancelled`), even while `run`
/// is stuck on its blocking thread.
///
/// # Examples
///
/// ```
/// use aplex::backend::local::BlockingJob;
///
/// let (sender, receiver) = std::sync::mpsc::channel();
/// let job = BlockingJob::new(|| 6 * 7, move |answer| sender.send(answer).unwrap());
/// job.run_here();
/// assert_eq!(receiver.recv().unwrap(), 42);
/// ```
pub struct BlockingJob {
    pub(crate) run: Box<dyn FnOnce() -> Output + Send>,
    pub(crate) finish: Finish,
}

/// What a blocking job's `run` returns, type-erased.
pub(crate) type Output = Box<dyn Any + Send>;

/// A blocking job's second half: takes the output on the thread that ran the first.
pub(crate) type Finish = Box<dyn FnOnce(Output) + Send>;

impl BlockingJob {
    /// A job that calls `run` on a blocking thread and hands its output to `finish`.
    pub fn new<O: Send + 'static>(
        run: impl FnOnce() -> O + Send + 'static,
        finish: impl FnOnce(O) + Send + 'static,
    ) -> Self {
        BlockingJob {
            run: Box::new(move || Box::new(run()) as Box<dyn Any + Send>),
            finish: Box::new(move |output| {
                if let Ok(output) = output.downcast::<O>() {
                    finish(*output);
                }
            }),
        }
    }

    /// Runs both halves on the calling thread (for tests and simple backends).
    pub fn run_here(self) {
        (self.finish)((self.run)());
    }
}

impl fmt::Debug for BlockingJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlockingJob")
    }
}
