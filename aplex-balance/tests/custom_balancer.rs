//! A custom balancer written against `aplex-balance` alone (this crate has no other
//! dependency), proving the crate re-exports everything a balancer needs.

use std::sync::atomic::AtomicUsize;

use aplex_balance::testing::worker_view;
use aplex_balance::{
    Average, LoadBalancer, Meta, Random, RoundRobin, Warm, WorkerInfo, WorkerView,
};

/// Prefers the worker named in the meta; otherwise the least loaded available one.
#[derive(Debug, Default)]
struct PreferNamed {
    fallback: Average,
}

impl LoadBalancer for PreferNamed {
    fn get_proper_worker(&mut self, workers: &WorkerView<'_>, meta: Option<&Meta>) -> usize {
        let wanted = meta.and_then(|meta| meta.downcast_ref::<&str>());
        let named = wanted.and_then(|name| {
            workers
                .workers()
                .iter()
                .find(|info| info.name == *name && workers.is_available(info.index))
        });
        match named {
            Some(info) => info.index,
            None => self.fallback.get_proper_worker(workers, meta),
        }
    }
}

fn infos(count: usize) -> Vec<WorkerInfo> {
    (0..count)
        .map(|index| WorkerInfo::new(index, format!("w{index}"), 1))
        .collect()
}

fn loads(values: &[usize]) -> Vec<AtomicUsize> {
    values.iter().copied().map(AtomicUsize::new).collect()
}

#[test]
fn a_custom_balancer_needs_only_this_crate() {
    let infos = infos(3);
    let loads = loads(&[1, 0, 3]);
    let view = worker_view(&infos, &loads, 3);
    let mut balancer = PreferNamed::default();
    let meta: &Meta = &"w0";
    assert_eq!(balancer.get_proper_worker(&view, Some(meta)), 0);
    let full: &Meta = &"w2";
    assert_eq!(
        balancer.get_proper_worker(&view, Some(full)),
        1,
        "a full worker is skipped"
    );
    assert_eq!(balancer.get_proper_worker(&view, None), 1);
}

#[test]
fn built_ins_only_choose_available_workers() {
    let infos = infos(4);
    let loads = loads(&[2, 1, 2, 2]);
    let view = worker_view(&infos, &loads, 2);
    assert_eq!(view.available_workers().collect::<Vec<_>>(), [1]);
    let mut balancers: Vec<Box<dyn LoadBalancer>> = vec![
        Box::new(RoundRobin::default()),
        Box::new(Random::default()),
        Box::new(Average::default()),
        Box::new(Warm::default()),
    ];
    for balancer in &mut balancers {
        for _ in 0..20 {
            assert_eq!(balancer.get_proper_worker(&view, None), 1);
        }
    }
}

#[test]
fn average_breaks_ties_round_robin() {
    let infos = infos(3);
    let loads = loads(&[0, 0, 0]);
    let view = worker_view(&infos, &loads, 5);
    let mut average = Average::default();
    let picks: Vec<usize> = (0..6)
        .map(|_| average.get_proper_worker(&view, None))
        .collect();
    assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
}

#[test]
fn random_covers_every_available_worker() {
    let infos = infos(4);
    let loads = loads(&[0, 5, 0, 0]);
    let view = worker_view(&infos, &loads, 5);
    let mut random = Random::with_seed(1);
    let mut seen = [0usize; 4];
    for _ in 0..400 {
        seen[random.get_proper_worker(&view, None)] += 1;
    }
    assert_eq!(seen[1], 0, "the full worker is never picked");
    assert!(seen[0] > 0 && seen[2] > 0 && seen[3] > 0, "{seen:?}");
}
