//! The thread backend of aplex: [`ThreadAsyncPoolExecutor`], a pool of OS threads, each
//! driving its own tokio runtime.
//!
//! Use it through the `aplex` crate (`aplex::ThreadAsyncPoolExecutor`). The files:
//! `pool.rs` (the pool, which dereferences to the core's `Pool`), `accepts.rs` (which
//! works it runs), `builder.rs` (settings), `runtime.rs` (each worker's runtime and
//! initializer), `worker.rs` (the executor's handle to one thread), `worker_loop.rs`
//! (what the thread runs); `scope.rs` (works that borrow). How a work becomes a job is
//! the core's `backend::Placement`.
#![deny(unsafe_code)]

mod accepts;
mod builder;
mod pool;
mod runtime;
mod scope;
mod worker;
mod worker_loop;

pub use builder::ThreadPoolBuilder;
pub use pool::ThreadAsyncPoolExecutor;
pub use runtime::{default_runtime, RuntimeFactory, StateMaker, WorkerInitializer};
pub use scope::{Scope, ScopedItem};
pub use worker::ThreadJob;
pub use worker::ThreadWorker;
