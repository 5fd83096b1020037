//! The remote pool's client state: the works it queued and has not resolved, the
//! messages they went out in, and what it does with them — queue a batch (one message for
//! works of one kind submitted together), resolve works from their nodes' results, fail
//! those the broker gave up on, cancel (delete a queued message and queue its other works
//! again, or broadcast an abort to the node running the work).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aplex_core::backend::id_map::IdMap;
use aplex_core::backend::{Begin, WorkerEvents};
use aplex_core::{Error, WorkKind};
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::Notify;

use crate::broker::{Broker, GaveUp, Incoming};
use crate::pool::batch_size::BatchSizes;
use crate::pool::job::Completer;
use crate::wire::{encode_batch, now_ms, TaskHeaders};

/// Deletes of queued messages in flight at once when a pool aborts.
const DELETES_IN_FLIGHT: usize = 64;

/// A work handed to the client, waiting to be queued.
pub(crate) struct Queued {
    pub(crate) work: &'static str,
    pub(crate) kind: WorkKind,
    pub(crate) args: Bytes,
    pub(crate) group: String,
    pub(crate) begin: Option<Begin>,
}

/// Works of one kind for one group, to go out in one message.
pub(crate) struct Message {
    pub(crate) work: &'static str,
    pub(crate) kind: WorkKind,
    pub(crate) group: String,
    pub(crate) works: Vec<(u64, Bytes)>,
}

/// What the client asks of its own command loop (so it never awaits itself).
pub(crate) enum Again {
    /// Cancel this work now that its message is on the server.
    Cancel(u64),
    /// Queue these works again (their message was deleted for another's cancel).
    Queue(Message),
}

/// A work queued and not resolved yet.
struct Pending {
    complete: Option<Completer>,
    /// The sequence number of the message it is in, once the server stored it.
    message: Option<u64>,
    /// Cancelled before the server stored its message.
    cancel: bool,
}

/// A message on the server: how many of its works are unresolved, and (for a batch)
/// its works, to queue the others again if one is cancelled while it waits.
struct Sent {
    ids: Vec<u64>,
    left: usize,
    batch: Option<Message>,
}

/// The client's state, shared by its tasks.
pub(crate) struct Client {
    pub(crate) broker: Arc<dyn Broker>,
    pub(crate) events: Arc<dyn WorkerEvents>,
    submitter: String,
    reply: String,
    digest: u64,
    expiry: Duration,
    /// The most works in one message, for each group of nodes.
    pub(crate) batch_sizes: Arc<BatchSizes>,
    pending: Mutex<IdMap<u64, Pending>>,
    sent: Mutex<IdMap<u64, Sent>>,
    next_message: AtomicU64,
    again: UnboundedSender<Again>,
    emptied: Notify,
    /// Publishes of works in flight (not acknowledged yet), and a signal as each ends.
    publishing: AtomicUsize,
    published: Notify,
    /// The pool aborts: nothing more is published.
    aborting: AtomicBool,
}

/// Counts a publish in flight while it lives.
struct Publishing<'a>(&'a Client);

impl<'a> Publishing<'a> {
    fn begin(client: &'a Client) -> Self {
        client.publishing.fetch_add(1, Ordering::SeqCst);
        Publishing(client)
    }
}

impl Drop for Publishing<'_> {
    fn drop(&mut self) {
        self.0.publishing.fetch_sub(1, Ordering::SeqCst);
        self.0.published.notify_waiters();
    }
}

/// How long `abort_all` waits for the publishes in flight to land, to delete what they
/// queued.
const ABORT_WAITS_FOR_PUBLISHES: Duration = Duration::from_secs(10);

impl Client {
    /// The client of `submitter`, and the receiver of what it asks of its command loop.
    pub(crate) fn new(
        broker: Arc<dyn Broker>,
        events: Arc<dyn WorkerEvents>,
        submitter: String,
        reply: String,
        digest: u64,
        expiry: Duration,
        max_batch: usize,
    ) -> (Self, UnboundedReceiver<Again>) {
        let (again, asked) = unbounded_channel();
        let client = Client {
            broker,
            events,
            submitter,
            reply,
            digest,
            expiry,
            batch_sizes: Arc::new(BatchSizes::new(max_batch, digest)),
            pending: Mutex::new(IdMap::default()),
            sent: Mutex::new(IdMap::default()),
            next_message: AtomicU64::new(0),
            again,
            emptied: Notify::new(),
            publishing: AtomicUsize::new(0),
            published: Notify::new(),
            aborting: AtomicBool::new(false),
        };
        (client, asked)
    }

    /// Work `id` is pending from now on, until resolved.
    pub(crate) fn expect(&self, id: u64, complete: Completer) {
        let pending = Pending {
            complete: Some(complete),
            message: None,
            cancel: false,
        };
        self.pending().insert(id, pending);
    }

