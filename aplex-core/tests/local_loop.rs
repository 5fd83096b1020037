//! The worker loop (`backend::local::serve_local`) with blocking works around a give-up:
//! a blocking work that reaches the loop after `Abandon` never runs, its promise is
//! dropped (its future resolves `Cancelled`), it is told over, and the loop ends by
//! itself, with its channel still open.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use aplex_core::backend::local::{serve_local, BlockingJob, LocalJob, LocalMessage, OnFinished};
use aplex_core::backend::WorkId;

/// Says when it is dropped: stands for a blocking work's promise.
struct Promise(mpsc::Sender<&'static str>);

impl Drop for Promise {
    fn drop(&mut self) {
        let _ = self.0.send("dropped");
    }
}

#[test]
fn a_blocking_work_queued_after_the_give_up_is_dropped_told_over_and_the_loop_ends() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let (dropped_tx, dropped) = mpsc::channel();
    let ran = Arc::new(AtomicBool::new(false));
    let promise = Promise(dropped_tx);
    let job = {
        let ran = Arc::clone(&ran);
        BlockingJob::new(
            move || ran.store(true, Ordering::SeqCst),
            move |()| drop(promise),
        )
    };
    sender.send(LocalMessage::Abandon).unwrap();
    sender
        .send(LocalMessage::Run(WorkId(1), LocalJob::Blocking(job)))
        .unwrap();
    let (over_tx, over) = mpsc::channel();
    let local = tokio::task::LocalSet::new();
    let serve = serve_local(
        receiver,
        1,
        Duration::ZERO,
        None,
        OnFinished::anywhere(move |count| {
            let _ = over_tx.send(count);
        }),
    );
    let ended = runtime.block_on(
        local.run_until(async { tokio::time::timeout(Duration::from_secs(30), serve).await }),
    );
    assert!(ended.is_ok(), "the loop ended by itself");
    assert!(!ran.load(Ordering::SeqCst), "the work never ran");
    assert_eq!(
        dropped.recv_timeout(Duration::from_secs(30)),
        Ok("dropped"),
        "its promise was dropped"
    );
    assert_eq!(over.try_iter().sum::<usize>(), 1, "it was told over once");
    drop(sender);
}
