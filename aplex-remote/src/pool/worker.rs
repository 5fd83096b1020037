//! `RemoteWorker`: the remote pool's one worker, as the executor sees it — a client of the
//! server on a thread of its own. It queues each work it is handed (for whichever node
//! pulls it first), resolves futures from the results its nodes publish, fails those the
//! broker gave up on, and turns cancels into deleting a queued work or broadcasting an
//! abort to the node running it.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aplex_core::backend::{CloseMode, WorkId, Worker, WorkerEvents};
use aplex_core::{Error, WorkerInfo};
use futures::StreamExt;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::Notify;

use crate::broker::{Broker, GaveUp, Incoming};
use crate::node::announce::NodeInfo;
use crate::pool::job::{Completer, RemoteJob};
use crate::wire::{decode_result, now_ms, TaskHeaders};

/// What the executor asks of the client.
pub(crate) enum Command {
    Run(WorkId, RemoteJob),
    Cancel(WorkId),
    Close(CloseMode),
    /// Read the nodes' announcements, answering on the channel.
    Nodes(mpsc::Sender<Result<Vec<NodeInfo>, Error>>),
}

/// What queueing a work needs, its completer kept apart (in its [`Pending`]).
struct Queued {
    work: &'static str,
    kind: aplex_core::WorkKind,
    args: bytes::Bytes,
    group: String,
    begin: Option<aplex_core::backend::Begin>,
}

/// A work queued and not resolved yet.
struct Pending {
    complete: Option<Completer>,
    /// Its sequence number in the queue, once the server acknowledged it.
    sequence: Option<u64>,
    /// Cancelled before the server acknowledged it.
    cancel: bool,
}

/// The client's state, shared by its tasks.
pub(crate) struct Client {
    pub(crate) broker: Arc<dyn Broker>,
    pub(crate) events: Arc<dyn WorkerEvents>,
    pub(crate) submitter: String,
    pub(crate) reply: String,
    pub(crate) digest: u64,
    pub(crate) expiry: Duration,
    pending: Mutex<HashMap<u64, Pending>>,
    by_sequence: Mutex<HashMap<u64, u64>>,
    emptied: Notify,
}

impl Client {
    pub(crate) fn new(
        broker: Arc<dyn Broker>,
        events: Arc<dyn WorkerEvents>,
        submitter: String,
        reply: String,
        digest: u64,
        expiry: Duration,
    ) -> Self {
        Client {
            broker,
            events,
            submitter,
            reply,
            digest,
            expiry,
            pending: Mutex::new(HashMap::new()),
            by_sequence: Mutex::new(HashMap::new()),
            emptied: Notify::new(),
        }
    }

