//! The supervisor thread of one slot: it starts the slot's worker processes, reads their
//! replies, and replaces them when they die.
//!
//! 1. Spawn a process and complete its handshake (`spawn.rs`); the first outcome is
//!    reported to `build()`. Spawning from this long-lived thread keeps the child's
//!    parent-death signal tied to the slot, not to whichever thread built the pool.
//! 2. Start a writer thread that batches every queued frame into one `send`, attach it to
//!    the slot (flushing the outbox), then read reply batches until the channel closes
//!    (`replies.rs`: a caller waiting for its lone work may read them meanwhile).
//! 3. The channel closes when the process exits (or is killed). Detach it, reap the
//!    process (killing it if it lingers) and learn its exit status, then join the
//!    writer: with the process gone, a `send` the writer was waiting in fails at once
//!    (every message fits one socket buffer, see `payload.rs`), so the join is bounded.
//! 4. If the slot was told to abort, or to drain and its process drained, its remaining
//!    works resolve `Cancelled` and the slot stops — unless works wait for the
//!    replacement of a retired process (below): a drain runs them, in a process that
//!    gets the close after them. A process that dies while draining is a crash during
//!    shutdown (below). If it was recycled (it reached `max_works_per_child`, drained
//!    and exited 0) or killed by the pool (a timed-out work that could not be aborted),
//!    the loop respawns and the works that waited meanwhile go to the new process.
//!    Otherwise it
//!    crashed: exactly its in-flight works fail with `WorkerCrashed { exit }`, the crash
//!    is counted, and the loop respawns — unless the pool's crash limit is exceeded,
//!    which breaks the pool, or the pool has begun to shut down: then the slot is
//!    reported gone (queued works go to the other workers, or fail once none is left)
//!    and stops, so a shutting-down pool never starts processes.

use std::process::Child;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use aplex_core::backend::CloseMode;
use aplex_core::{Error, WorkerExit};

use crate::parent::exit_status::worker_exit;
use crate::parent::replies::Replies;
use crate::parent::slot::{Retiring, Slot};
use crate::parent::spawn::{spawn_worker, Incarnation};
use crate::protocol::batch_writer::batch_writer;
use crate::protocol::regions::{Borrowings, Lender};
use crate::protocol::wire::DownFrame;

/// How long a process whose channel closed may take to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Runs the slot's supervision loop, beginning with its first process, which the builder
/// started (`prestart.rs`).
pub(crate) fn supervise(slot: Arc<Slot>, first: Incarnation) {
    let mut next = Some(first);
    let mut respawn = false;
    loop {
        if respawn && slot.stops_now() {
            slot.stop(&Error::Cancelled);
            return;
        }
        let context = &slot.context;
        let spawned = match next.take() {
            Some(incarnation) => Ok(incarnation),
            None => spawn_worker(
                slot.index,
                &context.start,
                context.start_timeout,
                context.initializer,
            ),
        };
        let incarnation = match spawned {
            Ok(incarnation) => incarnation,
            Err(reason) => {
                // Only a replacement can fail here: the first process was started.
                tracing::warn!(worker = slot.index, %reason, "aplex worker process failed to start");
                if give_up_after_crash(&slot, &reason) {
                    return;
                }
                continue;
            }
        };
        tracing::info!(
            worker = slot.index,
            pid = incarnation.pid,
            respawn,
            "aplex worker process started"
        );
        let pid = incarnation.pid;
        let (exit, ending) = serve_incarnation(&slot, incarnation);
        respawn = true;
        match ending {
            Ending::Closed => {
                tracing::info!(worker = slot.index, pid, %exit, "aplex worker process shut down");
                slot.stop(&Error::Cancelled);
                return;
            }
            Ending::Recycled => {
                // It drained and exited as asked: replace it. No work failed, no crash.
                tracing::info!(worker = slot.index, pid, "aplex worker process recycled");
                slot.recycles.fetch_add(1, Ordering::Relaxed);
            }
            Ending::Killed => {
                // The pool killed it for a work it could not abort: replace it, not a crash.
                tracing::warn!(
                    worker = slot.index,
                    pid,
                    "aplex worker process killed: a work ran out of time and could not be aborted; replacing it"
                );
                slot.restarts.fetch_add(1, Ordering::Relaxed);
            }
            Ending::CrashedDuringShutdown => {
                tracing::warn!(
                    worker = slot.index,
                    pid,
                    %exit,
                    "aplex worker process died while the pool shuts down; not replacing it"
                );
                slot.stop(&Error::WorkerCrashed {
                    worker: slot.index,
                    exit,
                });
                return;
            }
            Ending::Crashed => {
                tracing::warn!(worker = slot.index, pid, %exit, "aplex worker process died; replacing it");
                slot.restarts.fetch_add(1, Ordering::Relaxed);
                let reason = format!("worker {} died ({exit})", slot.index);
                if give_up_after_crash(&slot, &reason) {
                    return;
                }
            }
        }
    }
}

