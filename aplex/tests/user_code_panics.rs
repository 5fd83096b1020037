//! User code the pool calls on its own threads — a custom balancer, an output type's
//! `Deserialize` in the parent, an argument type's in the worker process, a waker woken
//! by a work's timeout — may panic: only the work concerned fails (with the panic's message),
//! and the pool keeps serving and shuts down as usual.

mod common;

use std::time::Duration;

use aplex::balance::{LoadBalancer, Meta, WorkerView};
use aplex::{Error, ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor};
use common::within;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Picks the first available worker, and panics when the meta says "boom".
struct Touchy;

impl LoadBalancer for Touchy {
    fn get_proper_worker(&mut self, workers: &WorkerView<'_>, meta: Option<&Meta>) -> usize {
        if meta.and_then(|meta| meta.downcast_ref::<&str>()) == Some(&"boom") {
            panic!("balancer tripped");
        }
        workers.available_workers().next().unwrap_or(0)
    }
}

#[test]
fn a_panicking_balancer_fails_only_its_work_on_the_thread_pool() {
    within(Duration::from_secs(60), || {
        let pool = ThreadAsyncPoolExecutor::builder()
            .pool_size(1)
            .max_works_per_worker(1)
            .load_balancer(Touchy)
            .build()
            .unwrap();
        let gate = common::Gate::new();
        let held = {
            let gate = gate.clone();
            pool.submit(move |_: ()| async move { gate.pass().await }, ())
        };
        // Queued behind `held`: its balancer call happens on the worker thread when
        // `held` is over.
        let tripped = pool.submit_with(
            |x: u8| async move { x },
            1,
            aplex::WorkOptions::new().meta("boom"),
        );
        let after = pool.submit(|x: u8| async move { x }, 2);
        gate.open();
        assert_eq!(held.result(), Ok(()));
        match tripped.result() {
            Err(Error::Panicked { message }) => assert!(message.contains("balancer tripped")),
            other => panic!("expected Panicked, got {other:?}"),
        }
        assert_eq!(after.result(), Ok(2), "the worker thread survived");
        assert_eq!(pool.submit(|x: u8| async move { x }, 3).result(), Ok(3));
        assert!(!pool.is_shut_down());
        pool.shutdown(true);
    });
}

#[aplex::work]
async fn echo(x: u8) -> u8 {
    x
}

#[test]
fn a_panicking_balancer_fails_only_its_work_on_the_process_pool() {
    within(Duration::from_secs(60), || {
        let pool = ProcessAsyncPoolExecutor::builder()
            .pool_size(1)
            .load_balancer(Touchy)
            .build()
            .unwrap();
        match pool
            .submit_with(echo, 1, aplex::WorkOptions::new().meta("boom"))
            .result()
        {
            Err(Error::Panicked { message }) => assert!(message.contains("balancer tripped")),
            other => panic!("expected Panicked, got {other:?}"),
        }
        assert_eq!(pool.submit(echo, 2).result(), Ok(2));
        pool.shutdown(true);
    });
}

/// Crosses a process fine one way, and panics when decoded.
#[derive(Debug, PartialEq)]
struct Grenade;

impl Serialize for Grenade {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit()
    }
}

impl<'de> Deserialize<'de> for Grenade {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        panic!("grenade went off while decoding")
    }
}

#[aplex::work]
async fn grenade(_: ()) -> Grenade {
    Grenade
}

#[test]
fn an_output_whose_deserialize_panics_fails_only_its_work() {
    within(Duration::from_secs(60), || {
        let pool = ProcessAsyncPoolExecutor::builder()
            .pool_size(1)
            .build()
            .unwrap();
        match pool.submit(grenade, ()).result() {
            Err(Error::Panicked { message }) => {
                assert!(message.contains("grenade went off"), "{message}");
                assert!(message.contains("decoding the output"), "{message}");
            }
            other => panic!("expected Panicked, got {other:?}"),
        }
        assert_eq!(
            pool.submit(echo, 5).result(),
            Ok(5),
            "replies are still read"
        );
        let pid = pool.worker_pids()[0];
        assert_eq!(pool.restarts(), [0]);
        drop(pool);
        assert!(pid.is_some_and(|pid| !common::is_running(pid)));
    });
}

#[aplex::work]
async fn catch_grenade(_: Grenade) -> u8 {
    1
}

#[aplex::work]
fn catch_grenade_blocking(_: Grenade) -> u8 {
    2
}

#[test]
fn an_argument_whose_deserialize_panics_fails_only_its_work() {
    within(Duration::from_secs(60), || {
        let pool = ProcessAsyncPoolExecutor::builder()
            .pool_size(1)
            .build()
            .unwrap();
        let pid = pool.worker_pids()[0];
        let outcomes = [
            pool.submit(catch_grenade, Grenade).result(),
            pool.submit(aplex::blocking(catch_grenade_blocking), Grenade)
                .result(),
        ];
        for outcome in outcomes {
            match outcome {
                Err(Error::Panicked { message }) => {
                    assert!(message.contains("grenade went off"), "{message}");
                }
                other => panic!("expected Panicked, got {other:?}"),
            }
        }
        assert_eq!(
            pool.submit(echo, 6).result(),
            Ok(6),
            "the worker still serves"
        );
        assert_eq!(pool.worker_pids()[0], pid, "the same process");
        assert_eq!(pool.restarts(), [0]);
    });
}

/// A waker that panics when woken.
struct PanickingWaker;

impl std::task::Wake for PanickingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        panic!("a waker that panics")
    }
}

#[test]
fn a_waker_that_panics_when_its_work_times_out_leaves_later_timeouts_working() {
    use std::future::Future;

    within(Duration::from_secs(60), || {
        let pool = ThreadAsyncPoolExecutor::builder()
            .pool_size(1)
            .build()
            .unwrap();
        let soon = aplex::WorkOptions::new().timeout(Duration::from_millis(20));
        let mut first = pool.submit_with(|()| std::future::pending::<()>(), (), soon.clone());
        let waker = std::task::Waker::from(std::sync::Arc::new(PanickingWaker));
        let mut context = std::task::Context::from_waker(&waker);
        assert!(std::pin::Pin::new(&mut first)
            .poll(&mut context)
            .is_pending());
        // Its timeout wakes that waker, on the pool's timer thread.
        let second = pool.submit_with(|()| std::future::pending::<()>(), (), soon);
        let timed_out = Err(Error::TimedOut {
            clock: aplex::Clock::Work,
        });
        assert_eq!(second.result(), timed_out, "the timer still fires");
        assert_eq!(first.result(), timed_out);
    });
}
