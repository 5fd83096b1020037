//! How a worker thread's tokio runtime is made and prepared: the factory that builds it
//! (Python aplex's `worker_loop_factory`), the default one, the initializer that runs on
//! each worker before it takes works, and what makes each worker's state.

use std::io;
use std::sync::Arc;

use tokio::runtime::Runtime;

/// Builds each worker's tokio runtime (Python aplex's `worker_loop_factory`).
///
/// # Examples
///
/// ```
/// use aplex_thread::RuntimeFactory;
/// use std::sync::Arc;
///
/// let factory: RuntimeFactory = Arc::new(|| tokio::runtime::Builder::new_current_thread().enable_all().build());
/// assert!(factory().is_ok());
/// ```
pub type RuntimeFactory = Arc<dyn Fn() -> io::Result<Runtime> + Send + Sync>;

/// Runs once on each worker thread before it takes works; an `Err` fails the start.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let init: aplex_thread::WorkerInitializer = Arc::new(|| Ok(()));
/// assert_eq!(init(), Ok(()));
/// ```
pub type WorkerInitializer = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// The default `worker_loop_factory`: a current-thread runtime with I/O and time.
///
/// # Examples
///
/// ```
/// let runtime = aplex_thread::default_runtime()?;
/// assert_eq!(runtime.block_on(async { 1 }), 1);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn default_runtime() -> io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Makes worker `index`'s state (`ThreadPoolBuilder::worker_state`), on its thread,
/// inside its runtime; an `Err` fails the start.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let make: aplex::StateMaker = Arc::new(|index| Ok(Arc::new(index) as aplex::backend::WorkerStateValue));
/// assert!(make(3).is_ok());
/// ```
pub type StateMaker =
    Arc<dyn Fn(usize) -> Result<aplex_core::backend::WorkerStateValue, String> + Send + Sync>;

/// What a worker thread runs before it serves: its runtime's factory, the pool's
/// initializer and the maker of its state.
pub(crate) struct Preparation {
    pub(crate) factory: RuntimeFactory,
    pub(crate) initializer: Option<WorkerInitializer>,
    pub(crate) state: Option<StateMaker>,
}
