//! The process backend of aplex (`ProcessAsyncPoolExecutor`): workers as child processes
//! talking over ipc-channel.
//!
//! This crate is a placeholder while the process pool is being built; it depends on
//! `aplex-core` and `aplex-balance` only, like the thread backend, and the `aplex` facade
//! will re-export it behind the `process` feature. Until then, use
//! `aplex::ThreadAsyncPoolExecutor`.
#![deny(unsafe_code)]
