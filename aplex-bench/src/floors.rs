//! Floors: the least a pool of aplex's shape does for a case, built bare and measured in
//! the same run against the same limit. Where a target asks for a ratio to the limit
//! that even the floor does not reach, no pool of that shape reaches it; the figures are
//! informational (no target of their own).
//!
//! - [`TaskPerItem`]: two threads, each driving a current-thread runtime, given one item
//!   per message and running each item as a task of its own (`spawn_local`) that answers
//!   on a oneshot — a thread map at chunksize 1 without balancing, window, ordering,
//!   cancelling or outcome counts.
//! - [`HandedOff`]: the ipc echo child, its answers read by a thread of the parent and
//!   handed to the caller through a channel — the round trip of any pool whose caller
//!   does not read the worker's socket itself (several callers share one socket).
//! - [`CallerReads`]: the ipc echo child, its answers read by the caller itself while it
//!   polls, as a waiting `result()` reads a lone work's reply (since the eleventh
//!   session) — the round trip of a pool of one whose caller reads the socket.
//! - [`start_children`]: as many echo children as a pool has workers, spawned at once and
//!   each handshaken, then one round trip — the start of a pool of processes and its
//!   first work, without settings, state or supervision.

use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use ipc_channel::ipc;
use tokio::sync::{mpsc, oneshot};

use crate::raw::{answered_rate, EchoChild, EchoMessage, SpawnedEcho};

type Request = (u64, oneshot::Sender<u64>);

/// How long a caller polls before it blocks, as aplex's blocking waits (`wait.rs`).
const SPIN: Duration = Duration::from_micros(50);

/// Threads that run every item as a task of its own.
pub(crate) struct TaskPerItem {
    workers: Vec<mpsc::UnboundedSender<Request>>,
}

impl TaskPerItem {
    /// `workers` threads, each driving its own current-thread runtime.
    pub(crate) fn start(workers: usize) -> TaskPerItem {
        let workers = (0..workers)
            .map(|_| {
                let (sender, mut requests) = mpsc::unbounded_channel::<Request>();
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .expect("runtime");
                    let local = tokio::task::LocalSet::new();
                    local.block_on(&runtime, async move {
                        while let Some((x, reply)) = requests.recv().await {
                            tokio::task::spawn_local(async move {
                                let _ = reply.send(x);
                            });
                        }
                    });
                });
                sender
            })
            .collect();
        TaskPerItem { workers }
    }

    /// Items per second, dealt round-robin one per message, all in flight at once.
    pub(crate) fn throughput(&self, items: usize) -> f64 {
        answered_rate(items, items, |x, reply| {
            let worker = &self.workers[x as usize % self.workers.len()];
            worker.send((x, reply)).expect("send");
        })
    }
}

/// The echo child with a reader thread between its socket and the caller.
pub(crate) struct HandedOff {
    child: EchoChild,
    answers: std_mpsc::Receiver<u64>,
}

impl HandedOff {
    /// Starts an echo child and the parent's reader thread for its answers.
    pub(crate) fn start() -> HandedOff {
        let (mut child, _) = EchoChild::start();
        // The reader thread takes the child's answering end; the child keeps an unused one.
        let (_, unused) = ipc::channel::<EchoMessage>().expect("channel");
        let from_child = std::mem::replace(&mut child.from_child, unused);
        let (hand, answers) = std_mpsc::channel();
        std::thread::spawn(move || {
            while let Ok(EchoMessage::One(x)) = from_child.recv() {
                if hand.send(x).is_err() {
                    break;
                }
            }
        });
        HandedOff { child, answers }
    }

    /// One round trip: sent by the caller, answered through the reader thread. The
    /// caller waits as aplex's `result()` does: it polls and yields for up to 50 µs,
    /// then blocks.
    pub(crate) fn round_trip(&self, x: u64) -> u64 {
        self.child.to_child.send(EchoMessage::One(x)).expect("send");
        let spin_until = Instant::now() + SPIN;
        while Instant::now() < spin_until {
            match self.answers.try_recv() {
                Ok(answer) => return answer,
                Err(_) => std::thread::yield_now(),
            }
        }
        self.answers.recv().expect("answer")
    }
}

/// The echo child whose answers the caller reads itself.
pub(crate) struct CallerReads {
    child: EchoChild,
}

impl CallerReads {
    /// Starts an echo child.
    pub(crate) fn start() -> CallerReads {
        CallerReads {
            child: EchoChild::start().0,
        }
    }

    /// One round trip: sent by the caller, which then looks for the answer on the
    /// socket, yielding between looks, for up to 50 µs before it blocks in a receive.
    pub(crate) fn round_trip(&self, x: u64) -> u64 {
        self.child.to_child.send(EchoMessage::One(x)).expect("send");
        let spin_until = Instant::now() + SPIN;
        let answer = loop {
            if let Ok(answer) = self.child.from_child.try_recv() {
                break answer;
            }
            if Instant::now() >= spin_until {
                break self.child.from_child.recv().expect("answer");
            }
            std::thread::yield_now();
        };
        match answer {
            EchoMessage::One(x) => x,
            _ => unreachable!("the echo child sends back what it gets"),
        }
    }
}

/// Seconds to spawn `count` echo children at once, complete each handshake and run one
/// round trip with the first.
pub(crate) fn start_children(count: usize) -> f64 {
    let started = Instant::now();
    let spawned: Vec<SpawnedEcho> = (0..count).map(|_| EchoChild::spawn()).collect();
    let children: Vec<EchoChild> = spawned.into_iter().map(SpawnedEcho::handshake).collect();
    children[0].round_trip(EchoMessage::One(1));
    let elapsed = started.elapsed().as_secs_f64();
    drop(children);
    elapsed
}
