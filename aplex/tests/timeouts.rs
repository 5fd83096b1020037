//! Timeouts beyond the shared suite (`pool_suite/timeouts.rs`): a map chunk past its
//! timeout ends the map, and a process pool built with `kill_on_timeout` kills the worker
//! of a blocking work past its time.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use aplex::{
    Clock, Error, ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor, WorkOptions, WorkerExit,
};
use common::{scratch_dir, wait_until};

const SHORT: Duration = Duration::from_millis(30);

fn short() -> WorkOptions {
    WorkOptions::new().timeout(SHORT)
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
    let expected: Vec<Result<u64, Error>> = vec![
        Ok(0),
        Ok(1),
        Ok(2),
        Err(Error::TimedOut { clock: Clock::Work }),
    ];
    assert_eq!(got, expected);
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
    assert_eq!(
        stuck.result(),
        Err(Error::TimedOut {
            clock: Clock::BlockingWork
        })
    );
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
