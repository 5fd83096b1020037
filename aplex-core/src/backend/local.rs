//! The loop that runs works on one worker's tokio runtime: the same for a worker thread
//! and for a worker process's main thread.
//!
//! 1. Messages arrive on an unbounded channel and are taken in batches. After a batch
//!    that left works pending, with more messages waiting, the loop yields once, so
//!    the runtime's drivers turn (`let_the_runtime_turn`).
//! 2. An async job's future ([`Task`]) is, on a current-thread runtime or when it is not
//!    `Send`, polled once on the spot; if it is not done, it joins the loop's pending
//!    works, which one local task polls as they are woken (`group.rs`), and its slot
//!    there is kept by work id. On a multi-thread runtime a `Send` future is spawned
//!    onto the scheduler instead (never polled on the spot, so a busy work does not
//!    hold the loop), and a local task waits for it. A blocking job
//!    runs on the worker's blocking threads (`blocking_runner.rs`), so it never stalls
//!    the async works; the thread that ran it hands its output to the job's `finish`
//!    and tells the work over (`blocking_ledger.rs`) — with an [`OnFinished::Anywhere`]
//!    reporter without waking the loop at all.
//! 3. Every async work carries a guard that, however it ends (done, panicked, aborted),
//!    forgets its abort handle and reports the work over to the loop's `on_finished`:
//!    works that end while a batch of messages is handled are reported together, once,
//!    at the end of the batch (one update of the pool's workload per batch, not per work).
//! 4. `Close(Drain)` makes the loop return once no work is left; `Close(Abort)` (or the
//!    channel closing) also aborts every async work first, and cancels the blocking
//!    works still waiting for their turn (those running go on).
//!
//! Run [`serve_local`] inside a `tokio::task::LocalSet`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::Notify;

#[cfg(feature = "registry")]
pub use crate::backend::async_call::AsyncCall;
pub use crate::backend::blocking_job::BlockingJob;
use crate::backend::blocking_ledger::BlockingLedger;
use crate::backend::blocking_runner::{BlockingRunner, Job};
pub use crate::backend::catch::{catch_async, catch_blocking};
use crate::backend::group::{WorkAbort, WorkGroup};
use crate::backend::linger::linger;
pub use crate::backend::on_finished::OnFinished;
use crate::backend::ordered_ids::OrderedIdMap;
pub use crate::backend::task::Task;
use crate::backend::task::WithState;
use crate::worker::{CloseMode, WorkId};
use crate::worker_state::{install_worker_state, WorkerStateValue};

/// One unit of work for a worker's loop.
///
/// # Examples
///
/// ```
/// use aplex::backend::local::{serve_local, LocalJob, LocalMessage, OnFinished, Task};
/// use aplex::backend::{CloseMode, WorkId};
/// use std::time::Duration;
///
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
/// let (done_tx, done_rx) = std::sync::mpsc::channel();
/// sender.send(LocalMessage::Run(WorkId(1), LocalJob::Async(Box::new(move || {
///     Task::Local(Box::pin(async move { done_tx.send("ran").unwrap() }))
/// })))).unwrap();
/// sender.send(LocalMessage::Close(CloseMode::Drain)).unwrap();
/// let local = tokio::task::LocalSet::new();
/// runtime.block_on(local.run_until(serve_local(receiver, 1, Duration::ZERO, None, OnFinished::on_loop(|count| assert_eq!(count, 1)))));
/// assert_eq!(done_rx.recv().unwrap(), "ran");
/// ```
pub enum LocalJob {
    /// Makes, on the worker's thread, the future of an async job: run there as a local
    /// task, or (a `Send` one, on a multi-thread runtime) on the runtime's scheduler.
    Async(Box<dyn FnOnce() -> Task + Send>),
    /// Runs on the worker's blocking threads.
    Blocking(BlockingJob),
}

impl fmt::Debug for LocalJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LocalJob::Async(_) => "LocalJob::Async",
            LocalJob::Blocking(_) => "LocalJob::Blocking",
        })
    }
}

