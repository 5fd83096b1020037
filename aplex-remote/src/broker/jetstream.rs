//! The [`Broker`] on NATS JetStream (async-nats): a work-queue stream of works and one
//! durable pull consumer per build and group of nodes (a node pulls only as many works as
//! it has free slots, so the least loaded node takes the next one); a limits stream of
//! results read by each submitter through an ordered consumer filtered on its subject;
//! cancels broadcast on a core subject; the server's max-deliveries advisories for works
//! it gave up on.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, push, AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::stream::{RetentionPolicy, StorageType};
use async_nats::jetstream::{self, AckKind, Context};
use async_nats::Client;
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;

use crate::broker::{Broker, BrokerError, Delivery, GaveUp, Incoming, QueueSettings};
use crate::names::PoolNames;
use crate::node::announce::ANNOUNCEMENT_TTL;
use crate::wire::{self, TaskHeaders};

/// How long the server remembers a work's id to drop a publish retried after a lost ack.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// How long a publish of works the server does not acknowledge (a lost ack, a stalled or
/// restarting server) is tried again before its works fail `Error::Broker`: half the
/// duplicate window, so a copy the server already stored is still dropped.
const REPUBLISH_FOR: Duration = Duration::from_secs(60);

/// The pause before the first publish again; it doubles each time, up to the longest.
const FIRST_REPUBLISH_PAUSE: Duration = Duration::from_millis(50);
const LONGEST_REPUBLISH_PAUSE: Duration = Duration::from_secs(2);

/// One pool's broker on a JetStream server.
pub(crate) struct JetStreamBroker {
    client: Client,
    jetstream: Context,
    names: PoolNames,
    settings: QueueSettings,
    consumers: Mutex<HashMap<String, PullConsumer>>,
}

impl JetStreamBroker {
    /// The broker of pool `names` over `client`.
    pub(crate) fn new(client: Client, names: PoolNames, settings: QueueSettings) -> Self {
        JetStreamBroker {
            jetstream: jetstream::new(client.clone()),
            client,
            names,
            settings,
            consumers: Mutex::new(HashMap::new()),
        }
    }

    async fn consumer(&self, digest: u64, group: &str) -> Result<PullConsumer, BrokerError> {
        let name = self.names.consumer(digest, group);
        if let Some(consumer) = self.lock().get(&name) {
            return Ok(consumer.clone());
        }
        let stream = self
            .jetstream
            .get_stream(self.names.tasks_stream())
            .await
            .map_err(BrokerError::from_display)?;
        let consumer: Result<PullConsumer, _> = stream
            .get_or_create_consumer(
                &name,
                pull::Config {
                    durable_name: Some(name.clone()),
                    filter_subject: self.names.task_subject(digest, group),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: self.settings.ack_wait,
                    max_deliver: i64::from(self.settings.max_deliveries),
                    max_ack_pending: -1,
                    ..Default::default()
                },
            )
            .await;
        let consumer = match consumer {
            Ok(consumer) => consumer,
            // Made meanwhile by another process (see `stream`).
            Err(error) => stream
                .get_consumer(&name)
                .await
                .map_err(|_| BrokerError::from_display(error))?,
        };
        self.lock().insert(name, consumer.clone());
        Ok(consumer)
    }

