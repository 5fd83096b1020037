//! Telling a stack overflow from other crashes in a worker process.
//!
//! A worker becomes a worker before `main`, so Rust's own stack-overflow handler (set up
//! by the standard library's start-up code, just before `main`) is never installed there:
//! a work that recursed too deep died of a bare `SIGSEGV`. This module does what that
//! handler does, for the threads that run works:
//!
//! 1. Each such thread (the runtime's main thread, and every thread tokio starts for the
//!    runtime) records the address range just below its stack — its guard page — and
//!    gets an alternate signal stack, so a handler can run when the stack is exhausted.
//! 2. One `SIGSEGV`/`SIGBUS` handler checks the faulting address: inside the current
//!    thread's guard range, it writes a line to stderr and exits with
//!    [`EXIT_STACK_OVERFLOW`], which the parent reports as
//!    `WorkerExit::StackOverflow`; anywhere else, it restores the default action and
//!    returns, so the fault repeats and kills the process with its signal as before.

use std::cell::Cell;
use std::mem::MaybeUninit;

/// The exit status of a worker process whose work overflowed its stack (a work that
/// calls `process::exit(250)` is reported the same way).
pub(crate) const EXIT_STACK_OVERFLOW: i32 = 250;

/// Size of each thread's alternate signal stack.
const ALT_STACK_SIZE: usize = 64 * 1024;

/// How far below the lowest stack address a fault still counts as an overflow (a frame
/// larger than the guard page can skip over it).
const SLACK: usize = 256 * 1024;

/// The page size assumed for the guard page (the smallest on the platforms served).
const PAGE: usize = 4096;

thread_local! {
    /// `(low, high)`: faults at addresses in this range are this thread's stack overflow.
    /// Const-initialised and without a destructor, so the handler can read it.
    static GUARD_RANGE: Cell<(usize, usize)> = const { Cell::new((0, 0)) };

    /// This thread's alternate signal stack, turned off and freed when the thread ends
    /// (tokio's blocking threads come and go).
    static ALTERNATE_STACK: std::cell::RefCell<Option<AlternateStack>> =
        const { std::cell::RefCell::new(None) };
}

/// An alternate signal stack in use by the thread that owns it. Left uninitialised: its
/// 16 pages are touched only if a handler runs on it. (Allocated zeroed, it and
/// `sigaltstack` took 50 µs of a worker's start here; the main thread's whole watch now
/// takes under 20.)
struct AlternateStack(Box<[MaybeUninit<u8>]>);

impl Drop for AlternateStack {
    fn drop(&mut self) {
        let off = libc::stack_t {
            ss_sp: std::ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: turning the alternate stack off before its memory is freed; `off`
        // is a valid `stack_t`.
        #[allow(unsafe_code)]
        unsafe {
            libc::sigaltstack(&off, std::ptr::null_mut());
        }
    }
}

/// Installs the fault handler; once per worker process, before any work runs.
pub(crate) fn install_handler() {
    // SAFETY: the action is zeroed and then filled in full; `on_fault` is an
    // `extern "C"` function with the signature `SA_SIGINFO` expects, and it only makes
    // async-signal-safe calls (`write`, `_exit`, `signal`) and reads a thread-local.
    #[allow(unsafe_code)]
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_fault
            as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
            as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGSEGV, &action, std::ptr::null_mut());
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    }
}

/// Watches the calling thread: records its guard range and gives it an alternate signal
/// stack. Called on every thread that runs works but the main one, when it starts.
pub(crate) fn watch_this_thread() {
    watch_from(lowest_stack_address());
}

/// Watches the process's main thread, as [`watch_this_thread`] does the others.
pub(crate) fn watch_main_thread() {
    watch_from(main_stack_lowest().or_else(lowest_stack_address));
}

/// Records the guard range below `lowest` and gives the calling thread an alternate
/// signal stack.
fn watch_from(lowest: Option<usize>) {
    let Some(lowest) = lowest else {
        return;
    };
    GUARD_RANGE.with(|range| range.set((lowest.saturating_sub(SLACK), lowest + PAGE)));
    let mut alternate = AlternateStack(Box::new_uninit_slice(ALT_STACK_SIZE));
    let stack = libc::stack_t {
        ss_sp: alternate.0.as_mut_ptr().cast(),
        ss_flags: 0,
        ss_size: alternate.0.len(),
    };
    // SAFETY: `stack` describes memory owned by `alternate`, which is kept in this
    // thread's `ALTERNATE_STACK` and turns the alternate stack off before it is freed.
    #[allow(unsafe_code)]
    unsafe {
        libc::sigaltstack(&stack, std::ptr::null_mut());
    }
    ALTERNATE_STACK.with(|slot| *slot.borrow_mut() = Some(alternate));
}

