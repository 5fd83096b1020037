//! Load balancing on the thread pool, beyond the shared suite (`pool_suite/balance.rs`):
//! each built-in balancer's rule observed from inside the works (by worker thread name),
//! and balancers that cannot break the cap.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use aplex::balance::{Average, LoadBalancer, Meta, Random, RoundRobin, Warm, WorkerView};
use aplex::ThreadAsyncPoolExecutor;
use common::{thread_name, wait_until, Gate};

fn pool_with(
    prefix: &str,
    size: usize,
    cap: usize,
    balancer: impl LoadBalancer,
) -> ThreadAsyncPoolExecutor {
    ThreadAsyncPoolExecutor::builder()
        .pool_size(size)
        .max_works_per_worker(cap)
        .load_balancer(balancer)
        .thread_name_prefix(prefix)
        .build()
        .unwrap()
}

async fn where_am_i(_: ()) -> String {
    thread_name()
}

/// Submits a work that waits at `gate`, then returns the worker it ran on.
fn held_at(pool: &ThreadAsyncPoolExecutor, gate: &Gate) -> aplex::WorkFuture<String> {
    let gate = gate.clone();
    pool.submit(
        move |()| async move {
            gate.pass().await;
            thread_name()
        },
        (),
    )
}

#[test]
fn round_robin_skips_full_workers() {
    let pool = pool_with("rrfull-", 2, 1, RoundRobin::default());
    let gate = Gate::new();
    let holder = held_at(&pool, &gate);
    wait_until("worker 0 is full", || pool.workloads() == [1, 0]);
    let next = pool.submit(where_am_i, ()).result().unwrap();
    let after = pool.submit(where_am_i, ()).result().unwrap();
    assert_eq!((next.as_str(), after.as_str()), ("rrfull-1", "rrfull-1"));
    gate.open();
    assert_eq!(holder.result().unwrap(), "rrfull-0");
}

/// A work that waits at the gate of the worker it runs on, then returns that worker.
fn held_per_worker(
    gates: &Arc<Vec<Gate>>,
) -> impl FnOnce(()) -> std::pin::Pin<Box<dyn std::future::Future<Output = String> + Send>>
       + Send
       + 'static {
    let gates = Arc::clone(gates);
    move |()| {
        Box::pin(async move {
            let me = thread_name();
            let index: usize = me.trim_start_matches("avg-").parse().unwrap();
            gates[index].pass().await;
            me
        })
    }
}

#[test]
fn average_sends_each_work_to_a_least_loaded_worker() {
    let pool = pool_with("avg-", 3, 100, Average::default());
    let first_gates = Arc::new((0..3).map(|_| Gate::new()).collect::<Vec<_>>());
    let first: Vec<_> = (0..6)
        .map(|_| pool.submit(held_per_worker(&first_gates), ()))
        .collect();
    wait_until("loads are even", || pool.workloads() == [2, 2, 2]);
    first_gates[1].open();
    wait_until("worker 1 is idle", || pool.workloads() == [2, 0, 2]);
    let second_gates = Arc::new((0..3).map(|_| Gate::new()).collect::<Vec<_>>());
    let second: Vec<_> = (0..2)
        .map(|_| pool.submit(held_per_worker(&second_gates), ()))
        .collect();
    assert_eq!(
        pool.workloads(),
        [2, 2, 2],
        "both new works went to the idle worker"
    );
    for gate in first_gates.iter().chain(second_gates.iter()) {
        gate.open();
    }
    let names: Vec<String> = second.into_iter().map(|f| f.result().unwrap()).collect();
    assert_eq!(names, ["avg-1", "avg-1"]);
    let mut first_names: Vec<String> = first.into_iter().map(|f| f.result().unwrap()).collect();
    first_names.sort();
    assert_eq!(
        first_names,
        ["avg-0", "avg-0", "avg-1", "avg-1", "avg-2", "avg-2"]
    );
}

