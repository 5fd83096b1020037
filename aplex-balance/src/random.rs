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
    /// use aplex_balance::testing::{loads, worker_infos, worker_view};
    /// use aplex_balance::{LoadBalancer, Random};
    ///
    /// let infos = worker_infos(4);
    /// let loads = loads(&[0, 0, 0, 0]);
    /// let view = worker_view(&infos, &loads, 1);
    /// let picks = |seed| -> Vec<usize> {
    ///     let mut random = Random::with_seed(seed);
    ///     (0..8).map(|_| random.get_proper_worker(&view, None)).collect()
    /// };
    /// assert_eq!(picks(42), picks(42), "the same seed, the same choices");
    /// assert_ne!(picks(42), picks(43), "another seed, other choices");
    /// ```
    pub fn with_seed(seed: u64) -> Self {
        // splitmix64 spreads every seed (0 and 1, 42 and 43 alike) over the whole state,
        // and never yields the xorshift's one forbidden state, 0, twice in a row.
        let mut mixed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^= mixed >> 31;
        Random {
            state: if mixed == 0 { 0x5eed } else { mixed },
        }
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

#[cfg(test)]
mod tests {
    use super::Random;

    fn first_draws(seed: u64) -> Vec<u64> {
        let mut random = Random::with_seed(seed);
        (0..4).map(|_| random.next_u64()).collect()
    }

    #[test]
    fn neighbouring_seeds_give_different_sequences() {
        let sequences: Vec<_> = [0, 1, 42, 43, u64::MAX].map(first_draws).into();
        for (i, a) in sequences.iter().enumerate() {
            for b in &sequences[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(first_draws(42), first_draws(42));
    }
}
