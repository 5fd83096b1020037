//! `Warm`: the least-loaded worker, staying on the last one chosen while it is one.

use aplex_core::{LoadBalancer, Meta, WorkerView};

/// Picks an available worker with the smallest workload, staying on the worker chosen
/// last while it is one of them.
///
/// Works that come one at a time — each awaited before the next is submitted, as a
/// request handler or a loop of `submit(..).result()` does — all go to one worker, which
/// is still awake from its last work. [`RoundRobin`](crate::RoundRobin) and
/// [`Average`](crate::Average) hand each such work to the next worker, which has gone
/// idle since its last one. A burst still spreads by load, as with `Average`: a worker
/// that is busy is not among the least loaded.
///
/// Measured on a 2-vCPU machine, a pool of two, lone `submit(..).result()` round trips
/// of a tiny async work (`cargo xtask bench`'s `*_latency_warm_balancer`,
/// `docs/PERFORMANCE.md`): processes 28–31 µs against 38–55 µs with `RoundRobin`, about
/// what a pool of one process reads; threads 2–4 µs against 5–9 µs in most runs, but
/// 7–10 µs in the runs where the one busy worker shared a vCPU with the caller.
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
        let count = workers.len();
        let mut best: Option<(usize, usize)> = None;
        // From the last worker chosen, so it wins every tie.
        for step in 0..count {
            let worker = (self.last + step) % count;
            if !workers.is_available(worker) {
                continue;
            }
            let load = workers.workload(worker);
            if best.is_none_or(|(_, best_load)| load < best_load) {
                best = Some((worker, load));
            }
        }
        if let Some((worker, _)) = best {
            self.last = worker;
        }
        self.last.min(count.saturating_sub(1))
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
        assert_eq!(pick(&[2, 1, 1]), 1, "the first of the least loaded after 0");
        assert_eq!(pick(&[0, 0, 0]), 1, "a tie stays on the last worker");
        assert_eq!(pick(&[1, 1, 0]), 2, "a lighter worker wins");
        assert_eq!(pick(&[0, 3, 4]), 0, "a full worker is never chosen");
        assert_eq!(
            pick(&[4, 4, 4]),
            0,
            "every worker full: the pool never asks; 0 is safe"
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
