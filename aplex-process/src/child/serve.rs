//! The worker process: handshake with the parent, then run works until closed.
//!
//! 1. Leave SIGINT and SIGTERM to the parent (a terminal's Ctrl-C and an orchestrator's
//!    stop reach the whole process group; the parent decides), ignore SIGPIPE, and ask
//!    to be killed if the parent dies (`signals.rs`).
//! 2. Connect to the parent's one-shot server and send `Hello`: pid, registry digest, and
//!    the child's ends of a fresh channel pair.
//! 3. Name the process `aplex-worker-N` and build the runtime from the start settings
//!    (found in the environment at exec, `start_at_exec.rs`, or else in the first frame,
//!    `Start`), then split into three threads: a writer (batching every finished outcome
//!    into one `send`), the runtime thread running [`aplex_core::local::serve_local`],
//!    and a reader, started when frames first stream in. The parent's frames, turned
//!    into local jobs, are read by the runtime thread while the process is idle and by
//!    the reader while they stream in (`intake.rs`).
//!    `tracing` events go up the same writer, if the parent wants them.
//! 4. Every `Run` gets exactly one reply, even when the work is aborted or never starts: a
//!    reply guard sends `Cancelled` if dropped unsent.
//! 5. On `Close`, the loop ends when its works are over; the writer is flushed and the
//!    process exits 0. If the parent's channel closes (the parent died), exit at once.

use std::process;
use std::sync::Arc;
use std::thread;

use aplex_core::backend::local::{serve_local, OnFinished};
use aplex_core::backend::{ChunkResults, WorkerStateValue, WORKER_LINGER};
use ipc_channel::ipc::{self, IpcSender};
use tokio::task::LocalSet;

use crate::child::event_forwarder::EventForwarder;
use crate::child::intake;
use crate::child::reader::Reader;
use crate::child::reply::Replies;
use crate::child::signals;
use crate::child::stack_guard;
use crate::protocol::batch_writer::batch_writer;
use crate::protocol::regions::{Borrowings, Lender};
use crate::protocol::start_at_exec;
use crate::protocol::store::STORE;
use crate::protocol::wire::{Bootstrap, DownFrame, Hello, StartSettings, UpFrame, STATE_ID};
use aplex_core::registry::encoded::install_store;
use aplex_core::registry::outcomes::encode_outcomes;
use aplex_core::registry::{registry, Trampoline};

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
    stack_guard::watch_main_thread();
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
    name_this_process(settings.worker);
    let runtime = settings
        .runtime
        .build_for_worker()
        .map_err(|error| format!("cannot build the worker runtime: {error}"))?;

    let (loop_tx, loop_rx) = tokio::sync::mpsc::unbounded_channel();
    let lender = Lender::new(settings.shared_threshold);
    // Big outcomes are encoded straight into regions of this process's store.
    install_store(&STORE);
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
            replies.reply(STATE_ID).send_encoded(encoded);
            if let Err(message) = &made {
                replies.flush();
                drop(writer);
                return Err(format!("its worker state failed: {message}"));
            }
            made.ok()
        }
    };
    let release_replies = replies.clone();
    let reader = Reader::new(
        loop_tx,
        replies.clone(),
        lender,
        Borrowings::new(Arc::new(move |region| release_replies.release(region))),
    );
    reader.deliver(first);
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

/// Names this process after its worker, `aplex-worker-N`: what `top` and `ps -o comm`
/// show (the kernel's name for the main thread), which would otherwise be the name of
/// the executable it was started as, `exe`. Longer than 15 bytes, the kernel truncates.
fn name_this_process(worker: usize) {
    let Ok(name) = std::ffi::CString::new(format!("aplex-worker-{worker}")) else {
        return;
    };
    // SAFETY: `PR_SET_NAME` reads a NUL-terminated string, which `name` is and outlives
    // the call; the other arguments are ignored.
    #[allow(unsafe_code)]
    unsafe {
        libc::prctl(libc::PR_SET_NAME, name.as_ptr(), 0, 0, 0);
    }
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
