//! Per-worker stats and `tracing` events: the counts follow what the works did, the
//! pools report worker start, a work's timeout, crash, respawn, recycle, shutdown and a
//! thread worker's death as events, and events emitted inside a worker process reach
//! this process's subscriber with the worker's pid. In a binary of its own, because it
//! installs a global subscriber to hear events from every thread.

mod common;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aplex::{
    Clock, Error, ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor, WorkOptions, WorkerStats,
};
use common::{send_signal, wait_until};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Keeps every event as `field=value` text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = Line(String::new());
        event.record(&mut line);
        self.0.lock().unwrap().push(line.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Capture {
    fn saw(&self, needle: &str) -> bool {
        self.0
            .lock()
            .unwrap()
            .iter()
            .any(|line| line.contains(needle))
    }
}

fn total(workers: &[WorkerStats], field: impl Fn(&WorkerStats) -> u64) -> u64 {
    workers.iter().map(field).sum()
}

#[aplex::work]
async fn nap(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

/// The subscriber every test of this binary hears events with, installed once.
fn capture() -> Capture {
    static CAPTURE: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let capture = Capture::default();
            tracing::subscriber::set_global_default(capture.clone()).unwrap();
            std::panic::set_hook(Box::new(|_| {}));
            capture
        })
        .clone()
}

#[test]
fn stats_count_what_works_did_and_events_report_the_lifecycle() {
    let capture = capture();

    let threads = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .unwrap();
    assert!(capture.saw("aplex worker thread started"));
    assert_eq!(threads.submit(|x: u8| async move { x }, 1).result(), Ok(1));
    assert!(threads
        .submit(|()| async { panic!("boom") }, ())
        .result()
        .is_err());
    let stuck = WorkOptions::new().timeout(Duration::from_millis(10));
    assert_eq!(
        threads
            .submit_with(|()| std::future::pending::<()>(), (), stuck)
            .result(),
        Err(Error::TimedOut { clock: Clock::Work })
    );
    wait_until("the timeout is reported", || {
        capture.saw("aplex work timed out") && capture.saw("abortable=true")
    });
    let running = threads.submit(|()| std::future::pending::<()>(), ());
    wait_until("the work runs", || running.running());
    assert!(running.cancel());
    wait_until("every outcome is counted", || {
        let stats = threads.stats();
        total(&stats.workers, |w| {
            w.completed + w.panicked + w.timed_out + w.cancelled
        }) == 4
    });
    let stats = threads.stats();
    assert_eq!(
        [
            total(&stats.workers, |w| w.completed),
            total(&stats.workers, |w| w.panicked),
            total(&stats.workers, |w| w.timed_out),
            total(&stats.workers, |w| w.cancelled),
        ],
        [1, 1, 1, 1]
    );
    assert_eq!(stats.pending, 0);
    assert_eq!(stats.workers[1].name, "aplex-worker-1");
    threads.shutdown(true);
    assert!(capture.saw("aplex pool shutting down"));

    let processes = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .max_works_per_child(2)
        .build()
        .unwrap();
    assert!(capture.saw("aplex worker process started"));
    for ms in [1, 2, 3] {
        assert_eq!(processes.submit(nap, ms).result(), Ok(ms));
    }
    wait_until("the first process was recycled", || {
        processes.stats().workers[0].recycles >= 1
    });
    assert!(capture.saw("aplex worker process recycled"));
    let victim = processes.worker_pids()[0].unwrap_or(0);
    let lost = processes.submit(nap, 3_600_000);
    wait_until("the sleeper is in flight", || processes.workloads() == [1]);
    let victim = processes.worker_pids()[0].unwrap_or(victim);
    send_signal(victim, libc::SIGKILL);
    assert!(matches!(lost.result(), Err(Error::WorkerCrashed { .. })));
    wait_until("the worker is replaced", || {
        processes.worker_pids()[0].is_some_and(|pid| pid != victim)
    });
    assert!(capture.saw("aplex worker process died; replacing it"));
    assert!(capture.saw("respawn=true"));
    let stats = processes.stats();
    let worker = &stats.workers[0];
    assert_eq!(
        (worker.completed, worker.crashed, worker.restarts),
        (3, 1, 1)
    );
    assert!(worker.recycles >= 1);
    assert_eq!(worker.pid, processes.worker_pids()[0]);
    drop(processes);
    assert!(capture.saw("aplex worker process shut down"));
}