    fn pending(&self) -> MutexGuard<'_, HashMap<u64, Pending>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sequences(&self) -> MutexGuard<'_, HashMap<u64, u64>> {
        self.by_sequence
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Resolves work `id` with `result`, once; reports it over.
    fn resolve(&self, id: u64, result: Result<serde_bytes::ByteBuf, Error>) {
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
        if let Some(sequence) = pending.sequence {
            self.sequences().remove(&sequence);
        }
        if let Some(complete) = pending.complete {
            complete(result);
        }
        self.events.work_finished(0);
    }

    fn task_id(&self, id: u64) -> String {
        format!("{}.{id}", self.submitter)
    }

    /// Queues work `id` (already registered as pending by `serve`).
    async fn enqueue(self: Arc<Self>, id: u64, job: Queued) {
        if !self.pending().contains_key(&id) {
            return; // resolved (aborted) before its turn came: never queue it
        }
        let task = TaskHeaders {
            id: self.task_id(id),
            work: job.work.to_owned(),
            kind: job.kind,
            reply: self.reply.clone(),
            expires_ms: now_ms().saturating_add(self.expiry.as_millis() as u64),
        };
        if let Some(begin) = &job.begin {
            // Beyond recall once queued: a blocking work cannot be aborted on its node.
            if !begin.commit() {
                self.resolve(id, Err(Error::Cancelled));
                return;
            }
            begin.begin();
        }
        match self
            .broker
            .enqueue(self.digest, &job.group, &task, job.args)
            .await
        {
            Ok(sequence) => {
                let cancel = {
                    let mut all = self.pending();
                    match all.get_mut(&id) {
                        Some(pending) => {
                            pending.sequence = Some(sequence);
                            pending.cancel
                        }
                        None => false,
                    }
                };
                self.sequences().insert(sequence, id);
                if cancel {
                    self.cancel(id).await;
                }
            }
            Err(error) => self.resolve(
                id,
                Err(Error::Broker {
                    reason: error.to_string(),
                }),
            ),
        }
    }

    /// Cancels work `id`: deletes it if still queued (it never runs), else asks the node
    /// running it to abort it (its answer, `Cancelled`, resolves it).
    async fn cancel(self: Arc<Self>, id: u64) {
        let sequence = {
            let mut all = self.pending();
            match all.get_mut(&id) {
                None => return,
                Some(pending) => {
                    if pending.sequence.is_none() {
                        pending.cancel = true;
                    }
                    pending.sequence
                }
            }
        };
        let Some(sequence) = sequence else {
            return; // cancelled again once the server acknowledges it
        };
        if let Ok(true) = self.broker.delete_queued(sequence).await {
            self.resolve(id, Err(Error::Cancelled));
            return;
        }
        let _ = self.broker.broadcast_cancel(&self.task_id(id)).await;
    }

    /// Resolves works from the results published for this submitter.
    async fn hear_results(
        self: Arc<Self>,
        mut results: futures::stream::BoxStream<'static, Incoming>,
    ) {
        let prefix = format!("{}.", self.submitter);
        while let Some(incoming) = results.next().await {
            let Some(id) = incoming
                .id
                .as_deref()
                .and_then(|id| id.strip_prefix(&prefix))
                .and_then(|number| number.parse::<u64>().ok())
            else {
                tracing::warn!("aplex remote pool: a result without a work id of ours, dropped");
                continue;
            };
            match decode_result(&incoming.body) {
                Ok(body) => self.resolve(id, body.map_err(Error::from)),
                Err(reason) => {
                    tracing::warn!(%reason, "aplex remote pool: a malformed result, dropped");
                }
            }
        }
    }

    /// Fails the works the broker gave up on.
    async fn hear_gave_up(
        self: Arc<Self>,
        mut gave_up: futures::stream::BoxStream<'static, GaveUp>,
    ) {
        while let Some(GaveUp {
            sequence,
            deliveries,
        }) = gave_up.next().await
        {
            let id = self.sequences().get(&sequence).copied();
            if let Some(id) = id {
                self.resolve(id, Err(Error::Undeliverable { deliveries }));
            }
        }
    }

    /// Cancels every work left and resolves it `Cancelled`.
    async fn abort_all(self: Arc<Self>) {
        let ids: Vec<u64> = self.pending().keys().copied().collect();
        for id in ids {
            Arc::clone(&self).cancel(id).await;
            self.resolve(id, Err(Error::Cancelled));
        }
    }

    /// Waits until no work is pending.
    async fn drained(&self) {
        loop {
            let emptied = self.emptied.notified();
            if self.pending().is_empty() {
                return;
            }
            emptied.await;
        }
    }
}

/// Serves the executor's commands until closed.
pub(crate) async fn serve(
    client: Arc<Client>,
    mut commands: UnboundedReceiver<Command>,
    results: futures::stream::BoxStream<'static, Incoming>,
    gave_up: futures::stream::BoxStream<'static, GaveUp>,
) {
    tokio::spawn(Arc::clone(&client).hear_results(results));
    tokio::spawn(Arc::clone(&client).hear_gave_up(gave_up));
    let mut draining = false;
    loop {
        let command = tokio::select! {
            command = commands.recv() => command,
            () = client.drained(), if draining => break,
        };
        match command {
            None => break,
            Some(Command::Run(id, job)) => {
                let RemoteJob {
                    work,
                    kind,
                    args,
                    group,
                    complete,
                    begin,
                } = job;
                // Pending from now on, before any later command (a drain) is looked at.
                client.pending().insert(
                    id.0,
                    Pending {
                        complete: Some(complete),
                        sequence: None,
                        cancel: false,
                    },
                );
                let queued = Queued {
                    work,
                    kind,
                    args,
                    group,
                    begin,
                };
                tokio::spawn(Arc::clone(&client).enqueue(id.0, queued));
            }
            Some(Command::Cancel(id)) => {
                tokio::spawn(Arc::clone(&client).cancel(id.0));
            }
            Some(Command::Nodes(answer)) => {
                let broker = Arc::clone(&client.broker);
                tokio::spawn(async move {
                    let nodes = broker
                        .announcements()
                        .await
                        .map(|all| {
                            all.iter()
                                .filter_map(|info| NodeInfo::decode(info))
                                .collect()
                        })
                        .map_err(|error| Error::Broker {
                            reason: error.to_string(),
                        });
                    let _ = answer.send(nodes);
                });
            }
            // Keep serving (cancels, an abort) until every pending work is resolved.
            Some(Command::Close(CloseMode::Drain)) => draining = true,
            Some(Command::Close(CloseMode::Abort)) => {
                Arc::clone(&client).abort_all().await;
                break;
            }
        }
    }
}

/// The remote pool's one worker.
pub struct RemoteWorker {
    info: WorkerInfo,
    commands: UnboundedSender<Command>,
    thread: Mutex<Option<(JoinHandle<()>, Receiver<()>)>>,
}

impl std::fmt::Debug for RemoteWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteWorker")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl RemoteWorker {
    /// The worker whose client runs `run` (given its command receiver) on a thread.
    pub(crate) fn start(
        name: String,
        run: impl FnOnce(UnboundedReceiver<Command>) + Send + 'static,
    ) -> std::io::Result<RemoteWorker> {
        let (commands, receiver) = tokio::sync::mpsc::unbounded_channel();
        let (done_tx, done) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("aplex-remote-client".into())
            .spawn(move || {
                let _done = done_tx;
                run(receiver);
            })?;
        Ok(RemoteWorker {
            info: WorkerInfo::new(0, name, std::process::id()),
            commands,
            thread: Mutex::new(Some((thread, done))),
        })
    }
}

