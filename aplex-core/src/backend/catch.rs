//! Catching a work's panic: async and blocking works run under these, so a panic ends
//! the one work (its future reads [`Error::Panicked`] with the panic's message), never
//! the worker.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};

use futures::FutureExt;

use crate::error::panic_message;
use crate::Error;

/// Runs an async work, turning a panic into [`Error::Panicked`] with its message.
///
/// # Examples
///
/// ```
/// use aplex::backend::local::catch_async;
/// use aplex::Error;
///
/// let caught = futures::executor::block_on(catch_async(async { panic!("oops") }));
/// assert_eq!(caught, Err::<(), _>(Error::Panicked { message: "oops".into() }));
/// ```
pub fn catch_async<F: Future>(run: F) -> impl Future<Output = Result<F::Output, Error>> {
    // A combinator rather than an `async fn`: no state machine of its own around the
    // work's, which a chunk of tiny works polls once per item.
    AssertUnwindSafe(run)
        .catch_unwind()
        .map(|caught| caught.map_err(panicked))
}

/// The error for a work that panicked with `payload`.
#[cold]
pub(crate) fn panicked(payload: Box<dyn std::any::Any + Send>) -> Error {
    Error::Panicked {
        message: panic_message(&*payload),
    }
}

/// Runs a blocking work, turning a panic into [`Error::Panicked`] with its message.
///
/// # Examples
///
/// ```
/// use aplex::backend::local::catch_blocking;
///
/// assert_eq!(catch_blocking(|| 2 + 2), Ok(4));
/// assert!(catch_blocking(|| -> u8 { panic!("no") }).is_err());
/// ```
pub fn catch_blocking<T>(run: impl FnOnce() -> T) -> Result<T, Error> {
    catch_unwind(AssertUnwindSafe(run)).map_err(panicked)
}
