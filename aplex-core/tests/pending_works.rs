//! The worker loop's async works that are pending after their first poll, polled by
//! one task (`backend/group.rs`): each is polled again only when woken, cancelling one
//! drops only its future (even one that panics when dropped), a panic that slips out of
//! one ends only that one, a work that is always ready cannot keep the loop from its
//! messages, and a burst of pending works lets the runtime turn between its batches.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll};
use std::time::Duration;

use aplex_core::backend::local::{serve_local, LocalJob, LocalMessage, OnFinished, Task};
use aplex_core::backend::{CloseMode, WorkId};
use tokio::sync::{mpsc::UnboundedSender, oneshot};

const DEADLINE: Duration = Duration::from_secs(30);

/// A loop on its own thread, as a worker runs it; `over` counts the works told over.
struct Loop {
    sender: UnboundedSender<LocalMessage>,
    over: Arc<AtomicUsize>,
    /// Says whether the loop ended by itself; nothing comes if its thread is stuck.
    ended: mpsc::Receiver<bool>,
}

impl Loop {
    fn start() -> Loop {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let over = Arc::new(AtomicUsize::new(0));
        let told = Arc::clone(&over);
        let (ended_tx, ended) = mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let local = tokio::task::LocalSet::new();
            let serve = serve_local(
                receiver,
                1,
                Duration::ZERO,
                None,
                OnFinished::anywhere(move |count| {
                    told.fetch_add(count, Ordering::SeqCst);
                }),
            );
            let ended = runtime
                .block_on(local.run_until(async { tokio::time::timeout(DEADLINE, serve).await }))
                .is_ok();
            let _ = ended_tx.send(ended);
        });
        Loop {
            sender,
            over,
            ended,
        }
    }

    fn run(&self, id: u64, future: impl Future<Output = ()> + Send + 'static) {
        let job = LocalJob::Async(Box::new(move || Task::Send(Box::pin(future))));
        self.sender
            .send(LocalMessage::Run(WorkId(id), job))
            .unwrap();
    }

    /// Runs a work that waits for the returned sender (or its drop), watched by the
    /// returned probe, then calls `after`.
    fn run_pending(
        &self,
        id: u64,
        after: impl FnOnce() + Send + 'static,
    ) -> (oneshot::Sender<()>, Probe) {
        let (wake, woken) = oneshot::channel::<()>();
        let (work, probe) = watched(woken);
        self.run(id, async move {
            let _ = work.await;
            after();
        });
        (wake, probe)
    }

    /// Drains and waits for the loop to end; fails if it did not end by itself in time.
    fn drain(self) -> usize {
        self.sender
            .send(LocalMessage::Close(CloseMode::Drain))
            .unwrap();
        assert_eq!(
            self.ended.recv_timeout(DEADLINE),
            Ok(true),
            "the loop ended by itself within the deadline"
        );
        self.over.load(Ordering::SeqCst)
    }
}

/// Counts its polls; says when it is dropped.
struct Watched<F> {
    polls: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
    inner: F,
}

impl<F: Future + Unpin> Future for Watched<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        Pin::new(&mut self.inner).poll(cx)
    }
}

impl<F> Drop for Watched<F> {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

struct Probe {
    polls: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
}

fn watched<F>(inner: F) -> (Watched<F>, Probe) {
    let polls = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicBool::new(false));
    let probe = Probe {
        polls: Arc::clone(&polls),
        dropped: Arc::clone(&dropped),
    };
    (
        Watched {
            polls,
            dropped,
            inner,
        },
        probe,
    )
}

/// Waits, under the deadline, until `done` holds.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting until {what}");
        std::thread::yield_now();
    }
}

/// Works waiting for their wakers, each sending its id when done.
struct Waiting {
    pool: Loop,
    wakers: Vec<oneshot::Sender<()>>,
    probes: Vec<Probe>,
    done: mpsc::Receiver<u64>,
}

