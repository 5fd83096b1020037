//! What travels through the server: works as messages on the tasks stream, and their
//! results as messages on the results stream. A message carries one work (its number in a
//! header, its encoded arguments as the payload, so a big payload is never copied) or a
//! batch of works of the same kind submitted together (`Aplex-Batch`: the payload is the
//! list of numbers and arguments), which the server then stores, delivers and acks once
//! for all of them; a result message likewise carries one result or a batch of them.
//! A work is named on the server by its submitter (a header of its message, and the last
//! token of its results' subject) and its number there: `<submitter>.<number>` in cancels.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aplex_core::registry::wire_error::WireError;
use aplex_core::WorkKind;
use async_nats::HeaderMap;
use bytes::Bytes;
use serde_bytes::ByteBuf;

/// The submitter of the message's works: unique on the server.
pub(crate) const SUBMITTER: &str = "Aplex-Submitter";
/// The work's number, unique for its submitter.
pub(crate) const ID: &str = "Aplex-Id";
/// Instead of an id: how many works (or results) the payload lists.
pub(crate) const BATCH: &str = "Aplex-Batch";
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

/// A queued message's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskHeaders {
    /// Who submitted its works.
    pub(crate) submitter: String,
    /// The work's number; `None` for a batch (the numbers are in the payload).
    pub(crate) id: Option<u64>,
    /// The message's id, for the server's deduplication.
    pub(crate) message: String,
    pub(crate) work: String,
    pub(crate) kind: WorkKind,
    pub(crate) reply: String,
    pub(crate) expires_ms: u64,
}

impl TaskHeaders {
    /// As NATS headers.
    pub(crate) fn to_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(SUBMITTER, self.submitter.as_str());
        match self.id {
            Some(id) => headers.insert(ID, id.to_string().as_str()),
            None => headers.insert(BATCH, "1"),
        }
        headers.insert(MESSAGE_ID, self.message.as_str());
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
        let id = match get(ID) {
            Ok(id) => Some(
                id.parse()
                    .map_err(|_| format!("a task whose id `{id}` is not a number"))?,
            ),
            Err(_) if headers.get(BATCH).is_some() => None,
            Err(missing) => return Err(missing),
        };
        Ok(TaskHeaders {
            submitter: get(SUBMITTER)?,
            message: get(MESSAGE_ID).unwrap_or_default(),
            id,
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

/// What a result carries: the chunk's encoded outcomes, or why it failed whole.
pub(crate) type ResultBody = Result<ByteBuf, WireError>;

/// The payload of a batch of works: each one's number and encoded arguments.
pub(crate) fn encode_batch(works: &[(u64, Bytes)]) -> Vec<u8> {
    let listed: Vec<(u64, &serde_bytes::Bytes)> = works
        .iter()
        .map(|(id, args)| (*id, serde_bytes::Bytes::new(args)))
        .collect();
    rmp_serde::to_vec(&listed).expect("a batch always encodes")
}

/// The works a message carries: its one work, or its batch (each one's arguments a
/// slice of the payload, not a copy).
pub(crate) fn works_of(task: &TaskHeaders, payload: Bytes) -> Result<Vec<(u64, Bytes)>, String> {
    if let Some(id) = task.id {
        return Ok(vec![(id, payload)]);
    }
    let listed: Vec<(u64, &serde_bytes::Bytes)> = rmp_serde::from_slice(&payload)
        .map_err(|error| format!("a malformed batch of works: {error}"))?;
    Ok(listed
        .into_iter()
        .map(|(id, args)| (id, payload.slice_ref(args)))
        .collect())
}

/// The headers and payload of a message with `results` (one, or a batch).
pub(crate) fn encode_results(results: &[(u64, ResultBody)]) -> (HeaderMap, Vec<u8>) {
    let mut headers = HeaderMap::new();
    if let [(id, result)] = results {
        headers.insert(ID, id.to_string().as_str());
        return (headers, encode_result(result));
    }
    headers.insert(BATCH, "1");
    let body = rmp_serde::to_vec(results).expect("results always encode");
    (headers, body)
}

/// The results in a message; a malformed one is an error message.
pub(crate) fn decode_results(
    headers: Option<&HeaderMap>,
    body: &[u8],
) -> Result<Vec<(u64, ResultBody)>, String> {
    let header = |name| headers.and_then(|headers| headers.get(name));
    if let Some(id) = header(ID) {
        let id = (id.as_str().parse())
            .map_err(|_| format!("a result whose id `{id}` is not a number"))?;
        return Ok(vec![(id, decode_result(body)?)]);
    }
    if header(BATCH).is_none() {
        return Err("a result without a work id".into());
    }
    rmp_serde::from_slice(body).map_err(|error| format!("a malformed batch of results: {error}"))
}

/// Encodes a result.
pub(crate) fn encode_result(result: &ResultBody) -> Vec<u8> {
    rmp_serde::to_vec(result).expect("a result always encodes")
}

/// Decodes a result; a malformed one is an error message.
pub(crate) fn decode_result(bytes: &[u8]) -> Result<ResultBody, String> {
    rmp_serde::from_slice(bytes).map_err(|error| format!("a malformed result: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_headers_round_trip_and_malformed_ones_are_refused() {
        let task = TaskHeaders {
            submitter: "s1".into(),
            id: Some(7),
            message: "s1.m3".into(),
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
        let mut broken = task.to_headers();
        broken.insert(ID, "s1.7");
        assert!(TaskHeaders::parse(Some(&broken))
            .unwrap_err()
            .contains("not a number"));
        let body: ResultBody = Err(WireError::Cancelled);
        assert_eq!(decode_result(&encode_result(&body)), Ok(body));
        assert!(decode_result(b"\xc1 not a result").is_err());
    }

    #[test]
    fn batches_of_works_and_of_results_round_trip() {
        let task = TaskHeaders {
            submitter: "s1".into(),
            id: None,
            message: "s1.m4".into(),
            work: "crate::double".into(),
            kind: WorkKind::Async,
            reply: "aplex.p.result.s1".into(),
            expires_ms: u64::MAX,
        };
        let parsed = TaskHeaders::parse(Some(&task.to_headers())).unwrap();
        assert_eq!(parsed, task);
        let works = vec![
            (1, Bytes::from_static(b"one")),
            (2, Bytes::from_static(b"two")),
        ];
        let payload = Bytes::from(encode_batch(&works));
        assert_eq!(works_of(&parsed, payload), Ok(works));
        assert!(works_of(&parsed, Bytes::from_static(b"\xc1")).is_err());
        let results = [
            (1, Ok(ByteBuf::from(vec![1]))),
            (2, Err(WireError::Cancelled)),
        ];
        for some in [&results[..1], &results[..]] {
            let (headers, body) = encode_results(some);
            assert_eq!(decode_results(Some(&headers), &body).as_deref(), Ok(some));
        }
        assert!(decode_results(None, b"").is_err());
    }
}
