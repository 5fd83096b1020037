//! The behaviour contract every pool keeps, written once and run on each backend (the
//! model is tokio's `tests/rt_common.rs`): each test in the `pool_suite!` blocks of the
//! files below exists three times, as `threads::name`, `processes::name` and
//! `remote::name` (the remote pool on a real nats-server, feature `server-tests`, run by
//! `cargo xtask test`); tests of per-worker balancing and caps are `local_pool_suite!`'s,
//! for threads and processes only.
//!
//! The works are registered functions (`works.rs`), the only kind every pool runs.
//! Works hold and mark through files in a scratch directory, the one side channel that
//! crosses processes. What only one backend does (crashes, signals, recycling, thread
//! names, closures) stays in its own test files.

#[path = "../common/mod.rs"]
mod common;

/// One backend's instantiation of `$tests`: a module `$name` in which `TestPool` is the
/// backend's pool type and `builder()` makes its builder.
macro_rules! backend_tests {
    ($name:ident, $pool:ty, $builder:ty, $make:expr, $($tests:tt)*) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[allow(dead_code)]
            type TestPool = $pool;

            fn builder() -> $builder {
                $make
            }

            $($tests)*
        }
    };
}

/// Writes each test once and instantiates it for every backend: threads, processes and
/// (feature `server-tests`) the remote pool.
macro_rules! pool_suite {
    ($($tests:tt)*) => {
        backend_tests!(threads, aplex::ThreadAsyncPoolExecutor, aplex::ThreadPoolBuilder,
            aplex::ThreadAsyncPoolExecutor::builder(), $($tests)*);
        backend_tests!(processes, aplex::ProcessAsyncPoolExecutor, aplex::ProcessPoolBuilder,
            aplex::ProcessAsyncPoolExecutor::builder(), $($tests)*);
        #[cfg(feature = "server-tests")]
        backend_tests!(remote, crate::remote_harness::RemoteSuitePool,
            crate::remote_harness::RemoteSuiteBuilder,
            crate::remote_harness::RemoteSuiteBuilder::default(), $($tests)*);
    };
}

/// As [`pool_suite`], for the contract of pools whose workers the executor chooses and
/// caps one by one (threads and processes): balancers, per-worker caps and workloads,
/// the local defaults. A remote pool's nodes pull their works instead (docs/REMOTE.md).
macro_rules! local_pool_suite {
    ($($tests:tt)*) => {
        backend_tests!(threads_only_local, aplex::ThreadAsyncPoolExecutor,
            aplex::ThreadPoolBuilder, aplex::ThreadAsyncPoolExecutor::builder(), $($tests)*);
        backend_tests!(processes_only_local, aplex::ProcessAsyncPoolExecutor,
            aplex::ProcessPoolBuilder, aplex::ProcessAsyncPoolExecutor::builder(), $($tests)*);
    };
}

mod async_callers;
mod balance;
mod blocking_limit;
mod cancel;
mod capacity;
mod files;
mod map;
#[cfg(feature = "server-tests")]
mod remote_harness;
mod shutdown;
mod submit;
mod timeouts;
mod works;
