//! `local`: marks an async function whose future is not `Send`, so that it runs as a
//! local task pinned to the thread of the worker that took it.
//!
//! A worker's runtime may be multi-threaded (a process pool's
//! `RuntimeFlavor::MultiThread`, or a thread pool's runtime factory). There, a work
//! whose future is `Send` is spawned onto the runtime's scheduler, so the works of one
//! worker run in parallel on its runtime's threads. A future that is not `Send` (one
//! holding an `Rc` or a `RefCell` borrow across an `.await`) cannot move between those
//! threads: wrapped in [`local`], it runs as a local task on the thread driving the
//! worker's runtime, as every async work does on a current-thread runtime.

use std::any::type_name;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::work::{WorkBody, WorkKind};

/// A local work's call: its async function and argument, packed so that the future is
/// made on the worker's thread and never leaves it. Made by the work that [`local`]
/// returns.
///
/// # Examples
///
/// ```
/// use aplex::WorkBody;
///
/// let call = aplex::local(|x: u64| async move { std::rc::Rc::new(x * 2) })(21);
/// assert_eq!(*futures::executor::block_on(call.run_async()), 42);
/// ```
pub struct Local<F, A> {
    function: Arc<F>,
    args: A,
}

impl<F, A, Fut> WorkBody for Local<F, A>
where
    F: Fn(A) -> Fut,
    Fut: Future,
{
    type Output = Fut::Output;
    const KIND: WorkKind = WorkKind::Async;

    fn work_name<W: ?Sized>() -> &'static str {
        type_name::<F>()
    }

    fn run_async(self) -> impl Future<Output = Fut::Output> {
        (self.function)(self.args)
    }

    fn run_blocking(self) -> Fut::Output {
        futures::executor::block_on((self.function)(self.args))
    }
}

impl<F, A> Local<F, A> {
    /// Makes the future, on the thread that will poll it.
    pub(crate) fn call<Fut>(self) -> Fut
    where
        F: Fn(A) -> Fut,
    {
        (self.function)(self.args)
    }
}

impl<F, A: fmt::Debug> fmt::Debug for Local<F, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Local")
            .field("function", &type_name::<F>())
            .field("args", &self.args)
            .finish()
    }
}

/// Marks the async function `function`, whose future need not be `Send`, as a local
/// work: its future is made and polled on the thread driving the worker's runtime, and
/// never moves.
///
/// Only the thread pool needs it, and only for a future that is not `Send`: there every
/// other async work must have a `Send` future, so that a worker with a multi-thread
/// runtime can run it on any of its threads. (A process pool sees the function's
/// concrete future type where `#[aplex::work]` registers it, and keeps a non-`Send`
/// future local by itself; wrapping its works in `local` changes nothing.)
///
/// Like [`blocking`](crate::blocking), the result is itself a work, cheap to clone, and
/// a closure's argument type must be written out.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
///
/// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
/// let work = aplex::local(|x: u64| async move {
///     let shared = Rc::new(x); // not `Send`, and held across an await
///     tokio::task::yield_now().await;
///     *shared + 1
/// });
/// assert_eq!(pool.submit(work, 41).result()?, 42);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn local<F, A, Fut>(function: F) -> impl Fn(A) -> Local<F, A> + Clone
where
    F: Fn(A) -> Fut,
    Fut: Future,
{
    let function = Arc::new(function);
    move |args| Local {
        function: Arc::clone(&function),
        args,
    }
}
