//! The raw limits aplex is measured against, on this machine, in the same run:
//!
//! - a bare round trip to a thread driving a current-thread tokio runtime (tokio mpsc in,
//!   oneshot back), one item per message or pipelined in batches;
//! - a bare ipc-channel echo with a child process (this binary re-executed with
//!   `APLEX_BENCH_ECHO`), one item per message or 256 packed in one, or bytes — as a
//!   serde `ByteBuf`, through ipc-channel's raw byte channel, or as one shared-memory
//!   region sent back and forth (no copy: the ceiling of moving bytes between processes).

use std::process::{Child, Command, Stdio};
use std::time::Instant;

use ipc_channel::ipc::{
    self, IpcBytesReceiver, IpcBytesSender, IpcOneShotServer, IpcReceiver, IpcSender,
    IpcSharedMemory,
};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use tokio::sync::{mpsc, oneshot};

const ECHO_MARKER: &str = "APLEX_BENCH_ECHO";

/// What travels to and from the echo child.
#[derive(Serialize, Deserialize)]
pub(crate) enum EchoMessage {
    One(u64),
    Packed(Vec<u64>),
    Bytes(ByteBuf),
    Region(IpcSharedMemory),
}

type EchoEnds = (
    IpcSender<EchoMessage>,
    IpcReceiver<EchoMessage>,
    IpcBytesSender,
    IpcBytesReceiver,
);

/// If this process was started as the echo child, echo until the parent goes away.
pub(crate) fn become_echo_child_if_asked() {
    let Ok(server) = std::env::var(ECHO_MARKER) else {
        return;
    };
    let bootstrap = IpcSender::<EchoEnds>::connect(server).expect("connect to the bench");
    let (down_tx, down_rx) = ipc::channel::<EchoMessage>().expect("channel");
    let (up_tx, up_rx) = ipc::channel::<EchoMessage>().expect("channel");
    let (bytes_down_tx, bytes_down_rx) = ipc::bytes_channel().expect("bytes channel");
    let (bytes_up_tx, bytes_up_rx) = ipc::bytes_channel().expect("bytes channel");
    bootstrap
        .send((down_tx, up_rx, bytes_down_tx, bytes_up_rx))
        .expect("handshake");
    std::thread::spawn(move || {
        while let Ok(bytes) = bytes_down_rx.recv() {
            if bytes_up_tx.send(&bytes).is_err() {
                break;
            }
        }
    });
    while let Ok(message) = down_rx.recv() {
        if up_tx.send(message).is_err() {
            break;
        }
    }
    std::process::exit(0);
}

/// An echo child process and the parent's ends of its channel.
pub(crate) struct EchoChild {
    child: Child,
    pub(crate) to_child: IpcSender<EchoMessage>,
    pub(crate) from_child: IpcReceiver<EchoMessage>,
    bytes_to_child: IpcBytesSender,
    bytes_from_child: IpcBytesReceiver,
}

impl EchoChild {
    /// Spawns the child and completes the handshake; also returns how long that took.
    pub(crate) fn start() -> (EchoChild, f64) {
        let started = Instant::now();
        let child = Self::spawn().handshake();
        (child, started.elapsed().as_secs_f64())
    }

    /// Spawns the child; its handshake is still to be completed.
    pub(crate) fn spawn() -> SpawnedEcho {
        let (server, name) = IpcOneShotServer::<EchoEnds>::new().expect("server");
        let child = Command::new("/proc/self/exe")
            .env(ECHO_MARKER, name)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn the echo child");
        SpawnedEcho { child, server }
    }

    /// One round trip of `message`.
    pub(crate) fn round_trip(&self, message: EchoMessage) -> EchoMessage {
        self.to_child.send(message).expect("send");
        self.from_child.recv().expect("recv")
    }

    /// One round trip of `bytes` through the raw byte channel: what the bytes cost
    /// without serde frames.
    pub(crate) fn bytes_round_trip(&self, bytes: &[u8]) -> Vec<u8> {
        self.bytes_to_child.send(bytes).expect("send");
        self.bytes_from_child.recv().expect("recv")
    }

