//! `max_works_per_worker` and the pending queue: no worker runs more than its cap, works
//! beyond it wait in FIFO order, and the optional queue bound refuses or waits (and never
//! deadlocks a map).

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aplex::{Error, ThreadAsyncPoolExecutor};
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

#[test]
fn queued_works_start_in_submission_order() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .max_works_per_worker(1)
        .build()
        .unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let gate = Gate::new();
    let first = {
        let gate = gate.clone();
        pool.submit(move |()| async move { gate.pass().await }, ())
    };
    let rest: Vec<_> = (0..20)
        .map(|i| {
            let order = Arc::clone(&order);
            pool.submit(
                aplex::blocking(move |i: i32| order.lock().unwrap().push(i)),
                i,
            )
        })
        .collect();
    wait_until("the rest is queued", || pool.pending() == 20);
    gate.open();
    first.result().unwrap();
    for future in rest {
        future.result().unwrap();
    }
    assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());
}

#[test]
fn a_bounded_queue_refuses_with_try_submit_and_hands_the_work_back() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .max_works_per_worker(1)
        .max_pending(2)
        .build()
        .unwrap();
    let gate = Gate::new();
    let held = |gate: &Gate| {
        let gate = gate.clone();
        move |x: u32| async move {
            gate.pass().await;
            x
        }
    };
    let running = pool.submit(held(&gate), 0);
    let queued: Vec<_> = (1..=2)
        .map(|x| pool.try_submit(held(&gate), x).unwrap())
        .collect();
    let refused = pool.try_submit(held(&gate), 3).unwrap_err();
    assert_eq!(refused.error, Error::QueueFull { capacity: 2 });
    assert_eq!(refused.work.1, 3, "the arguments come back");
    // A cancelled queued work frees its place.
    assert!(queued[0].cancel());
    let (work, args) = refused.work;
    let retried = pool.try_submit(work, args).expect("room after a cancel");
    gate.open();
    assert_eq!(running.result(), Ok(0));
    let mut queued = queued.into_iter();
    assert!(queued.next().unwrap().cancelled());
    assert_eq!(queued.next().unwrap().result(), Ok(2));
    assert_eq!(retried.result(), Ok(3));
}

#[test]
fn a_bounded_queue_makes_submit_wait_for_room() {
    let pool = Arc::new(
        ThreadAsyncPoolExecutor::builder()
            .pool_size(1)
            .max_works_per_worker(1)
            .max_pending(1)
            .build()
            .unwrap(),
    );
    let gate = Gate::new();
    let g = gate.clone();
    let running = pool.submit(move |()| async move { g.pass().await }, ());
    let queued = pool.submit(|x: u8| async move { x }, 1);
    let submitter = {
        let pool = Arc::clone(&pool);
        std::thread::spawn(move || pool.submit(|x: u8| async move { x }, 2).result())
    };
    wait_until("the third submit is waiting for room", || {
        pool.pending() == 1 && !submitter.is_finished()
    });
    gate.open();
    running.result().unwrap();
    assert_eq!(queued.result(), Ok(1));
    assert_eq!(submitter.join().unwrap(), Ok(2));
}

#[aplex::work]
async fn ident(x: u32) -> u32 {
    x
}

#[test]
fn a_map_through_a_bounded_queue_makes_progress() {
    // The map submits its burst staged; a submit that waits for room in the bounded queue
    // must first send what it staged, or nothing would ever free that room.
    for backend in ["thread", "thread-blocking", "process"] {
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            if backend == "process" {
                let pool = aplex::ProcessAsyncPoolExecutor::builder()
                    .pool_size(1)
                    .max_works_per_worker(1)
                    .max_pending(2)
                    .build()
                    .unwrap();
                let got = pool
                    .map(ident, 0..50)
                    .window(20)
                    .collect::<Result<Vec<u32>, _>>()
                    .unwrap();
                done_tx.send(got).unwrap();
                return;
            }
            let pool = ThreadAsyncPoolExecutor::builder()
                .pool_size(1)
                .max_works_per_worker(1)
                .max_pending(2)
                .build()
                .unwrap();
            let got: Vec<u32> = if backend == "thread" {
                pool.map(|x: u32| async move { x }, 0..50)
                    .window(20)
                    .collect::<Result<_, _>>()
                    .unwrap()
            } else {
                pool.map(aplex::blocking(|x: u32| x), 0..50)
                    .window(20)
                    .collect::<Result<_, _>>()
                    .unwrap()
            };
            done_tx.send(got).unwrap();
        });
        let got = done_rx
            .recv_timeout(common::PATIENCE)
            .expect("the map must not deadlock");
        assert_eq!(got, (0..50).collect::<Vec<_>>());
    }
}
