//! The process backend of aplex: [`ProcessAsyncPoolExecutor`], a pool of worker
//! processes, each driving its own tokio runtime. Linux only.
//!
//! Use it through the `aplex` crate with the `process` feature. How it works:
//!
//! - **Which code runs in the child.** Works are functions marked `#[aplex::work]`,
//!   registered at link time under the name the compiler gives the function
//!   (`registry.rs`). A worker is this same executable re-executed: it becomes a worker
//!   in a constructor that runs before `main` (`bootstrap.rs`), so no line of user code
//!   is needed, and binaries, examples, tests, doctests and benches all work. Everything
//!   the program does before creating a pool runs only in the parent; the constructor's
//!   check of one environment variable is all that runs in every process.
//! - **Transport.** One long-lived ipc-channel pair per worker; frames carry work ids and
//!   go out in batches from dedicated writer threads; arguments and outputs are postcard
//!   bytes (`wire.rs`).
//! - **The child** runs a tokio runtime built from [`RuntimeConfig`] and the same local
//!   work loop as a thread worker (`child.rs`).
//! - **Supervision.** A thread per worker slot starts its process, reads its replies, and
//!   replaces it when it dies, failing only that process's in-flight works
//!   (`supervisor.rs`, `slot.rs`); [`CrashLimit`] says when to give up.
#![deny(unsafe_code)]

// Lets `#[aplex::work]` (whose expansion names `::aplex`) be used in this crate's tests.
#[cfg(test)]
extern crate self as aplex;

mod accepts;
mod batch_writer;
mod bootstrap;
mod builder;
mod child;
mod context;
mod crash_limit;
mod framed;
mod job;
mod outcomes;
mod payload;
mod pool;
mod probe;
mod registry;
mod reply;
mod runtime_config;
mod signals;
mod slot;
mod spawn;
mod stack_guard;
mod supervisor;
mod wire;
mod worker;

pub use accepts::{Encoded, EncodedChunk, Registered};
pub use builder::{ProcessPoolBuilder, DEFAULT_START_TIMEOUT};
pub use crash_limit::CrashLimit;
pub use job::ProcessJob;
pub use pool::ProcessAsyncPoolExecutor;
pub use runtime_config::{RuntimeConfig, RuntimeFlavor};
pub use worker::ProcessWorker;

/// Registers a function as a work process workers can run; use it as `#[aplex::work]`.
pub use aplex_macros::work;

/// What `#[aplex::work]` expands to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::registry::{
        run_async, run_blocking, type_name_of, Args, AsyncTrampoline, BlockingTrampoline,
        Trampoline, WorkEntry, WORKS,
    };
    pub use linkme;
    pub use serde_bytes::ByteBuf;

    /// What an async trampoline returns.
    pub type AsyncOutcome =
        futures::future::LocalBoxFuture<'static, Result<ByteBuf, aplex_core::Error>>;
    /// What a blocking trampoline returns.
    pub type BlockingOutcome = Result<ByteBuf, aplex_core::Error>;
}
