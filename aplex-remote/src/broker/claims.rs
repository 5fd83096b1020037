//! Claims on batch messages (`Broker::claim`): one subject per message on the pool's
//! claims stream, which keeps one message per subject; a claim is a publish that expects
//! the subject empty, so the first claimant wins and a later one reads who did. A node
//! releases its claim (deletes it) once it is done with the batch, however it ended, so
//! the stream holds only the claims of batches held now (and those of nodes that died,
//! until the stream's age limit).

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;

use crate::broker::jetstream::JetStreamBroker;
use crate::broker::{BrokerError, Claim, Claimant};

impl JetStreamBroker {
    pub(crate) async fn claim_message(
        &self,
        message: &str,
        claimant: Claimant,
    ) -> Result<Claim, BrokerError> {
        let subject = self.names.claim_subject(message);
        let first = async {
            self.jetstream
                .send_publish(
                    subject.clone(),
                    PublishMessage::build()
                        .payload(Bytes::from_static(claimant.as_bytes()))
                        .expected_last_subject_sequence(0),
                )
                .await?
                .await
        };
        match first.await {
            Ok(acknowledged) => {
                return Ok(Claim {
                    holder: claimant,
                    sequence: acknowledged.sequence,
                })
            }
            Err(error) if error.kind() == PublishErrorKind::WrongLastSequence => {}
            Err(error) => return Err(BrokerError::from_display(error)),
        }
        // Claimed before: by whom.
        let held = self
            .claims()
            .await?
            .get_last_raw_message_by_subject(&subject)
            .await
            .map_err(BrokerError::from_display)?;
        let holder = if held.payload.as_ref() == Claimant::Submitter.as_bytes() {
            Claimant::Submitter
        } else {
            Claimant::Node
        };
        Ok(Claim {
            holder,
            sequence: held.sequence,
        })
    }

    pub(crate) async fn release_claim(&self, sequence: u64) -> Result<(), BrokerError> {
        self.claims()
            .await?
            .delete_message(sequence)
            .await
            .map(drop)
            .map_err(BrokerError::from_display)
    }

    async fn claims(&self) -> Result<async_nats::jetstream::stream::Stream<()>, BrokerError> {
        self.jetstream
            .get_stream_no_info(self.names.claims_stream())
            .await
            .map_err(BrokerError::from_display)
    }
}
