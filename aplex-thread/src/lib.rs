//! The thread backend of aplex: [`ThreadAsyncPoolExecutor`], a pool of OS threads, each
//! driving its own tokio runtime.
//!
//! Use it through the `aplex` crate (`aplex::ThreadAsyncPoolExecutor`). The files:
//! `pool.rs` (the typed API), `builder.rs` (settings), `worker.rs` (the executor's
//! handle to one thread), `worker_loop.rs` (what the thread runs), `job.rs` (how one
//! work is wrapped).
#![deny(unsafe_code)]

mod builder;
mod job;
mod pool;
mod worker;
mod worker_loop;

pub use builder::{default_runtime, RuntimeFactory, ThreadPoolBuilder, WorkerInitializer};
pub use pool::ThreadAsyncPoolExecutor;