/// What a worker's loop is sent.
///
/// # Examples
///
/// ```
/// use aplex::backend::local::{serve_local, LocalJob, LocalMessage, OnFinished, Task};
/// use aplex::backend::{CloseMode, WorkId};
/// use std::time::Duration;
///
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
/// let (done_tx, done_rx) = std::sync::mpsc::channel();
/// sender.send(LocalMessage::Run(WorkId(1), LocalJob::Async(Box::new(move || {
///     Task::Local(Box::pin(async move { done_tx.send("ran").unwrap() }))
/// })))).unwrap();
/// sender.send(LocalMessage::Close(CloseMode::Drain)).unwrap();
/// let local = tokio::task::LocalSet::new();
/// runtime.block_on(local.run_until(serve_local(receiver, 1, Duration::ZERO, None, OnFinished::on_loop(|count| assert_eq!(count, 1)))));
/// assert_eq!(done_rx.recv().unwrap(), "ran");
/// ```
#[derive(Debug)]
pub enum LocalMessage {
    /// Start a work.
    Run(WorkId, LocalJob),
    /// Start several works, in order (a burst staged by the pool).
    RunBatch(Vec<(WorkId, LocalJob)>),
    /// Start async works called by their registry entries, in order: a worker process's
    /// works, one message's together (one allocation for them all, where a `Run` of
    /// each boxes a closure).
    #[cfg(feature = "registry")]
    Calls(Vec<(WorkId, AsyncCall)>),
    /// Abort the running async work with this id, if any.
    Cancel(WorkId),
    /// Stop, as the mode says.
    Close(CloseMode),
    /// Give up: drop every work in hand — async works and the promises of blocking works
    /// still running on their threads, whose futures then resolve `Cancelled` — and stop.
    /// Sent when a shutdown's grace period is over.
    Abandon,
}

impl LocalMessage {
    /// Whether it starts one work (a `Run`, or a `Calls` of one): most likely a lone
    /// submit's, whose caller waits for the result (the loop then lingers before it
    /// parks, `linger.rs`).
    fn is_lone_run(&self) -> bool {
        match self {
            LocalMessage::Run(..) => true,
            #[cfg(feature = "registry")]
            LocalMessage::Calls(calls) => calls.len() == 1,
            _ => false,
        }
    }
}

/// The most messages taken from the channel in one go.
const BATCH: usize = 256;

struct LoopState {
    on_finished: Rc<dyn Fn(usize)>,
    /// Works over since the current batch began, reported when it ends; `None` outside
    /// a batch, where each work is reported as it ends.
    finished_in_batch: Cell<Option<usize>>,
    abortable: RefCell<OrderedIdMap<WorkId, WorkAbort>>,
    /// The async works pending after their first poll, polled by one local task
    /// (`group.rs`); on a multi-thread runtime, only the works that are not `Send`.
    group: WorkGroup<TaskGuard>,
    /// The blocking works in flight, shared with the blocking threads that finish them.
    blocking: Arc<BlockingLedger>,
    /// Blocking works were abandoned while still running.
    abandoned: Cell<bool>,
    /// The worker's blocking threads, one per blocking work that may run at once
    /// (`max_blocking_works_per_worker`); a blocking work waits there, not yet begun, for
    /// its turn.
    runner: RefCell<Option<BlockingRunner>>,
    /// The worker's state, installed on its scheduler's tasks (and its blocking threads).
    state: Option<WorkerStateValue>,
    /// The runtime is multi-threaded: `Send` futures go to its scheduler.
    scheduler: bool,
    /// Async works alive (the blocking ones are counted by `blocking`).
    live: Cell<usize>,
    /// A work of the current batch was still pending after its first poll.
    kept_in_batch: Cell<bool>,
    idle: Notify,
}

/// Reports one async work over, however it ends.
struct TaskGuard {
    state: Rc<LoopState>,
    id: WorkId,
    /// Whether the work's abort handle is kept, to be forgotten.
    handle: Handle,
}

/// Whether a work's abort handle is kept.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Handle {
    /// None: the work finished on its first poll.
    None,
    /// An async work's, aborted by cancel, abort and abandon.
    Abortable,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let state = &self.state;
        match self.handle {
            Handle::None => {}
            Handle::Abortable => {
                state.abortable.borrow_mut().remove(&self.id);
            }
        }
        state.live.set(state.live.get() - 1);
        if state.live.get() == 0 {
            state.idle.notify_one();
        }
        match state.finished_in_batch.get() {
            Some(count) => state.finished_in_batch.set(Some(count + 1)),
            None => (state.on_finished)(1),
        }
    }
}

