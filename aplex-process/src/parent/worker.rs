//! `ProcessWorker`: the executor's handle to one slot of a process pool, implementing
//! [`aplex_core::backend::Worker`].

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aplex_core::backend::{CloseMode, WorkId, Worker, WorkerSeat};
use aplex_core::{BuildError, WorkerInfo, WorkerStats};

use crate::parent::context::PoolContext;
use crate::parent::job::ProcessJob;
use crate::parent::prestart::Prestart;
use crate::parent::slot::Slot;

/// How long a timed-out async work in a pool built with `kill_on_timeout` may take to
/// be aborted before its process is killed.
pub(crate) const ABORT_GRACE: Duration = Duration::from_secs(1);

/// One worker position of a process pool: a supervisor thread and the process it keeps
/// alive.
pub struct ProcessWorker {
    slot: Arc<Slot>,
    first_pid: u32,
    supervisor: Mutex<Option<JoinHandle<()>>>,
}

impl ProcessWorker {
    /// Hands the slot to its supervisor, `prestarted` with its first process
    /// (`prestart.rs`). It does not wait for that process to serve (the build would
    /// wait for each supervisor's wake-up in turn): works dispatched meanwhile wait in
    /// the slot's outbox.
    pub(crate) fn spawn(
        seat: WorkerSeat,
        context: Arc<PoolContext>,
        prestarted: Prestart,
    ) -> Result<Self, BuildError> {
        let index = seat.index;
        let first_pid = prestarted.pid;
        let slot = Arc::new(Slot::new(index, seat.events, context, first_pid));
        let supervisor = prestarted.thread;
        // Refused only if its thread died.
        if prestarted.handover.send(Arc::clone(&slot)).is_err() {
            let _ = supervisor.join();
            let reason = "the supervisor thread died";
            return Err(BuildError::worker_start(index, reason, None));
        }
        Ok(ProcessWorker {
            slot,
            first_pid,
            supervisor: Mutex::new(Some(supervisor)),
        })
    }

    /// The pid of the process filling the slot now (`None` while it is being replaced).
    pub(crate) fn pid(&self) -> Option<u32> {
        self.slot.pid()
    }

    /// How many processes replaced a crashed one.
    pub(crate) fn restarts(&self) -> u64 {
        self.slot.restarts.load(Ordering::Relaxed)
    }

    /// How many processes were replaced after reaching `max_works_per_child`.
    pub(crate) fn recycles(&self) -> u64 {
        self.slot.recycles.load(Ordering::Relaxed)
    }
}

impl Worker for ProcessWorker {
    type Job = ProcessJob;

    fn info(&self) -> WorkerInfo {
        let index = self.slot.index;
        WorkerInfo::new(index, format!("aplex-worker-{index}"), self.first_pid)
    }

    fn dispatch(&self, id: WorkId, job: ProcessJob) -> Result<(), ProcessJob> {
        self.slot.dispatch(id.0, job)
    }

    fn flush(&self) {
        self.slot.flush();
    }

    fn cancel(&self, id: WorkId) {
        self.slot.cancel(id.0);
    }

    fn time_out(&self, id: WorkId, abortable: bool) -> Option<Duration> {
        let kill = self.slot.context.kill_on_timeout;
        if abortable {
            // An async work is aborted at its next await; one that never yields (or a
            // stopped process) gets `ABORT_GRACE` before its process is killed.
            self.slot.cancel(id.0);
            return kill.then_some(ABORT_GRACE);
        }
        if kill {
            self.slot.kill_running(id.0);
        }
        None
    }

    fn annotate_stats(&self, stats: &mut WorkerStats) {
        stats.pid = self.pid();
        stats.restarts = self.restarts();
        stats.recycles = self.recycles();
    }

    fn overdue(&self, id: WorkId) {
        self.slot.kill_running(id.0);
    }

    fn shutdown_began(&self) {
        self.slot.stop_respawning();
    }

    fn close(&self, mode: CloseMode) {
        self.slot.close(mode);
    }

    fn join(&self, deadline: Option<Instant>) -> bool {
        if !self.slot.join(deadline) {
            // Its supervisor is wedged: left behind rather than waited for forever.
            return false;
        }
        let supervisor = self
            .supervisor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(supervisor) = supervisor {
            let _ = supervisor.join();
        }
        true
    }
}

impl fmt::Debug for ProcessWorker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessWorker")
            .field("index", &self.slot.index)
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}
