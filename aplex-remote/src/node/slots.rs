//! A node's slots: at most `max_works_per_worker` of its works run at once. A fetched
//! message may bring more works than there are free slots (a batch); those wait here, in
//! order, and start as slots free up — or are dropped (answered `Cancelled`, or handed
//! back when the node stops) without ever starting.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use aplex_core::backend::local::{LocalJob, LocalMessage};
use aplex_core::backend::WorkId;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Notify;

/// The node's works: running (in its local loop) and waiting for a slot.
pub(crate) struct Slots {
    max: usize,
    running: Cell<usize>,
    waiting: RefCell<VecDeque<(WorkId, LocalJob)>>,
    work_loop: UnboundedSender<LocalMessage>,
    /// Told whenever works end.
    pub(crate) freed: Notify,
}

impl Slots {
    /// Slots for `max` works, run by the local loop `work_loop`.
    pub(crate) fn new(max: usize, work_loop: UnboundedSender<LocalMessage>) -> Slots {
        Slots {
            max,
            running: Cell::new(0),
            waiting: RefCell::new(VecDeque::new()),
            work_loop,
            freed: Notify::new(),
        }
    }

    /// Works held: running or waiting.
    pub(crate) fn held(&self) -> usize {
        self.running.get() + self.waiting.borrow().len()
    }

    /// The most works at once.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Runs `job` now if a slot is free, else when one is.
    pub(crate) fn admit(&self, id: WorkId, job: LocalJob) {
        if self.running.get() < self.max {
            self.start(id, job);
        } else {
            self.waiting.borrow_mut().push_back((id, job));
        }
    }

    /// `count` works ended in the loop: waiting ones take their slots.
    pub(crate) fn finished(&self, count: usize) {
        self.running.set(self.running.get().saturating_sub(count));
        while self.running.get() < self.max {
            let Some((id, job)) = self.waiting.borrow_mut().pop_front() else {
                break;
            };
            self.start(id, job);
        }
        self.freed.notify_one();
    }

    /// Drops work `id` if it still waits (its answer says `Cancelled`); whether it did.
    pub(crate) fn cancel_waiting(&self, id: WorkId) -> bool {
        let dropped = {
            let mut waiting = self.waiting.borrow_mut();
            let at = waiting.iter().position(|(waiting, _)| *waiting == id);
            at.and_then(|at| waiting.remove(at))
        };
        let found = dropped.is_some();
        drop(dropped);
        if found {
            self.freed.notify_one();
        }
        found
    }

    /// Aborts running work `id` (its answer says `Cancelled`).
    pub(crate) fn cancel_running(&self, id: WorkId) {
        let _ = self.work_loop.send(LocalMessage::Cancel(id));
    }

    /// Drops every waiting work (the node stops: their answers hand them back).
    pub(crate) fn release_waiting(&self) {
        let dropped: Vec<_> = self.waiting.borrow_mut().drain(..).collect();
        drop(dropped);
        self.freed.notify_one();
    }

    fn start(&self, id: WorkId, job: LocalJob) {
        self.running.set(self.running.get() + 1);
        if self.work_loop.send(LocalMessage::Run(id, job)).is_err() {
            self.running.set(self.running.get() - 1);
        }
    }
}
