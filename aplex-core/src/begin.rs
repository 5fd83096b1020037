//! When a blocking work begins: the [`Begin`] handle a backend uses to say so, and the
//! timeout that waits for it.
//!
//! An async work starts at once on its worker and can be aborted whenever, so it counts
//! as running from dispatch. A blocking work may wait on its worker for a blocking thread;
//! until it begins it is queued in all but name:
//!
//! 1. it can still be cancelled: `cancel()` resolves its future `Cancelled` and the
//!    worker skips it when it would begin ([`Begin::begin`] says `false`);
//! 2. its timeout has not started: the executor hands the timer to its cell
//!    (`DeferredTimer`), and [`Begin::begin`] schedules it;
//! 3. a backend that can no longer recall a work before it begins (a process pool, once
//!    the work's frame has left for the worker process) calls [`Begin::commit`]: from
//!    then on `cancel()` says `false`, as for a running work.

use std::sync::{Arc, Weak};

use crate::deadlines::Expiring;
use crate::future::WorkPromise;
use crate::tracked::Tracked;

/// A backend's handle for saying that a blocking work begins; see the module docs.
///
/// # Examples
///
/// ```
/// use aplex::WorkFuture;
///
/// let (promise, future) = aplex::backend::future_pair::<u8>(false);
/// let begin = promise.begin_handle();
/// assert!(future.cancel(), "not begun: still cancellable");
/// assert!(!begin.begin(), "cancelled: the worker skips it");
/// ```
pub struct Begin {
    work: Option<Arc<dyn Tracked>>,
}

impl Begin {
    /// The work begins now: it can no longer be cancelled, and its timeout starts.
    /// Returns `false` if it already has an outcome (cancelled, timed out): do not run
    /// it.
    pub fn begin(&self) -> bool {
        let Some(work) = &self.work else {
            return false;
        };
        match work.begin() {
            None => false,
            Some(timer) => {
                if let Some(timer) = timer {
                    timer.schedule(Arc::downgrade(work) as Weak<dyn Expiring>);
                }
                true
            }
        }
    }

    /// Whether the work's timeout waits for it to begin: the backend must then call
    /// [`begin`](Self::begin) when it does (a process pool asks its worker to say so).
    pub fn times_from_begin(&self) -> bool {
        self.work
            .as_ref()
            .is_some_and(|work| work.has_deferred_timeout())
    }

    /// The work is beyond recall (it will begin without asking again): it can no longer
    /// be cancelled. Returns `false` if it already has an outcome: do not send it.
    pub fn commit(&self) -> bool {
        self.work.as_ref().is_some_and(|work| work.commit())
    }
}

impl std::fmt::Debug for Begin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Begin").finish_non_exhaustive()
    }
}

impl<T: Send + 'static> WorkPromise<T> {
    /// The handle a backend uses to say when this (blocking) work begins; see [`Begin`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, _future) = aplex::backend::future_pair::<u8>(false);
    /// assert!(promise.begin_handle().begin());
    /// ```
    pub fn begin_handle(&self) -> Begin {
        Begin {
            work: self.tracked(),
        }
    }
}
