//! `max_works_per_worker` and the pending queue: no worker runs more than its cap, works
//! beyond it wait in FIFO order, and a bounded queue refuses (`try_submit`) or waits
//! (`submit`).

use aplex::{blocking, Error};

use crate::common::wait_until;
use crate::files::Files;
use crate::works::{append, double, hold, hold_blocking};

pool_suite! {
    #[test]
    fn queued_works_start_in_submission_order() {
        let files = Files::new(module_path!());
        let pool = builder().pool_size(1).max_works_per_worker(1).build().unwrap();
        let first = pool.submit(blocking(hold_blocking), (files.path("first"), files.path("gate"), 0));
        let queued: Vec<_> = (0..10)
            .map(|i| pool.submit(blocking(append), (files.path("order"), i.to_string())))
            .collect();
        assert_eq!(pool.pending(), 10);
        files.open("gate");
        assert_eq!(first.result(), Ok(0));
        for future in queued {
            future.result().unwrap();
        }
        let expected: Vec<String> = (0..10).map(|i: i32| i.to_string()).collect();
        assert_eq!(files.lines("order"), expected);
    }

    #[test]
    fn a_full_bounded_queue_refuses_try_submit_and_makes_submit_wait() {
        let files = Files::new(module_path!());
        let pool = builder().pool_size(1).max_works_per_worker(1).max_pending(1).build().unwrap();
        let running = pool.submit(hold, (files.path("running"), files.path("gate"), 1));
        let queued = pool.try_submit(double, 2).expect("one place in the queue");
        let refused = pool.try_submit(double, 3).unwrap_err();
        assert_eq!(refused.error, Error::QueueFull { capacity: 1 });
        assert_eq!(refused.work.1, 3);
        std::thread::scope(|scope| {
            // The queue is full until the gate opens, so this submit waits for room.
            let waiting = scope.spawn(|| pool.submit(double, 4).result());
            files.open("gate");
            assert_eq!(waiting.join().unwrap(), Ok(8));
        });
        assert_eq!((running.result(), queued.result()), (Ok(1), Ok(4)));
    }

    #[test]
    fn a_map_through_a_bounded_queue_completes() {
        let pool = builder().pool_size(2).max_works_per_worker(1).max_pending(2).build().unwrap();
        let doubled: Vec<u64> = pool.map(double, 0..300).map(Result::unwrap).collect();
        assert_eq!(doubled, (0..300).map(|x| x * 2).collect::<Vec<_>>());
    }
}

local_pool_suite! {
    #[test]
    fn no_worker_runs_more_than_its_cap_and_the_rest_waits() {
        let files = Files::new(module_path!());
        let pool = builder().pool_size(2).max_works_per_worker(3).build().unwrap();
        let held: Vec<_> = (0..20u64)
            .map(|i| pool.submit(hold, (files.path(&format!("ran-{i}")), files.path("gate"), i)))
            .collect();
        assert_eq!(pool.workloads(), [3, 3]);
        assert_eq!(pool.pending(), 14);
        files.open("gate");
        let values: Vec<u64> = held.into_iter().map(|future| future.result().unwrap()).collect();
        assert_eq!(values, (0..20).collect::<Vec<_>>());
        wait_until("every workload is back to 0", || pool.workloads() == [0, 0]);
        assert_eq!(pool.pending(), 0);
    }
}
