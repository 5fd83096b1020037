//! Model checks, with loom, of the invariants the pool's dispatch rests on: under every
//! interleaving loom can find,
//!
//! 1. workloads only grow under the queue lock, so no worker ever runs more than its cap;
//! 2. no work waits in the queue while a worker is free (the finisher/queuer handshake
//!    of `gauge.rs`);
//! 3. a work's first outcome wins, and is counted once.
//!
//! The gauge and the cell are the product's own; the admission around the gauge is
//! `dispatch.rs`'s `admit` and `drain`, step for step, without the balancer and the
//! jobs. Run with `cargo xtask loom` (`RUSTFLAGS="--cfg aplex_loom"`, release).

use std::collections::VecDeque;

use futures::FutureExt;
use loom::sync::{Arc, Mutex};
use loom::thread;

use crate::gauge::Gauge;
use crate::stats::{OutcomeCounters, Outcomes};
use crate::worker::WorkId;
use crate::{Clock, Error, WorkFuture};

/// What the queue lock guards in the model: the pending works, and where each
/// dispatched work went.
#[derive(Default)]
struct Queue {
    pending: VecDeque<u32>,
    dispatched: Vec<(usize, u32)>,
}

/// Sends `work` to the first worker below the cap; under the queue lock, as
/// `dispatch.rs`'s `dispatch`.
fn dispatch(gauge: &Gauge, queue: &mut Queue, work: u32) {
    let worker = (0..gauge.workloads().len())
        .find(|&worker| gauge.shown(worker) < gauge.cap())
        .expect("dispatch is called only when a worker is available");
    gauge.claim(worker);
    assert!(
        gauge.shown(worker) <= gauge.cap(),
        "worker {worker} is over its cap"
    );
    queue.dispatched.push((worker, work));
}

/// `dispatch.rs`'s `drain`: dispatches queued works, front first, while a worker is free.
fn drain(gauge: &Gauge, queue: &mut Queue) {
    while !queue.pending.is_empty() && gauge.any_available() {
        let work = queue.pending.pop_front().expect("not empty");
        gauge.dequeued();
        dispatch(gauge, queue, work);
    }
}

/// `dispatch.rs`'s `admit`: at once if nothing waits and a worker is free, else queued
/// and the queue drained.
fn admit(gauge: &Gauge, queue: &Mutex<Queue>, work: u32) {
    let mut queue = queue.lock().unwrap();
    if queue.pending.is_empty() && gauge.any_available() {
        dispatch(gauge, &mut queue, work);
        return;
    }
    queue.pending.push_back(work);
    gauge.queued();
    drain(gauge, &mut queue);
}

/// `events.rs`'s `works_finished`: the workload drops, then waiting works are drained.
fn finish(gauge: &Gauge, queue: &Mutex<Queue>, worker: usize) {
    if gauge.finish(worker, 1) {
        drain(gauge, &mut queue.lock().unwrap());
    }
}

/// No work waits while a worker is free: checked once every thread is done.
fn assert_settled(gauge: &Gauge, queue: &Queue) {
    assert!(
        queue.pending.is_empty() || !gauge.any_available(),
        "works {:?} wait while a worker is free",
        queue.pending
    );
}

#[test]
fn loom_a_work_finishing_while_another_is_queued_never_strands_it() {
    loom::model(|| {
        let gauge = Arc::new(Gauge::new(1, 1));
        let queue = Arc::new(Mutex::new(Queue::default()));
        admit(&gauge, &queue, 0);
        let finisher = {
            let (gauge, queue) = (Arc::clone(&gauge), Arc::clone(&queue));
            thread::spawn(move || finish(&gauge, &queue, 0))
        };
        admit(&gauge, &queue, 1);
        finisher.join().unwrap();
        let queue = queue.lock().unwrap();
        assert_settled(&gauge, &queue);
        assert_eq!(
            queue.dispatched,
            [(0, 0), (0, 1)],
            "work 1 ran after work 0"
        );
    });
}

#[test]
fn loom_two_submitters_and_a_finisher_keep_the_cap_and_strand_nothing() {
    loom::model(|| {
        let gauge = Arc::new(Gauge::new(2, 1));
        let queue = Arc::new(Mutex::new(Queue::default()));
        admit(&gauge, &queue, 0);
        admit(&gauge, &queue, 1);
        let submitters: Vec<_> = [2, 3]
            .into_iter()
            .map(|work| {
                let (gauge, queue) = (Arc::clone(&gauge), Arc::clone(&queue));
                thread::spawn(move || admit(&gauge, &queue, work))
            })
            .collect();
        finish(&gauge, &queue, 1);
        for submitter in submitters {
            submitter.join().unwrap();
        }
        let queue = queue.lock().unwrap();
        assert_settled(&gauge, &queue);
        assert_eq!(
            queue.dispatched.len(),
            3,
            "one place freed, one more work ran"
        );
        assert_eq!(queue.pending.len(), 1);
    });
}

#[test]
fn loom_the_first_outcome_of_a_work_wins_and_is_counted_once() {
    loom::model(|| {
        let (promise, mut future) = WorkFuture::<u8>::pair(true);
        let tracked = future.tracked();
        let counted = std::sync::Arc::new(Outcomes(Box::new([OutcomeCounters::default()])));
        assert!(tracked.start(0, WorkId(0), Some(std::sync::Arc::clone(&counted))));
        let completer = thread::spawn(move || promise.complete(Ok(7)));
        tracked.fail(Error::TimedOut { clock: Clock::Work });
        let completed = completer.join().unwrap();
        let outcome = (&mut future).now_or_never().expect("resolved");
        match outcome {
            Ok(7) => assert!(completed, "the completion won, and says so"),
            Err(Error::TimedOut { clock: Clock::Work }) => {
                assert!(!completed, "the timeout won; the completion says it lost")
            }
            other => panic!("unexpected outcome {other:?}"),
        }
        let mut stats = crate::WorkerStats::default();
        counted.0[0].fill(&mut stats);
        let counted = stats.completed + stats.timed_out;
        assert_eq!(counted, 1, "counted once");
    });
}
