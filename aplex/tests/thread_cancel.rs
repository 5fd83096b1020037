//! Cancelling on the thread pool, beyond the shared suite (`pool_suite/cancel.rs`): a
//! running async work is dropped at its next await, a queued blocking work can be
//! cancelled, a result timeout leaves the work running, and a cancelled queued work whose
//! argument panics when dropped harms no other work.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use aplex::{Clock, Error, ThreadAsyncPoolExecutor};
use std::time::Duration;

use common::{wait_until, within, BlockingGate, DropCounter, Gate};

fn single_slot_pool() -> ThreadAsyncPoolExecutor {
    ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .max_works_per_worker(1)
        .build()
        .unwrap()
}

#[test]
fn a_running_async_work_is_dropped_at_its_next_await() {
    let pool = single_slot_pool();
    let dropped = Arc::new(AtomicUsize::new(0));
    let reached_end = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let (d, end, s) = (
        Arc::clone(&dropped),
        Arc::clone(&reached_end),
        Arc::clone(&started),
    );
    let running = pool.submit(
        move |()| async move {
            let _guard = DropCounter(d);
            s.store(true, Ordering::SeqCst);
            std::future::pending::<()>().await;
            end.store(true, Ordering::SeqCst);
        },
        (),
    );
    wait_until("the work's body is running", || {
        started.load(Ordering::SeqCst)
    });
    assert!(running.cancel());
    wait_until("the work's future is dropped on the worker", || {
        dropped.load(Ordering::SeqCst) == 1
    });
    wait_until("its slot is released", || pool.workloads() == [0]);
    assert!(!reached_end.load(Ordering::SeqCst));
    assert_eq!(running.result(), Err(Error::Cancelled));
    assert_eq!(
        pool.submit(|x: u8| async move { x }, 3).result(),
        Ok(3),
        "the worker still serves"
    );
}

#[test]
fn a_queued_blocking_work_can_be_cancelled() {
    let pool = single_slot_pool();
    let gate = Gate::new();
    let g = gate.clone();
    let blocker = pool.submit(move |()| async move { g.pass().await }, ());
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    let queued = pool.submit(
        aplex::blocking(move |()| flag.store(true, Ordering::SeqCst)),
        (),
    );
    assert!(queued.cancel());
    gate.open();
    blocker.result().unwrap();
    pool.submit(aplex::blocking(|()| ()), ()).result().unwrap();
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn a_result_timeout_leaves_the_work_running() {
    let pool = single_slot_pool();
    let gate = Gate::new();
    let g = gate.clone();
    let future = pool.submit(
        move |x: u8| async move {
            g.pass().await;
            x
        },
        9,
    );
    assert!(!future
        .wait_timeout(std::time::Duration::from_millis(10))
        .unwrap());
    gate.open();
    assert_eq!(future.result(), Ok(9));
    let never = pool.submit(|()| std::future::pending::<()>(), ());
    assert_eq!(
        never.result_timeout(std::time::Duration::from_millis(10)),
        Err(Error::TimedOut { clock: Clock::Wait })
    );
}

#[test]
fn a_blocking_work_waiting_for_its_turn_on_its_worker_can_be_cancelled() {
    // One blocking work at a time per worker (the default): the second waits on the
    // worker, dispatched but not begun.
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    let gate = BlockingGate::new();
    let (started, ran) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let first = {
        let (gate, started) = (gate.clone(), Arc::clone(&started));
        pool.submit(
            aplex::blocking(move |()| {
                started.store(true, Ordering::SeqCst);
                gate.pass();
            }),
            (),
        )
    };
    wait_until("the first blocking work runs", || {
        started.load(Ordering::SeqCst)
    });
    let waiting = {
        let ran = Arc::clone(&ran);
        pool.submit(
            aplex::blocking(move |()| ran.store(true, Ordering::SeqCst)),
            (),
        )
    };
    assert_eq!(pool.pending(), 0, "dispatched: it waits on the worker");
    assert!(waiting.cancel(), "not begun, so still cancellable");
    gate.open();
    first.result().unwrap();
    pool.shutdown(true);
    assert_eq!(waiting.result(), Err(Error::Cancelled));
    assert!(!ran.load(Ordering::SeqCst), "the cancelled work ran");
}

/// An argument that panics when it is dropped.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("an argument that panics when dropped");
    }
}

#[test]
fn a_cancelled_queued_works_argument_that_panics_when_dropped_harms_no_other_work() {
    within(Duration::from_secs(60), || {
        let pool = single_slot_pool();
        let gate = Gate::new();
        let g = gate.clone();
        let blocker = pool.submit(move |()| async move { g.pass().await }, ());
        let before = pool.submit(|x: u8| async move { x }, 1);
        let doomed = pool.submit(|_: PanicsOnDrop| async {}, PanicsOnDrop);
        let after = pool.submit(|x: u8| async move { x }, 2);
        // Not at the front: it is dropped when the worker, done with the blocker,
        // reaches it in the queue.
        assert!(doomed.cancel());
        gate.open();
        assert_eq!(
            (blocker.result(), before.result(), after.result()),
            (Ok(()), Ok(1), Ok(2))
        );
        assert_eq!(doomed.result(), Err(Error::Cancelled));
        assert_eq!(pool.submit(|x: u8| async move { x }, 3).result(), Ok(3));
    });
}

#[test]
fn a_cancelled_running_work_that_panics_when_dropped_harms_no_other_work() {
    within(Duration::from_secs(60), || {
        let pool = single_slot_pool();
        let started = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&started);
        let doomed = pool.submit(
            move |guard: PanicsOnDrop| async move {
                let _guard = guard;
                s.store(true, Ordering::SeqCst);
                std::future::pending::<()>().await;
            },
            PanicsOnDrop,
        );
        wait_until("the work runs", || started.load(Ordering::SeqCst));
        // Aborted on the worker: its future, and the guard in it, are dropped there.
        assert!(doomed.cancel());
        assert_eq!(doomed.result(), Err(Error::Cancelled));
        assert_eq!(pool.submit(|x: u8| async move { x }, 3).result(), Ok(3));
    });
}
