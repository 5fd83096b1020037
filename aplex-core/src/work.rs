//! `Work`: what a worker runs — a function of one argument, async or blocking — and
//! `blocking`, which marks a plain function as a blocking work.
//!
//! A work is anything callable once with its argument ([`Work`] has `FnOnce` as a
//! supertrait, so closures passed to `submit` have their argument type inferred). What
//! the call returns, its [`WorkBody`], says the work's kind:
//!
//! - a [`Future`]: an **async** work, run as a local task on a worker's runtime;
//! - a [`Blocking`] call, made by wrapping a plain function in [`blocking`]: a
//!   **blocking** work, run on the worker's blocking threads so it never stalls the async
//!   works.
//!
//! Calling a blocking work's wrapper does not run the function: it packs the function and
//! its argument into a [`Blocking`] value, which the worker runs on a blocking thread.

use std::any::type_name;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// Whether a work runs as an async task or on a blocking thread.
///
/// # Examples
///
/// ```
/// use aplex::{blocking, Work, WorkKind};
///
/// async fn double(x: u64) -> u64 { x * 2 }
/// fn square(x: u64) -> u64 { x * x }
///
/// fn kind_of<W: Work<u64>>(_: &W) -> WorkKind { W::KIND }
/// assert_eq!(kind_of(&double), WorkKind::Async);
/// assert_eq!(kind_of(&blocking(square)), WorkKind::Blocking);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkKind {
    /// An `async fn` or a closure returning a future: a local task on the worker's runtime.
    Async,
    /// A plain function wrapped in [`blocking`]: runs on the worker's blocking threads.
    Blocking,
}

impl fmt::Display for WorkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WorkKind::Async => "an async work",
            WorkKind::Blocking => "a blocking work",
        })
    }
}

/// What a work returns when called with its argument: a future (an async work) or a
/// [`Blocking`] call (a blocking work). Backends run it; users never implement it.
///
/// # Examples
///
/// ```
/// use aplex::{WorkBody, WorkKind};
///
/// fn kind<B: WorkBody>(_: &B) -> WorkKind { B::KIND }
/// assert_eq!(kind(&async { 5 }), WorkKind::Async);
/// assert_eq!(kind(&aplex::blocking(|x: u8| x)(5)), WorkKind::Blocking);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not what a work returns: an async work returns a future",
    label = "this work returns `{Self}`, which is not a future",
    note = "submit a plain function as a blocking work: `pool.submit(aplex::blocking(f), args)`"
)]
pub trait WorkBody: Sized {
    /// The work's output: what its future resolves to.
    type Output;

    /// Whether the work is async or blocking.
    const KIND: WorkKind;

    /// The name a registered work of type `W` travels by: the name of its function,
    /// which for a blocking work is the function inside [`blocking`].
    fn work_name<W: ?Sized>() -> &'static str;

    /// Runs the body as an async task: awaits the future, or (for a blocking call) runs
    /// it inline. Backends call this only for [`WorkKind::Async`] bodies.
    fn run_async(self) -> impl Future<Output = Self::Output>;

    /// Runs the body to completion on the current thread: the blocking call, or (for a
    /// future) blocks on it. Backends call this only for [`WorkKind::Blocking`] bodies,
    /// on a blocking thread.
    fn run_blocking(self) -> Self::Output;
}

impl<F: Future> WorkBody for F {
    type Output = F::Output;
    const KIND: WorkKind = WorkKind::Async;

    fn work_name<W: ?Sized>() -> &'static str {
        type_name::<W>()
    }

    fn run_async(self) -> impl Future<Output = F::Output> {
        self
    }

    fn run_blocking(self) -> F::Output {
        futures::executor::block_on(self)
    }
}

/// A blocking work's call: its function and argument, packed to run on a blocking
/// thread. Made by the work that [`blocking`] returns.
///
/// # Examples
///
/// ```
/// use aplex::WorkBody;
///
/// let call = aplex::blocking(|x: u64| x * x)(7);
/// assert_eq!(call.run_blocking(), 49);
/// ```
pub struct Blocking<F, A> {
    function: Arc<F>,
    args: A,
}

