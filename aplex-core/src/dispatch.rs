//! The executor's shared state and its dispatch rule: per-worker workload counters, the
//! FIFO pending queue, and the balancer behind one mutex.
//!
//! 1. A submit takes the queue lock. If nothing is pending and some worker is below
//!    `max_works_per_worker`, the balancer picks one, its workload is claimed, and the job
//!    is handed over at once.
//! 2. Otherwise the work joins the back of the pending queue (waiting for room, or
//!    failing fast, when the queue is bounded and full).
//! 3. When a worker reports a work over, its workload is released; if anything is
//!    pending, the queue is drained front-first while workers are available.
//! 4. Works cancelled while queued stay in the queue, resolved, and are skipped when they
//!    reach the front.
//!
//! Workloads only grow under the lock and only shrink outside it, so an availability
//! seen under the lock stays true until the claim. The pending count is published before
//! a queued work re-checks availability, and a finishing worker checks it after
//! releasing its workload, so no work is left waiting while a worker is free.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::Duration;

use crate::balancer::{LoadBalancer, WorkerView};
use crate::deadline::deadline_after;
use crate::deadlines::{Deadlines, DeferredTimer, Expiring, TimeOut};
use crate::error::panic_message;
use crate::gauge::Gauge;
use crate::stats::OutcomeCounters;
use crate::stats::Outcomes;
use crate::tracked::Tracked;
use crate::work_options::WorkOptions;
use crate::worker::{CloseMode, WorkId, Worker, WorkerInfo};
use crate::Error;

/// The pool accepts works.
pub(crate) const RUNNING: u8 = 0;
/// Intake stopped; queued and running works finish.
pub(crate) const DRAINING: u8 = 1;
/// The pool gave up: intake refused with [`Error::PoolBroken`].
pub(crate) const BROKEN: u8 = 2;

/// Whether a submit may wait for room in a bounded pending queue.
///
/// # Examples
///
/// ```
/// use aplex::backend::Admission;
///
/// // `submit` waits for room in a bounded queue; `try_submit` fails fast.
/// assert_ne!(Admission::Wait, Admission::FailFast);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Wait until the queue has room (or the pool shuts down).
    Wait,
    /// Fail at once with [`Error::QueueFull`].
    FailFast,
}

pub(crate) struct Pending<J> {
    job: J,
    tracked: Arc<dyn Tracked>,
    options: WorkOptions,
}

impl<J> Pending<J> {
    /// A queued work.
    pub(crate) fn new(job: J, tracked: Arc<dyn Tracked>, options: WorkOptions) -> Self {
        Pending {
            job,
            tracked,
            options,
        }
    }

    /// Resolves the queued work with `error`, then drops its job.
    pub(crate) fn fail(self, error: Error) {
        self.tracked.fail(error);
        drop_job(self.job);
    }
}

/// Drops a job that will never run (its work was cancelled while queued, or failed)
/// where a panic in its argument's `Drop` cannot take the thread down with it: whoever
/// drains the queue drops it, a worker reporting a work over among them, whose death
/// would break the pool. The panic is logged.
fn drop_job<J>(job: J) {
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(job)));
    if let Err(panic) = dropped {
        tracing::warn!(
            panic = %panic_message(&*panic),
            "aplex: a work that never ran panicked when its argument was dropped"
        );
    }
}

pub(crate) struct Queue<J> {
    balancer: Box<dyn LoadBalancer>,
    pub(crate) pending: VecDeque<Pending<J>>,
    /// Workers with dispatched jobs not yet flushed.
    staged: Vec<bool>,
}

