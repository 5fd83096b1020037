//! Faults that used to wedge a process pool: a worker that dies or is stopped while a
//! large frame is being written to it, a direct send to a stopped worker blocking the
//! submitter, a timed-out work its worker cannot abort, and a shutdown that waits on a
//! stuck blocking work. Every test runs its body under a deadline (`within`), so a
//! regression fails instead of hanging the suite.

mod common;

use std::time::{Duration, Instant};

use aplex::{Clock, Error, ProcessAsyncPoolExecutor, WorkOptions, WorkerExit};
use common::{is_running, send_signal, wait_until, within, zombie_children};
use serde_bytes::ByteBuf;

/// Big enough that no socket buffer holds it: the writer must wait for the reader.
const BIG: usize = 64 << 20;

#[aplex::work]
fn len_of(bytes: ByteBuf) -> usize {
    bytes.len()
}

#[aplex::work]
async fn nap(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

#[aplex::work]
async fn busy_loop(ms: u64) -> u64 {
    // An async work that never yields: no abort can reach it.
    let until = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
    ms
}

#[aplex::work]
fn stuck(_: ()) -> u8 {
    loop {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[aplex::work]
async fn worker_pid(_: ()) -> u32 {
    std::process::id()
}

/// Whether this process's writer thread for slot 0 is blocked in the kernel on a socket
/// (its wait channel is not the futex of its idle queue).
fn writer_waits_on_a_socket() -> bool {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return false;
    };
    tasks.filter_map(Result::ok).any(|task| {
        let read = |file: &str| std::fs::read_to_string(task.path().join(file)).unwrap_or_default();
        read("comm").trim() == "aplex-writer-0" && {
            let wchan = read("wchan");
            !wchan.is_empty() && wchan != "0" && !wchan.contains("futex")
        }
    })
}

/// A pool of one worker, and that worker's pid.
fn one_worker() -> (ProcessAsyncPoolExecutor, u32) {
    with_victim(
        ProcessAsyncPoolExecutor::builder()
            .pool_size(1)
            .shutdown_grace(Duration::from_millis(200)),
    )
}

/// A pool of one worker that kills workers it cannot stop at a timeout, and its pid.
fn one_killing_worker() -> (ProcessAsyncPoolExecutor, u32) {
    with_victim(
        ProcessAsyncPoolExecutor::builder()
            .pool_size(1)
            .kill_on_timeout(true),
    )
}

fn with_victim(builder: aplex::ProcessPoolBuilder) -> (ProcessAsyncPoolExecutor, u32) {
    let pool = builder.build().unwrap();
    let victim = pool.worker_pids()[0].unwrap();
    (pool, victim)
}

/// Waits until slot 0 holds a live process other than `old`; returns its pid.
fn replaced(pool: &ProcessAsyncPoolExecutor, old: u32) -> u32 {
    let mut new = 0;
    wait_until("the worker is replaced", || match pool.worker_pids()[0] {
        Some(pid) if pid != old && is_running(pid) => {
            new = pid;
            true
        }
        _ => false,
    });
    new
}

#[test]
fn a_worker_killed_while_a_big_frame_is_written_to_it_is_replaced() {
    within(Duration::from_secs(60), || {
        let (pool, victim) = one_worker();
        let sleeper = pool.submit(nap, 3_600_000);
        wait_until("the sleeper runs", || pool.workloads()[0] == 1);
        // The worker stops reading; the big frame fills its socket and the writer waits.
        send_signal(victim, libc::SIGSTOP);
        let big = pool.submit(aplex::blocking(len_of), ByteBuf::from(vec![7u8; BIG]));
        // Give a writer that would wait on the stopped worker's socket the chance to get
        // there (a bounded look, not an assertion: a writer that never waits is the fix).
        let look_until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < look_until && !writer_waits_on_a_socket() {
            std::thread::yield_now();
        }
        send_signal(victim, libc::SIGKILL);
        let crashed = Error::WorkerCrashed {
            worker: 0,
            exit: WorkerExit::Signal(libc::SIGKILL),
        };
        assert_eq!(sleeper.result(), Err(crashed.clone()));
        assert_eq!(big.result(), Err(crashed));
        let new = replaced(&pool, victim);
        assert_eq!(pool.submit(worker_pid, ()).result(), Ok(new));
        assert!(
            !zombie_children().contains(&victim),
            "the dead worker was reaped"
        );
        drop(pool); // bounded: `within` fails the test if it hangs
    });
}

#[test]
fn a_stopped_worker_with_a_big_frame_half_written_is_killed_by_drop() {
    within(Duration::from_secs(60), || {
        let (pool, victim) = one_worker();
        let sleeper = pool.submit(nap, 3_600_000);
        wait_until("the sleeper runs", || pool.workloads()[0] == 1);
        send_signal(victim, libc::SIGSTOP);
        let big = pool.submit(aplex::blocking(len_of), ByteBuf::from(vec![7u8; BIG]));
        drop(pool);
        assert_eq!(sleeper.result(), Err(Error::Cancelled));
        assert_eq!(big.result(), Err(Error::Cancelled));
        assert!(
            !is_running(victim),
            "the stopped worker was killed and reaped"
        );
    });
}

#[test]
fn submit_never_blocks_on_a_stopped_worker() {
    within(Duration::from_secs(60), || {
        let (pool, victim) = one_worker();
        send_signal(victim, libc::SIGSTOP);
        // Nothing is in flight, so this would be sent directly by the caller.
        let big = pool.submit(aplex::blocking(len_of), ByteBuf::from(vec![1u8; BIG]));
        assert_eq!(pool.worker_pids(), [Some(victim)], "the slot is not held");
        assert_eq!(pool.stats().workers[0].workload, 1);
        let small = pool.submit(nap, 1);
        assert!(!small.done());
        send_signal(victim, libc::SIGCONT);
        assert_eq!(big.result(), Ok(BIG));
        assert_eq!(small.result(), Ok(1));
    });
}

#[test]
fn kill_on_timeout_frees_a_worker_whose_async_work_never_yields() {
    within(Duration::from_secs(60), || {
        let (pool, victim) = one_killing_worker();
        let spinning = pool.submit_with(
            busy_loop,
            3_600_000,
            WorkOptions::new().timeout(Duration::from_millis(100)),
        );
        assert_eq!(
            spinning.result(),
            Err(Error::TimedOut { clock: Clock::Work })
        );
        let new = replaced(&pool, victim);
        assert!(!is_running(victim), "the wedged worker was killed");
        let later = pool.submit_with(
            worker_pid,
            (),
            WorkOptions::new().timeout(Duration::from_secs(30)),
        );
        assert_eq!(later.result(), Ok(new), "later works run on the new worker");
    });
}

#[test]
fn kill_on_timeout_frees_a_stopped_worker() {
    within(Duration::from_secs(60), || {
        let (pool, victim) = one_killing_worker();
        let sleeper = pool.submit(nap, 3_600_000);
        wait_until("the sleeper runs", || pool.workloads()[0] == 1);
        send_signal(victim, libc::SIGSTOP);
        let late = pool.submit_with(
            nap,
            1,
            WorkOptions::new().timeout(Duration::from_millis(50)),
        );
        assert_eq!(late.result(), Err(Error::TimedOut { clock: Clock::Work }));
        assert!(matches!(
            sleeper.result(),
            Err(Error::WorkerCrashed { worker: 0, .. })
        ));
        let new = replaced(&pool, victim);
        assert_eq!(pool.submit(worker_pid, ()).result(), Ok(new));
    });
}

#[test]
fn shutdown_now_kills_a_worker_stuck_in_a_blocking_work() {
    within(Duration::from_secs(60), || {
        let (pool, victim) = one_worker();
        let stuck_work = pool.submit(aplex::blocking(stuck), ());
        wait_until("the stuck work runs", || pool.workloads()[0] == 1);
        pool.shutdown_now();
        assert_eq!(stuck_work.result(), Err(Error::Cancelled));
        assert!(
            !is_running(victim),
            "the stuck worker was killed and reaped"
        );
    });
}

#[test]
fn shutdown_timeout_drains_until_the_deadline_then_kills() {
    within(Duration::from_secs(60), || {
        let (pool, victim) = one_worker();
        let quick = pool.submit(nap, 10);
        let stuck_work = pool.submit(aplex::blocking(stuck), ());
        wait_until("both run", || pool.workloads()[0] == 2);
        pool.shutdown_timeout(Duration::from_millis(300));
        assert_eq!(quick.result(), Ok(10), "what finishes in time finishes");
        assert_eq!(stuck_work.result(), Err(Error::Cancelled));
        assert!(
            !is_running(victim),
            "the stuck worker was killed and reaped"
        );
    });
}

#[test]
fn a_burst_of_many_large_arguments_goes_through() {
    within(Duration::from_secs(60), || {
        let (pool, _) = one_worker();
        // More shared-memory payloads than one ipc message may carry descriptors for.
        let items: Vec<ByteBuf> = (0..100)
            .map(|i| ByteBuf::from(vec![i as u8; 100_000]))
            .collect();
        let lengths: Result<Vec<usize>, Error> = pool.map(aplex::blocking(len_of), items).collect();
        assert_eq!(lengths, Ok(vec![100_000; 100]));
    });
}