/// How one process's service ended, and so what the slot does next.
enum Ending {
    /// The slot was closing: it stops.
    Closed,
    /// It drained and exited after `max_works_per_child`: replaced.
    Recycled,
    /// The pool killed it for a work that could not be aborted: replaced.
    Killed,
    /// It died: replaced, and counted against the crash limit.
    Crashed,
    /// It died after the pool began to shut down: not replaced.
    CrashedDuringShutdown,
}

/// Serves one process until it is gone; fails its in-flight works and says how it ended.
fn serve_incarnation(slot: &Arc<Slot>, incarnation: Incarnation) -> (WorkerExit, Ending) {
    let Incarnation {
        mut child,
        pid,
        down,
        up,
        acceptor,
    } = incarnation;
    let lender = Lender::new(slot.context.start.shared_threshold);
    let (link, writer_end) = batch_writer(down, Arc::clone(&lender));
    // Releases reach the writer through a weak handle: a borrowed output that outlives
    // this process (kept by a caller) must not keep the writer, and so this supervisor
    // waiting for it below, alive.
    let release_link = Arc::new(link.clone());
    let weak_link = Arc::downgrade(&release_link);
    let borrowings = Borrowings::new(Arc::new(move |region| {
        if let Some(link) = weak_link.upgrade() {
            let _ = link.send_one(DownFrame::Release { region }, false);
        }
    }));
    let writer = thread::Builder::new()
        .name(format!("aplex-writer-{}", slot.index))
        .spawn({
            let coalesce = slot.coalesce();
            move || writer_end.run(Some(coalesce))
        });
    let replies = Replies::new(Arc::clone(slot) as _, up, lender, borrowings);
    slot.attach(pid, link, replies.wait_help());
    if let Some(acceptor) = acceptor {
        let _ = acceptor.join();
    }
    replies.serve();
    drop((replies, release_link));
    let lost = slot.detach();
    let exit = reap(&mut child);
    if let Ok(writer) = writer {
        let _ = writer.join();
    }
    let drained = exit == WorkerExit::Code(0);
    let ending = match (slot.close_mode(), slot.retired_as()) {
        (Some(CloseMode::Abort), _) => Ending::Closed,
        // A drain runs the works waiting for a retired process's replacement: it is
        // started, and gets the close after them.
        (Some(CloseMode::Drain), Some(Retiring::Recycle))
            if drained && slot.has_waiting_works() =>
        {
            Ending::Recycled
        }
        (Some(CloseMode::Drain), Some(Retiring::Kill)) if slot.has_waiting_works() => {
            Ending::Killed
        }
        (Some(CloseMode::Drain), Some(Retiring::Kill)) => Ending::Closed,
        (Some(CloseMode::Drain), _) if drained => Ending::Closed,
        // Not drained: it died while draining, and its works say so.
        (Some(CloseMode::Drain), _) => {
            slot.events.worker_gone(slot.index);
            Ending::CrashedDuringShutdown
        }
        (None, Some(Retiring::Recycle)) if drained => Ending::Recycled,
        (None, Some(Retiring::Kill)) => Ending::Killed,
        _ if slot.respawns() => Ending::Crashed,
        _ => {
            // Before its works are failed: the releases they cause must not dispatch
            // queued works to this slot.
            slot.events.worker_gone(slot.index);
            Ending::CrashedDuringShutdown
        }
    };
    let error = match ending {
        Ending::Closed => Error::Cancelled,
        _ => Error::WorkerCrashed {
            worker: slot.index,
            exit,
        },
    };
    slot.fail(lost, &error);
    (exit, ending)
}

/// Counts a crash; if that exceeds the pool's limit, breaks the pool and stops the slot.
fn give_up_after_crash(slot: &Slot, reason: &str) -> bool {
    let context = &slot.context;
    if !context.crashes.record() {
        return false;
    }
    let limit = context.crashes.limit();
    let reason = format!(
        "more than {} worker crashes within {:?}, the last: {reason}",
        limit.max_crashes, limit.window
    );
    tracing::error!(worker = slot.index, %reason, "aplex pool broken");
    slot.events.pool_broken(reason.clone());
    slot.stop(&Error::PoolBroken { reason });
    true
}

/// Waits for a process whose channel has closed; kills it if it lingers.
fn reap(child: &mut Child) -> WorkerExit {
    let deadline = Instant::now() + EXIT_GRACE;
    let mut poll = Duration::from_micros(100);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return worker_exit(status),
            Ok(None) if Instant::now() < deadline => {
                thread::sleep(poll);
                poll = (poll * 2).min(Duration::from_millis(20));
            }
            Ok(None) => {
                let _ = child.kill();
                return child.wait().map_or(WorkerExit::Unknown, worker_exit);
            }
            Err(_) => return WorkerExit::Unknown,
        }
    }
}
