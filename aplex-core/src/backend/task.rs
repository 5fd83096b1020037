//! A started async job's future, and where it may run: only on the worker's own thread,
//! or — for a `Send` future on a multi-thread worker runtime — on the runtime's scheduler.
//!
//! A worker's loop (`serve_local`) polls every future on its own thread when the runtime
//! is current-thread. On a multi-thread runtime it spawns [`Task::Send`] futures onto the
//! scheduler, wrapped in [`WithState`] so the worker's state is installed on whichever
//! thread polls them, and keeps [`Task::Local`] ones on its own thread.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::{BoxFuture, LocalBoxFuture};

use crate::worker_state::{install_worker_state, WorkerStateValue};

/// The future of a started async job.
///
/// # Examples
///
/// ```
/// use aplex::backend::local::Task;
///
/// let task = Task::Send(Box::pin(async {}));
/// assert!(task.is_send());
/// futures::executor::block_on(task.into_local());
/// ```
pub enum Task {
    /// A future that is not `Send`: polled only on the thread driving the worker's runtime.
    Local(LocalBoxFuture<'static, ()>),
    /// A `Send` future: on a multi-thread worker runtime, spawned onto its scheduler.
    Send(BoxFuture<'static, ()>),
}

impl Task {
    /// Whether the future may run on any of the runtime's threads.
    pub fn is_send(&self) -> bool {
        matches!(self, Task::Send(_))
    }

    /// The future, to be polled on the current thread.
    pub fn into_local(self) -> LocalBoxFuture<'static, ()> {
        match self {
            Task::Local(future) => future,
            Task::Send(future) => future,
        }
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Task::Local(_) => "Task::Local",
            Task::Send(_) => "Task::Send",
        })
    }
}

/// A `Send` future that sees its worker's state (`aplex::worker_state`) on whichever
/// scheduler thread polls it.
pub(crate) struct WithState {
    pub(crate) state: Option<WorkerStateValue>,
    pub(crate) future: BoxFuture<'static, ()>,
}

impl Future for WithState {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let _installed = self
            .state
            .as_ref()
            .map(|state| install_worker_state(Some(state.clone())));
        self.future.as_mut().poll(cx)
    }
}
