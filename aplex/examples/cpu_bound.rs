//! CPU-bound works in true parallel: plain functions in worker processes, each on its
//! own core, timed against running them one after another.
//!
//! Run it with `cargo run --release --example cpu_bound`.

use std::time::Instant;

use aplex::ProcessAsyncPoolExecutor;

/// Counts the primes below `limit` the slow way.
#[aplex::work]
fn count_primes(limit: u64) -> u64 {
    (2..limit)
        .filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
        .count() as u64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let limits = vec![200_000u64; cores * 2];

    let started = Instant::now();
    let sequential: Vec<u64> = limits.iter().map(|&limit| count_primes(limit)).collect();
    let sequential_time = started.elapsed();

    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(cores)
        .build()?;
    let started = Instant::now();
    let parallel: Vec<u64> = pool
        .map(aplex::blocking(count_primes), limits)
        .collect::<Result<_, _>>()?;
    let parallel_time = started.elapsed();

    assert_eq!(sequential, parallel);
    println!(
        "{} works: {:.2?} one after another, {:.2?} on {cores} worker processes ({:.2}x)",
        parallel.len(),
        sequential_time,
        parallel_time,
        sequential_time.as_secs_f64() / parallel_time.as_secs_f64()
    );
    Ok(())
}
