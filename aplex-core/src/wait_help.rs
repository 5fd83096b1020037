//! Help while waiting: a backend's offer to let a thread that waits for a work's reply
//! read that reply itself, sparing the wake-up of the backend's own reader.
//!
//! A blocking wait ([`block_until`](crate::backend::block_until)) polls and yields for a
//! short while before it parks. A process worker's reply is normally read by a thread of
//! the pool and handed over; waking that thread cost as much as the rest of a lone round
//! trip on the VMs measured (a bare echo child's answer handed over: 28–54 µs; read by
//! the waiting thread: 13–18 µs, in the same runs; see docs/PERFORMANCE.md). So:
//!
//! 1. A backend that has just sent a lone work from the calling thread may
//!    [`offer_wait_help`] on that thread: a weak handle to what reads its replies. A
//!    newer offer replaces an older one; an offer is for the thread's next blocking wait.
//! 2. That wait takes the offer (whatever future it waits for) and, while it spins, calls
//!    [`WaitHelp::help_while`]: the helper reads replies and calls `waiting` between
//!    looks, until `waiting` says the wait is over (its future is ready, or its spin or
//!    deadline ran out).
//! 3. The helper gives the reading back before `help_while` returns, so a wait that
//!    parks leaves the replies to the backend again.
//!
//! A helper that cannot help now (another thread reads) returns at once; the wait then
//! spins as it would have. Offers are weak: one outliving its worker is not used.

use std::cell::Cell;
use std::sync::{Arc, Weak};

thread_local! {
    static OFFERED: Cell<Option<Weak<dyn WaitHelp>>> = const { Cell::new(None) };
}

/// What reads a backend's replies and can lend that reading to a waiting thread.
pub trait WaitHelp: Send + Sync {
    /// Reads replies on this thread, calling `waiting` between looks until it returns
    /// `false` (or until nothing more can come), then gives the reading back; returns
    /// `true`. Returns `false` at once, without calling `waiting`, when it cannot help
    /// now.
    fn help_while(&self, waiting: &mut dyn FnMut() -> bool) -> bool;
}

/// Offers `helper` to the calling thread's next blocking wait (see the module docs).
/// For backends, after sending a lone work from the calling thread.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use aplex::backend::{block_until, offer_wait_help, WaitHelp};
///
/// struct Counts(std::sync::atomic::AtomicUsize);
/// impl WaitHelp for Counts {
///     fn help_while(&self, waiting: &mut dyn FnMut() -> bool) -> bool {
///         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         while waiting() {}
///         true
///     }
/// }
///
/// let helper = Arc::new(Counts(Default::default()));
/// let weak = Arc::downgrade(&helper);
/// offer_wait_help(weak);
/// let mut never = std::future::pending::<()>();
/// let deadline = std::time::Instant::now() + std::time::Duration::from_millis(1);
/// assert_eq!(block_until(&mut never, Some(deadline)), None);
/// assert_eq!(helper.0.load(std::sync::atomic::Ordering::Relaxed), 1);
/// ```
pub fn offer_wait_help(helper: Weak<dyn WaitHelp>) {
    // `try_with`: an offer made while the thread's locals are torn down is dropped.
    let _ = OFFERED.try_with(|offered| drop(offered.replace(Some(helper))));
}

/// Takes the calling thread's offer, if there is one and its helper is still alive.
pub(crate) fn take_offered() -> Option<Arc<dyn WaitHelp>> {
    OFFERED
        .try_with(Cell::take)
        .ok()
        .flatten()
        .and_then(|helper| helper.upgrade())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex, Weak};

    use tokio::sync::oneshot;

    use super::{offer_wait_help, take_offered, WaitHelp};
    use crate::wait::block_until;

    struct Declines(AtomicUsize);

    impl WaitHelp for Declines {
        fn help_while(&self, _waiting: &mut dyn FnMut() -> bool) -> bool {
            self.0.fetch_add(1, Ordering::Relaxed);
            false
        }
    }

    #[test]
    fn an_offer_is_taken_once_and_only_while_its_helper_lives() {
        let helper: Arc<dyn WaitHelp> = Arc::new(Declines(AtomicUsize::new(0)));
        offer_wait_help(Arc::downgrade(&helper));
        assert!(take_offered().is_some());
        assert!(take_offered().is_none(), "an offer is used once");
        offer_wait_help(Arc::downgrade(&helper));
        drop(helper);
        assert!(take_offered().is_none(), "its helper is gone");
        offer_wait_help(Weak::<Declines>::new());
        assert!(take_offered().is_none());
    }

    /// Resolves the awaited future from within its help, as a reader that reads the
    /// reply on the waiting thread does.
    struct Resolves(Mutex<Option<oneshot::Sender<u32>>>);

    impl WaitHelp for Resolves {
        fn help_while(&self, waiting: &mut dyn FnMut() -> bool) -> bool {
            if let Some(sender) = self.0.lock().unwrap().take() {
                let _ = sender.send(5);
            }
            while waiting() {}
            true
        }
    }

    #[test]
    fn a_blocking_wait_lets_the_offered_helper_read_while_it_spins() {
        let (sender, mut receiver) = oneshot::channel();
        let helper = Arc::new(Resolves(Mutex::new(Some(sender))));
        let weak = Arc::downgrade(&helper);
        offer_wait_help(weak);
        assert_eq!(block_until(&mut receiver, None), Some(Ok(5)));
        assert!(helper.0.lock().unwrap().is_none(), "the helper was asked");
        assert!(take_offered().is_none(), "the wait took the offer");
    }

    #[test]
    fn a_wait_whose_helper_declines_still_sees_its_outcome() {
        let (sender, mut receiver) = oneshot::channel();
        let helper = Arc::new(Declines(AtomicUsize::new(0)));
        let weak = Arc::downgrade(&helper);
        offer_wait_help(weak);
        let resolving = std::thread::spawn(move || sender.send(9));
        assert_eq!(block_until(&mut receiver, None), Some(Ok(9)));
        resolving.join().unwrap().unwrap();
        assert_eq!(helper.0.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn an_offer_belongs_to_the_thread_that_made_it() {
        let helper: Arc<dyn WaitHelp> = Arc::new(Declines(AtomicUsize::new(0)));
        offer_wait_help(Arc::downgrade(&helper));
        let elsewhere = std::thread::spawn(|| take_offered().is_some());
        assert!(!elsewhere.join().unwrap());
        assert!(take_offered().is_some());
    }
}
