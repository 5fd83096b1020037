//! Per-worker state: a value a pool makes once for each worker (a connection, a loaded
//! model, a cache) that every work on that worker can reach with [`worker_state`].
//!
//! The backend installs the worker's state on the thread driving its runtime for as long
//! as the worker serves, and on a blocking thread for as long as a blocking work of that
//! worker runs there, so async and blocking works alike find it.

use std::any::Any;
use std::cell::RefCell;
use std::sync::Arc;

/// A worker's state, type-erased.
pub type WorkerStateValue = Arc<dyn Any + Send + Sync>;

thread_local! {
    static CURRENT: RefCell<Option<WorkerStateValue>> = const { RefCell::new(None) };
}

/// The state of the worker running the current work, if its pool made one of type `T`
/// (see the thread pool builder's `worker_state`); `None` outside a work, or when the
/// state is of another type.
///
/// # Examples
///
/// ```
/// use aplex::{blocking, worker_state};
///
/// /// What each worker keeps: here, which worker it is.
/// struct Connection { worker: usize }
///
/// let pool = aplex::ThreadAsyncPoolExecutor::builder()
///     .pool_size(2)
///     .worker_state(|worker| Ok(Connection { worker }))
///     .build()?;
/// let on = pool.submit(blocking(|()| worker_state::<Connection>().map(|c| c.worker)), ()).result()?;
/// assert!(matches!(on, Some(0 | 1)));
/// assert!(worker_state::<Connection>().is_none(), "not inside a work");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn worker_state<T: Any + Send + Sync>() -> Option<Arc<T>> {
    let state = CURRENT.with(|current| current.borrow().clone())?;
    state.downcast::<T>().ok()
}

/// While alive, `worker_state` on this thread sees a worker's state; the state seen
/// before comes back when it drops.
#[derive(Debug)]
pub struct StateInstalled {
    previous: Option<WorkerStateValue>,
}

/// Makes `state` the current worker state of this thread until the returned guard
/// drops; for backends.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
///
/// let installed = aplex::backend::install_worker_state(Some(Arc::new(7_u32)));
/// assert_eq!(aplex::worker_state::<u32>().as_deref(), Some(&7));
/// drop(installed);
/// assert!(aplex::worker_state::<u32>().is_none());
/// ```
pub fn install_worker_state(state: Option<WorkerStateValue>) -> StateInstalled {
    let previous = CURRENT.with(|current| std::mem::replace(&mut *current.borrow_mut(), state));
    StateInstalled { previous }
}

impl Drop for StateInstalled {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|current| *current.borrow_mut() = previous);
    }
}
