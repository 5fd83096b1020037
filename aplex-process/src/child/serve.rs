//! The worker process: handshake with the parent, then run works until closed.
//!
//! 1. Leave SIGINT and SIGTERM to the parent (a terminal's Ctrl-C and an orchestrator's
//!    stop reach the whole process group; the parent decides), ignore SIGPIPE, and ask
//!    to be killed if the parent dies (`signals.rs`).
//! 2. Connect to the parent's one-shot server and send `Hello`: pid, registry digest, and
//!    the child's ends of a fresh channel pair.
//! 3. Build the runtime from the start settings (found in the environment at exec,
//!    `start_at_exec.rs`, or else in the first frame, `Start`), then split into three
//!    threads: a writer (batching every finished outcome into one `send`), the runtime
//!    thread running [`aplex_core::local::serve_local`], and a reader. The parent's
//!    frames, turned into local jobs, are read by the runtime thread while the process
//!    is idle and by the reader while they stream in (`intake.rs`).
//!    `tracing` events go up the same writer, if the parent wants them.
//! 4. Every `Run` gets exactly one reply, even when the work is aborted or never starts: a
//!    reply guard sends `Cancelled` if dropped unsent.
//! 5. On `Close`, the loop ends when its works are over; the writer is flushed and the
//!    process exits 0. If the parent's channel closes (the parent died), exit at once.

use std::process;
use std::sync::Arc;
use std::thread;

use aplex_core::backend::local::{
    catch_async, catch_blocking, serve_local, BlockingJob, LocalJob, LocalMessage, OnFinished, Task,
};
use aplex_core::backend::{ChunkResults, CloseMode, WorkId, WorkerStateValue, WORKER_LINGER};
use ipc_channel::ipc::{self, IpcSender};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::LocalSet;

use crate::child::event_forwarder::EventForwarder;
use crate::child::intake;
use crate::child::reply::{Replies, Reply};
use crate::child::signals;
use crate::child::stack_guard;
use crate::protocol::batch_writer::batch_writer;
use crate::protocol::payload::Payload;
use crate::protocol::regions::{Borrowings, Lender};
use crate::protocol::start_at_exec;
use crate::protocol::wire::{Bootstrap, DownFrame, Hello, StartSettings, UpFrame, STATE_ID};
use aplex_core::registry::outcomes::encode_outcomes;
use aplex_core::registry::wire_error::WireError;
use aplex_core::registry::{registry, Args, AsyncRun, Trampoline};

/// Exit status of a worker that could not start (nobody to talk to, bad protocol).
pub(crate) const EXIT_NO_PARENT: i32 = 70;

/// Becomes a worker for the pool whose one-shot server is `server`; never returns.
/// `start`: its start settings as found in its environment (`start_at_exec.rs`).
pub(crate) fn run(server: String, start: Option<String>) -> ! {
    let outcome = std::panic::catch_unwind(|| serve_parent(&server, start.as_deref()));
    match outcome {
        Ok(Ok(())) => process::exit(0),
        Ok(Err(message)) => {
            eprintln!("aplex worker process {}: {message}", process::id());
            process::exit(EXIT_NO_PARENT)
        }
        Err(_) => process::exit(101),
    }
}

