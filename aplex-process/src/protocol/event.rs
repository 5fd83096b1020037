//! A `tracing` event emitted inside a worker process, as it crosses to the parent, and
//! how the parent emits it again to its own subscriber.
//!
//! `tracing` callsites are static, so the parent cannot recreate the child's: every
//! forwarded event is emitted at one callsite per level, with target
//! `aplex::worker_process`, the child's message as its message, and as fields the worker
//! index, the process's pid, the event's own target (`origin`) and its other fields
//! rendered as `name=value` text (`fields`). Spans are not forwarded.

use serde::{Deserialize, Serialize};
use tracing::level_filters::LevelFilter;
use tracing::Level;

/// One event from a worker process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ForwardedEvent {
    /// [`level_code`] of its level.
    pub(crate) level: u8,
    /// Its target (by default the module path where it was emitted).
    pub(crate) target: String,
    /// Its `message` field.
    pub(crate) message: String,
    /// Its other fields, `name=value` separated by spaces.
    pub(crate) fields: String,
}

/// 0 for `ERROR` up to 4 for `TRACE`.
pub(crate) fn level_code(level: Level) -> u8 {
    match level {
        Level::ERROR => 0,
        Level::WARN => 1,
        Level::INFO => 2,
        Level::DEBUG => 3,
        Level::TRACE => 4,
    }
}

/// The most verbose level the parent's subscribers want now, as a [`level_code`];
/// `None` when they want none (then the children forward nothing).
pub(crate) fn wanted_level() -> Option<u8> {
    LevelFilter::current().into_level().map(level_code)
}

impl ForwardedEvent {
    /// The bytes it adds to a frame.
    pub(crate) fn wire_size(&self) -> usize {
        self.target.len() + self.message.len() + self.fields.len() + 8
    }

    /// Emits it to the parent's subscriber, from worker `worker`'s process `pid`.
    pub(crate) fn emit(&self, worker: usize, pid: Option<u32>) {
        let (origin, fields, message) = (&self.target, &self.fields, &self.message);
        macro_rules! emit_at {
            ($level:expr) => {
                tracing::event!(
                    target: "aplex::worker_process",
                    $level,
                    worker,
                    pid,
                    origin = %origin,
                    fields = %fields,
                    "{message}"
                )
            };
        }
        match self.level {
            0 => emit_at!(Level::ERROR),
            1 => emit_at!(Level::WARN),
            2 => emit_at!(Level::INFO),
            3 => emit_at!(Level::DEBUG),
            _ => emit_at!(Level::TRACE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_keep_their_order_from_error_to_trace() {
        let codes: Vec<u8> = [
            Level::ERROR,
            Level::WARN,
            Level::INFO,
            Level::DEBUG,
            Level::TRACE,
        ]
        .into_iter()
        .map(level_code)
        .collect();
        assert_eq!(codes, [0, 1, 2, 3, 4]);
    }
}
