//! `map` on the thread pool, beyond the shared suite (`pool_suite/map.rs`): a closure
//! that panics when called, timeouts that cancel the rest, dropping a map over an endless
//! input, the default window, and streams timing out on any runtime.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aplex::{Clock, Error, ThreadAsyncPoolExecutor};
use common::{two_thread_pool as pool, wait_until, DropCounter};
use futures::StreamExt;

async fn double(x: u64) -> u64 {
    x * 2
}

#[test]
fn timeout_yields_a_timeout_error_and_cancels_the_rest() {
    let pool = pool();
    let started = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (s, d) = (Arc::clone(&started), Arc::clone(&dropped));
    let never_done = move |_: u64| {
        let (s, d) = (Arc::clone(&s), Arc::clone(&d));
        async move {
            s.fetch_add(1, Ordering::SeqCst);
            let _guard = DropCounter(d);
            std::future::pending::<u64>().await
        }
    };
    let mut map = pool
        .map(never_done, 0..100)
        .timeout(Duration::from_millis(50));
    assert_eq!(map.next(), Some(Err(Error::TimedOut { clock: Clock::Map })));
    assert_eq!(map.next(), None);
    wait_until("every started work is aborted", || {
        let started = started.load(Ordering::SeqCst);
        started > 0 && dropped.load(Ordering::SeqCst) == started && pool.workloads() == [0, 0]
    });
}

#[test]
fn a_work_that_panics_when_called_fails_its_item_with_any_chunksize() {
    let pool = pool();
    let work = |x: u64| {
        if x == 3 {
            panic!("three panics before its future exists");
        }
        async move { x * 10 }
    };
    for chunksize in [1, 2, 8] {
        let got: Vec<Result<u64, Error>> = pool.map(work, 0..10).chunksize(chunksize).collect();
        let mut expected: Vec<Result<u64, Error>> = (0..3).map(|x| Ok(x * 10)).collect();
        expected.push(Err(Error::Panicked {
            message: "three panics before its future exists".into(),
        }));
        assert_eq!(got, expected, "chunksize {chunksize}");
    }
}

#[test]
fn an_endless_input_is_pulled_lazily_and_dropping_the_map_cancels_in_flight_works() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .max_works_per_worker(50)
        .build()
        .unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let endless = (0u64..).inspect(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let started = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (s, d) = (Arc::clone(&started), Arc::clone(&dropped));
    let work = move |x: u64| {
        let (s, d) = (Arc::clone(&s), Arc::clone(&d));
        async move {
            if x >= 1000 {
                s.fetch_add(1, Ordering::SeqCst);
                let _guard = DropCounter(d);
                std::future::pending::<()>().await;
            }
            x
        }
    };
    let window = 30;
    let chunksize = 4;
    let mut map = pool.map(work, endless).chunksize(chunksize).window(window);
    let first: Vec<u64> = map.by_ref().take(1000).collect::<Result<_, _>>().unwrap();
    assert_eq!(first, (0..1000).collect::<Vec<_>>());
    let pulled_now = pulled.load(Ordering::SeqCst);
    assert!(
        pulled_now <= 1000 + window * chunksize,
        "pulled {pulled_now} items for 1000 results with a window of {window} chunks of {chunksize}"
    );
    wait_until("the works past 1000 have started", || {
        started.load(Ordering::SeqCst) > 0
    });
    drop(map);
    wait_until("every in-flight work is aborted", || {
        dropped.load(Ordering::SeqCst) == started.load(Ordering::SeqCst)
            && pool.workloads() == [0, 0]
    });
    assert_eq!(pool.pending(), 0);
}

#[test]
fn the_default_window_bounds_the_input_too() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .max_works_per_worker(300)
        .build()
        .unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let endless = (0u64..).inspect(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let mut map = pool.map(double, endless);
    assert_eq!(map.by_ref().take(1000).count(), 1000);
    assert!(pulled.load(Ordering::SeqCst) <= 1000 + 2 * 300);
}

#[test]
fn a_map_read_in_part_runs_little_more_than_it_yields() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&ran);
    let counting = move |x: u64| {
        let counter = Arc::clone(&counter);
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            x
        }
    };
    let first: Vec<u64> = pool
        .map(counting, 0..)
        .chunksize(8)
        .take(100)
        .map(Result::unwrap)
        .collect();
    assert_eq!(first, (0..100).collect::<Vec<_>>());
    pool.shutdown(true);
    // The ramp: 8 chunks at first, 32 once 4 are done; 13 chunks yield 100 items, so at
    // most 13 + 32 chunks were handed out. A window of the whole capacity (600 chunks)
    // ran 4,800 works.
    let ran = ran.load(Ordering::SeqCst);
    assert!(
        (100..=45 * 8).contains(&ran),
        "{ran} works ran for 100 results"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_is_ordered_and_works_on_tokio() {
    let pool = pool();
    let got: Vec<u64> = pool
        .map(double, 0..10_000)
        .chunksize(16)
        .into_stream()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(got, (0..10_000).map(|x| x * 2).collect::<Vec<_>>());
    let mut unordered: Vec<u64> = pool
        .map(double, 0..100)
        .unordered()
        .into_stream()
        .map(Result::unwrap)
        .collect()
        .await;
    unordered.sort_unstable();
    assert_eq!(unordered, (0..100).map(|x| x * 2).collect::<Vec<_>>());
    tokio::task::spawn_blocking(move || drop(pool))
        .await
        .unwrap();
}

#[test]
fn the_stream_times_out_on_any_runtime() {
    let pool = pool();
    let stream = pool
        .map(|_: u8| std::future::pending::<u8>(), 0..4)
        .timeout(Duration::from_millis(30))
        .into_stream();
    let got: Vec<Result<u8, Error>> = futures::executor::block_on(stream.collect());
    assert_eq!(got, [Err(Error::TimedOut { clock: Clock::Map })]);
}
