//! Timeouts: a work's own (`WorkOptions::timeout`) and the pool's default
//! (`work_timeout`); an async work past it is aborted, a blocking one is left to finish;
//! a duration too long for the clock (`Duration::MAX`) means no limit, never a panic.

use std::time::Duration;

use aplex::{blocking, Clock, Error, WorkOptions};

use crate::common::within;
use crate::files::Files;
use crate::works::{double, forever, hold_blocking, square};

pool_suite! {
    #[test]
    fn an_async_work_past_its_timeout_is_aborted_and_the_worker_serves_on() {
        let pool = builder().pool_size(1).build().unwrap();
        let options = WorkOptions::new().timeout(Duration::from_millis(20));
        assert_eq!(pool.submit_with(forever, (), options).result(), Err(Error::TimedOut { clock: Clock::Work }));
        assert_eq!(pool.submit(double, 8).result(), Ok(16));
        crate::common::wait_until("the aborted work left its worker", || pool.workloads() == [0]);
        let timed_out: u64 = pool.stats().workers.iter().map(|worker| worker.timed_out).sum();
        assert_eq!(timed_out, 1);
    }

    #[test]
    fn the_pools_default_applies_unless_a_work_sets_its_own() {
        let pool = builder().pool_size(2).work_timeout(Duration::from_millis(20)).build().unwrap();
        assert_eq!(pool.submit(forever, ()).result(), Err(Error::TimedOut { clock: Clock::Work }));
        let patient = WorkOptions::new().timeout(Duration::from_secs(600));
        let lasting = pool.submit_with(forever, (), patient);
        // The next work still gets the default: `lasting` outlives a whole default
        // timeout of another work, with no work here bound to finish within 20 ms.
        assert_eq!(pool.submit(forever, ()).result(), Err(Error::TimedOut { clock: Clock::Work }));
        assert!(!lasting.done(), "its own timeout is far away");
        assert!(lasting.cancel());
    }

    #[test]
    fn a_blocking_work_past_its_timeout_is_left_to_finish() {
        let files = Files::new(module_path!());
        let pool = builder().pool_size(1).build().unwrap();
        let options = WorkOptions::new().timeout(Duration::from_millis(20));
        let args = (files.path("started"), files.path("gate"), 1);
        let late = pool.submit_with(blocking(hold_blocking), args, options);
        assert_eq!(late.result(), Err(Error::TimedOut { clock: Clock::BlockingWork }));
        files.wait_for("started");
        assert_eq!(pool.workloads(), [1], "the blocking work still holds its place");
        files.open("gate");
        crate::common::wait_until("the blocking work finished", || pool.workloads() == [0]);
        assert_eq!(pool.submit(double, 2).result(), Ok(4));
    }

    #[test]
    fn a_maps_work_timeout_applies_to_each_of_its_works() {
        let pool = builder().pool_size(1).build().unwrap();
        let results: Vec<_> = pool
            .map(forever, [(), ()])
            .work_timeout(Duration::from_millis(20))
            .keep_going()
            .collect();
        assert_eq!(results, [Err(Error::TimedOut { clock: Clock::Work }), Err(Error::TimedOut { clock: Clock::Work })]);
    }

    #[test]
    fn durations_too_long_for_the_clock_mean_no_limit() {
        within(Duration::from_secs(120), || {
            let never = Duration::MAX;
            let pool = builder().pool_size(1).work_timeout(never).shutdown_grace(never).build().unwrap();
            let lone = pool.submit(double, 2);
            assert_eq!(lone.wait_timeout(never), Ok(true));
            assert_eq!(lone.result_timeout(never), Ok(4));
            let own = WorkOptions::new().timeout(never);
            assert_eq!(pool.submit_with(double, 3, own.clone()).result(), Ok(6));
            assert_eq!(pool.submit_with(blocking(square), 3, own).result(), Ok(9));
            let mapped: Vec<_> = pool.map(double, [1, 2]).timeout(never).work_timeout(never).collect();
            assert_eq!(mapped, [Ok(2), Ok(4)]);
            assert!(pool.shutdown_timeout(never), "nothing was left to stop");
            // Dropping a pool reads its grace period too.
            let dropped = builder().pool_size(1).shutdown_grace(never).build().unwrap();
            let running = dropped.submit(double, 5);
            drop(dropped);
            assert!(matches!(running.result(), Ok(10) | Err(Error::Cancelled)));
        });
    }
}