    /// Makes the stream `config` describes unless it exists, and gives its settings as
    /// the server holds them. Two processes making it at once race, and the loser's
    /// create fails: then it is there, which is all we need.
    async fn stream(
        &self,
        config: jetstream::stream::Config,
    ) -> Result<jetstream::stream::Config, BrokerError> {
        let name = config.name.clone();
        let made = match self.jetstream.get_or_create_stream(config).await {
            Ok(stream) => stream,
            Err(error) => self
                .jetstream
                .get_stream(&name)
                .await
                .map_err(|_| BrokerError::from_display(error))?,
        };
        Ok(made.cached_info().config.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PullConsumer>> {
        self.consumers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Broker for JetStreamBroker {
    async fn prepare(&self, digest: u64, group: &str) -> Result<QueueSettings, BrokerError> {
        let tasks = self
            .stream(jetstream::stream::Config {
                name: self.names.tasks_stream(),
                subjects: vec![self.names.tasks_subjects()],
                retention: RetentionPolicy::WorkQueue,
                storage: StorageType::File,
                max_age: self.settings.max_age,
                // The server refuses a window longer than the works live.
                duplicate_window: DUPLICATE_WINDOW.min(self.settings.max_age),
                ..Default::default()
            })
            .await?;
        self.stream(jetstream::stream::Config {
            name: self.names.results_stream(),
            subjects: vec![self.names.results_subjects()],
            retention: RetentionPolicy::Limits,
            storage: StorageType::File,
            max_age: Duration::from_secs(600),
            ..Default::default()
        })
        .await?;
        self.stream(jetstream::stream::Config {
            name: self.names.nodes_stream(),
            subjects: vec![self.names.node_subjects()],
            retention: RetentionPolicy::Limits,
            storage: StorageType::Memory,
            max_messages_per_subject: 1,
            max_age: ANNOUNCEMENT_TTL,
            ..Default::default()
        })
        .await?;
        let consumer = self
            .consumer(digest, group)
            .await?
            .cached_info()
            .config
            .clone();
        Ok(QueueSettings {
            ack_wait: consumer.ack_wait,
            max_deliveries: u32::try_from(consumer.max_deliver).unwrap_or(u32::MAX),
            max_age: tasks.max_age,
        })
    }

    async fn enqueue(
        &self,
        digest: u64,
        group: &str,
        task: &TaskHeaders,
        args: Bytes,
    ) -> Result<u64, BrokerError> {
        let subject = self.names.task_subject(digest, group);
        let headers = task.to_headers();
        let began = tokio::time::Instant::now();
        let mut pause = FIRST_REPUBLISH_PAUSE;
        loop {
            let published = async {
                self.jetstream
                    .publish_with_headers(subject.clone(), headers.clone(), args.clone())
                    .await?
                    .await
            };
            let error = match published.await {
                Ok(acknowledged) => return Ok(acknowledged.sequence),
                Err(error) => error,
            };
            let unanswered = matches!(
                error.kind(),
                PublishErrorKind::TimedOut
                    | PublishErrorKind::BrokenPipe
                    | PublishErrorKind::StreamNotFound
            );
            if !unanswered || began.elapsed() + pause > REPUBLISH_FOR {
                return Err(BrokerError::from_display(error));
            }
            // Stored or not, it is safe to send again: the server drops a copy of a
            // message id it has seen (the duplicate window), acknowledging the first.
            tracing::warn!(
                %error,
                task = %task.message,
                "aplex remote pool: a publish of works was not acknowledged; publishing it again"
            );
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LONGEST_REPUBLISH_PAUSE);
        }
    }

    async fn delete_queued(&self, sequence: u64) -> Result<bool, BrokerError> {
        let stream = self
            .jetstream
            .get_stream_no_info(self.names.tasks_stream())
            .await
            .map_err(BrokerError::from_display)?;
        // Not found: already delivered and acked (a work queue drops acked works).
        Ok(stream.delete_message(sequence).await.unwrap_or(false))
    }

    async fn fetch(
        &self,
        digest: u64,
        group: &str,
        max: usize,
        wait: Duration,
    ) -> Result<BoxStream<'static, Box<dyn Delivery>>, BrokerError> {
        let consumer = self.consumer(digest, group).await?;
        let batch = consumer
            .batch()
            .max_messages(max)
            .expires(wait)
            .messages()
            .await
            .map_err(BrokerError::from_display)?;
        Ok(batch
            .filter_map(|message| async move {
                match message {
                    Ok(message) => Some(Box::new(JetStreamDelivery(message)) as Box<dyn Delivery>),
                    Err(error) => {
                        tracing::debug!(%error, "aplex remote: a fetch ended early");
                        None
                    }
                }
            })
            .boxed())
    }

    async fn publish_results(
        &self,
        subject: &str,
        results: &[(u64, wire::ResultBody)],
    ) -> Result<(), BrokerError> {
        let (headers, body) = wire::encode_results(results);
        self.jetstream
            .publish_with_headers(subject.to_owned(), headers, body.into())
            .await
            .map_err(BrokerError::from_display)?
            .await
            .map_err(BrokerError::from_display)?;
        Ok(())
    }

    async fn broadcast_cancel(&self, id: &str) -> Result<(), BrokerError> {
        self.client
            .publish(self.names.cancel_subject(), Bytes::from(id.to_owned()))
            .await
            .map_err(BrokerError::from_display)
    }

    async fn results(&self, submitter: &str) -> Result<BoxStream<'static, Incoming>, BrokerError> {
        let stream = self
            .jetstream
            .get_stream(self.names.results_stream())
            .await
            .map_err(BrokerError::from_display)?;
        let consumer = stream
            .create_consumer(push::OrderedConfig {
                deliver_subject: self.client.new_inbox(),
                filter_subject: self.names.result_subject(submitter),
                deliver_policy: DeliverPolicy::New,
                ..Default::default()
            })
            .await
            .map_err(BrokerError::from_display)?;
        let messages = consumer
            .messages()
            .await
            .map_err(BrokerError::from_display)?;
        Ok(messages
            .filter_map(|message| async move {
                let message = message.ok()?;
                Some(wire::decode_results(
                    message.headers.as_ref(),
                    &message.payload,
                ))
            })
            .boxed())
    }

    async fn cancels(&self) -> Result<BoxStream<'static, String>, BrokerError> {
        let subscriber = self
            .client
            .subscribe(self.names.cancel_subject())
            .await
            .map_err(BrokerError::from_display)?;
        Ok(subscriber
            .map(|message| String::from_utf8_lossy(&message.payload).into_owned())
            .boxed())
    }

