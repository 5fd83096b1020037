//! Cancelling works on the process pool: a queued work never runs, a running async work
//! is aborted inside the child (seen by the side effects it leaves), and a running
//! blocking work cannot be cancelled and still delivers its result.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use aplex::{Error, ProcessAsyncPoolExecutor};
use common::{scratch_dir, wait_until};

/// Writes `path` when dropped: proof that a future was dropped in the child.
struct TouchOnDrop(PathBuf);

impl Drop for TouchOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.0, b"dropped");
    }
}

/// Marks `dir/started`, then sleeps an hour, then marks `dir/finished`; marks
/// `dir/dropped` if its future is dropped.
#[aplex::work]
async fn long_async(dir: PathBuf) -> u8 {
    let _guard = TouchOnDrop(dir.join("dropped"));
    std::fs::write(dir.join("started"), b"").unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    std::fs::write(dir.join("finished"), b"").unwrap();
    1
}

/// Marks `dir/ran`.
#[aplex::work]
fn touch(dir: PathBuf) -> u8 {
    std::fs::write(dir.join("ran"), b"").unwrap();
    2
}

/// Marks `dir/started`, then waits for `dir/go`, then returns 42.
#[aplex::work]
fn wait_for_go(dir: PathBuf) -> u32 {
    std::fs::write(dir.join("started"), b"").unwrap();
    while !dir.join("go").exists() {
        std::thread::sleep(Duration::from_millis(1));
    }
    42
}

fn single_slot_pool() -> ProcessAsyncPoolExecutor {
    ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .max_works_per_worker(1)
        .build()
        .unwrap()
}

fn exists(dir: &Path, name: &str) -> bool {
    dir.join(name).exists()
}

#[test]
fn a_queued_work_is_cancelled_and_never_runs() {
    let pool = single_slot_pool();
    let dir = scratch_dir("queued");
    let blocker = pool.submit(long_async, dir.clone());
    let queued = pool.submit(aplex::blocking(touch), dir.clone());
    assert_eq!(pool.pending(), 1);
    assert!(queued.cancel());
    assert_eq!(queued.result(), Err(Error::Cancelled));
    assert!(blocker.cancel());
    // A later work runs after the slot frees, so the cancelled one had its chance to run.
    let probe_dir = scratch_dir("queued-probe");
    assert_eq!(
        pool.submit(aplex::blocking(touch), probe_dir.clone())
            .result(),
        Ok(2)
    );
    assert!(exists(&probe_dir, "ran"));
    assert!(!exists(&dir, "ran"), "the cancelled work must never run");
}

#[test]
fn a_running_async_work_is_aborted_in_the_child() {
    let pool = single_slot_pool();
    let dir = scratch_dir("running-async");
    let running = pool.submit(long_async, dir.clone());
    wait_until("the work started in the child", || exists(&dir, "started"));
    assert!(running.cancel());
    assert_eq!(running.result(), Err(Error::Cancelled));
    wait_until("the child dropped the work's future", || {
        exists(&dir, "dropped")
    });
    wait_until("the slot is free again", || pool.workloads() == [0]);
    assert!(!exists(&dir, "finished"));
    assert_eq!(
        pool.submit(aplex::blocking(touch), dir.clone()).result(),
        Ok(2),
        "the worker still serves"
    );
}

#[test]
fn a_running_blocking_work_is_not_cancelled_and_its_result_arrives() {
    let pool = single_slot_pool();
    let dir = scratch_dir("running-blocking");
    let running = pool.submit(aplex::blocking(wait_for_go), dir.clone());
    wait_until("the blocking work started", || exists(&dir, "started"));
    assert!(!running.cancel());
    std::fs::write(dir.join("go"), b"").unwrap();
    assert_eq!(running.result(), Ok(42));
}

#[test]
fn shutdown_now_aborts_running_async_works_in_the_children() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .unwrap();
    let dirs: Vec<PathBuf> = (0..2)
        .map(|i| scratch_dir(&format!("shutdown-now-{i}")))
        .collect();
    let running: Vec<_> = dirs
        .iter()
        .map(|dir| pool.submit(long_async, dir.clone()))
        .collect();
    wait_until("both works started", || {
        dirs.iter().all(|dir| exists(dir, "started"))
    });
    pool.shutdown_now();
    for future in running {
        assert_eq!(future.result(), Err(Error::Cancelled));
    }
    assert!(
        dirs.iter().all(|dir| exists(dir, "dropped")),
        "the children dropped the works"
    );
    assert_eq!(pool.worker_pids(), [None, None]);
}
