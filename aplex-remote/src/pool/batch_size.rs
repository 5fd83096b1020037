//! How many works the pool puts in one message for a group of nodes: as many as fit the
//! nodes, up to `max_batch`. A message is never split, so a node takes a whole batch and
//! runs what its slots allow, the rest waiting there; a batch of at most a quarter of the
//! smallest live node's slots (the share a node asks for again once it is free) keeps a
//! node from sitting on works another could run, while a node of 50,000 slots gets
//! batches as large as `max_batch` allows. The sizes are read from the nodes'
//! announcements as the pool is built, and again every [`ANNOUNCE_EVERY`]; until a
//! group's nodes are known, its batches fit a node of the default size; while none is
//! live (restarting, say), they fit the nodes it had last.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aplex_core::DEFAULT_MAX_WORKS_PER_WORKER;

use crate::broker::Broker;
use crate::node::announce::{NodeInfo, ANNOUNCE_EVERY};
use crate::settings::batch_for_node;

/// The batch size for each group of nodes.
pub(crate) struct BatchSizes {
    max_batch: usize,
    digest: u64,
    /// Per group, the most works a batch holds for its nodes (when they are known).
    fitted: Mutex<HashMap<String, usize>>,
}

impl BatchSizes {
    /// Sizes of at most `max_batch`, for nodes of build `digest`.
    pub(crate) fn new(max_batch: usize, digest: u64) -> Self {
        BatchSizes {
            max_batch,
            digest,
            fitted: Mutex::new(HashMap::new()),
        }
    }

    /// The most works of one message for `group`.
    pub(crate) fn of(&self, group: &str) -> usize {
        let fitted = self.lock().get(group).copied();
        let fitted = fitted.unwrap_or_else(|| batch_for_node(DEFAULT_MAX_WORKS_PER_WORKER));
        fitted.min(self.max_batch)
    }

    /// The most works any message may hold.
    pub(crate) fn max(&self) -> usize {
        self.max_batch
    }

    /// Fits the sizes to the live `nodes` (those of other builds are not ours to feed);
    /// a group none of them is in keeps its size.
    pub(crate) fn fit_to(&self, nodes: &[NodeInfo]) {
        let mut smallest: HashMap<String, usize> = HashMap::new();
        for node in nodes.iter().filter(|node| node.digest == self.digest) {
            let slots = smallest.entry(node.group.clone()).or_insert(node.max_works);
            *slots = (*slots).min(node.max_works);
        }
        let mut fitted = self.lock();
        for (group, slots) in smallest {
            fitted.insert(group, batch_for_node(slots));
        }
    }

    /// Fits the sizes to the nodes `broker` lists now (if it can list them).
    pub(crate) async fn refit(&self, broker: &dyn Broker) {
        if let Ok(nodes) = NodeInfo::live(broker).await {
            self.fit_to(&nodes);
        }
    }

    /// Fits the sizes to the nodes `broker` lists every [`ANNOUNCE_EVERY`], for ever.
    pub(crate) async fn keep_fitted(self: Arc<Self>, broker: Arc<dyn Broker>) {
        loop {
            tokio::time::sleep(ANNOUNCE_EVERY).await;
            self.refit(&*broker).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.fitted.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(group: &str, digest: u64, max_works: usize) -> NodeInfo {
        NodeInfo {
            id: format!("{group}-{max_works}"),
            host: "here".into(),
            pid: 1,
            group: group.into(),
            digest,
            max_works,
            in_flight: 0,
        }
    }

    #[test]
    fn batches_fit_the_smallest_node_of_the_group_up_to_max_batch() {
        let sizes = BatchSizes::new(256, 7);
        assert_eq!(
            sizes.of("any"),
            75,
            "unknown nodes: a default node's quarter"
        );
        sizes.fit_to(&[
            node("any", 7, 50_000),
            node("gpu", 7, 8),
            node("gpu", 7, 40),
            node("slow", 7, 1),
            node("other", 8, 4),
        ]);
        assert_eq!(sizes.of("any"), 256, "big nodes: max_batch");
        assert_eq!(sizes.of("gpu"), 2, "a quarter of the smallest");
        assert_eq!(sizes.of("slow"), 1, "a one-slot node: every work alone");
        assert_eq!(sizes.of("other"), 75, "another build's nodes do not count");
        sizes.fit_to(&[node("gpu", 7, 400)]);
        assert_eq!(sizes.of("gpu"), 100, "refitted");
        assert_eq!(
            sizes.of("slow"),
            1,
            "a group with no live node keeps its size"
        );
        assert_eq!(BatchSizes::new(4, 7).of("any"), 4);
    }
}
