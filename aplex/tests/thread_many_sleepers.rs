//! 100,000 concurrent async works that each sleep 200 ms, on 2 worker threads with the
//! per-worker cap raised: all of them complete.

use std::time::Duration;

use aplex::ThreadAsyncPoolExecutor;

#[test]
fn a_hundred_thousand_sleeping_works_all_complete() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .max_works_per_worker(100_000)
        .build()
        .unwrap();
    let futures: Vec<_> = (0..100_000u32)
        .map(|i| {
            pool.submit(
                |i: u32| async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    i
                },
                i,
            )
        })
        .collect();
    let peak: usize = pool.workloads().iter().sum();
    assert!(
        peak > 50_000,
        "the works run concurrently, not one after another: {peak} in flight"
    );
    let mut total: u64 = 0;
    for (i, future) in futures.into_iter().enumerate() {
        let value = future.result().unwrap();
        assert_eq!(value as usize, i);
        total += 1;
    }
    assert_eq!(total, 100_000);
}
