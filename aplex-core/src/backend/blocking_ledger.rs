//! The blocking works a worker's loop has in flight, shared by the loop and its blocking
//! threads: each work's `finish` by id, and how many are alive.
//!
//! The blocking thread that ran a work takes its `finish` out, calls it with the output
//! and tells the pool the work is over itself — straight to the pool when the reporter
//! may be called anywhere ([`OnFinished::Anywhere`]), so a work's end costs no wake-up
//! of the loop; else it leaves a count and wakes the loop to report it. Whoever takes a
//! `finish` out — the thread that ran the work, or the loop giving its works up — tells
//! that work over: exactly once. A `finish` given up is dropped, and with it the work's
//! promise (its future resolves `Cancelled`), even while `run` is stuck on its thread.
//!
//! [`OnFinished::Anywhere`]: crate::backend::local::OnFinished::Anywhere

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use crate::backend::blocking_job::{Finish, Output};
use crate::backend::id_map::IdMap;
use crate::backend::on_finished::AnywhereReport;
use crate::worker::WorkId;

/// The blocking works in flight on one worker's loop.
pub(crate) struct BlockingLedger {
    finishes: Mutex<IdMap<WorkId, Finish>>,
    alive: AtomicUsize,
    /// The reporter, when the blocking threads may call it; `None`: the loop reports.
    report: Option<AnywhereReport>,
    /// Works over that the loop has yet to report (when `report` is `None`).
    unreported: AtomicUsize,
    /// Wakes the loop: works over for it to report, or none alive any more.
    pub(crate) wake: Notify,
    /// Set when the loop gives its works up: those still waiting for their turn never
    /// begin.
    skip: AtomicBool,
    /// Set when the loop waits for the last works to end: only then is it woken when
    /// none is alive any more.
    closing: AtomicBool,
}

