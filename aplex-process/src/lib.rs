//! The process backend of aplex: [`ProcessAsyncPoolExecutor`], a pool of worker
//! processes, each driving its own tokio runtime. Linux only.
//!
//! Use it through the `aplex` crate with the `process` feature. The sources are in three
//! parts: `parent/` (the pool, its slots and their supervisors), `child/` (what a worker
//! process runs) and `protocol/` (what the two say to each other, and the registry of
//! works both sides share). How it works:
//!
//! - **Which code runs in the child.** Works are functions marked `#[aplex::work]`,
//!   registered at link time under the name the compiler gives the function
//!   (aplex-core's `registry`, shared with the remote pool). A worker is this same executable re-executed: it becomes a worker
//!   in a constructor that runs before `main` (`child/bootstrap.rs`), so no line of user code
//!   is needed, and binaries, examples, tests, doctests and benches all work. Everything
//!   the program does before creating a pool runs only in the parent; the constructor's
//!   check of one environment variable is all that runs in every process.
//! - **Transport.** One long-lived ipc-channel pair per worker; frames carry work ids and
//!   go out in batches from dedicated writer threads; arguments and outputs are MessagePack
//!   (self-describing, so every serde type crosses) (`protocol/wire.rs`, `framed.rs`).
//! - **The child** runs a tokio runtime built from [`RuntimeConfig`] and the same local
//!   work loop as a thread worker (`child/serve.rs`).
//! - **Supervision.** A thread per worker slot starts its process, reads its replies, and
//!   replaces it when it dies, failing only that process's in-flight works
//!   (`parent/supervisor.rs`, `parent/slot.rs`); [`CrashLimit`] says when to give up.
#![deny(unsafe_code)]

// Lets `#[aplex::work]` (whose expansion names `::aplex`) be used in this crate's tests.
#[cfg(test)]
extern crate self as aplex;

mod child;
mod parent;
mod protocol;
#[cfg(test)]
// `#[aplex::work]` registers through linkme, whose statics use `link_section`; that is
// the reviewed registry mechanism (aplex-core's registry), not new unsafe code.
#[allow(unsafe_code)]
mod registry_tests;

pub use parent::accepts::{Encoded, EncodedChunk, Registered};
pub use parent::builder::{ProcessPoolBuilder, DEFAULT_START_TIMEOUT};
pub use parent::crash_limit::CrashLimit;
pub use parent::job::ProcessJob;
pub use parent::pool::ProcessAsyncPoolExecutor;
pub use parent::worker::ProcessWorker;
pub use protocol::runtime_config::{RuntimeConfig, RuntimeFlavor};

/// Registers a function as a work process workers can run; use it as `#[aplex::work]`.
pub use aplex_macros::work;

/// Registers the maker of each worker process's state; use it as
/// `#[aplex::worker_state]` (see `ProcessPoolBuilder::worker_state`).
pub use aplex_macros::worker_state;

/// What `#[aplex::work]` expands to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use aplex_core::registry::__private::*;
}
