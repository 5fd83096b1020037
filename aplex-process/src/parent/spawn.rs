//! Starting one worker process and completing its handshake within a deadline.
//!
//! ipc-channel's `accept()` cannot time out, so it runs on a helper thread while the
//! caller watches for the child exiting early and for the deadline. If either comes first,
//! the child is killed and reaped, and the caller connects to its own server and hangs up
//! at once, which makes the helper's `accept()` fail and releases it.
//!
//! That connection is made with a plain socket, not ipc-channel's `IpcSender::connect`:
//! ipc-channel leaks its socket when the connect fails, which it does when the child's
//! handshake was accepted just before (the server is gone by then).

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ipc_channel::ipc::{IpcOneShotServer, IpcReceiver, IpcSender};

use crate::parent::exit_status::worker_exit;
use aplex_core::backend::deadline_after;
use aplex_core::registry::registry;
use aplex_core::Error;

use crate::protocol::payload::Payload;
use crate::protocol::regions::Borrowings;
use crate::protocol::start_at_exec::{self, START_MARKER};
use crate::protocol::wire::{
    Bootstrap, DownFrame, StartSettings, UpFrame, INITIALIZER_ID, STATE_ID, WORKER_MARKER,
};
use aplex_core::registry::framed::encode_each;
use aplex_core::registry::outcomes::Outcomes;

/// A started, handshaken worker process and its channels.
pub(crate) struct Incarnation {
    pub(crate) child: Child,
    pub(crate) pid: u32,
    pub(crate) down: IpcSender<Vec<DownFrame>>,
    pub(crate) up: IpcReceiver<Vec<UpFrame>>,
    /// The accept thread, if not joined yet: joined once the process serves, off the
    /// way to its first work, as it closes the handshake's connection after handing the
    /// hello over (closing it took 100–300 µs here, a tenth of a pool's start).
    pub(crate) acceptor: Option<JoinHandle<()>>,
}

