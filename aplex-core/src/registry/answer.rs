//! [`Answer`]: where an async trampoline sends its work's encoded outcome — the work's id
//! and the backend's [`AnswerTo`], shared by every work of a worker.
//!
//! The trampoline's future carries its answer and sends it as its last step, so a worker
//! process or node keeps one allocation per async work in flight (the trampoline's future)
//! where a wrapper around that future, holding the reply, made two: 100,000 sleeping works
//! kept 100,000 of each.

use std::fmt;
use std::sync::Arc;

use crate::registry::encoded::Encoded;
use crate::Error;

/// What a backend does with its works' outcomes; one per worker, shared by its answers.
pub trait AnswerTo: Send + Sync + 'static {
    /// Work `id` ended with `outcome` (its encoded outputs, or why it has none).
    fn answer(&self, id: u64, outcome: Result<Encoded, Error>);

    /// Work `id` ended without an outcome: its future was dropped before the end (the work
    /// was aborted, or its worker is stopping).
    fn unanswered(&self, id: u64);
}

/// The one answer an async work gives: sent by the trampoline's future when the work
/// ends; dropped unsent, it tells its [`AnswerTo`] the work went unanswered.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use aplex_core::registry::answer::{Answer, AnswerTo};
/// use aplex_core::registry::encoded::Encoded;
/// use aplex_core::Error;
///
/// #[derive(Default)]
/// struct Log(Mutex<Vec<String>>);
///
/// impl AnswerTo for Log {
///     fn answer(&self, id: u64, outcome: Result<Encoded, Error>) {
///         self.0.lock().unwrap().push(format!("{id}: ok {}", outcome.is_ok()));
///     }
///     fn unanswered(&self, id: u64) {
///         self.0.lock().unwrap().push(format!("{id}: unanswered"));
///     }
/// }
///
/// let log = Arc::new(Log::default());
/// Answer::new(1, log.clone()).send(Err(Error::Cancelled));
/// drop(Answer::new(2, log.clone()));
/// assert_eq!(*log.0.lock().unwrap(), ["1: ok false", "2: unanswered"]);
/// ```
pub struct Answer {
    id: u64,
    to: Option<Arc<dyn AnswerTo>>,
}

impl Answer {
    /// The answer of work `id`, sent to `to`.
    pub fn new(id: u64, to: Arc<dyn AnswerTo>) -> Self {
        Answer { id, to: Some(to) }
    }

    /// Sends the work's outcome.
    pub fn send(mut self, outcome: Result<Encoded, Error>) {
        if let Some(to) = self.to.take() {
            to.answer(self.id, outcome);
        }
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        if let Some(to) = self.to.take() {
            to.unanswered(self.id);
        }
    }
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Answer")
            .field("id", &self.id)
            .field("sent", &self.to.is_none())
            .finish()
    }
}
