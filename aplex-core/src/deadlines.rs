//! `Deadlines`: the pool's timer for per-work timeouts.
//!
//! 1. A work with a timeout is scheduled when it is dispatched, keyed by its deadline.
//! 2. One thread per pool, started on first use, sleeps until the earliest deadline.
//! 3. At a deadline, the work is resolved [`Error::TimedOut`](crate::Error::TimedOut) if it
//!    has no outcome yet (first outcome wins), and its worker is told to stop it: an async
//!    work is aborted, a blocking one left to finish unless the backend kills its worker.
//!    A backend that cannot be sure the abort lands (a process whose work never yields)
//!    asks for a follow-up: the timer calls it back once a grace period has passed, and
//!    the backend checks whether the work is still there.
//! 4. Finished works are forgotten: the heap holds weak references, and whenever it has
//!    doubled since it was last pruned, entries of works already over are dropped. So the
//!    timer costs memory for the works in flight, not for every work ever timed.
//! 5. The thread is stopped and joined when the pool shuts down.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::deadline::deadline_after;
use crate::worker::WorkId;

/// Entries kept before the first prune.
const PRUNE_FLOOR: usize = 1024;

/// What the timer needs of a work: whether it is over, and to time it out.
pub(crate) trait Expiring: Send + Sync {
    /// Whether the work already has an outcome.
    fn is_resolved(&self) -> bool;
    /// The work ran out of time: resolves it [`Error::TimedOut`](crate::Error::TimedOut)
    /// unless it already has an outcome, and returns where it runs and whether it can be
    /// aborted.
    fn expire(&self) -> Option<(usize, WorkId, bool)>;
}

/// A timeout waiting for its work to begin.
pub(crate) struct DeferredTimer {
    pub(crate) timeout: Duration,
    pub(crate) deadlines: Arc<Deadlines>,
    pub(crate) stopper: Weak<dyn TimeOut>,
}

impl DeferredTimer {
    /// Starts the timeout of `work` now.
    pub(crate) fn schedule(self, work: Weak<dyn Expiring>) {
        self.deadlines
            .schedule(deadline_after(self.timeout), work, self.stopper);
    }
}

/// What the timer calls to stop a work that ran out of time.
pub(crate) trait TimeOut: Send + Sync {
    /// Work `id` on `worker` ran out of time; a returned grace asks for
    /// [`overdue`](Self::overdue) once it has passed.
    fn time_out(&self, worker: usize, id: WorkId, abortable: bool) -> Option<Duration>;
    /// The grace asked for by [`time_out`](Self::time_out) has passed.
    fn overdue(&self, worker: usize, id: WorkId);
}

/// What comes due.
enum Due {
    /// A work's timeout.
    Work(Weak<dyn Expiring>),
    /// A backend's follow-up on a timed-out work.
    FollowUp { worker: usize, id: WorkId },
}

struct Entry {
    at: Instant,
    seq: u64,
    due: Due,
}

