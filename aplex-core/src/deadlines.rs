//! `Deadlines`: the pool's timer for per-work timeouts.
//!
//! 1. A work with a timeout is scheduled when it is dispatched, keyed by its deadline.
//! 2. One thread per pool, started on first use, sleeps until the earliest deadline.
//! 3. At a deadline, the work is resolved [`Error::TimedOut`] if it has no outcome yet
//!    (first outcome wins), and its worker is told to stop it: an async work is
//!    aborted, a blocking one left to finish unless the backend kills its worker.
//! 4. The thread is stopped and joined when the pool shuts down.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::future::Tracked;
use crate::worker::WorkId;

/// What the timer calls to stop a work that ran out of time.
pub(crate) trait TimeOut: Send + Sync {
    fn time_out(&self, worker: usize, id: WorkId, abortable: bool);
}

struct Entry {
    at: Instant,
    seq: u64,
    work: Weak<dyn Tracked>,
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

#[derive(Default)]
struct State {
    heap: BinaryHeap<Reverse<Entry>>,
    next_seq: u64,
    stopped: bool,
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
        work: &Arc<dyn Tracked>,
        stopper: Weak<dyn TimeOut>,
    ) {
        let mut state = self.lock();
        if state.stopped {
            return;
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        let earliest = state.heap.peek().is_none_or(|Reverse(first)| at < first.at);
        state.heap.push(Reverse(Entry {
            at,
            seq,
            work: Arc::downgrade(work),
        }));
        drop(state);
        self.ensure_thread(stopper);
        if earliest {
            self.changed.notify_one();
        }
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

    fn run(&self, stopper: Weak<dyn TimeOut>) {
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
                    expire(&entry, &stopper);
                    state = self.lock();
                }
            }
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
            let _ = thread.join();
        }
    }
}

fn expire(entry: &Entry, stopper: &Weak<dyn TimeOut>) {
    let Some(work) = entry.work.upgrade() else {
        return;
    };
    if let Some((worker, id, abortable)) = work.expire() {
        if let Some(stopper) = stopper.upgrade() {
            stopper.time_out(worker, id, abortable);
        }
    }
}
