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

use crate::wait_help::take_offered;
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
    static BLOCKING: Cell<Marked> = const { Cell::new(Marked::No) };
}

/// What a thread was marked with, overriding the runtime check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marked {
    No,
    Allowed,
    Refused,
}

/// Marks the current thread, for the rest of its life, as one where blocking waits are
/// fine whatever runtime it is in: the escape hatch for a thread you know drives no tasks that the awaited work
/// needs (tokio itself cannot tell, for example, a `LocalSet` driven by the root future
/// of a multi-thread runtime's `block_on`).
///
/// Blocking waits are refused only on a thread that drives a tokio scheduler — a
/// current-thread runtime's `block_on`, a multi-thread runtime's worker threads — and on
/// a pool's own worker threads. They are allowed everywhere else without this call:
/// in `spawn_blocking`, in `block_in_place`, on a thread that only `enter`ed a runtime,
/// and in the root future of a multi-thread runtime's `block_on` (which runs none of the
/// runtime's tasks).
///
/// # Examples
///
/// ```
/// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// runtime.block_on(async {
///     assert!(aplex::backend::ensure_blocking_allowed().is_err());
///     aplex::allow_blocking_on_this_thread();
///     assert!(aplex::backend::ensure_blocking_allowed().is_ok());
/// });
/// ```
pub fn allow_blocking_on_this_thread() {
    BLOCKING.with(|marked| marked.set(Marked::Allowed));
}

/// Marks the current thread as a pool's worker thread, where a blocking wait is refused
/// (a work there waiting for another work queued behind it would deadlock), until the
/// returned guard is dropped. For backends.
pub fn refuse_blocking_on_this_thread() -> RefusalGuard {
    let before = BLOCKING.with(|marked| marked.replace(Marked::Refused));
    RefusalGuard { before }
}

/// Restores what the thread was marked with before
/// [`refuse_blocking_on_this_thread`].
#[derive(Debug)]
#[must_use = "the thread is marked only while the guard lives"]
pub struct RefusalGuard {
    before: Marked,
}

impl Drop for RefusalGuard {
    fn drop(&mut self) {
        BLOCKING.with(|marked| marked.set(self.before));
    }
}

/// Fails with [`Error::BlockingInRuntime`] when the current thread drives a tokio
/// runtime's scheduler (or is a pool's worker thread); see
/// [`allow_blocking_on_this_thread`] for where blocking is allowed.
///
/// # Examples
///
/// ```
/// use aplex::backend::ensure_blocking_allowed;
/// use aplex::Error;
///
/// assert!(ensure_blocking_allowed().is_ok());
/// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// runtime.block_on(async {
///     assert_eq!(ensure_blocking_allowed(), Err(Error::BlockingInRuntime));
///     let blocking = tokio::task::spawn_blocking(ensure_blocking_allowed);
///     assert_eq!(blocking.await.unwrap(), Ok(()));
/// });
/// let _entered = runtime.enter();
/// assert!(ensure_blocking_allowed().is_ok());
/// ```
///
/// # Errors
///
/// [`Error::BlockingInRuntime`] on a thread that drives a runtime's scheduler.
pub fn ensure_blocking_allowed() -> Result<(), Error> {
    let refused = match BLOCKING.with(Cell::get) {
        Marked::Allowed => false,
        Marked::Refused => true,
        Marked::No => tokio::runtime::worker_index().is_some(),
    };
    if refused {
        Err(Error::BlockingInRuntime)
    } else {
        Ok(())
    }
}

/// Polls `future` on the current thread until it is ready or `deadline` passes; `None`
/// means the deadline passed first.
///
/// While it spins, a reader a backend offered on this thread (see [`offer_wait_help`])
/// may read the awaited reply here.
///
/// This does not check [`ensure_blocking_allowed`]; callers do.
///
/// [`offer_wait_help`]: crate::backend::offer_wait_help
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let mut ready = std::future::ready(5);
/// assert_eq!(aplex::backend::block_until(&mut ready, None), Some(5));
/// let mut never = std::future::pending::<u8>();
/// assert_eq!(aplex::backend::block_until(&mut never, Some(Instant::now() + Duration::from_millis(1))), None);
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
            let spinning = |now: Instant, until: Instant| {
                now < until && deadline.is_none_or(|deadline| now < deadline)
            };
            if spin_until.is_none() {
                let until = *spin_until.insert(now + SPIN);
                // The first spin: a backend's reader may lend its reading (`wait_help.rs`).
                if let Some(helper) = take_offered() {
                    let mut output = None;
                    helper.help_while(&mut || {
                        if let Poll::Ready(ready) = Pin::new(&mut *future).poll(&mut cx) {
                            output = Some(ready);
                            return false;
                        }
                        spinning(Instant::now(), until)
                    });
                    if output.is_some() {
                        return output;
                    }
                    continue;
                }
            }
            if spin_until.is_some_and(|until| spinning(now, until)) {
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