impl RemoteWorker {
    /// The nodes that announced themselves to the pool's server, asked of the client.
    pub(crate) fn nodes(&self, patience: Duration) -> Result<Vec<NodeInfo>, Error> {
        aplex_core::backend::ensure_blocking_allowed()?;
        let (answer, answered) = mpsc::channel();
        self.commands
            .send(Command::Nodes(answer))
            .map_err(|_| Error::ShutDown)?;
        answered.recv_timeout(patience).unwrap_or_else(|_| {
            Err(Error::Broker {
                reason: format!("the server did not list the nodes within {patience:?}"),
            })
        })
    }
}

impl Worker for RemoteWorker {
    type Job = RemoteJob;

    fn info(&self) -> WorkerInfo {
        self.info.clone()
    }

    fn dispatch(&self, id: WorkId, job: RemoteJob) -> Result<(), RemoteJob> {
        self.commands
            .send(Command::Run(id, job))
            .map_err(|refused| match refused.0 {
                Command::Run(_, job) => job,
                _ => unreachable!("a Run was sent"),
            })
    }

    fn cancel(&self, id: WorkId) {
        let _ = self.commands.send(Command::Cancel(id));
    }

    fn close(&self, mode: CloseMode) {
        let _ = self.commands.send(Command::Close(mode));
    }

    fn join(&self, deadline: Option<Instant>) -> bool {
        let mut thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((_, done)) = thread.as_ref() else {
            return true;
        };
        let finished = match deadline {
            None => {
                let _ = done.recv();
                true
            }
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                !matches!(done.recv_timeout(left), Err(RecvTimeoutError::Timeout))
            }
        };
        if finished {
            if let Some((handle, _)) = thread.take() {
                let _ = handle.join();
            }
        }
        finished
    }
}
