//! Which pool's works the current thread runs: a backend marks its worker threads with
//! [`serve_works_of`], and their blocking threads inherit the mark, so a pool asked to
//! wait for its own drain from inside one of its own works — which would wait for that
//! very work — does not wait.

use std::cell::Cell;
use std::sync::Arc;

use crate::worker::WorkerSeat;

thread_local! {
    /// The number of the pool whose works this thread runs; 0: none.
    static SERVING: Cell<usize> = const { Cell::new(0) };
}

/// A pool's number: the address of its executor's shared state, which every seat's
/// `events` points to.
pub(crate) fn pool_number<T: ?Sized>(shared: &Arc<T>) -> usize {
    Arc::as_ptr(shared) as *const () as usize
}

/// The number of the pool whose works this thread runs, or 0.
pub(crate) fn serving() -> usize {
    SERVING.with(Cell::get)
}

/// Marks the current thread as running the works of the pool `seat` belongs to, until
/// the guard is dropped; the worker's blocking threads are marked alike. For backends
/// whose works run in this process (the thread pool's worker threads).
pub fn serve_works_of(seat: &WorkerSeat) -> ServingGuard {
    serve_number(pool_number(&seat.events))
}

/// Marks the current thread as running the works of pool `number` (0: none).
pub(crate) fn serve_number(number: usize) -> ServingGuard {
    ServingGuard {
        before: SERVING.with(|serving| serving.replace(number)),
    }
}

/// Restores the mark the thread had before [`serve_works_of`].
#[derive(Debug)]
#[must_use = "the thread is marked only while the guard lives"]
pub struct ServingGuard {
    before: usize,
}

impl Drop for ServingGuard {
    fn drop(&mut self) {
        SERVING.with(|serving| serving.set(self.before));
    }
}
