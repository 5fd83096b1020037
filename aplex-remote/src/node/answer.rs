//! Running one fetched work on a node and answering it: the local job that runs the
//! registered work and hands its result to the node's outbox; the fetched message it
//! came in ([`Held`]), heartbeated while any of its works is not answered (so a long work
//! is not redelivered) and acked once all are — or handed back (nak) if the node stops
//! before one is done, so another node runs it. A work dropped unanswered (aborted by a
//! cancel) answers `Cancelled`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aplex_core::backend::id_map::IdMap;
use aplex_core::backend::local::{catch_blocking, BlockingJob, LocalJob, Task};
use aplex_core::backend::WorkId;
use aplex_core::registry::answer::AnswerTo;
use aplex_core::registry::encoded::Encoded;
use aplex_core::registry::wire_error::WireError;
use aplex_core::registry::{self, Args, Trampoline};
use aplex_core::Error;

use crate::broker::Delivery;
use crate::node::hand_back::OpenFetches;
use crate::node::outbox::Outbox;
use crate::wire::{now_ms, ResultBody};

/// A fetched message, held by the node until each of its works is answered.
pub(crate) struct Held {
    delivery: Arc<dyn Delivery>,
    /// Its works not answered yet.
    left: AtomicUsize,
    /// One of its works was answered with a result (not just refused).
    answered: AtomicBool,
    /// One of its works was handed back: deliver the message again.
    handed_back: AtomicBool,
    heartbeat: Mutex<Option<tokio::task::AbortHandle>>,
    /// The node's fetches: how long a message handed back waits to be delivered again.
    fetches: Arc<OpenFetches>,
}

/// A work on the server: its submitter and its number there.
pub(crate) type WorkKey = (Arc<str>, u64);

/// The works a node holds, by key, as local works (for cancels).
pub(crate) type HeldWorks = Arc<Mutex<IdMap<WorkKey, WorkId>>>;

/// How one work of a held message ended on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    Answered,
    Refused,
    HandedBack,
}

impl Held {
    /// Holds `delivery`, which carries `works` works, heartbeating it every `every`.
    pub(crate) fn new(
        delivery: Arc<dyn Delivery>,
        works: usize,
        every: Duration,
        fetches: Arc<OpenFetches>,
    ) -> Arc<Held> {
        let beating = Arc::clone(&delivery);
        let heartbeat = tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                ticks.tick().await;
                let _ = beating.progress().await;
            }
        });
        Arc::new(Held {
            delivery,
            left: AtomicUsize::new(works),
            answered: AtomicBool::new(false),
            handed_back: AtomicBool::new(false),
            heartbeat: Mutex::new(Some(heartbeat.abort_handle())),
            fetches,
        })
    }

    /// One of its works ended; after the last, the message is acked (a result went out),
    /// termed (every work was refused) or given back (one was handed back).
    fn ended(&self, how: Ended) {
        match how {
            Ended::Answered => self.answered.store(true, Ordering::SeqCst),
            Ended::HandedBack => self.handed_back.store(true, Ordering::SeqCst),
            Ended::Refused => {}
        }
        if self.left.fetch_sub(1, Ordering::SeqCst) != 1 {
            return;
        }
        let heartbeat = self
            .heartbeat
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(heartbeat) = heartbeat {
            heartbeat.abort();
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // the node's runtime is gone: the server redelivers it after ack_wait
        };
        let delivery = Arc::clone(&self.delivery);
        let delay = self.fetches.hand_back_delay();
        let (handed_back, answered) = (
            self.handed_back.load(Ordering::SeqCst),
            self.answered.load(Ordering::SeqCst),
        );
        runtime.spawn(async move {
            let _ = if handed_back {
                delivery.nak(delay).await
            } else if answered {
                delivery.ack().await
            } else {
                delivery.term().await
            };
        });
    }
}

/// What a result's sender is told once the server stored it (or could not): how its
/// work ended, for the message it came in.
pub(crate) struct Receipt {
    held: Arc<Held>,
    how: Ended,
}

impl Receipt {
    /// The server stored the result (`true`), or could not: then the work is handed back.
    pub(crate) fn stored(self, stored: bool) {
        (self.held).ended(if stored { self.how } else { Ended::HandedBack });
    }
}

