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
