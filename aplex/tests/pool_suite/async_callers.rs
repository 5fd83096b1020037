//! From async code, which must never block its runtime thread: `submit_async` awaits room
//! in a full bounded queue (where `submit` fails with `BlockingInRuntime`),
//! `shutdown_async` awaits the drain, and dropping a pool, `shutdown(true)`,
//! `shutdown_now` and `shutdown_timeout` on a runtime thread return at once. Each runs on a current-thread runtime, whose one
//! thread a blocking call would stall for good (the test would then hang, caught by
//! `within`).

use std::time::Duration;

use aplex::{blocking, Error};

use crate::common::within;
use crate::files::Files;
use crate::works::{double, hold, hold_blocking};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

pool_suite! {
    #[test]
    fn submit_async_awaits_room_in_a_full_queue_without_blocking() {
        within(Duration::from_secs(30), || {
            let files = Files::new(module_path!());
            let pool = builder().pool_size(1).max_works_per_worker(1).max_pending(1).build().unwrap();
            let running = pool.submit(hold, (files.path("running"), files.path("gate"), 1));
            let queued = pool.try_submit(double, 2).expect("one place in the queue");
            runtime().block_on(async {
                let mut waiting = std::pin::pin!(pool.submit_async(double, 3));
                assert!(futures::poll!(waiting.as_mut()).is_pending(), "the queue is full");
                files.open("gate");
                let future = waiting.await;
                assert_eq!(future.await, Ok(6));
            });
            assert_eq!((running.result(), queued.result()), (Ok(1), Ok(4)));
            pool.shutdown(true);
            let refused = runtime().block_on(async { pool.submit_async(double, 1).await.await });
            assert_eq!(refused, Err(Error::ShutDown));
        });
    }

    #[test]
    fn shutdown_async_awaits_the_drain_while_the_runtime_runs_on() {
        within(Duration::from_secs(30), || {
            let files = Files::new(module_path!());
            let pool = builder().pool_size(1).build().unwrap();
            let held = pool.submit(hold, (files.path("running"), files.path("gate"), 5));
            files.wait_for("running");
            runtime().block_on(async {
                // The drain needs the gate open; only the second branch, on this same
                // thread, opens it.
                tokio::join!(pool.shutdown_async(), async {
                    tokio::task::yield_now().await;
                    files.open("gate");
                });
            });
            assert!(pool.is_shut_down());
            assert_eq!(held.result(), Ok(5));
        });
    }

    #[test]
    fn dropping_a_pool_on_a_runtime_thread_returns_without_waiting_for_its_workers() {
        within(Duration::from_secs(30), || {
            let files = Files::new(module_path!());
            let pool = builder().pool_size(1).shutdown_grace(Duration::from_secs(600)).build().unwrap();
            let stuck = pool.submit(blocking(hold_blocking), (files.path("running"), files.path("gate"), 1));
            files.wait_for("running");
            // A drop that waited here for the grace period would hang the test.
            runtime().block_on(async move { drop(pool) });
            files.open("gate");
            // The work is over or was abandoned; either way its future resolves.
            let outcome = stuck.result();
            assert!(matches!(outcome, Ok(1) | Err(Error::Cancelled)), "{outcome:?}");
        });
    }

    #[test]
    fn a_blocking_submit_into_a_full_queue_on_a_runtime_thread_fails_instead_of_waiting() {
        within(Duration::from_secs(30), || {
            let files = Files::new(module_path!());
            let pool = builder().pool_size(1).max_works_per_worker(1).max_pending(1).build().unwrap();
            let running = pool.submit(hold, (files.path("running"), files.path("gate"), 1));
            let queued = pool.try_submit(double, 2).expect("one place in the queue");
            let refused = runtime().block_on(async { pool.submit(double, 3).await });
            assert_eq!(refused, Err(Error::BlockingInRuntime));
            files.open("gate");
            assert_eq!((running.result(), queued.result()), (Ok(1), Ok(4)));
        });
    }

    #[test]
    fn stopping_a_pool_on_a_runtime_thread_returns_without_waiting() {
        within(Duration::from_secs(30), || {
            let files = Files::new(module_path!());
            let gate = files.path("gate");
            let stopped = |stop: &dyn Fn(&TestPool), name: &str| {
                let pool = builder().pool_size(1).shutdown_grace(Duration::from_secs(600)).build().unwrap();
                let running = files.path(&format!("running-{name}"));
                let held = pool.submit(blocking(hold_blocking), (running, gate.clone(), 1));
                files.wait_for(&format!("running-{name}"));
                // Waiting here — for the drain, or the grace period — would hang the test.
                runtime().block_on(async { stop(&pool) });
                assert!(pool.is_shut_down(), "{name} stopped intake before returning");
                (pool, held)
            };
            let waits = stopped(&|pool| pool.shutdown(true), "shutdown-wait");
            let now = stopped(&|pool| pool.shutdown_now(), "shutdown-now");
            let bounded = stopped(&|pool| assert!(!pool.shutdown_timeout(Duration::ZERO)), "shutdown-timeout");
            files.open("gate");
            assert_eq!(waits.1.result(), Ok(1), "shutdown(true) still drains");
            for (_pool, held) in [now, bounded] {
                let outcome = held.result();
                assert!(matches!(outcome, Ok(1) | Err(Error::Cancelled)), "{outcome:?}");
            }
        });
    }
}
