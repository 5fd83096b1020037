//! 100,000 concurrent async works that each sleep 200 ms, on 2 worker threads with the
//! per-worker cap raised: all of them sleep at once, and all complete.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aplex::ThreadAsyncPoolExecutor;
use common::{wait_until, within, Gate};

#[test]
fn a_hundred_thousand_sleeping_works_all_complete() {
    within(Duration::from_secs(120), || {
        const WORKS: usize = 100_000;
        let pool = ThreadAsyncPoolExecutor::builder()
            .pool_size(2)
            .max_works_per_worker(WORKS)
            .build()
            .unwrap();
        // Each work sleeps, then holds at the gate, so none is over before all have
        // slept, however slowly the submits go on a loaded machine.
        let gate = Gate::new();
        let slept = Arc::new(AtomicUsize::new(0));
        let futures: Vec<_> = (0..WORKS as u32)
            .map(|i| {
                let (gate, slept) = (gate.clone(), Arc::clone(&slept));
                pool.submit(
                    move |i: u32| async move {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        slept.fetch_add(1, Ordering::SeqCst);
                        gate.pass().await;
                        i
                    },
                    i,
                )
            })
            .collect();
        // One after another, the sleeps would take 20,000 s: the wait fails long before.
        wait_until("every work has slept, all at once", || {
            slept.load(Ordering::SeqCst) == WORKS
        });
        assert_eq!(pool.workloads().iter().sum::<usize>(), WORKS);
        gate.open();
        for (i, future) in futures.into_iter().enumerate() {
            assert_eq!(future.result(), Ok(i as u32));
        }
    });
}