/// Emits an event from inside its worker process; returns that process's pid.
#[aplex::work]
async fn say_hello(answer: u64) -> u32 {
    tracing::warn!(answer, "hello from inside a worker process");
    std::process::id()
}

#[aplex::worker_state]
fn noisy_state(_: usize) -> Result<(), String> {
    tracing::info!("making a worker's state");
    Ok(())
}

#[test]
fn events_emitted_in_a_worker_process_reach_the_parents_subscriber_with_its_pid() {
    let capture = capture();
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .worker_state(noisy_state)
        .build()
        .unwrap();
    assert!(capture.saw("message=making a worker's state"));
    let pid = pool.submit(say_hello, 42).result().unwrap();
    wait_until("the event is forwarded", || {
        capture.saw("message=hello from inside a worker process")
    });
    let line = capture
        .0
        .lock()
        .unwrap()
        .iter()
        .find(|line| line.contains("hello from inside a worker process"))
        .cloned()
        .unwrap();
    assert!(line.contains(&format!("pid={pid} ")), "{line}");
    assert!(line.contains("worker=0"), "{line}");
    assert!(line.contains("origin=stats_and_events"), "{line}");
    assert!(line.contains("fields=answer=42"), "{line}");
}

#[test]
fn a_thread_worker_whose_runtime_panics_dies_with_an_event_and_breaks_the_pool() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static EXPLODE: AtomicBool = AtomicBool::new(false);
    let capture = capture();
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .worker_loop_factory(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .on_thread_park(|| {
                    if EXPLODE.load(Ordering::SeqCst) {
                        panic!("the runtime's park hook exploded");
                    }
                })
                .build()
        })
        .build()
        .unwrap();
    assert_eq!(pool.submit(|x: u8| async move { x }, 1).result(), Ok(1));
    EXPLODE.store(true, Ordering::SeqCst);
    let caught = pool.submit(
        |()| async { tokio::time::sleep(Duration::from_millis(5)).await },
        (),
    );
    assert_eq!(
        caught.result(),
        Err(Error::Cancelled),
        "its work goes with it"
    );
    wait_until("the death is reported", || {
        capture.saw("aplex worker thread died")
    });
    assert!(capture.saw("the runtime's park hook exploded"));
    assert!(pool.is_broken());
    assert!(matches!(
        pool.submit(|x: u8| async move { x }, 2).result(),
        Err(Error::PoolBroken { .. })
    ));
}

/// Fails in every worker process started once `APLEX_TEST_REFUSE_RESPAWN` names a file
/// that exists: the first process starts, its replacements cannot.
#[aplex::worker_state]
fn refuse_once_armed(_: usize) -> Result<(), String> {
    match std::env::var_os("APLEX_TEST_REFUSE_RESPAWN") {
        Some(path) if std::path::Path::new(&path).exists() => {
            Err("the replacement's licence check failed".into())
        }
        _ => Ok(()),
    }
}

#[aplex::work]
fn crash_now(_: ()) -> u8 {
    std::process::exit(9)
}

#[test]
fn a_supervisor_that_cannot_replace_its_worker_says_so_and_breaks_the_pool() {
    let capture = capture();
    let armed = std::env::temp_dir().join(format!("aplex-refuse-respawn-{}", std::process::id()));
    // Set before the pool starts its processes, which inherit it; armed only afterwards.
    std::env::set_var("APLEX_TEST_REFUSE_RESPAWN", &armed);
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .worker_state(refuse_once_armed)
        .crash_limit(aplex::CrashLimit {
            max_crashes: 2,
            window: Duration::from_secs(600),
        })
        .build()
        .unwrap();
    std::fs::write(&armed, b"armed").unwrap();
    assert!(matches!(
        pool.submit(aplex::blocking(crash_now), ()).result(),
        Err(Error::WorkerCrashed { .. })
    ));
    wait_until("the pool gives up", || pool.is_broken());
    let _ = std::fs::remove_file(&armed);
    assert!(capture.saw("aplex worker process failed to start"));
    assert!(capture.saw("the replacement's licence check failed"));
    assert!(capture.saw("aplex pool broken"));
    assert!(matches!(
        pool.submit(aplex::blocking(crash_now), ()).result(),
        Err(Error::PoolBroken { .. })
    ));
}
