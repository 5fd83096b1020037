//! An idle loop's short look for its next message before its thread parks.
//!
//! A caller that waits on one work's result and then submits the next (a request loop, a
//! pipeline stage) sends it within microseconds of the result, while a parked worker
//! thread takes 5–60 µs to wake on a VM — more than the work itself. So a worker loop
//! that has just run out of works keeps looking for a message for a little while,
//! yielding to its runtime (its I/O and timers are served) and to the OS (the threads
//! that produce the next message get the CPU) between looks, before it lets its thread
//! park. It lingers once, after a message of one work (a `Run`, or a `Calls` of one; a
//! burst comes as `RunBatch` or `Calls` of many),
//! and only when nothing at all is then alive on the worker — no async work, no blocking
//! work running or queued — so a busy worker never spins, and it stops the moment a
//! message arrives. (Lingering whenever no async work was alive took the CPU from
//! running blocking works: tiny blocking maps halved; lingering whenever nothing was
//! alive still cost them a quarter, between a map's bursts.)
//!
//! The thread pool lingers 50 µs: a lone round trip 6.0 µs → 2.3–4.2 µs, below tokio's
//! bare channel round trip in the same run. So does the process child, whose runtime
//! thread reads the parent's socket itself: 82 → 52 µs (with a reader thread between,
//! whose own wake-up lingering cannot save, it measured 41 µs without, 47 µs with). The
//! remote node does not: its messages come through the broker.

use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedReceiver;

/// How long a worker's loop, after a lone work and with nothing alive, keeps looking for
/// its next message before its thread parks: as long as a blocking `result()` spins
/// before it parks. The thread pool's workers and the process pool's children (while
/// their runtime thread reads) pass it to [`serve_local`](crate::backend::local::serve_local).
pub const WORKER_LINGER: Duration = Duration::from_micros(50);

/// Looks for a message on `receiver` for up to `linger_for`; returns as soon as one is
/// there (at once when `linger_for` is zero).
pub(crate) async fn linger<T>(receiver: &UnboundedReceiver<T>, linger_for: Duration) {
    let until = Instant::now() + linger_for;
    while receiver.is_empty() && Instant::now() < until {
        tokio::task::yield_now().await;
        // A message the runtime's other tasks just delivered (a process child's intake)
        // is taken before this thread hands its CPU away: sharing a CPU with another
        // lingering worker, each hand-off cost 4–13 µs of a round trip.
        if !receiver.is_empty() {
            return;
        }
        std::thread::yield_now();
    }
}
