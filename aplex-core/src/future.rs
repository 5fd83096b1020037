//! `WorkFuture`, the handle to one submitted work, and `WorkPromise`, the side a worker
//! fills in.
//!
//! Both share one `WorkCell` (`cell.rs`): the first outcome to arrive wins.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::backend::chunk_results::ChunkResults;
use crate::cell::CancelRunning;
use crate::cell::{tally_chunk, tally_one, Phase, SpareCell, Tally, WorkCell};
use crate::deadline::deadline_after;
use crate::tracked::Tracked;
use crate::wait::{block_until, ensure_blocking_allowed};
use crate::{Clock, Error};

/// The handle to one submitted work: await it on any runtime, or wait for it from
/// blocking code.
///
/// `WorkFuture<T>` implements [`Future`]`<Output = Result<T, Error>>` and is woken by a
/// waker, so it can be `.await`ed on tokio, async-std, `futures::executor::block_on` or
/// anything else; no event loop has to be named (Python aplex's `awaitable`,
/// `future_loop` and `set_future_loop` are not needed). Dropping it detaches the work: it
/// still runs and its result is discarded.
///
/// # Examples
///
/// ```
/// use aplex::WorkFuture;
///
/// let (promise, future) = aplex::backend::future_pair::<u32>(true);
/// assert!(!future.done());
/// promise.complete(Ok(7));
/// assert!(future.done());
/// assert_eq!(future.result(), Ok(7));
/// ```
///
/// # Cancel safety
///
/// Dropping a `.await` on it midway loses nothing: the outcome stays in the future until
/// it is read.
#[must_use = "dropping a WorkFuture detaches the work; its result is discarded"]
pub struct WorkFuture<T> {
    cell: Arc<WorkCell<T>>,
    canceller: Option<Arc<dyn CancelRunning>>,
}

impl<T: Send + 'static> WorkFuture<T> {
    /// A connected promise and future (`backend::future_pair`); `abortable` says
    /// whether the work can be stopped while it runs.
    pub(crate) fn pair(abortable: bool) -> (WorkPromise<T>, WorkFuture<T>) {
        Self::pair_with(abortable, 1, tally_one, None)
    }

    fn pair_with(
        abortable: bool,
        items: u64,
        tally: Tally<T>,
        spare: Option<SpareCell<T>>,
    ) -> (WorkPromise<T>, WorkFuture<T>) {
        let cell = match spare {
            Some(spare) => spare.renew(abortable, items, tally),
            None => Arc::new(WorkCell::new(abortable, items, tally)),
        };
        let promise = WorkPromise {
            cell: Some(Arc::clone(&cell)),
        };
        (
            promise,
            WorkFuture {
                cell,
                canceller: None,
            },
        )
    }

    /// A future that is already resolved with `error` (a refused submission).
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::{Error, WorkFuture};
    ///
    /// let refused = WorkFuture::<u8>::failed(Error::ShutDown);
    /// assert_eq!(refused.result(), Err(Error::ShutDown));
    /// ```
    pub fn failed(error: Error) -> WorkFuture<T> {
        Self::resolved(Err(error))
    }

    /// A future that is already resolved with `outcome`.
    pub(crate) fn resolved(outcome: Result<T, Error>) -> WorkFuture<T> {
        let (promise, future) = WorkFuture::pair(false);
        promise.complete(outcome);
        future
    }

    pub(crate) fn tracked(&self) -> Arc<dyn Tracked> {
        Arc::clone(&self.cell) as Arc<dyn Tracked>
    }
}

impl<U: Send + 'static> WorkFuture<ChunkResults<U>> {
    /// Like `pair`, for a work that is a map chunk of `items` items: its outcome is
    /// counted in the pool's stats once per item, as the work each item is.
    /// The cell is `spare`, renewed, if there is one.
    pub(crate) fn chunk_pair(
        abortable: bool,
        items: usize,
        spare: Option<SpareCell<ChunkResults<U>>>,
    ) -> (WorkPromise<ChunkResults<U>>, Self) {
        Self::pair_with(abortable, items as u64, tally_chunk::<U>, spare)
    }
}

impl<T> WorkFuture<T> {
    /// The cell of a future whose outcome was read, for the next work to reuse, if
    /// nothing else refers to it any more.
    pub(crate) fn into_spare(self) -> Option<SpareCell<T>> {
        SpareCell::of(self.cell)
    }

    pub(crate) fn set_canceller(&mut self, canceller: Arc<dyn CancelRunning>) {
        self.canceller = Some(canceller);
    }