    async fn announce(&self, node: &str, info: Vec<u8>) -> Result<(), BrokerError> {
        self.jetstream
            .publish(self.names.node_subject(node), info.into())
            .await
            .map_err(BrokerError::from_display)?
            .await
            .map(drop)
            .map_err(BrokerError::from_display)
    }

    async fn withdraw(&self, node: &str) -> Result<(), BrokerError> {
        let stream = self
            .jetstream
            .get_stream_no_info(self.names.nodes_stream())
            .await
            .map_err(BrokerError::from_display)?;
        stream
            .purge()
            .filter(self.names.node_subject(node))
            .await
            .map(drop)
            .map_err(BrokerError::from_display)
    }

    async fn announcements(&self) -> Result<Vec<Vec<u8>>, BrokerError> {
        self.live_announcements().await
    }

    async fn gave_up(&self) -> Result<BoxStream<'static, GaveUp>, BrokerError> {
        let subject = format!(
            "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{}.*",
            self.names.tasks_stream()
        );
        let subscriber = self
            .client
            .subscribe(subject)
            .await
            .map_err(BrokerError::from_display)?;
        Ok(subscriber
            .filter_map(|message| async move {
                let advisory: serde_json::Value = serde_json::from_slice(&message.payload).ok()?;
                Some(GaveUp {
                    sequence: advisory.get("stream_seq")?.as_u64()?,
                    deliveries: u32::try_from(advisory.get("deliveries")?.as_u64()?).ok()?,
                })
            })
            .boxed())
    }
}

/// The announcements half of the broker: one subject per node on the nodes stream,
/// which keeps the last message of each and drops those older than the TTL.
impl JetStreamBroker {
    async fn live_announcements(&self) -> Result<Vec<Vec<u8>>, BrokerError> {
        let stream = self
            .jetstream
            .get_stream(self.names.nodes_stream())
            .await
            .map_err(BrokerError::from_display)?;
        let mut subjects = stream
            .info_with_subjects(self.names.node_subjects())
            .await
            .map_err(BrokerError::from_display)?;
        let mut names = Vec::new();
        while let Some(subject) = subjects.next().await {
            if let Ok((subject, _)) = subject {
                names.push(subject);
            }
        }
        let mut found = Vec::new();
        for subject in names {
            if let Ok(message) = stream.get_last_raw_message_by_subject(&subject).await {
                found.push(message.payload.to_vec());
            }
        }
        Ok(found)
    }
}

/// A work fetched from JetStream.
struct JetStreamDelivery(jetstream::Message);

#[async_trait]
impl Delivery for JetStreamDelivery {
    fn task(&self) -> Result<TaskHeaders, String> {
        TaskHeaders::parse(self.0.headers.as_ref())
    }

    fn payload(&self) -> Bytes {
        self.0.payload.clone()
    }

    fn attempt(&self) -> u32 {
        self.0
            .info()
            .map(|info| u32::try_from(info.delivered).unwrap_or(u32::MAX))
            .unwrap_or(1)
    }

    async fn ack(&self) -> Result<(), BrokerError> {
        self.0.ack().await.map_err(BrokerError::from_display)
    }

    async fn progress(&self) -> Result<(), BrokerError> {
        self.0
            .ack_with(AckKind::Progress)
            .await
            .map_err(BrokerError::from_display)
    }

    async fn term(&self) -> Result<(), BrokerError> {
        self.0
            .ack_with(AckKind::Term)
            .await
            .map_err(BrokerError::from_display)
    }

    async fn nak(&self, delay: Duration) -> Result<(), BrokerError> {
        self.0
            .ack_with(AckKind::Nak((!delay.is_zero()).then_some(delay)))
            .await
            .map_err(BrokerError::from_display)
    }
}
