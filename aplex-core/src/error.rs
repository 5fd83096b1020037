//! `Error`: everything a submitted work, its future or a map can fail with (building a pool
//! fails with [`BuildError`](crate::BuildError) instead).
//!
//! Every variant is something a caller can match on and act upon, and every message says
//! what to do about it. The type is `Clone` so one failure (a crashed worker, a broken
//! pool) can be handed to every future it ends.

use std::fmt;

use crate::work::WorkKind;

/// Everything that can go wrong between submitting a work and reading its result.
///
/// # Examples
///
/// ```
/// use aplex::Error;
///
/// let err = Error::Panicked { message: "boom".into() };
/// assert_eq!(err.to_string(), "the work panicked: boom");
/// assert!(matches!(err, Error::Panicked { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The work was cancelled (by [`WorkFuture::cancel`](crate::WorkFuture::cancel), a
    /// dropped map, or a shutdown that cancels) before it produced a result.
    #[error("the work was cancelled before it produced a result")]
    Cancelled,

    /// A clock ran out; which one, [`clock`](Clock), says what became of the work.
    #[error("{}", clock.message())]
    TimedOut {
        /// The clock that ran out.
        clock: Clock,
    },

    /// The pool no longer accepts works because it has been shut down.
    #[error("the pool has been shut down and accepts no more works; build a new pool")]
    ShutDown,

    /// The work panicked; the message is the panic's payload when it was a string.
    #[error("the work panicked: {message}")]
    Panicked {
        /// The panic message.
        message: String,
    },

    /// The worker running the work died (a process worker exited or was killed) before
    /// the work finished. The pool replaces the worker; resubmit the work if it is safe
    /// to run again.
    #[error("worker {worker} died ({exit}) while running the work; the pool replaces it, resubmit if the work is safe to repeat")]
    WorkerCrashed {
        /// Index of the worker slot that crashed.
        worker: usize,
        /// How the worker ended.
        exit: WorkerExit,
    },

    /// The pool cannot run works any more (Python aplex's `AplexWorkerError`): for example,
    /// its workers crashed too often. Build a new pool.
    #[error("the pool is broken ({reason}); build a new pool")]
    PoolBroken {
        /// Why the pool gave up.
        reason: String,
    },

    /// Arguments or an output could not be encoded or decoded for the trip between
    /// processes.
    #[error("could not {direction} the {what} of work `{work}`: {message}; check that its serde impls round-trip")]
    Serialization {
        /// The work's registered name.
        work: String,
        /// `"arguments"` or `"output"`.
        what: &'static str,
        /// `"encode"` or `"decode"`.
        direction: &'static str,
        /// The codec's message.
        message: String,
    },

    /// The work is not registered, so a process worker cannot find it by name.
    #[error("{}", unknown_hint(.name))]
    UnknownWork {
        /// The name that was looked up.
        name: String,
    },

    /// The work is registered as the other kind: an `async fn` submitted inside
    /// `aplex::blocking`, or a plain `fn` submitted without it.
    #[error("work `{name}` is registered as {registered}; {}", kind_hint(*.registered, .name))]
    WrongKind {
        /// The work's name.
        name: String,
        /// The kind it is registered as.
        registered: WorkKind,
    },

    /// A map or work setting is out of range.
    #[error("invalid setting `{setting}`: {message}")]
    InvalidConfig {
        /// The builder method or option at fault.
        setting: &'static str,
        /// What is wrong and what is allowed.
        message: String,
    },

    /// The bounded pending queue is full (only from `try_submit`).
    #[error("the pending queue is full ({capacity} works waiting); retry later, use submit (which waits) or raise max_pending")]
    QueueFull {
        /// The queue's bound.
        capacity: usize,
    },

    /// A blocking wait (`result()`, a blocking map iterator, `submit` into a full
    /// bounded queue) was called on a thread that drives a tokio runtime's scheduler (or
    /// a pool's worker thread), where it would stall every task of that runtime and
    /// could deadlock.
    #[error("a blocking wait was called on a thread that drives an async runtime's tasks, which could deadlock; `.await` the future (or use submit_async, map(..).into_stream(), shutdown_async), or wait inside tokio::task::spawn_blocking or block_in_place")]
    BlockingInRuntime,

    /// A remote pool's broker could not take or deliver the work: the server refused it
    /// (a payload over its `max_payload`, a permission it lacks) or could not be reached.
    #[error("the broker could not take the work ({reason}); check the server, then resubmit")]
    Broker {
        /// What the server or its client said.
        reason: String,
    },

    /// A remote work was delivered to nodes this many times and none finished it (each
    /// node died or was cut off while running it); the broker gave up on it.
    #[error("the work was delivered {deliveries} times and no node finished it (each died or was cut off while running it); resubmit if it is safe to repeat")]
    Undeliverable {
        /// How many times it was delivered.
        deliveries: u32,
    },
}

fn unknown_hint(name: &str) -> String {
    if name.contains("{{closure}}") {
        format!(
            "a closure (`{name}`) cannot run in a process pool, which finds works by name: \
             move its body into a module-level fn marked #[aplex::work] and submit that"
        )
    } else if name.starts_with("fn(")
        || name.starts_with("unsafe fn(")
        || name.starts_with("extern ")
    {
        format!(
            "a function pointer (`{name}`) names no function, so a process pool cannot find \
             it: pass the function itself (marked #[aplex::work]), not a pointer to it"
        )
    } else {
        format!(
            "work `{name}` is not registered; put #[aplex::work] on a module-level fn to run \
             it in a process pool"
        )
    }
}

