//! Cancelling works on the thread pool: queued works never run, running async works are
//! dropped at their next await, running blocking works cannot be stopped, and a finished
//! work cannot be cancelled.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use aplex::{Error, ThreadAsyncPoolExecutor};
use common::{wait_until, BlockingGate, DropCounter, Gate};

fn single_slot_pool() -> ThreadAsyncPoolExecutor {
    ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .max_works_per_worker(1)
        .build()
        .unwrap()
}

#[test]
fn a_queued_work_resolves_cancelled_and_never_runs() {
    let pool = single_slot_pool();
    let gate = Gate::new();
    let g = gate.clone();
    let blocker = pool.submit(move |()| async move { g.pass().await }, ());
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    let queued = pool.submit(
        move |()| async move { flag.store(true, Ordering::SeqCst) },
        (),
    );
    assert_eq!(pool.pending(), 1);
    assert!(!queued.running());
    assert!(queued.cancel());
    assert!(queued.cancelled());
    assert!(queued.done());
    gate.open();
    blocker.result().unwrap();
    // A later work on the same worker runs after the cancelled one would have.
    pool.submit(|()| async {}, ()).result().unwrap();
    assert!(
        !ran.load(Ordering::SeqCst),
        "a cancelled queued work must never run"
    );
    assert_eq!(queued.result(), Err(Error::Cancelled));
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
fn a_running_blocking_work_is_not_cancelled_and_its_result_arrives() {
    let pool = single_slot_pool();
    let gate = BlockingGate::new();
    let started = Arc::new(AtomicBool::new(false));
    let (g, s) = (gate.clone(), Arc::clone(&started));
    let running = pool.submit(
        aplex::blocking(move |x: u32| {
            s.store(true, Ordering::SeqCst);
            g.pass();
            x + 1
        }),
        41,
    );
    wait_until("the blocking work is running", || {
        started.load(Ordering::SeqCst)
    });
    assert!(
        !running.cancel(),
        "a running blocking work cannot be cancelled"
    );
    assert!(!running.cancelled());
    gate.open();
    assert_eq!(running.result(), Ok(42));
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
fn cancel_after_completion_returns_false() {
    let pool = single_slot_pool();
    let future = pool.submit(|x: u8| async move { x }, 5);
    assert!(future.wait_timeout(common::PATIENCE).unwrap());
    assert!(!future.cancel());
    assert!(!future.cancelled());
    assert_eq!(future.result(), Ok(5));
}

#[test]
fn cancel_twice_returns_true_then_false() {
    let pool = single_slot_pool();
    let future = pool.submit(|()| std::future::pending::<()>(), ());
    assert!(future.cancel());
    assert!(!future.cancel());
    assert_eq!(future.result(), Err(Error::Cancelled));
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
        Err(Error::TimedOut)
    );
}
