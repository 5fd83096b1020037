//! How long a work a stopping node hands back waits before the server delivers it again.
//!
//! A stopping node stops asking for works, but the fetches it has open stay open on the
//! server until they expire. A work handed back for immediate redelivery went straight
//! to one of those fetches, back to the stopping node, which handed it back again: each
//! round spent one of the work's deliveries, until the server gave up on it
//! (`Undeliverable`) though another node was there to run it. So a stopping node hands
//! works back to be delivered again only once its last fetch is over.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// When the node's fetches are over, and whether the node is stopping.
pub(crate) struct OpenFetches {
    /// The instant the times below count from.
    since: Instant,
    /// Milliseconds from `since` until the last fetch opened so far is over.
    over_at_ms: AtomicU64,
    stopping: Arc<AtomicBool>,
}

impl OpenFetches {
    pub(crate) fn new(stopping: Arc<AtomicBool>) -> Self {
        OpenFetches {
            since: Instant::now(),
            over_at_ms: AtomicU64::new(0),
            stopping,
        }
    }

    /// A fetch opens now, and is over on the server by `lasting` from now.
    pub(crate) fn opened(&self, lasting: Duration) {
        let over_at = self.since.elapsed().saturating_add(lasting);
        let over_at_ms = u64::try_from(over_at.as_millis()).unwrap_or(u64::MAX);
        self.over_at_ms.fetch_max(over_at_ms, Ordering::SeqCst);
    }

    /// How long a work handed back now should wait before it is delivered again: while
    /// the node stops, until its fetches are over; otherwise not at all.
    pub(crate) fn hand_back_delay(&self) -> Duration {
        if !self.stopping.load(Ordering::SeqCst) {
            return Duration::ZERO;
        }
        let over_at = Duration::from_millis(self.over_at_ms.load(Ordering::SeqCst));
        over_at.saturating_sub(self.since.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_stopping_node_delays_its_hand_backs_and_only_while_a_fetch_is_open() {
        let stopping = Arc::new(AtomicBool::new(false));
        let fetches = OpenFetches::new(Arc::clone(&stopping));
        fetches.opened(Duration::from_secs(60));
        assert_eq!(fetches.hand_back_delay(), Duration::ZERO, "not stopping");
        stopping.store(true, Ordering::SeqCst);
        let delay = fetches.hand_back_delay();
        assert!(delay > Duration::from_secs(50) && delay <= Duration::from_secs(60));
        // A shorter fetch opened later does not shorten the wait.
        fetches.opened(Duration::from_secs(1));
        assert!(fetches.hand_back_delay() > Duration::from_secs(50));
        let none_open = OpenFetches::new(stopping);
        assert_eq!(none_open.hand_back_delay(), Duration::ZERO);
    }
}
