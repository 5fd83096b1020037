//! The synchronisation primitives the dispatch protocol and a work's cell are built on:
//! the standard library's, or loom's when the crate is model-checked
//! (`RUSTFLAGS="--cfg aplex_loom"`, see `gauge.rs` and `cell.rs`).

#[cfg(aplex_loom)]
pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};
#[cfg(aplex_loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

#[cfg(not(aplex_loom))]
pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(not(aplex_loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};
