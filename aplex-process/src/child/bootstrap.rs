//! How a worker process starts: the same executable, re-executed, turns into a worker
//! before the user's `main` (or test harness) runs — no line of user code needed.
//!
//! 1. The parent runs `/proc/self/exe` (so a binary replaced on disk does not matter) with
//!    no arguments and the environment variable `APLEX_PROCESS_WORKER` set to the name of
//!    a one-shot ipc-channel server.
//! 2. In every process that links this crate, a function in the ELF `.init_array` runs
//!    before `main`. If the marker is absent it returns at once; this is all the code that
//!    runs twice.
//! 3. If the marker is present, the process removes it (and its start settings,
//!    `start_at_exec.rs`) from its environment and becomes a
//!    worker ([`crate::child::serve`]): it never returns to `main` and exits when its pool closes
//!    it or its parent goes away.
//!
//! Because the worker starts before `main`, process pools work the same from binaries,
//! examples, `#[test]`s, doctests and criterion benches. The function is kept alive by
//! [`ensure_linked`], which every process pool calls when it is built.

use crate::protocol::start_at_exec::START_MARKER;
use crate::protocol::wire::WORKER_MARKER;

/// The constructor; see the module docs.
#[used]
// SAFETY: `link_section` is an unsafe attribute because the linker trusts the section's
// contents. `.init_array` holds pointers to `extern "C" fn()` called once by the C
// runtime before `main`, and this static is exactly such a pointer.
#[allow(unsafe_code)]
#[link_section = ".init_array"]
static BECOME_WORKER_IF_MARKED: extern "C" fn() = become_worker_if_marked;

extern "C" fn become_worker_if_marked() {
    let Some(server) = std::env::var_os(WORKER_MARKER) else {
        return;
    };
    // Nothing else runs yet (no threads), so changing the environment is sound here; the
    // works' own child processes must not inherit the marker.
    std::env::remove_var(WORKER_MARKER);
    let start = std::env::var(START_MARKER).ok();
    std::env::remove_var(START_MARKER);
    crate::child::serve::run(server.to_string_lossy().into_owned(), start);
}

/// Makes sure the constructor is linked into any executable that builds a process pool.
pub(crate) fn ensure_linked() {
    std::hint::black_box(&BECOME_WORKER_IF_MARKED);
}
