//! How the executor's shared state hears from its workers and its timer: works over,
//! a broken pool, a worker gone for good, outcomes to count, works that ran out of time,
//! cancels to pass on. The other half of `dispatch.rs`.

use std::sync::atomic::Ordering;
use std::sync::PoisonError;
use std::time::Duration;

use crate::cell::CancelRunning;
use crate::deadlines::TimeOut;
use crate::dispatch::{Shared, BROKEN};
use crate::worker::{CloseMode, WorkId, Worker, WorkerEvents};
use crate::Error;

impl<W: Worker> WorkerEvents for Shared<W> {
    fn work_finished(&self, worker: usize) {
        self.works_finished(worker, 1);
    }

    fn works_finished(&self, worker: usize, count: usize) {
        if self.gauge.finish(worker, count) {
            let mut queue = self.lock_queue();
            self.drain(&mut queue);
            self.flush_locked(&mut queue);
        }
        if !self.is_running() {
            // Under the lock, so a shutdown that just found a worker busy is waiting.
            let _queue = self.lock_queue();
            self.idled.notify_all();
        }
    }

    fn pool_broken(&self, reason: String) {
        self.break_pool(reason);
    }

    fn worker_gone(&self, worker: usize) {
        let mut queue = self.lock_queue();
        let all_gone = self.gauge.retire(worker);
        if !all_gone {
            return;
        }
        let left: Vec<_> = queue.pending.drain(..).collect();
        self.gauge.cleared();
        self.room_freed();
        self.emptied.notify_all();
        drop(queue);
        let reason = "every worker stopped while the pool was shutting down".to_owned();
        for pending in left {
            pending.fail(Error::PoolBroken {
                reason: reason.clone(),
            });
        }
    }
}

impl<W: Worker> Shared<W> {
    fn break_pool(&self, reason: String) {
        *self
            .broken_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(reason.clone());
        let failed = self.take_pending(|shared| shared.phase.store(BROKEN, Ordering::SeqCst));
        for pending in failed {
            pending.fail(Error::PoolBroken {
                reason: reason.clone(),
            });
        }
        self.close_workers(CloseMode::Drain);
    }
}

impl<W: Worker> TimeOut for Shared<W> {
    fn time_out(&self, worker: usize, id: WorkId, abortable: bool) -> Option<Duration> {
        self.workers().get(worker)?.time_out(id, abortable)
    }

    fn overdue(&self, worker: usize, id: WorkId) {
        if let Some(worker) = self.workers().get(worker) {
            worker.overdue(id);
        }
    }
}

impl<W: Worker> CancelRunning for Shared<W> {
    fn cancel_running(&self, worker: usize, id: WorkId) {
        if let Some(worker) = self.workers().get(worker) {
            worker.cancel(id);
        }
    }

    fn cancel_queued(&self, cancel: &mut dyn FnMut() -> bool) -> bool {
        let mut queue = self.lock_queue();
        if !cancel() {
            return false;
        }
        // The entry stays queued, resolved, and is skipped (uncounted) when it is reached;
        // draining pops it if it is at the front, and an emptied queue lets a draining
        // shutdown go on.
        self.gauge.dequeued();
        self.room_freed();
        self.drain(&mut queue);
        self.flush_locked(&mut queue);
        true
    }
}
