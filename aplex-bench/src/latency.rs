//! The round-trip cases: lone `submit(..).result()` calls on the thread and process pools,
//! taking turns with the raw limit, the floors and the peer; and, as cases of their own,
//! informational, the same calls on a pool with the `Warm` balancer, which keeps lone
//! works on one worker (the default, `RoundRobin`, hands each to the other worker).

use aplex::balance::Warm;

use crate::cases::{
    process_pool, process_pool_balanced, procspawn_pool, thread_pool, thread_pool_balanced, CAP,
    POOL_SIZE,
};
use crate::floors::{CallerReads, HandedOff};
use crate::measure::{latencies_taking_turns, quantile};
use crate::raw::{EchoChild, EchoMessage, RawThread};
use crate::report::{print, Figure};
use crate::works::echo;

pub(crate) fn thread_latency(calls: usize) {
    let pool = thread_pool(CAP);
    let raw = RawThread::start();
    let peer = tokio_util::task::LocalPoolHandle::new(POOL_SIZE);
    let peer_call =
        |x: u64| futures::executor::block_on(peer.spawn_pinned(move || async move { x })).unwrap();
    for x in 0..500 {
        pool.submit(echo, x).result().unwrap();
        raw.round_trip(x);
        peer_call(x);
    }
    let [ours, limit, peer] = latencies_taking_turns(
        calls,
        [
            &mut |x| assert_eq!(pool.submit(echo, x).result(), Ok(x)),
            &mut |x| assert_eq!(raw.round_trip(x), x),
            &mut |x| assert_eq!(peer_call(x), x),
        ],
    );
    latency_figures(
        ["thread_latency_median", "thread_latency_p99"],
        &ours,
        &limit,
        &peer,
    );
}

pub(crate) fn process_latency(calls: usize) {
    let pool = process_pool(CAP);
    let (raw, _) = EchoChild::start();
    let handed_off = HandedOff::start();
    let caller_reads = CallerReads::start();
    let peer = procspawn_pool();
    let peer_call = |x: u64| peer.spawn(x, |x: u64| x).join().unwrap();
    for x in 0..300 {
        pool.submit(echo, x).result().unwrap();
        raw.round_trip(EchoMessage::One(x));
        handed_off.round_trip(x);
        caller_reads.round_trip(x);
        peer_call(x);
    }
    let [ours, limit, floor, reads_floor, peer_latencies] = latencies_taking_turns(
        calls,
        [
            &mut |x| assert_eq!(pool.submit(echo, x).result(), Ok(x)),
            &mut |x| {
                raw.round_trip(EchoMessage::One(x));
            },
            &mut |x| assert_eq!(handed_off.round_trip(x), x),
            &mut |x| assert_eq!(caller_reads.round_trip(x), x),
            &mut |x| assert_eq!(peer_call(x), x),
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
    peer.shutdown();
}

/// Lone calls on a thread pool with the `Warm` balancer, taking turns with the limit.
pub(crate) fn thread_latency_warm(calls: usize) {
    let pool = thread_pool_balanced(CAP, Warm::default());
    let raw = RawThread::start();
    warm_beside_limit(
        "thread_latency_warm_balancer",
        calls,
        500,
        &mut |x| assert_eq!(pool.submit(echo, x).result(), Ok(x)),
        &mut |x| assert_eq!(raw.round_trip(x), x),
    );
}

/// Lone calls on a process pool with the `Warm` balancer, taking turns with the limit.
pub(crate) fn process_latency_warm(calls: usize) {
    let pool = process_pool_balanced(CAP, Warm::default());
    let (raw, _) = EchoChild::start();
    warm_beside_limit(
        "process_latency_warm_balancer",
        calls,
        300,
        &mut |x| assert_eq!(pool.submit(echo, x).result(), Ok(x)),
        &mut |x| {
            raw.round_trip(EchoMessage::One(x));
        },
    );
}

/// `warm_ups` calls of each, not measured, then `calls` of each taking turns; prints the
/// `Warm` pool's median as `name`, beside the limit's.
fn warm_beside_limit(
    name: &'static str,
    calls: usize,
    warm_ups: u64,
    warm: &mut dyn FnMut(u64),
    limit: &mut dyn FnMut(u64),
) {
    for x in 0..warm_ups {
        warm(x);
        limit(x);
    }
    let [warm, limit] = latencies_taking_turns(calls, [warm, limit]);
    beside_limit(name, &warm, &limit);
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
