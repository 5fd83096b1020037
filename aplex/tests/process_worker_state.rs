//! Per-worker state on the process pool: made in each worker process by a function
//! marked `#[aplex::worker_state]`, once per process (again in a process that replaces a
//! crashed one), reached by async and blocking works alike; a maker that fails or panics
//! fails `build()` naming the worker, and a function not registered as a maker is a
//! `BuildError` for the setting.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use aplex::{blocking, worker_state, Error, ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor};
use common::wait_until;

/// What each worker process keeps: which worker it is, in which process, and how many
/// works used it.
struct Counter {
    worker: usize,
    pid: u32,
    uses: AtomicUsize,
}

#[aplex::worker_state]
fn open_counter(worker: usize) -> Result<Counter, String> {
    Ok(Counter {
        worker,
        pid: std::process::id(),
        uses: AtomicUsize::new(0),
    })
}

/// Worker index, pid of the state's process, this work's pid and the state's use count.
#[aplex::work]
fn use_blocking(_: ()) -> (usize, u32, u32, usize) {
    let counter = worker_state::<Counter>().expect("every worker has one");
    let uses = counter.uses.fetch_add(1, Ordering::SeqCst) + 1;
    (counter.worker, counter.pid, std::process::id(), uses)
}

#[aplex::work]
async fn use_async(_: ()) -> (usize, u32, u32, usize) {
    tokio::task::yield_now().await;
    let counter = worker_state::<Counter>().expect("every worker has one");
    let uses = counter.uses.fetch_add(1, Ordering::SeqCst) + 1;
    (counter.worker, counter.pid, std::process::id(), uses)
}

#[aplex::work]
fn exit_now(_: ()) -> u8 {
    std::process::exit(3)
}

#[aplex::worker_state]
fn refuse_second(worker: usize) -> Result<(), String> {
    if worker == 1 {
        Err("no licence for worker 1".into())
    } else {
        Ok(())
    }
}

#[aplex::worker_state]
fn explode(_: usize) -> Result<(), String> {
    panic!("the model file is corrupt")
}

/// Registered as a work, not as a maker.
#[aplex::work]
fn not_a_maker(worker: usize) -> Result<u8, String> {
    Ok(worker as u8)
}

fn unregistered(_: usize) -> Result<u8, String> {
    Ok(0)
}

#[test]
fn each_worker_process_makes_its_state_once_and_every_work_on_it_reaches_it() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .worker_state(open_counter)
        .build()
        .unwrap();
    let mut seen: Vec<(usize, u32, u32, usize)> = Vec::new();
    for _ in 0..10 {
        seen.push(pool.submit(blocking(use_blocking), ()).result().unwrap());
        seen.push(pool.submit(use_async, ()).result().unwrap());
    }
    for &(_, made_in, ran_in, _) in &seen {
        assert_eq!(made_in, ran_in, "the state lives in its worker's process");
    }
    for worker in 0..2 {
        let uses: Vec<usize> = seen
            .iter()
            .filter(|seen| seen.0 == worker)
            .map(|seen| seen.3)
            .collect();
        let expected: Vec<usize> = (1..=uses.len()).collect();
        assert_eq!(
            uses, expected,
            "worker {worker}: one state, kept across works"
        );
    }
    assert_eq!(
        seen.iter()
            .map(|seen| seen.0)
            .collect::<std::collections::BTreeSet<_>>(),
        [0, 1].into(),
        "both workers, each with its own index"
    );
}

#[test]
fn a_process_that_replaces_a_crashed_one_makes_its_state_again() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .worker_state(open_counter)
        .build()
        .unwrap();
    let (worker, first_pid, _, uses) = pool.submit(blocking(use_blocking), ()).result().unwrap();
    assert_eq!((worker, uses), (0, 1));
    assert!(matches!(
        pool.submit(blocking(exit_now), ()).result(),
        Err(Error::WorkerCrashed { .. })
    ));
    wait_until("the worker is replaced", || {
        pool.worker_pids()[0].is_some_and(|pid| pid != first_pid)
    });
    let (worker, pid, _, uses) = pool.submit(blocking(use_blocking), ()).result().unwrap();
    assert_ne!(pid, first_pid);
    assert_eq!((worker, uses), (0, 1), "a fresh state for the same worker");
}

#[test]
fn a_maker_that_fails_or_panics_fails_build_naming_the_worker() {
    let failing = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .worker_state(refuse_second)
        .build()
        .unwrap_err();
    assert_eq!(failing.worker(), Some(1), "{failing}");
    assert!(
        failing.to_string().contains("no licence for worker 1"),
        "{failing}"
    );
    let panicking = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .worker_state(explode)
        .build()
        .unwrap_err();
    assert_eq!(panicking.worker(), Some(0), "{panicking}");
    assert!(
        panicking.to_string().contains("the model file is corrupt"),
        "{panicking}"
    );
}

/// A worker whose state fails exits right after its hello: whether the pool sees the
/// hello or the exit first, the error says why (the exit won, 5 builds in 100, beside two
/// busy loops, before the spawn read the hello it had already accepted).
#[test]
fn a_state_that_fails_at_once_is_named_however_the_exit_races_the_hello() {
    for attempt in 0..20 {
        let error = ProcessAsyncPoolExecutor::builder()
            .pool_size(2)
            .worker_state(refuse_second)
            .build()
            .unwrap_err();
        assert!(
            error.to_string().contains("no licence for worker 1"),
            "attempt {attempt}: {error}"
        );
    }
}

#[test]
fn a_function_not_marked_as_a_maker_is_refused_at_build() {
    for (error, hint) in [
        (
            ProcessAsyncPoolExecutor::builder()
                .worker_state(not_a_maker)
                .build()
                .unwrap_err(),
            "#[aplex::worker_state]` instead of `#[aplex::work]",
        ),
        (
            ProcessAsyncPoolExecutor::builder()
                .worker_state(unregistered)
                .build()
                .unwrap_err(),
            "marked `#[aplex::worker_state]`",
        ),
    ] {
        assert_eq!(error.setting(), Some("worker_state"), "{error}");
        assert!(error.to_string().contains(hint), "{error}");
    }
}

#[test]
fn the_same_maker_serves_the_thread_pool() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .worker_state(open_counter)
        .build()
        .unwrap();
    let (worker, pid, ran_in, uses) = pool.submit(blocking(use_blocking), ()).result().unwrap();
    assert_eq!((worker, uses), (0, 1));
    assert_eq!(pid, ran_in);
    assert_eq!(
        pid,
        std::process::id(),
        "threads: the state is in this process"
    );
}
