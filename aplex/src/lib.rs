//! aplex, the asynchronous pool executor: run async works and plain functions in a pool
//! of worker threads (or processes), each worker driving its own tokio runtime, and get
//! the results back as futures you can `.await` on any runtime or wait on from blocking
//! code.
//!
//! ```text
//!   your code ── submit / map ──► Executor ── LoadBalancer picks a worker ──► worker 0 ┐
//!       ▲                          │ (workload per worker ≤ max_works_per_worker;     │ each worker:
//!       │                          │  beyond that, works wait in a FIFO queue)   ... │ its own thread
//!       │                          └───────────────────────────────────────► worker N ┘ + tokio runtime
//!       └──────────── WorkFuture (await it, or .result()) ◄── result / error ──┘
//! ```
//!
//! - A **work** is an async function (run as a task on a worker's runtime: on the
//!   runtime's scheduler when its future is `Send`, or pinned to the worker's thread
//!   when it is not, marked with [`local`]) or a plain function (marked with
//!   [`blocking`], run on that runtime's blocking pool, so it never stalls the async
//!   works).
//! - A **worker** is a thread ([`ThreadAsyncPoolExecutor`]) or a child process
//!   ([`ProcessAsyncPoolExecutor`], feature `process`, Linux). Process works are
//!   functions marked [`#[aplex::work]`](macro@work); they travel by name and their
//!   argument and output as serde values. Worker processes are this same program,
//!   started again; they become workers before `main` runs, so only the parent runs it.
//! - A **future** ([`WorkFuture`]) is `.await`able on any runtime and also offers
//!   blocking [`result`](WorkFuture::result), [`cancel`](WorkFuture::cancel),
//!   [`done`](WorkFuture::done) and [`cancelled`](WorkFuture::cancelled).
//! - A **balancer** ([`balance`]) chooses the worker for each work.
//! - **Reliability**: per-work timeouts ([`WorkOptions`], `work_timeout`), crashed worker
//!   processes replaced (only their own works fail), `max_works_per_child` recycling,
//!   worker initializers, per-worker [`PoolStats`], and `tracing` events.
//!
//! Features: `thread` and `process` (both on by default; the process pool is built on
//! Linux only, and on other platforms the feature adds nothing), `progress` (a progress
//! bar for long maps, with indicatif).
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use aplex::{blocking, Error, ThreadAsyncPoolExecutor};
//! use aplex::balance::Average;
//!
//! async fn double(x: u64) -> u64 { x * 2 }
//! fn square(x: u64) -> u64 { x * x }
//!
//! let pool = ThreadAsyncPoolExecutor::builder()
//!     .pool_size(4)
//!     .max_works_per_worker(300)
//!     .load_balancer(Average::default())
//!     .build()?;
//! assert_eq!(pool.submit(double, 21).result()?, 42);
//! assert_eq!(futures::executor::block_on(pool.submit(blocking(square), 7))?, 49);
//! let doubled: Vec<u64> = pool
//!     .map(double, 0..10_000)
//!     .chunksize(64)
//!     .timeout(Duration::from_secs(30))
//!     .collect::<Result<_, Error>>()?;
//! assert_eq!(doubled.len(), 10_000);
//! pool.shutdown(true);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The process pool has the same API:
//!
//! ```
//! use aplex::{blocking, ProcessAsyncPoolExecutor};
//!
//! #[aplex::work]
//! async fn double(x: u64) -> u64 { x * 2 }
//!
//! #[aplex::work]
//! fn whoami(_: ()) -> u32 { std::process::id() }
//!
//! let pool = ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;
//! assert_eq!(pool.submit(double, 21).result()?, 42);
//! assert_ne!(pool.submit(blocking(whoami), ()).result()?, std::process::id());
//! pool.shutdown(true);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Both pools dereference to [`Pool`], so one function can take either: see [`Work`].
//!
//! # From Python aplex
//!
//! `awaitable=True`, `future_loop` and `set_future_loop` have no Rust counterpart because
//! none is needed: every [`WorkFuture`] is woken by a waker, so it can be awaited on
//! whatever runtime the caller uses, and waited on from blocking code too. The
//! `worker_loop_factory` builds each worker's tokio runtime instead of an asyncio loop.
//! Python tells a coroutine function from a plain one at run time; here a plain function
//! is marked with [`blocking`].
#![forbid(unsafe_code)]