impl BlockingLedger {
    /// A ledger whose works are reported by `report` from the blocking threads, or (when
    /// `None`) by the loop.
    pub(crate) fn new(report: Option<AnywhereReport>) -> Self {
        BlockingLedger {
            finishes: Mutex::new(IdMap::default()),
            alive: AtomicUsize::new(0),
            report,
            unreported: AtomicUsize::new(0),
            wake: Notify::new(),
            skip: AtomicBool::new(false),
            closing: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, IdMap<WorkId, Finish>> {
        self.finishes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records work `id`'s `finish`, before its `run` is queued.
    pub(crate) fn enter(&self, id: WorkId, finish: Finish) {
        self.alive.fetch_add(1, Ordering::SeqCst);
        self.lock().insert(id, finish);
    }

    /// Whether works not yet begun should be skipped (the loop gave them up).
    pub(crate) fn skipping(&self) -> bool {
        self.skip.load(Ordering::Acquire)
    }

    /// On the blocking thread, after work `id` ran: hands `output` to its `finish` (`None`,
    /// its `run` panicked: the `finish` is dropped) and tells the work over — unless the
    /// loop gave it up first, and told it then. A panic in `finish` (user code it
    /// reaches: a waker) fails only that work.
    pub(crate) fn complete(&self, id: WorkId, output: Option<Output>) {
        let finish = self.lock().remove(&id);
        let Some(finish) = finish else {
            return;
        };
        let _ = catch_unwind(AssertUnwindSafe(move || match output {
            Some(output) => finish(output),
            None => drop(finish),
        }));
        self.over(1);
    }

    /// Gives every work in flight up: drops their `finish`es, tells them over, and makes
    /// those not yet begun skip; returns how many there were.
    pub(crate) fn give_up_all(&self) -> usize {
        self.skip.store(true, Ordering::Release);
        let taken: Vec<Finish> = self.lock().drain().map(|(_, finish)| finish).collect();
        let count = taken.len();
        drop(taken);
        if count > 0 {
            self.over(count);
        }
        count
    }

    /// Works not begun yet never will: each resolves `Cancelled` and is told over when
    /// its turn comes (the loop was told to abort; those running go on).
    pub(crate) fn skip_unbegun(&self) {
        self.skip.store(true, Ordering::Release);
    }

    /// Works alive: entered and not yet told over.
    pub(crate) fn alive(&self) -> usize {
        self.alive.load(Ordering::SeqCst)
    }

    /// The loop is closing: wake it when the last work ends. (Set before the loop reads
    /// [`alive`](Self::alive), as a work's end lowers the count before it reads this:
    /// one of the two sees the other.)
    pub(crate) fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }

    /// The works over that the loop has yet to report, taken.
    pub(crate) fn take_unreported(&self) -> usize {
        self.unreported.swap(0, Ordering::AcqRel)
    }

    /// Tells `count` works over: to the pool, or to the loop to tell it. The pool hears
    /// before the count of alive works drops, so a loop that closes once none is alive
    /// has reported them all.
    fn over(&self, count: usize) {
        match &self.report {
            Some(report) => report(count),
            None => {
                self.unreported.fetch_add(count, Ordering::AcqRel);
            }
        }
        let before = self.alive.fetch_sub(count, Ordering::SeqCst);
        let last = before == count && self.closing.load(Ordering::SeqCst);
        if self.report.is_none() || last {
            self.wake.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{mpsc, Arc};
    use std::time::Duration;

    /// A `finish` that sends what it is handed.
    fn finish_into(sender: mpsc::Sender<u32>) -> Finish {
        Box::new(move |output| {
            if let Ok(value) = output.downcast::<u32>() {
                let _ = sender.send(*value);
            }
        })
    }

    /// A ledger whose reporter adds to a counter, callable anywhere.
    fn counted() -> (Arc<BlockingLedger>, Arc<AtomicUsize>) {
        let over = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&over);
        let report = Arc::new(move |count| {
            counter.fetch_add(count, Ordering::SeqCst);
        });
        (Arc::new(BlockingLedger::new(Some(report))), over)
    }

    #[test]
    fn the_thread_that_ran_a_work_finishes_it_and_tells_it_over() {
        let (ledger, over) = counted();
        let (sender, finished) = mpsc::channel();
        ledger.enter(WorkId(1), finish_into(sender));
        let on_thread = Arc::clone(&ledger);
        std::thread::spawn(move || on_thread.complete(WorkId(1), Some(Box::new(7u32))))
            .join()
            .unwrap();
        assert_eq!(finished.try_recv(), Ok(7));
        assert_eq!(over.load(Ordering::SeqCst), 1);
        assert_eq!(ledger.alive(), 0);
        assert_eq!(
            ledger.take_unreported(),
            0,
            "the reporter was told, not the loop"
        );
    }

    #[test]
    fn a_work_given_up_is_told_over_once_and_its_late_output_is_dropped() {
        let (ledger, over) = counted();
        let (sender, finished) = mpsc::channel();
        ledger.enter(WorkId(1), finish_into(sender));
        ledger.enter(WorkId(2), finish_into(mpsc::channel().0));
        assert_eq!(ledger.give_up_all(), 2);
        assert!(ledger.skipping(), "works not yet begun skip");
        assert_eq!(over.load(Ordering::SeqCst), 2);
        // The work that was stuck on its thread ends after all.
        ledger.complete(WorkId(1), Some(Box::new(7u32)));
        assert_eq!(over.load(Ordering::SeqCst), 2, "told over once");
        assert_eq!(ledger.alive(), 0);
        assert!(
            finished.try_recv().is_err(),
            "its finish was dropped, not called"
        );
    }

    #[test]
    fn a_panicked_run_drops_the_finish_and_still_tells_the_work_over() {
        let (ledger, over) = counted();
        let (sender, finished) = mpsc::channel();
        ledger.enter(WorkId(1), finish_into(sender));
        ledger.complete(WorkId(1), None);
        assert_eq!(
            finished.recv(),
            Err(mpsc::RecvError),
            "dropped, never called"
        );
        assert_eq!(over.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn without_a_reporter_the_loop_is_woken_to_tell_the_works_over() {
        let ledger = Arc::new(BlockingLedger::new(None));
        ledger.enter(WorkId(1), finish_into(mpsc::channel().0));
        ledger.enter(WorkId(2), finish_into(mpsc::channel().0));
        ledger.complete(WorkId(1), Some(Box::new(1u32)));
        ledger.complete(WorkId(2), Some(Box::new(2u32)));
        assert_eq!(ledger.take_unreported(), 2);
        assert_eq!(ledger.take_unreported(), 0);
        // The wake-up is stored for the loop's next wait.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let woken = runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(30), ledger.wake.notified()).await
        });
        assert!(woken.is_ok());
    }
}
