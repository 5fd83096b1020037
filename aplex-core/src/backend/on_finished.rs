//! How a worker's loop tells its pool that works are over ([`OnFinished`]): on the loop's
//! own thread only, or from any thread — and then a blocking work's end is told by the
//! blocking thread that ran it, without a wake-up of the loop.

use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

/// A reporter any thread may call.
pub(crate) type AnywhereReport = Arc<dyn Fn(usize) + Send + Sync>;

/// What [`serve_local`](crate::backend::local::serve_local) calls with how many works are
/// over, however they ended.
///
/// # Examples
///
/// ```
/// use aplex::backend::local::OnFinished;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// let over = Arc::new(AtomicUsize::new(0));
/// let counted = Arc::clone(&over);
/// // A thread-safe counter may be told from the blocking threads directly.
/// let _report = OnFinished::anywhere(move |count| {
///     counted.fetch_add(count, Ordering::Relaxed);
/// });
/// // Loop-only state (an `Rc`, a `Cell`) is told on the loop's thread.
/// let slots = std::rc::Rc::new(std::cell::Cell::new(0));
/// let _report = OnFinished::on_loop(move |count| slots.set(slots.get() + count));
/// ```
pub enum OnFinished {
    /// Called on the loop's thread only: a blocking work's end wakes the loop to tell it.
    OnLoop(Box<dyn Fn(usize)>),
    /// Called on whichever thread a work ends on, the blocking threads included.
    Anywhere(AnywhereReport),
}

impl OnFinished {
    /// A reporter the loop calls on its own thread.
    pub fn on_loop(report: impl Fn(usize) + 'static) -> Self {
        OnFinished::OnLoop(Box::new(report))
    }

    /// A reporter any thread may call.
    pub fn anywhere(report: impl Fn(usize) + Send + Sync + 'static) -> Self {
        OnFinished::Anywhere(Arc::new(report))
    }

    /// The loop's own handle on it, and the blocking threads' (if they may call it).
    pub(crate) fn split(self) -> (Rc<dyn Fn(usize)>, Option<AnywhereReport>) {
        match self {
            OnFinished::OnLoop(report) => (Rc::from(report), None),
            OnFinished::Anywhere(report) => {
                let on_loop = Arc::clone(&report);
                (Rc::new(move |count| on_loop(count)), Some(report))
            }
        }
    }
}

impl fmt::Debug for OnFinished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OnFinished::OnLoop(_) => "OnFinished::OnLoop",
            OnFinished::Anywhere(_) => "OnFinished::Anywhere",
        })
    }
}