impl<F, A, R> WorkBody for Blocking<F, A>
where
    F: Fn(A) -> R,
{
    type Output = R;
    const KIND: WorkKind = WorkKind::Blocking;

    fn work_name<W: ?Sized>() -> &'static str {
        type_name::<F>()
    }

    async fn run_async(self) -> R {
        (self.function)(self.args)
    }

    fn run_blocking(self) -> R {
        (self.function)(self.args)
    }
}

impl<F, A: fmt::Debug> fmt::Debug for Blocking<F, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blocking")
            .field("function", &type_name::<F>())
            .field("args", &self.args)
            .finish()
    }
}

/// Marks the plain function `function` as a blocking work: the pool runs it on a worker's
/// blocking threads, so it never stalls that worker's async works.
///
/// The result is itself a work (and cheap to clone), so it goes wherever a work goes:
/// `submit`, `submit_with`, `try_submit`, `map`. A running blocking work cannot be
/// aborted: cancelling it or its timeout resolves its future at once, and the function
/// is left to finish.
///
/// A closure's argument type must be written out (`|x: u64| x * x`), since it is not
/// yet known where the closure is written. An `async fn` does not belong in here: its
/// future would be the work's output, handed back unpolled (on a process pool, where a
/// future is no serde value, that does not compile).
///
/// # Examples
///
/// ```
/// use aplex::{blocking, ThreadAsyncPoolExecutor};
///
/// fn square(x: u64) -> u64 { x * x }
///
/// let pool = ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
/// assert_eq!(pool.submit(blocking(square), 7).result()?, 49);
/// let squares: Vec<u64> = pool.map(blocking(square), 1..=3).collect::<Result<_, _>>()?;
/// assert_eq!(squares, [1, 4, 9]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn blocking<F, A, R>(function: F) -> impl Fn(A) -> Blocking<F, A> + Clone
where
    F: Fn(A) -> R,
{
    let function = Arc::new(function);
    move |args| Blocking {
        function: Arc::clone(&function),
        args,
    }
}

/// A work: a function of one argument (several travel as a tuple) that a pool runs on a
/// worker. Every async closure, `async fn` and [`blocking`] function is one; nothing
/// implements it by hand.
///
/// Each pool says which works it accepts: the thread pool any `Send` work, the process
/// pool works registered with `#[aplex::work]`, whose argument and output are serde
/// values.
///
/// # Examples
///
/// One function for every pool that accepts the work:
///
/// ```
/// use aplex::backend::Accepts;
/// use aplex::{blocking, Error, Pool, Work};
///
/// fn run_on<B, W>(pool: &Pool<B>, work: W) -> Result<u64, Error>
/// where
///     B: Accepts<W, u64>,
///     W: Work<u64, Out = u64>,
/// {
///     pool.submit(work, 20).result()
/// }
///
/// #[aplex::work]
/// fn add_one(x: u64) -> u64 { x + 1 }
///
/// let threads = aplex::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
/// let processes = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
/// assert_eq!(run_on(&threads, blocking(add_one))?, 21);
/// assert_eq!(run_on(&processes, blocking(add_one))?, 21);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Work<A>: FnOnce(A) -> <Self as Work<A>>::Body {
    /// What calling the work returns: a future or a [`Blocking`] call.
    type Body: WorkBody<Output = Self::Out>;

    /// What the work's future resolves to (its body's output; named `Out` so that it
    /// does not clash with `FnOnce::Output`, which is the body itself).
    type Out;

    /// Whether the work is async or blocking.
    const KIND: WorkKind = <Self::Body as WorkBody>::KIND;

    /// The name a registered work travels by to a worker process: its function's path.
    fn name() -> &'static str {
        <Self::Body as WorkBody>::work_name::<Self>()
    }
}

impl<W, A, B> Work<A> for W
where
    W: FnOnce(A) -> B,
    B: WorkBody,
{
    type Body = B;
    type Out = B::Output;
}