pub(crate) struct Shared<W: Worker> {
    pub(crate) workers: OnceLock<Vec<W>>,
    pub(crate) infos: OnceLock<Vec<WorkerInfo>>,
    /// The workloads and the pending count (`gauge.rs`: the dispatch protocol).
    pub(crate) gauge: Gauge,
    /// Outcome counters by worker; an `Arc` of their own, as every work's cell holds one
    /// (sharing the pool's reference count would bounce it between submitter and workers).
    pub(crate) outcomes: Arc<Outcomes>,
    pub(crate) max_pending: Option<usize>,
    /// The most blocking works one worker runs at once (enforced by the worker).
    pub(crate) blocking_limit: usize,
    default_timeout: Option<Duration>,
    pub(crate) deadlines: Arc<Deadlines>,
    /// This shared state, weakly, for the timer to call back into.
    pub(crate) this: OnceLock<Weak<Shared<W>>>,
    pub(crate) queue: Mutex<Queue<W::Job>>,
    /// Signalled when the pending queue shrinks (bounded submits wait on it).
    pub(crate) room: Condvar,
    /// The same, for async submits (`Pool::submit_async`).
    pub(crate) room_async: tokio::sync::Notify,
    /// Signalled when the pending queue becomes empty (a draining shutdown waits on it).
    pub(crate) emptied: Condvar,
    /// Signalled, once intake has stopped, whenever works are over (a time-bounded
    /// shutdown waits on it for every worker to be idle).
    pub(crate) idled: Condvar,
    pub(crate) phase: AtomicU8,
    pub(crate) broken_reason: Mutex<Option<String>>,
    workers_closed: AtomicBool,
    next_id: AtomicU64,
}

impl<W: Worker> Shared<W> {
    pub(crate) fn new(
        pool_size: usize,
        max_works_per_worker: usize,
        max_pending: Option<usize>,
        blocking_limit: usize,
        default_timeout: Option<Duration>,
        balancer: Box<dyn LoadBalancer>,
    ) -> Self {
        Shared {
            workers: OnceLock::new(),
            infos: OnceLock::new(),
            gauge: Gauge::new(pool_size, max_works_per_worker),
            outcomes: Arc::new(Outcomes(
                (0..pool_size).map(|_| OutcomeCounters::default()).collect(),
            )),
            max_pending,
            blocking_limit,
            default_timeout,
            deadlines: Arc::new(Deadlines::default()),
            this: OnceLock::new(),
            queue: Mutex::new(Queue {
                balancer,
                pending: VecDeque::new(),
                staged: vec![false; pool_size],
            }),
            room: Condvar::new(),
            room_async: tokio::sync::Notify::new(),
            emptied: Condvar::new(),
            idled: Condvar::new(),
            phase: AtomicU8::new(RUNNING),
            broken_reason: Mutex::new(None),
            workers_closed: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
        }
    }

    /// Wakes every submit waiting for room in the pending queue, blocking or async.
    pub(crate) fn room_freed(&self) {
        self.room.notify_all();
        self.room_async.notify_waiters();
    }

    pub(crate) fn workers(&self) -> &[W] {
        self.workers.get().map_or(&[], Vec::as_slice)
    }

