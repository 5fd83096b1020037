//! The cases: each builds what it measures (pool size 2), warms up, measures ours, the
//! raw limit and the peer, and prints its figures.

use std::time::Duration;

use aplex::balance::{LoadBalancer, RoundRobin};
use aplex::{ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor};
use serde_bytes::ByteBuf;

use crate::cpu::CpuSize;
use crate::floors::{start_children, TaskPerItem};
use crate::measure::{counted_rate, quantile, rate, rates_taking_turns, rss_bytes, seconds};
use crate::raw::{EchoChild, EchoMessage, RawThread};
use crate::report::{print, Figure};
use crate::works::{burn, calibrate_burn, echo, echo_bytes, sleep_ms};
use ipc_channel::ipc::IpcSharedMemory;

/// Every case, in the order the table shows them.
pub(crate) const NAMES: &[&str] = &[
    "thread_latency",
    "thread_map_cs1",
    "thread_map_cs256",
    "process_latency",
    "thread_latency_warm",
    "process_latency_warm",
    "process_map_cs1",
    "process_map_cs256",
    "thread_sleepers",
    "process_sleepers",
    "cpu_bound",
    "cpu_works",
    "blocking_map",
    "bytes_echo",
    "startup",
    "remote_latency",
    "remote_map_cs1",
    "remote_sleepers",
];

/// Sizes of one run.
struct Size {
    calls: usize,
    map_items: usize,
    peer_items: usize,
    sleepers: usize,
    sleep_ms: u64,
    burn_seconds: f64,
    echoes: usize,
    remote_items: usize,
    cpu: CpuSize,
}

const FULL: Size = Size {
    calls: 3000,
    map_items: 200_000,
    peer_items: 2_000,
    sleepers: 100_000,
    sleep_ms: 200,
    burn_seconds: 0.25,
    echoes: 60,
    remote_items: 100_000,
    cpu: CpuSize {
        works: 40_000,
        tiny: 200_000,
    },
};

const SMOKE: Size = Size {
    calls: 50,
    map_items: 2_560,
    peer_items: 200,
    sleepers: 1_000,
    sleep_ms: 20,
    burn_seconds: 0.005,
    echoes: 3,
    remote_items: 500,
    cpu: CpuSize {
        works: 400,
        tiny: 2_560,
    },
};

pub(crate) const POOL_SIZE: usize = 2;

/// `max_works_per_worker` of the pools whose case does not need more.
pub(crate) const CAP: usize = 300;

pub(crate) fn run(case: &str, smoke: bool) -> Result<(), String> {
    let size = if smoke { &SMOKE } else { &FULL };
    match case {
        "thread_latency" => crate::latency::thread_latency(size.calls),
        "thread_map_cs1" => thread_map(size, 1),
        "thread_map_cs256" => thread_map(size, 256),
        "process_latency" => crate::latency::process_latency(size.calls),
        "thread_latency_warm" => crate::latency::thread_latency_warm(size.calls),
        "process_latency_warm" => crate::latency::process_latency_warm(size.calls),
        "process_map_cs1" => process_map(size, 1),
        "process_map_cs256" => process_map(size, 256),
        "thread_sleepers" => thread_sleepers(size),
        "process_sleepers" => process_sleepers(size),
        "cpu_bound" => cpu_bound(size),
        "cpu_works" => crate::cpu::cpu_works(&size.cpu),
        "blocking_map" => crate::cpu::blocking_map(&size.cpu),
        "bytes_echo" => bytes_echo(size),
        "startup" => startup(),
        "remote_latency" => return crate::remote::remote_latency(size.calls),
        "remote_map_cs1" => return crate::remote::remote_map(size.remote_items),
        "remote_sleepers" => return crate::remote::remote_sleepers(size.sleepers, size.sleep_ms),
        other => return Err(format!("unknown case `{other}`; see --list")),
    }
    Ok(())
}

/// A thread pool of `POOL_SIZE` with the default balancer.
pub(crate) fn thread_pool(cap: usize) -> ThreadAsyncPoolExecutor {
    thread_pool_balanced(cap, RoundRobin::default())
}

/// A thread pool of `POOL_SIZE` with `balancer`.
pub(crate) fn thread_pool_balanced(
    cap: usize,
    balancer: impl LoadBalancer,
) -> ThreadAsyncPoolExecutor {
    ThreadAsyncPoolExecutor::builder()
        .pool_size(POOL_SIZE)
        .max_works_per_worker(cap)
        .load_balancer(balancer)
        .build()
        .expect("thread pool")
}

/// A process pool of `POOL_SIZE` with the default balancer.
pub(crate) fn process_pool(cap: usize) -> ProcessAsyncPoolExecutor {
    process_pool_balanced(cap, RoundRobin::default())
}