impl Entry {
    /// Whether the entry can still do something when it comes due.
    fn is_live(&self) -> bool {
        match &self.due {
            Due::Work(work) => work.upgrade().is_some_and(|work| !work.is_resolved()),
            Due::FollowUp { .. } => true,
        }
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct State {
    heap: BinaryHeap<Reverse<Entry>>,
    next_seq: u64,
    stopped: bool,
    /// Prune when the heap grows past this.
    prune_at: usize,
}

impl Default for State {
    fn default() -> Self {
        State {
            heap: BinaryHeap::new(),
            next_seq: 0,
            stopped: false,
            prune_at: PRUNE_FLOOR,
        }
    }
}

impl State {
    /// Drops the entries of works already over; the next prune waits for the heap to
    /// double again, so pruning costs O(1) per scheduled work.
    fn prune(&mut self) {
        let entries = std::mem::take(&mut self.heap).into_vec();
        self.heap = entries
            .into_iter()
            .filter(|Reverse(entry)| entry.is_live())
            .collect();
        self.prune_at = (self.heap.len() * 2).max(PRUNE_FLOOR);
    }
}

/// The per-pool timer; see the module docs.
#[derive(Default)]
pub(crate) struct Deadlines {
    state: Mutex<State>,
    changed: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Deadlines {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Times `work` out at `at`, via `stopper`.
    pub(crate) fn schedule(
        self: &Arc<Self>,
        at: Instant,
        work: Weak<dyn Expiring>,
        stopper: Weak<dyn TimeOut>,
    ) {
        self.push(at, Due::Work(work), stopper);
    }

    fn push(self: &Arc<Self>, at: Instant, due: Due, stopper: Weak<dyn TimeOut>) {
        let mut state = self.lock();
        if state.stopped {
            return;
        }
        if state.heap.len() >= state.prune_at {
            state.prune();
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        let earliest = state.heap.peek().is_none_or(|Reverse(first)| at < first.at);
        state.heap.push(Reverse(Entry { at, seq, due }));
        drop(state);
        self.ensure_thread(stopper);
        if earliest {
            self.changed.notify_one();
        }
    }

    /// How many entries the timer holds (finished works not yet pruned included).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().heap.len()
    }

    fn ensure_thread(self: &Arc<Self>, stopper: Weak<dyn TimeOut>) {
        let mut thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner);
        if thread.is_none() {
            let deadlines = Arc::clone(self);
            *thread = std::thread::Builder::new()
                .name("aplex-deadlines".into())
                .spawn(move || deadlines.run(stopper))
                .ok();
        }
    }

    fn run(self: Arc<Self>, stopper: Weak<dyn TimeOut>) {
        let mut state = self.lock();
        loop {
            if state.stopped {
                return;
            }
            let now = Instant::now();
            let due = state.heap.peek().map(|Reverse(first)| first.at);
            match due {
                None => {
                    state = self
                        .changed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Some(at) if at > now => {
                    state = self
                        .changed
                        .wait_timeout(state, at - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                Some(_) => {
                    let Some(Reverse(entry)) = state.heap.pop() else {
                        continue;
                    };
                    drop(state);
                    // Firing reaches user code (a waiter's waker, the drop of a work's
                    // output): a panic there must not end the timer of every later work.
                    let fired = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        self.fire(entry, &stopper);
                    }));
                    if let Err(panic) = fired {
                        let message = crate::error::panic_message(&*panic);
                        tracing::error!(%message, "aplex: user code panicked when a work timed out");
                    }
                    state = self.lock();
                }
            }
        }
    }

    fn fire(self: &Arc<Self>, entry: Entry, stopper: &Weak<dyn TimeOut>) {
        let Some(timer) = stopper.upgrade() else {
            return;
        };
        match entry.due {
            Due::Work(work) => {
                let Some((worker, id, abortable)) = work.upgrade().and_then(|work| work.expire())
                else {
                    return;
                };
                tracing::warn!(worker, work = %id, abortable, "aplex work timed out");
                if let Some(grace) = timer.time_out(worker, id, abortable) {
                    let follow_up = Due::FollowUp { worker, id };
                    self.push(deadline_after(grace), follow_up, stopper.clone());
                }
            }
            Due::FollowUp { worker, id } => timer.overdue(worker, id),
        }
    }

    /// Stops the timer thread and joins it.
    pub(crate) fn stop(&self) {
        self.lock().stopped = true;
        self.changed.notify_all();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::future::WorkFuture;

    struct Ignore;

    impl TimeOut for Ignore {
        fn time_out(&self, _: usize, _: WorkId, _: bool) -> Option<Duration> {
            None
        }
        fn overdue(&self, _: usize, _: WorkId) {}
    }

    #[test]
    fn finished_works_are_pruned_long_before_their_deadlines() {
        let deadlines = Arc::new(Deadlines::default());
        let stopper: Arc<dyn TimeOut> = Arc::new(Ignore);
        let far = Instant::now() + Duration::from_secs(3600);
        for _ in 0..100_000 {
            let (promise, future) = WorkFuture::<u8>::pair(true);
            let tracked = future.tracked();
            let work = Arc::downgrade(&tracked) as Weak<dyn Expiring>;
            deadlines.schedule(far, work, Arc::downgrade(&stopper));
            promise.complete(Ok(1));
            drop(future);
        }
        assert!(
            deadlines.len() <= 2 * PRUNE_FLOOR,
            "{} entries kept for finished works",
            deadlines.len()
        );
        deadlines.stop();
    }

    #[test]
    fn works_still_running_are_kept() {
        let deadlines = Arc::new(Deadlines::default());
        let stopper: Arc<dyn TimeOut> = Arc::new(Ignore);
        let far = Instant::now() + Duration::from_secs(3600);
        let running: Vec<_> = (0..5_000)
            .map(|_| {
                let (promise, future) = WorkFuture::<u8>::pair(true);
                let work = Arc::downgrade(&future.tracked()) as Weak<dyn Expiring>;
                deadlines.schedule(far, work, Arc::downgrade(&stopper));
                (promise, future)
            })
            .collect();
        assert_eq!(deadlines.len(), running.len());
        deadlines.stop();
    }
}
