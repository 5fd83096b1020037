//! Races around shutdown and cancel, on both pools: shutdown while several threads
//! submit, cancel racing completion, a pool dropped while its map is iterated, and a pool
//! dropped from inside an async runtime. Nothing may hang, panic, or leave a future
//! without exactly one outcome.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use aplex::{Error, ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor, WorkFuture};
use common::PATIENCE;

#[aplex::work]
async fn quick(x: u64) -> u64 {
    tokio::task::yield_now().await;
    x
}

/// Every future resolves once, to a value or to shut-down/cancelled; returns how many
/// resolved to a value.
fn all_resolve(futures: Vec<(u64, WorkFuture<u64>)>) -> usize {
    let mut values = 0;
    for (x, future) in futures {
        match future.result_timeout(PATIENCE) {
            Ok(value) => {
                assert_eq!(value, x);
                values += 1;
            }
            Err(Error::ShutDown | Error::Cancelled) => {}
            Err(other) => panic!("unexpected outcome {other:?}"),
        }
    }
    values
}

fn submit_while_shutting_down(
    submit: impl Fn(u64) -> WorkFuture<u64> + Sync,
    shutdown: impl FnOnce(),
) -> usize {
    let threads = 4;
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        let submitters: Vec<_> = (0..threads as u64)
            .map(|t| {
                let (submit, barrier) = (&submit, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    (0..500)
                        .map(|i| t * 1000 + i)
                        .map(|x| (x, submit(x)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        barrier.wait();
        shutdown();
        submitters
            .into_iter()
            .map(|s| all_resolve(s.join().unwrap()))
            .sum()
    })
}

#[test]
fn shutdown_while_several_threads_submit_resolves_every_future() {
    for wait in [true, false] {
        let pool = ThreadAsyncPoolExecutor::builder()
            .pool_size(2)
            .max_works_per_worker(8)
            .build()
            .unwrap();
        submit_while_shutting_down(|x| pool.submit(quick, x), || pool.shutdown(wait));
        let pool = ProcessAsyncPoolExecutor::builder()
            .pool_size(2)
            .max_works_per_worker(8)
            .build()
            .unwrap();
        submit_while_shutting_down(|x| pool.submit(quick, x), || pool.shutdown(wait));
    }
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .max_works_per_worker(8)
        .build()
        .unwrap();
    submit_while_shutting_down(|x| pool.submit(quick, x), || pool.shutdown_now());
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .max_works_per_worker(8)
        .build()
        .unwrap();
    submit_while_shutting_down(|x| pool.submit(quick, x), || pool.shutdown_now());
}

#[test]
fn cancel_racing_completion_gives_exactly_one_outcome() {
    let threads = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .unwrap();
    let processes = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .unwrap();
    for round in 0..2_000u64 {
        let future = if round.is_multiple_of(2) {
            threads.submit(quick, round)
        } else {
            processes.submit(quick, round)
        };
        let cancelled = future.cancel();
        match future.result_timeout(PATIENCE) {
            Ok(value) => {
                assert!(!cancelled, "a cancelled work must not also give a value");
                assert_eq!(value, round);
            }
            Err(Error::Cancelled) => {
                assert!(cancelled, "only a successful cancel resolves Cancelled")
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn dropping_a_pool_while_its_map_is_iterated_ends_the_map() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .unwrap();
    let mut map = pool.map(quick, 0..1_000_000);
    assert_eq!(map.next(), Some(Ok(0)));
    let dropper = std::thread::spawn(move || drop(pool));
    let mut rest = 0;
    for item in map.by_ref() {
        match item {
            Ok(_) => rest += 1,
            Err(Error::Cancelled | Error::ShutDown) => break,
            Err(other) => panic!("unexpected {other:?}"),
        }
        assert!(rest < 1_000_000);
    }
    dropper.join().unwrap();
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .unwrap();
    let mut map = pool.map(quick, 0..1_000_000);
    assert_eq!(map.next(), Some(Ok(0)));
    let dropper = std::thread::spawn(move || drop(pool));
    let ended = map.find(|item| item.is_err());
    assert!(
        matches!(ended, Some(Err(Error::Cancelled | Error::ShutDown)) | None),
        "{ended:?}"
    );
    dropper.join().unwrap();
}

#[test]
fn dropping_a_pool_inside_an_async_runtime_does_not_hang() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let finished = Arc::new(AtomicUsize::new(0));
    let done = Arc::clone(&finished);
    runtime.block_on(async move {
        let threads = ThreadAsyncPoolExecutor::builder()
            .pool_size(2)
            .build()
            .unwrap();
        let processes = ProcessAsyncPoolExecutor::builder()
            .pool_size(2)
            .build()
            .unwrap();
        assert_eq!(threads.submit(quick, 1).await, Ok(1));
        assert_eq!(processes.submit(quick, 2).await, Ok(2));
        let running = threads.submit(|()| std::future::pending::<()>(), ());
        drop(threads);
        drop(processes);
        assert_eq!(running.await, Err(Error::Cancelled));
        done.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(finished.load(Ordering::SeqCst), 1);
}