/// Starts worker process `index`, waits for its handshake (at most `timeout`), sends
/// it `Start(settings)` and waits for its state to be made and its initializer to run.
pub(crate) fn spawn_worker(
    index: usize,
    settings: &StartSettings,
    timeout: Duration,
    initializer: Option<(u32, &'static str)>,
) -> Result<Incarnation, String> {
    let (server, name) =
        IpcOneShotServer::<Bootstrap>::new().map_err(|e| format!("cannot open a server: {e}"))?;
    let mut command = Command::new("/proc/self/exe");
    command
        .arg0(format!("aplex-worker-{index}"))
        .env(WORKER_MARKER, &name)
        .stdin(Stdio::null());
    let start = StartSettings {
        worker: index,
        ..settings.clone()
    };
    let at_exec = match start_at_exec::encode(&start) {
        Some(encoded) => {
            command.env(START_MARKER, encoded);
            true
        }
        None => false,
    };
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start /proc/self/exe: {e}"))?;
    let (accepted_tx, accepted) = mpsc::sync_channel(1);
    let acceptor = thread::Builder::new()
        .name("aplex-accept".into())
        .spawn(move || {
            // The connection is closed here, after the hello is handed over: closing it
            // took 100–300 µs on the supervisor's way to the child's first work.
            let (connection, hello) = match server.accept() {
                Ok((connection, hello)) => (Some(connection), Ok(hello)),
                Err(error) => (None, Err(error)),
            };
            let _ = accepted_tx.send(hello);
            drop(connection);
        })
        .map_err(|e| format!("cannot start the accept thread: {e}"))?;

    let deadline = deadline_after(timeout);
    let mut poll = Duration::from_micros(50);
    let outcome = loop {
        match accepted.recv_timeout(poll) {
            Ok(Ok(Bootstrap::Hello(hello))) => break Ok(hello),
            Ok(Err(error)) => break Err(format!("the handshake failed: {error}")),
            Err(RecvTimeoutError::Disconnected) => break Err("the accept thread died".into()),
            Err(RecvTimeoutError::Timeout) => {}
        }
        if let Ok(Some(status)) = child.try_wait() {
            abandon(&name);
            // Its hello may have come just before it exited (a worker whose state fails
            // exits right after its hello): then the handshake goes on, and the answer
            // waiting in its channel says why it stopped. The accept ends now either way.
            if let Ok(Ok(Bootstrap::Hello(hello))) = accepted.recv() {
                break Ok(hello);
            }
            break Err(format!(
                "the worker process exited before its handshake ({})",
                worker_exit(status)
            ));
        }
        if Instant::now() >= deadline {
            abandon(&name);
            break Err(format!(
                "the worker process did not complete its handshake within {timeout:?}"
            ));
        }
        poll = (poll * 2).min(Duration::from_millis(5));
    };
    let acceptor = if outcome.is_err() {
        // A child that connected but never sent its handshake holds the accept in its
        // `recv`: only its death releases it.
        let _ = child.kill();
        let _ = acceptor.join();
        None
    } else {
        Some(acceptor)
    };
    // The deadline is strict: a handshake that arrives after it (the poll above can
    // overrun on a loaded machine) is as late as one that never came.
    let outcome = outcome.and_then(|hello| {
        if Instant::now() > deadline {
            Err(format!(
                "the worker process did not complete its handshake within {timeout:?}"
            ))
        } else {
            Ok(hello)
        }
    });
    let hello = match outcome {
        Ok(hello) => hello,
        Err(reason) => {
            stop(&mut child, acceptor);
            return Err(reason);
        }
    };
    let started = check_hello(hello.pid, hello.registry_digest, &child).and_then(|()| {
        let sent = hello.down.send(vec![DownFrame::Start(Box::new(start))]);
        match sent {
            // A child that had its settings at exec needs not this frame, and may be gone
            // already (its state failed): what went wrong shows next, in its state's or
            // initializer's answer, or in its exit.
            Err(_) if at_exec => Ok(()),
            other => other.map_err(|e| e.to_string()),
        }
    });
    if let Err(reason) = started {
        stop(&mut child, acceptor);
        return Err(reason);
    }
    let state_made = match settings.state {
        None => Ok(()),
        Some(_) => {
            let left = deadline.saturating_duration_since(Instant::now());
            await_setup(
                (index, hello.pid),
                &hello.up,
                STATE_ID,
                "its worker state",
                left,
            )
        }
    };
    if let Err(reason) = state_made {
        stop(&mut child, acceptor);
        return Err(reason);
    }
    if let Some(initializer) = initializer {
        let left = deadline.saturating_duration_since(Instant::now());
        let worker = (index, hello.pid);
        if let Err(reason) = initialize(worker, &hello.down, &hello.up, initializer, left) {
            stop(&mut child, acceptor);
            return Err(reason);
        }
    }
    Ok(Incarnation {
        pid: hello.pid,
        child,
        down: hello.down,
        up: hello.up,
        acceptor,
    })
}

/// Stops a child whose start failed, and joins its accept thread unless joined already.
fn stop(child: &mut Child, acceptor: Option<JoinHandle<()>>) {
    let _ = child.kill();
    let _ = child.wait();
    if let Some(acceptor) = acceptor {
        let _ = acceptor.join();
    }
}

/// Runs the pool's initializer in a new worker and waits (at most `timeout`) for it.
fn initialize(
    worker: (usize, u32),
    down: &IpcSender<Vec<DownFrame>>,
    up: &IpcReceiver<Vec<UpFrame>>,
    (work, name): (u32, &'static str),
    timeout: Duration,
) -> Result<(), String> {
    let args = Payload::new(encode_each([()], name, "arguments").0);
    down.send(vec![DownFrame::Run {
        id: INITIALIZER_ID,
        work,
        args,
        report_begin: false,
    }])
    .map_err(|error| format!("cannot send the initializer: {error}"))?;
    await_setup(
        worker,
        up,
        INITIALIZER_ID,
        &format!("the worker initializer `{name}`"),
        timeout,
    )
}

/// Waits (at most `timeout`) for the reply `id` of a new worker's setup step (`what`:
/// making its state, running its initializer): one `Result<(), String>`.
fn await_setup(
    (worker, pid): (usize, u32),
    up: &IpcReceiver<Vec<UpFrame>>,
    id: u64,
    what: &str,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = deadline_after(timeout);
    let outcome = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frames = up
            .try_recv_timeout(left)
            .map_err(|_| format!("{what} did not finish within the start timeout"))?;
        let mut reply = None;
        for frame in frames {
            match frame {
                UpFrame::Done { id: done, outcome } if done == id => reply = Some(outcome),
                UpFrame::Event(event) => event.emit(worker, Some(pid)),
                _ => return Err(format!("the worker replied to something else than {what}")),
            }
        }
        if let Some(outcome) = reply {
            break outcome;
        }
    };
    let bytes = outcome.map_err(|error| format!("{what} failed: {}", Error::from(error)))?;
    // A big answer (a long error message) comes in the child's region; read it in place.
    // Its release has nowhere to go yet: the child keeps that region lent.
    let bytes = Borrowings::new(Arc::new(|_| {})).take(bytes)?;
    let outcomes =
        Outcomes::<Result<(), String>>::decode(&bytes, what).map_err(|error| error.to_string())?;
    match outcomes.into_first() {
        Some(Ok(Ok(()))) => Ok(()),
        Some(Ok(Err(message))) => Err(format!("{what} failed: {message}")),
        Some(Err(error)) => Err(format!("{what} failed: {error}")),
        None => Err(format!("{what} gave no result")),
    }
}

fn check_hello(pid: u32, digest: u64, child: &Child) -> Result<(), String> {
    if pid != child.id() {
        return Err(format!(
            "the handshake came from pid {pid}, not from the worker {}",
            child.id()
        ));
    }
    if digest != registry().digest() {
        return Err("the worker's registered works differ from the pool's".into());
    }
    Ok(())
}

/// Releases an accept that will never see its child: connects to the one-shot server at
/// `path` and hangs up, whether or not the connect succeeds.
fn abandon(path: &str) {
    let path = path.as_bytes();
    // SAFETY: `address` is zeroed and then filled within its bounds (the path is checked
    // to fit with its terminating zero); the socket is closed on every path, and `connect`
    // only reads `address`.
    #[allow(unsafe_code)]
    unsafe {
        let mut address: libc::sockaddr_un = std::mem::zeroed();
        if path.len() >= address.sun_path.len() {
            return;
        }
        address.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (slot, byte) in address.sun_path.iter_mut().zip(path) {
            *slot = *byte as libc::c_char;
        }
        let socket = libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0);
        if socket < 0 {
            return;
        }
        libc::connect(
            socket,
            (&address as *const libc::sockaddr_un).cast(),
            std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
        );
        libc::close(socket);
    }
}
