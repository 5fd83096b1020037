//! A node's puller: it asks for about as many works as the node has free slots (several
//! fetches in flight at once, so a node is never idle waiting for one round trip; as many
//! messages as should fill them, given how many works a message brought lately), turns
//! each work into a job for the node's slots (or answers it at once: malformed, expired,
//! unknown), and routes broadcast cancels to the works it holds.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use aplex_core::backend::id_map::IdMap;
use aplex_core::backend::local::LocalMessage;
use aplex_core::backend::WorkId;
use aplex_core::registry::wire_error::WireError;
use aplex_core::registry::{registry, Args, Trampoline};
use aplex_core::WorkKind;
use futures::StreamExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Notify;

use crate::broker::{Broker, Delivery};
use crate::node::answer::{self, Answer, Held, HeldWorks, WorkKey};
use crate::node::hand_back::OpenFetches;
use crate::node::outbox::Outbox;
use crate::node::slots::Slots;
use crate::settings::{batch_for_node, DEFAULT_MAX_BATCH};

/// The most messages asked for in one fetch.
const MAX_FETCH: usize = 256;
/// How long one fetch waits for works before it is renewed.
const FETCH_WAIT: Duration = Duration::from_secs(5);
/// How long past its expiry a fetch is given up on, had the server's end of it gone.
const FETCH_SLACK: Duration = Duration::from_secs(1);
/// How long to wait before fetching again after the server failed a fetch.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// The puller's state, shared by its tasks (all on the node's thread).
#[derive(Clone)]
pub(crate) struct Puller {
    broker: Arc<dyn Broker>,
    outbox: Outbox,
    digest: u64,
    group: String,
    heartbeat: Duration,
    stopping: Arc<AtomicBool>,
    /// When its fetches are over (a stopping node hands works back for after that).
    fetches: Arc<OpenFetches>,
    slots: Rc<Slots>,
    /// Works (estimated) asked for by fetches still open and not delivered yet.
    asked: Rc<Cell<usize>>,
    /// Works per message lately (a batch brings many): how many messages to ask for.
    per_message: Rc<Cell<usize>>,
    next_id: Rc<Cell<u64>>,
    /// Which local work each work held is (for cancels).
    works: HeldWorks,
}

impl Puller {
    #[allow(clippy::too_many_arguments)] // the node's settings, each kept once
    pub(crate) fn new(
        broker: Arc<dyn Broker>,
        digest: u64,
        group: String,
        max_works: usize,
        heartbeat: Duration,
        stopping: Arc<AtomicBool>,
        work_loop: UnboundedSender<LocalMessage>,
    ) -> Self {
        Puller {
            outbox: Outbox::start(Arc::clone(&broker)),
            broker,
            digest,
            group,
            heartbeat,
            fetches: Arc::new(OpenFetches::new(Arc::clone(&stopping))),
            stopping,
            slots: Rc::new(Slots::new(max_works, work_loop)),
            asked: Rc::new(Cell::new(0)),
            per_message: Rc::new(Cell::new(batch_for_node(max_works).min(DEFAULT_MAX_BATCH))),
            next_id: Rc::new(Cell::new(0)),
            works: HeldWorks::default(),
        }
    }

