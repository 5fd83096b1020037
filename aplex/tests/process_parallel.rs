//! Two worker processes run CPU-bound works in parallel: each of 8 works burns CPU until
//! it sees that works are busy in both processes at once (a rendezvous through files).

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aplex::ProcessAsyncPoolExecutor;
use common::scratch_dir;

/// Marks `dir/<pid>`, then computes until two processes have marked it (or 30 s pass).
/// Returns its pid, whether it met the other process, and its checksum.
#[aplex::work]
fn busy_until_both_busy(dir: PathBuf) -> (u32, bool, u64) {
    let pid = std::process::id();
    std::fs::write(dir.join(pid.to_string()), b"").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut checksum: u64 = 0;
    loop {
        for i in 0..100_000u64 {
            checksum = checksum.wrapping_mul(6364136223846793005).wrapping_add(i);
        }
        let busy = std::fs::read_dir(&dir).unwrap().count();
        if busy >= 2 {
            return (pid, true, checksum);
        }
        if Instant::now() > deadline {
            return (pid, false, checksum);
        }
    }
}

#[test]
fn two_workers_run_cpu_bound_works_at_the_same_time() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .unwrap();
    let dir = scratch_dir("parallel");
    let outcomes: Vec<(u32, bool, u64)> = pool
        .map(
            aplex::blocking(busy_until_both_busy),
            std::iter::repeat_n(dir.clone(), 8),
        )
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        outcomes.iter().all(|&(_, met, _)| met),
        "every work saw both processes busy"
    );
    let pids: HashSet<u32> = outcomes.iter().map(|&(pid, _, _)| pid).collect();
    let workers: HashSet<u32> = pool.worker_pids().into_iter().flatten().collect();
    assert_eq!(pids, workers, "the works ran in both worker processes");
}
