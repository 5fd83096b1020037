//! What parent and child say to each other over ipc-channel, and how a work's values are
//! encoded.
//!
//! One long-lived channel pair per child: `Down` messages to it, `Up` messages back. A
//! message is a batch of frames (every frame that was ready when it was sent), and frames
//! carry work ids, so thousands of tiny works cost a handful of syscalls. A `Run` carries
//! a whole chunk (one item for a submit) as one buffer of MessagePack-encoded items, each on
//! its own (`framed.rs`), and its reply one buffer of `Result<Output, WireError>`s; the
//! buffers travel as [`Payload`]s (inline, or in shared memory when large), which
//! ipc-channel copies as one block rather than element by element.

use ipc_channel::ipc::{IpcReceiver, IpcSender};
use serde::{Deserialize, Serialize};

use aplex_core::registry::wire_error::WireError;

use crate::protocol::event::ForwardedEvent;
use crate::protocol::payload::{Payload, WireSize, FRAME_OVERHEAD};
use crate::protocol::regions::Lends;
use crate::protocol::runtime_config::RuntimeConfig;

/// The environment variable that marks a process as a worker; its value is the name of
/// the parent's one-shot server to connect to.
pub(crate) const WORKER_MARKER: &str = "APLEX_PROCESS_WORKER";

/// The frame id of the reply to a worker's initializer run; no work id reaches it.
pub(crate) const INITIALIZER_ID: u64 = u64::MAX;

/// The frame id of a worker's answer to making its state (sent unasked, after `Start`).
pub(crate) const STATE_ID: u64 = u64::MAX - 1;

/// The first message of a new child.
#[derive(Serialize, Deserialize)]
pub(crate) enum Bootstrap {
    /// The child's handshake.
    Hello(Hello),
}

/// A child's handshake: who it is, which works it has, and its ends of the channels.
#[derive(Serialize, Deserialize)]
pub(crate) struct Hello {
    pub(crate) pid: u32,
    pub(crate) registry_digest: u64,
    pub(crate) down: IpcSender<Vec<DownFrame>>,
    pub(crate) up: IpcReceiver<Vec<UpFrame>>,
}

/// What a worker process is started with, sent in its first frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StartSettings {
    /// How to build its runtime.
    pub(crate) runtime: RuntimeConfig,
    /// The most blocking works it runs at once.
    pub(crate) blocking_limit: usize,
    /// The registry index of the maker of its state, if the pool has one.
    pub(crate) state: Option<u32>,
    /// Which worker of the pool it is (the state maker's argument).
    pub(crate) worker: usize,
    /// Forward `tracing` events up to this level (`protocol/event.rs`); `None`: none.
    pub(crate) forward_events: Option<u8>,
    /// Payloads above this many bytes travel through shared memory (`regions.rs`).
    pub(crate) shared_threshold: usize,
}

/// A frame from parent to child.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum DownFrame {
    /// Always the first frame: how to build the worker's runtime and run its works (boxed:
    /// once per process, it would set the size of every frame).
    Start(Box<StartSettings>),
    /// Run registered work number `work` once per item of `args` (a MessagePack array of `A`:
    /// one item for a submit, a chunk for a map) and reply with one result per item;
    /// with `report_begin`, also say when it begins (a blocking work whose timeout starts
    /// then).
    Run {
        id: u64,
        work: u32,
        args: Payload,
        report_begin: bool,
    },
    /// Abort the running async work `id`.
    Cancel { id: u64 },
    /// The parent has read the child's shared region `region` (`regions.rs`).
    Release { region: u32 },
    /// Stop: finish (`abort: false`) or abort (`abort: true`) the works in hand, then exit.
    Close { abort: bool },
}

/// A frame from child to parent.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum UpFrame {
    /// The outcome of one `Run`: a MessagePack array of `Result<Output, WireError>`, or why the
    /// whole chunk failed (that error boxed, as the event below: both rare, and big).
    Done {
        id: u64,
        outcome: Result<Payload, Box<WireError>>,
    },
    /// A blocking `Run` sent with `report_begin` begins now.
    Began { id: u64 },
    /// A `tracing` event emitted in the worker process.
    Event(Box<ForwardedEvent>),
    /// The child has read the parent's shared region `region` (`regions.rs`).
    Release { region: u32 },
}

impl Lends for DownFrame {
    fn payload_mut(&mut self) -> Option<&mut Payload> {
        match self {
            DownFrame::Run { args, .. } => Some(args),
            _ => None,
        }
    }
}

impl Lends for UpFrame {
    fn payload_mut(&mut self) -> Option<&mut Payload> {
        match self {
            UpFrame::Done {
                outcome: Ok(payload),
                ..
            } => Some(payload),
            _ => None,
        }
    }
}

impl WireSize for DownFrame {
    fn wire_size(&self) -> usize {
        match self {
            DownFrame::Run { args, .. } => FRAME_OVERHEAD + args.wire_size(),
            _ => FRAME_OVERHEAD,
        }
    }

    fn fds(&self) -> usize {
        match self {
            DownFrame::Run { args, .. } => args.fds(),
            _ => 0,
        }
    }
}

impl WireSize for UpFrame {
    fn wire_size(&self) -> usize {
        FRAME_OVERHEAD
            + match self {
                UpFrame::Done {
                    outcome: Ok(payload),
                    ..
                } => payload.wire_size(),
                UpFrame::Done {
                    outcome: Err(error),
                    ..
                } => error_size(error),
                UpFrame::Began { .. } | UpFrame::Release { .. } => 0,
                UpFrame::Event(event) => event.wire_size(),
            }
    }

    fn fds(&self) -> usize {
        match self {
            UpFrame::Done {
                outcome: Ok(payload),
                ..
            } => payload.fds(),
            _ => 0,
        }
    }
}

/// Bytes a `WireError`'s message adds to a frame.
fn error_size(error: &WireError) -> usize {
    match error {
        WireError::Panicked(message) | WireError::UnknownWork(message) => message.len(),
        WireError::Cancelled => 0,
        WireError::Serialization {
            work,
            what,
            direction,
            message,
        } => work.len() + what.len() + direction.len() + message.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::{DownFrame, UpFrame};

    /// Frames are kept by the thousand in batches (staged, queued for the writer, decoded
    /// by the reader): their rare big variants are boxed so the common ones set the size.
    #[test]
    fn frames_stay_the_size_of_their_common_variants() {
        assert!(
            std::mem::size_of::<DownFrame>() <= 64,
            "a `Run` sets the size"
        );
        assert!(
            std::mem::size_of::<UpFrame>() <= 56,
            "a `Done` sets the size"
        );
    }
}