/// Serves `receiver` until closed; must run inside a `LocalSet`.
///
/// Works find `state` with [`worker_state`](crate::worker_state). At most
/// `blocking_limit` blocking works run at once; the others wait here for their
/// turn, in arrival order, not yet begun. `on_finished` is told how many works are over,
/// however they ended: once per work, or once for all the works that ended while one
/// batch of messages was handled; a blocking work's end is told by the thread that ran
/// it when `on_finished` may be called anywhere ([`OnFinished`]).
///
/// With nothing alive after a lone work (a `Run`, or a `Calls` of one), it keeps looking
/// for its next message for `linger_for` before it lets its thread park
/// (`backend/linger.rs`); `Duration::ZERO` parks at once.
///
/// Returns whether it abandoned blocking works still running on their threads
/// ([`LocalMessage::Abandon`]): the runtime should then be shut down in the background
/// rather than waited for.
///
/// # Examples
///
/// ```
/// use aplex::backend::local::{serve_local, LocalJob, LocalMessage, OnFinished, Task};
/// use aplex::backend::{CloseMode, WorkId};
/// use std::time::Duration;
///
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
/// let (done_tx, done_rx) = std::sync::mpsc::channel();
/// sender.send(LocalMessage::Run(WorkId(1), LocalJob::Async(Box::new(move || {
///     Task::Local(Box::pin(async move { done_tx.send("ran").unwrap() }))
/// })))).unwrap();
/// sender.send(LocalMessage::Close(CloseMode::Drain)).unwrap();
/// let local = tokio::task::LocalSet::new();
/// runtime.block_on(local.run_until(serve_local(receiver, 1, Duration::ZERO, None, OnFinished::on_loop(|count| assert_eq!(count, 1)))));
/// assert_eq!(done_rx.recv().unwrap(), "ran");
/// ```
pub async fn serve_local(
    mut receiver: UnboundedReceiver<LocalMessage>,
    blocking_limit: usize,
    linger_for: Duration,
    state: Option<WorkerStateValue>,
    on_finished: OnFinished,
) -> bool {
    let _refusal = crate::wait::refuse_blocking_on_this_thread();
    let _state = install_worker_state(state.clone());
    let (on_finished, anywhere) = on_finished.split();
    let state = Rc::new(LoopState {
        on_finished,
        finished_in_batch: Cell::new(None),
        abortable: RefCell::new(OrderedIdMap::default()),
        group: WorkGroup::new(),
        blocking: Arc::new(BlockingLedger::new(anywhere)),
        abandoned: Cell::new(false),
        runner: RefCell::new(Some(BlockingRunner::new(blocking_limit, state.clone()))),
        state,
        scheduler: tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::MultiThread,
        live: Cell::new(0),
        kept_in_batch: Cell::new(false),
        idle: Notify::new(),
    });
    // However this future ends (even dropped half way), the blocking works' promises
    // go, and every work over is told (the last ones too, once the loop has ended).
    let _release = ReleaseBlocking(Rc::clone(&state));
    let mut batch = Vec::with_capacity(BATCH);
    let mut closing = false;
    let mut open = true;
    // The last messages were one lone work: a caller waiting on each result.
    let mut lone_run = false;
    loop {
        report_blocking(&state);
        if closing {
            // Before `alive` is read (`BlockingLedger::close`): a blocking work that ends
            // in between then sees the loop closing and wakes it.
            state.blocking.close();
        }
        let idle = state.live.get() == 0 && state.blocking.alive() == 0;
        if closing {
            if idle {
                break;
            }
        } else if idle && lone_run && open {
            lone_run = false;
            linger(&receiver, linger_for).await;
        }
        tokio::select! {
            biased;
            received = receiver.recv_many(&mut batch, BATCH), if open => {
                if received == 0 {
                    open = false;
                    closing = true;
                    abort_all(&state);
                    state.blocking.skip_unbegun();
                }
                lone_run = received == 1 && batch[0].is_lone_run();
                state.finished_in_batch.set(Some(0));
                for message in batch.drain(..) {
                    closing |= handle(&state, message);
                }
                match state.finished_in_batch.take() {
                    Some(0) | None => {}
                    Some(count) => (state.on_finished)(count),
                }
            }
            () = state.blocking.wake.notified() => {}
            () = state.idle.notified(), if closing => {}
        }
        if state.kept_in_batch.replace(false) && !receiver.is_empty() {
            let_the_runtime_turn().await;
        }
    }
    if let Some(runner) = state.runner.borrow_mut().take() {
        runner.close();
    }
    state.abandoned.get()
}

/// Yields once, so the runtime turns its drivers before the next batch of a burst.
/// tokio's timer wakes its driver (an eventfd write) for each timer set before the
/// deadline it last parked for, and a loop taking batch after batch never parks: two
/// thirds of a burst of sleepers each paid that write. A turn records the nearest
/// deadline; the burst's later timers then wake no one.
async fn let_the_runtime_turn() {
    tokio::task::yield_now().await;
}

