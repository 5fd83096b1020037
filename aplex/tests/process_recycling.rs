//! Worker recycling (`max_works_per_child`): a process is replaced after it has been
//! handed N works — it drains, exits, and a fresh one takes its slot — with no failed
//! work, whether works come one at a time or many at once, and whether or not the pool
//! is shutting down meanwhile.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use aplex::{Error, ProcessAsyncPoolExecutor};
use common::{is_running, wait_until, zombie_children};

#[aplex::work]
async fn whoami(_: ()) -> u32 {
    std::process::id()
}

#[aplex::work]
async fn nap_then_whoami(ms: u64) -> u32 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    std::process::id()
}

#[test]
fn one_work_at_a_time_each_process_serves_at_most_n() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .max_works_per_child(3)
        .build()
        .unwrap();
    let pids: Vec<u32> = (0..10)
        .map(|_| pool.submit(whoami, ()).result().unwrap())
        .collect();
    let distinct: HashSet<u32> = pids.iter().copied().collect();
    assert!(
        distinct.len() >= 4,
        "10 works, at most 3 per process: {pids:?}"
    );
    for pid in &distinct {
        assert!(pids.iter().filter(|p| *p == pid).count() <= 3, "{pids:?}");
    }
    assert_eq!(pool.restarts(), [0], "a recycle is not a crash");
    assert!(pool.recycles()[0] >= 3);
}

#[test]
fn many_works_at_once_none_fails_across_recycles() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .max_works_per_child(7)
        .build()
        .unwrap();
    let outcomes: Vec<Result<u32, Error>> =
        pool.map(nap_then_whoami, (0..200).map(|i| i % 5)).collect();
    assert_eq!(outcomes.len(), 200);
    assert!(
        outcomes.iter().all(Result::is_ok),
        "no work fails: {outcomes:?}"
    );
    let pids: Vec<u32> = outcomes.into_iter().map(Result::unwrap).collect();
    let distinct: HashSet<u32> = pids.iter().copied().collect();
    for pid in &distinct {
        let served = pids.iter().filter(|p| *p == pid).count();
        assert!(
            served <= 7,
            "process {pid} served {served} works: {pids:?} recycles {:?} restarts {:?}",
            pool.recycles(),
            pool.restarts()
        );
    }
    assert_eq!(pool.restarts(), [0, 0]);
    wait_until("both slots are filled again", || {
        pool.worker_pids().iter().all(Option::is_some)
    });
    // Only this pool's processes are looked at: other tests in this binary run pools too.
    let current: HashSet<u32> = pool.worker_pids().into_iter().flatten().collect();
    let retired: Vec<u32> = distinct.difference(&current).copied().collect();
    assert!(!retired.is_empty());
    wait_until("every recycled process has exited and been reaped", || {
        let zombies = zombie_children();
        retired
            .iter()
            .all(|pid| !is_running(*pid) && !zombies.contains(pid))
    });
}

#[test]
fn a_zero_limit_is_an_invalid_setting() {
    let error = ProcessAsyncPoolExecutor::builder()
        .max_works_per_child(0)
        .build()
        .unwrap_err();
    assert_eq!(error.setting(), Some("max_works_per_child"));
}

/// Marks `dir/ran`.
#[aplex::work]
async fn touch(dir: std::path::PathBuf) -> u8 {
    std::fs::write(dir.join("ran"), b"").unwrap();
    1
}

#[test]
fn a_work_cancelled_while_waiting_for_a_recycled_worker_never_runs() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .max_works_per_child(1)
        .build()
        .unwrap();
    // The first work makes the process recycle; it cannot exit while the work sleeps.
    let sleeper = pool.submit(nap_then_whoami, 3_600_000);
    wait_until("the sleeper runs", || pool.workloads() == [1]);
    let dir = common::scratch_dir("recycle-cancel");
    let waiting = pool.submit(touch, dir.clone());
    assert!(waiting.cancel());
    assert!(sleeper.cancel());
    let probe_dir = common::scratch_dir("recycle-cancel-probe");
    assert_eq!(pool.submit(touch, probe_dir.clone()).result(), Ok(1));
    assert!(probe_dir.join("ran").exists());
    assert!(
        !dir.join("ran").exists(),
        "the cancelled work never ran in the new process"
    );
    assert_eq!(waiting.result(), Err(Error::Cancelled));
}

#[test]
fn a_draining_shutdown_runs_the_works_waiting_for_a_recycled_worker() {
    common::within(Duration::from_secs(60), || {
        let pool = ProcessAsyncPoolExecutor::builder()
            .pool_size(1)
            .max_works_per_child(3)
            .build()
            .unwrap();
        // Works 4 to 10 wait in the slot for the process that replaces the first.
        let futures: Vec<_> = (0..10)
            .map(|i| pool.submit(nap_then_whoami, i % 2))
            .collect();
        pool.shutdown(true);
        let outcomes: Vec<_> = futures.into_iter().map(|future| future.result()).collect();
        assert!(
            outcomes.iter().all(Result::is_ok),
            "every work runs: {outcomes:?}"
        );
        let distinct: HashSet<u32> = outcomes.into_iter().map(Result::unwrap).collect();
        assert!(
            distinct.len() >= 4,
            "10 works, at most 3 per process: {distinct:?}"
        );
    });
}
