//! Worker initializers: run once in each worker before it takes works — on every worker
//! thread, in every worker process (again in a replacement after a crash) — and a failing
//! or panicking initializer fails `build()` with a clear error.

mod common;

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use aplex::{ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor};
use common::{send_signal, wait_until};

thread_local!(static THREAD_READY: Cell<bool> = const { Cell::new(false) });

#[test]
fn a_thread_initializer_runs_on_every_worker_thread_first() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(3)
        .worker_initializer(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            THREAD_READY.with(|ready| ready.set(true));
            Ok(())
        })
        .build()
        .unwrap();
    assert_eq!(
        runs.load(Ordering::SeqCst),
        3,
        "once per worker, before build() returns"
    );
    let ready: Vec<bool> = pool
        .map(|_: u8| async { THREAD_READY.with(Cell::get) }, 0..30)
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(ready.into_iter().all(|ready| ready));
}

#[test]
fn a_failing_or_panicking_thread_initializer_fails_build() {
    let failing = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .worker_initializer(|| Err("no database".into()))
        .build();
    match failing {
        Err(error) if error.worker() == Some(0) => {
            let reason = error.to_string();
            assert!(reason.contains("no database"), "{reason}")
        }
        other => panic!("expected WorkerStart, got {other:?}"),
    }
    let panicking = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .worker_initializer(|| panic!("boom"))
        .build();
    match panicking {
        Err(error) if error.worker() == Some(0) => {
            let reason = error.to_string();
            assert!(reason.contains("boom"), "{reason}")
        }
        other => panic!("expected WorkerStart, got {other:?}"),
    }
}

static PROCESS_READY: AtomicBool = AtomicBool::new(false);

#[aplex::work]
fn get_ready(_: ()) -> Result<(), String> {
    PROCESS_READY.store(true, Ordering::SeqCst);
    Ok(())
}

#[aplex::work]
fn refuse(_: ()) -> Result<(), String> {
    Err("the licence server is down".into())
}

#[aplex::work]
fn explode(_: ()) -> Result<(), String> {
    panic!("initializer exploded")
}

#[aplex::work]
async fn readiness(_: ()) -> (u32, bool) {
    (std::process::id(), PROCESS_READY.load(Ordering::SeqCst))
}

#[test]
fn a_process_initializer_runs_in_every_process_including_replacements() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .worker_initializer(get_ready)
        .build()
        .unwrap();
    let seen: Vec<(u32, bool)> = pool
        .map(readiness, std::iter::repeat_n((), 20))
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(seen.iter().all(|&(_, ready)| ready));
    assert!(
        !PROCESS_READY.load(Ordering::SeqCst),
        "it ran in the workers, not in this process"
    );
    let victim = pool.worker_pids()[0].unwrap();
    send_signal(victim, libc::SIGKILL);
    wait_until("the worker is replaced", || {
        pool.worker_pids()[0].is_some_and(|pid| pid != victim)
    });
    let after: Vec<(u32, bool)> = pool
        .map(readiness, std::iter::repeat_n((), 20))
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        after.iter().all(|&(_, ready)| ready),
        "the replacement ran it too: {after:?}"
    );
}

#[test]
fn a_failing_panicking_or_unregistered_process_initializer_fails_build() {
    match ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .worker_initializer(refuse)
        .build()
    {
        Err(error) if error.worker() == Some(0) => {
            let reason = error.to_string();
            assert!(reason.contains("licence server is down"), "{reason}")
        }
        other => panic!("expected WorkerStart, got {other:?}"),
    }
    match ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .worker_initializer(explode)
        .build()
    {
        Err(error) if error.worker() == Some(0) => {
            let reason = error.to_string();
            assert!(reason.contains("initializer exploded"), "{reason}")
        }
        other => panic!("expected WorkerStart, got {other:?}"),
    }
    fn not_registered(_: ()) -> Result<(), String> {
        Ok(())
    }
    let unknown = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .worker_initializer(not_registered)
        .build();
    let unknown = unknown.unwrap_err();
    assert_eq!(unknown.setting(), Some("worker_initializer"));
    assert!(unknown.to_string().contains("not registered"), "{unknown}");
    // That a failed start leaves no process behind is checked in process_lifecycle, the
    // one test binary whose child count is its own.
}
