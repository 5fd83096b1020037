//! Big encoding buffers kept for the next big payload, so encoding one does not pay the
//! kernel for fresh pages every time.
//!
//! An allocation above glibc's mmap threshold (128 KiB at first, at most 32 MiB) is a
//! fresh mapping, zeroed page by page on first touch and unmapped when freed: for a
//! 1 MiB payload that costs more than encoding it. A backend that is done with an
//! encoded buffer — the process pool once it has copied it into shared memory — gives it
//! back here; [`grow`] hands it to the next encoding that outgrows [`SPARE_MIN`]. At most
//! [`MAX_SPARES`] buffers and [`MAX_SPARE_BYTES`] are kept, the biggest first; a buffer
//! bigger than that bound is not kept (keeping it would evict every other), and an
//! encoding takes no buffer more than [`MAX_OVERSIZE`] times its need (a small payload
//! would pin a huge buffer wherever its bytes are kept).
//!
//! Small buffers are the other end: a backend that copies a small encoding out of its
//! buffer (the process pool keeps a tiny work's arguments and outcome inside its frame)
//! gives the buffer back to its thread ([`recycle`]), whose next encoding starts in it
//! ([`take_small`]) rather than in a fresh allocation.

use std::cell::Cell;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::registry::kept_by_size::KeptBySize;
pub use crate::registry::kept_by_size::MAX_OVERSIZE;

/// Buffers smaller than this are left to the allocator.
pub const SPARE_MIN: usize = 64 * 1024;

/// The most buffers kept.
pub const MAX_SPARES: usize = 4;

/// The most bytes of buffers kept.
pub const MAX_SPARE_BYTES: usize = 256 << 20;

/// The kept buffers.
static SPARES: Mutex<KeptBySize<Vec<u8>>> =
    Mutex::new(KeptBySize::new(MAX_SPARES, MAX_SPARE_BYTES));

fn spares() -> MutexGuard<'static, KeptBySize<Vec<u8>>> {
    SPARES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Keeps `buffer` for a later encoding, if it is big and there is room.
///
/// # Examples
///
/// ```
/// use aplex_core::registry::spare_buffers::{give_back, grow};
///
/// give_back(vec![0u8; 1 << 20]);
/// let mut bytes = vec![1, 2, 3];
/// grow(&mut bytes, 1 << 20);
/// assert!(bytes.capacity() >= 3 + (1 << 20));
/// assert_eq!(bytes, [1, 2, 3]);
/// ```
pub fn give_back(mut buffer: Vec<u8>) {
    // Most buffers are small: they are turned away without the lock.
    if buffer.capacity() < SPARE_MIN {
        return;
    }
    buffer.clear();
    spares().give_back(buffer);
}

/// Makes room in `bytes` for `more` bytes; past [`SPARE_MIN`], in a kept buffer when one
/// is big enough and not [`MAX_OVERSIZE`] times bigger (the bytes so far copied over).
pub fn grow(bytes: &mut Vec<u8>, more: usize) {
    let needed = bytes.len() + more;
    if needed <= bytes.capacity() {
        return;
    }
    if needed >= SPARE_MIN {
        if let Some(mut spare) = spares().take(needed) {
            spare.extend_from_slice(bytes);
            *bytes = spare;
            return;
        }
    }
    // As `Vec` grows: at least double, so a value written piece by piece stays linear.
    bytes.reserve(more.max(bytes.capacity()));
}

/// The most capacity a thread's small spare may have.
pub const SMALL_SPARE_MAX: usize = 4096;

thread_local! {
    /// This thread's small spare buffer (empty: none).
    static SMALL_SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Keeps `buffer` for this thread's next encoding, if it is small (at most
/// [`SMALL_SPARE_MAX`]); one is kept per thread.
///
/// # Examples
///
/// ```
/// use aplex_core::registry::spare_buffers::{recycle, take_small};
///
/// let buffer = Vec::with_capacity(64);
/// let address = buffer.as_ptr();
/// recycle(buffer);
/// let again = take_small(32);
/// assert_eq!(again.as_ptr(), address);
/// assert!(again.is_empty());
/// ```
pub fn recycle(mut buffer: Vec<u8>) {
    if buffer.capacity() == 0 || buffer.capacity() > SMALL_SPARE_MAX {
        return;
    }
    buffer.clear();
    // During thread teardown the spare may be gone: the buffer is then just freed.
    let _ = SMALL_SPARE.try_with(|spare| spare.set(buffer));
}

/// An empty buffer of at least `capacity` bytes: this thread's spare if it has one,
/// grown if needed, or a new one.
pub fn take_small(capacity: usize) -> Vec<u8> {
    let mut buffer = SMALL_SPARE.try_with(Cell::take).unwrap_or_default();
    buffer.reserve(capacity);
    buffer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_keeps_one_small_spare_and_no_big_one() {
        recycle(Vec::with_capacity(SMALL_SPARE_MAX + 1));
        assert_eq!(take_small(0).capacity(), 0, "a big buffer is not kept");
        let mut small = Vec::with_capacity(100);
        small.extend_from_slice(b"old bytes");
        recycle(small);
        let again = take_small(10);
        assert!(again.is_empty() && again.capacity() >= 100);
        assert_eq!(take_small(0).capacity(), 0, "the one spare was taken");
        // Another thread has a spare of its own.
        recycle(Vec::with_capacity(64));
        std::thread::spawn(|| assert_eq!(take_small(0).capacity(), 0))
            .join()
            .unwrap();
        assert!(take_small(0).capacity() >= 64);
    }
}
