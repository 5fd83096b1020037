//! The parent's side of a process pool: the pool type and its builder, what it accepts
//! and how a submission becomes a job, and for each worker position a slot whose
//! supervisor thread starts, watches and replaces the worker process.

pub(crate) mod accepts;
pub(crate) mod builder;
pub(crate) mod context;
pub(crate) mod crash_limit;
pub(crate) mod exit_status;
pub(crate) mod in_flight;
pub(crate) mod job;
pub(crate) mod pool;
pub(crate) mod prestart;
pub(crate) mod replies;
pub(crate) mod reply_watch;
pub(crate) mod slot;
pub(crate) mod spawn;
pub(crate) mod supervisor;
pub(crate) mod worker;
