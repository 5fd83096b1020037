//! What travels through the server: a work as a message on the tasks stream (its
//! encoded chunk of arguments as the payload, everything else in headers), and a result
//! as a message on the results stream (the chunk's encoded outcomes, or why the whole
//! chunk failed).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aplex_core::registry::wire_error::WireError;
use aplex_core::WorkKind;
use async_nats::HeaderMap;
use serde_bytes::ByteBuf;

/// The work's id: `<submitter>.<number>`, unique on the server.
pub(crate) const ID: &str = "Aplex-Id";
/// The work's registry name.
pub(crate) const WORK: &str = "Aplex-Work";
/// `async` or `blocking`.
pub(crate) const KIND: &str = "Aplex-Kind";
/// The subject its result goes to.
pub(crate) const REPLY: &str = "Aplex-Reply";
/// Unix time (ms) after which it must not start: its submitter has given up on it.
pub(crate) const EXPIRES: &str = "Aplex-Expires";
/// The server's own deduplication id (a publish retried after a lost ack is kept once).
const MESSAGE_ID: &str = "Nats-Msg-Id";

/// A queued work's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskHeaders {
    pub(crate) id: String,
    pub(crate) work: String,
    pub(crate) kind: WorkKind,
    pub(crate) reply: String,
    pub(crate) expires_ms: u64,
}

impl TaskHeaders {
    /// As NATS headers.
    pub(crate) fn to_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ID, self.id.as_str());
        headers.insert(MESSAGE_ID, self.id.as_str());
        headers.insert(WORK, self.work.as_str());
        headers.insert(
            KIND,
            match self.kind {
                WorkKind::Async => "async",
                WorkKind::Blocking => "blocking",
            },
        );
        headers.insert(REPLY, self.reply.as_str());
        headers.insert(EXPIRES, self.expires_ms.to_string().as_str());
        headers
    }

    /// Reads them back; what is missing or malformed, as a message.
    pub(crate) fn parse(headers: Option<&HeaderMap>) -> Result<TaskHeaders, String> {
        let headers = headers.ok_or("a task without headers")?;
        let get = |name: &str| {
            headers
                .get(name)
                .map(|value| value.as_str().to_owned())
                .ok_or_else(|| format!("a task without the {name} header"))
        };
        let kind = match get(KIND)?.as_str() {
            "async" => WorkKind::Async,
            "blocking" => WorkKind::Blocking,
            other => return Err(format!("a task of unknown kind `{other}`")),
        };
        let expires_ms = get(EXPIRES)?
            .parse()
            .map_err(|_| "a task whose expiry is not a number".to_owned())?;
        Ok(TaskHeaders {
            id: get(ID)?,
            work: get(WORK)?,
            kind,
            reply: get(REPLY)?,
            expires_ms,
        })
    }

    /// Whether its submitter has given up on it.
    pub(crate) fn expired(&self) -> bool {
        now_ms() > self.expires_ms
    }
}

/// Now, as Unix time in milliseconds.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as u64
}

/// What a result message carries: the chunk's encoded outcomes, or why it failed whole.
pub(crate) type ResultBody = Result<ByteBuf, WireError>;

/// Encodes a result.
pub(crate) fn encode_result(result: &ResultBody) -> Vec<u8> {
    rmp_serde::to_vec(result).expect("a result always encodes")
}

/// Decodes a result; a malformed one is an error message.
pub(crate) fn decode_result(bytes: &[u8]) -> Result<ResultBody, String> {
    rmp_serde::from_slice(bytes).map_err(|error| format!("a malformed result: {error}"))
}

/// The headers of a result for work `id`.
pub(crate) fn result_headers(id: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(ID, id);
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_headers_round_trip_and_malformed_ones_are_refused() {
        let task = TaskHeaders {
            id: "s1.7".into(),
            work: "crate::double".into(),
            kind: WorkKind::Blocking,
            reply: "aplex.p.result.s1".into(),
            expires_ms: 123,
        };
        assert_eq!(
            TaskHeaders::parse(Some(&task.to_headers())),
            Ok(task.clone())
        );
        assert!(task.expired());
        assert!(TaskHeaders::parse(None).is_err());
        let mut broken = task.to_headers();
        broken.insert(KIND, "sideways");
        assert!(TaskHeaders::parse(Some(&broken))
            .unwrap_err()
            .contains("unknown kind"));
        let body: ResultBody = Err(WireError::Cancelled);
        assert_eq!(decode_result(&encode_result(&body)), Ok(body));
        assert!(decode_result(b"\xc1 not a result").is_err());
    }
}
