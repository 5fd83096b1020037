//! The worker process's intake: who reads the parent's frames — the runtime's own thread
//! while this process is idle, a reader thread while frames stream in.
//!
//! A frame read by a reader thread reaches the works through a second wake-up (of the
//! runtime thread), the costly kind on a VM whose idle vCPUs halt: a lone round trip
//! measured 100–150 µs so, 30–45 µs with the runtime thread reading the socket itself.
//! But streams ran slower with the runtime thread reading (100,000 sleepers ~20 %), with
//! the CPUs idle a fifth of the time against a tenth: most likely the kernel's wake-up of
//! a socket's reader on the sender's CPU crowded the runtime onto the parent's busy CPU
//! while the other idled. So the reading moves with the load:
//!
//! 1. Whoever reads holds the [`Inbound`] (the receiver and where frames go); only its
//!    holder reads, so frames are delivered in the order they were sent.
//! 2. The intake task, on the runtime thread, waits for the socket to be readable
//!    (`watched_socket.rs`) and drains it with non-blocking receives (plain messages into
//!    one reused buffer, `plain_recv.rs`; every message fits one `sendmsg`, so none waits
//!    for the rest of one). It yields after [`FAIR_SHARE`] messages in a row.
//! 3. A message that finds works still alive here is part of a stream: the intake
//!    delivers it and hands the `Inbound` to the reader thread (started then, the first
//!    time: a process starts without waiting for it), which reads with blocking
//!    receives and hands it back once no work is alive (looking at least every
//!    [`LOOK_BACK`], and, while nothing comes, less and less often, down to every
//!    [`LOOK_BACK_MOST`]: a process of long works does not wake it a thousand times a
//!    second). Meanwhile the reactor does not watch the socket (each message would wake
//!    the runtime thread for nothing); watched again, data that came is reported at once.
//! 4. When the intake task ends (the runtime stops), even before its first poll, the
//!    reader thread takes the `Inbound` for good, and so keeps the socket open until the
//!    process exits: the parent's last frames find an open socket. A hand-back racing
//!    that end is refused under the [`Mailbox`]'s lock, so the `Inbound` is never lost
//!    between the two. If the socket cannot be watched at all, the reader thread reads
//!    from the start.
//!
//! When the parent's end closes (the parent is gone) the process exits; a message that
//! cannot be decoded ends it with status 70.

