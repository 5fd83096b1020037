//! Per-work timeouts (a pool default, per submit, per map) on both pools: async works
//! past their time are aborted where they run and resolve `TimedOut`; blocking works are
//! left to finish while the caller stops waiting — or, in a process pool built with
//! `kill_on_timeout`, their worker is killed and replaced.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aplex::{Error, ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor, WorkOptions, WorkerExit};
use common::{scratch_dir, wait_until, BlockingGate, DropCounter};

const SHORT: Duration = Duration::from_millis(30);

fn short() -> WorkOptions {
    WorkOptions::new().timeout(SHORT)
}

#[test]
fn an_async_work_past_its_timeout_is_aborted_on_its_thread_worker() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    let dropped = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicBool::new(false));
    let (d, s) = (Arc::clone(&dropped), Arc::clone(&started));
    let stuck = pool.submit_with(
        move |()| async move {
            let _guard = DropCounter(d);
            s.store(true, Ordering::SeqCst);
            std::future::pending::<()>().await
        },
        (),
        short(),
    );
    assert_eq!(stuck.result(), Err(Error::TimedOut));
    wait_until("the work's future is dropped on the worker", || {
        dropped.load(Ordering::SeqCst) == 1
    });
    assert!(started.load(Ordering::SeqCst));
    wait_until("its slot is free", || pool.workloads() == [0]);
    assert_eq!(pool.submit(|x: u8| async move { x }, 4).result(), Ok(4));
}

#[test]
fn a_blocking_work_past_its_timeout_is_left_to_finish() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    let gate = BlockingGate::new();
    let finished = Arc::new(AtomicBool::new(false));
    let (g, f) = (gate.clone(), Arc::clone(&finished));
    let slow = pool.submit_with(
        aplex::blocking(move |()| {
            g.pass();
            f.store(true, Ordering::SeqCst);
        }),
        (),
        short(),
    );
    assert_eq!(
        slow.result(),
        Err(Error::TimedOut),
        "the caller stops waiting"
    );
    assert_eq!(pool.workloads(), [1], "the work still holds its slot");
    gate.open();
    wait_until("the work finishes anyway", || {
        finished.load(Ordering::SeqCst)
    });
    wait_until("and frees its slot", || pool.workloads() == [0]);
}

#[test]
fn the_pool_default_applies_unless_a_work_sets_its_own() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .work_timeout(SHORT)
        .build()
        .unwrap();
    let by_default = pool.submit(|()| std::future::pending::<()>(), ());
    assert_eq!(by_default.result(), Err(Error::TimedOut));
    let patient = pool.submit_with(
        |ms: u64| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            ms
        },
        60,
        WorkOptions::new().timeout(Duration::from_secs(60)),
    );
    assert_eq!(patient.result(), Ok(60), "its own, longer timeout wins");
    let quick = pool.submit(|x: u8| async move { x }, 1);
    assert_eq!(
        quick.result(),
        Ok(1),
        "works within their time are untouched"
    );
}

#[test]
fn a_map_chunk_past_its_timeout_ends_the_map() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .unwrap();
    let got: Vec<Result<u64, Error>> = pool
        .map(
            |x: u64| async move {
                if x == 3 {
                    std::future::pending::<()>().await;
                }
                x
            },
            0..10,
        )
        .work_timeout(SHORT)
        .collect();
    let expected: Vec<Result<u64, Error>> = vec![Ok(0), Ok(1), Ok(2), Err(Error::TimedOut)];
    assert_eq!(got, expected);
}

/// Marks `dir/started`, sleeps an hour, marks `dir/finished`; marks `dir/dropped` if its
/// future is dropped.
#[aplex::work]
async fn long_async(dir: PathBuf) -> u8 {
    struct Touch(PathBuf);
    impl Drop for Touch {
        fn drop(&mut self) {
            let _ = std::fs::write(&self.0, b"");
        }
    }
    let _guard = Touch(dir.join("dropped"));
    std::fs::write(dir.join("started"), b"").unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    std::fs::write(dir.join("finished"), b"").unwrap();
    1
}

/// Marks `dir/started`, waits for `dir/go`, marks `dir/finished`, returns 7.
#[aplex::work]
fn wait_for_go(dir: PathBuf) -> u8 {
    std::fs::write(dir.join("started"), b"").unwrap();
    while !dir.join("go").exists() {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::fs::write(dir.join("finished"), b"").unwrap();
    7
}

#[aplex::work]
async fn nap(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

#[test]
fn an_async_work_past_its_timeout_is_aborted_in_its_process() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    let dir = scratch_dir("timeout-async");
    assert_eq!(
        pool.submit_with(long_async, dir.clone(), short()).result(),
        Err(Error::TimedOut)
    );
    wait_until("the child dropped the work's future", || {
        dir.join("dropped").exists()
    });
    assert!(!dir.join("finished").exists());
    wait_until("its slot is free", || pool.workloads() == [0]);
}

#[test]
fn a_blocking_process_work_past_its_timeout_is_left_to_finish_by_default() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    let pid = pool.worker_pids()[0];
    let dir = scratch_dir("timeout-blocking");
    assert_eq!(
        pool.submit_with(aplex::blocking(wait_for_go), dir.clone(), short())
            .result(),
        Err(Error::TimedOut)
    );
    std::fs::write(dir.join("go"), b"").unwrap();
    wait_until("the work finishes anyway", || dir.join("finished").exists());
    assert_eq!(pool.worker_pids()[0], pid, "the worker was not killed");
}

#[test]
fn kill_on_timeout_kills_the_worker_of_a_blocking_work_and_its_other_works_crash() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .kill_on_timeout(true)
        .build()
        .unwrap();
    let victim = pool.worker_pids()[0].unwrap();
    let dir = scratch_dir("timeout-kill");
    let bystander = pool.submit(nap, 3_600_000);
    let stuck = pool.submit_with(aplex::blocking(wait_for_go), dir.clone(), short());
    assert_eq!(stuck.result(), Err(Error::TimedOut));
    assert_eq!(
        bystander.result(),
        Err(Error::WorkerCrashed {
            worker: 0,
            exit: WorkerExit::Signal(libc::SIGKILL)
        }),
        "the other work on the killed worker fails as crashed"
    );
    wait_until("the worker is replaced", || {
        pool.worker_pids()[0].is_some_and(|pid| pid != victim)
    });
    assert!(!dir.join("finished").exists());
    assert_eq!(pool.submit(nap, 1).result(), Ok(1));
}
