//! `Random`: a uniformly random available worker.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use aplex_core::{LoadBalancer, Meta, WorkerView};

/// Picks one of the available workers uniformly at random.
///
/// Uses a small xorshift generator seeded from the OS's hash randomness (no extra
/// dependency); good for spreading load, not for anything secret.
///
/// # Examples
///
/// ```
/// use aplex_balance::Random;
///
/// let seeded = Random::with_seed(42); // reproducible choices
/// let fresh = Random::default();      // seeded differently each time
/// # let _ = (seeded, fresh);
/// ```
#[derive(Debug, Clone)]
pub struct Random {
    state: u64,
}

impl Random {
    /// A generator with a fixed seed, for reproducible choices.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::AtomicUsize;
    /// use aplex_balance::{LoadBalancer, Random, WorkerInfo, WorkerView};
    ///
    /// let infos: Vec<WorkerInfo> = (0..4).map(|index| WorkerInfo { index, name: String::new(), pid: 1 }).collect();
    /// let loads: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
    /// let view = WorkerView::new(&infos, &loads, 1);
    /// let picks = |seed| -> Vec<usize> {
    ///     let mut random = Random::with_seed(seed);
    ///     (0..8).map(|_| random.get_proper_worker(&view, None)).collect()
    /// };
    /// assert_eq!(picks(42), picks(42), "the same seed, the same choices");
    /// ```
    pub fn with_seed(seed: u64) -> Self {
        Random { state: seed | 1 }
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }
}

impl Default for Random {
    fn default() -> Self {
        Random::with_seed(RandomState::new().hash_one(0x5eed_u64))
    }
}

impl LoadBalancer for Random {
    fn get_proper_worker(&mut self, workers: &WorkerView<'_>, _meta: Option<&Meta>) -> usize {
        let available = workers.available_workers().count().max(1);
        let nth = (self.next_u64() % available as u64) as usize;
        workers.available_workers().nth(nth).unwrap_or(0)
    }
}
