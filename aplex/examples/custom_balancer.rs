//! Load balancing: the built-in balancers, and a custom one written against
//! `aplex-balance` alone (the only crate a balancer needs), steered by the
//! `load_balancing_meta` of each submit.
//!
//! Run it with `cargo run --example custom_balancer`.

use std::collections::BTreeMap;

use aplex::ThreadAsyncPoolExecutor;
use aplex_balance::{Average, LoadBalancer, Meta, Random, RoundRobin, WorkerView};

/// Keeps worker 0 free for urgent works: a work whose meta is `"urgent"` goes to worker
/// 0 if it has room; every other work goes to the least loaded of the other workers.
#[derive(Debug, Default)]
struct ReserveFirstForUrgent;

impl LoadBalancer for ReserveFirstForUrgent {
    fn get_proper_worker(&mut self, workers: &WorkerView<'_>, meta: Option<&Meta>) -> usize {
        let urgent = meta.and_then(|meta| meta.downcast_ref::<&str>()) == Some(&"urgent");
        if urgent && workers.is_available(0) {
            return 0;
        }
        let others = workers.available_workers().filter(|&worker| worker != 0);
        others
            .min_by_key(|&worker| workers.workload(worker))
            .or_else(|| workers.available_workers().next())
            .expect("the pool asks only when a worker is available")
    }
}

async fn worker_name(_: ()) -> String {
    std::thread::current().name().unwrap_or("?").to_owned()
}

fn tally(names: Vec<String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for name in names {
        *counts.entry(name).or_default() += 1;
    }
    counts
}

fn spread(
    balancer: impl LoadBalancer,
) -> Result<BTreeMap<String, usize>, Box<dyn std::error::Error>> {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(3)
        .load_balancer(balancer)
        .build()?;
    let names: Vec<String> = pool
        .map(worker_name, std::iter::repeat_n((), 300))
        .collect::<Result<_, _>>()?;
    Ok(tally(names))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("RoundRobin: {:?}", spread(RoundRobin::default())?);
    println!("Random:     {:?}", spread(Random::default())?);
    println!("Average:    {:?}", spread(Average::default())?);

    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(3)
        .load_balancer(ReserveFirstForUrgent)
        .build()?;
    let urgent = pool
        .submit_with(worker_name, (), aplex::WorkOptions::new().meta("urgent"))
        .result()?;
    let routine: Vec<String> = pool
        .map(worker_name, std::iter::repeat_n((), 100))
        .collect::<Result<_, _>>()?;
    println!(
        "urgent work ran on {urgent}; routine works: {:?}",
        tally(routine)
    );
    Ok(())
}
