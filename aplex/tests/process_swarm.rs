//! A swarm of `submit`s on the process pool: more works in flight in one worker process
//! than the count at which the parent's writer starts to coalesce its frames (1,024, in
//! `aplex-process/src/parent/in_flight.rs`), so runs, cancels and closes leave in
//! batches. Every future resolves once, with its own value, or `Cancelled` when it was
//! cancelled or the pool shut down at once; the pool serves on, or, shut down, leaves no
//! process behind.

mod common;

use std::time::Duration;

use aplex::{Error, ProcessAsyncPoolExecutor};
use common::{is_running, wait_until, within};

#[aplex::work]
async fn nap_then_echo(x: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(300)).await;
    x
}

const SWARM: u64 = 3_000;

/// A pool of `workers` processes, each taking a whole swarm at once.
fn swarm_pool(workers: usize) -> ProcessAsyncPoolExecutor {
    ProcessAsyncPoolExecutor::builder()
        .pool_size(workers)
        .max_works_per_worker(SWARM as usize)
        .build()
        .unwrap()
}

#[test]
fn a_swarm_beyond_the_coalescing_count_resolves_each_future_once_with_its_own_outcome() {
    within(Duration::from_secs(120), || {
        let pool = swarm_pool(1);
        let futures: Vec<_> = (0..SWARM).map(|x| pool.submit(nap_then_echo, x)).collect();
        let in_flight = pool.workloads()[0];
        // Every 7th is cancelled: queued or running, it must end `Cancelled`.
        let cancelled: Vec<bool> = futures
            .iter()
            .enumerate()
            .map(|(x, future)| x % 7 == 0 && future.cancel())
            .collect();
        for (x, future) in futures.into_iter().enumerate() {
            let outcome = future.result();
            if cancelled[x] {
                assert_eq!(outcome, Err(Error::Cancelled), "work {x}");
            } else {
                assert_eq!(outcome, Ok(x as u64), "work {x}");
            }
        }
        assert!(
            in_flight > 1_024,
            "the swarm had {in_flight} works in flight in the process, too few to coalesce"
        );
        assert!(
            cancelled.iter().filter(|&&c| c).count() > 0,
            "some works were cancelled"
        );
        assert_eq!(pool.submit(nap_then_echo, 7).result(), Ok(7));
    });
}

#[test]
fn shutting_down_now_during_a_swarm_resolves_every_future_and_leaves_no_process() {
    within(Duration::from_secs(120), || {
        let pool = swarm_pool(2);
        let futures: Vec<_> = (0..2 * SWARM)
            .map(|x| pool.submit(nap_then_echo, x))
            .collect();
        let in_flight = pool.workloads();
        let workers: Vec<u32> = pool.worker_pids().into_iter().flatten().collect();
        pool.shutdown_now();
        for (x, future) in futures.into_iter().enumerate() {
            match future.result() {
                // Aborted in its process, or finished before the abort reached it.
                Err(Error::Cancelled) => {}
                Ok(value) => assert_eq!(value, x as u64),
                Err(other) => panic!("work {x}: unexpected {other:?}"),
            }
        }
        assert!(
            in_flight.iter().all(|&works| works > 1_024),
            "the swarm had {in_flight:?} works in flight in the processes, too few to coalesce"
        );
        assert_eq!(pool.submit(nap_then_echo, 1).result(), Err(Error::ShutDown));
        wait_until("no worker process is left", || {
            !workers.iter().any(|&pid| is_running(pid))
        });
    });
}
