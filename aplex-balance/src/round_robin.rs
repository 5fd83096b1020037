//! `RoundRobin`: the default balancer.

use aplex_core::{LoadBalancer, Meta, WorkerView};

/// Picks the next available worker after the one chosen last, wrapping around; full
/// workers are skipped. The default balancer, as in aplex.
///
/// # Examples
///
/// ```
/// use aplex_balance::testing::{loads, worker_infos, worker_view};
/// use aplex_balance::{LoadBalancer, RoundRobin};
///
/// let infos = worker_infos(3);
/// let loads = loads(&[0, 0, 0]);
/// let view = worker_view(&infos, &loads, 10);
/// let mut balancer = RoundRobin::default();
/// let picks: Vec<usize> = (0..4).map(|_| balancer.get_proper_worker(&view, None)).collect();
/// assert_eq!(picks, [0, 1, 2, 0]);
/// ```
#[derive(Debug, Default, Clone)]
pub struct RoundRobin {
    next: usize,
}

impl RoundRobin {
    /// A round-robin balancer starting at worker 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let balancer = aplex_balance::RoundRobin::new();
    /// # let _ = balancer;
    /// ```
    pub fn new() -> Self {
        RoundRobin::default()
    }
}

impl LoadBalancer for RoundRobin {
    fn get_proper_worker(&mut self, workers: &WorkerView<'_>, _meta: Option<&Meta>) -> usize {
        let count = workers.len();
        for step in 0..count {
            let worker = (self.next + step) % count;
            if workers.is_available(worker) {
                self.next = (worker + 1) % count;
                return worker;
            }
        }
        0
    }
}