pub use aplex_core::{
    allow_blocking_on_this_thread, blocking, local, worker_state, Blocking, BuildError, Clock,
    Error, LoadBalancer, Local, Map, MapStream, Meta, Pool, PoolStats, Refused, Work, WorkBody,
    WorkFuture, WorkKind, WorkOptions, WorkerExit, WorkerInfo, WorkerStats, WorkerView,
    DEFAULT_MAX_BLOCKING_WORKS_PER_WORKER, DEFAULT_MAX_WORKS_PER_WORKER, DEFAULT_SHUTDOWN_GRACE,
};

/// What only a backend needs (the `Worker` and `Accepts` seam, the executor), and each
/// backend's worker type, for code generic over pools: `fn f<B: Accepts<W, A>>(pool: &Pool<B>)`.
pub mod backend {
    pub use aplex_core::backend::*;

    #[cfg(all(feature = "process", target_os = "linux"))]
    pub use aplex_process::{Encoded, EncodedChunk, ProcessJob, ProcessWorker, Registered};
    #[cfg(feature = "thread")]
    pub use aplex_thread::{ThreadJob, ThreadWorker};
}

#[cfg(feature = "thread")]
pub use aplex_thread::{
    default_runtime, RuntimeFactory, Scope, ScopedItem, StateMaker, ThreadAsyncPoolExecutor,
    ThreadPoolBuilder, WorkerInitializer,
};

/// Registers a module-level `async fn` or `fn` as a work that process workers can run
/// by name (it stays an ordinary function; the thread pool runs it too).
///
/// The function takes exactly one argument — several travel as a tuple — whose type is
/// `serde::Deserialize`, and returns a `serde::Serialize` type.
///
/// # Examples
///
/// ```
/// use aplex::ProcessAsyncPoolExecutor;
///
/// #[aplex::work]
/// async fn greet(name: String) -> String { format!("hello, {name}") }
///
/// #[aplex::work]
/// fn add((a, b): (i64, i64)) -> i64 { a + b }
///
/// let pool = ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
/// assert_eq!(pool.submit(greet, "you".to_owned()).result()?, "hello, you");
/// assert_eq!(pool.submit(aplex::blocking(add), (2, -5)).result()?, -3);
/// assert_eq!(add((1, 1)), 2); // still an ordinary function
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(any(all(feature = "process", target_os = "linux"), feature = "remote"))]
pub use aplex_macros::work;

/// Registers the maker of each worker's state for the process and remote pools (a
/// `fn(usize) -> Result<State, String>`); see `ProcessPoolBuilder::worker_state`.
#[cfg(any(all(feature = "process", target_os = "linux"), feature = "remote"))]
pub use aplex_macros::worker_state;

#[cfg(all(feature = "process", target_os = "linux"))]
pub use aplex_process::{
    CrashLimit, ProcessAsyncPoolExecutor, ProcessPoolBuilder, RuntimeConfig, RuntimeFlavor,
    DEFAULT_START_TIMEOUT,
};

/// What `#[aplex::work]` expands to; not a public API.
#[cfg(any(all(feature = "process", target_os = "linux"), feature = "remote"))]
#[doc(hidden)]
pub mod __private {
    pub use aplex_core::registry::__private::*;
}

/// serde, re-exported so that works' argument and output types can derive its traits.
#[cfg(any(all(feature = "process", target_os = "linux"), feature = "remote"))]
pub use serde;

/// The remote pool (feature `remote`): worker nodes on any number of machines, through
/// a NATS JetStream server. See docs/REMOTE.md.
#[cfg(feature = "remote")]
pub mod remote {
    pub use aplex_remote::*;
}

