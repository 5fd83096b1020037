//! Worker processes that die: by `process::exit`, by `abort`, and by SIGKILL with works
//! in flight. Exactly the dead worker's in-flight works fail with `WorkerCrashed`, the
//! worker is replaced, and the pool keeps serving; a work that always kills its worker
//! trips the crash limit and breaks the pool without leaving any future hanging.

mod common;

use std::time::Duration;

use aplex::balance::{LoadBalancer, Meta, WorkerView};
use aplex::{CrashLimit, Error, ProcessAsyncPoolExecutor, WorkerExit};
use common::{is_running, send_signal, wait_until};

#[aplex::work]
fn exit_with(code: i32) -> u8 {
    std::process::exit(code)
}

#[aplex::work]
fn abort_now(_: ()) -> u8 {
    std::process::abort()
}

#[aplex::work]
async fn sleep_ms(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

#[aplex::work]
async fn worker_pid(_: ()) -> u32 {
    std::process::id()
}

/// Sends a work to the worker whose index is the meta, when it has room.
struct Pinned;

impl LoadBalancer for Pinned {
    fn get_proper_worker(&mut self, workers: &WorkerView<'_>, meta: Option<&Meta>) -> usize {
        meta.and_then(|meta| meta.downcast_ref::<usize>())
            .copied()
            .filter(|&wanted| workers.is_available(wanted))
            .unwrap_or_else(|| workers.available_workers().next().unwrap_or(0))
    }
}

fn pinned_pool(size: usize) -> ProcessAsyncPoolExecutor {
    ProcessAsyncPoolExecutor::builder()
        .pool_size(size)
        .load_balancer(Pinned)
        .build()
        .unwrap()
}

fn live_pids(pool: &ProcessAsyncPoolExecutor) -> Vec<u32> {
    pool.worker_pids()
        .into_iter()
        .flatten()
        .filter(|&pid| is_running(pid))
        .collect()
}

/// Waits until slot `index` holds a live process other than `old`; returns its pid.
fn replaced(pool: &ProcessAsyncPoolExecutor, index: usize, old: u32) -> u32 {
    let mut new = 0;
    wait_until("the worker is replaced", || {
        match pool.worker_pids()[index] {
            Some(pid) if pid != old && is_running(pid) => {
                new = pid;
                true
            }
            _ => false,
        }
    });
    new
}

#[test]
fn a_work_that_exits_fails_with_its_exit_code_and_the_worker_is_replaced() {
    let pool = pinned_pool(2);
    let old = pool.worker_pids()[0].unwrap();
    let bystander = pool.submit_with(sleep_ms, 50, aplex::WorkOptions::new().meta(1_usize));
    let crash = pool.submit_with(
        aplex::blocking(exit_with),
        3,
        aplex::WorkOptions::new().meta(0_usize),
    );
    assert_eq!(
        crash.result(),
        Err(Error::WorkerCrashed {
            worker: 0,
            exit: WorkerExit::Code(3)
        })
    );
    assert_eq!(
        bystander.result(),
        Ok(50),
        "the other worker's work is untouched"
    );
    let new = replaced(&pool, 0, old);
    assert!(!is_running(old), "the dead worker was reaped");
    assert_eq!(
        pool.submit_with(worker_pid, (), aplex::WorkOptions::new().meta(0_usize))
            .result(),
        Ok(new)
    );
    assert_eq!(live_pids(&pool).len(), 2);
    assert_eq!(pool.restarts(), [1, 0]);
}

#[test]
fn a_work_that_aborts_fails_with_the_signal() {
    let pool = pinned_pool(1);
    let old = pool.worker_pids()[0].unwrap();
    let crash = pool.submit(aplex::blocking(abort_now), ());
    assert_eq!(
        crash.result(),
        Err(Error::WorkerCrashed {
            worker: 0,
            exit: WorkerExit::Signal(libc::SIGABRT)
        })
    );
    replaced(&pool, 0, old);
    assert_eq!(pool.submit(sleep_ms, 1).result(), Ok(1));
}

#[test]
fn sigkill_fails_exactly_the_works_in_flight_on_that_worker() {
    let pool = pinned_pool(2);
    let victim = pool.worker_pids()[0].unwrap();
    let doomed: Vec<_> = (0..10)
        .map(|_| pool.submit_with(sleep_ms, 3_600_000, aplex::WorkOptions::new().meta(0_usize)))
        .collect();
    let survivors: Vec<_> = (0..10)
        .map(|i| pool.submit_with(sleep_ms, i, aplex::WorkOptions::new().meta(1_usize)))
        .collect();
    wait_until("ten works are in flight on worker 0", || {
        pool.workloads()[0] == 10
    });
    send_signal(victim, libc::SIGKILL);
    for future in doomed {
        assert_eq!(
            future.result(),
            Err(Error::WorkerCrashed {
                worker: 0,
                exit: WorkerExit::Signal(libc::SIGKILL)
            })
        );
    }
    let survived: Vec<u64> = survivors.into_iter().map(|f| f.result().unwrap()).collect();
    assert_eq!(survived, (0..10).collect::<Vec<_>>());
    replaced(&pool, 0, victim);
    let later: Vec<_> = (0..20)
        .map(|i| {
            pool.submit_with(
                sleep_ms,
                i,
                aplex::WorkOptions::new().meta((i % 2) as usize),
            )
        })
        .collect();
    for (i, future) in later.into_iter().enumerate() {
        assert_eq!(future.result(), Ok(i as u64), "later works all succeed");
    }
    assert_eq!(live_pids(&pool).len(), pool.pool_size());
}

#[test]
fn works_dispatched_while_a_worker_is_replaced_run_on_the_new_one() {
    let pool = pinned_pool(1);
    let old = pool.worker_pids()[0].unwrap();
    let crash = pool.submit(aplex::blocking(exit_with), 7);
    let queued_behind: Vec<_> = (0..5).map(|i| pool.submit(sleep_ms, i)).collect();
    let crashed = crash.result();
    assert_eq!(
        crashed,
        Err(Error::WorkerCrashed {
            worker: 0,
            exit: WorkerExit::Code(7)
        })
    );
    // The works sent behind the crash either died with it or ran on the new worker;
    // none hangs, and any that ran gave the right answer.
    for (i, future) in queued_behind.into_iter().enumerate() {
        match future.result() {
            Ok(value) => assert_eq!(value, i as u64),
            Err(Error::WorkerCrashed { worker: 0, .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    let new = replaced(&pool, 0, old);
    assert_eq!(pool.submit(worker_pid, ()).result(), Ok(new));
}

#[test]
fn a_work_that_always_crashes_trips_the_crash_limit_and_nothing_hangs() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .max_works_per_worker(1)
        .crash_limit(CrashLimit {
            max_crashes: 2,
            window: Duration::from_secs(600),
        })
        .build()
        .unwrap();
    let crashes: Vec<_> = (0..6)
        .map(|_| pool.submit(aplex::blocking(exit_with), 9))
        .collect();
    let bystanders: Vec<_> = (0..4).map(|i| pool.submit(sleep_ms, i)).collect();
    let mut crashed = 0;
    let mut broken = 0;
    for future in crashes.into_iter() {
        match future.result() {
            Err(Error::WorkerCrashed {
                exit: WorkerExit::Code(9),
                ..
            }) => crashed += 1,
            Err(Error::PoolBroken { .. }) => broken += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(crashed, 3, "three crashes exceed a limit of two");
    assert_eq!(broken, 3, "the rest were failed when the pool broke");
    for future in bystanders {
        assert!(matches!(future.result(), Err(Error::PoolBroken { .. })));
    }
    assert!(pool.is_broken());
    match pool.submit(sleep_ms, 1).result() {
        Err(Error::PoolBroken { reason }) => assert!(reason.contains("crash"), "{reason}"),
        other => panic!("expected PoolBroken, got {other:?}"),
    }
}

#[aplex::work]
fn overflow_blocking(_: ()) -> u64 {
    common::recurse(0)
}

#[aplex::work]
async fn overflow_async(_: ()) -> u64 {
    common::recurse(0)
}

#[test]
fn a_stack_overflow_says_so_and_the_worker_is_replaced() {
    let pool = pinned_pool(1);
    for round in 0..2 {
        let old = pool.worker_pids()[0].unwrap();
        let crashed = if round == 0 {
            pool.submit(aplex::blocking(overflow_blocking), ()).result()
        } else {
            pool.submit(overflow_async, ()).result()
        };
        assert_eq!(
            crashed,
            Err(Error::WorkerCrashed {
                worker: 0,
                exit: WorkerExit::StackOverflow
            }),
            "round {round}"
        );
        replaced(&pool, 0, old);
    }
    assert_eq!(pool.submit(sleep_ms, 1).result(), Ok(1));
}