    fn pending(&self) -> MutexGuard<'_, IdMap<u64, Pending>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sent(&self) -> MutexGuard<'_, IdMap<u64, Sent>> {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Resolves work `id` with `result`, once; reports it over.
    pub(crate) fn resolve(&self, id: u64, result: Result<serde_bytes::ByteBuf, Error>) {
        let pending = {
            let mut all = self.pending();
            let pending = all.remove(&id);
            if all.is_empty() {
                self.emptied.notify_waiters();
            }
            pending
        };
        let Some(pending) = pending else {
            return; // a second result for a work run twice: the first won
        };
        if let Some(sequence) = pending.message {
            let mut sent = self.sent();
            if let Some(message) = sent.get_mut(&sequence) {
                message.left = message.left.saturating_sub(1);
                if message.left == 0 {
                    sent.remove(&sequence);
                }
            }
        }
        if let Some(complete) = pending.complete {
            complete(result);
        }
        self.events.work_finished(0);
    }

    fn task_id(&self, id: u64) -> String {
        format!("{}.{id}", self.submitter)
    }

    /// Queues `works` (all registered as pending, all of one kind and group) in one
    /// message, leaving out those resolved or cancelled meanwhile.
    pub(crate) async fn enqueue(self: Arc<Self>, works: Vec<(u64, Queued)>) {
        let Some((_, first)) = works.first() else {
            return;
        };
        let mut message = Message {
            work: first.work,
            kind: first.kind,
            group: first.group.clone(),
            works: Vec::with_capacity(works.len()),
        };
        let mut refused = Vec::new();
        {
            let all = self.pending();
            for (id, job) in works {
                match all.get(&id) {
                    None => continue, // resolved (aborted) before its turn came
                    Some(pending) if pending.cancel => {
                        refused.push(id);
                        continue;
                    }
                    Some(_) => {}
                }
                if let Some(begin) = &job.begin {
                    // Beyond recall once queued: a blocking work cannot be aborted on its
                    // node.
                    if !begin.commit() {
                        refused.push(id);
                        continue;
                    }
                    begin.begin();
                }
                message.works.push((id, job.args));
            }
        }
        for id in refused {
            self.resolve(id, Err(Error::Cancelled));
        }
        self.publish(message).await;
    }

    /// Publishes `message` and notes which works went in it.
    pub(crate) async fn publish(self: Arc<Self>, message: Message) {
        if message.works.is_empty() {
            return;
        }
        let _in_flight = Publishing::begin(&self);
        if self.aborting.load(Ordering::SeqCst) {
            for (id, _) in &message.works {
                self.resolve(*id, Err(Error::Cancelled));
            }
            return;
        }
        let number = self.next_message.fetch_add(1, Ordering::Relaxed);
        let single = message.works.len() == 1;
        let task = TaskHeaders {
            submitter: self.submitter.clone(),
            id: single.then(|| message.works[0].0),
            message: format!("{}.m{number}", self.submitter),
            work: message.work.to_owned(),
            kind: message.kind,
            reply: self.reply.clone(),
            expires_ms: now_ms().saturating_add(self.expiry.as_millis() as u64),
        };
        let payload = if single {
            message.works[0].1.clone()
        } else {
            Bytes::from(encode_batch(&message.works))
        };
        let ids: Vec<u64> = message.works.iter().map(|(id, _)| *id).collect();
        let queued = self
            .broker
            .enqueue(self.digest, &message.group, &task, payload)
            .await;
        let sequence = match queued {
            Ok(sequence) => sequence,
            Err(error) => {
                for id in ids {
                    let reason = error.to_string();
                    self.resolve(id, Err(Error::Broker { reason }));
                }
                return;
            }
        };
        let mut left = 0;
        let mut cancelled = Vec::new();
        {
            let mut sent = self.sent();
            let mut all = self.pending();
            for id in &ids {
                if let Some(pending) = all.get_mut(id) {
                    pending.message = Some(sequence);
                    left += 1;
                    if pending.cancel {
                        cancelled.push(*id);
                    }
                }
            }
            if left > 0 {
                let batch = (!single).then_some(message);
                sent.insert(sequence, Sent { ids, left, batch });
            }
        }
        for id in cancelled {
            let _ = self.again.send(Again::Cancel(id));
        }
    }

    /// Cancels work `id`: deletes its message if still queued (the work never runs; a
    /// batch's other works are queued again, unless cancelled too), else asks the node
    /// holding it to abort it (its answer, `Cancelled`, resolves it). A batch a node has
    /// fetched is still on the server until acked: it is deleted too, and its other works
    /// are queued again while the node runs them (at least once: the first result wins).
    pub(crate) async fn cancel(self: Arc<Self>, id: u64) {
        let sequence = {
            let mut all = self.pending();
            let Some(pending) = all.get_mut(&id) else {
                return;
            };
            // Cancelled again once the server stored it, if it was not yet; and left out
            // if its batch is queued again meanwhile.
            pending.cancel = true;
            pending.message
        };
        let Some(sequence) = sequence else {
            return;
        };
        let withdrawn = self.broker.delete_queued(sequence).await == Ok(true);
        if withdrawn {
            let deleted = self.sent().remove(&sequence);
            self.resolve(id, Err(Error::Cancelled));
            // A node may have fetched it just before: it must not run this one either.
            let _ = self.broker.broadcast_cancel(&self.task_id(id)).await;
            if let Some(Sent {
                batch: Some(mut batch),
                ..
            }) = deleted
            {
                let mut cancelled = Vec::new();
                let mut all = self.pending();
                batch.works.retain(|(other, _)| match all.get_mut(other) {
                    Some(pending) if pending.cancel => {
                        cancelled.push(*other);
                        false
                    }
                    Some(pending) => {
                        pending.message = None;
                        true
                    }
                    None => false,
                });
                drop(all);
                for other in cancelled {
                    self.resolve(other, Err(Error::Cancelled));
                }
                let _ = self.again.send(Again::Queue(batch));
            }
            return;
        }
        let _ = self.broker.broadcast_cancel(&self.task_id(id)).await;
    }

    /// Resolves works from the results published for this submitter.
    pub(crate) async fn hear_results(
        self: Arc<Self>,
        mut results: futures::stream::BoxStream<'static, Incoming>,
    ) {
        while let Some(incoming) = results.next().await {
            match incoming {
                Ok(results) => {
                    for (id, body) in results {
                        self.resolve(id, body.map_err(Error::from));
                    }
                }
                Err(reason) => {
                    tracing::warn!(%reason, "aplex remote pool: a malformed result, dropped");
                }
            }
        }
    }

    /// Fails the works the broker gave up on.
    pub(crate) async fn hear_gave_up(
        self: Arc<Self>,
        mut gave_up: futures::stream::BoxStream<'static, GaveUp>,
    ) {
        while let Some(GaveUp {
            sequence,
            deliveries,
        }) = gave_up.next().await
        {
            let ids = self.sent().get(&sequence).map(|sent| sent.ids.clone());
            for id in ids.unwrap_or_default() {
                self.resolve(id, Err(Error::Undeliverable { deliveries }));
            }
        }
    }

    /// Cancels every work left and resolves it `Cancelled`: deletes the messages of its
    /// works still on the server (many at once), and tells
    /// the nodes to abort those they hold. (Not the server's purge by subject: on the
    /// server this was built against, a filtered purge moves the nodes' consumer past
    /// other submitters' older works, which are then never delivered.)
    pub(crate) async fn abort_all(self: Arc<Self>) {
        // A publish in flight may have queued its works already: wait for it to say
        // where, so they are deleted too (else they ran after the abort). One not begun
        // yet sees the flag and publishes nothing.
        self.aborting.store(true, Ordering::SeqCst);
        let in_flight = self.publishing.load(Ordering::SeqCst);
        if in_flight > 0 {
            tracing::info!(
                publishes = in_flight,
                "aplex remote pool: aborting; waiting for the publishes in flight to land"
            );
            let landed = async {
                loop {
                    let mut published = std::pin::pin!(self.published.notified());
                    published.as_mut().enable();
                    if self.publishing.load(Ordering::SeqCst) == 0 {
                        return;
                    }
                    published.await;
                }
            };
            if tokio::time::timeout(ABORT_WAITS_FOR_PUBLISHES, landed)
                .await
                .is_err()
            {
                tracing::warn!(
                    "aplex remote pool: aborting without waiting longer for a publish in \
                     flight; if it lands, its works may still run"
                );
            }
        }
        let sequences: Vec<u64> = self.sent().keys().copied().collect();
        futures::stream::iter(sequences)
            .map(|sequence| {
                let broker = Arc::clone(&self.broker);
                async move { broker.delete_queued(sequence).await }
            })
            .buffer_unordered(DELETES_IN_FLIGHT)
            .for_each(|_| async {})
            .await;
        let every = format!("{}.*", self.submitter);
        let _ = self.broker.broadcast_cancel(&every).await;
        let ids: Vec<u64> = self.pending().keys().copied().collect();
        for id in ids {
            self.resolve(id, Err(Error::Cancelled));
        }
    }

    /// Stops waiting for work `id`, timed out and unanswered after its abort (the server
    /// dropped it, expired, before any node took it): it is reported over, and an
    /// answer that still comes is dropped. Its future already says `TimedOut`.
    pub(crate) fn give_up(&self, id: u64) {
        self.resolve(
            id,
            Err(Error::TimedOut {
                clock: aplex_core::Clock::Work,
            }),
        );
    }

    /// Waits until no work is pending.
    pub(crate) async fn drained(&self) {
        loop {
            let emptied = self.emptied.notified();
            if self.pending().is_empty() {
                return;
            }
            emptied.await;
        }
    }
}