/// Load balancers: [`RoundRobin`](balance::RoundRobin) (the default),
/// [`Random`](balance::Random), [`Average`](balance::Average),
/// [`Warm`](balance::Warm), and what a custom one needs.
///
/// # Examples
///
/// ```
/// use aplex::balance::Average;
/// use aplex::ThreadAsyncPoolExecutor;
///
/// let pool = ThreadAsyncPoolExecutor::builder().load_balancer(Average::default()).build()?;
/// # Ok::<(), aplex::BuildError>(())
/// ```
pub mod balance {
    pub use aplex_balance::*;
}

/// What must not compile, kept so by `compile_fail` doctests.
///
/// A thread pool's async work may hold non-`Send` values across `.await`s, but its
/// argument crosses threads, so it must be `Send`:
///
/// ```compile_fail,E0277
/// let pool = aplex::ThreadAsyncPoolExecutor::new().unwrap();
/// let not_send = std::rc::Rc::new(5);
/// let _ = pool.submit(|x: std::rc::Rc<i32>| async move { *x }, not_send);
/// ```
///
/// A blocking work runs on another thread, so the closure itself must be `Send`:
///
/// ```compile_fail,E0277
/// let pool = aplex::ThreadAsyncPoolExecutor::new().unwrap();
/// let not_send = std::rc::Rc::new(5);
/// let _ = pool.submit(aplex::blocking(move |()| *not_send), ());
/// ```
///
/// A plain function is a blocking work only when wrapped in `aplex::blocking`; passed
/// as it is, its output is not a future (`u64` is not a future, "required for `u64` to
/// implement `WorkBody`"):
///
/// ```compile_fail,E0277
/// fn square(x: u64) -> u64 { x * x }
/// let pool = aplex::ThreadAsyncPoolExecutor::new().unwrap();
/// let _ = pool.submit(square, 3);
/// ```
///
/// On a process pool a work's kind cannot be mistaken: an `async fn` inside `blocking`
/// would give a future as its output, and a future is not a serde value:
///
/// ```compile_fail,E0277
/// #[aplex::work]
/// async fn double(x: u64) -> u64 { x * 2 }
/// let pool = aplex::ProcessAsyncPoolExecutor::new().unwrap();
/// let _ = pool.submit(aplex::blocking(double), 3);
/// ```
///
/// A scope's works may borrow only what outlives the scope, and nothing of the scope can
/// leave it:
///
/// ```compile_fail
/// let pool = aplex::ThreadAsyncPoolExecutor::new().unwrap();
/// pool.scope(|s| {
///     let local = String::from("dropped before the scope ends");
///     s.submit(|text: &String| async move { text.len() }, &local);
/// });
/// ```
///
/// ```compile_fail
/// let pool = aplex::ThreadAsyncPoolExecutor::new().unwrap();
/// let escaped = pool.scope(|s| s);
/// ```
///
/// A registered work takes exactly one argument (several travel as a tuple):
///
/// ```compile_fail
/// #[aplex::work]
/// fn add(a: u64, b: u64) -> u64 { a + b }
/// ```
///
/// ...takes and returns owned values, since they cross between processes (the attribute
/// says to use `String` for `&str`):
///
/// ```compile_fail
/// #[aplex::work]
/// fn len_of(text: &str) -> usize { text.len() }
/// ```
///
/// ```compile_fail
/// #[aplex::work]
/// fn greeting(_: ()) -> &'static str { "hello" }
/// ```
///
/// ...and is not generic, since a worker process must know its concrete types:
///
/// ```compile_fail
/// #[aplex::work]
/// fn echo<T: aplex::serde::Serialize>(value: T) -> T { value }
/// ```
///
/// A process pool's argument must be serialisable:
///
/// ```compile_fail,E0277
/// struct Opaque;
/// #[aplex::work]
/// fn take(_: Opaque) -> u8 { 0 }
/// ```
#[cfg(doctest)]
pub struct CompileFailDoctests;

/// The README's Rust examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
