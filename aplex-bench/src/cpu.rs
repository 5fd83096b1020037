//! The CPU cases, with rayon as the peer (what a CPU-bound user compares with first):
//! 40,000 works of about 10 µs and of about 1 µs mapped at chunksize 1 on the thread and
//! process pools against rayon's `par_iter` on a pool of 2 threads; and tiny blocking
//! works at chunksize 1 against tiny async works on the same pool, in the same run.

use std::iter::repeat_n;

use aplex::{ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor};
use rayon::prelude::*;

use crate::measure::{counted_rate, rates_taking_turns, seconds};
use crate::report::{print, Figure};
use crate::works::{burn, calibrate_burn, echo};

/// The CPU works of one run and their sizes.
pub(crate) struct CpuSize {
    /// Works of each length.
    pub(crate) works: usize,
    /// Tiny works for the blocking-against-async case.
    pub(crate) tiny: usize,
}

const POOL_SIZE: usize = 2;

fn thread_pool() -> ThreadAsyncPoolExecutor {
    ThreadAsyncPoolExecutor::builder()
        .pool_size(POOL_SIZE)
        .build()
        .expect("thread pool")
}

fn process_pool() -> ProcessAsyncPoolExecutor {
    ProcessAsyncPoolExecutor::builder()
        .pool_size(POOL_SIZE)
        .build()
        .expect("process pool")
}

fn rayon_pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(POOL_SIZE)
        .build()
        .expect("rayon pool")
}

/// `cpu_10us_*` and `cpu_1us_*`: seconds for the works on each pool, rayon the peer.
pub(crate) fn cpu_works(size: &CpuSize) {
    let (threads, processes, rayon) = (thread_pool(), process_pool(), rayon_pool());
    threads.submit(aplex::blocking(burn), 1).result().unwrap();
    processes.submit(aplex::blocking(burn), 1).result().unwrap();
    for (micros, names) in [
        (10.0, ["cpu_10us_thread_cs1", "cpu_10us_process_cs1"]),
        (1.0, ["cpu_1us_thread_cs1", "cpu_1us_process_cs1"]),
    ] {
        let rounds = calibrate_burn(micros * 1e-6);
        let works = size.works;
        let peer = seconds(|| {
            let done = rayon.install(|| {
                (0..works)
                    .into_par_iter()
                    .map(|_| std::hint::black_box(burn(rounds)))
                    .count()
            });
            assert_eq!(done, works);
        });
        let on_threads = seconds(|| {
            let done = (threads.map(aplex::blocking(burn), repeat_n(rounds, works)))
                .chunksize(1)
                .count();
            assert_eq!(done, works);
        });
        let on_processes = seconds(|| {
            let done = (processes.map(aplex::blocking(burn), repeat_n(rounds, works)))
                .chunksize(1)
                .count();
            assert_eq!(done, works);
        });
        for (name, ours) in names.into_iter().zip([on_threads, on_processes]) {
            print(&Figure {
                name,
                unit: "s",
                ours,
                limit: None,
                peer: Some(peer),
            });
        }
    }
}

/// `*_blocking_map_cs1`: tiny blocking works at chunksize 1 (works/s), against tiny
/// async works on the same pool as the limit.
pub(crate) fn blocking_map(size: &CpuSize) {
    let tiny = size.tiny;
    let measure = |name, blocking: &dyn Fn() -> usize, asynchronous: &dyn Fn() -> usize| {
        let [ours, limit] = rates_taking_turns([&mut || counted_rate(tiny, blocking), &mut || {
            counted_rate(tiny, asynchronous)
        }]);
        print(&Figure {
            name,
            unit: "works/s",
            ours,
            limit: Some(limit),
            peer: None,
        });
    };
    let threads = thread_pool();
    measure(
        "thread_blocking_map_cs1",
        &|| {
            (threads.map(aplex::blocking(burn), repeat_n(1, tiny)))
                .chunksize(1)
                .count()
        },
        &|| threads.map(echo, 0..tiny as u64).chunksize(1).count(),
    );
    drop(threads);
    let processes = process_pool();
    measure(
        "process_blocking_map_cs1",
        &|| {
            (processes.map(aplex::blocking(burn), repeat_n(1, tiny)))
                .chunksize(1)
                .count()
        },
        &|| processes.map(echo, 0..tiny as u64).chunksize(1).count(),
    );
}