/// `Warm` moves only when the worker chosen last is busier than another, and then keeps
/// the lone works on the new one (an idle pool keeping to worker 0 is in the shared
/// suite, `pool_suite/balance.rs`).
#[test]
fn warm_moves_from_a_busier_worker_and_stays_on_the_new_one() {
    let pool = pool_with("warm-", 3, 100, Warm::default());
    let lone = || {
        wait_until("every worker is idle", || pool.workloads() == [0, 0, 0]);
        pool.submit(where_am_i, ()).result().unwrap()
    };
    assert_eq!(lone(), "warm-0", "an idle pool starts on worker 0");
    wait_until("every worker is idle", || pool.workloads() == [0, 0, 0]);
    let gate = Gate::new();
    let holder = held_at(&pool, &gate);
    wait_until("worker 0 is busy", || pool.workloads() == [1, 0, 0]);
    let moved = pool.submit(where_am_i, ()).result().unwrap();
    assert_eq!(moved, "warm-1", "worker 0 is busier: the next least loaded");
    gate.open();
    assert_eq!(holder.result().unwrap(), "warm-0");
    let after: Vec<String> = (0..5).map(|_| lone()).collect();
    assert_eq!(after, ["warm-1"; 5], "then it stays on worker 1");
}

#[test]
fn random_only_picks_available_workers() {
    let pool = pool_with("rnd-", 4, 1, Random::with_seed(7));
    for _round in 0..20 {
        wait_until("every worker is idle", || pool.workloads() == [0, 0, 0, 0]);
        let gate = Gate::new();
        let round: Vec<_> = (0..4)
            .map(|_| {
                let gate = gate.clone();
                pool.submit(
                    move |()| async move {
                        gate.pass().await;
                        thread_name()
                    },
                    (),
                )
            })
            .collect();
        let extra = pool.submit(where_am_i, ());
        assert_eq!(
            pool.pending(),
            1,
            "with every worker full, the fifth work waits"
        );
        gate.open();
        let names: HashSet<String> = round.into_iter().map(|f| f.result().unwrap()).collect();
        assert_eq!(
            names.len(),
            4,
            "each full worker got exactly one work: {names:?}"
        );
        extra.result().unwrap();
    }
}

/// Always picks worker 0, and records every meta it is given.
#[derive(Clone, Default)]
struct AlwaysFirst {
    metas: Arc<Mutex<Vec<String>>>,
}

impl LoadBalancer for AlwaysFirst {
    fn get_proper_worker(&mut self, _workers: &WorkerView<'_>, meta: Option<&Meta>) -> usize {
        let seen = match meta {
            None => "none".to_owned(),
            Some(meta) => match (meta.downcast_ref::<&str>(), meta.downcast_ref::<u32>()) {
                (Some(text), _) => (*text).to_owned(),
                (_, Some(number)) => number.to_string(),
                _ => "other".to_owned(),
            },
        };
        self.metas.lock().unwrap().push(seen);
        0
    }
}

#[test]
fn a_custom_balancer_that_picks_worker_zero_gets_every_work_there() {
    let balancer = AlwaysFirst::default();
    let pool = pool_with("first-", 3, 300, balancer.clone());
    let names: HashSet<String> = (0..20)
        .map(|_| pool.submit(where_am_i, ()))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|f| f.result().unwrap())
        .collect();
    assert_eq!(names, HashSet::from(["first-0".to_owned()]));
    assert_eq!(balancer.metas.lock().unwrap().len(), 20);
}

#[test]
fn a_balancer_returning_a_full_or_unknown_worker_cannot_break_the_cap() {
    struct Faulty;
    impl LoadBalancer for Faulty {
        fn get_proper_worker(&mut self, _workers: &WorkerView<'_>, _meta: Option<&Meta>) -> usize {
            99
        }
    }
    let pool = pool_with("faulty-", 2, 1, Faulty);
    let gate = Gate::new();
    let held: Vec<_> = (0..2)
        .map(|_| {
            let gate = gate.clone();
            pool.submit(
                move |()| async move {
                    gate.pass().await;
                    thread_name()
                },
                (),
            )
        })
        .collect();
    wait_until("both workers hold one work", || pool.workloads() == [1, 1]);
    gate.open();
    let names: HashSet<String> = held.into_iter().map(|f| f.result().unwrap()).collect();
    assert_eq!(names.len(), 2);
}
