//! A worker's blocking threads: at most `limit` threads (`max_blocking_works_per_worker`)
//! that run its blocking works in arrival order, each taking the next queued work as soon
//! as it is done with one. A burst of blocking works so pays no thread wake-up per work:
//! a `spawn_blocking` per work woke an idle blocking thread for each and the worker's
//! loop again for the turn it gave back — about 20 µs a work on this project's 2-core
//! machines, against 1 µs for an async work.
//!
//! 1. `BlockingRunner::run` queues a job; it wakes a waiting thread if one is idle, else
//!    starts one while fewer than `limit` serve; a busy thread finds it when it is done.
//! 2. A thread is one long `spawn_blocking` task of the worker's runtime — so its stack
//!    size, thread hooks and blocking-thread bound are the runtime's, as configured — that
//!    runs jobs until the queue is empty, then waits; idle for [`KEEP_ALIVE`], it ends.
//!    The worker's state is installed on it while it serves, and the mark of the pool
//!    whose works it runs (`serving.rs`).
//! 3. `BlockingRunner::close` ends the threads once the queue is empty; the runtime's
//!    shutdown waits for them (or not, when the worker abandons its works).

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::worker_state::{install_worker_state, WorkerStateValue};

/// How long an idle blocking thread waits for a work before it ends.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// A job for a blocking thread.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// The blocking threads of one worker.
pub(crate) struct BlockingRunner {
    shared: Arc<Shared>,
    runtime: tokio::runtime::Handle,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    limit: usize,
    state: Option<WorkerStateValue>,
    /// The pool whose works the worker's thread runs (`serving.rs`), marked on these.
    serving: usize,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// Threads started and not ended.
    threads: usize,
    /// Threads waiting for a job.
    idle: usize,
    /// Wake-ups sent and not yet taken by a waiting thread.
    wakeups: usize,
    closed: bool,
}

impl BlockingRunner {
    /// At most `limit` threads of the current runtime, each with the worker's `state`
    /// installed.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub(crate) fn new(limit: usize, state: Option<WorkerStateValue>) -> Self {
        let shared = Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            limit: limit.max(1),
            state,
            serving: crate::serving::serving(),
        };
        BlockingRunner {
            shared: Arc::new(shared),
            runtime: tokio::runtime::Handle::current(),
        }
    }

    /// Runs `job` on a blocking thread, after the jobs queued before it.
    pub(crate) fn run(&self, job: Job) {
        let mut queue = self.shared.lock();
        queue.jobs.push_back(job);
        if queue.idle > queue.wakeups {
            queue.wakeups += 1;
            self.shared.wake.notify_one();
        } else if queue.threads < self.shared.limit {
            queue.threads += 1;
            let shared = Arc::clone(&self.shared);
            drop(self.runtime.spawn_blocking(move || shared.serve()));
        } // else a busy thread takes it next
    }

    /// Ends the threads once the queue is empty.
    pub(crate) fn close(self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_all();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A blocking thread's life: jobs while there are any, waits while it may.
    fn serve(&self) {
        let _state = install_worker_state(self.state.clone());
        let _serving = crate::serving::serve_number(self.serving);
        let mut queue = self.lock();
        loop {
            if let Some(job) = queue.jobs.pop_front() {
                drop(queue);
                // Jobs catch their works' panics; this keeps the thread's count right
                // if one slips through (the job's receiver then sees it dropped).
                let _ = catch_unwind(AssertUnwindSafe(job));
                queue = self.lock();
                continue;
            }
            if queue.closed {
                break;
            }
            queue.idle += 1;
            let (woken, waited) = self
                .wake
                .wait_timeout(queue, KEEP_ALIVE)
                .unwrap_or_else(PoisonError::into_inner);
            queue = woken;
            queue.idle -= 1;
            if queue.wakeups > 0 {
                queue.wakeups -= 1;
            } else if waited.timed_out() && queue.jobs.is_empty() {
                break;
            }
        }
        queue.threads -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    #[test]
    fn jobs_run_in_order_on_at_most_limit_threads() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let _entered = runtime.enter();
        let runner = BlockingRunner::new(2, None);
        let (sender, received) = mpsc::channel();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        for n in 0..200 {
            let (sender, running, most) = (sender.clone(), running.clone(), most.clone());
            let job: Job = Box::new(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::yield_now();
                running.fetch_sub(1, Ordering::SeqCst);
                sender.send(n).unwrap();
            });
            runner.run(job);
        }
        let mut seen: Vec<i32> = (0..200)
            .map(|_| received.recv_timeout(Duration::from_secs(30)).unwrap())
            .collect();
        assert!(most.load(Ordering::SeqCst) <= 2, "at most 2 at once");
        seen.sort_unstable();
        assert_eq!(seen, (0..200).collect::<Vec<_>>());
        runner.close();
    }

    #[test]
    fn a_panicking_job_leaves_the_runner_serving() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let _entered = runtime.enter();
        let runner = BlockingRunner::new(1, None);
        runner.run(Box::new(|| panic!("a work's panic")));
        let (sender, received) = mpsc::channel();
        runner.run(Box::new(move || sender.send(7).unwrap()));
        assert_eq!(received.recv_timeout(Duration::from_secs(30)), Ok(7));
        runner.close();
    }
}
