//! Soak: 1,000,000 mixed works through each pool — async and blocking, in maps and one
//! by one, some panicking, some cancelled, some timing out. Every future resolves, and
//! the process's RSS, thread count and fd count at the end are within a small margin of
//! what they were after the first 10,000. Alone in its binary, so the counts are its own.

mod common;

use std::time::Duration;

use aplex::{Error, ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor, WorkFuture, WorkOptions};
use common::{live_thread_names, open_fds};

const BATCHES: usize = 100;
const PER_BATCH: usize = 10_000;
const SINGLES: usize = 1_000;

#[aplex::work]
async fn double(x: u64) -> u64 {
    x * 2
}

#[aplex::work]
fn square(x: u64) -> u64 {
    x * x
}

/// The kind of a single work, by its number.
fn kind(x: u64) -> u64 {
    match x % 1000 {
        0 => 0,       // panics
        1..=20 => 1,  // sleeps an hour: cancelled right after submit
        21..=40 => 2, // sleeps an hour: times out after 1 ms
        41..=60 => 3, // quick: cancel races its completion
        _ => 4,       // quick
    }
}

#[aplex::work]
async fn fail_or_sleep(x: u64) -> u64 {
    match kind(x) {
        0 => panic!("soak panic {x}"),
        1 | 2 => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            x
        }
        _ => x,
    }
}

fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap()
        * 1024
}

/// Maps a work over a range of numbers, giving every outcome.
type MapRange<'p> = Box<dyn Fn(std::ops::Range<u64>) -> Vec<Result<u64, Error>> + 'p>;

/// What a pool must offer the soak.
struct Soaked<'p> {
    map_async: MapRange<'p>,
    map_blocking: MapRange<'p>,
    single: Box<dyn Fn(u64, WorkOptions) -> WorkFuture<u64> + 'p>,
}

/// One batch of 10,000 works; checks every outcome.
fn batch(pool: &Soaked<'_>, index: usize) {
    let base = (index * PER_BATCH) as u64;
    let mapped = (PER_BATCH - SINGLES) as u64;
    let half = base + mapped / 2;
    let mut outcomes = (pool.map_async)(base..half);
    outcomes.extend((pool.map_blocking)(half..base + mapped));
    assert_eq!(outcomes.len(), mapped as usize);
    assert!(outcomes.iter().all(Result::is_ok));
    let singles: Vec<(u64, WorkFuture<u64>)> = (base + mapped..base + PER_BATCH as u64)
        .map(|x| {
            let options = if kind(x) == 2 {
                WorkOptions::new().timeout(Duration::from_millis(1))
            } else {
                WorkOptions::new()
            };
            (x, (pool.single)(x, options))
        })
        .collect();
    let mut raced = Vec::new();
    for (x, future) in &singles {
        if kind(*x) == 3 {
            raced.push(future.cancel());
        }
    }
    let mut raced = raced.into_iter();
    for (x, future) in singles {
        let outcome = future.result_timeout(common::PATIENCE);
        match (kind(x), outcome) {
            (0, Err(Error::Panicked { .. }))
            | (1, Err(Error::Cancelled))
            | (2, Err(Error::TimedOut { .. })) => {}
            (3, outcome) => match (raced.next(), outcome) {
                (Some(true), Err(Error::Cancelled)) => {}
                (Some(false), Ok(value)) => assert_eq!(value, x),
                (cancelled, outcome) => {
                    panic!("work {x}: cancel said {cancelled:?}, outcome {outcome:?}")
                }
            },
            (4, Ok(value)) => assert_eq!(value, x),
            (_, outcome) => panic!("work {x}: unexpected {outcome:?}"),
        }
    }
}

fn soak(pool: &Soaked<'_>, name: &str) {
    batch(pool, 0);
    let (rss_start, threads_start, fds_start) = (rss(), live_thread_names().len(), open_fds());
    for index in 1..BATCHES {
        batch(pool, index);
    }
    let (rss_end, threads_end, fds_end) = (rss(), live_thread_names().len(), open_fds());
    eprintln!("{name}: RSS {rss_start} -> {rss_end}, threads {threads_start} -> {threads_end}, fds {fds_start} -> {fds_end}");
    assert!(
        rss_end <= rss_start + rss_start / 4 + 16 * 1024 * 1024,
        "{name}: RSS grew from {rss_start} to {rss_end} bytes over 1,000,000 works"
    );
    // Idle blocking-pool threads may exit (after 10 s); none may be added.
    assert!(
        threads_end <= threads_start,
        "{name}: threads grew from {threads_start} to {threads_end}"
    );
    assert_eq!(fds_end, fds_start, "{name}: fds");
}

#[test]
fn a_million_mixed_works_through_each_pool_leak_nothing() {
    // The panics are expected; keep this process's own output readable.
    std::panic::set_hook(Box::new(|_| {}));
    // Bounded blocking pools, as many blocking works at once as each has threads, so the
    // threads reach their steady state in the first batch.
    let threads = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .max_works_per_worker(1_000)
        .max_blocking_works_per_worker(4)
        .worker_loop_factory(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .max_blocking_threads(4)
                .build()
        })
        .build()
        .unwrap();
    let thread_pool = Soaked {
        map_async: Box::new(|range| {
            threads
                .map(double, range)
                .chunksize(64)
                .map(|r| r.map(|v| v / 2))
                .collect()
        }),
        map_blocking: Box::new(|range| {
            threads
                .map(aplex::blocking(|x: u64| x), range)
                .chunksize(64)
                .collect()
        }),
        single: Box::new(|x, options| {
            cancel_sleepers(x, threads.submit_with(fail_or_sleep, x, options))
        }),
    };
    soak(&thread_pool, "threads");
    drop(thread_pool);
    drop(threads);

    let processes = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .max_works_per_worker(1_000)
        .build()
        .unwrap();
    let process_pool = Soaked {
        map_async: Box::new(|range| {
            processes
                .map(double, range)
                .chunksize(64)
                .map(|r| r.map(|v| v / 2))
                .collect()
        }),
        map_blocking: Box::new(|range| {
            processes
                .map(aplex::blocking(square), range.clone())
                .chunksize(64)
                .zip(range)
                .map(|(r, x)| r.map(|_| x))
                .collect()
        }),
        single: Box::new(|x, options| {
            cancel_sleepers(x, processes.submit_with(fail_or_sleep, x, options))
        }),
    };
    soak(&process_pool, "processes");
}

/// Kind-1 works sleep an hour: cancel them right after submitting (they still count as
/// submitted works and resolve `Cancelled`).
fn cancel_sleepers(x: u64, future: WorkFuture<u64>) -> WorkFuture<u64> {
    if kind(x) == 1 {
        future.cancel();
    }
    future
}
