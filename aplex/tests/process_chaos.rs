//! Chaos: a process pool under steady load while a helper thread SIGKILLs a random
//! worker every few milliseconds, a few hundred times. Every future resolves exactly
//! once (a value or `WorkerCrashed`), none hangs, and afterwards the pool has
//! `pool_size` live workers, serves every work, and leaves no zombie. Alone in its
//! binary, so the children it counts are this pool's. The whole test runs under a
//! deadline, and the killer signals only a live child through a pidfd: a worker that
//! exited since its pid was read is skipped, never signalled by a stale pid (which, as
//! root, could be anyone's process once reused).

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aplex::{CrashLimit, Error, ProcessAsyncPoolExecutor};
use common::{
    is_running, live_children, signal_live_child, wait_until, within, zombie_children, PATIENCE,
};

#[aplex::work]
async fn busy(x: u64) -> u64 {
    tokio::time::sleep(Duration::from_micros(200)).await;
    x
}

const KILLS: usize = 200;

#[test]
fn every_future_resolves_while_workers_are_killed_at_random() {
    within(Duration::from_secs(300), chaos);
}

fn chaos() {
    let pool = Arc::new(
        ProcessAsyncPoolExecutor::builder()
            .pool_size(2)
            .max_works_per_worker(50)
            .crash_limit(CrashLimit {
                max_crashes: 100_000,
                window: Duration::from_secs(60),
            })
            .build()
            .unwrap(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicUsize::new(0));
    let killer = {
        let (pool, stop, kills) = (Arc::clone(&pool), Arc::clone(&stop), Arc::clone(&kills));
        std::thread::spawn(move || {
            let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
            // A killed worker stays listed until its supervisor sees it gone, and on a
            // loaded machine its exit can outlast the pacing: it is killed (and counted)
            // once.
            let mut killed = HashSet::new();
            while kills.load(Ordering::SeqCst) < KILLS && !stop.load(Ordering::SeqCst) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let slot = (seed % 2) as usize;
                if let Some(pid) = pool.worker_pids()[slot] {
                    if !killed.contains(&pid) && signal_live_child(pid, libc::SIGKILL) {
                        killed.insert(pid);
                        kills.fetch_add(1, Ordering::SeqCst);
                    }
                }
                // Pacing of the chaos, not a wait for anything.
                std::thread::sleep(Duration::from_millis(3));
            }
            killed
        })
    };

    let (mut values, mut crashed, mut submitted) = (0usize, 0usize, 0u64);
    // The killer ends by itself only after its kills (or if it panicked: then its join
    // below says why).
    while kills.load(Ordering::SeqCst) < KILLS && !killer.is_finished() {
        let batch: Vec<_> = (submitted..submitted + 100)
            .map(|x| (x, pool.submit(busy, x)))
            .collect();
        submitted += 100;
        for (x, future) in batch {
            match future.result_timeout(PATIENCE) {
                Ok(value) => {
                    assert_eq!(value, x);
                    values += 1;
                }
                Err(Error::WorkerCrashed { .. }) => crashed += 1,
                Err(other) => panic!("work {x}: unexpected {other:?}"),
            }
        }
    }
    stop.store(true, Ordering::SeqCst);
    let killed = killer.join().unwrap();
    assert_eq!(
        values + crashed,
        submitted as usize,
        "every future resolved exactly once"
    );
    assert!(
        crashed > 0 && values > 0,
        "{values} values, {crashed} crashed"
    );

    // A worker killed last may not have died yet (a signal takes effect when its target
    // next runs, and on a loaded machine that can take a while): until its supervisor
    // has replaced it, works sent to it fail with it. Settled means every slot holds a
    // live worker that was never killed.
    wait_until("both slots hold a live worker never killed", || {
        pool.worker_pids()
            .iter()
            .all(|pid| pid.is_some_and(|pid| is_running(pid) && !killed.contains(&pid)))
    });
    let after: Vec<u64> = pool.map(busy, 0..1_000).collect::<Result<_, _>>().unwrap();
    assert_eq!(after.len(), 1_000, "the pool serves every work afterwards");
    assert_eq!(live_children().len(), 2, "two live workers");
    assert_eq!(
        zombie_children(),
        Vec::<u32>::new(),
        "every killed worker was reaped"
    );
    let (restarts, killed) = (
        pool.restarts().iter().sum::<u64>(),
        kills.load(Ordering::SeqCst) as u64,
    );
    assert!(
        restarts >= killed,
        "every killed worker was replaced: {restarts} restarts for {killed} kills"
    );
    eprintln!(
        "{} kills, {values} works done, {crashed} failed with their worker",
        kills.load(Ordering::SeqCst)
    );
}
