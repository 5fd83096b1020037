//! Thousands of big arguments queued in the parent at once, under a low limit of open
//! files: an argument waiting in the queue must not hold a file descriptor of its own
//! (a shared-memory region) for as long as it waits, or the process runs out of them.
//! In a test binary of its own: it lowers the limit for its whole process.

mod common;

use std::time::Duration;

use aplex::ProcessAsyncPoolExecutor;
use serde_bytes::ByteBuf;

use common::within;

/// The length of its bytes.
#[aplex::work]
fn length(data: ByteBuf) -> usize {
    data.len()
}

/// Lowers this process's soft limit of open files to `limit` (or below, to its hard
/// limit), leaving the hard limit as it is.
#[allow(unsafe_code)]
fn limit_open_files(limit: u64) {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` only writes the struct passed by reference.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut current) };
    assert_eq!(read, 0, "getrlimit: {}", std::io::Error::last_os_error());
    current.rlim_cur = limit.min(current.rlim_max);
    // SAFETY: `setrlimit` only reads the struct passed by reference.
    let result = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &current) };
    assert_eq!(result, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

#[test]
fn many_big_arguments_queued_at_once_stay_within_the_open_files_limit() {
    within(Duration::from_secs(120), || {
        limit_open_files(256);
        // One work at a time: the other 999 wait in the parent's queue, arguments encoded.
        let pool = ProcessAsyncPoolExecutor::builder()
            .pool_size(1)
            .max_works_per_worker(1)
            .build()
            .unwrap();
        let futures: Vec<_> = (0..1000usize)
            .map(|i| {
                pool.submit(
                    aplex::blocking(length),
                    ByteBuf::from(vec![7u8; 70_000 + i]),
                )
            })
            .collect();
        for (i, future) in futures.into_iter().enumerate() {
            assert_eq!(future.result(), Ok(70_000 + i));
        }
    });
}