    /// Tries to cancel the work; returns whether it was cancelled.
    ///
    /// A queued work is removed and never runs. A running async work is aborted at its
    /// next `.await` on the worker (its future is dropped there). A running blocking work
    /// cannot be stopped: `cancel` returns `false` and its result still arrives. A work
    /// that already has an outcome is not changed (`false`). After a successful cancel the
    /// future resolves to [`Error::Cancelled`].
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::{Error, WorkFuture};
    ///
    /// let (_promise, future) = aplex::backend::future_pair::<u32>(true);
    /// assert!(future.cancel());
    /// assert!(future.cancelled());
    /// assert_eq!(future.result(), Err(Error::Cancelled));
    /// ```
    pub fn cancel(&self) -> bool {
        loop {
            if let Some(canceller) = &self.canceller {
                if self.cell.lock().phase == Phase::Queued {
                    // Under the queue lock, so the pending count stays exact; the waker
                    // is woken once that lock is released.
                    let mut woken = None;
                    let cancelled =
                        canceller.cancel_queued(&mut || match self.cell.cancel_if_queued() {
                            Some(waker) => {
                                woken = waker;
                                true
                            }
                            None => false,
                        });
                    if cancelled {
                        if let Some(waker) = woken {
                            waker.wake();
                        }
                        return true;
                    }
                }
            }
            let state = self.cell.lock();
            let running = match state.phase {
                Phase::Resolved | Phase::Taken => return false,
                // A blocking work can be cancelled until it begins (or its worker has it
                // beyond recall); the worker then skips it.
                Phase::Running { .. } if !state.abortable && state.committed => return false,
                phase @ Phase::Running { .. } => phase.worker_and_id(),
                // Queued again meanwhile (a retry): cancel it in the queue.
                Phase::Queued if self.canceller.is_some() => continue,
                Phase::Queued => None,
            };
            return self.cancel_here(state, running);
        }
    }

    /// Resolves the work `Cancelled` (its cell's lock is `state`) and, if it runs,
    /// asks its worker to stop it.
    fn cancel_here(
        &self,
        mut state: crate::sync::MutexGuard<'_, crate::cell::CellState<T>>,
        running: Option<(usize, crate::worker::WorkId)>,
    ) -> bool {
        let waker = state.settle(Err(Error::Cancelled), self.cell.tally);
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        if let (Some((worker, id)), Some(canceller)) = (running, &self.canceller) {
            canceller.cancel_running(worker, id);
        }
        true
    }

    /// Whether the work has an outcome (a result, an error, or a cancellation).
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::WorkFuture;
    ///
    /// let (promise, future) = aplex::backend::future_pair::<u8>(true);
    /// assert!(!future.done());
    /// promise.complete(Ok(1));
    /// assert!(future.done());
    /// ```
    pub fn done(&self) -> bool {
        matches!(self.cell.lock().phase, Phase::Resolved | Phase::Taken)
    }

    /// Whether the work ended by being cancelled (by [`cancel`](Self::cancel), a map
    /// that ended, or a shutdown that cancelled it); still true once the outcome has
    /// been read.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::WorkFuture;
    ///
    /// let (_promise, future) = aplex::backend::future_pair::<u8>(true);
    /// assert!(!future.cancelled());
    /// future.cancel();
    /// assert!(future.cancelled());
    /// ```
    pub fn cancelled(&self) -> bool {
        self.cell.lock().cancelled
    }

    /// Whether the work has been handed to a worker and has no outcome yet (it may still
    /// be in the worker's inbox, about to start).
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::WorkFuture;
    ///
    /// let (_promise, queued) = aplex::backend::future_pair::<u8>(true);
    /// assert!(!queued.running(), "not handed to a worker yet");
    /// ```
    pub fn running(&self) -> bool {
        matches!(self.cell.lock().phase, Phase::Running { .. })
    }

    /// Blocks until the work has an outcome or `timeout` passes; returns whether it has
    /// one. The outcome stays in the future.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use aplex::WorkFuture;
    ///
    /// let (promise, future) = aplex::backend::future_pair::<u8>(true);
    /// assert_eq!(future.wait_timeout(Duration::from_millis(1)), Ok(false));
    /// promise.complete(Ok(3));
    /// assert_eq!(future.wait_timeout(Duration::from_millis(1)), Ok(true));
    /// assert_eq!(future.result(), Ok(3));
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::BlockingInRuntime`] when called on a tokio runtime thread.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool, Error> {
        ensure_blocking_allowed()?;
        let mut done = DoneSignal(self);
        Ok(block_until(&mut done, Some(deadline_after(timeout))).is_some())
    }

    /// Blocks the current thread until the work has an outcome and returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::WorkFuture;
    ///
    /// let (promise, future) = aplex::backend::future_pair::<&str>(true);
    /// std::thread::spawn(move || promise.complete(Ok("done")));
    /// assert_eq!(future.result(), Ok("done"));
    /// ```
    ///
    /// # Errors
    ///
    /// The work's error ([`Error::Panicked`], [`Error::Cancelled`], ...), or
    /// [`Error::BlockingInRuntime`] when called on a tokio runtime thread, where `.await`
    /// is the way to wait.
    pub fn result(mut self) -> Result<T, Error> {
        ensure_blocking_allowed()?;
        block_until(&mut self, None).unwrap_or(Err(Error::TimedOut { clock: Clock::Wait }))
    }

