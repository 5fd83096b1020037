//! A new pool's first worker processes, started all at once: a pool of N workers starts
//! in about the time of one, not N.
//!
//! Each start is a fork-exec, a handshake, `Start` and the initializer, mostly waiting on
//! the child; the slots' supervisors used to do them one after the other (the executor
//! builds its workers in turn). Now the builder starts every slot's supervisor thread
//! before the executor is built, each starting its first process at once; when the
//! executor builds worker `i`, it hands supervisor `i` its slot (`ProcessWorker::spawn`,
//! which does not wait: works dispatched before the process serves wait in the slot's
//! outbox), and the supervisor goes on serving with the process it started. The
//! supervisor must be the thread that started the process: a worker asks to be killed
//! when its parent *thread* ends (`PR_SET_PDEATHSIG`). A supervisor never handed a slot
//! — the build failed — kills and reaps its process.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use aplex_core::BuildError;

use crate::parent::context::PoolContext;
use crate::parent::slot::Slot;
use crate::parent::spawn::spawn_worker;
use crate::parent::supervisor::supervise;

/// A supervisor thread whose first process is started, waiting for its slot.
pub(crate) struct Prestart {
    pub(crate) thread: JoinHandle<()>,
    /// Where the supervisor waits for its slot; dropped, it stops its process.
    pub(crate) handover: Sender<Arc<Slot>>,
    /// The first process's pid (once [`Prestarted::start`] has returned).
    pub(crate) pid: u32,
}

/// The prestarted supervisors of a pool's workers, in worker order.
pub(crate) struct Prestarted(VecDeque<Prestart>);

impl Prestarted {
    /// Starts `count` supervisors, each starting its first process at once; the error
    /// names the first worker (by index) that could not start, the others are stopped.
    pub(crate) fn start(
        context: &Arc<PoolContext>,
        count: usize,
    ) -> Result<Prestarted, BuildError> {
        let mut prestarted = Prestarted(VecDeque::with_capacity(count));
        let mut spawned = Vec::with_capacity(count);
        for index in 0..count {
            let (spawned_tx, spawned_rx) = mpsc::sync_channel(1);
            let (handover, handed) = mpsc::channel();
            let context = Arc::clone(context);
            let thread = thread::Builder::new()
                .name(format!("aplex-supervisor-{index}"))
                .spawn(move || start_then_supervise(index, &context, spawned_tx, handed))
                .map_err(|error| {
                    let reason = "cannot start its supervisor thread";
                    BuildError::worker_start(index, reason, Some(error.into()))
                })?;
            prestarted.0.push_back(Prestart {
                thread,
                handover,
                pid: 0,
            });
            spawned.push(spawned_rx);
        }
        for (index, (prestart, spawned)) in prestarted.0.iter_mut().zip(spawned).enumerate() {
            let outcome = spawned
                .recv()
                .unwrap_or_else(|_| Err("its supervisor thread died".into()));
            match outcome {
                Ok(pid) => prestart.pid = pid,
                // `prestarted` is dropped: the processes that did start are stopped.
                Err(reason) => return Err(BuildError::worker_start(index, reason, None)),
            }
        }
        Ok(prestarted)
    }

    /// The next worker's supervisor; worker `index` asks (the executor builds them in
    /// order, as many as were started).
    pub(crate) fn take(&mut self, index: usize) -> Result<Prestart, BuildError> {
        self.0.pop_front().ok_or_else(|| {
            BuildError::worker_start(index, "no supervisor was started for it", None)
        })
    }
}

impl Drop for Prestarted {
    fn drop(&mut self) {
        // Dropping a handover tells its supervisor no slot comes; it stops its process.
        for prestart in self.0.drain(..) {
            drop(prestart.handover);
            let _ = prestart.thread.join();
        }
    }
}

/// A prestarted supervisor's life: start the first process and say how that went, wait
/// for the slot, then supervise it beginning with that process.
fn start_then_supervise(
    index: usize,
    context: &PoolContext,
    spawned: SyncSender<Result<u32, String>>,
    handed: Receiver<Arc<Slot>>,
) {
    let first = spawn_worker(
        index,
        &context.start,
        context.start_timeout,
        context.initializer,
    );
    let mut first = match first {
        Ok(incarnation) => {
            let _ = spawned.send(Ok(incarnation.pid));
            incarnation
        }
        Err(reason) => {
            tracing::warn!(worker = index, %reason, "aplex worker process failed to start");
            let _ = spawned.send(Err(reason));
            return;
        }
    };
    match handed.recv() {
        Ok(slot) => supervise(slot, first),
        Err(_) => {
            let _ = first.child.kill();
            let _ = first.child.wait();
        }
    }
}