    pub(crate) fn lock_queue(&self) -> MutexGuard<'_, Queue<W::Job>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn is_running(&self) -> bool {
        self.phase.load(Ordering::SeqCst) == RUNNING
    }

    /// Stops intake with `stop` and takes every queued work, under one queue lock (so
    /// nothing more is dispatched, not even by a worker finishing meanwhile), and wakes
    /// whoever waits for room or for the queue to empty. The caller resolves the works.
    pub(crate) fn take_pending(&self, stop: impl FnOnce(&Self)) -> Vec<Pending<W::Job>> {
        let mut queue = self.lock_queue();
        stop(self);
        let taken = queue.pending.drain(..).collect();
        self.gauge.cleared();
        self.room_freed();
        self.emptied.notify_all();
        taken
    }

    /// Moves a running pool to draining (a broken one stays broken). Called with the
    /// queue lock held, so intake stops atomically with whatever the caller does next.
    pub(crate) fn stop_intake(&self) {
        let stopped = self
            .phase
            .compare_exchange(RUNNING, DRAINING, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if stopped {
            for worker in self.workers() {
                worker.shutdown_began();
            }
        }
    }

    /// The error a refused submission gets: shut down, or broken.
    pub(crate) fn refusal(&self) -> Error {
        if self.phase.load(Ordering::SeqCst) == BROKEN {
            let reason = self
                .broken_reason
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
                .unwrap_or_default();
            Error::PoolBroken { reason }
        } else {
            Error::ShutDown
        }
    }

    /// Admits one work, under the queue lock; `build` makes its job only once admitted.
    /// With `flush`, what this dispatched is sent at once; otherwise it waits for the
    /// caller's [`flush_staged`](Self::flush_staged) (a map refilling its window).
    pub(crate) fn admit(
        &self,
        tracked: Arc<dyn Tracked>,
        options: WorkOptions,
        admission: Admission,
        flush: bool,
        build: impl FnOnce() -> W::Job,
    ) -> Result<(), Error> {
        if options.timeout.is_some_and(|timeout| timeout.is_zero()) {
            return Err(Error::invalid_config(
                "timeout",
                "a work timeout must be longer than zero (or unset for the pool's default)",
            ));
        }
        let mut queue = self.lock_queue();
        if !self.is_running() {
            return Err(self.refusal());
        }
        if queue.pending.is_empty() && self.gauge.any_available() {
            self.dispatch(&mut queue, build(), tracked, &options);
            if flush {
                self.flush(&mut queue);
            }
            return Ok(());
        }
        if let Some(capacity) = self.max_pending {
            queue = self.wait_for_room(queue, capacity, admission)?;
        }
        queue.pending.push_back(Pending {
            job: build(),
            tracked,
            options,
        });
        self.gauge.queued();
        self.drain(&mut queue);
        if flush {
            self.flush(&mut queue);
        }
        Ok(())
    }

    /// Sends what was dispatched but not yet flushed.
    pub(crate) fn flush_staged(&self) {
        let mut queue = self.lock_queue();
        self.flush(&mut queue);
    }

    pub(crate) fn flush_locked(&self, queue: &mut Queue<W::Job>) {
        self.flush(queue);
    }

    fn flush(&self, queue: &mut Queue<W::Job>) {
        for (worker, staged) in queue.staged.iter_mut().enumerate() {
            if std::mem::take(staged) {
                self.workers()[worker].flush();
            }
        }
    }

    fn wait_for_room<'a>(
        &'a self,
        mut queue: MutexGuard<'a, Queue<W::Job>>,
        capacity: usize,
        admission: Admission,
    ) -> Result<MutexGuard<'a, Queue<W::Job>>, Error> {
        loop {
            if self.has_room(&mut queue, capacity) {
                return Ok(queue);
            }
            if admission == Admission::FailFast {
                return Err(Error::QueueFull { capacity });
            }
            // Room frees only as works finish: send what is staged first (a map's burst),
            // or the works that would free it might never reach a worker.
            self.flush(&mut queue);
            queue = self
                .room
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
            if !self.is_running() {
                return Err(self.refusal());
            }
        }
    }

    /// Whether a submit now may find room in the pending queue: it is unbounded or has
    /// room, or the pool has stopped taking works (the submit then gets the refusal).
    pub(crate) fn may_have_room(&self) -> bool {
        let Some(capacity) = self.max_pending else {
            return true;
        };
        if !self.is_running() {
            return true;
        }
        let mut queue = self.lock_queue();
        self.has_room(&mut queue, capacity)
    }

    /// Whether the pending queue holds fewer than `capacity` works, once entries
    /// resolved while queued are gone.
    fn has_room(&self, queue: &mut Queue<W::Job>, capacity: usize) -> bool {
        if queue.pending.len() >= capacity {
            self.purge_resolved(queue);
        }
        queue.pending.len() < capacity
    }

    fn purge_resolved(&self, queue: &mut Queue<W::Job>) {
        // Resolved entries were cancelled while queued, and uncounted then.
        if queue
            .pending
            .iter()
            .any(|pending| pending.tracked.is_resolved())
        {
            let capacity = queue.pending.capacity();
            let all = std::mem::replace(&mut queue.pending, VecDeque::with_capacity(capacity));
            for pending in all {
                if pending.tracked.is_resolved() {
                    drop_job(pending.job);
                } else {
                    queue.pending.push_back(pending);
                }
            }
        }
    }

    /// Dispatches queued works, front first, while some worker is available.
    pub(crate) fn drain(&self, queue: &mut Queue<W::Job>) {
        let mut popped = false;
        while let Some(front) = queue.pending.front() {
            if !front.tracked.is_resolved() && !self.gauge.any_available() {
                break;
            }
            let Some(pending) = queue.pending.pop_front() else {
                break;
            };
            popped = true;
            // A resolved entry was cancelled while queued, and uncounted then.
            if pending.tracked.is_resolved() {
                drop_job(pending.job);
            } else {
                self.gauge.dequeued();
                self.dispatch(queue, pending.job, pending.tracked, &pending.options);
            }
        }
        if popped {
            self.room_freed();
        }
        if queue.pending.is_empty() {
            self.emptied.notify_all();
            if !self.is_running() {
                self.close_workers(CloseMode::Drain);
            }
        }
    }

    /// Sends one work to the worker the balancer picks. Needs an available worker.
    fn dispatch(
        &self,
        queue: &mut Queue<W::Job>,
        job: W::Job,
        tracked: Arc<dyn Tracked>,
        options: &WorkOptions,
    ) {
        let infos = self.infos.get().map_or(&[][..], Vec::as_slice);
        let view = WorkerView::new(infos, self.gauge.workloads(), self.gauge.cap());
        // The balancer is user code: a panic in it fails this work, not the thread that
        // happens to dispatch (a submitter, or a worker reporting a work over).
        let meta = options.meta.as_deref();
        let balancer = &mut queue.balancer;
        let chosen = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            balancer.get_proper_worker(&view, meta)
        }));
        let mut worker = match chosen {
            Ok(worker) => worker,
            Err(panic) => {
                let message = format!("the load balancer panicked: {}", panic_message(&*panic));
                tracing::error!(%message, "aplex load balancer panicked; failing the work");
                tracked.fail(Error::Panicked { message });
                drop_job(job);
                return;
            }
        };
        if !view.is_available(worker) {
            worker = view.available_workers().next().unwrap_or(0);
        }
        let id = WorkId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let sink = Some(Arc::clone(&self.outcomes));
        if !tracked.start(worker, id, sink) {
            drop_job(job);
            return;
        }
        self.gauge.claim(worker);
        queue.staged[worker] = true;
        let timeout = options.timeout.or(self.default_timeout);
        // Only for a timed work: cloning the weak reference is an atomic write to the
        // pool's shared state, which every dispatching thread would contend for.
        let stopper: Option<Weak<dyn TimeOut>> = timeout
            .and_then(|_| self.this.get())
            .map(|this| this.clone() as _);
        if let (Some(timeout), Some(stopper)) = (timeout, &stopper) {
            if tracked.times_from_begin() {
                // Before the job leaves: it may begin at once on its worker.
                let timer = DeferredTimer {
                    timeout,
                    deadlines: Arc::clone(&self.deadlines),
                    stopper: stopper.clone(),
                };
                if let Some(timer) = tracked.defer_timeout(timer) {
                    timer.schedule(Arc::downgrade(&tracked) as Weak<dyn Expiring>);
                }
            }
        }
        if let Err(job) = self.workers()[worker].dispatch(id, job) {
            self.gauge.unclaim(worker);
            tracked.fail(Error::PoolBroken {
                reason: format!("worker {worker} is gone"),
            });
            drop_job(job);
            return;
        }
        if let (Some(timeout), Some(stopper)) = (timeout, stopper) {
            if !tracked.times_from_begin() {
                self.deadlines.schedule(
                    deadline_after(timeout),
                    Arc::downgrade(&tracked) as Weak<dyn Expiring>,
                    stopper,
                );
            }
        }
    }

    /// Tells every worker to stop; a draining close is sent once, an aborting one always.
    pub(crate) fn close_workers(&self, mode: CloseMode) {
        if mode == CloseMode::Drain && self.workers_closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.workers_closed.store(true, Ordering::SeqCst);
        for worker in self.workers() {
            worker.close(mode);
        }
    }
}