    /// Like [`result`](Self::result), but gives up after `timeout` with
    /// [`Error::TimedOut`]; the work keeps running (it is detached, as on drop). To keep
    /// the future — to wait again, or to cancel a late work — use
    /// [`wait_timeout`](Self::wait_timeout) first.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use aplex::{Error, WorkFuture};
    ///
    /// let (_promise, future) = aplex::backend::future_pair::<u8>(true);
    /// assert_eq!(future.result_timeout(Duration::from_millis(5)), Err(Error::TimedOut { clock: aplex::Clock::Wait }));
    /// ```
    ///
    /// # Errors
    ///
    /// As [`result`](Self::result), plus [`Error::TimedOut`].
    pub fn result_timeout(mut self, timeout: Duration) -> Result<T, Error> {
        ensure_blocking_allowed()?;
        block_until(&mut self, Some(deadline_after(timeout)))
            .unwrap_or(Err(Error::TimedOut { clock: Clock::Wait }))
    }
}

/// Resolves when the cell has an outcome, without taking it.
struct DoneSignal<'a, T>(&'a WorkFuture<T>);

impl<T> Future for DoneSignal<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.0.cell.lock();
        if matches!(state.phase, Phase::Resolved | Phase::Taken) {
            return Poll::Ready(());
        }
        store_waker(&mut state.waker, cx);
        Poll::Pending
    }
}

fn store_waker(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

impl<T> Future for WorkFuture<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.cell.lock();
        if let Some(outcome) = state.outcome.take() {
            state.phase = Phase::Taken;
            return Poll::Ready(outcome.map_err(|error| *error));
        }
        assert!(
            state.phase != Phase::Taken,
            "WorkFuture polled again after it returned its result"
        );
        store_waker(&mut state.waker, cx);
        Poll::Pending
    }
}

impl<T> Unpin for WorkFuture<T> {}

impl<T> fmt::Debug for WorkFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.cell.lock();
        f.debug_struct("WorkFuture")
            .field("phase", &state.phase)
            .field("has_outcome", &state.outcome.is_some())
            .finish()
    }
}

/// The writing side of a [`WorkFuture`], held by whoever runs the work.
///
/// Dropping it without calling [`complete`](Self::complete) resolves the future to
/// [`Error::Cancelled`], so a work lost on the way (a worker torn down) never leaves its
/// future hanging.
///
/// # Examples
///
/// ```
/// use aplex::{Error, WorkFuture};
///
/// let (promise, future) = aplex::backend::future_pair::<u8>(true);
/// drop(promise); // lost on the way
/// assert_eq!(future.result(), Err(Error::Cancelled));
/// ```
pub struct WorkPromise<T> {
    cell: Option<Arc<WorkCell<T>>>,
}

impl<T> WorkPromise<T> {
    /// Resolves the future with `outcome`; returns `false` (dropping the outcome) if it
    /// already had one, e.g. it was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::WorkFuture;
    ///
    /// let (promise, future) = aplex::backend::future_pair::<u8>(true);
    /// future.cancel();
    /// assert!(!promise.complete(Ok(1)), "the cancellation came first");
    /// ```
    pub fn complete(mut self, outcome: Result<T, Error>) -> bool {
        match self.cell.take() {
            Some(cell) => cell.resolve(outcome),
            None => false,
        }
    }

    /// Whether the future already has an outcome (cancelled before the work started), in
    /// which case the work should not be run.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::WorkFuture;
    ///
    /// let (promise, future) = aplex::backend::future_pair::<u8>(true);
    /// assert!(!promise.is_resolved());
    /// future.cancel();
    /// assert!(promise.is_resolved(), "cancelled before it started: do not run it");
    /// ```
    pub fn is_resolved(&self) -> bool {
        self.cell
            .as_ref()
            .is_none_or(|cell| matches!(cell.lock().phase, Phase::Resolved | Phase::Taken))
    }
}

impl<T: Send + 'static> WorkPromise<T> {
    /// Puts a running work back to the queued state, to be dispatched again (a retry);
    /// false if it already has an outcome.
    pub(crate) fn requeue(&self) -> bool {
        let Some(cell) = &self.cell else {
            return false;
        };
        let mut state = cell.lock();
        match state.phase {
            Phase::Running { .. } => {
                // A fresh start: cancellable until it begins again, its timeout waiting
                // for that (the first attempt's timer, if it started, still runs).
                state.phase = Phase::Queued;
                state.committed = false;
                state.began = false;
                state.deferred = None;
                true
            }
            Phase::Queued => true,
            Phase::Resolved | Phase::Taken => false,
        }
    }

    /// The work's cell, taken out: whoever holds it now resolves it (an
    /// `EncodedPromise`, `registry/encoded_promise.rs`).
    #[cfg(feature = "registry")]
    pub(crate) fn into_cell(mut self) -> Option<Arc<WorkCell<T>>> {
        self.cell.take()
    }

    /// The executor's view of the work's cell.
    pub(crate) fn tracked(&self) -> Option<Arc<dyn Tracked>> {
        self.cell
            .as_ref()
            .map(|cell| Arc::clone(cell) as Arc<dyn Tracked>)
    }
}

impl<T> Drop for WorkPromise<T> {
    fn drop(&mut self) {
        if let Some(cell) = self.cell.take() {
            cell.resolve(Err(Error::Cancelled));
        }
    }
}

impl<T> fmt::Debug for WorkPromise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkPromise")
            .field("resolved", &self.is_resolved())
            .finish()
    }
}
