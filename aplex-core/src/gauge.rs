//! `Gauge`: the counters the dispatch protocol rests on — each worker's workload, capped
//! at `max_works_per_worker`, and the pending queue's length — and the two rules that
//! keep a work from waiting while a worker is free:
//!
//! 1. A workload grows only under the queue lock ([`claim`](Gauge::claim) is called
//!    from `dispatch`, which holds it), so two dispatchers never both take a worker's
//!    last place.
//! 2. A work is queued under the lock, its count raised, and the queue then drained
//!    while a worker is available. A worker finishing lowers its workload first and then
//!    reads the count; if works wait, it takes the lock and drains. With both sides
//!    sequentially consistent, either the queuer sees the freed place or the finisher
//!    sees the queued work — never neither.
//!
//! Both are model-checked with loom (`loom_tests.rs`; `cargo xtask loom`). Loom does not
//! model the single total order of `SeqCst` operations (tokio-rs/loom#180: it finds the
//! store-buffering outcome this protocol rules out), but it does model `SeqCst` fences;
//! so in its build a fence stands between the two steps of each side (`seq_cst_point`),
//! which gives loom exactly the guarantee the `SeqCst` operations give the real program.

use crate::sync::{AtomicUsize, Ordering};

/// The workload of a worker that is gone for good: never below any cap, so it is never
/// chosen again (releases of its works only subtract from it).
pub(crate) const GONE: usize = usize::MAX / 2;

/// Between the write and the read of each side of rule 2: nothing in the real program,
/// whose `SeqCst` operations are totally ordered already; a `SeqCst` fence for loom,
/// which models fences but not that order.
#[inline(always)]
fn seq_cst_point() {
    #[cfg(aplex_loom)]
    loom::sync::atomic::fence(Ordering::SeqCst);
}

/// Per-worker workloads and the pending queue's length.
pub(crate) struct Gauge {
    workloads: Box<[AtomicUsize]>,
    pending: AtomicUsize,
    cap: usize,
}

impl Gauge {
    pub(crate) fn new(workers: usize, cap: usize) -> Self {
        Gauge {
            workloads: (0..workers).map(|_| AtomicUsize::new(0)).collect(),
            pending: AtomicUsize::new(0),
            cap,
        }
    }

    /// The raw workload counters, by worker (what a balancer's view reads).
    pub(crate) fn workloads(&self) -> &[AtomicUsize] {
        &self.workloads
    }

    /// The workload to show for `worker` (a gone worker has none).
    pub(crate) fn shown(&self, worker: usize) -> usize {
        let raw = self.workloads[worker].load(Ordering::SeqCst);
        if raw >= GONE / 2 {
            0
        } else {
            raw
        }
    }

    /// The most works one worker runs at once.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// Whether some worker is below the cap.
    pub(crate) fn any_available(&self) -> bool {
        self.workloads
            .iter()
            .any(|load| load.load(Ordering::SeqCst) < self.cap)
    }

    /// `worker` takes one more work. Only under the queue lock (rule 1).
    pub(crate) fn claim(&self, worker: usize) {
        self.workloads[worker].fetch_add(1, Ordering::SeqCst);
    }

    /// Gives back a place taken by [`claim`](Self::claim) for a work that never
    /// reached its worker.
    pub(crate) fn unclaim(&self, worker: usize) {
        self.workloads[worker].fetch_sub(1, Ordering::SeqCst);
    }

    /// `worker` finished `count` works; true if works wait, so the caller must take the
    /// queue lock and drain (rule 2).
    pub(crate) fn finish(&self, worker: usize, count: usize) -> bool {
        self.workloads[worker].fetch_sub(count, Ordering::SeqCst);
        seq_cst_point();
        self.pending.load(Ordering::SeqCst) > 0
    }

    /// `worker` is gone for good; true if every worker now is.
    pub(crate) fn retire(&self, worker: usize) -> bool {
        self.workloads[worker].fetch_add(GONE, Ordering::SeqCst);
        self.workloads
            .iter()
            .all(|load| load.load(Ordering::SeqCst) >= GONE / 2)
    }

    /// A work joined the pending queue (under the queue lock); the caller then drains,
    /// reading the workloads (rule 2).
    pub(crate) fn queued(&self) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        seq_cst_point();
    }

    /// A work left the pending queue (under the queue lock).
    pub(crate) fn dequeued(&self) {
        self.pending.fetch_sub(1, Ordering::SeqCst);
    }

    /// The pending queue was emptied at once (under the queue lock).
    pub(crate) fn cleared(&self) {
        self.pending.store(0, Ordering::SeqCst);
    }

    /// How many works wait in the pending queue.
    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }
}
