//! Worker loop factory: choose how each worker builds its tokio runtime (Python aplex's
//! `worker_loop_factory=uvloop.Loop`). Threads take a closure; processes take a
//! `RuntimeConfig`, because a closure cannot cross into another process.
//!
//! Run it with `cargo run --example runtime_factory`.

use aplex::{ProcessAsyncPoolExecutor, RuntimeConfig, RuntimeFlavor, ThreadAsyncPoolExecutor};

#[aplex::work]
async fn runtime_kind(_: ()) -> String {
    format!("{:?}", tokio::runtime::Handle::current().runtime_flavor())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Each worker thread builds a 2-thread runtime with a bounded blocking pool.
    let threads = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .worker_loop_factory(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .max_blocking_threads(8)
                .enable_all()
                .build()
        })
        .build()?;
    println!(
        "thread workers run on: {}",
        threads.submit(runtime_kind, ()).result()?
    );

    // Each worker process rebuilds the runtime this config describes.
    let processes = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .worker_loop_factory(RuntimeConfig {
            flavor: RuntimeFlavor::MultiThread { worker_threads: 2 },
            max_blocking_threads: Some(8),
            ..RuntimeConfig::default()
        })
        .build()?;
    println!(
        "process workers run on: {}",
        processes.submit(runtime_kind, ()).result()?
    );

    // The default: one current-thread runtime per worker, as one asyncio loop per worker.
    let default = ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    println!("by default: {}", default.submit(runtime_kind, ()).result()?);
    Ok(())
}
