//! How a worker thread's tokio runtime is made and prepared: the factory that builds it
//! (Python aplex's `worker_loop_factory`), the default one, and the initializer that runs
//! on each worker before it takes works.

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
