//! Balancing: the default round robin takes workers in turn, `Warm` keeps works that come
//! one at a time on one worker, and a custom balancer gets the meta each submission and
//! map passes.

use aplex::balance::{LoadBalancer, Meta, Warm, WorkerView};
use aplex::{WorkOptions, WorkerInfo};

use crate::common::wait_until;
use crate::works::whereami;

/// The index of the worker a work ran on, from where it said it ran: its process (for
/// a worker process) or its thread (for a worker thread).
fn worker_of(workers: &[WorkerInfo], (pid, thread): &(u32, String)) -> usize {
    workers
        .iter()
        .find(|worker| {
            if worker.pid == std::process::id() {
                &worker.name == thread
            } else {
                worker.pid == *pid
            }
        })
        .unwrap_or_else(|| panic!("no worker is {pid}/{thread}: {workers:?}"))
        .index
}

/// Sends each work to the worker whose index is its meta.
#[derive(Debug)]
struct ToTheMeta;

impl LoadBalancer for ToTheMeta {
    fn get_proper_worker(&mut self, workers: &WorkerView<'_>, meta: Option<&Meta>) -> usize {
        let wanted = meta.and_then(|meta| meta.downcast_ref::<usize>()).copied();
        wanted
            .filter(|&wanted| workers.is_available(wanted))
            .or_else(|| workers.available_workers().next())
            .unwrap_or(0)
    }
}

local_pool_suite! {
    #[test]
    fn round_robin_takes_the_workers_in_turn() {
        let pool = builder().pool_size(3).build().unwrap();
        let workers = pool.workers();
        let visited: Vec<usize> = (0..6)
            .map(|_| worker_of(&workers, &pool.submit(whereami, ()).result().unwrap()))
            .collect();
        assert_eq!(visited, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn warm_keeps_works_that_come_one_at_a_time_on_one_worker() {
        let pool = builder().pool_size(3).load_balancer(Warm::default()).build().unwrap();
        let workers = pool.workers();
        let visited: Vec<usize> = (0..6)
            .map(|_| {
                // The worker released (on threads, just after the result is out).
                wait_until("every worker is idle", || pool.workloads() == [0, 0, 0]);
                worker_of(&workers, &pool.submit(whereami, ()).result().unwrap())
            })
            .collect();
        assert_eq!(visited, [0; 6]);
    }

    #[test]
    fn a_custom_balancer_gets_the_meta_of_submissions_and_maps() {
        let pool = builder().pool_size(3).load_balancer(ToTheMeta).build().unwrap();
        let workers = pool.workers();
        for wanted in [2_usize, 0, 1] {
            let ran = pool.submit_with(whereami, (), WorkOptions::new().meta(wanted)).result().unwrap();
            assert_eq!(worker_of(&workers, &ran), wanted);
        }
        let mapped: Vec<usize> = pool
            .map(whereami, [(), (), ()])
            .meta(1_usize)
            .map(|ran| worker_of(&workers, &ran.unwrap()))
            .collect();
        assert_eq!(mapped, [1, 1, 1]);
    }
}
