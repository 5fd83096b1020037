//! `Broker`: the small async trait the remote pool's data path goes through — enqueue,
//! fetch, ack, progress, term, publish a result, broadcast a cancel, purge — so the pool
//! and its nodes never name the server's client. NATS JetStream implements it
//! ([`jetstream`]); another broker (Redis Streams, say) would be one more file.

pub(crate) mod jetstream;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

use crate::wire::{ResultBody, TaskHeaders};

/// What went wrong talking to the broker, as its client said it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BrokerError(pub(crate) String);

impl BrokerError {
    /// An error from any displayable cause.
    pub(crate) fn from_display(error: impl std::fmt::Display) -> Self {
        BrokerError(error.to_string())
    }
}

/// How the server holds one pool's works.
#[derive(Debug, Clone)]
pub(crate) struct QueueSettings {
    /// How long a node may hold a work without a heartbeat before it is redelivered.
    pub(crate) ack_wait: Duration,
    /// How many times a work is delivered before the broker gives up on it.
    pub(crate) max_deliveries: u32,
    /// How long a queued work waits for a node before the server drops it.
    pub(crate) max_age: Duration,
}

/// A message fetched from the queue, held until it is acked, termed or given back.
#[async_trait]
pub(crate) trait Delivery: Send + Sync {
    /// Its headers, or what is wrong with them.
    fn task(&self) -> Result<TaskHeaders, String>;
    /// Its payload: the work's encoded arguments, or the batch's.
    fn payload(&self) -> Bytes;
    /// Which delivery of the work this is (1 for the first).
    fn attempt(&self) -> u32;
    /// Done: never deliver it again.
    async fn ack(&self) -> Result<(), BrokerError>;
    /// Still running: restart the server's redelivery clock.
    async fn progress(&self) -> Result<(), BrokerError>;
    /// Give up on it: never deliver it again (it was answered with an error).
    async fn term(&self) -> Result<(), BrokerError>;
    /// Give it back, for another node: delivered again after `delay` (at once if zero).
    async fn nak(&self, delay: Duration) -> Result<(), BrokerError>;
}

/// A result message as the submitter receives it: each work's number and result, or
/// what is wrong with the message.
pub(crate) type Incoming = Result<Vec<(u64, ResultBody)>, String>;

/// A work the broker gave up on after its last delivery: its queue sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GaveUp {
    pub(crate) sequence: u64,
    pub(crate) deliveries: u32,
}

/// The data path of one remote pool.
#[async_trait]
pub(crate) trait Broker: Send + Sync + 'static {
    /// Makes the pool's streams, and the queue consumer of nodes of build `digest` in
    /// `group`, unless they exist; the queue's settings as the server holds them (those
    /// of whoever made the queue first, which may not be this process's).
    async fn prepare(&self, digest: u64, group: &str) -> Result<QueueSettings, BrokerError>;
    /// Queues a message of works (one, or a batch: see [`crate::wire`]) for the nodes of
    /// build `digest` in `group`; its sequence number.
    async fn enqueue(
        &self,
        digest: u64,
        group: &str,
        task: &TaskHeaders,
        args: Bytes,
    ) -> Result<u64, BrokerError>;

    /// Removes a queued message; whether it was still there (not acked yet).
    async fn delete_queued(&self, sequence: u64) -> Result<bool, BrokerError>;
    /// Fetches up to `max` works for a node of build `digest` in `group`, as they come,
    /// waiting at most `wait` for them.
    async fn fetch(
        &self,
        digest: u64,
        group: &str,
        max: usize,
        wait: Duration,
    ) -> Result<BoxStream<'static, Box<dyn Delivery>>, BrokerError>;
    /// Publishes the results of works (each number with its result) to `subject` (their
    /// submitter's), as one message; done once the server stored it.
    async fn publish_results(
        &self,
        subject: &str,
        results: &[(u64, ResultBody)],
    ) -> Result<(), BrokerError>;
    /// Tells every node to abort work `id` if it holds it (`<submitter>.*`: every work of
    /// that submitter).
    async fn broadcast_cancel(&self, id: &str) -> Result<(), BrokerError>;
    /// The results published for `submitter`, from now on.
    async fn results(&self, submitter: &str) -> Result<BoxStream<'static, Incoming>, BrokerError>;
    /// The ids of works to abort, as broadcast.
    async fn cancels(&self) -> Result<BoxStream<'static, String>, BrokerError>;
    /// The works the broker gave up on after their last delivery.
    async fn gave_up(&self) -> Result<BoxStream<'static, GaveUp>, BrokerError>;
    /// Puts (or renews) node `node`'s announcement.
    async fn announce(&self, node: &str, info: Vec<u8>) -> Result<(), BrokerError>;
    /// Withdraws node `node`'s announcement.
    async fn withdraw(&self, node: &str) -> Result<(), BrokerError>;
    /// Every live announcement.
    async fn announcements(&self) -> Result<Vec<Vec<u8>>, BrokerError>;
}
