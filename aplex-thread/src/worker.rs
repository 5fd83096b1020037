//! `ThreadWorker`: the pool's handle to one worker thread, implementing
//! [`aplex_core::backend::Worker`].

use std::fmt;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use aplex_core::backend::local::LocalMessage as Message;
use aplex_core::backend::{CloseMode, WorkId, Worker, WorkerSeat};
use aplex_core::{BuildError, WorkerInfo};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use crate::runtime::{Preparation, RuntimeFactory, StateMaker, WorkerInitializer};
use crate::worker_loop::run_worker;

/// What a thread worker is handed: a job for its runtime's local set, its scheduler or
/// its blocking pool.
pub type ThreadJob = aplex_core::backend::local::LocalJob;

/// One worker: an OS thread named `aplex-worker-N` driving its own tokio runtime.
pub struct ThreadWorker {
    info: WorkerInfo,
    sender: UnboundedSender<Message>,
    /// Jobs dispatched since the last flush, sent together as one message.
    staged: Mutex<Vec<(WorkId, ThreadJob)>>,
    thread: Mutex<Option<Running>>,
}

/// The thread while it has not been joined; `exited` disconnects when its body returns.
struct Running {
    handle: JoinHandle<()>,
    exited: Receiver<()>,
}

/// What every worker thread of a pool is started with.
pub(crate) struct WorkerSetup<'a> {
    pub(crate) name_prefix: &'a str,
    pub(crate) factory: RuntimeFactory,
    pub(crate) initializer: Option<WorkerInitializer>,
    pub(crate) state: Option<StateMaker>,
    /// The most blocking works the worker runs at once.
    pub(crate) blocking_limit: usize,
}

impl ThreadWorker {
    /// Starts the worker thread for `seat` and waits until its runtime is built.
    pub(crate) fn spawn(
        seat: WorkerSeat,
        setup: WorkerSetup<'_>,
    ) -> Result<ThreadWorker, BuildError> {
        let WorkerSetup {
            name_prefix,
            factory,
            initializer,
            state,
            blocking_limit,
        } = setup;
        let preparation = Preparation {
            factory,
            initializer,
            state,
        };
        let index = seat.index;
        let name = format!("{name_prefix}{index}");
        let (sender, receiver) = unbounded_channel();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let (exited_tx, exited) = mpsc::channel::<()>();
        let handle = thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                let _exited = exited_tx;
                run_worker(seat, preparation, blocking_limit, receiver, ready_tx);
            })
            .map_err(|error| {
                BuildError::worker_start(index, "could not spawn its thread", Some(error.into()))
            })?;
        let started = ready_rx.recv().unwrap_or_else(|_| {
            Err(BuildError::worker_start(
                index,
                "the worker thread ended before its runtime started",
                None,
            ))
        });
        if let Err(error) = started {
            let _ = handle.join();
            return Err(error);
        }
        tracing::info!(worker = index, thread = %name, "aplex worker thread started");
        Ok(ThreadWorker {
            info: WorkerInfo::new(index, name, std::process::id()),
            sender,
            staged: Mutex::new(Vec::new()),
            thread: Mutex::new(Some(Running { handle, exited })),
        })
    }
}

impl ThreadWorker {
    fn lock_staged(&self) -> std::sync::MutexGuard<'_, Vec<(WorkId, ThreadJob)>> {
        self.staged.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Worker for ThreadWorker {
    type Job = ThreadJob;

    fn info(&self) -> WorkerInfo {
        self.info.clone()
    }

    fn dispatch(&self, id: WorkId, job: ThreadJob) -> Result<(), ThreadJob> {
        if self.sender.is_closed() {
            return Err(job);
        }
        self.lock_staged().push((id, job));
        Ok(())
    }

    fn flush(&self) {
        let mut staged = self.lock_staged();
        let message = match staged.len() {
            0 => return,
            1 => {
                let (id, job) = staged.pop().expect("one staged job");
                Message::Run(id, job)
            }
            // The next burst is likely as big: room for it now, in one allocation,
            // rather than growing from nothing in seven.
            count => Message::RunBatch(std::mem::replace(&mut *staged, Vec::with_capacity(count))),
        };
        // A closed channel means the worker is gone; dropping the jobs resolves their
        // futures as cancelled.
        let _ = self.sender.send(message);
    }

    fn cancel(&self, id: WorkId) {
        self.flush();
        let _ = self.sender.send(Message::Cancel(id));
    }

    fn close(&self, mode: CloseMode) {
        self.flush();
        let _ = self.sender.send(Message::Close(mode));
    }

    fn join(&self, deadline: Option<Instant>) -> bool {
        let mut thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(running) = thread.as_ref() else {
            return true;
        };
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Err(RecvTimeoutError::Timeout) = running.exited.recv_timeout(left) {
                // The grace period is over: drop what the worker still holds, so every
                // future resolves (`Cancelled`), and leave the thread to end on its own.
                let _ = self.sender.send(Message::Abandon);
                return false;
            }
        }
        if let Some(running) = thread.take() {
            let _ = running.handle.join();
        }
        true
    }
}

impl fmt::Debug for ThreadWorker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadWorker")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}