/// Starts `works` works, each pending until its waker sends, and waits for their first
/// polls.
fn waiting(works: u64) -> Waiting {
    let pool = Loop::start();
    let (done_tx, done) = mpsc::channel();
    let mut wakers = Vec::new();
    let mut probes = Vec::new();
    for id in 0..works {
        let done_tx = done_tx.clone();
        let (wake, probe) = pool.run_pending(id, move || done_tx.send(id).unwrap());
        wakers.push(wake);
        probes.push(probe);
    }
    wait_until("every work had its first poll", || {
        probes.iter().all(|p| p.polls.load(Ordering::SeqCst) == 1)
    });
    Waiting {
        pool,
        wakers,
        probes,
        done,
    }
}

impl Waiting {
    /// Every work was polled twice, its first poll and one when woken, and dropped.
    fn assert_polled_twice_and_drained(self) {
        for (id, probe) in self.probes.iter().enumerate() {
            assert_eq!(
                probe.polls.load(Ordering::SeqCst),
                2,
                "work {id}: its first poll, then one when woken"
            );
            assert!(probe.dropped.load(Ordering::SeqCst));
        }
        let works = self.probes.len();
        assert_eq!(self.pool.drain(), works);
    }
}

#[test]
fn a_pending_work_is_polled_again_only_when_woken() {
    let mut waiting = waiting(300);
    // Woken in reverse order, one by one.
    for (id, wake) in std::mem::take(&mut waiting.wakers)
        .into_iter()
        .enumerate()
        .rev()
    {
        wake.send(()).unwrap();
        assert_eq!(waiting.done.recv_timeout(DEADLINE), Ok(id as u64));
    }
    waiting.assert_polled_twice_and_drained();
}

#[test]
fn works_woken_together_are_polled_once_each_within_tokio_budget() {
    // More than tokio's budget of 128 per poll of a task: a pass that polled past it
    // would find the rest's receivers refusing, and poll each of those once more.
    let mut waiting = waiting(1_000);
    for wake in std::mem::take(&mut waiting.wakers) {
        wake.send(()).unwrap();
    }
    let mut done: Vec<u64> = (0..1_000)
        .map(|_| waiting.done.recv_timeout(DEADLINE).unwrap())
        .collect();
    done.sort_unstable();
    assert_eq!(done, (0..1_000).collect::<Vec<_>>());
    waiting.assert_polled_twice_and_drained();
}

#[test]
fn cancelling_a_pending_work_drops_its_future_alone() {
    let pool = Loop::start();
    let (wakers, probes): (Vec<_>, Vec<_>) = (0..3).map(|id| pool.run_pending(id, || {})).unzip();
    wait_until("every work had its first poll", || {
        probes.iter().all(|p| p.polls.load(Ordering::SeqCst) == 1)
    });
    pool.sender.send(LocalMessage::Cancel(WorkId(1))).unwrap();
    wait_until("the cancelled work is dropped", || {
        probes[1].dropped.load(Ordering::SeqCst)
    });
    wait_until("the cancelled work is told over", || {
        pool.over.load(Ordering::SeqCst) == 1
    });
    assert!(!probes[0].dropped.load(Ordering::SeqCst));
    assert!(!probes[2].dropped.load(Ordering::SeqCst));
    for wake in wakers {
        let _ = wake.send(());
    }
    assert_eq!(pool.drain(), 3);
    assert!(probes.iter().all(|p| p.dropped.load(Ordering::SeqCst)));
}

#[test]
fn a_panic_out_of_a_pending_work_ends_that_work_alone() {
    let pool = Loop::start();
    // Not wrapped in `catch_async`, as a job would be: the panic reaches the loop.
    let (panics, panicking_probe) = pool.run_pending(1, || panic!("slipped out of its job"));
    let (done_tx, done) = mpsc::channel();
    let (finishes, finishing_probe) =
        pool.run_pending(2, move || done_tx.send("finished").unwrap());
    wait_until("both works had their first poll", || {
        panicking_probe.polls.load(Ordering::SeqCst) == 1
            && finishing_probe.polls.load(Ordering::SeqCst) == 1
    });
    panics.send(()).unwrap();
    wait_until("the panicking work is dropped and told over", || {
        panicking_probe.dropped.load(Ordering::SeqCst) && pool.over.load(Ordering::SeqCst) == 1
    });
    assert!(!finishing_probe.dropped.load(Ordering::SeqCst));
    finishes.send(()).unwrap();
    assert_eq!(done.recv_timeout(DEADLINE), Ok("finished"));
    assert_eq!(pool.drain(), 2);
}