use std::process;
use std::sync::{mpsc, Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use ipc_channel::ipc::IpcReceiver;
use tokio::io::unix::AsyncFd;
use tokio::sync::Notify;
use tokio::task::LocalSet;

use crate::child::reader::Reader;
use crate::child::serve::EXIT_NO_PARENT;
use crate::child::watched_socket::{rewatch, watch, Socket};
use crate::protocol::plain_recv::{received, Broken, PlainReceiver};
use crate::protocol::socket_of::socket_of;
use crate::protocol::wire::DownFrame;

/// The most messages read in a row before the intake lets the works run.
const FAIR_SHARE: usize = 64;

/// How soon a reader thread with nothing to read first looks whether to hand reading
/// back; each look that finds works still alive and nothing to read doubles the wait.
const LOOK_BACK: Duration = Duration::from_millis(1);

/// The longest wait between two such looks.
const LOOK_BACK_MOST: Duration = Duration::from_millis(64);

/// Everything needed to read the parent's frames and deliver them; held by whoever reads.
pub(crate) struct Inbound {
    down: IpcReceiver<Vec<DownFrame>>,
    reader: Reader,
}

impl Inbound {
    /// The next message if one is there, without waiting: a plain one through `plain`
    /// (`down`'s socket), any other through ipc-channel.
    fn try_next(&self, plain: &mut PlainReceiver) -> Option<Vec<DownFrame>> {
        plain
            .try_next(&self.down)
            .unwrap_or_else(|broken| failed(broken))
    }

    /// The next message, waiting for it.
    fn next(&self) -> Vec<DownFrame> {
        match self.down.recv() {
            Ok(frames) => frames,
            Err(error) => failed(error.into()),
        }
    }

    /// The next message, waiting at most `timeout`.
    fn next_within(&self, timeout: Duration) -> Option<Vec<DownFrame>> {
        received(self.down.try_recv_timeout(timeout)).unwrap_or_else(|broken| failed(broken))
    }
}

/// Receiving failed: the parent is gone, or (a message that cannot be decoded) this
/// process cannot go on.
fn failed(broken: Broken) -> ! {
    match broken {
        Broken::Undecodable(reason) => unreadable(&reason),
        Broken::Closed => gone(),
    }
}

/// Starts reading `down` into `reader` (see the module docs): the intake task on `local`
/// and the reader thread. Returns whether the runtime thread reads (while idle); must be
/// called within the runtime that drives `local`.
pub(crate) fn start(
    down: IpcReceiver<Vec<DownFrame>>,
    reader: Reader,
    local: &LocalSet,
) -> Result<bool, String> {
    let opaque = down.to_opaque();
    let socket = socket_of(&opaque);
    let inbound = Inbound {
        down: opaque.to(),
        reader,
    };
    let mut thread = ReaderThread {
        to_thread: None,
        mailbox: Arc::new(Mailbox::default()),
    };
    let Some((socket, watched)) = socket.and_then(|socket| Some((socket, watch(socket)?))) else {
        // The thread reads from the start and, the mailbox closed, never hands back.
        thread.mailbox.close();
        return match thread.hand(inbound) {
            Ok(()) => Ok(false),
            Err(_) => Err("cannot start the reader thread".into()),
        };
    };
    // Made here, not in the task: a task dropped before its first poll (a `Close` in the
    // first message) still hands the `Inbound` over.
    let holding = Holding {
        inbound: Some(inbound),
        thread,
    };
    let plain = PlainReceiver::new(socket);
    drop(local.spawn_local(read_on_runtime(watched, plain, holding)));
    Ok(true)
}

/// The reader thread, started the first time it is handed the `Inbound`: a process whose
/// frames never stream does without it, and every process starts without waiting for it
/// (a thread's start took 50–150 µs of a worker's start here).
struct ReaderThread {
    to_thread: Option<mpsc::Sender<Inbound>>,
    mailbox: Arc<Mailbox>,
}

impl ReaderThread {
    /// Hands `inbound` to the reader thread, starting it if need be; hands it back if
    /// the thread cannot be started.
    fn hand(&mut self, inbound: Inbound) -> Result<(), Inbound> {
        let to_thread = match &self.to_thread {
            Some(to_thread) => to_thread,
            None => {
                let (to_thread, thread_gets) = mpsc::channel();
                let mailbox = Arc::clone(&self.mailbox);
                let started = thread::Builder::new()
                    .name("aplex-child-reader".into())
                    .spawn(move || read_on_thread(&thread_gets, &mailbox));
                if started.is_err() {
                    return Err(inbound);
                }
                self.to_thread.insert(to_thread)
            }
        };
        to_thread.send(inbound).map_err(|refused| refused.0)
    }
}

/// Where the reader thread hands the `Inbound` back, unless the intake task is gone.
#[derive(Default)]
struct Mailbox {
    slot: Mutex<Slot>,
    delivered: Notify,
}

/// What the mailbox holds.
#[derive(Default)]
struct Slot {
    inbound: Option<Inbound>,
    /// The intake task is gone: no more hand-backs.
    closed: bool,
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// No more hand-backs: the intake task is gone. Returns an `Inbound` left here.
    fn close(&self) -> Option<Inbound> {
        let mut slot = self.lock();
        slot.closed = true;
        slot.inbound.take()
    }

    fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Hands `inbound` back to the intake task; once that is gone, refuses and returns it.
    fn hand_back(&self, inbound: Inbound) -> Option<Inbound> {
        let mut slot = self.lock();
        if slot.closed {
            return Some(inbound);
        }
        slot.inbound = Some(inbound);
        drop(slot);
        self.delivered.notify_one();
        None
    }

    /// Waits for the reader thread to hand the `Inbound` back.
    async fn taken_back(&self) -> Inbound {
        loop {
            if let Some(inbound) = self.lock().inbound.take() {
                return inbound;
            }
            self.delivered.notified().await;
        }
    }
}

/// The intake task's side of the hand-over: the `Inbound` while it reads, and the
/// reader thread with its mailbox. Dropped (the runtime stopped), it gives the reader
/// thread the `Inbound` for good, wherever it is.
struct Holding {
    inbound: Option<Inbound>,
    thread: ReaderThread,
}

impl Drop for Holding {
    fn drop(&mut self) {
        // Closed first, so the reader thread keeps whatever it holds from now on.
        if let Some(inbound) = self.thread.mailbox.close() {
            self.inbound = Some(inbound);
        }
        if let Some(inbound) = self.inbound.take() {
            // Unless no thread can be started: then the socket closes with it.
            let _ = self.thread.hand(inbound);
        }
    }
}

/// The intake task: reads while the process is idle, hands over while frames stream in.
/// The socket is watched only while this task reads: while the reader thread does, each
/// message would otherwise also wake the runtime thread.
async fn read_on_runtime(watched: AsyncFd<Socket>, mut plain: PlainReceiver, mut holding: Holding) {
    let mut watched = Some(watched);
    loop {
        let Some(socket) = watched.as_ref() else {
            return; // The socket could not be watched again: the reader thread keeps it.
        };
        let Ok(mut ready) = socket.readable().await else {
            gone();
        };
        let Some(inbound) = holding.inbound.as_mut() else {
            return;
        };
        let (mut read, mut streaming) = (0, false);
        while let Some(frames) = inbound.try_next(&mut plain) {
            // A message that finds works still alive is part of a stream.
            streaming = inbound.reader.alive() > 0;
            inbound.reader.deliver(frames);
            read += 1;
            if streaming || read == FAIR_SHARE {
                break;
            }
        }
        if streaming {
            drop(ready);
            if let Some(inbound) = holding.inbound.take() {
                if let Err(refused) = holding.thread.hand(inbound) {
                    // No reader thread: this task goes on reading.
                    holding.inbound = Some(refused);
                    continue;
                }
            }
            let unwatched = watched.take().map(AsyncFd::into_inner);
            holding.inbound = Some(holding.thread.mailbox.taken_back().await);
            // Watched again: data that came meanwhile is reported at once.
            watched = unwatched.and_then(rewatch);
        } else if read < FAIR_SHARE {
            ready.clear_ready();
        } else {
            // Still readable: the next `readable()` returns at once.
            drop(ready);
            tokio::task::yield_now().await;
        }
    }
}

/// The reader thread: reads whenever it holds the `Inbound` and hands it back once the
/// process is idle (no work alive), unless the intake task is gone (then it reads until
/// the process exits).
fn read_on_thread(handed: &mpsc::Receiver<Inbound>, mailbox: &Mailbox) {
    loop {
        let Ok(mut inbound) = handed.recv() else {
            return;
        };
        let mut look_back = LOOK_BACK;
        loop {
            let handing_back = !mailbox.is_closed();
            let frames = if handing_back {
                inbound.next_within(look_back)
            } else {
                Some(inbound.next())
            };
            if let Some(frames) = frames {
                inbound.reader.deliver(frames);
                look_back = LOOK_BACK;
            } else {
                look_back = (look_back * 2).min(LOOK_BACK_MOST);
            }
            if handing_back && inbound.reader.alive() == 0 {
                match mailbox.hand_back(inbound) {
                    None => break,
                    Some(refused) => inbound = refused,
                }
            }
        }
    }
}

/// The parent is gone (its end closed, or its socket failed): nobody wants our results.
fn gone() -> ! {
    process::exit(0)
}

/// A message from the parent could not be decoded: this process cannot go on.
fn unreadable(reason: &str) -> ! {
    eprintln!(
        "aplex worker process {}: a message from the pool could not be read ({reason}); \
         exiting, the pool replaces this process",
        process::id()
    );
    process::exit(EXIT_NO_PARENT)
}
