//! Graceful exit: `shutdown(true)` lets queued and running works finish, `shutdown_now()`
//! cancels them, and dropping a pool cancels what is left and never hangs — no loop of
//! task cancellations to write by hand.
//!
//! Run it with `cargo run --example graceful_exit`.

use std::time::{Duration, Instant};

use aplex::ProcessAsyncPoolExecutor;

#[aplex::work]
async fn nap(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Drain: every queued and running work finishes, then the workers exit.
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .max_works_per_worker(2)
        .build()?;
    let naps: Vec<_> = (1..=8).map(|i| pool.submit(nap, i * 10)).collect();
    let started = Instant::now();
    pool.shutdown(true);
    let slept: Vec<u64> = naps
        .into_iter()
        .map(|nap| nap.result())
        .collect::<Result<_, _>>()?;
    println!(
        "shutdown(true) waited {:.0?} for {slept:?}",
        started.elapsed()
    );
    println!(
        "after shutdown, submit says: {}",
        pool.submit(nap, 1).result().unwrap_err()
    );

    // Cancel: queued works are dropped, running async works aborted.
    let pool = ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
    let long = pool.submit(nap, 60_000);
    pool.shutdown_now();
    println!(
        "shutdown_now(): the one-minute nap ended as {:?}",
        long.result()
    );

    // Drop: like shutdown_now, bounded by the pool's shutdown_grace.
    let pool = ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
    let forgotten = pool.submit(nap, 60_000);
    let started = Instant::now();
    drop(pool);
    println!(
        "drop took {:.0?}; the forgotten nap ended as {:?}; no worker process is left",
        started.elapsed(),
        forgotten.result()
    );
    Ok(())
}
