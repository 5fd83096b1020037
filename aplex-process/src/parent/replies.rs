//! `Replies`: one process's reply channel, read by its slot's supervisor thread, or, for
//! a while, by a caller waiting for the reply to its lone work.
//!
//! A reply read by the supervisor reaches a waiting caller through the supervisor's
//! wake-up, which cost as much as the rest of a lone round trip here (see
//! docs/PERFORMANCE.md); a caller that spins reading the socket itself sees its reply
//! as soon as it comes. So:
//!
//! 1. Whoever reads holds `reading` (the receiver and its reused buffer), and reads
//!    every message there is with non-blocking receives, handing each to the slot: the
//!    order of replies is kept, whoever reads.
//! 2. The supervisor waits in a [`ReplyWatch`] until the socket has something, then
//!    takes `reading` and reads.
//! 3. A slot that sent a lone work from the caller's thread offers this to the caller's
//!    next blocking wait ([`offer_wait_help`](aplex_core::backend::offer_wait_help)).
//!    While that wait spins, [`WaitHelp::help_while`] takes `reading` if it is free,
//!    takes the socket out of the watch (so the reply does not wake the supervisor),
//!    reads, and puts the socket back before the wait parks: what came meanwhile, or the
//!    socket's closing, then wakes the supervisor at once.
//! 4. If the socket cannot be found or watched, the supervisor reads with blocking
//!    receives and nothing is offered.
//! 5. The supervisor also looks at least every second (`reply_watch.rs`), and puts back
//!    a socket a helper could not put back (the kernel out of memory).
//!
//! A reply that cannot be decoded ends the process's service: the process is killed,
//! its works fail with `WorkerCrashed`, and the slot starts another.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError, Weak};

use aplex_core::backend::WaitHelp;
use aplex_core::registry::wire_error::WireError;
use ipc_channel::ipc::IpcReceiver;

use crate::parent::exit_status;
use crate::parent::reply_watch::{ReplyWatch, LOOK_AT_LEAST_EVERY};
use crate::parent::slot::Slot;
use crate::protocol::plain_recv::{received, Broken, PlainReceiver};
use crate::protocol::regions::{Borrowings, Lender};
use crate::protocol::socket_of::socket_of;
use crate::protocol::wire::UpFrame;

/// The reading end, held by whoever reads.
struct Reading {
    receiver: IpcReceiver<Vec<UpFrame>>,
    /// Takes plain messages from the receiver's socket, if it was found.
    plain: Option<PlainReceiver>,
    /// The channel closed, or a reply could not be decoded: nothing more is read.
    ended: bool,
    /// A helper could not put the socket back in the watch.
    unwatched: bool,
}

/// What one look at the socket found.
enum Look {
    /// Nothing is there now.
    Nothing,
    /// Replies were read and handed over.
    Read,
    /// The channel is over (see [`Reading::ended`]).
    Ended,
}

/// Where a process's replies go: its slot (a test's recorder in the unit tests).
pub(crate) trait ReplySink: Send + Sync {
    /// Hands one message's frames over.
    fn complete(&self, frames: Vec<UpFrame>);
    /// Which worker of the pool the process is (for logs).
    fn worker(&self) -> usize;
    /// Kills the process: its replies cannot be read.
    fn kill(&self);
}

impl ReplySink for Slot {
    fn complete(&self, frames: Vec<UpFrame>) {
        Slot::complete(self, frames);
    }

    fn worker(&self) -> usize {
        self.index
    }

    fn kill(&self) {
        if let Some(pid) = self.pid() {
            exit_status::kill(pid);
        }
    }
}

/// One process's replies, and who reads them.
pub(crate) struct Replies {
    sink: Arc<dyn ReplySink>,
    reading: Mutex<Reading>,
    /// What the supervisor waits in; `None`: it blocks in receives instead.
    watch: Option<ReplyWatch>,
    /// Takes back our regions the process has read.
    lender: Arc<Lender>,
    /// The process's regions that outputs are read from in place.
    borrowings: Borrowings,
}

impl Replies {
    /// The replies of a process, arriving on `receiver`, for `sink`.
    pub(crate) fn new(
        sink: Arc<dyn ReplySink>,
        receiver: IpcReceiver<Vec<UpFrame>>,
        lender: Arc<Lender>,
        borrowings: Borrowings,
    ) -> Arc<Replies> {
        let opaque = receiver.to_opaque();
        let socket = socket_of(&opaque);
        let watch = socket.and_then(|socket| ReplyWatch::new(socket).ok());
        let plain = socket.map(PlainReceiver::new);
        Arc::new(Replies {
            sink,
            reading: Mutex::new(Reading {
                receiver: opaque.to(),
                plain,
                ended: false,
                unwatched: false,
            }),
            watch,
            lender,
            borrowings,
        })
    }

