//! [`deadline_after`]: the instant a timeout set by a user ends. Every timeout, grace
//! period and wait of the pools goes through it, so a duration too long for the clock
//! (`Duration::MAX`, a common way to write "wait forever") ends in about a century
//! instead of overflowing `Instant`'s addition, which panics — in a pool's `Drop` too.

use std::time::{Duration, Instant};

/// The longest a deadline lies ahead: a hundred years, past any run.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// The instant `timeout` from now; a timeout past a hundred years ends then.
///
/// # Examples
///
/// ```
/// use aplex::backend::deadline_after;
/// use std::time::{Duration, Instant};
///
/// let soon = deadline_after(Duration::from_secs(1));
/// assert!(soon > Instant::now());
/// // Where `Instant::now() + Duration::MAX` panics, this is a century away.
/// assert!(deadline_after(Duration::MAX) > soon);
/// ```
pub fn deadline_after(timeout: Duration) -> Instant {
    later_by(Instant::now(), timeout)
}

/// `from` plus `timeout`, at most a hundred years later.
pub(crate) fn later_by(from: Instant, timeout: Duration) -> Instant {
    from + timeout.min(FOREVER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_too_long_for_the_clock_ends_in_a_century() {
        let now = Instant::now();
        assert_eq!(later_by(now, Duration::MAX), now + FOREVER);
        assert_eq!(
            later_by(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
    }
}
