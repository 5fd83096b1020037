//! The core of aplex: the types every pool shares and the backend-independent executor.
//!
//! - [`WorkFuture`]: the handle to a submitted work, awaitable on any runtime and
//!   waitable from blocking code; [`WorkPromise`] is the side a worker fills in.
//! - [`Worker`]: what a backend (threads, processes) implements for one worker.
//! - [`LoadBalancer`] and [`WorkerView`]: how a worker is chosen for each work.
//! - [`Executor`]: dispatch through the balancer, per-worker workloads capped at
//!   `max_works_per_worker`, the FIFO pending queue, cancel and shutdown.
//! - [`Map`]: a work over an input, lazily, as an iterator or a stream.
//! - [`local`]: the loop that runs works on one worker's tokio runtime.
//! - [`Error`]: the one error type.
//!
//! Users normally reach all of this through the `aplex` crate.
#![forbid(unsafe_code)]

mod balancer;
mod begin;
mod cell;
pub mod chunk;
pub mod chunk_results;
mod deadlines;
mod dispatch;
mod error;
mod events;
mod executor;
mod future;
pub mod join;
pub mod local;
mod map;
mod options;
#[cfg(feature = "progress")]
mod progress;
mod retry;
mod stats;
mod wait;
mod work_options;
mod worker;

pub use balancer::{LoadBalancer, Meta, WorkerView};
pub use begin::Begin;
pub use chunk::Chunk;
pub use chunk_results::ChunkResults;
pub use dispatch::Admission;
pub use error::{panic_message, Error, Refused, WorkerExit};
pub use executor::Executor;
pub use future::{WorkFuture, WorkPromise};
pub use map::{ChunkFuture, FlushChunks, Map, MapStream, SubmitChunk};
pub use options::{PoolOptions, DEFAULT_MAX_WORKS_PER_WORKER, DEFAULT_SHUTDOWN_GRACE};
pub use stats::{PoolStats, WorkerStats};
pub use wait::{
    allow_blocking_on_this_thread, block_until, ensure_blocking_allowed,
    refuse_blocking_on_this_thread, RefusalGuard,
};
pub use work_options::WorkOptions;
pub use worker::{CloseMode, WorkId, Worker, WorkerEvents, WorkerInfo, WorkerSeat};
