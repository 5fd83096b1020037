//! `max_blocking_works_per_worker`: a worker runs at most that many blocking works at
//! once (default 1, so a pool of N runs N CPU-bound works at a time); the others wait on
//! the worker, not yet begun (on the thread pool they can still be cancelled then: see
//! `thread_cancel.rs`).

use aplex::blocking;

use crate::works::busy_for;

local_pool_suite! {
    #[test]
    fn a_worker_runs_at_most_its_blocking_limit_at_once() {
        for limit in [1, 3] {
            let pool = builder().pool_size(1).max_blocking_works_per_worker(limit).build().unwrap();
            assert_eq!(pool.max_blocking_works_per_worker(), limit);
            let seen: Vec<usize> = pool
                .map(blocking(busy_for), std::iter::repeat_n(5, 12))
                .map(Result::unwrap)
                .collect();
            assert_eq!(seen.len(), 12);
            let most = seen.iter().copied().max().unwrap_or(0);
            assert!(most <= limit, "{most} blocking works ran at once with a limit of {limit}: {seen:?}");
        }
        assert_eq!(
            builder().max_blocking_works_per_worker(0).build().err().and_then(|error| error.setting()),
            Some("max_blocking_works_per_worker")
        );
    }
}