/// The answer owed for one work of a held message; answering it consumes it, and
/// dropping it unanswered answers `Cancelled` (or hands it back when the node stops).
pub(crate) struct Answer {
    outbox: Outbox,
    held: Arc<Held>,
    key: WorkKey,
    reply: Arc<str>,
    /// The node is stopping: an aborted work is handed back, not answered.
    stopping: Arc<AtomicBool>,
    /// The node's works, for cancels; this one leaves them once answered.
    works: HeldWorks,
    done: bool,
}

impl Answer {
    /// The answer owed for work `key` of `held`, to `reply`.
    pub(crate) fn new(
        outbox: Outbox,
        held: Arc<Held>,
        key: WorkKey,
        reply: Arc<str>,
        stopping: Arc<AtomicBool>,
        works: HeldWorks,
    ) -> Answer {
        Answer {
            outbox,
            held,
            key,
            reply,
            stopping,
            works,
            done: false,
        }
    }

    /// The work's key.
    pub(crate) fn key(&self) -> &WorkKey {
        &self.key
    }

    /// Sends `result` to the work's submitter (the message is acked once the server has
    /// stored it; if it could not, the work is handed back).
    pub(crate) fn send(mut self, result: ResultBody) {
        self.post(result, Ended::Answered);
    }

    /// Gives the work up unanswered: it expired before it could start (its submitter
    /// gave up on it), so it is never delivered again.
    pub(crate) fn expire(mut self) {
        let (submitter, number) = &self.key;
        tracing::info!(%submitter, number, "aplex remote node: a work expired before it started");
        self.forget();
        self.held.ended(Ended::Refused);
    }

    /// Answers with `error`: the work is never delivered again.
    pub(crate) fn refuse(mut self, error: WireError) {
        self.post(Err(error), Ended::Refused);
    }

    fn post(&mut self, result: ResultBody, how: Ended) {
        self.forget();
        let receipt = Receipt {
            held: Arc::clone(&self.held),
            how,
        };
        self.outbox
            .send(Arc::clone(&self.reply), self.key.1, result, receipt);
    }

    /// Takes the work off the node's list and marks it answered.
    fn forget(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        self.works
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if self.stopping.load(Ordering::SeqCst) {
            self.forget();
            self.held.ended(Ended::HandedBack);
        } else {
            self.post(Err(WireError::Cancelled), Ended::Refused);
        }
    }
}

/// An [`Answer`] as an async trampoline's future carries it (the registry's answer, one
/// per work here: a node's answers each hold their own message and key).
struct Owed(Mutex<Option<Answer>>);

impl Owed {
    fn take(&self) -> Option<Answer> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl AnswerTo for Owed {
    fn answer(&self, _id: u64, outcome: Result<Encoded, Error>) {
        if let Some(answer) = self.take() {
            answer.send(body(outcome));
        }
    }

    fn unanswered(&self, _id: u64) {
        // Dropped unanswered: `Cancelled`, or handed back when the node stops.
        drop(self.take());
    }
}

/// A trampoline's outcome as an answer carries it.
fn body(outcome: Result<Encoded, Error>) -> ResultBody {
    outcome.map(Encoded::into_byte_buf).map_err(WireError::from)
}

/// The local job that runs `trampoline` over `args` and answers it — unless, when its
/// turn comes (it may wait for a slot), it is past `expires_ms`.
pub(crate) fn job(
    trampoline: Trampoline,
    args: Args,
    answer: Answer,
    expires_ms: u64,
) -> Option<LocalJob> {
    let expired = move || now_ms() > expires_ms;
    match trampoline {
        Trampoline::Async(run) => Some(LocalJob::Async(Box::new(move || {
            if expired() {
                answer.expire();
                return Task::Local(Box::pin(async {}));
            }
            let number = answer.key().1;
            let owed = Arc::new(Owed(Mutex::new(Some(answer))));
            run(args, registry::answer::Answer::new(number, owed)).into()
        }))),
        Trampoline::Blocking(run) => Some(LocalJob::Blocking(BlockingJob::new(
            move || {
                if expired() {
                    return None;
                }
                let outcome = catch_blocking(|| run(args)).and_then(|inner| inner);
                Some(body(outcome))
            },
            move |outcome: Option<ResultBody>| match outcome {
                Some(outcome) => answer.send(outcome),
                None => answer.expire(),
            },
        ))),
        Trampoline::State(_) => {
            answer.refuse(WireError::UnknownWork(
                "a worker state maker (not a work)".into(),
            ));
            None
        }
    }
}
