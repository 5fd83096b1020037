//! `RemoteWorker`: the remote pool's one worker, as the executor sees it — a client of the
//! server on a thread of its own, whose command loop hands the works it is given to the
//! [`Client`] in batches (for whichever node pulls them first), and its cancels, drain
//! and abort.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aplex_core::backend::{CloseMode, WorkId, Worker};
use aplex_core::{Error, WorkerInfo};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::broker::{GaveUp, Incoming};
use crate::node::announce::NodeInfo;
use crate::pool::client::{Again, Client, Queued};
use crate::pool::job::RemoteJob;

/// What the executor asks of the client.
pub(crate) enum Command {
    Run(WorkId, RemoteJob),
    Cancel(WorkId),
    /// Stop waiting for a timed-out work's answer (`Worker::overdue`).
    GiveUp(WorkId),
    Close(CloseMode),
    /// Read the nodes' announcements, answering on the channel.
    Nodes(mpsc::Sender<Result<Vec<NodeInfo>, Error>>),
}

/// Serves the executor's commands until closed. Works handed over together (what is
/// waiting when the loop looks) go out in batches: one message per kind and group of
/// nodes, of as many works as fit its nodes (`batch_size.rs`) and at most 256 KiB of
/// arguments (`batches.rs`).
pub(crate) async fn serve(
    client: Arc<Client>,
    mut again: UnboundedReceiver<Again>,
    mut commands: UnboundedReceiver<Command>,
    results: futures::stream::BoxStream<'static, Incoming>,
    gave_up: futures::stream::BoxStream<'static, GaveUp>,
) {
    tokio::spawn(Arc::clone(&client).hear_results(results));
    tokio::spawn(Arc::clone(&client).hear_gave_up(gave_up));
    let sizes = Arc::clone(&client.batch_sizes);
    tokio::spawn(Arc::clone(&sizes).keep_fitted(Arc::clone(&client.broker)));
    let mut draining = false;
    loop {
        let command = tokio::select! {
            command = commands.recv() => command,
            Some(asked) = again.recv() => {
                match asked {
                    Again::Cancel(id) => tokio::spawn(Arc::clone(&client).cancel(id)),
                    Again::Queue(message) => tokio::spawn(Arc::clone(&client).publish(message)),
                };
                continue;
            }
            () = client.drained(), if draining => break,
        };
        let Some(first) = command else {
            break; // the executor is gone
        };
        let mut ready = Vec::new();
        let mut open = handle(&client, first, &mut ready, &mut draining).await;
        while open && ready.len() < READY_BATCHES.saturating_mul(sizes.max()) {
            let Ok(command) = commands.try_recv() else {
                break;
            };
            open = handle(&client, command, &mut ready, &mut draining).await;
        }
        let same = |(_, a): &(u64, Queued), (_, b): &(u64, Queued)| {
            a.work == b.work && a.kind == b.kind && a.group == b.group
        };
        let size = |(_, job): &(u64, Queued)| job.args.len();
        let most = |(_, job): &(u64, Queued)| sizes.of(&job.group);
        for batch in crate::batches::cut(ready, same, size, most) {
            tokio::spawn(Arc::clone(&client).enqueue(batch));
        }
        if !open {
            break;
        }
    }
}

/// The most works taken from the command queue before they are sent, in batches.
const READY_BATCHES: usize = 4;

/// How long after a work's timeout the pool waits for the answer to its abort before
/// it gives the work up (`RemoteWorker::time_out`).
const GIVE_UP_AFTER: Duration = Duration::from_secs(2);

/// Handles one command (a work to queue joins `ready`); false once the loop must end.
async fn handle(
    client: &Arc<Client>,
    command: Command,
    ready: &mut Vec<(u64, Queued)>,
    draining: &mut bool,
) -> bool {
    match command {
        Command::Run(id, job) => {
            let RemoteJob {
                work,
                kind,
                args,
                group,
                complete,
                begin,
            } = job;
            // Pending from now on, before any later command (a drain) is looked at.
            client.expect(id.0, complete);
            let queued = Queued {
                work,
                kind,
                args,
                group,
                begin,
            };
            ready.push((id.0, queued));
        }
        Command::Cancel(id) => {
            tokio::spawn(Arc::clone(client).cancel(id.0));
        }
        Command::GiveUp(id) => client.give_up(id.0),
        Command::Nodes(answer) => {
            let broker = Arc::clone(&client.broker);
            tokio::spawn(async move {
                let nodes = NodeInfo::live(&*broker)
                    .await
                    .map_err(|error| Error::Broker {
                        reason: error.to_string(),
                    });
                let _ = answer.send(nodes);
            });
        }
        // Keep serving (cancels, an abort) until every pending work is resolved.
        Command::Close(CloseMode::Drain) => *draining = true,
        Command::Close(CloseMode::Abort) => {
            Arc::clone(client).abort_all().await;
            return false;
        }
    }
    true
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

    /// An async work past its timeout is aborted (its node answers `Cancelled`). One
    /// that no node holds — the server dropped it when it expired while queued — is
    /// never answered: 2 s (`GIVE_UP_AFTER`) later, the pool stops waiting for it, so its
    /// place and a draining shutdown are not held for ever. A blocking work keeps its
    /// place until it answers, as on every pool.
    fn time_out(&self, id: WorkId, abortable: bool) -> Option<Duration> {
        if !abortable {
            return None;
        }
        self.cancel(id);
        Some(GIVE_UP_AFTER)
    }

    fn overdue(&self, id: WorkId) {
        let _ = self.commands.send(Command::GiveUp(id));
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
