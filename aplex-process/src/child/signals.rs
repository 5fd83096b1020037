//! Signal set-up of a worker process: which signals it leaves to its parent, and the
//! parent-death signal.

/// Leaves SIGINT and SIGTERM to the parent, ignores SIGPIPE, and asks for SIGKILL when
/// the parent thread dies.
///
/// SIGINT and SIGTERM: a terminal's Ctrl-C, and docker, systemd or Kubernetes stopping a
/// service, reach the whole process group. They are the parent's to handle: it may drain
/// its pool, and its workers follow it when it exits (their channel closes). They are
/// caught by a handler that does nothing rather than set to `SIG_IGN`, because a handler
/// is reset to the default by `execve`: programs a work starts get the ordinary
/// dispositions, while an ignored signal would stay ignored in them. `SA_RESTART` keeps
/// blocking calls going through a signal. SIGPIPE: this runs before Rust's own start-up
/// code, which would otherwise ignore it (std resets it for the programs it spawns). The
/// parent-death signal backs up the main mechanism (the parent's channel closing).
pub(crate) fn prepare_worker_process() {
    // SAFETY: `sigaction` installs `leave_to_the_parent`, which does nothing and so is
    // async-signal-safe; the `sigaction` struct is zeroed and then filled in full.
    // `signal` with SIG_IGN installs no handler code, and `prctl` with PR_SET_PDEATHSIG
    // only sets a flag on this process; none of them touches Rust memory.
    #[allow(unsafe_code)]
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = leave_to_the_parent as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        for signal in [libc::SIGINT, libc::SIGTERM] {
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
}

/// The handler of SIGINT and SIGTERM in a worker: nothing to do (see
/// [`prepare_worker_process`]).
extern "C" fn leave_to_the_parent(_signal: libc::c_int) {}
