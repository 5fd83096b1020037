//! Per-worker state on the thread pool: made once per worker, on its thread, and reached
//! by every work on that worker — async and blocking — with `aplex::worker_state`; a
//! maker that fails or panics fails `build()` naming the worker.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aplex::{blocking, worker_state, ThreadAsyncPoolExecutor};
use common::thread_name;

/// What each worker keeps: which worker made it, and on which thread.
struct Made {
    worker: usize,
    thread: String,
}

#[test]
fn each_worker_has_its_own_state_made_once_and_every_work_on_it_reaches_it() {
    let makes = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&makes);
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .worker_state(move |worker| {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(Made {
                worker,
                thread: thread_name(),
            })
        })
        .build()
        .unwrap();
    assert_eq!(makes.load(Ordering::SeqCst), 2, "once per worker");
    let workers = pool.workers();
    let async_seen: Vec<(usize, String, String)> = pool
        .map(
            |_: u32| async {
                let made = worker_state::<Made>().expect("a worker's state");
                (made.worker, made.thread.clone(), thread_name())
            },
            0..50,
        )
        .map(Result::unwrap)
        .collect();
    for (worker, made_on, ran_on) in &async_seen {
        assert_eq!(
            made_on, &workers[*worker].name,
            "made on its worker's thread"
        );
        assert_eq!(
            ran_on, made_on,
            "an async work runs on the thread of its worker"
        );
    }
    let blocking_seen: Vec<usize> = pool
        .map(
            blocking(|_: u32| worker_state::<Made>().expect("a worker's state").worker),
            0..50,
        )
        .map(Result::unwrap)
        .collect();
    assert!(blocking_seen.iter().all(|&worker| worker < 2));
    assert!(
        pool.submit(|()| async { worker_state::<String>().is_none() }, ())
            .result()
            .unwrap(),
        "a state of another type is not there"
    );
    assert!(worker_state::<Made>().is_none(), "not outside a work");
    assert_eq!(makes.load(Ordering::SeqCst), 2, "still once per worker");
}

#[test]
fn a_state_maker_that_fails_or_panics_fails_build_naming_the_worker() {
    let failing = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .worker_state(|worker| {
            if worker == 1 {
                Err("no database".to_owned())
            } else {
                Ok(())
            }
        })
        .build()
        .unwrap_err();
    assert_eq!(failing.worker(), Some(1));
    assert!(failing.to_string().contains("no database"), "{failing}");
    let panicking = ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .worker_state(|_| -> Result<(), String> { panic!("boom") })
        .build()
        .unwrap_err();
    assert_eq!(panicking.worker(), Some(0));
    assert!(panicking.to_string().contains("boom"), "{panicking}");
}
