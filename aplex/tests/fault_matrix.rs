//! The fault matrix: each way a worker process can fail — SIGKILL, SIGSTOP then a
//! timeout, `process::exit`, `abort`, a stack overflow, an async work that never yields
//! — hits a worker that is idle, busy with async works, receiving a 64 MiB argument, or
//! sending a 64 MiB reply. In every cell: every future resolves, the pool is back to
//! `pool_size` live workers and serves, `Drop` returns within the grace period plus a
//! second, and no zombie or orphan is left. docs/RELIABILITY.md lists what a user sees.

mod common;

use std::time::{Duration, Instant};

use aplex::balance::{LoadBalancer, Meta, WorkerView};
use aplex::{Error, ProcessAsyncPoolExecutor, WorkFuture, WorkOptions, WorkerExit};
use common::{is_running, send_signal, wait_until, within, zombie_children};
use serde_bytes::ByteBuf;

const BIG: usize = 64 << 20;
const GRACE: Duration = Duration::from_millis(300);

#[aplex::work]
async fn nap(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

#[aplex::work]
fn len_of(bytes: ByteBuf) -> usize {
    bytes.len()
}

#[aplex::work]
fn big_reply(len: usize) -> ByteBuf {
    ByteBuf::from(vec![3u8; len])
}

#[aplex::work]
fn exit_now(code: i32) -> u8 {
    std::process::exit(code)
}

#[aplex::work]
fn abort_now(_: ()) -> u8 {
    std::process::abort()
}

#[aplex::work]
fn overflow(_: ()) -> u64 {
    common::recurse(0)
}

#[aplex::work]
async fn never_yields(_: ()) -> u8 {
    loop {
        std::hint::spin_loop();
    }
}

/// Sends a work to the worker whose index is the meta.
struct Pinned;

impl LoadBalancer for Pinned {
    fn get_proper_worker(&mut self, workers: &WorkerView<'_>, meta: Option<&Meta>) -> usize {
        meta.and_then(|meta| meta.downcast_ref::<usize>())
            .copied()
            .filter(|&wanted| workers.is_available(wanted))
            .unwrap_or_else(|| workers.available_workers().next().unwrap_or(0))
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Kill,
    StopThenTimeout,
    Exit,
    Abort,
    StackOverflow,
    NeverYields,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Idle,
    BusyAsync,
    ReceivingBigArgument,
    SendingBigReply,
}

const STATES: [State; 4] = [
    State::Idle,
    State::BusyAsync,
    State::ReceivingBigArgument,
    State::SendingBigReply,
];

/// What the works in flight may end with when their worker fails.
fn acceptable<T: std::fmt::Debug>(outcome: &Result<T, Error>) -> bool {
    matches!(
        outcome,
        Ok(_) | Err(Error::WorkerCrashed { worker: 0, .. }) | Err(Error::TimedOut { .. })
    )
}

/// Puts worker 0 in `state`; returns the futures of the works it holds.
fn enter(pool: &ProcessAsyncPoolExecutor, state: State) -> Vec<WorkFuture<u64>> {
    let on_0 = WorkOptions::new().meta(0_usize);
    match state {
        State::Idle => Vec::new(),
        State::BusyAsync => {
            let held: Vec<_> = (0..5)
                .map(|_| pool.submit_with(nap, 3_600_000, on_0.clone()))
                .collect();
            wait_until("the async works run", || pool.workloads()[0] == 5);
            held
        }
        State::ReceivingBigArgument => {
            let big =
                pool.submit_with(aplex::blocking(len_of), ByteBuf::from(vec![1u8; BIG]), on_0);
            vec![map_output(big, |len| len as u64)]
        }
        State::SendingBigReply => {
            let reply = pool.submit_with(aplex::blocking(big_reply), BIG, on_0);
            vec![map_output(reply, |bytes| bytes.len() as u64)]
        }
    }
}

/// A future's outcome, its output turned into a `u64` (waited for on a helper thread).
fn map_output<T: Send + 'static>(
    future: WorkFuture<T>,
    into: impl FnOnce(T) -> u64 + Send + 'static,
) -> WorkFuture<u64> {
    let (promise, mapped) = aplex::backend::future_pair(false);
    std::thread::spawn(move || promise.complete(future.result().map(into)));
    mapped
}

/// Hits worker `0` (process `victim`) with `fault`; returns the future of the work that
/// brings it, if any.
fn strike(pool: &ProcessAsyncPoolExecutor, victim: u32, fault: Fault) -> Option<WorkFuture<u64>> {
    let on_0 = WorkOptions::new().meta(0_usize);
    let timed = on_0.clone().timeout(Duration::from_millis(100));
    let as_u64 = |future: WorkFuture<u8>| map_output(future, u64::from);
    match fault {
        Fault::Kill => {
            send_signal(victim, libc::SIGKILL);
            None
        }
        Fault::StopThenTimeout => {
            send_signal(victim, libc::SIGSTOP);
            Some(pool.submit_with(nap, 1, timed))
        }
        Fault::Exit => Some(as_u64(pool.submit_with(aplex::blocking(exit_now), 3, on_0))),
        Fault::Abort => Some(as_u64(pool.submit_with(
            aplex::blocking(abort_now),
            (),
            on_0,
        ))),
        Fault::StackOverflow => Some(pool.submit_with(aplex::blocking(overflow), (), on_0)),
        Fault::NeverYields => Some(as_u64(pool.submit_with(never_yields, (), timed))),
    }
}

/// What the fault's own work must end with.
fn expected_for(fault: Fault, outcome: &Result<u64, Error>) -> bool {
    match fault {
        Fault::Kill => true,
        Fault::StopThenTimeout | Fault::NeverYields => {
            matches!(outcome, Err(Error::TimedOut { .. }))
        }
        Fault::Exit => matches!(
            outcome,
            Err(Error::WorkerCrashed {
                exit: WorkerExit::Code(3),
                ..
            })
        ),
        Fault::Abort => matches!(
            outcome,
            Err(Error::WorkerCrashed {
                exit: WorkerExit::Signal(libc::SIGABRT),
                ..
            })
        ),
        Fault::StackOverflow => matches!(
            outcome,
            Err(Error::WorkerCrashed {
                exit: WorkerExit::StackOverflow,
                ..
            })
        ),
    }
}

fn cell(fault: Fault, state: State) {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .kill_on_timeout(true)
        .shutdown_grace(GRACE)
        .load_balancer(Pinned)
        .build()
        .unwrap();
    let victim = pool.worker_pids()[0].unwrap();
    let bystander = pool.worker_pids()[1].unwrap();
    let held = enter(&pool, state);
    let struck = strike(&pool, victim, fault);
    if let Some(struck) = struck {
        let outcome = struck.result();
        assert!(
            expected_for(fault, &outcome),
            "{fault:?} in {state:?}: {outcome:?}"
        );
    }
    for future in held {
        let outcome = future.result();
        assert!(
            acceptable(&outcome),
            "{fault:?} in {state:?}: held work {outcome:?}"
        );
    }
    wait_until("the worker is replaced", || {
        pool.worker_pids()[0].is_some_and(|pid| pid != victim && is_running(pid))
    });
    assert!(
        !is_running(victim),
        "{fault:?} in {state:?}: the victim is gone"
    );
    assert!(
        !zombie_children().contains(&victim),
        "{fault:?} in {state:?}: reaped"
    );
    assert_eq!(
        pool.worker_pids()[1],
        Some(bystander),
        "the other worker was untouched"
    );
    let on_0 = WorkOptions::new().meta(0_usize);
    assert_eq!(
        pool.submit_with(nap, 1, on_0).result(),
        Ok(1),
        "the pool serves"
    );
    let pids: Vec<u32> = pool.worker_pids().into_iter().flatten().collect();
    let dropping = Instant::now();
    drop(pool);
    assert!(
        dropping.elapsed() < GRACE + Duration::from_secs(1),
        "{fault:?} in {state:?}: Drop took {:?}",
        dropping.elapsed()
    );
    for pid in pids {
        assert!(!is_running(pid), "{fault:?} in {state:?}: no orphan");
        assert!(
            !zombie_children().contains(&pid),
            "{fault:?} in {state:?}: no zombie"
        );
    }
}

fn row(fault: Fault) {
    within(Duration::from_secs(120), move || {
        for state in STATES {
            cell(fault, state);
        }
    });
}

#[test]
fn sigkill() {
    row(Fault::Kill);
}

#[test]
fn sigstop_then_a_timeout() {
    row(Fault::StopThenTimeout);
}

#[test]
fn process_exit() {
    row(Fault::Exit);
}

#[test]
fn abort() {
    row(Fault::Abort);
}

#[test]
fn stack_overflow() {
    row(Fault::StackOverflow);
}

#[test]
fn an_async_work_that_never_yields() {
    row(Fault::NeverYields);
}
