//! `Average`: the least-loaded available worker.

use aplex_core::{LoadBalancer, Meta, WorkerView};

use crate::least_loaded::least_loaded_from;

/// Picks an available worker with the smallest workload, evening out the load.
///
/// Tie-break: among equally loaded workers, the first one at or after the worker that
/// follows the last choice (round-robin among ties), so an idle pool still spreads works
/// over every worker instead of piling them on worker 0.
///
/// # Examples
///
/// ```
/// use aplex_balance::testing::{loads, worker_infos, worker_view};
/// use aplex_balance::{Average, LoadBalancer};
///
/// let infos = worker_infos(3);
/// let loads = loads(&[5, 2, 7]);
/// let view = worker_view(&infos, &loads, 10);
/// assert_eq!(Average::default().get_proper_worker(&view, None), 1);
/// ```
#[derive(Debug, Default, Clone)]
pub struct Average {
    next: usize,
}

impl Average {
    /// A least-loaded balancer.
    ///
    /// # Examples
    ///
    /// ```
    /// let balancer = aplex_balance::Average::new();
    /// # let _ = balancer;
    /// ```
    pub fn new() -> Self {
        Average::default()
    }
}

impl LoadBalancer for Average {
    fn get_proper_worker(&mut self, workers: &WorkerView<'_>, _meta: Option<&Meta>) -> usize {
        let chosen = least_loaded_from(workers, self.next).unwrap_or(0);
        self.next = (chosen + 1) % workers.len().max(1);
        chosen
    }
}