    /// What the local loop calls as works end: frees their slots.
    pub(crate) fn finished_callback(&self) -> impl Fn(usize) + 'static {
        let slots = Rc::clone(&self.slots);
        move |count| slots.finished(count)
    }

    /// Fetches and starts works until the node stops: whenever enough slots are free
    /// (a quarter of them, or any when nothing is asked for), one more fetch asks for
    /// as many messages as should fill them.
    pub(crate) async fn run(self) {
        let max = self.slots.max();
        let refill = (max / 4).max(1);
        while !self.stopping.load(Ordering::SeqCst) {
            let free = max.saturating_sub(self.slots.held() + self.asked.get());
            let asking = self.asked.get() > 0;
            if free == 0 || (asking && free < refill) {
                self.slots.freed.notified().await;
                continue;
            }
            let each = self.per_message.get().clamp(1, free);
            let messages = (free / each).clamp(1, MAX_FETCH);
            self.asked.set(self.asked.get() + messages * each);
            // Known before the node can stop, so a hand-back waits for this one too.
            self.fetches.opened(FETCH_WAIT + FETCH_SLACK);
            tokio::task::spawn_local(self.clone().fetch(messages, each));
        }
    }

    /// One fetch of up to `messages` messages of about `each` works; what it did not
    /// deliver is asked for again.
    async fn fetch(self, messages: usize, each: usize) {
        let mut left = messages;
        match self
            .broker
            .fetch(self.digest, &self.group, messages, FETCH_WAIT)
            .await
        {
            Ok(mut batch) => {
                // The server ends a fetch when it expires, unless the connection that
                // asked was lost meanwhile: then it is over here too.
                let over = tokio::time::Instant::now() + FETCH_WAIT + FETCH_SLACK;
                while let Ok(Some(delivery)) = tokio::time::timeout_at(over, batch.next()).await {
                    left = left.saturating_sub(1);
                    self.asked.set(self.asked.get().saturating_sub(each));
                    self.take(Arc::from(delivery)).await;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "aplex remote node: fetching works failed; retrying");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
        self.asked.set(self.asked.get().saturating_sub(left * each));
        self.slots.freed.notify_one();
    }

    /// Starts the works of one fetched message, or answers them at once.
    async fn take(&self, delivery: Arc<dyn Delivery>) {
        if self.stopping.load(Ordering::SeqCst) {
            let _ = delivery.nak(self.fetches.hand_back_delay()).await;
            return;
        }
        let parsed = delivery
            .task()
            .and_then(|task| Ok((crate::wire::works_of(&task, delivery.payload())?, task)));
        let (works, task) = match parsed {
            Ok((works, task)) if !works.is_empty() => (works, task),
            Ok(_) => {
                let _ = delivery.term().await;
                return;
            }
            Err(reason) => {
                // Nobody to answer: drop it for good.
                tracing::warn!(%reason, "aplex remote node: a malformed work, terminated");
                let _ = delivery.term().await;
                return;
            }
        };
        let attempt = delivery.attempt();
        if attempt > 1 {
            tracing::info!(task = %task.message, attempt, "aplex remote node: running redelivered works");
        }
        if task.expired() {
            tracing::info!(task = %task.message, "aplex remote node: works expired before they started");
            let _ = delivery.term().await;
            return;
        }
        let seen = self.per_message.get();
        self.per_message
            .set((3 * seen + works.len()).div_ceil(4).max(1));
        let registry = registry();
        let trampoline = registry
            .index_of(&task.work)
            .and_then(|index| registry.get(index))
            .map(|(_, trampoline)| trampoline)
            .filter(|trampoline| {
                matches!(
                    (trampoline, task.kind),
                    (Trampoline::Async(_), WorkKind::Async)
                        | (Trampoline::Blocking(_), WorkKind::Blocking)
                )
            });
        let held = Held::new(
            delivery,
            works.len(),
            self.heartbeat,
            Arc::clone(&self.fetches),
        );
        let reply: Arc<str> = Arc::from(task.reply.as_str());
        let submitter: Arc<str> = Arc::from(task.submitter.as_str());
        for (id, args) in works {
            let answer = Answer::new(
                self.outbox.clone(),
                Arc::clone(&held),
                (Arc::clone(&submitter), id),
                Arc::clone(&reply),
                Arc::clone(&self.stopping),
                Arc::clone(&self.works),
            );
            let Some(trampoline) = trampoline else {
                answer.refuse(WireError::UnknownWork(task.work.clone()));
                continue;
            };
            let local = WorkId(self.next_id.get());
            self.next_id.set(local.0 + 1);
            let key = answer.key().clone();
            if let Some(job) = answer::job(trampoline, Args::new(args), answer, task.expires_ms) {
                // Known for cancels before it can start (nothing runs until this returns).
                self.lock().insert(key, local);
                self.slots.admit(local, job);
            }
        }
    }

    /// Aborts the works whose cancel is broadcast, if this node holds them.
    pub(crate) async fn cancels(self) {
        let mut cancels = match self.broker.cancels().await {
            Ok(cancels) => cancels,
            Err(error) => {
                tracing::error!(%error, "aplex remote node: cannot hear cancels");
                return;
            }
        };
        while let Some(id) = cancels.next().await {
            let Some((submitter, number)) = id.rsplit_once('.') else {
                continue; // not a work's name
            };
            let locals: Vec<WorkId> = if number == "*" {
                // `<submitter>.*`: every work of a submitter that aborts.
                (self.lock().iter())
                    .filter(|((of, _), _)| **of == *submitter)
                    .map(|(_, local)| *local)
                    .collect()
            } else {
                let Ok(number) = number.parse::<u64>() else {
                    continue;
                };
                let key: WorkKey = (Arc::from(submitter), number);
                self.lock().get(&key).copied().into_iter().collect()
            };
            for local in locals {
                if !self.slots.cancel_waiting(local) {
                    self.slots.cancel_running(local);
                }
            }
        }
    }

    /// The works this node holds now.
    pub(crate) fn in_flight(&self) -> usize {
        self.slots.held()
    }

    /// Drops the works waiting for a slot (the node stops).
    pub(crate) fn release_waiting(&self) {
        self.slots.release_waiting();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IdMap<WorkKey, WorkId>> {
        self.works.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Turns SIGTERM and SIGINT into a stop.
pub(crate) async fn watch_signals(stop: Arc<Notify>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut terminate), Ok(mut interrupt)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("aplex remote node: cannot watch SIGTERM and SIGINT");
        return;
    };
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    stop.notify_one();
}

/// Announces the node every `every`, with how busy it is, until `stop` fires (or is
/// dropped). An announcement under way is finished first, so the node's withdrawal,
/// which comes after, cannot be overtaken by it (the server may handle a purge before a
/// publish sent earlier, and the node would then stay listed until its announcement
/// expires).
pub(crate) async fn announce(
    broker: Arc<dyn Broker>,
    mut me: crate::node::announce::NodeInfo,
    puller: Puller,
    every: Duration,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        me.in_flight = puller.in_flight();
        if let Err(error) = broker.announce(&me.id, me.encode()).await {
            tracing::warn!(%error, "aplex remote node: an announcement failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = &mut stop => return,
        }
    }
}