/// Acts on one message; returns whether it asks the loop to close.
fn handle(state: &Rc<LoopState>, message: LocalMessage) -> bool {
    match message {
        LocalMessage::Run(id, job) => {
            start(state, id, job);
            false
        }
        LocalMessage::RunBatch(jobs) => {
            for (id, job) in jobs {
                start(state, id, job);
            }
            false
        }
        #[cfg(feature = "registry")]
        LocalMessage::Calls(calls) => {
            for (id, call) in calls {
                start_async(state, id, || call.into_task());
            }
            false
        }
        LocalMessage::Cancel(id) => {
            let handle = state.abortable.borrow().get(&id).cloned();
            if let Some(handle) = handle {
                abort(state, handle);
            }
            false
        }
        LocalMessage::Close(mode) => {
            if mode == CloseMode::Abort {
                abort_all(state);
                // Blocking works waiting for their turn are cancelled, as queued works
                // are; those running cannot be stopped and go on.
                state.blocking.skip_unbegun();
            }
            true
        }
        LocalMessage::Abandon => {
            abort_all(state);
            // Their promises resolve `Cancelled`; they are told over.
            let given_up = state.blocking.give_up_all();
            state.abandoned.set(given_up > 0);
            true
        }
    }
}

fn start(state: &Rc<LoopState>, id: WorkId, job: LocalJob) {
    match job {
        LocalJob::Async(make) => start_async(state, id, make),
        LocalJob::Blocking(BlockingJob { run, finish }) => {
            let ledger = Arc::clone(&state.blocking);
            let job: Job = Box::new(move || {
                if ledger.skipping() {
                    // Given up while it waited for its turn (or queued after the loop gave
                    // up): never begun. Its promise resolves `Cancelled` and it is told
                    // over, unless the give-up already did both.
                    ledger.complete(id, None);
                    return;
                }
                // The backends' runs catch their works' panics; one that slips through
                // drops `finish`, and the work's promise resolves `Cancelled`.
                let output = catch_unwind(AssertUnwindSafe(run)).ok();
                ledger.complete(id, output);
            });
            state.blocking.enter(id, finish);
            if let Some(runner) = state.runner.borrow().as_ref() {
                runner.run(job);
            }
        }
    }
}

/// Starts async work `id`, whose future `make` makes here.
fn start_async(state: &Rc<LoopState>, id: WorkId, make: impl FnOnce() -> Task) {
    state.live.set(state.live.get() + 1);
    let guard = TaskGuard {
        state: Rc::clone(state),
        id,
        handle: Handle::None,
    };
    let future = match make() {
        Task::Send(future) if state.scheduler => {
            return spawn_scheduled(state, guard, future);
        }
        task => task.into_local(),
    };
    // Most tiny works finish on their first poll: run that poll here, and keep only the
    // works still pending (with an abort handle), for the group's task.
    state.group.start(guard, future, |guard, slot| {
        guard.handle = Handle::Abortable;
        state.kept_in_batch.set(true);
        state
            .abortable
            .borrow_mut()
            .insert(id, WorkAbort::Slot(slot));
    });
}

/// Spawns a `Send` future onto the multi-thread runtime's scheduler; a local task holds
/// its guard until it is over, and cancel and abort reach it by its abort handle.
fn spawn_scheduled(
    state: &Rc<LoopState>,
    mut guard: TaskGuard,
    future: futures::future::BoxFuture<'static, ()>,
) {
    let spawned = tokio::spawn(WithState {
        state: state.state.clone(),
        future,
    });
    guard.handle = Handle::Abortable;
    state
        .abortable
        .borrow_mut()
        .insert(guard.id, WorkAbort::Task(spawned.abort_handle()));
    tokio::task::spawn_local(async move {
        let _guard = guard;
        // A panic is the job's to catch; an abort is what was asked for.
        let _ = spawned.await;
    });
}

/// Reports the blocking works over that the loop is to report (an
/// [`OnFinished::OnLoop`] reporter's).
fn report_blocking(state: &LoopState) {
    let count = state.blocking.take_unreported();
    if count > 0 {
        (state.on_finished)(count);
    }
}

/// When the loop's future ends: drops the blocking works still in flight and tells the
/// pool every blocking work over that the loop had yet to tell.
struct ReleaseBlocking(Rc<LoopState>);

impl Drop for ReleaseBlocking {
    fn drop(&mut self) {
        self.0.blocking.give_up_all();
        // The async works still pending go too (and with them their guards, which hold
        // this state).
        self.0.group.clear();
        report_blocking(&self.0);
    }
}

fn abort_all(state: &LoopState) {
    let handles: Vec<WorkAbort> = state.abortable.borrow().values().cloned().collect();
    for handle in handles {
        abort(state, handle);
    }
}

/// Stops one running async work: a task of its own at its next poll, a work of the
/// group at once.
fn abort(state: &LoopState, handle: WorkAbort) {
    match handle {
        WorkAbort::Task(handle) => handle.abort(),
        WorkAbort::Slot(slot) => state.group.abort(slot),
    }
}
