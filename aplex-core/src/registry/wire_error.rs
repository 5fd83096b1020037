//! `WireError`: the errors a worker reports with a work's outcome, as they travel (inside
//! a chunk's encoded outcomes, `outcomes.rs`) from a worker process or node to the pool,
//! which turns them back into [`Error`]s.

use serde::{Deserialize, Serialize};

use crate::Error;

/// The errors a child can report; turned into [`Error`] in the parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireError {
    /// The work panicked with this message.
    Panicked(String),
    /// The work was aborted.
    Cancelled,
    /// A value could not be encoded or decoded.
    Serialization {
        /// The work's name.
        work: String,
        /// `"arguments"` or `"output"`.
        what: String,
        /// `"encode"` or `"decode"`.
        direction: String,
        /// The codec's message.
        message: String,
    },
    /// No work has this registry index.
    UnknownWork(String),
}

impl From<WireError> for Error {
    fn from(error: WireError) -> Error {
        match error {
            WireError::Panicked(message) => Error::Panicked { message },
            WireError::Cancelled => Error::Cancelled,
            WireError::Serialization {
                work,
                what,
                direction,
                message,
            } => Error::Serialization {
                work,
                what: if what == "output" {
                    "output"
                } else {
                    "arguments"
                },
                direction: if direction == "encode" {
                    "encode"
                } else {
                    "decode"
                },
                message,
            },
            WireError::UnknownWork(name) => Error::UnknownWork { name },
        }
    }
}

impl From<Box<WireError>> for Error {
    /// As from a `WireError`: frames carry theirs boxed (rare, and big).
    fn from(error: Box<WireError>) -> Error {
        Error::from(*error)
    }
}

/// The longest message a `WireError` carries: a frame must fit in one message (see
/// `payload.rs`), so a longer one is cut.
const MAX_MESSAGE: usize = 8 * 1024;

/// `message`, cut to at most [`MAX_MESSAGE`] bytes (at a character boundary).
fn bounded(mut message: String) -> String {
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str("... (cut)");
    }
    message
}

impl From<Error> for WireError {
    fn from(error: Error) -> WireError {
        match error {
            Error::Panicked { message } => WireError::Panicked(bounded(message)),
            Error::Cancelled => WireError::Cancelled,
            Error::Serialization {
                work,
                what,
                direction,
                message,
            } => WireError::Serialization {
                work,
                what: what.to_owned(),
                direction: direction.to_owned(),
                message: bounded(message),
            },
            Error::UnknownWork { name } => WireError::UnknownWork(name),
            other => WireError::Panicked(bounded(other.to_string())),
        }
    }
}
