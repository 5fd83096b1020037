//! What the parent makes of a worker process's end: how it exited, and killing one.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use aplex_core::WorkerExit;

/// Describes how a child ended.
pub(crate) fn worker_exit(status: ExitStatus) -> WorkerExit {
    match (status.code(), status.signal()) {
        (Some(crate::child::stack_guard::EXIT_STACK_OVERFLOW), _) => WorkerExit::StackOverflow,
        (Some(code), _) => WorkerExit::Code(code),
        (None, Some(signal)) => WorkerExit::Signal(signal),
        (None, None) => WorkerExit::Unknown,
    }
}

/// Sends SIGKILL to `pid`.
pub(crate) fn kill(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: `kill` only sends a signal; the caller holds the child unreaped, so the pid
    // still names that child.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}
