//! A process pool that is shutting down starts no process: a worker that dies while the
//! pool drains is not replaced, and its works fail with `WorkerCrashed` (also once it
//! was told to close); the works still queued go to the workers that are left, or fail
//! with `PoolBroken` once none is.

mod common;

use std::time::Duration;

use aplex::{Error, ProcessAsyncPoolExecutor, WorkerExit};
use common::{is_running, within};

#[aplex::work]
fn exit_after(ms: u64) -> u8 {
    std::thread::sleep(Duration::from_millis(ms));
    std::process::exit(3)
}

#[aplex::work]
fn exit_at_gate(gate: std::path::PathBuf) -> u8 {
    while !gate.exists() {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::process::exit(3)
}

#[aplex::work]
async fn nap(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

fn pool_of(size: usize) -> ProcessAsyncPoolExecutor {
    ProcessAsyncPoolExecutor::builder()
        .pool_size(size)
        .max_works_per_worker(1)
        .build()
        .unwrap()
}

#[test]
fn a_worker_that_dies_during_a_draining_shutdown_is_not_replaced() {
    within(Duration::from_secs(60), || {
        let pool = pool_of(2);
        let pids: Vec<u32> = pool.worker_pids().into_iter().flatten().collect();
        let doomed = pool.submit(aplex::blocking(exit_after), 200); // worker 0 (round robin)
        let long = pool.submit(nap, 400); // worker 1
        let queued: Vec<_> = (0..4).map(|i| pool.submit(nap, i)).collect();
        pool.shutdown(true);
        assert_eq!(
            doomed.result(),
            Err(Error::WorkerCrashed {
                worker: 0,
                exit: WorkerExit::Code(3)
            })
        );
        assert_eq!(long.result(), Ok(400));
        for (i, future) in queued.into_iter().enumerate() {
            assert_eq!(
                future.result(),
                Ok(i as u64),
                "queued works finish on worker 1"
            );
        }
        assert_eq!(
            pool.restarts(),
            [0, 0],
            "no process was started during shutdown"
        );
        assert!(pids.iter().all(|&pid| !is_running(pid)));
    });
}

#[test]
fn when_every_worker_dies_during_shutdown_the_queued_works_fail() {
    within(Duration::from_secs(60), || {
        let pool = pool_of(1);
        let doomed = pool.submit(aplex::blocking(exit_after), 100);
        let queued: Vec<_> = (0..3).map(|i| pool.submit(nap, i)).collect();
        pool.shutdown(true);
        assert!(matches!(
            doomed.result(),
            Err(Error::WorkerCrashed { worker: 0, .. })
        ));
        for future in queued {
            match future.result() {
                Err(Error::PoolBroken { reason }) => {
                    assert!(reason.contains("shutting down"), "{reason}")
                }
                other => panic!("expected PoolBroken, got {other:?}"),
            }
        }
        assert_eq!(pool.restarts(), [0]);
        assert_eq!(pool.worker_pids(), [None]);
    });
}

#[test]
fn a_worker_that_dies_after_it_was_told_to_drain_fails_its_works_as_crashed() {
    within(Duration::from_secs(60), || {
        let dir = common::scratch_dir("exit-at-gate");
        let gate = dir.join("gate");
        let pool = ProcessAsyncPoolExecutor::builder()
            .pool_size(1)
            .build()
            .unwrap();
        let doomed = pool.submit(aplex::blocking(exit_at_gate), gate.clone());
        // Nothing is queued, so the worker is told to close at once; then it dies.
        pool.shutdown(false);
        std::fs::write(&gate, b"").unwrap();
        assert_eq!(
            doomed.result(),
            Err(Error::WorkerCrashed {
                worker: 0,
                exit: WorkerExit::Code(3)
            })
        );
        pool.shutdown(true);
        assert_eq!(
            pool.restarts(),
            [0],
            "no process was started during shutdown"
        );
    });
}
