//! The scan `Average` and `Warm` share: the least-loaded available worker, ties going to
//! the first one met.

use aplex_core::WorkerView;

/// The available worker with the smallest workload, scanning from worker `from` and
/// wrapping around, so the first one met wins a tie; `None` if no worker is available.
pub(crate) fn least_loaded_from(workers: &WorkerView<'_>, from: usize) -> Option<usize> {
    let count = workers.len();
    let mut best: Option<(usize, usize)> = None;
    for step in 0..count {
        let worker = (from + step) % count;
        if !workers.is_available(worker) {
            continue;
        }
        let load = workers.workload(worker);
        if best.is_none_or(|(_, best_load)| load < best_load) {
            best = Some((worker, load));
        }
    }
    best.map(|(worker, _)| worker)
}