fn serve_parent(server: &str, start: Option<&str>) -> Result<(), String> {
    signals::prepare_worker_process();
    stack_guard::install_handler();
    stack_guard::watch_this_thread();
    let bootstrap = IpcSender::<Bootstrap>::connect(server.to_owned()).map_err(|error| {
        format!(
            "cannot reach the aplex pool that should have started this process ({error}); \
             worker processes are started by a process pool, not by hand"
        )
    })?;
    let (down_tx, down_rx) = ipc::channel::<Vec<DownFrame>>().map_err(|e| e.to_string())?;
    let (up_tx, up_rx) = ipc::channel::<Vec<UpFrame>>().map_err(|e| e.to_string())?;
    let hello = Hello {
        pid: process::id(),
        registry_digest: registry().digest(),
        down: down_tx,
        up: up_rx,
    };
    bootstrap
        .send(Bootstrap::Hello(hello))
        .map_err(|error| format!("handshake failed: {error}"))?;
    drop(bootstrap);

    // Settings found at exec: no need to wait for `Start` (it comes, and is ignored).
    let (settings, first) = match start.and_then(start_at_exec::decode) {
        Some(settings) => (settings, Vec::new()),
        None => first_frame(&down_rx)?,
    };
    let runtime = settings
        .runtime
        .build_for_worker()
        .map_err(|error| format!("cannot build the worker runtime: {error}"))?;

    let (loop_tx, loop_rx) = tokio::sync::mpsc::unbounded_channel();
    let lender = Lender::new(settings.shared_threshold);
    let (reply_writer, writer_thread) = batch_writer(up_tx, Arc::clone(&lender));
    if let Some(max_level) = settings.forward_events {
        EventForwarder::install(reply_writer.clone(), max_level);
    }
    let replies = Replies::new(reply_writer);
    let coalesce = replies.coalesce();
    let writer = thread::Builder::new()
        .name("aplex-child-writer".into())
        .spawn(move || writer_thread.run(Some(coalesce)))
        .map_err(|e| e.to_string())?;
    let state = match settings.state {
        None => None,
        Some(maker) => {
            let _context = runtime.enter();
            let made = make_state(maker, settings.worker);
            // Answered as the initializer is: one `Result<(), String>`.
            let answer: Result<(), String> = made.as_ref().map(|_| ()).map_err(Clone::clone);
            let encoded = encode_outcomes(ChunkResults::one(Ok(answer)), "worker_state");
            replies
                .reply(STATE_ID)
                .send(encoded.map(Payload::new).map_err(WireError::from));
            if let Err(message) = &made {
                replies.flush();
                drop(writer);
                return Err(format!("its worker state failed: {message}"));
            }
            made.ok()
        }
    };
    let release_replies = replies.clone();
    let reader = Reader {
        work_loop: loop_tx,
        replies: replies.clone(),
        lender,
        borrowings: Borrowings::new(Arc::new(move |region| release_replies.release(region))),
    };
    for frame in first {
        reader.deliver(frame);
    }
    // The runtime's own thread reads the parent's frames while this process is idle, a
    // reader thread while they stream in (`intake.rs`).
    let local = LocalSet::new();
    let runtime_reads = {
        let _context = runtime.enter();
        intake::start(down_rx, reader, &local)?
    };
    // Lingering (`linger.rs`) pays only when the frames can come in on this thread.
    let linger = if runtime_reads {
        WORKER_LINGER
    } else {
        std::time::Duration::ZERO
    };
    let _abandoned = runtime.block_on(local.run_until(serve_local(
        loop_rx,
        settings.blocking_limit,
        linger,
        state,
        // The parent counts a work over when its reply comes, so nothing to tell here.
        OnFinished::anywhere(|_| {}),
    )));
    drop(local);
    drop(runtime);
    replies.flush();
    drop(writer);
    Ok(())
}

/// Waits for the first message, which must begin with `Start`: its settings, and the
/// frames after it.
fn first_frame(
    down: &ipc::IpcReceiver<Vec<DownFrame>>,
) -> Result<(StartSettings, Vec<DownFrame>), String> {
    let mut first = down
        .recv()
        .map_err(|error| format!("the pool went away before starting this worker: {error}"))?
        .into_iter();
    let Some(DownFrame::Start(settings)) = first.next() else {
        return Err("protocol error: the first frame was not Start".into());
    };
    Ok((*settings, first.collect()))
}

