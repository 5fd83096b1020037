//! [`Reader`]: where the parent's frames go — a message's works to the work loop
//! together (its async works as registry calls, its blocking works as local jobs);
//! cancels and closes after the works before them; regions released here — held by
//! whichever thread reads them (`intake.rs`).

use std::sync::Arc;

use aplex_core::backend::local::{catch_blocking, AsyncCall, BlockingJob, LocalJob, LocalMessage};
use aplex_core::backend::{CloseMode, WorkId};
use aplex_core::registry::wire_error::WireError;
use aplex_core::registry::{registry, Args, Trampoline};
use tokio::sync::mpsc::UnboundedSender;

use crate::child::reply::Replies;
use crate::protocol::payload::Payload;
use crate::protocol::regions::{Borrowings, Lender};
use crate::protocol::wire::DownFrame;

/// Where the parent's frames go: the works, the replies and the shared regions. Held by
/// whichever thread reads them (`intake.rs`).
pub(crate) struct Reader {
    work_loop: UnboundedSender<LocalMessage>,
    replies: Arc<Replies>,
    /// Our regions for replies, released by the parent.
    lender: Arc<Lender>,
    /// The parent's regions of arguments, read in place.
    borrowings: Borrowings,
}

impl Reader {
    /// Hands works to `work_loop` and answers them through `replies`, with this process's
    /// regions for replies in `lender` and the parent's for arguments in `borrowings`.
    pub(crate) fn new(
        work_loop: UnboundedSender<LocalMessage>,
        replies: Arc<Replies>,
        lender: Arc<Lender>,
        borrowings: Borrowings,
    ) -> Reader {
        Reader {
            work_loop,
            replies,
            lender,
            borrowings,
        }
    }

    /// How many works given a reply are not answered yet.
    pub(crate) fn alive(&self) -> usize {
        self.replies.alive()
    }

    /// Hands a message's frames from the parent to where they go, in order: its works to
    /// the work loop together (one wake-up of the runtime thread, where a message of 150
    /// works had woken it up to 150 times as it kept pace), anything else after the works
    /// before it.
    pub(crate) fn deliver(&self, mut frames: Vec<DownFrame>) {
        if frames.len() == 1 {
            // A lone submit's message: its work goes as it is.
            if let Some(delivery) = frames.pop().and_then(|frame| self.delivery(frame)) {
                let _ = self.work_loop.send(match delivery {
                    Delivery::Call(id, call) => LocalMessage::Calls(vec![(id, call)]),
                    Delivery::Job(id, job) => LocalMessage::Run(id, job),
                    Delivery::Other(message) => message,
                });
            }
            return;
        }
        let count = frames.len();
        let mut works = Works::default();
        let mut reserved = false;
        for (index, frame) in frames.into_iter().enumerate() {
            match self.delivery(frame) {
                Some(Delivery::Call(id, call)) => {
                    works.send_jobs(&self.work_loop);
                    if !reserved {
                        // One `Vec` for the message's calls, sized for the rest of it.
                        reserved = true;
                        works.calls.reserve_exact(count - index);
                    }
                    works.calls.push((id, call));
                }
                Some(Delivery::Job(id, job)) => {
                    works.send_calls(&self.work_loop);
                    works.jobs.push((id, job));
                }
                Some(Delivery::Other(message)) => {
                    works.send_calls(&self.work_loop);
                    works.send_jobs(&self.work_loop);
                    let _ = self.work_loop.send(message);
                }
                None => {}
            }
        }
        works.send_calls(&self.work_loop);
        works.send_jobs(&self.work_loop);
    }

