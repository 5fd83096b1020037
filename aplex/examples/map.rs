//! Map: a work over many inputs, like `concurrent.futures`' map — ordered or as
//! completed, in chunks, with a timeout, on threads and on processes.
//!
//! Run it with `cargo run --example map`.

use std::time::Duration;

use aplex::{Error, ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor};

/// An async work: waits a little (longer for small inputs), then squares.
#[aplex::work]
async fn slow_square(x: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(20 - x % 20)).await;
    x * x
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let threads = ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;

    // Ordered (the default): results come in input order.
    let ordered: Vec<u64> = threads.map(slow_square, 0..10).collect::<Result<_, _>>()?;
    println!("ordered:   {ordered:?}");

    // As completed: whichever finishes first comes first.
    let unordered: Vec<u64> = threads
        .map(slow_square, 0..10)
        .unordered()
        .collect::<Result<_, _>>()?;
    println!("unordered: {unordered:?}");

    // Chunks: 1,000 inputs sent 100 to a message; the whole map must finish in 10 s.
    let total: u64 = threads
        .map(slow_square, 0..1000)
        .chunksize(100)
        .timeout(Duration::from_secs(10))
        .sum::<Result<u64, Error>>()?;
    println!("sum of 1,000 squares: {total}");

    // A timeout that is too short: the map yields Error::TimedOut and cancels the rest.
    let mut hurried = threads
        .map(slow_square, 0..10)
        .timeout(Duration::from_millis(1));
    println!("too short a timeout: {:?}", hurried.next());

    // The same registered work, mapped in worker processes.
    let processes = ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
    let in_processes: Vec<u64> = processes
        .map(slow_square, 0..10)
        .chunksize(5)
        .collect::<Result<_, _>>()?;
    println!("in processes: {in_processes:?}");
    Ok(())
}
