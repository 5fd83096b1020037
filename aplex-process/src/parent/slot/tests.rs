//! A slot's own rules, without a process: a work whose cancel reached the slot before the
//! work did is refused when it comes (it had run in the child though `cancel()` had said
//! `true`), and a late cancel of a work long over refuses nothing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aplex_core::backend::{future_pair, WorkerEvents};
use aplex_core::registry::framed::encode_each;

use super::Slot;
use crate::parent::context::PoolContext;
use crate::parent::crash_limit::{CrashLimit, CrashWindow};
use crate::parent::job::{single_job, ProcessJob};
use crate::protocol::payload::Payload;
use crate::protocol::wire::StartSettings;
use crate::RuntimeConfig;

/// Counts the works the slot reports over.
#[derive(Default)]
struct Finished(AtomicUsize);

impl WorkerEvents for Finished {
    fn work_finished(&self, _worker: usize) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn pool_broken(&self, _reason: String) {}
}

/// A slot with no process attached (what it is dispatched waits in its outbox).
fn slot() -> (Slot, Arc<Finished>) {
    let finished = Arc::new(Finished::default());
    let context = PoolContext {
        start: StartSettings {
            runtime: RuntimeConfig::default(),
            blocking_limit: 1,
            state: None,
            worker: 0,
            forward_events: None,
            shared_threshold: usize::MAX,
        },
        start_timeout: Duration::from_secs(1),
        crashes: CrashWindow::new(CrashLimit::default()),
        kill_on_timeout: false,
        max_works_per_child: None,
        initializer: None,
    };
    // No process: a pid no process has.
    let slot = Slot::new(0, finished.clone(), Arc::new(context), u32::MAX);
    (slot, finished)
}

/// An async work's job.
fn job(x: u64) -> ProcessJob {
    let (promise, _future) = future_pair::<u64>(true);
    let args = Payload::new(encode_each([x], "w", "arguments").0);
    single_job::<u64, crate::ProcessWorker>(7, "w", args, promise, None, false)
}

#[test]
fn a_work_cancelled_before_it_reaches_the_slot_is_refused_and_never_sent() {
    let (slot, finished) = slot();
    assert!(slot.dispatch(4, job(4)).is_ok(), "dispatched");
    // The cancel of work 5 comes first: nothing of it is here to stop.
    slot.cancel(5);
    assert!(slot.dispatch(5, job(5)).is_err(), "refused");
    slot.flush();
    let waiting = slot.lock().outbox.len();
    assert_eq!(waiting, 1, "only work 4 waits to be sent");
    assert_eq!(
        finished.0.load(Ordering::SeqCst),
        0,
        "a refused work is not reported over: the executor takes its claim back"
    );
    // The next work is not refused.
    assert!(slot.dispatch(6, job(6)).is_ok());
}

#[test]
fn a_late_cancel_of_a_work_already_over_refuses_nothing() {
    let (slot, _finished) = slot();
    assert!(slot.dispatch(3, job(3)).is_ok(), "dispatched");
    assert!(slot.dispatch(4, job(4)).is_ok(), "dispatched");
    // Work 2 went elsewhere or is long over: its cancel finds nothing, and must not
    // stand for a later work.
    slot.cancel(2);
    assert!(slot.dispatch(5, job(5)).is_ok());
    assert!(slot.dispatch(6, job(6)).is_ok());
}
