//! Blocking waits on futures: the park-based `block_on` behind `WorkFuture::result` and
//! the blocking map iterators, and the guard that refuses to block a runtime thread.
//!
//! A [`WorkFuture`](crate::WorkFuture) is woken by a waker, so waiting from plain code is
//! just polling with a waker that unparks the waiting thread. Doing that on a thread that
//! drives a tokio runtime would stall every task of that runtime (and deadlock if the
//! awaited work needs it), so it is refused with [`Error::BlockingInRuntime`].

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::Error;

struct Unparker(Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// How long a blocking wait yields and re-polls before parking: a work that finishes
/// within this (a round trip to an idle worker) is seen without the wake-up of a parked
/// thread, and other runnable threads still get the CPU.
const SPIN: Duration = Duration::from_micros(50);

thread_local! {
    static PARK_WAKER: Waker = Waker::from(Arc::new(Unparker(thread::current())));
    static BLOCKING_ALLOWED: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread as one where blocking waits are fine even though a tokio
/// runtime context is entered (a runtime's blocking-pool thread running a blocking work).
///
/// Backends call this at the start of every blocking work.
///
/// # Examples
///
/// ```
/// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// runtime.block_on(async {
///     let blocking = tokio::task::spawn_blocking(|| {
///         aplex_core::allow_blocking_on_this_thread();
///         aplex_core::ensure_blocking_allowed()
///     });
///     assert!(blocking.await.unwrap().is_ok());
/// });
/// ```
pub fn allow_blocking_on_this_thread() {
    BLOCKING_ALLOWED.with(|allowed| allowed.set(true));
}

/// Fails with [`Error::BlockingInRuntime`] when the current thread drives a tokio runtime.
///
/// # Examples
///
/// ```
/// use aplex_core::{ensure_blocking_allowed, Error};
///
/// assert!(ensure_blocking_allowed().is_ok());
/// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// runtime.block_on(async { assert_eq!(ensure_blocking_allowed(), Err(Error::BlockingInRuntime)) });
/// ```
///
/// # Errors
///
/// [`Error::BlockingInRuntime`] on a runtime thread not marked with
/// [`allow_blocking_on_this_thread`].
pub fn ensure_blocking_allowed() -> Result<(), Error> {
    let in_runtime = tokio::runtime::Handle::try_current().is_ok();
    if in_runtime && !BLOCKING_ALLOWED.with(Cell::get) {
        Err(Error::BlockingInRuntime)
    } else {
        Ok(())
    }
}

/// Polls `future` on the current thread until it is ready or `deadline` passes; `None`
/// means the deadline passed first.
///
/// This does not check [`ensure_blocking_allowed`]; callers do.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let mut ready = std::future::ready(5);
/// assert_eq!(aplex_core::block_until(&mut ready, None), Some(5));
/// let mut never = std::future::pending::<u8>();
/// assert_eq!(aplex_core::block_until(&mut never, Some(Instant::now() + Duration::from_millis(1))), None);
/// ```
pub fn block_until<F: Future + Unpin>(
    future: &mut F,
    deadline: Option<Instant>,
) -> Option<F::Output> {
    PARK_WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        let mut spin_until = None;
        loop {
            if let Poll::Ready(output) = Pin::new(&mut *future).poll(&mut cx) {
                return Some(output);
            }
            let now = Instant::now();
            let spin_until = *spin_until.get_or_insert(now + SPIN);
            if now < spin_until && deadline.is_none_or(|deadline| now < deadline) {
                thread::yield_now();
                continue;
            }
            match deadline {
                None => thread::park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return None;
                    }
                    thread::park_timeout(deadline - now);
                }
            }
        }
    })
}
