//! A node's outbox: its works' results go to their submitters in batches — whatever is
//! ready while earlier messages are on their way (at most [`PUBLISHES_IN_FLIGHT`] at once)
//! leaves together, one message per submitter and at most 256 KiB each — so a
//! busy node pays the server once for many results and an idle one sends each at once.
//! Each result's sender learns whether the server stored it.

use std::sync::Arc;

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::Semaphore;

use crate::broker::Broker;
use crate::node::answer::Receipt;
use crate::wire::ResultBody;

/// Result messages on their way at once.
const PUBLISHES_IN_FLIGHT: usize = 4;
/// The most results taken from the outbox for one round of messages.
const MAX_RESULTS: usize = 1_024;
/// The most bytes a work's number takes in a result batch (a MessagePack `u64`).
const ID_BYTES: usize = 9;

/// One result on its way.
struct Outgoing {
    reply: Arc<str>,
    id: u64,
    result: ResultBody,
    receipt: Receipt,
}

/// Where a node's works put their results.
#[derive(Clone)]
pub(crate) struct Outbox(UnboundedSender<Outgoing>);

impl Outbox {
    /// An outbox publishing through `broker` from a task of the current runtime.
    pub(crate) fn start(broker: Arc<dyn Broker>) -> Outbox {
        let (sender, receiver) = unbounded_channel();
        tokio::spawn(run(broker, receiver));
        Outbox(sender)
    }

    /// Sends work `id`'s `result` to `reply`; `receipt` is told how it went.
    pub(crate) fn send(&self, reply: Arc<str>, id: u64, result: ResultBody, receipt: Receipt) {
        let outgoing = Outgoing {
            reply,
            id,
            result,
            receipt,
        };
        if let Err(refused) = self.0.send(outgoing) {
            refused.0.receipt.stored(false);
        }
    }
}

/// Publishes what comes in, in batches, until every sender is gone.
async fn run(broker: Arc<dyn Broker>, mut incoming: UnboundedReceiver<Outgoing>) {
    let slots = Arc::new(Semaphore::new(PUBLISHES_IN_FLIGHT));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let Some(first) = incoming.recv().await else {
            return;
        };
        let mut ready = vec![first];
        while ready.len() < MAX_RESULTS {
            match incoming.try_recv() {
                Ok(next) => ready.push(next),
                Err(_) => break,
            }
        }
        let slot = Arc::new(slot);
        let same = |a: &Outgoing, b: &Outgoing| a.reply == b.reply;
        let size = |outgoing: &Outgoing| match &outgoing.result {
            Ok(bytes) => bytes.len() + ID_BYTES,
            Err(_) => 64 + ID_BYTES,
        };
        for batch in crate::batches::cut(ready, same, size, |_| MAX_RESULTS) {
            let (broker, slot) = (Arc::clone(&broker), Arc::clone(&slot));
            tokio::spawn(async move {
                publish(&*broker, batch).await;
                drop(slot);
            });
        }
    }
}

/// Publishes one batch (all to one submitter) and tells each sender.
async fn publish(broker: &dyn Broker, batch: Vec<Outgoing>) {
    let Some(reply) = batch.first().map(|outgoing| Arc::clone(&outgoing.reply)) else {
        return;
    };
    let mut results = Vec::with_capacity(batch.len());
    let mut told = Vec::with_capacity(batch.len());
    for outgoing in batch {
        results.push((outgoing.id, outgoing.result));
        told.push(outgoing.receipt);
    }
    let stored = match broker.publish_results(&reply, &results).await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, results = results.len(), "aplex remote node could not publish results");
            false
        }
    };
    for receipt in told {
        receipt.stored(stored);
    }
}
