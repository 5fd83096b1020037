//! What the remote tests read off the server itself: how many works wait on a pool's
//! queue, in how many messages (a batch message carries several).

use aplex::remote::NatsServer;

/// Works in the messages on pool `pool`'s tasks stream now.
#[allow(dead_code)] // not every test binary counts
pub(crate) fn works_queued(server: &NatsServer, pool: &str) -> usize {
    works_per_message(server, pool).iter().sum()
}

/// The works in each message on pool `pool`'s tasks stream now: one per message with an
/// `Aplex-Id`, and a batch's (`Aplex-Batch`) listed in its payload.
pub(crate) fn works_per_message(server: &NatsServer, pool: &str) -> Vec<usize> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = async_nats::connect(server.url()).await.unwrap();
        let jetstream = async_nats::jetstream::new(client);
        let mut stream = jetstream
            .get_stream(format!("APLEX_{pool}_TASKS"))
            .await
            .unwrap();
        let state = stream.info().await.unwrap().state.clone();
        let mut works = Vec::new();
        if state.messages == 0 {
            return works;
        }
        for sequence in state.first_sequence..=state.last_sequence {
            let Ok(message) = stream.get_raw_message(sequence).await else {
                continue;
            };
            works.push(if message.headers.get("Aplex-Batch").is_some() {
                let listed: Vec<(String, serde_bytes::ByteBuf)> =
                    rmp_serde::from_slice(&message.payload).unwrap();
                listed.len()
            } else {
                1
            });
        }
        works
    })
}
