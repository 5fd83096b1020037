//! The loop a worker thread runs: it builds the worker's tokio runtime, then serves
//! messages until told to close.
//!
//! 1. The runtime comes from the pool's `worker_loop_factory`; success or failure is
//!    reported back so `build()` can fail cleanly.
//! 2. On that runtime, inside a `LocalSet`, messages are received in batches. An async
//!    job becomes a local task (its future need not be `Send`) whose abort handle is kept
//!    by work id; a blocking job runs on the runtime's blocking pool, awaited by a local
//!    task, so it never stalls the async works.
//! 3. Every task carries a guard that, however the task ends (done, panicked, aborted),
//!    forgets its abort handle and reports the work over to the executor.
//! 4. `Close(Drain)` stops nothing but makes the loop exit once no task is left;
//!    `Close(Abort)` (or the pool's handle disappearing) also aborts every async task.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use aplex_core::{panic_message, CloseMode, WorkId, WorkerEvents, WorkerSeat};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::Notify;
use tokio::task::{AbortHandle, LocalSet};

use crate::builder::RuntimeFactory;
use crate::job::ThreadJob;

/// What the pool sends a worker thread.
pub(crate) enum Message {
    Run(WorkId, ThreadJob),
    Cancel(WorkId),
    Close(CloseMode),
}

/// The most messages taken from the channel in one go.
const BATCH: usize = 256;

/// Runs the worker until it is closed; the body of the worker's OS thread.
pub(crate) fn run_worker(
    seat: WorkerSeat,
    factory: RuntimeFactory,
    receiver: UnboundedReceiver<Message>,
    ready: SyncSender<Result<(), String>>,
) {
    let runtime = match catch_unwind(AssertUnwindSafe(|| factory())) {
        Ok(Ok(runtime)) => runtime,
        Ok(Err(error)) => {
            let _ = ready.send(Err(format!("the worker_loop_factory failed: {error}")));
            return;
        }
        Err(payload) => {
            let message = panic_message(&*payload);
            let _ = ready.send(Err(format!("the worker_loop_factory panicked: {message}")));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    drop(ready);
    let local = LocalSet::new();
    runtime.block_on(local.run_until(serve(seat, receiver)));
    drop(local);
    drop(runtime);
}

struct LoopState {
    worker: usize,
    events: Arc<dyn WorkerEvents>,
    abortable: RefCell<HashMap<WorkId, AbortHandle>>,
    live: Cell<usize>,
    idle: Notify,
}

/// Reports one task over, however it ends.
struct TaskGuard {
    state: Rc<LoopState>,
    id: WorkId,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let state = &self.state;
        state.abortable.borrow_mut().remove(&self.id);
        state.live.set(state.live.get() - 1);
        if state.live.get() == 0 {
            state.idle.notify_one();
        }
        state.events.work_finished(state.worker);
    }
}

async fn serve(seat: WorkerSeat, mut receiver: UnboundedReceiver<Message>) {
    let state = Rc::new(LoopState {
        worker: seat.index,
        events: seat.events,
        abortable: RefCell::new(HashMap::new()),
        live: Cell::new(0),
        idle: Notify::new(),
    });
    let mut batch = Vec::with_capacity(BATCH);
    let mut closing = false;
    let mut open = true;
    loop {
        if closing && state.live.get() == 0 {
            break;
        }
        tokio::select! {
            biased;
            received = receiver.recv_many(&mut batch, BATCH), if open => {
                if received == 0 {
                    open = false;
                    closing = true;
                    abort_all(&state);
                }
                for message in batch.drain(..) {
                    closing |= handle(&state, message);
                }
            }
            () = state.idle.notified(), if closing => {}
        }
    }
}

/// Acts on one message; returns whether it asks the worker to close.
fn handle(state: &Rc<LoopState>, message: Message) -> bool {
    match message {
        Message::Run(id, job) => {
            start(state, id, job);
            false
        }
        Message::Cancel(id) => {
            let handle = state.abortable.borrow().get(&id).cloned();
            if let Some(handle) = handle {
                handle.abort();
            }
            false
        }
        Message::Close(mode) => {
            if mode == CloseMode::Abort {
                abort_all(state);
            }
            true
        }
    }
}

fn start(state: &Rc<LoopState>, id: WorkId, job: ThreadJob) {
    state.live.set(state.live.get() + 1);
    let guard = TaskGuard {
        state: Rc::clone(state),
        id,
    };
    match job {
        ThreadJob::Async(make) => {
            let future = make();
            let task = tokio::task::spawn_local(async move {
                let _guard = guard;
                future.await;
            });
            state.abortable.borrow_mut().insert(id, task.abort_handle());
        }
        ThreadJob::Blocking(run) => {
            tokio::task::spawn_local(async move {
                let _guard = guard;
                let _ = tokio::task::spawn_blocking(run).await;
            });
        }
    }
}

fn abort_all(state: &LoopState) {
    let handles: Vec<AbortHandle> = state.abortable.borrow().values().cloned().collect();
    for handle in handles {
        handle.abort();
    }
}
