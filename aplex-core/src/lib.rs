//! The core of aplex: the types every pool shares and the backend-independent executor.
//!
//! What users touch is here at the root:
//!
//! - [`Work`]: what a worker runs — an async function, or a plain one marked
//!   [`blocking`];
//! - [`Pool`]: the API every pool has (`submit`, `submit_with`, `try_submit`, `map`,
//!   shutdown, stats), which each backend's pool dereferences to;
//! - [`WorkFuture`]: a submitted work's handle, awaitable on any runtime and waitable
//!   from blocking code; [`Map`] and [`MapStream`]: a work over an input;
//! - [`LoadBalancer`] and [`WorkerView`]: how a worker is chosen for each work;
//! - [`Error`] (a work's outcome), [`BuildError`] (a pool that could not be built),
//!   [`Refused`] (a submission handed back).
//!
//! What only a backend needs — the [`Worker`](backend::Worker) trait, the executor, the
//! worker-side loop — is in [`backend`]; helpers for tests and examples are in
//! `testing` (feature `test-util`).
//!
//! Users normally reach all of this through the `aplex` crate.
#![forbid(unsafe_code)]

pub mod backend;
mod balancer;
mod begin;
mod build_error;
mod cell;
mod deadline;
mod deadlines;
mod dispatch;
mod error;
mod events;
mod executor;
mod future;
mod gauge;
mod local_work;
#[cfg(all(test, aplex_loom))]
mod loom_tests;
mod map;
mod options;
mod pool;
#[cfg(feature = "progress")]
mod progress;
#[cfg(feature = "registry")]
pub mod registry;
mod retry;
mod serving;
mod stats;
mod sync;
#[cfg(feature = "test-util")]
pub mod testing;
mod tracked;
mod wait;
mod wait_help;
mod work;
mod work_options;
mod worker;
mod worker_state;

pub use balancer::{LoadBalancer, Meta, WorkerView};
pub use build_error::BuildError;
pub use error::{Clock, Error, Refused, WorkerExit};
pub use future::WorkFuture;
pub use local_work::{local, Local};
pub use map::{Map, MapStream};
pub use options::{
    DEFAULT_MAX_BLOCKING_WORKS_PER_WORKER, DEFAULT_MAX_WORKS_PER_WORKER, DEFAULT_SHUTDOWN_GRACE,
};
pub use pool::Pool;
pub use stats::{PoolStats, WorkerStats};
pub use wait::allow_blocking_on_this_thread;
pub use work::{blocking, Blocking, Work, WorkBody, WorkKind};
pub use work_options::WorkOptions;
pub use worker::WorkerInfo;
pub use worker_state::worker_state;
