//! Shutting the thread pool down: draining, cancelling, refusing later works, and
//! joining every worker thread.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aplex::{Error, ThreadAsyncPoolExecutor};
use common::{threads_named, wait_until, BlockingGate, DropCounter, Gate};

fn pool(prefix: &str, size: usize, cap: usize) -> ThreadAsyncPoolExecutor {
    ThreadAsyncPoolExecutor::builder()
        .pool_size(size)
        .max_works_per_worker(cap)
        .thread_name_prefix(prefix)
        .build()
        .unwrap()
}

#[test]
fn shutdown_wait_drains_queued_and_running_works_then_joins_every_thread() {
    let pool = pool("drain-", 2, 1);
    assert_eq!(threads_named("drain-"), 2);
    let futures: Vec<_> = (0..10u64)
        .map(|x| {
            pool.submit(
                |x: u64| async move {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    x * 10
                },
                x,
            )
        })
        .collect();
    let blocking = pool.submit(aplex::blocking(|x: u64| x + 1), 1);
    assert!(
        pool.pending() > 0,
        "some works are still queued when shutdown starts"
    );
    pool.shutdown(true);
    assert!(
        futures.iter().all(|f| f.done()),
        "shutdown(true) returns after every work"
    );
    // A joined thread's /proc entry can outlive the join by a moment.
    wait_until("every worker thread is gone", || {
        threads_named("drain-") == 0
    });
    let results: Vec<u64> = futures.into_iter().map(|f| f.result().unwrap()).collect();
    assert_eq!(results, (0..10).map(|x| x * 10).collect::<Vec<_>>());
    assert_eq!(blocking.result(), Ok(2));
}

#[test]
fn shutdown_without_wait_returns_at_once_and_still_finishes_everything() {
    let pool = pool("nowait-", 1, 1);
    let gate = Gate::new();
    let futures: Vec<_> = (0..5u8)
        .map(|x| {
            let gate = gate.clone();
            pool.submit(
                move |x: u8| async move {
                    gate.pass().await;
                    x
                },
                x,
            )
        })
        .collect();
    pool.shutdown(false);
    assert!(pool.is_shut_down());
    assert_eq!(
        pool.submit(|x: u8| async move { x }, 9).result(),
        Err(Error::ShutDown)
    );
    gate.open();
    let results: Vec<u8> = futures.into_iter().map(|f| f.result().unwrap()).collect();
    assert_eq!(results, [0, 1, 2, 3, 4]);
    wait_until("the worker exits once drained", || {
        threads_named("nowait-") == 0
    });
}

#[test]
fn shutdown_now_cancels_the_queue_and_aborts_running_async_works() {
    let pool = pool("now-", 2, 1);
    let dropped = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let running: Vec<_> = (0..2)
        .map(|_| {
            let (d, s) = (Arc::clone(&dropped), Arc::clone(&started));
            pool.submit(
                move |()| async move {
                    let _guard = DropCounter(d);
                    s.fetch_add(1, Ordering::SeqCst);
                    std::future::pending::<()>().await
                },
                (),
            )
        })
        .collect();
    let queued: Vec<_> = (0..5)
        .map(|x| pool.submit(|x: u8| async move { x }, x))
        .collect();
    wait_until("both works are running", || {
        started.load(Ordering::SeqCst) == 2
    });
    pool.shutdown_now();
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        2,
        "running async works were dropped"
    );
    for future in running {
        assert_eq!(future.result(), Err(Error::Cancelled));
    }
    for future in queued {
        assert_eq!(future.result(), Err(Error::Cancelled));
    }
    wait_until("every worker thread is gone", || threads_named("now-") == 0);
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
fn shutdown_is_idempotent() {
    let pool = pool("twice-", 1, 1);
    pool.shutdown(true);
    pool.shutdown(true);
    pool.shutdown(false);
    pool.shutdown_now();
    assert!(pool.is_shut_down());
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