    /// What the slot offers its callers' waits: `None` if the socket is not watched.
    pub(crate) fn wait_help(self: &Arc<Self>) -> Option<Weak<dyn WaitHelp>> {
        self.watch.as_ref()?;
        let weak: Weak<dyn WaitHelp> = Arc::downgrade(self) as Weak<Replies>;
        Some(weak)
    }

    /// The supervisor's part: reads replies until the channel is over.
    pub(crate) fn serve(&self) {
        loop {
            let watched = match &self.watch {
                Some(watch) => watch.wait(LOOK_AT_LEAST_EVERY).map(drop),
                None => Ok(()),
            };
            let mut reading = self.lock();
            if reading.unwatched {
                // A helper could not put the socket back in the watch: try again.
                reading.unwatched = self
                    .watch
                    .as_ref()
                    .is_some_and(|watch| watch.watch().is_err());
            }
            if let Err(error) = &watched {
                tracing::error!(%error, worker = self.sink.worker(), "aplex: cannot wait for a worker's replies; reading them without a watch");
            }
            if self.watch.is_none() || watched.is_err() {
                // Blocking receives, `reading` held for good: no caller reads meanwhile.
                while let Look::Read = self.receive_blocking(&mut reading) {}
                return;
            }
            while let Look::Read = self.look(&mut reading) {}
            if reading.ended {
                return;
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Reading> {
        self.reading.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads what is there now, without waiting, and hands it over.
    fn look(&self, reading: &mut Reading) -> Look {
        if reading.ended {
            return Look::Ended;
        }
        let next = match &mut reading.plain {
            Some(plain) => plain.try_next(&reading.receiver),
            None => received(reading.receiver.try_recv()),
        };
        match next {
            Ok(Some(frames)) => {
                self.hand(frames);
                Look::Read
            }
            Ok(None) => Look::Nothing,
            Err(broken) => self.end(reading, broken),
        }
    }

    /// Waits for the next message and hands it over.
    fn receive_blocking(&self, reading: &mut Reading) -> Look {
        match reading.receiver.recv() {
            Ok(frames) => {
                self.hand(frames);
                Look::Read
            }
            Err(error) => self.end(reading, error.into()),
        }
    }

    /// Ends the reading: the channel closed, or a reply could not be decoded, and then
    /// the process is killed so that the slot replaces it.
    fn end(&self, reading: &mut Reading, broken: Broken) -> Look {
        reading.ended = true;
        if let Broken::Undecodable(reason) = broken {
            tracing::error!(worker = self.sink.worker(), %reason, "aplex: a worker's reply could not be decoded; replacing the worker");
            self.sink.kill();
        }
        Look::Ended
    }

    /// Hands one message's frames to the slot, each output read in place from the
    /// process's region (`regions.rs`); releases of our regions go to the lender.
    fn hand(&self, frames: Vec<UpFrame>) {
        let frames = frames
            .into_iter()
            .filter_map(|frame| match frame {
                UpFrame::Release { region } => {
                    self.lender.release(region);
                    None
                }
                UpFrame::Done {
                    id,
                    outcome: Ok(payload),
                } => Some(UpFrame::Done {
                    id,
                    outcome: self.borrowings.take(payload).map_err(|message| {
                        Box::new(WireError::Serialization {
                            work: "a work".into(),
                            what: "output".into(),
                            direction: "decode".into(),
                            message,
                        })
                    }),
                }),
                other => Some(other),
            })
            .collect();
        self.sink.complete(frames);
    }
}

impl WaitHelp for Replies {
    fn help_while(&self, waiting: &mut dyn FnMut() -> bool) -> bool {
        let Some(watch) = &self.watch else {
            return false;
        };
        let mut reading = match self.reading.try_lock() {
            Ok(reading) => reading,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return false,
        };
        if reading.ended || watch.unwatch().is_err() {
            return false;
        }
        loop {
            let look = self.look(&mut reading);
            if matches!(look, Look::Ended) || !waiting() {
                break;
            }
            if matches!(look, Look::Nothing) {
                std::thread::yield_now();
            }
        }
        if let Err(error) = watch.watch() {
            // The kernel out of memory: the supervisor looks anyway at least every
            // `LOOK_AT_LEAST_EVERY`, and tries again.
            tracing::warn!(%error, worker = self.sink.worker(), "aplex: cannot watch a worker's replies again; trying later");
            reading.unwatched = true;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::thread::{self, ThreadId};
    use std::time::{Duration, Instant};

    use aplex_core::backend::WaitHelp;
    use ipc_channel::ipc;

    use super::{Replies, ReplySink};
    use crate::protocol::regions::{Borrowings, Lender};
    use crate::protocol::wire::UpFrame;

    /// Records which thread handed over each `Began` id.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<(u64, ThreadId)>>);

    impl Recorder {
        fn reader_of(&self, id: u64) -> Option<ThreadId> {
            let handed = self.0.lock().unwrap();
            handed.iter().find(|(got, _)| *got == id).map(|(_, by)| *by)
        }

        /// Waits (under a deadline) until `id` was handed over; says by whom.
        fn wait_for(&self, id: u64) -> ThreadId {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Some(by) = self.reader_of(id) {
                    return by;
                }
                assert!(Instant::now() < deadline, "reply {id} was never read");
                thread::yield_now();
            }
        }
    }

    impl ReplySink for Recorder {
        fn complete(&self, frames: Vec<UpFrame>) {
            let by = thread::current().id();
            let mut handed = self.0.lock().unwrap();
            for frame in frames {
                if let UpFrame::Began { id } = frame {
                    handed.push((id, by));
                }
            }
        }

        fn worker(&self) -> usize {
            0
        }

        fn kill(&self) {}
    }

    /// A channel's sending end, and its replies handed to a recorder.
    fn replies_recorded() -> (ipc::IpcSender<Vec<UpFrame>>, Arc<Recorder>, Arc<Replies>) {
        let (sender, receiver) = ipc::channel::<Vec<UpFrame>>().unwrap();
        let recorder = Arc::new(Recorder::default());
        let replies = Replies::new(
            Arc::clone(&recorder) as _,
            receiver,
            Lender::new(usize::MAX),
            Borrowings::new(Arc::new(|_| {})),
        );
        (sender, recorder, replies)
    }

    #[test]
    fn a_waiting_caller_reads_the_reply_itself_and_the_supervisor_reads_the_rest() {
        let (sender, recorder, replies) = replies_recorded();
        assert!(replies.wait_help().is_some(), "the socket is watched");
        let supervisor = thread::spawn({
            let replies = Arc::clone(&replies);
            move || {
                replies.serve();
                thread::current().id()
            }
        });
        let send = |id| sender.send(vec![UpFrame::Began { id }]).unwrap();
        // Before: the supervisor reads.
        send(1);
        let supervisor_id = recorder.wait_for(1);
        assert_ne!(supervisor_id, thread::current().id());
        // While a caller helps, its reply (sent once the help began) is read by the caller.
        // The supervisor may still hold the reading for a last look after reply 1: the
        // caller cannot help then, and tries again.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut sent = false;
        while !replies.help_while(&mut || {
            if !sent {
                send(2);
                sent = true;
            }
            assert!(Instant::now() < deadline, "reply 2 was never read");
            recorder.reader_of(2).is_none()
        }) {
            assert!(!sent, "a help that began reports that it helped");
            assert!(Instant::now() < deadline, "the reading was never free");
            thread::yield_now();
        }
        assert_eq!(recorder.reader_of(2), Some(thread::current().id()));
        // After: the supervisor reads again.
        send(3);
        assert_eq!(recorder.wait_for(3), supervisor_id);
        drop(sender);
        assert_eq!(
            supervisor.join().unwrap(),
            supervisor_id,
            "the closing ends the service"
        );
        assert!(
            !replies.help_while(&mut || true),
            "nothing to read after the end"
        );
    }

    #[test]
    fn a_reply_waiting_when_the_help_ends_wakes_the_supervisor() {
        let (sender, recorder, replies) = replies_recorded();
        let supervisor = thread::spawn({
            let replies = Arc::clone(&replies);
            move || replies.serve()
        });
        // The helper gives up right after the reply is sent, before reading it. (It tries
        // again if the supervisor's once-a-second look holds the reading.)
        let deadline = Instant::now() + Duration::from_secs(30);
        while !replies.help_while(&mut || {
            sender.send(vec![UpFrame::Began { id: 7 }]).unwrap();
            false
        }) {
            assert!(Instant::now() < deadline, "the reading was never free");
            thread::yield_now();
        }
        assert_ne!(recorder.wait_for(7), thread::current().id());
        drop(sender);
        supervisor.join().unwrap();
    }
}
