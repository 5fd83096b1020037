//! A node's puller: it asks for at most as many works as the node has free slots (several
//! fetches in flight at once, so a node is never idle waiting for one round trip), turns
//! each into a job of the node's local loop (or answers it at once: malformed, expired,
//! unknown), and routes broadcast cancels to the works it runs.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aplex_core::backend::local::LocalMessage;
use aplex_core::backend::WorkId;
use aplex_core::registry::wire_error::WireError;
use aplex_core::registry::{registry, Args, Trampoline};
use aplex_core::WorkKind;
use futures::StreamExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Notify;

use crate::broker::{Broker, Delivery};
use crate::node::answer::{self, Answer};

/// The most works asked for in one fetch.
const MAX_FETCH: usize = 256;
/// How long one fetch waits for works before it is renewed.
const FETCH_WAIT: Duration = Duration::from_secs(5);
/// How long to wait before fetching again after the server failed a fetch.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// The puller's state, shared by its tasks (all on the node's thread).
#[derive(Clone)]
pub(crate) struct Puller {
    broker: Arc<dyn Broker>,
    digest: u64,
    group: String,
    max_works: usize,
    heartbeat: Duration,
    stopping: Arc<AtomicBool>,
    work_loop: UnboundedSender<LocalMessage>,
    /// Works handed to the loop and not over yet.
    in_flight: Rc<Cell<usize>>,
    /// Works asked for by fetches still open and not delivered yet.
    asked: Rc<Cell<usize>>,
    freed: Rc<Notify>,
    next_id: Rc<Cell<u64>>,
    /// Which local work runs each work id (for cancels).
    running: Arc<Mutex<HashMap<String, WorkId>>>,
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
            broker,
            digest,
            group,
            max_works,
            heartbeat,
            stopping,
            work_loop,
            in_flight: Rc::new(Cell::new(0)),
            asked: Rc::new(Cell::new(0)),
            freed: Rc::new(Notify::new()),
            next_id: Rc::new(Cell::new(0)),
            running: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// What the local loop calls as works end: frees their slots.
    pub(crate) fn finished_callback(&self) -> impl Fn(usize) + 'static {
        let (in_flight, freed) = (Rc::clone(&self.in_flight), Rc::clone(&self.freed));
        move |count| {
            in_flight.set(in_flight.get().saturating_sub(count));
            freed.notify_one();
        }
    }

    /// Fetches and starts works until the node stops: whenever enough slots are free
    /// (a quarter of them, or all when nothing is asked for), one more fetch asks for them.
    pub(crate) async fn run(self) {
        let refill = (self.max_works / 4).clamp(1, MAX_FETCH);
        while !self.stopping.load(Ordering::SeqCst) {
            let busy = self.in_flight.get() + self.asked.get();
            let free = self.max_works.saturating_sub(busy).min(MAX_FETCH);
            if free == 0 || (self.asked.get() > 0 && free < refill) {
                self.freed.notified().await;
                continue;
            }
            self.asked.set(self.asked.get() + free);
            tokio::task::spawn_local(self.clone().fetch(free));
        }
    }

    /// One fetch of up to `max` works; what it did not deliver is asked for again.
    async fn fetch(self, max: usize) {
        let mut left = max;
        match self
            .broker
            .fetch(self.digest, &self.group, max, FETCH_WAIT)
            .await
        {
            Ok(mut batch) => {
                while let Some(delivery) = batch.next().await {
                    left = left.saturating_sub(1);
                    self.asked.set(self.asked.get().saturating_sub(1));
                    self.take(Arc::from(delivery)).await;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "aplex remote node: fetching works failed; retrying");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
        self.asked.set(self.asked.get().saturating_sub(left));
        self.freed.notify_one();
    }

    /// Starts one fetched work, or answers it at once.
    async fn take(&self, delivery: Arc<dyn Delivery>) {
        if self.stopping.load(Ordering::SeqCst) {
            let _ = delivery.nak().await;
            return;
        }
        let task = match delivery.task() {
            Ok(task) => task,
            Err(reason) => {
                // Nobody to answer: drop it for good.
                tracing::warn!(%reason, "aplex remote node: a malformed work, terminated");
                let _ = delivery.term().await;
                return;
            }
        };
        let attempt = delivery.attempt();
        if attempt > 1 {
            tracing::info!(id = %task.id, attempt, "aplex remote node: running a redelivered work");
        }
        if task.expired() {
            tracing::info!(id = %task.id, "aplex remote node: a work expired before it started");
            let _ = delivery.term().await;
            return;
        }
        let answer = Answer {
            broker: Arc::clone(&self.broker),
            delivery: Arc::clone(&delivery),
            task,
            heartbeat: self.heartbeat,
            stopping: Arc::clone(&self.stopping),
            running: Arc::clone(&self.running),
        };
        let registry = registry();
        let trampoline = registry
            .index_of(&answer.task.work)
            .and_then(|index| registry.get(index))
            .map(|(_, trampoline)| trampoline);
        let kind_matches = matches!(
            (trampoline, answer.task.kind),
            (Some(Trampoline::Async(_)), WorkKind::Async)
                | (Some(Trampoline::Blocking(_)), WorkKind::Blocking)
        );
        let Some(trampoline) = trampoline.filter(|_| kind_matches) else {
            let name = answer.task.work.clone();
            answer.refuse(WireError::UnknownWork(name)).await;
            return;
        };
        let id = WorkId(self.next_id.get());
        self.next_id.set(id.0 + 1);
        let key = answer.task.id.clone();
        let args = Args::new(delivery.payload());
        if let Some(job) = answer::job(trampoline, args, answer) {
            self.lock().insert(key, id);
            self.in_flight.set(self.in_flight.get() + 1);
            let _ = self.work_loop.send(LocalMessage::Run(id, job));
        }
    }

    /// Aborts the works whose cancel is broadcast, if this node runs them.
    pub(crate) async fn cancels(self) {
        let mut cancels = match self.broker.cancels().await {
            Ok(cancels) => cancels,
            Err(error) => {
                tracing::error!(%error, "aplex remote node: cannot hear cancels");
                return;
            }
        };
        while let Some(id) = cancels.next().await {
            let local = self.lock().get(&id).copied();
            if let Some(local) = local {
                let _ = self.work_loop.send(LocalMessage::Cancel(local));
            }
        }
    }

    /// The works this node runs now.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.get()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, WorkId>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
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

/// Announces the node every `every`, with how busy it is, until aborted.
pub(crate) async fn announce(
    broker: Arc<dyn Broker>,
    mut me: crate::node::announce::NodeInfo,
    puller: Puller,
    every: Duration,
) {
    loop {
        me.in_flight = puller.in_flight();
        if let Err(error) = broker.announce(&me.id, me.encode()).await {
            tracing::debug!(%error, "aplex remote node: an announcement failed");
        }
        tokio::time::sleep(every).await;
    }
}
