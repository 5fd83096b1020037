//! Cancelling: a queued work never runs, a running async work is aborted, a running
//! blocking work runs on and keeps its result; `cancel` says which happened.

use aplex::{blocking, Error};

use crate::files::Files;
use crate::works::{append, double, hold, hold_blocking, mark_then_forever};

pool_suite! {
    #[test]
    fn a_queued_work_is_cancelled_and_never_runs() {
        let files = Files::new(module_path!());
        let pool = builder().pool_size(1).max_works_per_worker(1).build().unwrap();
        let running = pool.submit(hold, (files.path("running"), files.path("gate"), 1));
        let queued = pool.submit(blocking(append), (files.path("queued-ran"), "ran".into()));
        assert!(queued.cancel(), "a queued work can be cancelled");
        assert!(queued.cancelled());
        files.open("gate");
        assert_eq!(running.result(), Ok(1));
        pool.shutdown(true);
        assert_eq!(queued.result(), Err(Error::Cancelled));
        assert!(!files.marked("queued-ran"), "the cancelled work ran");
    }

    #[test]
    fn a_running_async_work_is_aborted() {
        let files = Files::new(module_path!());
        let pool = builder().pool_size(1).build().unwrap();
        let running = pool.submit(mark_then_forever, files.path("started"));
        files.wait_for("started");
        assert!(running.cancel(), "a running async work can be cancelled");
        assert_eq!(running.result(), Err(Error::Cancelled));
        assert_eq!(pool.submit(double, 5).result(), Ok(10));
        crate::common::wait_until("the aborted work left its worker", || pool.workloads() == [0]);
    }

    #[test]
    fn a_running_blocking_work_is_not_cancelled_and_keeps_its_result() {
        let files = Files::new(module_path!());
        let pool = builder().pool_size(1).build().unwrap();
        let running = pool.submit(blocking(hold_blocking), (files.path("started"), files.path("gate"), 7));
        files.wait_for("started");
        assert!(!running.cancel(), "a running blocking work cannot be cancelled");
        assert!(!running.cancelled());
        files.open("gate");
        assert_eq!(running.result(), Ok(7));
    }

    #[test]
    fn cancel_after_completion_is_false_and_twice_is_true_then_false() {
        let files = Files::new(module_path!());
        let pool = builder().pool_size(1).max_works_per_worker(1).build().unwrap();
        let done = pool.submit(double, 1);
        assert_eq!(done.wait_timeout(crate::common::PATIENCE), Ok(true));
        assert!(!done.cancel());
        assert_eq!(done.result(), Ok(2));
        let running = pool.submit(hold, (files.path("running"), files.path("gate"), 1));
        let queued = pool.submit(double, 2);
        assert!(queued.cancel());
        assert!(!queued.cancel());
        files.open("gate");
        assert_eq!(running.result(), Ok(1));
    }
}