fn kind_hint(registered: WorkKind, name: &str) -> String {
    let short = name.rsplit("::").next().unwrap_or(name);
    match registered {
        WorkKind::Async => format!("submit it as is: `pool.submit({short}, args)`"),
        WorkKind::Blocking => {
            format!("submit it as `pool.submit(aplex::blocking({short}), args)`")
        }
    }
}

impl Error {
    /// Builds an [`Error::InvalidConfig`].
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::Error;
    ///
    /// let error = Error::invalid_config("chunksize", "must be at least 1");
    /// assert_eq!(error.to_string(), "invalid setting `chunksize`: must be at least 1");
    /// ```
    pub fn invalid_config(setting: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidConfig {
            setting,
            message: message.into(),
        }
    }
}

/// The clock behind an [`Error::TimedOut`], and so what became of the work.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use aplex::{Clock, Error, WorkOptions};
///
/// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
/// let forever = |()| std::future::pending::<()>();
/// let waited = pool.submit(forever, ()).result_timeout(Duration::from_millis(5));
/// assert_eq!(waited, Err(Error::TimedOut { clock: Clock::Wait }));
/// let options = WorkOptions::new().timeout(Duration::from_millis(5));
/// let aborted = pool.submit_with(forever, (), options).result();
/// assert_eq!(aborted, Err(Error::TimedOut { clock: Clock::Work }));
/// # Ok::<(), aplex::BuildError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Clock {
    /// The caller's wait (`result_timeout`): the work goes on, detached, as
    /// `result_timeout` gave its future up. To stop a late work, wait with
    /// `wait_timeout` (which keeps the future) and then `cancel` it, or give the work a
    /// timeout of its own (`WorkOptions::timeout`).
    Wait,
    /// An async work's own timeout (`WorkOptions::timeout`, the pool's `work_timeout`):
    /// the work has been aborted on its worker.
    Work,
    /// A blocking work's own timeout: it cannot be stopped and is left to finish (its
    /// place on the worker stays taken until then), unless a process pool built with
    /// `kill_on_timeout` kills its worker.
    BlockingWork,
    /// A map's timeout (`Map::timeout`): the map has ended and cancelled its works.
    Map,
}

impl Clock {
    fn message(self) -> &'static str {
        match self {
            Clock::Wait => "timed out waiting for the result; the work goes on, detached: to stop a late work, wait with wait_timeout, which keeps its future, then cancel it, or give the work a timeout of its own (WorkOptions::timeout)",
            Clock::Work => "the work ran past its timeout and was aborted on its worker; give it a longer timeout if it needs one",
            Clock::BlockingWork => "the blocking work ran past its timeout; it cannot be stopped and is left to finish (build a process pool with kill_on_timeout to kill its worker instead)",
            Clock::Map => "the map ran past its timeout; its works still in flight were cancelled",
        }
    }
}

/// How a worker ended, carried by [`Error::WorkerCrashed`].
///
/// # Examples
///
/// ```
/// use aplex::WorkerExit;
///
/// assert_eq!(WorkerExit::Code(3).to_string(), "exit code 3");
/// assert_eq!(WorkerExit::Signal(9).to_string(), "killed by signal 9");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkerExit {
    /// The worker process exited with this status code.
    Code(i32),
    /// The worker process was killed by this signal.
    Signal(i32),
    /// The worker's channel closed and its exit status could not be read.
    Unknown,
    /// A work overflowed the stack of the thread it ran on (it recursed too deep, or
    /// needs a larger `thread_stack_size`); the worker process then exits at once.
    StackOverflow,
}

impl fmt::Display for WorkerExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerExit::Code(code) => write!(f, "exit code {code}"),
            WorkerExit::Signal(signal) => write!(f, "killed by signal {signal}"),
            WorkerExit::Unknown => f.write_str("exit status unknown"),
            WorkerExit::StackOverflow => f.write_str(
                "a work overflowed its thread's stack (it recursed too deep, or needs a larger thread_stack_size)",
            ),
        }
    }
}

/// Turns a caught panic payload into the message carried by [`Error::Panicked`].
///
/// # Examples
///
/// ```
/// let payload = std::panic::catch_unwind(|| panic!("boom {}", 7)).unwrap_err();
/// assert_eq!(aplex::backend::panic_message(&*payload), "boom 7");
/// ```
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

/// A submission the pool refused, with the work handed back so nothing is lost.
///
/// Returned by the pools' `try_submit` methods. Its `Debug` shows only the error, so
/// `unwrap()` works even when the work is a closure.
///
/// # Examples
///
/// ```
/// use aplex::{Error, Refused};
///
/// let refused = Refused { error: Error::QueueFull { capacity: 8 }, work: ("my work", 42) };
/// let (_work, args) = refused.work;
/// assert_eq!(args, 42, "nothing is lost");
/// ```
#[derive(Clone)]
pub struct Refused<W> {
    /// Why the work was refused: [`Error::QueueFull`], [`Error::ShutDown`],
    /// [`Error::PoolBroken`], or on the process pool a work it cannot send
    /// ([`Error::UnknownWork`], [`Error::Serialization`]).
    pub error: Error,
    /// The work and its arguments, untouched.
    pub work: W,
}

impl<W> fmt::Debug for Refused<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refused")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<W> fmt::Display for Refused<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<W> std::error::Error for Refused<W> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}
