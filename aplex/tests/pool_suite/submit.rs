//! Submitting one work: outputs by blocking wait and by `.await`, several arguments,
//! panics, refusals after shutdown, and settings refused by `build()`.

use std::time::Duration;

use aplex::{blocking, Error, WorkOptions};

use crate::works::{add, double, panic_async, panic_blocking, square};

pool_suite! {
    #[test]
    fn async_and_blocking_works_give_their_outputs() {
        let pool = builder().pool_size(2).build().unwrap();
        assert_eq!(pool.submit(double, 21).result(), Ok(42));
        assert_eq!(pool.submit(blocking(square), 7).result(), Ok(49));
        assert_eq!(pool.submit(blocking(add), (2, 3)).result(), Ok(5));
    }

    #[test]
    fn results_are_awaited_on_any_runtime() {
        let pool = builder().pool_size(2).build().unwrap();
        let on_futures = futures::executor::block_on(pool.submit(double, 1));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let on_tokio = runtime.block_on(async { pool.submit(blocking(square), 3).await });
        assert_eq!((on_futures, on_tokio), (Ok(2), Ok(9)));
    }

    #[test]
    fn a_panicking_work_fails_its_future_with_its_message_and_the_pool_keeps_serving() {
        let pool = builder().pool_size(1).build().unwrap();
        let async_panic = pool.submit(panic_async, "async boom".to_owned()).result();
        let blocking_panic = pool.submit(blocking(panic_blocking), "blocking boom".into()).result();
        for (outcome, message) in [(async_panic, "async boom"), (blocking_panic, "blocking boom")] {
            match outcome {
                Err(Error::Panicked { message: got }) => assert!(got.contains(message), "{got}"),
                other => panic!("expected a panic, got {other:?}"),
            }
        }
        assert_eq!(pool.submit(double, 4).result(), Ok(8));
        let panicked: u64 = pool.stats().workers.iter().map(|worker| worker.panicked).sum();
        assert_eq!(panicked, 2);
    }

    #[test]
    fn after_shutdown_submit_fails_and_try_submit_hands_the_work_back() {
        let pool = builder().pool_size(1).build().unwrap();
        pool.shutdown(true);
        assert!(pool.is_shut_down());
        assert_eq!(pool.submit(double, 1).result(), Err(Error::ShutDown));
        let refused = pool.try_submit(blocking(square), 6).unwrap_err();
        assert_eq!(refused.error, Error::ShutDown);
        assert_eq!(refused.work.1, 6);
        assert_eq!(pool.map(double, 0..3).next(), Some(Err(Error::ShutDown)));
    }

    #[test]
    fn a_zero_work_timeout_is_refused_for_that_work_only() {
        let pool = builder().pool_size(1).build().unwrap();
        let zero = WorkOptions::new().timeout(Duration::ZERO);
        let refused = pool.submit_with(double, 1, zero).result();
        assert!(matches!(refused, Err(Error::InvalidConfig { setting: "timeout", .. })), "{refused:?}");
        assert_eq!(pool.submit(double, 1).result(), Ok(2));
    }

}

// Settings and defaults of the pools whose workers are threads or processes.
local_pool_suite! {
    #[test]
    fn settings_out_of_range_are_build_errors_naming_the_setting() {
        let refused = [
            ("pool_size", builder().pool_size(0).build().err()),
            ("max_works_per_worker", builder().max_works_per_worker(0).build().err()),
            ("max_pending", builder().max_pending(0).build().err()),
            ("work_timeout", builder().work_timeout(Duration::ZERO).build().err()),
        ];
        for (setting, error) in refused {
            let error = error.unwrap_or_else(|| panic!("{setting} 0 was accepted"));
            assert_eq!(error.setting(), Some(setting), "{error}");
        }
    }

    #[test]
    fn the_defaults_are_python_aplexs() {
        let pool = builder().build().unwrap();
        assert_eq!(pool.max_works_per_worker(), aplex::DEFAULT_MAX_WORKS_PER_WORKER);
        assert_eq!(pool.pool_size(), std::thread::available_parallelism().map_or(1, usize::from));
        assert_eq!(pool.workers().len(), pool.pool_size());
        assert!(!pool.is_broken());
    }
}