    /// One round trip of a shared-memory region: only its descriptor crosses, so this is
    /// the ceiling of moving bytes between processes.
    pub(crate) fn region_round_trip(&self, region: &IpcSharedMemory) -> IpcSharedMemory {
        match self.round_trip(EchoMessage::Region(region.clone())) {
            EchoMessage::Region(back) => back,
            _ => unreachable!("the echo child sends back what it gets"),
        }
    }

    /// Items per second echoing `items` items, `per_message` to a message, with the
    /// sending on its own thread so the pipe stays full.
    pub(crate) fn throughput(&self, items: usize, per_message: usize) -> f64 {
        let messages = items / per_message;
        let sender = self.to_child.clone();
        let started = Instant::now();
        let feeder = std::thread::spawn(move || {
            for m in 0..messages as u64 {
                let message = if per_message == 1 {
                    EchoMessage::One(m)
                } else {
                    EchoMessage::Packed((m..m + per_message as u64).collect())
                };
                sender.send(message).expect("send");
            }
        });
        let mut received = 0;
        for _ in 0..messages {
            received += match self.from_child.recv().expect("recv") {
                EchoMessage::One(_) => 1,
                EchoMessage::Packed(values) => values.len(),
                EchoMessage::Bytes(_) | EchoMessage::Region(_) => 0,
            };
        }
        feeder.join().expect("feeder");
        assert_eq!(received, messages * per_message);
        received as f64 / started.elapsed().as_secs_f64()
    }
}

/// An echo child spawned, its handshake not yet done.
pub(crate) struct SpawnedEcho {
    child: Child,
    server: IpcOneShotServer<EchoEnds>,
}

impl SpawnedEcho {
    /// Waits for the child's handshake.
    pub(crate) fn handshake(self) -> EchoChild {
        let (_, (to_child, from_child, bytes_to_child, bytes_from_child)) =
            self.server.accept().expect("handshake");
        EchoChild {
            child: self.child,
            to_child,
            from_child,
            bytes_to_child,
            bytes_from_child,
        }
    }
}

impl Drop for EchoChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A thread driving a current-thread tokio runtime that answers every request.
pub(crate) struct RawThread {
    one: mpsc::UnboundedSender<(u64, oneshot::Sender<u64>)>,
    batch: mpsc::UnboundedSender<(Vec<u64>, oneshot::Sender<Vec<u64>>)>,
}

impl RawThread {
    pub(crate) fn start() -> RawThread {
        let (one, mut one_rx) = mpsc::unbounded_channel::<(u64, oneshot::Sender<u64>)>();
        let (batch, mut batch_rx) =
            mpsc::unbounded_channel::<(Vec<u64>, oneshot::Sender<Vec<u64>>)>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                loop {
                    tokio::select! {
                        Some((x, reply)) = one_rx.recv() => { let _ = reply.send(x); }
                        Some((xs, reply)) = batch_rx.recv() => { let _ = reply.send(xs); }
                        else => break,
                    }
                }
            });
        });
        RawThread { one, batch }
    }

    /// One round trip, waited on by blocking.
    pub(crate) fn round_trip(&self, x: u64) -> u64 {
        let (reply, answer) = oneshot::channel();
        self.one.send((x, reply)).expect("send");
        answer.blocking_recv().expect("answer")
    }

    /// Items per second, one item per message, all in flight at once.
    pub(crate) fn throughput_one(&self, items: usize) -> f64 {
        answered_rate(items, items, |x, reply| {
            self.one.send((x, reply)).expect("send")
        })
    }

    /// Items per second, `per_message` items per message, all in flight at once.
    pub(crate) fn throughput_batched(&self, items: usize, per_message: usize) -> f64 {
        answered_rate(items, items / per_message, |m, reply| {
            let values = (m..m + per_message as u64).collect();
            self.batch.send((values, reply)).expect("send");
        })
    }
}

/// Items per second for `items` items sent in `requests` requests, all in flight at
/// once: each request's number is handed to `send` with the oneshot it is answered on,
/// then every answer is waited for.
pub(crate) fn answered_rate<T>(
    items: usize,
    requests: usize,
    send: impl Fn(u64, oneshot::Sender<T>),
) -> f64 {
    crate::measure::rate(items, || {
        let answers: Vec<_> = (0..requests as u64)
            .map(|x| {
                let (reply, answer) = oneshot::channel();
                send(x, reply);
                answer
            })
            .collect();
        for answer in answers {
            answer.blocking_recv().expect("answer");
        }
    })
}
