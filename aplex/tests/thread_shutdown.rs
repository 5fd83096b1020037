//! Shutting the thread pool down, beyond the shared suite (`pool_suite/shutdown.rs`):
//! running blocking works are waited for, a submit waiting for room is refused, and a
//! work that shuts its own pool down does not wait for itself.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aplex::{Error, ThreadAsyncPoolExecutor};
use common::{wait_until, within, BlockingGate, Gate};

fn pool(prefix: &str, size: usize, cap: usize) -> ThreadAsyncPoolExecutor {
    ThreadAsyncPoolExecutor::builder()
        .pool_size(size)
        .max_works_per_worker(cap)
        .thread_name_prefix(prefix)
        .build()
        .unwrap()
}

#[test]
fn shutdown_now_waits_for_running_blocking_works() {
    let pool = pool("nowblk-", 1, 2);
    let gate = BlockingGate::new();
    let started = Arc::new(AtomicUsize::new(0));
    let (g, s) = (gate.clone(), Arc::clone(&started));
    let blocking = pool.submit(
        aplex::blocking(move |x: u8| {
            s.fetch_add(1, Ordering::SeqCst);
            g.pass();
            x
        }),
        4,
    );
    wait_until("the blocking work runs", || {
        started.load(Ordering::SeqCst) == 1
    });
    let opener = std::thread::spawn(move || gate.open());
    pool.shutdown_now();
    opener.join().unwrap();
    assert_eq!(blocking.result(), Ok(4));
}

#[test]
fn a_submit_waiting_for_queue_room_is_refused_by_shutdown() {
    let pool = Arc::new(
        ThreadAsyncPoolExecutor::builder()
            .pool_size(1)
            .max_works_per_worker(1)
            .max_pending(1)
            .build()
            .unwrap(),
    );
    let gate = Gate::new();
    let g = gate.clone();
    let running = pool.submit(move |()| async move { g.pass().await }, ());
    let queued = pool.submit(|()| async {}, ());
    let waiter = {
        let pool = Arc::clone(&pool);
        std::thread::spawn(move || pool.submit(|x: u8| async move { x }, 1).result())
    };
    wait_until("the submit is blocked on a full queue", || {
        pool.pending() == 1
    });
    let shutter = {
        let pool = Arc::clone(&pool);
        std::thread::spawn(move || pool.shutdown_now())
    };
    let outcome = waiter.join().unwrap();
    assert!(
        matches!(outcome, Err(Error::ShutDown) | Ok(1)),
        "the waiting submit either got in before shutdown or was refused: {outcome:?}"
    );
    // shutdown_now aborts the gated work itself; the gate is opened only afterwards.
    shutter.join().unwrap();
    gate.open();
    assert_eq!(running.result(), Err(Error::Cancelled));
    assert_eq!(queued.result(), Err(Error::Cancelled));
}

#[test]
fn a_work_that_shuts_its_own_pool_down_does_not_wait_for_itself() {
    within(std::time::Duration::from_secs(60), || {
        let pool = Arc::new(pool("self-stop", 2, 4));
        let inner = Arc::clone(&pool);
        let stopper = pool.submit(
            move |()| {
                let inner = Arc::clone(&inner);
                async move {
                    // Waiting here for the drain would wait for this very work.
                    inner.shutdown(true);
                    7
                }
            },
            (),
        );
        assert_eq!(stopper.result(), Ok(7));
        assert!(pool.is_shut_down());
        assert_eq!(
            pool.submit(|x: u8| async move { x }, 1).result(),
            Err(Error::ShutDown)
        );
        pool.shutdown(true);
    });
}

#[test]
fn a_blocking_work_that_shuts_its_own_pool_down_does_not_wait_for_itself() {
    within(std::time::Duration::from_secs(60), || {
        let pool = Arc::new(pool("self-stop-blocking", 1, 4));
        let inner = Arc::clone(&pool);
        let stopper = pool.submit(
            aplex::blocking(move |()| {
                // On a blocking thread of this pool: the drain would wait for this work.
                inner.shutdown(true);
                7
            }),
            (),
        );
        assert_eq!(stopper.result(), Ok(7));
        assert!(pool.is_shut_down());
        pool.shutdown(true);
    });
}
