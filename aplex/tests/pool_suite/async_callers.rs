//! From async code, which must never block its runtime thread: `submit_async` awaits room
//! in a full bounded queue (where `submit` fails with `BlockingInRuntime`), and so does a
//! map's stream; `shutdown_async` awaits the drain (`shutdown(true)` there still drains,
//! blocking the thread), and dropping a pool or `shutdown_now` on a runtime thread
//! returns without waiting for its workers. Each runs on a current-thread runtime, whose
//! one thread a blocking call would stall for good (the test would then hang, caught by
//! `within`).

use std::time::Duration;

use aplex::{blocking, Error};
use futures::StreamExt;

use crate::common::within;
use crate::files::Files;
use crate::works::{double, hold, hold_blocking};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Collects `stream` on a current-thread runtime while another task of it, once the
/// stream has had its first turn, runs `meanwhile`: a stream that blocked the thread
/// would keep `meanwhile` from ever running.
fn collect_while<S: futures::Stream>(stream: S, meanwhile: impl FnOnce()) -> Vec<S::Item> {
    runtime().block_on(async {
        let (collected, ()) = tokio::join!(stream.collect::<Vec<_>>(), async {
            tokio::task::yield_now().await;
            meanwhile();
        });
        collected
    })
}

pool_suite! {
    /// A pool of one slot and one queued place, its slot taken by a work that holds (and
    /// gives 1) until gate `gate` opens.
    fn one_slot_taken(files: &Files) -> (TestPool, aplex::WorkFuture<u64>) {
        let pool = builder().pool_size(1).max_works_per_worker(1).max_pending(1).build().unwrap();
        let running = pool.submit(hold, (files.path("running"), files.path("gate"), 1));
        files.wait_for("running");
        (pool, running)
    }

    #[test]
    fn on_a_runtime_thread_submit_async_awaits_room_in_a_full_queue_and_submit_refuses() {
        within(Duration::from_secs(30), || {
            let files = Files::new(module_path!());
            let pool = builder().pool_size(1).max_works_per_worker(1).max_pending(1).build().unwrap();
            let running = pool.submit(hold, (files.path("running"), files.path("gate"), 1));
            let queued = pool.try_submit(double, 2).expect("one place in the queue");
            runtime().block_on(async {
                // A plain submit would block this thread until room frees.
                assert_eq!(pool.submit(double, 5).await, Err(Error::BlockingInRuntime));
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
    fn a_map_stream_awaits_room_in_a_full_queue_while_the_runtime_runs_on() {
        within(Duration::from_secs(30), || {
            let files = Files::new(module_path!());
            let (pool, running) = one_slot_taken(&files);
            // The queue has room for one chunk; only the other task opens the gate.
            let doubled = collect_while(pool.map(double, 0..6_u64).window(4).into_stream(), || {
                files.open("gate")
            });
            assert_eq!(doubled, (0..6).map(|x| Ok(x * 2)).collect::<Vec<_>>());
            assert_eq!(running.result(), Ok(1));
        });
    }

    #[test]
    fn a_map_stream_whose_first_chunk_finds_the_queue_full_waits_for_room() {
        within(Duration::from_secs(30), || {
            let files = Files::new(module_path!());
            let (pool, running) = one_slot_taken(&files);
            let queued = pool.try_submit(double, 7).expect("one place in the queue");
            // The map has nothing in flight while its first chunk waits for room.
            let doubled = collect_while(pool.map(double, 0..3_u64).into_stream(), || {
                files.open("gate")
            });
            assert_eq!(doubled, [Ok(0), Ok(2), Ok(4)]);
            assert_eq!((running.result(), queued.result()), (Ok(1), Ok(14)));
        });
    }

    #[test]
    fn a_map_stream_waiting_for_room_ends_with_the_pools_shutdown() {
        within(Duration::from_secs(30), || {
            let files = Files::new(module_path!());
            let (pool, running) = one_slot_taken(&files);
            let queued = pool.try_submit(double, 7).expect("one place in the queue");
            let results = collect_while(pool.map(double, 0..3_u64).into_stream(), || {
                pool.shutdown_now()
            });
            assert_eq!(results, [Err(Error::ShutDown)], "the map ends with the pool");
            assert_eq!(queued.result(), Err(Error::Cancelled));
            files.open("gate");
            let outcome = running.result();
            assert!(matches!(outcome, Ok(1) | Err(Error::Cancelled)), "{outcome:?}");
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
    fn shutdown_wait_on_a_runtime_thread_still_drains_before_the_pool_is_dropped() {
        within(Duration::from_secs(60), || {
            let pool = builder().pool_size(1).max_works_per_worker(1).build().unwrap();
            let futures: Vec<_> = (0..20).map(|x| pool.submit(double, x)).collect();
            // As at the end of an async main: shut down, then the pool goes.
            runtime().block_on(async move {
                pool.shutdown(true);
                drop(pool);
            });
            let doubled: Vec<_> = futures.into_iter().map(|future| future.result()).collect();
            assert_eq!(doubled, (0..20).map(|x| Ok(x * 2)).collect::<Vec<_>>(), "nothing was cancelled");
        });
    }

    #[test]
    fn shutdown_now_on_a_runtime_thread_returns_without_waiting_for_its_workers() {
        within(Duration::from_secs(30), || {
            let files = Files::new(module_path!());
            let pool = builder().pool_size(1).shutdown_grace(Duration::from_secs(600)).build().unwrap();
            let held = pool.submit(blocking(hold_blocking), (files.path("running"), files.path("gate"), 1));
            files.wait_for("running");
            // A shutdown_now that waited here for the grace period would hang the test.
            runtime().block_on(async { pool.shutdown_now() });
            assert!(pool.is_shut_down());
            files.open("gate");
            let outcome = held.result();
            assert!(matches!(outcome, Ok(1) | Err(Error::Cancelled)), "{outcome:?}");
        });
    }
}