/// The lowest address the main thread's stack may grow down to: the top of its mapping
/// less its size limit (`RLIMIT_STACK`), as the kernel allows it — what glibc's
/// `pthread_getattr_np` answers, without reading `/proc/self/maps` for it (100 µs of a
/// worker's start here). The kernel puts the executable's name (`AT_EXECFN`) last, one
/// pointer below the mapping's top. `None` if the limit is unlimited or the name unknown.
fn main_stack_lowest() -> Option<usize> {
    // SAFETY: `getauxval` and `getrlimit` only read the process's own data (`limit` is a
    // plain out-parameter); `AT_EXECFN`, when present, points to a NUL-terminated string
    // the kernel placed on the stack, which lives as long as the process.
    #[allow(unsafe_code)]
    unsafe {
        let name = libc::getauxval(libc::AT_EXECFN) as usize;
        if name == 0 {
            return None;
        }
        let length = std::ffi::CStr::from_ptr(name as *const libc::c_char)
            .to_bytes()
            .len();
        let page = usize::try_from(libc::sysconf(libc::_SC_PAGESIZE)).ok()?;
        let top = (name + length + 1 + std::mem::size_of::<usize>()).next_multiple_of(page);
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_STACK, &mut limit) != 0
            || limit.rlim_cur == libc::RLIM_INFINITY
        {
            return None;
        }
        top.checked_sub(usize::try_from(limit.rlim_cur).ok()?)
    }
}

/// The lowest address of the calling thread's stack, from its pthread attributes.
fn lowest_stack_address() -> Option<usize> {
    // SAFETY: `attr` is initialised by `pthread_getattr_np` before it is read, and
    // destroyed once; `address` and `size` are plain out-parameters.
    #[allow(unsafe_code)]
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut address: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let found = libc::pthread_attr_getstack(&attr, &mut address, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        found.then_some(address as usize)
    }
}

extern "C" fn on_fault(signal: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid `siginfo_t` to an `SA_SIGINFO` handler.
    #[allow(unsafe_code)]
    let address = unsafe { (*info).si_addr() } as usize;
    let (low, high) = GUARD_RANGE.with(Cell::get);
    if low <= address && address < high {
        let message = b"aplex worker process: a work overflowed its thread's stack\n";
        // SAFETY: `write` and `_exit` are async-signal-safe; the buffer is a static.
        #[allow(unsafe_code)]
        unsafe {
            libc::write(libc::STDERR_FILENO, message.as_ptr().cast(), message.len());
            libc::_exit(EXIT_STACK_OVERFLOW);
        }
    }
    // Not an overflow: let the fault kill the process with its signal, as it would have.
    // SAFETY: `signal` is async-signal-safe; returning re-runs the faulting instruction.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_main_stacks_lowest_address_is_the_top_of_its_mapping_less_its_limit() {
        // What glibc's `pthread_getattr_np` answers for the main thread, from the maps.
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let line = maps
            .lines()
            .find(|line| line.ends_with("[stack]"))
            .expect("a [stack] mapping");
        let range = line.split_whitespace().next().unwrap();
        let top = usize::from_str_radix(range.split('-').nth(1).unwrap(), 16).unwrap();
        // SAFETY: `limit` is a plain out-parameter.
        #[allow(unsafe_code)]
        let limit = unsafe {
            let mut limit: libc::rlimit = std::mem::zeroed();
            assert_eq!(libc::getrlimit(libc::RLIMIT_STACK, &mut limit), 0);
            limit.rlim_cur
        };
        if limit == libc::RLIM_INFINITY {
            assert_eq!(
                main_stack_lowest(),
                None,
                "unlimited: glibc's answer is used"
            );
        } else {
            assert_eq!(main_stack_lowest(), Some(top - limit as usize));
        }
    }
}
