//! Numbers that add up: the stats count every item of a map chunk as the work it is,
//! `pending()` leaves out queued works that were cancelled, and a cancelled future still
//! says so once its outcome has been read.

mod common;

use std::time::Duration;

use aplex::{Error, ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor};
use common::{wait_until, Gate};

async fn fragile(x: u64) -> u64 {
    if x == 2 {
        panic!("item two");
    }
    x
}

#[aplex::work]
async fn fragile_process(x: u64) -> u64 {
    fragile(x).await
}

/// The one worker's `(completed, panicked)` after a map of 0..4 in one chunk, whose
/// item 2 panics.
fn counts_after_one_chunk(results: Vec<Result<u64, Error>>, stats: aplex::PoolStats) -> (u64, u64) {
    assert!(matches!(results.last(), Some(Err(Error::Panicked { .. }))));
    let worker = &stats.workers[0];
    (worker.completed, worker.panicked)
}

#[test]
fn a_chunk_counts_each_item_as_the_work_it_is() {
    let threads = ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    let results = threads.map(fragile, 0..4).chunksize(4).collect();
    assert_eq!(counts_after_one_chunk(results, threads.stats()), (3, 1));

    let processes = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    let results = processes.map(fragile_process, 0..4).chunksize(4).collect();
    assert_eq!(counts_after_one_chunk(results, processes.stats()), (3, 1));
}

#[test]
fn pending_leaves_out_queued_works_that_were_cancelled() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .max_works_per_worker(1)
        .build()
        .unwrap();
    let gate = Gate::new();
    let held = {
        let gate = gate.clone();
        pool.submit(move |_: ()| async move { gate.pass().await }, ())
    };
    let queued: Vec<_> = (0..3)
        .map(|i| pool.submit(|x: u8| async move { x }, i))
        .collect();
    assert_eq!(pool.pending(), 3);
    assert!(queued[1].cancel());
    assert_eq!(pool.pending(), 2, "the cancelled work is no longer pending");
    assert!(!queued[1].cancel(), "a second cancel changes nothing");
    assert_eq!(pool.pending(), 2);
    gate.open();
    assert_eq!(held.result(), Ok(()));
    let outcomes: Vec<_> = queued.into_iter().map(|future| future.result()).collect();
    assert_eq!(outcomes, [Ok(0), Err(Error::Cancelled), Ok(2)]);
    wait_until("the queue is empty", || pool.pending() == 0);
}

#[test]
fn a_cancelled_future_says_so_after_its_outcome_is_read() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    let mut sleeping = pool.submit(
        |ms: u64| async move { tokio::time::sleep(Duration::from_millis(ms)).await },
        3_600_000,
    );
    assert!(sleeping.cancel());
    let read = futures::executor::block_on(&mut sleeping);
    assert_eq!(read, Err(Error::Cancelled));
    assert!(sleeping.cancelled(), "still cancelled once read");
    assert!(sleeping.done());
}

#[test]
fn a_draining_shutdown_goes_past_a_cancelled_queued_work() {
    common::within(Duration::from_secs(60), || {
        let pool = ThreadAsyncPoolExecutor::builder()
            .pool_size(1)
            .max_works_per_worker(1)
            .build()
            .unwrap();
        let gate = Gate::new();
        let held = {
            let gate = gate.clone();
            pool.submit(move |_: ()| async move { gate.pass().await }, ())
        };
        let queued = pool.submit(|x: u8| async move { x }, 1);
        assert!(queued.cancel());
        assert_eq!(pool.pending(), 0);
        gate.open();
        assert_eq!(held.result(), Ok(()));
        pool.shutdown(true); // returns: nothing is left to drain
        assert_eq!(queued.result(), Err(Error::Cancelled));
    });
}
