//! A blocking work that waits on its worker for a blocking thread is still queued: it can
//! be cancelled (and then never runs), and its timeout starts only when it begins. And a
//! thread pool dropped while a blocking work is stuck resolves that work's future.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aplex::{
    Error, ProcessAsyncPoolExecutor, RuntimeConfig, ThreadAsyncPoolExecutor, WorkFuture,
    WorkOptions,
};
use common::{within, BlockingGate};

/// A thread pool of one worker whose runtime has a single blocking thread, so a second
/// blocking work waits for the first.
fn one_blocking_thread() -> ThreadAsyncPoolExecutor {
    ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .worker_loop_factory(|| {
            tokio::runtime::Builder::new_current_thread()
                .max_blocking_threads(1)
                .enable_all()
                .build()
        })
        .shutdown_grace(Duration::from_millis(200))
        .build()
        .unwrap()
}

/// Submits a blocking work that holds the pool's one blocking thread until the returned
/// gate opens; returns once that work has begun.
fn hold_the_blocking_thread(pool: &ThreadAsyncPoolExecutor) -> (BlockingGate, WorkFuture<()>) {
    let gate = BlockingGate::new();
    let begun = Arc::new(AtomicBool::new(false));
    let holder = {
        let (gate, begun) = (gate.clone(), Arc::clone(&begun));
        pool.submit(
            aplex::blocking(move |()| {
                begun.store(true, Ordering::SeqCst);
                gate.pass()
            }),
            (),
        )
    };
    common::wait_until("the holder has begun", || begun.load(Ordering::SeqCst));
    (gate, holder)
}

#[test]
fn a_blocking_work_waiting_for_a_thread_can_be_cancelled_and_never_runs() {
    within(Duration::from_secs(60), || {
        let pool = one_blocking_thread();
        let (gate, holder) = hold_the_blocking_thread(&pool);
        let ran = Arc::new(AtomicUsize::new(0));
        let waiting = {
            let ran = Arc::clone(&ran);
            pool.submit(
                aplex::blocking(move |()| ran.fetch_add(1, Ordering::SeqCst)),
                (),
            )
        };
        assert!(waiting.cancel(), "it has not begun: cancellable");
        gate.open();
        assert_eq!(holder.result(), Ok(()));
        assert_eq!(waiting.result(), Err(Error::Cancelled));
        // A work queued behind it shows the worker went past the cancelled one.
        assert_eq!(pool.submit(aplex::blocking(|x: u8| x), 7).result(), Ok(7));
        assert_eq!(
            ran.load(Ordering::SeqCst),
            0,
            "the cancelled work never ran"
        );
    });
}

#[test]
fn a_blocking_works_timeout_starts_when_it_begins() {
    within(Duration::from_secs(60), || {
        let pool = one_blocking_thread();
        let (gate, holder) = hold_the_blocking_thread(&pool);
        let options = WorkOptions::new().timeout(Duration::from_millis(100));
        let waiting = pool.submit_with(aplex::blocking(|x: u8| x), 9, options);
        // Longer than its timeout passes while it waits for the thread (the scenario).
        let queued_since = Instant::now();
        while queued_since.elapsed() < Duration::from_millis(300) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!waiting.done(), "no clock runs while it waits");
        gate.open();
        assert_eq!(
            waiting.result(),
            Ok(9),
            "it ran well within its timeout once begun"
        );
        assert_eq!(holder.result(), Ok(()));
    });
}

#[test]
fn dropping_a_thread_pool_resolves_a_stuck_blocking_works_future() {
    within(Duration::from_secs(60), || {
        let pool = one_blocking_thread();
        let (gate, stuck) = hold_the_blocking_thread(&pool);
        drop(pool); // the grace period passes; the work is stuck
        assert_eq!(stuck.result(), Err(Error::Cancelled));
        gate.open(); // let the thread end
    });
}

#[aplex::work]
fn hold_for(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

#[test]
fn a_process_blocking_works_timeout_starts_when_it_begins() {
    within(Duration::from_secs(60), || {
        let pool = ProcessAsyncPoolExecutor::builder()
            .pool_size(1)
            .worker_loop_factory(RuntimeConfig {
                max_blocking_threads: Some(1),
                ..RuntimeConfig::default()
            })
            .build()
            .unwrap();
        let holder = pool.submit(aplex::blocking(hold_for), 400);
        let options = WorkOptions::new().timeout(Duration::from_millis(200));
        // Queued in the worker for about 400 ms, then 1 ms of work.
        let waiting = pool.submit_with(aplex::blocking(hold_for), 1, options);
        assert_eq!(holder.result(), Ok(400));
        assert_eq!(waiting.result(), Ok(1), "its clock started when it began");
    });
}
