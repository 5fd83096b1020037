//! The behaviour contract every pool keeps, written once and run on each backend (the
//! model is tokio's `tests/rt_common.rs`): each test in the `pool_suite!` blocks of the
//! files below exists twice, as `threads::name` and `processes::name`, and the remote
//! pool will be a third instantiation.
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
    };
}

mod async_callers;
mod balance;
mod blocking_limit;
mod cancel;
mod capacity;
mod files;
mod map;
mod shutdown;
mod submit;
mod timeouts;
mod works;
