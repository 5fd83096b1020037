//! The one local task that polls a worker's pending async works: each work has a slot,
//! whose waker (made once per slot and reused) puts the slot's index on a ready queue
//! and wakes the task; the task polls only the works whose slots were woken.
//!
//! Why not a tokio task per pending work, as before: tokio's task cell is an allocation
//! aligned to 128 bytes, and on glibc a worker thread's heap grows a page at a time, each
//! page an `mprotect` and a page fault. When 100,000 sleepers start on a thread pool,
//! that allocation took a third of the workers' CPU (docs/PERFORMANCE.md, twelfth
//! session). A slot costs nothing once the slab has grown to the works in flight.
//!
//! - A work's first poll, on the loop's thread the moment it arrives
//!   ([`WorkGroup::start`]), already uses its slot's waker: a work pending after it is
//!   polled again only when woken, never a second time just because it was spawned.
//! - Cancelling a work drops its future at once ([`WorkGroup::abort`]).
//! - The task polls the works woken when its pass began, stopping early when tokio's
//!   cooperative budget is spent (the works' own tokio resources then wake them again),
//!   so a busy work cannot hold the worker's thread and the pass always ends.
//! - A panic that slips out of a work's poll, or out of its future's drop, ends that
//!   work alone, as it would end a task of its own: its future (and its promise)
//!   dropped, its guard reporting it over.
//! - Once no work is left, a group that grew past [`SLOTS_KEPT_IDLE`] slots (a burst)
//!   lets them all go, so a worker does not hold a burst's slots for good.
//! - [`WorkGroup::clear`] drops every work left and ends the task; the loop calls it
//!   however it ends, which also breaks the cycle between the works' guards (which hold
//!   the loop's state) and the group the state holds.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use futures::future::LocalBoxFuture;
use futures::task::AtomicWaker;

/// The most slots a group keeps once no work is left in it.
const SLOTS_KEPT_IDLE: usize = 1024;

/// How a running async work is stopped.
#[derive(Clone, Debug)]
pub(crate) enum WorkAbort {
    /// A `Send` work on a multi-thread runtime's scheduler: a task of its own.
    Task(tokio::task::AbortHandle),
    /// A work of the loop's [`WorkGroup`], in this slot.
    Slot(usize),
}

/// The slots woken since the task's last pass, and the task's waker.
#[derive(Default)]
struct ReadyQueue {
    slots: Mutex<Vec<usize>>,
    task: AtomicWaker,
}

/// A slot's waker: queues the slot's index once until the task next polls it.
struct SlotWaker {
    index: usize,
    queued: AtomicBool,
    ready: Arc<ReadyQueue>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            lock(&self.ready.slots).push(self.index);
            self.ready.task.wake();
        }
    }
}

struct Slot<G> {
    notify: Arc<SlotWaker>,
    waker: Waker,
    /// The work's guard and future, while it runs.
    work: Option<(G, LocalBoxFuture<'static, ()>)>,
}

struct Inner<G> {
    slots: RefCell<Vec<Slot<G>>>,
    free: RefCell<Vec<usize>>,
    ready: Arc<ReadyQueue>,
    /// The indices taken from the ready queue for one pass, kept to be reused.
    pass: RefCell<Vec<usize>>,
    /// Works kept in slots.
    running: Cell<usize>,
    spawned: Cell<bool>,
    closed: Cell<bool>,
}

/// The pending async works of one worker's loop, polled by one local task. `G` is the
/// guard dropped when a work is over, however it ends.
pub(crate) struct WorkGroup<G> {
    inner: Rc<Inner<G>>,
}

impl<G: 'static> WorkGroup<G> {
    pub(crate) fn new() -> Self {
        WorkGroup {
            inner: Rc::new(Inner {
                slots: RefCell::new(Vec::new()),
                free: RefCell::new(Vec::new()),
                ready: Arc::new(ReadyQueue::default()),
                pass: RefCell::new(Vec::new()),
                spawned: Cell::new(false),
                running: Cell::new(0),
                closed: Cell::new(false),
            }),
        }
    }

    /// Polls `future` for the first time, here. If it is pending, `kept` is given its
    /// guard and slot, and both are kept until the work ends; otherwise (done, or
    /// panicked) both are dropped. Must be called inside a `LocalSet`.
    pub(crate) fn start(
        &self,
        mut guard: G,
        mut future: LocalBoxFuture<'static, ()>,
        kept: impl FnOnce(&mut G, usize),
    ) {
        let inner = &self.inner;
        let index = inner.take_slot();
        let waker = inner.slots.borrow()[index].waker.clone();
        let mut cx = Context::from_waker(&waker);
        let first = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)));
        if !matches!(first, Ok(Poll::Pending)) {
            inner.free.borrow_mut().push(index);
            drop_contained(future);
            drop(guard);
            return;
        }
        kept(&mut guard, index);
        inner.running.set(inner.running.get() + 1);
        inner.slots.borrow_mut()[index].work = Some((guard, future));
        if !inner.spawned.replace(true) {
            let task = Rc::clone(inner);
            tokio::task::spawn_local(std::future::poll_fn(move |cx| task.run(cx)));
        }
    }

    /// Drops the work in `slot`, if it still runs.
    pub(crate) fn abort(&self, slot: usize) {
        self.inner.end(slot);
    }

    /// Drops every work still running and ends the task.
    pub(crate) fn clear(&self) {
        let inner = &self.inner;
        inner.closed.set(true);
        let works: Vec<_> = inner
            .slots
            .borrow_mut()
            .iter_mut()
            .filter_map(|slot| slot.work.take())
            .collect();
        inner.running.set(0);
        // Futures first, then guards, as when a work ends; outside the borrow, since
        // dropping a work runs its code.
        for (guard, future) in works {
            drop_contained(future);
            drop(guard);
        }
        inner.ready.task.wake();
    }
}

