//! `max_works_per_worker` on the thread pool, measured from inside the works: no worker
//! ever runs more than its cap at once. The rest of the capacity contract (FIFO order,
//! bounded queues) is in `pool_suite/capacity.rs`, for every backend.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aplex::ThreadAsyncPoolExecutor;
use common::{thread_name, wait_until, Gate};

/// Per-worker count of works running now, and the most ever seen at once.
#[derive(Default)]
struct Occupancy {
    now: HashMap<String, usize>,
    peak: HashMap<String, usize>,
}

#[test]
fn no_worker_runs_more_than_its_cap_and_every_work_completes() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .max_works_per_worker(3)
        .build()
        .unwrap();
    let occupancy = Arc::new(Mutex::new(Occupancy::default()));
    let gate = Gate::new();
    let futures: Vec<_> = (0..50u32)
        .map(|i| {
            let occupancy = Arc::clone(&occupancy);
            let gate = gate.clone();
            pool.submit(
                move |i: u32| async move {
                    let me = thread_name();
                    {
                        let mut o = occupancy.lock().unwrap();
                        let now = o.now.entry(me.clone()).or_default();
                        *now += 1;
                        let now = *now;
                        let peak = o.peak.entry(me.clone()).or_default();
                        *peak = (*peak).max(now);
                    }
                    gate.pass().await;
                    tokio::task::yield_now().await;
                    *occupancy.lock().unwrap().now.get_mut(&me).unwrap() -= 1;
                    i
                },
                i,
            )
        })
        .collect();
    wait_until("both workers are full and the rest is queued", || {
        pool.workloads() == [3, 3] && pool.pending() == 44
    });
    gate.open();
    let results: Vec<u32> = futures.into_iter().map(|f| f.result().unwrap()).collect();
    assert_eq!(results, (0..50).collect::<Vec<_>>());
    let peak = occupancy.lock().unwrap().peak.clone();
    assert_eq!(peak.len(), 2, "both workers ran works: {peak:?}");
    assert!(
        peak.values().all(|&p| p <= 3),
        "a worker exceeded its cap: {peak:?}"
    );
    // A result arrives just before its worker releases the slot.
    wait_until("every slot is released", || pool.workloads() == [0, 0]);
    assert_eq!(pool.pending(), 0);
}
