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

/// Writes each test once and instantiates it for every backend: inside, `TestPool` is
/// the backend's pool type and `builder()` its builder.
macro_rules! pool_suite {
    ($($tests:tt)*) => {
        mod threads {
            #[allow(unused_imports)]
            use super::*;

            #[allow(dead_code)]
            type TestPool = aplex::ThreadAsyncPoolExecutor;

            fn builder() -> aplex::ThreadPoolBuilder {
                TestPool::builder()
            }

            $($tests)*
        }

        mod processes {
            #[allow(unused_imports)]
            use super::*;

            #[allow(dead_code)]
            type TestPool = aplex::ProcessAsyncPoolExecutor;

            fn builder() -> aplex::ProcessPoolBuilder {
                TestPool::builder()
            }

            $($tests)*
        }

        #[cfg(feature = "server-tests")]
        mod remote {
            #[allow(unused_imports)]
            use super::*;

            #[allow(dead_code)]
            type TestPool = crate::remote_harness::RemoteSuitePool;

            fn builder() -> crate::remote_harness::RemoteSuiteBuilder {
                crate::remote_harness::RemoteSuiteBuilder::default()
            }

            $($tests)*
        }
    };
}

/// As [`pool_suite`], for the contract of pools whose workers the executor chooses and
/// caps one by one (threads and processes): balancers, per-worker caps and workloads,
/// the local defaults. A remote pool's nodes pull their works instead (docs/REMOTE.md).
macro_rules! local_pool_suite {
    ($($tests:tt)*) => {
        mod threads_only_local {
            #[allow(unused_imports)]
            use super::*;

            #[allow(dead_code)]
            type TestPool = aplex::ThreadAsyncPoolExecutor;

            fn builder() -> aplex::ThreadPoolBuilder {
                TestPool::builder()
            }

            $($tests)*
        }

        mod processes_only_local {
            #[allow(unused_imports)]
            use super::*;

            #[allow(dead_code)]
            type TestPool = aplex::ProcessAsyncPoolExecutor;

            fn builder() -> aplex::ProcessPoolBuilder {
                TestPool::builder()
            }

            $($tests)*
        }
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
