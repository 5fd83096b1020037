//! Stopping: `shutdown(true)` drains, `shutdown_now` cancels what is queued and aborts
//! what runs (blocking works still waiting for their turn are cancelled, those running
//! go on), `shutdown_timeout` drains for a while then does the same (a running blocking
//! work still gets the grace period), shutting down twice is harmless, and
//! dropping a busy pool returns with every future resolved.

use std::time::Duration;

use aplex::{blocking, Error};

use crate::common::within;
use crate::files::Files;
use crate::works::{append, double, forever, hold, hold_blocking, mark_then_forever, square};

pool_suite! {
    #[test]
    fn shutdown_wait_lets_queued_and_running_works_finish() {
        let files = Files::new(module_path!());
        let pool = builder().pool_size(2).max_works_per_worker(1).build().unwrap();
        let held: Vec<_> = (0..2)
            .map(|i| pool.submit(hold, (files.path(&format!("running-{i}")), files.path("gate"), i)))
            .collect();
        let queued: Vec<_> = (0..10).map(|x| pool.submit(blocking(square), x)).collect();
        files.open("gate");
        pool.shutdown(true);
        assert!(pool.is_shut_down());
        let held: Vec<_> = held.into_iter().map(|future| future.result()).collect();
        assert_eq!(held, [Ok(0), Ok(1)]);
        let squares: Vec<_> = queued.into_iter().map(|future| future.result().unwrap()).collect();
        assert_eq!(squares, (0..10).map(|x| x * x).collect::<Vec<_>>());
        pool.shutdown(true);
        pool.shutdown(false);
        pool.shutdown_now();
    }

    #[test]
    fn shutdown_without_wait_returns_and_still_finishes_everything() {
        let pool = builder().pool_size(2).build().unwrap();
        let futures: Vec<_> = (0..50).map(|x| pool.submit(double, x)).collect();
        pool.shutdown(false);
        let doubled: Vec<u64> = futures.into_iter().map(|future| future.result().unwrap()).collect();
        assert_eq!(doubled, (0..50).map(|x| x * 2).collect::<Vec<_>>());
    }

    #[test]
    fn shutdown_now_cancels_the_queue_and_aborts_running_async_works() {
        let files = Files::new(module_path!());
        let pool = builder().pool_size(1).max_works_per_worker(1).build().unwrap();
        let running = pool.submit(mark_then_forever, files.path("started"));
        let queued = pool.submit(double, 1);
        files.wait_for("started");
        pool.shutdown_now();
        assert_eq!(running.result(), Err(Error::Cancelled));
        assert_eq!(queued.result(), Err(Error::Cancelled));
        assert_eq!(pool.submit(double, 1).result(), Err(Error::ShutDown));
    }

    #[test]
    fn shutdown_timeout_drains_then_stops_what_is_left() {
        let files = Files::new(module_path!());
        let pool = builder().pool_size(1).build().unwrap();
        let quick = pool.submit(double, 3);
        let stuck = pool.submit(mark_then_forever, files.path("started"));
        files.wait_for("started");
        assert!(!pool.shutdown_timeout(Duration::from_millis(50)), "a work never finishes");
        assert_eq!(quick.result(), Ok(6));
        assert_eq!(stuck.result(), Err(Error::Cancelled));
    }

    #[test]
    fn dropping_a_busy_pool_returns_and_resolves_every_future() {
        let futures = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = std::sync::Arc::clone(&futures);
        within(Duration::from_secs(20), move || {
            let pool = builder()
                .pool_size(2)
                .max_works_per_worker(2)
                .shutdown_grace(Duration::from_millis(200))
                .build()
                .unwrap();
            let mut kept = kept.lock().unwrap();
            kept.extend((0..8).map(|_| pool.submit(forever, ())));
            drop(pool);
        });
        for future in futures.lock().unwrap().drain(..) {
            assert_eq!(future.result(), Err(Error::Cancelled));
        }
    }
}

local_pool_suite! {
    #[test]
    fn shutdown_now_cancels_blocking_works_still_waiting_for_their_turn() {
        let files = Files::new(module_path!());
        within(Duration::from_secs(60), move || {
            let pool = builder()
                .pool_size(1)
                .max_blocking_works_per_worker(1)
                .shutdown_grace(Duration::from_secs(60))
                .build()
                .unwrap();
            let args = (files.path("started"), files.path("gate"), 1);
            let running = pool.submit(blocking(hold_blocking), args);
            files.wait_for("started");
            let waiting: Vec<_> =
                (0..3).map(|i| pool.submit(blocking(append), (files.path("ran"), format!("{i}")))).collect();
            let async_work = pool.submit(forever, ());
            std::thread::scope(|scope| {
                let stopping = scope.spawn(|| pool.shutdown_now());
                // Its async work aborted: the worker has taken the abort.
                assert_eq!(async_work.result(), Err(Error::Cancelled));
                files.open("gate");
                stopping.join().unwrap();
            });
            assert_eq!(running.result(), Ok(1), "the running blocking work went on");
            for future in waiting {
                assert_eq!(future.result(), Err(Error::Cancelled));
            }
            assert!(!files.path("ran").exists(), "no waiting blocking work began");
        });
    }

    #[test]
    fn shutdown_timeout_gives_running_blocking_works_the_grace_period() {
        let files = Files::new(module_path!());
        within(Duration::from_secs(60), move || {
            let pool = builder().pool_size(1).shutdown_grace(Duration::from_secs(30)).build().unwrap();
            let args = (files.path("started"), files.path("gate"), 7);
            let blocking_work = pool.submit(blocking(hold_blocking), args);
            let async_work = pool.submit(forever, ());
            files.wait_for("started");
            std::thread::scope(|scope| {
                let stopping = scope.spawn(|| pool.shutdown_timeout(Duration::from_millis(20)));
                // The async work is aborted once the drain's time is up; the blocking
                // work, still held, then has the grace period to finish.
                assert_eq!(async_work.result(), Err(Error::Cancelled));
                files.open("gate");
                assert!(!stopping.join().unwrap(), "the drain ran out of time");
            });
            assert_eq!(blocking_work.result(), Ok(7));
        });
    }
}