/// Makes this worker's state with the registered maker at `index`, on the runtime's
/// thread inside its context.
fn make_state(index: u32, worker: usize) -> Result<WorkerStateValue, String> {
    match registry().get(index) {
        Some((_, Trampoline::State(make))) => make(worker),
        _ => Err(format!(
            "protocol error: entry {index} makes no worker state"
        )),
    }
}

/// Where the parent's frames go: the works, the replies and the shared regions. Held by
/// whichever thread reads them (`intake.rs`).
pub(crate) struct Reader {
    work_loop: UnboundedSender<LocalMessage>,
    replies: Replies,
    /// Our regions for replies, released by the parent.
    lender: Arc<Lender>,
    /// The parent's regions of arguments, read in place.
    borrowings: Borrowings,
}

impl Reader {
    /// How many works given a reply are not answered yet.
    pub(crate) fn alive(&self) -> usize {
        self.replies.alive()
    }

    /// Hands one frame from the parent to where it goes.
    pub(crate) fn deliver(&self, frame: DownFrame) {
        let message = match frame {
            DownFrame::Run {
                id,
                work,
                args,
                report_begin,
            } => {
                let reply = self.replies.reply(id);
                let args = match self.borrowings.take(args) {
                    Ok(args) => args,
                    Err(message) => {
                        reply.send(Err(WireError::Serialization {
                            work: format!("work number {work}"),
                            what: "arguments".into(),
                            direction: "decode".into(),
                            message,
                        }));
                        return;
                    }
                };
                match job(work, args, reply, report_begin) {
                    Some(job) => LocalMessage::Run(WorkId(id), job),
                    None => return,
                }
            }
            DownFrame::Cancel { id } => LocalMessage::Cancel(WorkId(id)),
            DownFrame::Close { abort } => LocalMessage::Close(if abort {
                CloseMode::Abort
            } else {
                CloseMode::Drain
            }),
            DownFrame::Release { region } => return self.lender.release(region),
            DownFrame::Start(_) => return,
        };
        let _ = self.work_loop.send(message);
    }
}

/// Builds the local job for `Run`; answers at once (and gives no job) for an unknown work.
/// A blocking job says when it begins if `report_begin`, and sends its reply from its
/// blocking thread (no hop back to the runtime thread).
fn job(work: u32, args: Payload, reply: Reply, report_begin: bool) -> Option<LocalJob> {
    let args = Args::new(args);
    let Some((_, trampoline)) = registry().get(work) else {
        reply.send(Err(WireError::UnknownWork(format!("work number {work}"))));
        return None;
    };
    Some(match trampoline {
        Trampoline::Async(run) => LocalJob::Async(Box::new(move || match run(args) {
            AsyncRun::Send(future) => Task::Send(Box::pin(async move {
                let outcome = catch_async(future).await.and_then(|inner| inner);
                reply.send(outcome.map(Payload::new).map_err(WireError::from));
            })),
            AsyncRun::Local(future) => Task::Local(Box::pin(async move {
                let outcome = catch_async(future).await.and_then(|inner| inner);
                reply.send(outcome.map(Payload::new).map_err(WireError::from));
            })),
        })),
        Trampoline::State(_) => {
            reply.send(Err(WireError::UnknownWork(format!(
                "work number {work} makes worker state; it is not a work"
            ))));
            return None;
        }
        Trampoline::Blocking(run) => LocalJob::Blocking(BlockingJob::new(
            move || {
                if report_begin {
                    reply.began();
                }
                let outcome = catch_blocking(|| run(args)).and_then(|inner| inner);
                reply.send(outcome.map(Payload::new).map_err(WireError::from));
            },
            |()| {},
        )),
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

    use super::job;
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
        if let Some(job) = job(
            work,
            Payload::Inline(ByteBuf::from(args)),
            replies.reply(1),
            false,
        ) {
            match job {
                LocalJob::Blocking(run) => run.run_here(),
                LocalJob::Async(make) => {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    runtime.block_on(make().into_local());
                }
            }
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

    fn index_of(name_suffix: &str) -> u32 {
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
