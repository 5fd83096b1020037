//! A node's announcement: who it is (host, pid, group, registry digest, slots) and how
//! busy, published on the pool's nodes stream every heartbeat and withdrawn (purged) when
//! it stops; the stream's messages expire ([`ANNOUNCEMENT_TTL`]) when a node dies without
//! withdrawing. The pool reads them back as [`NodeInfo`]s (`RemoteAsyncPoolExecutor::nodes`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::broker::{Broker, BrokerError};

/// How long an announcement lives without being renewed.
pub const ANNOUNCEMENT_TTL: Duration = Duration::from_secs(15);

/// The most time between two announcements of a live node.
pub(crate) const ANNOUNCE_EVERY: Duration = Duration::from_secs(5);

/// A node as it announces itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's id: its host, pid and start.
    pub id: String,
    /// The host it runs on.
    pub host: String,
    /// Its process id there.
    pub pid: u32,
    /// The group of nodes it belongs to.
    pub group: String,
    /// Its build's registry digest: it takes only works of the same build.
    pub digest: u64,
    /// The most works it runs at once.
    pub max_works: usize,
    /// The works it runs now.
    pub in_flight: usize,
}

impl NodeInfo {
    /// The id of a node started now in this process.
    pub(crate) fn new_id(host: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|since| since.as_nanos())
            .unwrap_or(0);
        format!("{host}-{}-{nanos:x}", std::process::id())
    }

    /// As stored.
    pub(crate) fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a node's info always encodes")
    }

    /// From storage; `None` if it is not a node's info.
    pub(crate) fn decode(bytes: &[u8]) -> Option<NodeInfo> {
        serde_json::from_slice(bytes).ok()
    }

    /// The nodes `broker` lists as live now (announcements that do not decode skipped).
    pub(crate) async fn live(broker: &dyn Broker) -> Result<Vec<NodeInfo>, BrokerError> {
        let announced = broker.announcements().await?;
        Ok(announced
            .iter()
            .filter_map(|info| Self::decode(info))
            .collect())
    }
}

/// This machine's host name, as a key-safe token (`localhost` if unknown).
pub(crate) fn host_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default();
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() {
        "localhost".into()
    } else {
        safe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_info_round_trips_and_ids_are_key_safe() {
        let info = NodeInfo {
            id: NodeInfo::new_id(&host_name()),
            host: host_name(),
            pid: 7,
            group: "gpu".into(),
            digest: 9,
            max_works: 300,
            in_flight: 2,
        };
        assert_eq!(NodeInfo::decode(&info.encode()), Some(info.clone()));
        assert!(info
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(NodeInfo::decode(b"not json"), None);
    }
}
