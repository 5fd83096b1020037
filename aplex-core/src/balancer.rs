//! The `LoadBalancer` trait and `WorkerView`, the picture of the pool a balancer chooses
//! from.
//!
//! A balancer is only asked when at least one worker is available (below
//! `max_works_per_worker`); the executor then claims a slot on the worker it chose. The
//! view is built from the live workload counters at the moment of the choice.

use crate::sync::{AtomicUsize, Ordering};
use std::any::Any;
use std::fmt;

use crate::worker::WorkerInfo;

/// The `load_balancing_meta` a caller attached to a submit or map, as the balancer sees
/// it. Downcast it to the type you passed.
///
/// # Examples
///
/// ```
/// use aplex::Meta;
///
/// let meta: &Meta = &"urgent";
/// assert_eq!(meta.downcast_ref::<&str>(), Some(&"urgent"));
/// ```
pub type Meta = dyn Any + Send + Sync;

/// Chooses the worker for each work.
///
/// Implement it to balance by your own rule; `aplex-balance` has the built-ins
/// (`RoundRobin`, `Random`, `Average`, `Warm`) and re-exports this trait, so a custom balancer
/// needs only that crate.
///
/// # Examples
///
/// ```
/// use aplex::{LoadBalancer, Meta, WorkerView};
///
/// /// Sends everything to the first available worker.
/// #[derive(Debug, Default)]
/// struct FirstAvailable;
///
/// impl LoadBalancer for FirstAvailable {
///     fn get_proper_worker(&mut self, workers: &WorkerView<'_>, _meta: Option<&Meta>) -> usize {
///         workers.available_workers().next().expect("the executor asks only when one is available")
///     }
/// }
/// ```
pub trait LoadBalancer: Send + 'static {
    /// Returns the index of an available worker for the next work.
    ///
    /// Called only when [`WorkerView::available_workers`] is not empty. `meta` is the
    /// work's `load_balancing_meta` (Python aplex's name), if it was given one: with
    /// `submit_with(work, args, WorkOptions::new().meta(..))` or `map(..).meta(..)`.
    /// An index that is out of range or not available is replaced by the first available
    /// worker, so a faulty balancer can never push a worker past its cap.
    fn get_proper_worker(&mut self, workers: &WorkerView<'_>, meta: Option<&Meta>) -> usize;
}

impl LoadBalancer for Box<dyn LoadBalancer> {
    fn get_proper_worker(&mut self, workers: &WorkerView<'_>, meta: Option<&Meta>) -> usize {
        (**self).get_proper_worker(workers, meta)
    }
}

/// The workers of a pool and their current workloads, as a balancer sees them.
///
/// # Examples
///
/// ```
/// # use aplex_core::testing::{loads, worker_infos, worker_view};
/// let (infos, loads) = (worker_infos(3), loads(&[2, 0, 1]));
/// let view = worker_view(&infos, &loads, 2);
/// assert_eq!(view.available_workers().collect::<Vec<_>>(), [1, 2]);
/// ```
pub struct WorkerView<'a> {
    infos: &'a [WorkerInfo],
    workloads: &'a [AtomicUsize],
    max_works_per_worker: usize,
}

impl<'a> WorkerView<'a> {
    /// Builds a view (`backend::new_worker_view`); `infos` and `workloads` are indexed
    /// by worker, and must be as long as each other.
    pub(crate) fn new(
        infos: &'a [WorkerInfo],
        workloads: &'a [AtomicUsize],
        max_works_per_worker: usize,
    ) -> Self {
        assert_eq!(infos.len(), workloads.len(), "one workload per worker");
        WorkerView {
            infos,
            workloads,
            max_works_per_worker,
        }
    }

    /// The number of workers.
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex_core::testing::{loads, worker_infos, worker_view};
    /// let (infos, loads) = (worker_infos(3), loads(&[2, 0, 1]));
    /// let view = worker_view(&infos, &loads, 2);
    /// assert_eq!(view.len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.infos.len()
    }

    /// Whether the pool has no workers (never true for a built pool).
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex_core::testing::{loads, worker_infos, worker_view};
    /// let (infos, loads) = (worker_infos(3), loads(&[2, 0, 1]));
    /// let view = worker_view(&infos, &loads, 2);
    /// assert!(!view.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.infos.is_empty()
    }

    /// All workers, by index.
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex_core::testing::{loads, worker_infos, worker_view};
    /// let (infos, loads) = (worker_infos(3), loads(&[2, 0, 1]));
    /// let view = worker_view(&infos, &loads, 2);
    /// assert_eq!(view.workers()[1].name, "worker-1");
    /// ```
    pub fn workers(&self) -> &'a [WorkerInfo] {
        self.infos
    }

    /// The number of works `worker` is running now (dispatched and not yet over).
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex_core::testing::{loads, worker_infos, worker_view};
    /// let (infos, loads) = (worker_infos(3), loads(&[2, 0, 1]));
    /// let view = worker_view(&infos, &loads, 2);
    /// assert_eq!(view.workload(0), 2);
    /// ```
    ///
    /// # Panics
    ///
    /// If `worker >= self.len()`.
    pub fn workload(&self, worker: usize) -> usize {
        self.workloads[worker].load(Ordering::Acquire)
    }

    /// Every worker's workload, by index.
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex_core::testing::{loads, worker_infos, worker_view};
    /// let (infos, loads) = (worker_infos(3), loads(&[2, 0, 1]));
    /// let view = worker_view(&infos, &loads, 2);
    /// assert_eq!(view.workloads().collect::<Vec<_>>(), [2, 0, 1]);
    /// ```
    pub fn workloads(&self) -> impl Iterator<Item = usize> + '_ {
        self.workloads
            .iter()
            .map(|load| load.load(Ordering::Acquire))
    }

    /// The most works one worker may run at once.
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex_core::testing::{loads, worker_infos, worker_view};
    /// let (infos, loads) = (worker_infos(3), loads(&[2, 0, 1]));
    /// let view = worker_view(&infos, &loads, 2);
    /// assert_eq!(view.max_works_per_worker(), 2);
    /// ```
    pub fn max_works_per_worker(&self) -> usize {
        self.max_works_per_worker
    }

    /// Whether `worker` is below `max_works_per_worker` (out-of-range indices are not).
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex_core::testing::{loads, worker_infos, worker_view};
    /// let (infos, loads) = (worker_infos(3), loads(&[2, 0, 1]));
    /// let view = worker_view(&infos, &loads, 2);
    /// assert!(!view.is_available(0), "worker 0 is at its cap");
    /// assert!(view.is_available(1));
    /// assert!(!view.is_available(7), "no such worker");
    /// ```
    pub fn is_available(&self, worker: usize) -> bool {
        worker < self.len() && self.workload(worker) < self.max_works_per_worker
    }

    /// The indices of the workers below `max_works_per_worker`, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// # use aplex_core::testing::{loads, worker_infos, worker_view};
    /// let (infos, loads) = (worker_infos(3), loads(&[2, 0, 1]));
    /// let view = worker_view(&infos, &loads, 2);
    /// assert_eq!(view.available_workers().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn available_workers(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).filter(move |&worker| self.is_available(worker))
    }
}

impl fmt::Debug for WorkerView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerView")
            .field("workloads", &self.workloads().collect::<Vec<_>>())
            .field("max_works_per_worker", &self.max_works_per_worker)
            .finish()
    }
}
