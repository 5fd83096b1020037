//! Signal set-up of a worker process, and reading a child's exit status.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use aplex_core::WorkerExit;

/// Ignores SIGINT and SIGPIPE and asks for SIGKILL when the parent thread dies.
///
/// SIGINT: a terminal's Ctrl-C reaches the whole process group; it is the parent's to
/// handle, and its workers follow it when it exits. SIGPIPE: this runs before Rust's own
/// start-up code, which would otherwise ignore it. The parent-death signal backs up the
/// main mechanism (the parent's channel closing).
pub(crate) fn prepare_worker_process() {
    // SAFETY: `signal` with SIG_IGN installs no handler code, and `prctl` with
    // PR_SET_PDEATHSIG only sets a flag on this process; neither touches Rust memory.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
}

/// Describes how a child ended.
pub(crate) fn worker_exit(status: ExitStatus) -> WorkerExit {
    match (status.code(), status.signal()) {
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
