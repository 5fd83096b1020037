//! Helpers for tests and doc examples of code built on aplex's backend seam (feature
//! `test-util`, as tokio's): a worker that runs each job in turn on a thread of its own,
//! a balancer that picks the first free worker, and worker views to test a custom
//! balancer against.
//!
//! They keep an example down to its own point; no pool a user runs is built from them.

use crate::sync::AtomicUsize;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::executor::Executor;
use crate::options::PoolOptions;
use crate::worker::{CloseMode, WorkId, Worker, WorkerSeat};
use crate::{LoadBalancer, Meta, WorkerInfo, WorkerView};

/// A job for an [`InlineWorker`]: a closure it calls.
pub type InlineJob = Box<dyn FnOnce() + Send>;

/// A worker that runs each job in turn, as it arrives, on a thread of its own, and
/// reports it finished: the least a [`Worker`] must do.
///
/// # Examples
///
/// ```
/// use aplex::backend::Admission;
/// use aplex_core::testing::{inline_executor, InlineJob};
/// use aplex::WorkOptions;
///
/// let executor = inline_executor(2);
/// let future = executor
///     .submit(WorkOptions::new(), Admission::Wait, false, |promise| {
///         Box::new(move || { promise.complete(Ok(6 * 7)); }) as InlineJob
///     })
///     .unwrap();
/// assert_eq!(future.result(), Ok(42));
/// ```
#[derive(Debug)]
pub struct InlineWorker {
    seat: WorkerSeat,
    jobs: Mutex<Option<Sender<InlineJob>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl InlineWorker {
    /// Starts the worker of `seat`.
    ///
    /// # Panics
    ///
    /// If its thread cannot be spawned.
    pub fn spawn(seat: WorkerSeat) -> Self {
        let (jobs, arrived) = channel::<InlineJob>();
        let (index, events) = (seat.index, std::sync::Arc::clone(&seat.events));
        let thread = std::thread::Builder::new()
            .name(format!("inline-{index}"))
            .spawn(move || {
                for job in arrived {
                    job();
                    events.work_finished(index);
                }
            })
            .expect("the inline worker's thread starts");
        InlineWorker {
            seat,
            jobs: Mutex::new(Some(jobs)),
            thread: Mutex::new(Some(thread)),
        }
    }
}

impl Worker for InlineWorker {
    type Job = InlineJob;

    fn info(&self) -> WorkerInfo {
        WorkerInfo {
            index: self.seat.index,
            name: format!("inline-{}", self.seat.index),
            pid: std::process::id(),
        }
    }

    fn dispatch(&self, _id: WorkId, job: InlineJob) -> Result<(), InlineJob> {
        match lock(&self.jobs).as_ref() {
            Some(jobs) => jobs.send(job).map_err(|refused| refused.0),
            None => Err(job),
        }
    }

    fn cancel(&self, _id: WorkId) {}

    fn close(&self, _mode: CloseMode) {
        lock(&self.jobs).take();
    }

    fn join(&self, _deadline: Option<Instant>) -> bool {
        self.close(CloseMode::Drain);
        if let Some(thread) = lock(&self.thread).take() {
            let _ = thread.join();
        }
        true
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A balancer that picks the first available worker.
///
/// # Examples
///
/// ```
/// use aplex_core::testing::{loads, worker_infos, First};
/// use aplex::{backend::new_worker_view, LoadBalancer};
///
/// let infos = worker_infos(3);
/// let loads = loads(&[1, 0, 0]);
/// let view = new_worker_view(&infos, &loads, 1);
/// assert_eq!(First.get_proper_worker(&view, None), 1);
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct First;

impl LoadBalancer for First {
    fn get_proper_worker(&mut self, workers: &WorkerView<'_>, _meta: Option<&Meta>) -> usize {
        workers.available_workers().next().unwrap_or(0)
    }
}

/// An executor of `pool_size` [`InlineWorker`]s balanced by [`First`].
///
/// # Panics
///
/// If `pool_size` is 0.
///
/// # Examples
///
/// ```
/// let executor = aplex_core::testing::inline_executor(2);
/// assert_eq!(executor.pool_size(), 2);
/// ```
pub fn inline_executor(pool_size: usize) -> Executor<InlineWorker> {
    let options = PoolOptions {
        pool_size: Some(pool_size),
        ..PoolOptions::default()
    };
    Executor::start(
        options,
        || Box::new(First),
        |seat| Ok(InlineWorker::spawn(seat)),
    )
    .expect("inline workers always start")
}

/// The infos of `count` workers, named `worker-0`, `worker-1`, ...: what a balancer's
/// [`WorkerView`] is made of in a test.
///
/// # Examples
///
/// ```
/// let infos = aplex_core::testing::worker_infos(2);
/// assert_eq!(infos[1].name, "worker-1");
/// ```
pub fn worker_infos(count: usize) -> Vec<WorkerInfo> {
    (0..count)
        .map(|index| WorkerInfo::new(index, format!("worker-{index}"), std::process::id()))
        .collect()
}

/// Workloads for a balancer's [`WorkerView`], one per worker.
///
/// # Examples
///
/// ```
/// use aplex::backend::new_worker_view;
/// use aplex_core::testing::{loads, worker_infos};
///
/// let (infos, loads) = (worker_infos(2), loads(&[3, 0]));
/// assert_eq!(new_worker_view(&infos, &loads, 3).workload(0), 3);
/// ```
pub fn loads(workloads: &[usize]) -> Vec<AtomicUsize> {
    workloads.iter().copied().map(AtomicUsize::new).collect()
}

/// The view a balancer is shown, for testing one (the same as
/// [`backend::new_worker_view`](crate::backend::new_worker_view)).
///
/// # Examples
///
/// ```
/// use aplex_core::testing::{loads, worker_infos, worker_view};
///
/// let (infos, loads) = (worker_infos(3), loads(&[2, 0, 1]));
/// let view = worker_view(&infos, &loads, 2);
/// assert_eq!(view.available_workers().collect::<Vec<_>>(), [1, 2]);
/// ```
pub use crate::backend::new_worker_view as worker_view;