/// A process pool of `POOL_SIZE` with `balancer`.
pub(crate) fn process_pool_balanced(
    cap: usize,
    balancer: impl LoadBalancer,
) -> ProcessAsyncPoolExecutor {
    ProcessAsyncPoolExecutor::builder()
        .pool_size(POOL_SIZE)
        .max_works_per_worker(cap)
        .load_balancer(balancer)
        .build()
        .expect("process pool")
}

fn thread_map(size: &Size, chunksize: usize) {
    let pool = thread_pool(CAP);
    let raw = RawThread::start();
    let items = size.map_items;
    let mut ours = || {
        counted_rate(items, || {
            pool.map(echo, 0..items as u64).chunksize(chunksize).count()
        })
    };
    let (name, [ours, limit], peer) = if chunksize == 1 {
        let peer_pool = tokio_util::task::LocalPoolHandle::new(POOL_SIZE);
        let peer = rate(items, || {
            let handles: Vec<_> = (0..items as u64)
                .map(|x| peer_pool.spawn_pinned(move || async move { x }))
                .collect();
            futures::executor::block_on(futures::future::join_all(handles));
        });
        // The floor of a pool running every item as a task of its own (`floors.rs`).
        let floor = TaskPerItem::start(POOL_SIZE);
        let [ours, limit, floor] =
            rates_taking_turns([&mut ours, &mut || raw.throughput_one(items), &mut || {
                floor.throughput(items)
            }]);
        print(&Figure {
            name: "thread_map_cs1_task_per_item_floor",
            unit: "works/s",
            ours: floor,
            limit: Some(limit),
            peer: None,
        });
        ("thread_map_cs1", [ours, limit], Some(peer))
    } else {
        let rates =
            rates_taking_turns([&mut ours, &mut || raw.throughput_batched(items, chunksize)]);
        ("thread_map_cs256", rates, None)
    };
    print(&Figure {
        name,
        unit: "works/s",
        ours,
        limit: Some(limit),
        peer,
    });
}

pub(crate) fn procspawn_pool() -> procspawn::Pool {
    procspawn::Pool::new(POOL_SIZE).expect("procspawn pool")
}

fn process_map(size: &Size, chunksize: usize) {
    let pool = process_pool(CAP);
    let (raw, _) = EchoChild::start();
    let items = size.map_items;
    let [ours, limit] = rates_taking_turns([
        &mut || {
            counted_rate(items, || {
                pool.map(echo, 0..items as u64).chunksize(chunksize).count()
            })
        },
        &mut || raw.throughput(items, chunksize),
    ]);
    let peer = (chunksize == 1).then(|| {
        let peer_pool = procspawn_pool();
        let peer_items = size.peer_items;
        let peer = rate(peer_items, || {
            let handles: Vec<_> = (0..peer_items as u64)
                .map(|x| peer_pool.spawn(x, |x: u64| x))
                .collect();
            for handle in handles {
                handle.join().unwrap();
            }
        });
        peer_pool.shutdown();
        peer
    });
    let name = if chunksize == 1 {
        "process_map_cs1"
    } else {
        "process_map_cs256"
    };
    print(&Figure {
        name,
        unit: "works/s",
        ours,
        limit: Some(limit),
        peer,
    });
}