    /// Where one frame from the parent goes, if anywhere (a region's release, a `Run`
    /// answered at once, are dealt with here).
    fn delivery(&self, frame: DownFrame) -> Option<Delivery> {
        let message = match frame {
            DownFrame::Run {
                id,
                work,
                args,
                report_begin,
            } => {
                let args = match self.borrowings.take(args) {
                    Ok(args) => args,
                    Err(message) => {
                        self.replies.reply(id).send(Err(WireError::Serialization {
                            work: format!("work number {work}"),
                            what: "arguments".into(),
                            direction: "decode".into(),
                            message,
                        }));
                        return None;
                    }
                };
                return run_delivery(work, args, id, &self.replies, report_begin);
            }
            DownFrame::Cancel { id } => LocalMessage::Cancel(WorkId(id)),
            DownFrame::Close { abort } => LocalMessage::Close(if abort {
                CloseMode::Abort
            } else {
                CloseMode::Drain
            }),
            DownFrame::Release { region } => {
                self.lender.release(region);
                return None;
            }
            DownFrame::Start(_) => return None,
        };
        Some(Delivery::Other(message))
    }
}

/// Where a frame from the parent goes.
enum Delivery {
    /// An async work, called by its registry entry on the loop's thread.
    Call(WorkId, AsyncCall),
    /// A blocking work.
    Job(WorkId, LocalJob),
    /// Anything else for the loop.
    Other(LocalMessage),
}

/// A message's works gathered for the loop: a run of async works' calls or of blocking
/// works' jobs (one of them empty at a time, so works start in the message's order),
/// sent before anything after them.
#[derive(Default)]
struct Works {
    calls: Vec<(WorkId, AsyncCall)>,
    jobs: Vec<(WorkId, LocalJob)>,
}

impl Works {
    fn send_calls(&mut self, work_loop: &UnboundedSender<LocalMessage>) {
        if !self.calls.is_empty() {
            let _ = work_loop.send(LocalMessage::Calls(std::mem::take(&mut self.calls)));
        }
    }

    /// A lone job as a `Run`, more as a batch.
    fn send_jobs(&mut self, work_loop: &UnboundedSender<LocalMessage>) {
        let message = match self.jobs.len() {
            0 => return,
            1 => self.jobs.pop().map(|(id, job)| LocalMessage::Run(id, job)),
            _ => Some(LocalMessage::RunBatch(std::mem::take(&mut self.jobs))),
        };
        if let Some(message) = message {
            let _ = work_loop.send(message);
        }
    }
}

/// Where `Run` of work `id` goes: an async work's call, a blocking work's job; answers at
/// once (and gives nothing) for an unknown work. An async work's trampoline sends its
/// answer itself, from inside its future. A blocking job says when it begins if
/// `report_begin`, and sends its reply from its blocking thread (no hop back to the
/// runtime thread).
fn run_delivery(
    work: u32,
    args: Payload,
    id: u64,
    replies: &Arc<Replies>,
    report_begin: bool,
) -> Option<Delivery> {
    // Bytes that came inside the frame move into the `Args` as they are (a tiny work's
    // inline: no allocation); a region is read in place.
    let args = match args {
        Payload::Inline(bytes) => Args::from(bytes),
        args => Args::new(args),
    };
    let Some((_, trampoline)) = registry().get(work) else {
        replies
            .reply(id)
            .send(Err(WireError::UnknownWork(format!("work number {work}"))));
        return None;
    };
    Some(match trampoline {
        Trampoline::Async(run) => {
            Delivery::Call(WorkId(id), AsyncCall::new(run, args, replies.answer_of(id)))
        }
        Trampoline::State(_) => {
            replies.reply(id).send(Err(WireError::UnknownWork(format!(
                "work number {work} makes worker state; it is not a work"
            ))));
            return None;
        }
        Trampoline::Blocking(run) => {
            let reply = replies.reply(id);
            let job = LocalJob::Blocking(BlockingJob::new(
                move || {
                    if report_begin {
                        reply.began();
                    }
                    let outcome = catch_blocking(|| run(args)).and_then(|inner| inner);
                    reply.send_encoded(outcome);
                },
                |()| {},
            ));
            Delivery::Job(WorkId(id), job)
        }
    })
}

