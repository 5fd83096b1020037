//! [`Coalesce`]: when a [`WriterThread`](super::batch_writer::WriterThread) waits for more
//! items before it sends, so a stream of items costs the writer and the receiver one
//! wake-up per window instead of one per item.
//!
//! 1. The writer waits only while its owner says at least `at_least` items are still
//!    coming (the works alive in a worker process, or in flight to it).
//! 2. It waits `window` after a sparse message, and `dense_window` after a message of at
//!    least `at_least` items: a steady stream, whose items gain more from travelling
//!    together than any one of them loses by waiting.
//! 3. The wait ends early when the owner wakes the writer ([`CoalesceWake`]) as fewer
//!    than `at_least` come: the end of a burst leaves at once, as the map that sent the
//!    burst waits for its results before it sends more.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long a coalescing writer waits for more items after a sparse message.
pub(crate) const COALESCE_WINDOW: Duration = Duration::from_micros(100);

/// When a writer waits for more items before it sends; see the module's docs.
pub(crate) struct Coalesce {
    /// Items still to come.
    pub(crate) coming: Arc<AtomicUsize>,
    /// The fewest coming for the writer to wait, and the fewest items in a dense message.
    pub(crate) at_least: usize,
    /// How long it waits after a sparse message.
    pub(crate) window: Duration,
    /// How long it waits after a dense one.
    pub(crate) dense_window: Duration,
    /// Wakes the writer from its wait.
    pub(crate) wake: CoalesceWake,
}

/// Wakes a writer from its [`Coalesce`] wait; cheap to clone, and a no-op before the
/// writer first waits.
#[derive(Clone, Default)]
pub(crate) struct CoalesceWake {
    /// The writer's thread (one writer thread waits on a `Coalesce`), known once it has
    /// waited.
    writer: Arc<OnceLock<Thread>>,
    /// How many times the writer has been about to park (tests wait for it, so a wake
    /// they send is proved to end a wait, not to come before one).
    #[cfg(test)]
    parks: Arc<AtomicUsize>,
}

impl CoalesceWake {
    /// Ends the writer's wait if it is waiting (it then sends if fewer than `at_least`
    /// items are coming, and waits on otherwise).
    pub(crate) fn wake(&self) {
        if let Some(writer) = self.writer.get() {
            writer.unpark();
        }
    }

    /// Whether the writer has been about to park in a wait.
    #[cfg(test)]
    pub(crate) fn has_parked(&self) -> bool {
        self.parks.load(Ordering::Acquire) > 0
    }

    /// Makes the calling thread, the writer's, the one woken (once: no lock per wait).
    fn register(&self) {
        self.writer.get_or_init(std::thread::current);
    }
}

impl Coalesce {
    /// Waits [`COALESCE_WINDOW`] while at least `at_least` are `coming`, after any message.
    pub(crate) fn while_at_least(coming: Arc<AtomicUsize>, at_least: usize) -> Coalesce {
        Coalesce {
            coming,
            at_least,
            window: COALESCE_WINDOW,
            dense_window: COALESCE_WINDOW,
            wake: CoalesceWake::default(),
        }
    }

    /// Waits `window` instead after a message of at least `at_least` items, and may be
    /// woken early through `wake`.
    pub(crate) fn dense(mut self, window: Duration, wake: &CoalesceWake) -> Coalesce {
        self.dense_window = window;
        self.wake = wake.clone();
        self
    }

    /// The window to wait after a message of `last_sent` items.
    fn window_after(&self, last_sent: usize) -> Duration {
        if last_sent >= self.at_least {
            self.dense_window
        } else {
            self.window
        }
    }

    /// Whether the writer waits for more before it sends.
    pub(crate) fn many_coming(&self) -> bool {
        self.coming.load(Ordering::Acquire) >= self.at_least
    }

    /// The writer's wait, its last message having held `last_sent` items: the window that
    /// suits, over as soon as fewer than `at_least` items are coming.
    pub(crate) fn wait(&self, last_sent: usize) {
        self.wake.register();
        let deadline = Instant::now() + self.window_after(last_sent);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.many_coming() {
                return;
            }
            #[cfg(test)]
            self.wake.parks.fetch_add(1, Ordering::Release);
            std::thread::park_timeout(left);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coalesce(coming: usize, window: Duration, dense_window: Duration) -> Coalesce {
        let wake = CoalesceWake::default();
        Coalesce {
            window,
            ..Coalesce::while_at_least(Arc::new(AtomicUsize::new(coming)), 8)
        }
        .dense(dense_window, &wake)
    }

    #[test]
    fn a_wait_ends_when_woken_as_fewer_items_are_coming() {
        let hour = Duration::from_secs(3600);
        let coalesce = Arc::new(coalesce(100, hour, hour));
        let waiter = {
            let coalesce = Arc::clone(&coalesce);
            std::thread::spawn(move || coalesce.wait(0))
        };
        // Once it is about to park, fewer come and it is woken: it ends (within a
        // minute, against a window of an hour; unwoken, it would sleep the hour).
        let deadline = Instant::now() + Duration::from_secs(60);
        while !coalesce.wake.has_parked() {
            assert!(Instant::now() < deadline, "the writer never waited");
            std::thread::yield_now();
        }
        coalesce.coming.store(3, Ordering::Release);
        while !waiter.is_finished() {
            assert!(Instant::now() < deadline, "the wait did not end when woken");
            coalesce.wake.wake();
            std::thread::yield_now();
        }
        waiter.join().unwrap();
    }

    #[test]
    fn the_window_after_a_dense_message_is_the_dense_one() {
        let coalesce = coalesce(100, Duration::from_micros(1), Duration::from_secs(1));
        assert_eq!(coalesce.window_after(0), Duration::from_micros(1));
        assert_eq!(coalesce.window_after(7), Duration::from_micros(1));
        assert_eq!(coalesce.window_after(8), Duration::from_secs(1));
    }
}
