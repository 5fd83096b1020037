//! The round-trip cases: lone `submit(..).result()` calls on the thread and process pools,
//! taking turns with the raw limit, the floors and the peer. Beside each, informational,
//! the same calls on a pool with the `Warm` balancer, which keeps lone works on one worker
//! (the default, `RoundRobin`, hands each to the other).

use aplex::balance::Warm;
use aplex::{ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor};

use crate::cases::{process_pool, thread_pool, POOL_SIZE};
use crate::floors::{CallerReads, HandedOff};
use crate::measure::{latencies_taking_turns, quantile};
use crate::raw::{EchoChild, EchoMessage, RawThread};
use crate::report::{print, Figure};
use crate::works::echo;

/// The cap of the pools measured here, as in the other cases.
const CAP: usize = 300;

pub(crate) fn thread_latency(calls: usize) {
    let pool = thread_pool(CAP);
    let warm = ThreadAsyncPoolExecutor::builder()
        .pool_size(POOL_SIZE)
        .max_works_per_worker(CAP)
        .load_balancer(Warm::default())
        .build()
        .expect("thread pool");
    let raw = RawThread::start();
    let peer = tokio_util::task::LocalPoolHandle::new(POOL_SIZE);
    let peer_call =
        |x: u64| futures::executor::block_on(peer.spawn_pinned(move || async move { x })).unwrap();
    for x in 0..500 {
        pool.submit(echo, x).result().unwrap();
        warm.submit(echo, x).result().unwrap();
        raw.round_trip(x);
        peer_call(x);
    }
    let [ours, limit, peer, warm] = latencies_taking_turns(
        calls,
        [
            &mut |x| assert_eq!(pool.submit(echo, x).result(), Ok(x)),
            &mut |x| assert_eq!(raw.round_trip(x), x),
            &mut |x| assert_eq!(peer_call(x), x),
            &mut |x| assert_eq!(warm.submit(echo, x).result(), Ok(x)),
        ],
    );
    latency_figures(
        ["thread_latency_median", "thread_latency_p99"],
        &ours,
        &limit,
        &peer,
    );
    beside_limit("thread_latency_warm_balancer", &warm, &limit);
}

pub(crate) fn process_latency(calls: usize) {
    let pool = process_pool(CAP);
    let warm = ProcessAsyncPoolExecutor::builder()
        .pool_size(POOL_SIZE)
        .max_works_per_worker(CAP)
        .load_balancer(Warm::default())
        .build()
        .expect("process pool");
    let (raw, _) = EchoChild::start();
    let handed_off = HandedOff::start();
    let caller_reads = CallerReads::start();
    let peer = crate::cases::procspawn_pool();
    let peer_call = |x: u64| peer.spawn(x, |x: u64| x).join().unwrap();
    for x in 0..300 {
        pool.submit(echo, x).result().unwrap();
        warm.submit(echo, x).result().unwrap();
        raw.round_trip(EchoMessage::One(x));
        handed_off.round_trip(x);
        caller_reads.round_trip(x);
        peer_call(x);
    }
    let [ours, limit, floor, reads_floor, peer_latencies, warm] = latencies_taking_turns(
        calls,
        [
            &mut |x| assert_eq!(pool.submit(echo, x).result(), Ok(x)),
            &mut |x| {
                raw.round_trip(EchoMessage::One(x));
            },
            &mut |x| assert_eq!(handed_off.round_trip(x), x),
            &mut |x| assert_eq!(caller_reads.round_trip(x), x),
            &mut |x| assert_eq!(peer_call(x), x),
            &mut |x| assert_eq!(warm.submit(echo, x).result(), Ok(x)),
        ],
    );
    latency_figures(
        ["process_latency_median", "process_latency_p99"],
        &ours,
        &limit,
        &peer_latencies,
    );
    // The floors of a pool whose caller does not read the worker's socket, and of a
    // pool of one whose caller does (`floors.rs`).
    beside_limit("process_latency_handed_off_floor", &floor, &limit);
    beside_limit("process_latency_caller_reads_floor", &reads_floor, &limit);
    beside_limit("process_latency_warm_balancer", &warm, &limit);
    peer.shutdown();
}

fn latency_figures(names: [&'static str; 2], ours: &[f64], limit: &[f64], peer: &[f64]) {
    for (name, q) in names.into_iter().zip([0.5, 0.99]) {
        print(&Figure {
            name,
            unit: "us",
            ours: quantile(ours, q),
            limit: Some(quantile(limit, q)),
            peer: Some(quantile(peer, q)),
        });
    }
}

/// An informational median (a floor, or the `Warm` balancer's) beside the limit's.
fn beside_limit(name: &'static str, latencies: &[f64], limit: &[f64]) {
    print(&Figure {
        name,
        unit: "us",
        ours: quantile(latencies, 0.5),
        limit: Some(quantile(limit, 0.5)),
        peer: None,
    });
}