impl<G> Inner<G> {
    fn take_slot(&self) -> usize {
        if let Some(index) = self.free.borrow_mut().pop() {
            return index;
        }
        let mut slots = self.slots.borrow_mut();
        let index = slots.len();
        let notify = Arc::new(SlotWaker {
            index,
            queued: AtomicBool::new(false),
            ready: Arc::clone(&self.ready),
        });
        let waker = Waker::from(Arc::clone(&notify));
        slots.push(Slot {
            notify,
            waker,
            work: None,
        });
        index
    }

    /// Drops the work in `index`, if any, and frees its slot.
    fn end(&self, index: usize) {
        let work = self
            .slots
            .borrow_mut()
            .get_mut(index)
            .and_then(|slot| slot.work.take());
        if let Some((guard, future)) = work {
            self.free_slot(index);
            drop_contained(future);
            drop(guard);
        }
    }

    /// Frees the slot of a work that ended; the last work of a burst lets the burst's
    /// slots go. An index still queued, or held by an old waker, then finds no slot (or
    /// a new work, polled once for nothing).
    fn free_slot(&self, index: usize) {
        let running = self.running.get() - 1;
        self.running.set(running);
        if running == 0 && self.slots.borrow().len() > SLOTS_KEPT_IDLE {
            *self.slots.borrow_mut() = Vec::new();
            *self.free.borrow_mut() = Vec::new();
        } else {
            self.free.borrow_mut().push(index);
        }
    }

    /// One pass of the task: polls the works woken since the last one.
    fn run(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.closed.get() {
            return Poll::Ready(());
        }
        self.ready.task.register(cx.waker());
        let mut pass = std::mem::take(&mut *self.pass.borrow_mut());
        std::mem::swap(&mut *lock(&self.ready.slots), &mut pass);
        let mut polled = 0;
        for &index in &pass {
            if !tokio::task::coop::has_budget_remaining() {
                break;
            }
            self.poll_slot(index);
            polled += 1;
        }
        if polled < pass.len() {
            // The budget is spent: the rest wait for the next pass, which comes at once.
            lock(&self.ready.slots).extend_from_slice(&pass[polled..]);
            cx.waker().wake_by_ref();
        }
        pass.clear();
        *self.pass.borrow_mut() = pass;
        Poll::Pending
    }

    fn poll_slot(&self, index: usize) {
        let (waker, work) = {
            let mut slots = self.slots.borrow_mut();
            let Some(slot) = slots.get_mut(index) else {
                return;
            };
            // Before the poll: a wake during it queues the slot again. A swap, so that
            // what a waker wrote before it found the slot queued is seen by the poll.
            slot.notify.queued.swap(false, Ordering::AcqRel);
            (slot.waker.clone(), slot.work.take())
        };
        // A slot whose work ended since it was woken: nothing to poll.
        let Some((guard, mut future)) = work else {
            return;
        };
        let mut cx = Context::from_waker(&waker);
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx))) {
            Ok(Poll::Pending) => self.slots.borrow_mut()[index].work = Some((guard, future)),
            Ok(Poll::Ready(())) | Err(_) => {
                self.free_slot(index);
                drop_contained(future);
                drop(guard);
            }
        }
    }
}

/// Drops a work's future, containing a panic out of its drop, as tokio does for a task it
/// cancels: the work ends alone, and the loop (which may be cancelling it) goes on.
fn drop_contained(future: LocalBoxFuture<'static, ()>) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(future)));
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts `works` works that wait for their senders, then sends to all of them and
    /// waits until they are over; returns the group's slots left.
    async fn burst(group: &WorkGroup<()>, works: usize) -> usize {
        let mut senders = Vec::new();
        for _ in 0..works {
            let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
            senders.push(sender);
            group.start((), Box::pin(async move { drop(receiver.await) }), |_, _| {});
        }
        assert_eq!(group.inner.running.get(), works);
        for sender in senders {
            sender.send(()).unwrap();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while group.inner.running.get() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the burst ended in time"
            );
            tokio::task::yield_now().await;
        }
        group.inner.slots.borrow().len()
    }

    #[test]
    fn an_idle_group_keeps_a_few_slots_and_lets_a_burst_go() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async {
            let group = WorkGroup::new();
            assert_eq!(burst(&group, 10).await, 10, "a few slots are kept");
            assert_eq!(burst(&group, 10).await, 10, "and reused");
            assert_eq!(burst(&group, SLOTS_KEPT_IDLE + 1).await, 0, "a burst goes");
            assert_eq!(burst(&group, 3).await, 3, "and the group still works");
            group.clear();
        });
    }
}
