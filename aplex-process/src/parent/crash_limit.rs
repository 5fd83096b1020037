//! `CrashLimit`: how many worker crashes in how long make a process pool give up.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Marks the pool broken when more than `max_crashes` worker crashes (including failed
/// restarts) happen within `window`.
///
/// Until then every crashed worker is replaced and the pool keeps serving; a work that
/// kills its worker every time would otherwise restart workers forever.
///
/// # Examples
///
/// ```
/// # extern crate aplex_facade as aplex;
/// use std::time::Duration;
/// use aplex_process::CrashLimit;
///
/// let patient = CrashLimit { max_crashes: 100, window: Duration::from_secs(10) };
/// assert_eq!(CrashLimit::default().max_crashes, 10);
/// # let _ = patient;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashLimit {
    /// Crashes tolerated within the window.
    pub max_crashes: usize,
    /// The sliding window.
    pub window: Duration,
}

impl Default for CrashLimit {
    fn default() -> Self {
        CrashLimit {
            max_crashes: 10,
            window: Duration::from_secs(60),
        }
    }
}

/// The crashes of one pool, in a sliding window.
#[derive(Debug)]
pub(crate) struct CrashWindow {
    limit: CrashLimit,
    recent: Mutex<VecDeque<Instant>>,
}

impl CrashWindow {
    pub(crate) fn new(limit: CrashLimit) -> Self {
        CrashWindow {
            limit,
            recent: Mutex::new(VecDeque::new()),
        }
    }

    /// Records a crash now; returns whether the limit is exceeded.
    pub(crate) fn record(&self) -> bool {
        let now = Instant::now();
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        recent.push_back(now);
        while recent
            .front()
            .is_some_and(|&crash| now.duration_since(crash) > self.limit.window)
        {
            recent.pop_front();
        }
        recent.len() > self.limit.max_crashes
    }

    pub(crate) fn limit(&self) -> CrashLimit {
        self.limit
    }
}
