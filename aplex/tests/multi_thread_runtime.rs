//! A worker whose runtime is multi-threaded runs its `Send` async works in parallel on
//! the runtime's threads, and keeps `local` (non-`Send`) ones on the worker's own thread;
//! on a current-thread runtime (the default) a worker's async works share one thread.
//!
//! Parallelism is shown without timing: two busy works that never yield each wait,
//! spinning, until both have started. Run in parallel, both see the other; run one after
//! the other, the first gives up at its deadline (which also bounds the test).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aplex::{local, worker_state, Error, ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor};
use common::thread_name;

/// Counts itself in at `arrived`, then spins (never yielding) until `expected` works
/// have arrived or `patience` is over; whether they all did.
fn rendezvous(arrived: &AtomicUsize, expected: usize, patience: Duration) -> bool {
    arrived.fetch_add(1, Ordering::SeqCst);
    let deadline = Instant::now() + patience;
    while arrived.load(Ordering::SeqCst) < expected {
        if Instant::now() > deadline {
            return false;
        }
        std::hint::spin_loop();
    }
    true
}

fn multi_thread_pool() -> ThreadAsyncPoolExecutor {
    ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .worker_loop_factory(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("scheduler")
                .enable_all()
                .build()
        })
        .build()
        .expect("pool builds")
}

#[test]
fn a_thread_workers_multi_thread_runtime_runs_two_busy_send_works_at_once() {
    let pool = multi_thread_pool();
    let arrived = Arc::new(AtomicUsize::new(0));
    let busy = |arrived: Arc<AtomicUsize>| async move {
        (
            rendezvous(&arrived, 2, Duration::from_secs(30)),
            thread_name(),
        )
    };
    let first = pool.submit(busy, Arc::clone(&arrived));
    let second = pool.submit(busy, Arc::clone(&arrived));
    for (met, thread) in [first.result().unwrap(), second.result().unwrap()] {
        assert!(met, "both works ran at once");
        assert_eq!(thread, "scheduler", "on the runtime's scheduler threads");
    }
}

#[test]
fn on_a_multi_thread_runtime_local_works_stay_on_the_workers_own_thread() {
    let pool = multi_thread_pool();
    let on = pool
        .submit(
            local(|()| async {
                let pinned = std::rc::Rc::new(thread_name());
                tokio::task::yield_now().await;
                (*pinned).clone()
            }),
            (),
        )
        .result()
        .unwrap();
    assert!(on.starts_with("aplex-worker-"), "ran on {on}");
}

#[test]
fn on_a_current_thread_runtime_a_workers_async_works_share_its_thread() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    let arrived = Arc::new(AtomicUsize::new(0));
    let busy = |arrived: Arc<AtomicUsize>| async move {
        rendezvous(&arrived, 2, Duration::from_millis(100))
    };
    let first = pool.submit(busy, Arc::clone(&arrived));
    let second = pool.submit(busy, Arc::clone(&arrived));
    assert_eq!(first.result(), Ok(false), "the first ran alone");
    assert_eq!(second.result(), Ok(true), "the second found the first over");
}

#[test]
fn works_on_the_scheduler_see_the_workers_state_and_are_cancelled_there() {
    struct Tag(&'static str);
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .worker_loop_factory(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
        })
        .worker_state(|_| Ok(Tag("state")))
        .build()
        .unwrap();
    let seen = pool
        .submit(
            |()| async {
                tokio::task::yield_now().await;
                worker_state::<Tag>().map(|tag| tag.0)
            },
            (),
        )
        .result();
    assert_eq!(seen, Ok(Some("state")));

    /// Says, when dropped, that its work's future was dropped.
    struct Dropped(std::sync::mpsc::Sender<()>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    let (started_tx, started) = std::sync::mpsc::channel();
    let (dropped_tx, dropped) = std::sync::mpsc::channel();
    let forever = pool.submit(
        move |()| async move {
            let _dropped = Dropped(dropped_tx);
            started_tx.send(()).unwrap();
            std::future::pending::<()>().await
        },
        (),
    );
    started.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(forever.cancel());
    assert_eq!(forever.result(), Err(Error::Cancelled));
    dropped
        .recv_timeout(Duration::from_secs(30))
        .expect("the running work was aborted on the scheduler");
}

static ARRIVED_IN_CHILD: AtomicUsize = AtomicUsize::new(0);

/// Busy for up to 30 s until two of these run at once in this worker process.
#[aplex::work]
async fn busy_in_child(_: ()) -> (bool, String) {
    (
        rendezvous(&ARRIVED_IN_CHILD, 2, Duration::from_secs(30)),
        thread_name(),
    )
}

/// Not `Send` across its await: stays on the child's runtime thread.
#[aplex::work]
async fn local_in_child(_: ()) -> String {
    let pinned = std::rc::Rc::new(thread_name());
    tokio::task::yield_now().await;
    (*pinned).clone()
}

#[test]
fn a_process_workers_multi_thread_runtime_runs_send_works_at_once_and_keeps_others_local() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .worker_loop_factory(aplex::RuntimeConfig {
            flavor: aplex::RuntimeFlavor::MultiThread { worker_threads: 2 },
            ..aplex::RuntimeConfig::default()
        })
        .build()
        .unwrap();
    let first = pool.submit(busy_in_child, ());
    let second = pool.submit(busy_in_child, ());
    let scheduler = "tokio-rt-worker"; // tokio's name for its scheduler threads
    for (met, thread) in [first.result().unwrap(), second.result().unwrap()] {
        assert!(met, "both works ran at once");
        assert_eq!(thread, scheduler, "on the runtime's scheduler threads");
    }
    let pinned = pool.submit(local_in_child, ()).result().unwrap();
    assert_ne!(
        pinned, scheduler,
        "a non-Send work stays on the child's own thread"
    );
}
