//! `Warm`: the least-loaded worker, staying on the last one chosen while it is one.

use aplex_core::{LoadBalancer, Meta, WorkerView};

use crate::least_loaded::least_loaded_from;

/// Picks an available worker with the smallest workload, staying on the worker chosen
/// last while it is one of them.
///
/// Works that come one at a time — each awaited before the next is submitted, as a
/// request handler or a loop of `submit(..).result()` does — keep to one worker: the one
/// that ran the previous work, still awake and polling for the next (a worker lingers
/// 50 µs after its last work). [`RoundRobin`](crate::RoundRobin) and
/// [`Average`](crate::Average) hand each such work to the next worker, which has gone idle
/// since its last one. A burst still spreads by load, as with `Average`: a busy worker is
/// not among the least loaded.
///
/// `Warm` sees only the workloads the pool reports. In a process pool whose caller reads
/// its own reply, the worker is released before the result returns, so the next work
/// finds it free. A thread worker releases a work just after its result is out, so a
/// caller that submits at once may find it still busy, and the work then goes to the
/// other worker. The round trips it gave, against `RoundRobin`'s, are in
/// `docs/PERFORMANCE.md` (`cargo xtask bench`'s `*_latency_warm_balancer` rows).
///
/// The trade-off: works that come one at a time do not spread. Pick it when each work
/// is awaited before the next; keep `RoundRobin` when lone works should take turns on
/// every worker (each worker's state or cache warmed, say).
///
/// # Examples
///
/// ```
/// use aplex_balance::testing::{loads, worker_infos, worker_view};
/// use aplex_balance::{LoadBalancer, Warm};
///
/// let infos = worker_infos(3);
/// let mut balancer = Warm::default();
/// // An idle pool: every lone work goes to the worker chosen last.
/// let idle = loads(&[0, 0, 0]);
/// let view = worker_view(&infos, &idle, 10);
/// let picks: Vec<usize> = (0..3).map(|_| balancer.get_proper_worker(&view, None)).collect();
/// assert_eq!(picks, [0, 0, 0]);
/// // Worker 0 busy: the least-loaded worker, and then it stays there.
/// let busy = loads(&[1, 0, 0]);
/// let view = worker_view(&infos, &busy, 10);
/// assert_eq!(balancer.get_proper_worker(&view, None), 1);
/// let idle_again = worker_view(&infos, &idle, 10);
/// assert_eq!(balancer.get_proper_worker(&idle_again, None), 1);
/// ```
#[derive(Debug, Default, Clone)]
pub struct Warm {
    last: usize,
}

impl Warm {
    /// A balancer that keeps lone works on one warm worker, starting with worker 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let balancer = aplex_balance::Warm::new();
    /// # let _ = balancer;
    /// ```
    pub fn new() -> Self {
        Warm::default()
    }
}

impl LoadBalancer for Warm {
    fn get_proper_worker(&mut self, workers: &WorkerView<'_>, _meta: Option<&Meta>) -> usize {
        // From the last worker chosen, so it wins every tie. With no worker available
        // (the pool does not ask then), the last one: the pool replaces a full answer.
        if let Some(worker) = least_loaded_from(workers, self.last) {
            self.last = worker;
        }
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::Warm;
    use crate::testing::{loads, worker_infos, worker_view};
    use crate::LoadBalancer;

    #[test]
    fn ties_stay_on_the_last_worker_and_the_least_loaded_wins() {
        let infos = worker_infos(3);
        let mut warm = Warm::default();
        let mut pick = |workloads: &[usize]| {
            let workloads = loads(workloads);
            warm.get_proper_worker(&worker_view(&infos, &workloads, 4), None)
        };
        assert_eq!(pick(&[0, 0, 0]), 0, "an idle pool starts at worker 0");
        assert_eq!(
            pick(&[2, 1, 1]),
            1,
            "the first least loaded at or after the last (0)"
        );
        assert_eq!(pick(&[0, 0, 0]), 1, "a tie stays on the last worker");
        assert_eq!(pick(&[1, 1, 0]), 2, "a lighter worker wins");
        assert_eq!(
            pick(&[1, 4, 1]),
            2,
            "a tie among the lightest: the last (2)"
        );
        assert_eq!(pick(&[1, 4, 0]), 2, "the last, lightest");
        assert_eq!(
            pick(&[0, 4, 1]),
            0,
            "the lightest, found by wrapping around from the last (2)"
        );
        assert_eq!(
            pick(&[4, 4, 4]),
            0,
            "no worker available (the pool does not ask then): the last one"
        );
    }

    #[test]
    fn a_burst_spreads_evenly() {
        let infos = worker_infos(3);
        let mut warm = Warm::default();
        let mut workloads = [0usize; 3];
        for _ in 0..9 {
            let view_loads = loads(&workloads);
            let worker = warm.get_proper_worker(&worker_view(&infos, &view_loads, 100), None);
            workloads[worker] += 1;
        }
        assert_eq!(workloads, [3, 3, 3]);
    }
}