#[cfg(test)]
// `#[aplex::work]` registers through linkme, whose statics use `link_section`; that is
// the reviewed registry mechanism (registry.rs), not new unsafe code.
#[allow(unsafe_code)]
mod bad_input {
    //! The child's decoding path fed malformed, truncated and random frames: every `Run`
    //! gets an error reply, never a panic or a hang. A deterministic property test (a
    //! fixed-seed xorshift generator), so a failure replays exactly.

    use ipc_channel::ipc;

    use super::{run_delivery, Delivery};
    use crate::child::reply::Replies;
    use crate::protocol::batch_writer::batch_writer;
    use crate::protocol::payload::Payload;
    use crate::protocol::regions::Lender;
    use crate::protocol::wire::UpFrame;
    use aplex_core::backend::local::LocalJob;
    use aplex_core::registry::framed::encode_each;
    use aplex_core::registry::registry;
    use aplex_core::registry::wire_error::WireError;
    use serde_bytes::ByteBuf;

    #[crate::work]
    async fn add_async((a, b): (u64, u64)) -> u64 {
        a.wrapping_add(b)
    }

    #[crate::work]
    fn greet(name: String) -> String {
        format!("hello {name}")
    }

    struct Xorshift(u64);

    impl Xorshift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn bytes(&mut self, max_len: usize) -> Vec<u8> {
            let len = (self.next() % (max_len as u64 + 1)) as usize;
            (0..len).map(|_| self.next() as u8).collect()
        }
    }

    /// Runs a `Run` frame through the child's path; returns its one reply.
    /// The outcome the one reply to a `Run` carries.
    fn run(work: u32, args: Vec<u8>) -> Result<Payload, WireError> {
        let (up, replies_from_child) = ipc::channel::<Vec<UpFrame>>().unwrap();
        let (reply_writer, writer) = batch_writer(up, Lender::new(usize::MAX));
        let replies = Replies::new(reply_writer);
        let writer = std::thread::spawn(move || writer.run(None));
        match run_delivery(work, Payload::new(ByteBuf::from(args)), 1, &replies, false) {
            Some(Delivery::Job(_, LocalJob::Blocking(run))) => run.run_here(),
            Some(Delivery::Call(_, call)) => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                runtime.block_on(call.into_task().into_local());
            }
            Some(_) => panic!("a `Run` is a work's call or job"),
            None => {}
        }
        replies.flush();
        drop(replies);
        writer.join().unwrap();
        let mut frames: Vec<UpFrame> = std::iter::from_fn(|| replies_from_child.try_recv().ok())
            .flatten()
            .collect();
        assert_eq!(frames.len(), 1, "exactly one reply per Run");
        match frames.pop().unwrap() {
            UpFrame::Done { id: 1, outcome } => outcome.map_err(|error| *error),
            other => panic!("expected the reply to work 1, got {other:?}"),
        }
    }

    /// The registry index of the work whose name ends with `name_suffix`.
    pub(super) fn index_of(name_suffix: &str) -> u32 {
        let registry = registry();
        (0..u32::MAX)
            .find(|&index| {
                registry
                    .get(index)
                    .is_some_and(|(name, _)| name.ends_with(name_suffix))
            })
            .expect("registered")
    }

    #[test]
    fn random_and_truncated_arguments_give_error_replies() {
        let works = [index_of("add_async"), index_of("greet")];
        let mut random = Xorshift(0x5eed_1234_abcd_9876);
        let valid = [
            encode_each([(1u64, 2u64), (3, 4)], "add_async", "arguments")
                .0
                .into_vec(),
            encode_each([String::from("ada")], "greet", "arguments")
                .0
                .into_vec(),
        ];
        for round in 0..20_000usize {
            let which = round % 2;
            let args = if round.is_multiple_of(3) {
                let cut = (random.next() as usize) % valid[which].len();
                valid[which][..cut].to_vec()
            } else {
                random.bytes(48)
            };
            if let Err(error) = run(works[which], args) {
                assert!(
                    matches!(error, WireError::Serialization { .. }),
                    "round {round}: a bad argument must be a serialisation error, got {error:?}"
                );
            }
        }
        let good = run(works[0], valid[0].clone());
        assert!(good.is_ok(), "valid arguments still work: {good:?}");
    }

    #[test]
    fn unknown_work_numbers_give_unknown_work_replies() {
        let mut random = Xorshift(42);
        for _ in 0..1_000 {
            let work = (random.next() as u32) | 0x8000_0000;
            let reply = run(work, random.bytes(16));
            assert!(matches!(reply, Err(WireError::UnknownWork(_))), "{reply:?}");
        }
    }
}