/// Submits `count` sleepers, measures the parent's RSS growth with all in flight, then
/// waits for all; returns (wall ms, bytes per in-flight work).
fn sleepers<T>(
    count: usize,
    submit: impl Fn(u64) -> aplex::WorkFuture<T>,
    in_flight: impl Fn() -> usize,
) -> (f64, f64) {
    let baseline = rss_bytes();
    let mut growth = 0;
    let wall = seconds(|| {
        let futures: Vec<_> = (0..count as u64).map(&submit).collect();
        // The first future not yet done: futures before it are never looked at again,
        // so this wait costs the pool's CPUs next to nothing.
        let mut first_pending = 0;
        loop {
            while futures.get(first_pending).is_some_and(|f| f.done()) {
                first_pending += 1;
            }
            if in_flight() >= count || first_pending == futures.len() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        growth = rss_bytes().saturating_sub(baseline);
        for future in futures {
            future.result().unwrap();
        }
    });
    (wall * 1e3, growth as f64 / count as f64)
}

fn sleeper_figures(names: [&'static str; 2], size: &Size, (wall, bytes): (f64, f64)) {
    print(&Figure {
        name: names[0],
        unit: "ms",
        ours: wall,
        limit: Some(size.sleep_ms as f64),
        peer: None,
    });
    print(&Figure {
        name: names[1],
        unit: "bytes/work",
        ours: bytes,
        limit: None,
        peer: None,
    });
}

fn thread_sleepers(size: &Size) {
    let pool = thread_pool(size.sleepers);
    pool.submit(sleep_ms, 1).result().unwrap();
    let outcome = sleepers(
        size.sleepers,
        |_| pool.submit(sleep_ms, size.sleep_ms),
        || pool.workloads().iter().sum(),
    );
    sleeper_figures(
        ["thread_sleepers_wall", "thread_sleepers_memory"],
        size,
        outcome,
    );
}

fn process_sleepers(size: &Size) {
    let pool = process_pool(size.sleepers);
    pool.submit(sleep_ms, 1).result().unwrap();
    let outcome = sleepers(
        size.sleepers,
        |_| pool.submit(sleep_ms, size.sleep_ms),
        || pool.workloads().iter().sum(),
    );
    sleeper_figures(
        ["process_sleepers_wall", "process_sleepers_memory"],
        size,
        outcome,
    );
}

fn cpu_bound(size: &Size) {
    let pool = process_pool(CAP);
    pool.submit(aplex::blocking(burn), 1).result().unwrap();
    let rounds = calibrate_burn(size.burn_seconds);
    let sequential = seconds(|| {
        for _ in 0..8 {
            std::hint::black_box(burn(rounds));
        }
    });
    let parallel = seconds(|| {
        let done = pool
            .map(aplex::blocking(burn), std::iter::repeat_n(rounds, 8))
            .count();
        assert_eq!(done, 8);
    });
    print(&Figure {
        name: "cpu_bound_speedup",
        unit: "x",
        ours: sequential / parallel,
        limit: Some(POOL_SIZE as f64),
        peer: None,
    });
}

fn bytes_echo(size: &Size) {
    let pool = process_pool(CAP);
    let (raw, _) = EchoChild::start();
    for (mebibytes, echoes, name) in [
        (1, size.echoes, "bytes_echo_1mib"),
        (64, size.echoes.div_ceil(10), "bytes_echo_64mib"),
    ] {
        let payload = ByteBuf::from(vec![7u8; mebibytes << 20]);
        let region = IpcSharedMemory::from_bytes(&payload);
        let ours_once = || {
            let echoed = pool
                .submit(aplex::blocking(echo_bytes), payload.clone())
                .result()
                .unwrap();
            assert_eq!(echoed.len(), payload.len());
        };
        let bytes_once = || assert_eq!(raw.bytes_round_trip(&payload).len(), payload.len());
        let serde_once = || {
            raw.round_trip(EchoMessage::Bytes(payload.clone()));
        };
        let region_once = || assert_eq!(raw.region_round_trip(&region).len(), payload.len());
        // Each once first (ours once per worker): every measurement starts with warm
        // pages, regions and allocator.
        for _ in 0..POOL_SIZE {
            ours_once();
        }
        bytes_once();
        serde_once();
        region_once();
        let per_second = |once: &dyn Fn()| {
            mebibytes as f64
                * rate(echoes, || {
                    for _ in 0..echoes {
                        once();
                    }
                })
        };
        let ours = per_second(&ours_once);
        let limit = per_second(&bytes_once);
        let serde = per_second(&serde_once);
        let shared = per_second(&region_once);
        print(&Figure {
            name,
            unit: "MiB/s",
            ours,
            limit: Some(limit),
            peer: None,
        });
        for (suffix, figure) in [("raw_serde", serde), ("raw_region", shared)] {
            print(&Figure {
                name: crate::report::leak(format!("{name}_{suffix}")),
                unit: "MiB/s",
                ours: figure,
                limit: None,
                peer: None,
            });
        }
    }
}

/// Starts timed per run, taking turns (a pool, then a raw child): one start is one
/// sample, and a start's cost swings with what the machine did just before.
const STARTS: usize = 7;

fn startup() {
    let (mut ours, mut limits, mut floors) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..STARTS {
        floors.push(start_children(POOL_SIZE));
        let started = std::time::Instant::now();
        let pool = process_pool(CAP);
        pool.submit(echo, 1).result().unwrap();
        ours.push(started.elapsed().as_secs_f64());
        drop(pool);
        let (raw, limit) = EchoChild::start();
        limits.push(limit);
        drop(raw);
    }
    let limit = Some(quantile(&limits, 0.5) * 1e3);
    print(&Figure {
        name: "startup",
        unit: "ms",
        ours: quantile(&ours, 0.5) * 1e3,
        limit,
        peer: None,
    });
    // The floor of a pool of `POOL_SIZE` processes (`floors.rs`).
    print(&Figure {
        name: "startup_children_floor",
        unit: "ms",
        ours: quantile(&floors, 0.5) * 1e3,
        limit,
        peer: None,
    });
}
