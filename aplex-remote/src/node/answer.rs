//! Running one fetched work on a node and answering it: the local job that runs the
//! registered work, heartbeats the broker while it runs (so a long work is not
//! redelivered), publishes its result to its submitter and only then acks it — and, if
//! the work is aborted, answers `Cancelled` and terms it, or hands it back (nak) when the
//! node is stopping.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aplex_core::backend::local::{catch_async, catch_blocking, BlockingJob, LocalJob, Task};
use aplex_core::backend::WorkId;
use aplex_core::registry::wire_error::WireError;
use aplex_core::registry::{Args, AsyncRun, Trampoline};
use aplex_core::Error;
use serde_bytes::ByteBuf;

use crate::broker::{Broker, Delivery};
use crate::wire::{encode_result, ResultBody, TaskHeaders};

/// What answering one work needs.
pub(crate) struct Answer {
    pub(crate) broker: Arc<dyn Broker>,
    pub(crate) delivery: Arc<dyn Delivery>,
    pub(crate) task: TaskHeaders,
    /// How often a running work tells the broker it is alive.
    pub(crate) heartbeat: Duration,
    /// The node is stopping: an aborted work is handed back, not answered.
    pub(crate) stopping: Arc<AtomicBool>,
    /// The node's works by id, for cancels; this one leaves it once answered.
    pub(crate) running: Arc<Mutex<HashMap<String, WorkId>>>,
}

impl Answer {
    /// Publishes `result` to the work's submitter, then acks the work (if the node dies
    /// between the two, the work runs again and the submitter drops the second result).
    pub(crate) async fn send(self, result: ResultBody) {
        self.forget();
        let body = encode_result(&result);
        match self
            .broker
            .publish_result(&self.task.reply, &self.task.id, body)
            .await
        {
            Ok(()) => {
                let _ = self.delivery.ack().await;
            }
            Err(error) => {
                // The result did not reach the server: let the work be delivered again.
                tracing::warn!(id = %self.task.id, %error, "aplex remote node could not publish a result");
                let _ = self.delivery.nak().await;
            }
        }
    }

    /// Answers with `error` and terms the work: it is never delivered again.
    pub(crate) async fn refuse(self, error: WireError) {
        self.forget();
        let body = encode_result(&Err(error));
        let _ = self
            .broker
            .publish_result(&self.task.reply, &self.task.id, body)
            .await;
        let _ = self.delivery.term().await;
    }
}

impl Answer {
    /// Takes the work off the node's list of running works.
    fn forget(&self) {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.task.id);
    }
}

/// Answers for a work whose future was dropped before it finished (aborted).
struct Unfinished(Option<Answer>);

impl Drop for Unfinished {
    fn drop(&mut self) {
        let Some(answer) = self.0.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            if answer.stopping.load(Ordering::SeqCst) {
                answer.forget();
                let _ = answer.delivery.nak().await;
            } else {
                answer.refuse(WireError::Cancelled).await;
            }
        });
    }
}

/// Runs `work`, heartbeating, then sends its outcome.
async fn run_and_answer<F>(work: F, answer: Answer)
where
    F: Future<Output = Result<ByteBuf, Error>>,
{
    let heartbeat = answer.heartbeat;
    let mut unfinished = Unfinished(Some(answer));
    let mut work = std::pin::pin!(catch_async(work));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    let outcome = loop {
        tokio::select! {
            outcome = &mut work => break outcome.and_then(|inner| inner),
            _ = ticks.tick() => {
                if let Some(answer) = &unfinished.0 {
                    let _ = answer.delivery.progress().await;
                }
            }
        }
    };
    if let Some(answer) = unfinished.0.take() {
        answer.send(outcome.map_err(WireError::from)).await;
    }
}

/// The local job that runs `trampoline` over `args` and answers it.
pub(crate) fn job(trampoline: Trampoline, args: Args, answer: Answer) -> Option<LocalJob> {
    match trampoline {
        Trampoline::Async(run) => Some(LocalJob::Async(Box::new(move || match run(args) {
            AsyncRun::Send(future) => Task::Send(Box::pin(run_and_answer(future, answer))),
            AsyncRun::Local(future) => Task::Local(Box::pin(run_and_answer(future, answer))),
        }))),
        Trampoline::Blocking(run) => {
            let beating = heartbeat_task(Arc::clone(&answer.delivery), answer.heartbeat);
            Some(LocalJob::Blocking(BlockingJob::new(
                move || {
                    let outcome = catch_blocking(|| run(args)).and_then(|inner| inner);
                    outcome.map_err(WireError::from)
                },
                move |outcome: ResultBody| {
                    drop(beating);
                    tokio::spawn(answer.send(outcome));
                },
            )))
        }
        Trampoline::State(_) => None,
    }
}

/// Heartbeats `delivery` every `every` from a task of its own until the returned guard
/// drops (for a blocking work, which cannot heartbeat from its thread).
fn heartbeat_task(delivery: Arc<dyn Delivery>, every: Duration) -> HeartbeatTask {
    let task = tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            ticks.tick().await;
            let _ = delivery.progress().await;
        }
    });
    HeartbeatTask(Some(task.abort_handle()))
}

/// Stops a heartbeat task when dropped.
struct HeartbeatTask(Option<tokio::task::AbortHandle>);

impl Drop for HeartbeatTask {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}
