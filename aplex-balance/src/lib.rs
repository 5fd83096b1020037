//! Load balancers for aplex pools, and everything needed to write your own.
//!
//! A balancer picks the worker for each work. The pool asks it only when at least one
//! worker is below `max_works_per_worker`, and shows it a [`WorkerView`]: the workers,
//! their workloads, the cap, and which are available.
//!
//! - [`RoundRobin`] (the default): the next available worker after the last one chosen.
//! - [`Random`]: a uniformly random available worker.
//! - [`Average`]: an available worker with the smallest workload.
//! - [`Warm`]: an available worker with the smallest workload, staying on the last one
//!   chosen while it is among them, so works submitted one at a time keep to one warm
//!   worker.
//!
//! This crate re-exports the [`LoadBalancer`] trait and the types it uses, so a custom
//! balancer depends on `aplex-balance` alone (and its tests on its `test-util` feature):
//!
//! ```
//! use aplex_balance::{LoadBalancer, Meta, WorkerView};
//!
//! /// Sends a work to the worker whose index the caller passed as meta, if it is free.
//! #[derive(Debug, Default)]
//! struct Pinned;
//!
//! impl LoadBalancer for Pinned {
//!     fn get_proper_worker(&mut self, workers: &WorkerView<'_>, meta: Option<&Meta>) -> usize {
//!         match meta.and_then(|meta| meta.downcast_ref::<usize>()) {
//!             Some(&wanted) if workers.is_available(wanted) => wanted,
//!             _ => workers.available_workers().next().unwrap_or(0),
//!         }
//!     }
//! }
//! ```
#![forbid(unsafe_code)]

mod average;
mod least_loaded;
mod random;
mod round_robin;
mod warm;

pub use aplex_core::{LoadBalancer, Meta, WorkerInfo, WorkerView};

/// Worker views to test a balancer against (feature `test-util`):
/// [`worker_view`](testing::worker_view), [`worker_infos`](testing::worker_infos),
/// [`loads`](testing::loads).
#[cfg(feature = "test-util")]
pub mod testing {
    pub use aplex_core::testing::{loads, worker_infos, worker_view};
}
pub use average::Average;
pub use random::Random;
pub use round_robin::RoundRobin;
pub use warm::Warm;