#[cfg(test)]
// `#[aplex::work]` registers through linkme, whose statics use `link_section`; that is
// the reviewed registry mechanism (registry.rs), not new unsafe code.
#[allow(unsafe_code)]
mod delivery {
    use std::sync::Arc;

    use ipc_channel::ipc;

    use super::Reader;
    use crate::child::reply::Replies;
    use crate::protocol::batch_writer::batch_writer;
    use crate::protocol::payload::Payload;
    use crate::protocol::regions::{Borrowings, Lender};
    use crate::protocol::wire::{DownFrame, UpFrame};
    use aplex_core::backend::local::LocalMessage;
    use aplex_core::backend::WorkId;
    use aplex_core::registry::framed::encode_each;

    #[crate::work]
    async fn delivered_double(x: u64) -> u64 {
        x * 2
    }

    #[crate::work]
    fn delivered_triple(x: u64) -> u64 {
        x * 3
    }

    /// A `Run` of the async work (`async_work`) or of the blocking one.
    fn run(id: u64, async_work: bool) -> DownFrame {
        let name = if async_work {
            "delivered_double"
        } else {
            "delivered_triple"
        };
        let args = encode_each([id], name, "arguments").0;
        DownFrame::Run {
            id,
            work: super::bad_input::index_of(name),
            args: Payload::new(args),
            report_begin: false,
        }
    }

    #[test]
    fn a_messages_works_reach_the_loop_together_and_in_order_with_the_rest() {
        // A message's async works go as batches of calls, its blocking works as batches
        // of jobs (a lone one as it is), in the message's order, before what follows.
        let (work_loop, mut received) = tokio::sync::mpsc::unbounded_channel();
        let (up, _parent) = ipc::channel::<Vec<UpFrame>>().unwrap();
        let (writer, _writer_thread) = batch_writer(up, Lender::new(usize::MAX));
        let reader = Reader::new(
            work_loop,
            Replies::new(writer),
            Lender::new(usize::MAX),
            Borrowings::new(Arc::new(|_| {})),
        );
        reader.deliver(vec![
            run(1, true),
            run(2, true),
            run(3, false),
            run(4, false),
            DownFrame::Cancel { id: 1 },
            run(5, true),
            run(6, false),
        ]);
        reader.deliver(vec![run(7, true)]);
        reader.deliver(vec![run(8, false)]);
        reader.deliver(vec![
            run(9, false),
            run(10, true),
            run(11, true),
            run(12, false),
        ]);
        let mut seen = Vec::new();
        while let Ok(message) = received.try_recv() {
            seen.push(match message {
                LocalMessage::Calls(calls) => {
                    let ids: Vec<u64> = calls.iter().map(|(WorkId(id), _)| *id).collect();
                    format!("calls {ids:?}")
                }
                LocalMessage::RunBatch(jobs) => {
                    let ids: Vec<u64> = jobs.iter().map(|(WorkId(id), _)| *id).collect();
                    format!("jobs {ids:?}")
                }
                LocalMessage::Run(WorkId(id), _) => format!("job {id}"),
                LocalMessage::Cancel(WorkId(id)) => format!("cancel {id}"),
                other => format!("{other:?}"),
            });
        }
        assert_eq!(
            seen,
            [
                "calls [1, 2]",
                "jobs [3, 4]",
                "cancel 1",
                "calls [5]",
                "job 6",
                "calls [7]",
                "job 8",
                "job 9",
                "calls [10, 11]",
                "job 12"
            ]
        );
    }
}
