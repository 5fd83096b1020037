//! [`AsyncCall`]: an async work called by its registry entry — the trampoline, the
//! arguments and the answer — handed to a worker's loop as it is, so the loop makes the
//! work's future on its own thread (a future that is not `Send` can be made nowhere
//! else).
//!
//! A loop's `LocalJob::Async` holds a boxed closure instead. A worker process's reader
//! had boxed one per work (72 bytes, made on the reader's thread and freed on the
//! runtime's); calls travel in a batch's `Vec` ([`LocalMessage::Calls`]), one allocation
//! per message (docs/PERFORMANCE.md, fifteenth session).
//!
//! [`LocalMessage::Calls`]: crate::backend::local::LocalMessage::Calls

use std::fmt;

use crate::backend::task::Task;
use crate::registry::answer::Answer;
use crate::registry::{Args, AsyncRun, AsyncTrampoline};

/// An async work to start: its registry trampoline, its arguments and its answer.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use aplex_core::backend::local::AsyncCall;
/// use aplex_core::registry::answer::{Answer, AnswerTo};
/// use aplex_core::registry::encoded::Encoded;
/// use aplex_core::registry::{Args, AsyncRun};
/// use aplex_core::Error;
///
/// #[derive(Default)]
/// struct Answered(Mutex<Vec<u64>>);
///
/// impl AnswerTo for Answered {
///     fn answer(&self, id: u64, _outcome: Result<Encoded, Error>) {
///         self.0.lock().unwrap().push(id);
///     }
///     fn unanswered(&self, _id: u64) {}
/// }
///
/// // A trampoline as `#[aplex::work]` makes one: a future that sends the answer.
/// fn answer_nothing(_args: Args, answer: Answer) -> AsyncRun {
///     AsyncRun::Send(Box::pin(async move { answer.send(Err(Error::Cancelled)) }))
/// }
///
/// let answered = Arc::new(Answered::default());
/// let call = AsyncCall::new(answer_nothing, Args::new(Vec::<u8>::new()), Answer::new(7, answered.clone()));
/// let task = call.into_task();
/// assert!(task.is_send());
/// futures::executor::block_on(task.into_local());
/// assert_eq!(*answered.0.lock().unwrap(), [7]);
/// ```
pub struct AsyncCall {
    run: AsyncTrampoline,
    args: Args,
    answer: Answer,
}

impl AsyncCall {
    /// The call of the work whose trampoline is `run`, with `args`, answering `answer`.
    pub fn new(run: AsyncTrampoline, args: Args, answer: Answer) -> Self {
        AsyncCall { run, args, answer }
    }

    /// Makes the work's future (on the thread that is to poll it, if it is not `Send`).
    pub fn into_task(self) -> Task {
        (self.run)(self.args, self.answer).into()
    }
}

impl From<AsyncRun> for Task {
    /// A trampoline's run as the loop's task: `Send` stays `Send`.
    fn from(run: AsyncRun) -> Self {
        match run {
            AsyncRun::Send(future) => Task::Send(future),
            AsyncRun::Local(future) => Task::Local(future),
        }
    }
}

impl fmt::Debug for AsyncCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AsyncCall")
    }
}