/// Panics when dropped, as a work's state might.
struct PanicsWhenDropped;

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        panic!("a work's state panicked when it was dropped");
    }
}

#[test]
fn cancelling_a_work_whose_future_panics_when_dropped_leaves_the_loop_serving() {
    let pool = Loop::start();
    let state = PanicsWhenDropped;
    let (wake, probe) = pool.run_pending(1, move || drop(state));
    wait_until("the work had its first poll", || {
        probe.polls.load(Ordering::SeqCst) == 1
    });
    pool.sender.send(LocalMessage::Cancel(WorkId(1))).unwrap();
    wait_until("the cancelled work is told over", || {
        pool.over.load(Ordering::SeqCst) == 1
    });
    assert!(probe.dropped.load(Ordering::SeqCst));
    drop(wake);
    let (done_tx, done) = mpsc::channel();
    pool.run(2, async move { done_tx.send("served").unwrap() });
    assert_eq!(done.recv_timeout(DEADLINE), Ok("served"));
    assert_eq!(pool.drain(), 2);
}

#[test]
fn a_work_that_is_always_ready_does_not_keep_the_loop_from_its_messages() {
    let pool = Loop::start();
    let other_ran = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicUsize::new(0));
    {
        let other_ran = Arc::clone(&other_ran);
        let rounds = Arc::clone(&rounds);
        // Wakes itself at every poll: it is always ready to be polled again.
        pool.run(1, async move {
            while !other_ran.load(Ordering::SeqCst) {
                WakeSelf(false).await;
                rounds.fetch_add(1, Ordering::SeqCst);
            }
        });
    }
    // Past its first poll: the work now runs in the group's task.
    wait_until("the busy work is well under way", || {
        rounds.load(Ordering::SeqCst) > 10_000
    });
    {
        let other_ran = Arc::clone(&other_ran);
        pool.run(2, async move { other_ran.store(true, Ordering::SeqCst) });
    }
    // Fails by the loop's deadline if the busy work never lets the loop take `Run(2)`.
    assert_eq!(pool.drain(), 2);
    assert!(other_ran.load(Ordering::SeqCst));
}

/// Pending once, having woken its own waker; ready at the next poll.
struct WakeSelf(bool);

impl Future for WakeSelf {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn a_burst_of_pending_works_lets_the_runtime_turn_between_batches() {
    let pool = Loop::start();
    let works = 1_000;
    let began = Arc::new(AtomicUsize::new(0));
    // How many of the burst had begun when another task got a turn (none yet: MAX).
    let began_at_turn = Arc::new(AtomicUsize::new(usize::MAX));
    let (burst_queued_tx, burst_queued) = mpsc::channel::<()>();
    {
        let (began, began_at_turn) = (Arc::clone(&began), Arc::clone(&began_at_turn));
        // Holds the loop in its first batch until the whole burst is queued behind it,
        // having spawned a task that runs only once the runtime gets a turn.
        pool.run(0, async move {
            tokio::task::spawn_local(async move {
                began_at_turn.store(began.load(Ordering::SeqCst), Ordering::SeqCst);
            });
            burst_queued.recv_timeout(DEADLINE).unwrap();
        });
    }
    let wakers: Vec<_> = (1..=works)
        .map(|id| {
            let (wake, woken) = oneshot::channel::<()>();
            let began = Arc::clone(&began);
            pool.run(id, async move {
                began.fetch_add(1, Ordering::SeqCst);
                let _ = woken.await;
            });
            wake
        })
        .collect();
    burst_queued_tx.send(()).unwrap();
    wait_until("every work of the burst had its first poll", || {
        began.load(Ordering::SeqCst) == works as usize
    });
    drop(wakers);
    assert_eq!(pool.drain(), works as usize + 1);
    // Taken 256 at a time, the burst spans four batches; within tokio's budget a loop
    // that never yields would take them all before any other task ran.
    let at_turn = began_at_turn.load(Ordering::SeqCst);
    assert!(
        at_turn < works as usize,
        "another task first ran with {at_turn} of {works} works begun"
    );
}
