//! Bad input reaches the remote pool and its nodes without harm: a payload over the
//! server's `max_payload` fails its own future with `Error::Broker`; malformed messages
//! on the pool's task subject are terminated or answered with an error, never crash a
//! node or resolve another work's future; a work a node lacks is answered `UnknownWork`;
//! a work queued by another build (another registry digest) is never taken; a group of
//! nodes no node could have (a meta with a dot) is refused at submit; queue settings the
//! server does not hold are refused at build, and a node whose heartbeat the server's
//! `ack_wait` does not leave room for beats faster rather than have its works run again.

extern crate aplex_facade as aplex;

mod support;

use std::time::Duration;

use aplex::remote::{NatsServer, NodeBuilder};
use aplex::Error;
use aplex_core::registry::wire_error::WireError;
use async_nats::HeaderMap;
use futures::StreamExt;

#[aplex::work]
async fn byte_count(bytes: Vec<u8>) -> usize {
    bytes.len()
}

#[aplex::work]
async fn triple(x: u64) -> u64 {
    x * 3
}

/// How many times `counted_nap` began.
static NAPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Counts its start, then naps `ms`.
#[aplex::work]
async fn counted_nap(ms: u64) -> u64 {
    NAPS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

#[test]
fn a_payload_over_the_servers_limit_fails_its_own_future() {
    let server = NatsServer::start_with_config("max_payload: 4096\n").unwrap();
    let _node = NodeBuilder::new(server.url(), "big").start().unwrap();
    let pool = support::builder(&server).pool("big").build().unwrap();
    let error = pool
        .submit(byte_count, vec![7u8; 64 * 1024])
        .result()
        .unwrap_err();
    assert!(
        matches!(&error, Error::Broker { reason } if reason.contains("exceeded")),
        "{error:?}"
    );
    assert_eq!(
        pool.submit(byte_count, vec![7u8; 100]).result(),
        Ok(100),
        "small ones pass"
    );
}

/// The result body a node publishes (`Result<outcomes, WireError>`).
type Body = Result<serde_bytes::ByteBuf, WireError>;

#[test]
fn malformed_and_unknown_works_are_refused_and_the_node_serves_on() {
    let server = NatsServer::start().unwrap();
    let _node = NodeBuilder::new(server.url(), "rough").start().unwrap();
    let pool = support::builder(&server).pool("rough").build().unwrap();
    assert_eq!(pool.submit(triple, 1).result(), Ok(3));
    let digest = aplex_core::registry::registry().digest();
    let subject = format!("aplex.rough.task.{digest:016x}.any");
    let answers: Vec<(String, Body)> = support::block_on(async {
        let client = async_nats::connect(server.url().as_str()).await.unwrap();
        let mut replies = client.subscribe("aplex.rough.result.tester").await.unwrap();
        let headers = |id: &str, work: &str, kind: &str| {
            task_headers(id, work, kind, "aplex.rough.result.tester", u64::MAX)
        };
        // No headers at all; a kind that does not exist: terminated, nobody to answer.
        client
            .publish(subject.clone(), "garbage".into())
            .await
            .unwrap();
        client
            .publish_with_headers(subject.clone(), headers("t.1", "x", "sideways"), "x".into())
            .await
            .unwrap();
        // A real work with arguments that are not its type; a work nobody registered.
        let triple_name = aplex_core::registry::type_name_of(&triple);
        client
            .publish_with_headers(
                subject.clone(),
                headers("t.2", triple_name, "async"),
                "\u{1}\u{2}".into(),
            )
            .await
            .unwrap();
        client
            .publish_with_headers(
                subject.clone(),
                headers("t.3", "no::such::work", "async"),
                "".into(),
            )
            .await
            .unwrap();
        let mut answers = Vec::new();
        while answers.len() < 2 {
            let message = tokio::time::timeout(Duration::from_secs(30), replies.next())
                .await
                .expect("the node answers")
                .unwrap();
            let id = message
                .headers
                .as_ref()
                .unwrap()
                .get("Aplex-Id")
                .unwrap()
                .as_str()
                .to_owned();
            let body: Body = rmp_serde::from_slice(&message.payload).unwrap();
            answers.push((id, body));
        }
        answers.sort_by(|a, b| a.0.cmp(&b.0));
        answers
    });
    assert_eq!(answers[0].0, "2", "results name the work by its number");
    assert!(
        matches!(answers[0].1, Err(WireError::Serialization { .. })),
        "{:?}",
        answers[0]
    );
    assert_eq!(
        answers[1],
        (
            "3".to_owned(),
            Err(WireError::UnknownWork("no::such::work".into()))
        )
    );
    // The node took all of that and serves on; no other future was touched.
    assert_eq!(pool.submit(triple, 2).result(), Ok(6));
}

static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[aplex::work]
async fn count_start(_: ()) -> usize {
    STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1
}

#[test]
fn a_work_past_its_expiry_is_never_started() {
    // What a dead submitter leaves behind: works whose expiry has passed.
    let server = NatsServer::start().unwrap();
    let _node = NodeBuilder::new(server.url(), "expiry").start().unwrap();
    let pool = support::builder(&server).pool("expiry").build().unwrap();
    let digest = aplex_core::registry::registry().digest();
    support::block_on(async {
        let client = async_nats::connect(server.url().as_str()).await.unwrap();
        let work = aplex_core::registry::type_name_of(&count_start);
        let headers = task_headers("gone.1", work, "async", "aplex.expiry.result.gone", 1);
        let args = aplex_core::registry::framed::encode_each([()], "count_start", "arguments").0;
        client
            .publish_with_headers(
                format!("aplex.expiry.task.{digest:016x}.any"),
                headers,
                args.into_vec().into(),
            )
            .await
            .unwrap();
        client.flush().await.unwrap();
    });
    // The node takes works in order: once a later one ran, the expired one was seen.
    assert_eq!(
        pool.submit(count_start, ()).result(),
        Ok(1),
        "only the live work started"
    );
}

#[test]
fn a_node_never_takes_a_work_of_another_build() {
    // Another build's submitter (its registry digest differs) queues a work by a name
    // this build also has; this build's node must leave it, and serve its own.
    let server = NatsServer::start().unwrap();
    let _node = NodeBuilder::new(server.url(), "builds").start().unwrap();
    let pool = support::builder(&server).pool("builds").build().unwrap();
    let other_build = aplex_core::registry::registry().digest() ^ 1;
    support::block_on(async {
        let client = async_nats::connect(server.url().as_str()).await.unwrap();
        let work = aplex_core::registry::type_name_of(&triple);
        let headers = task_headers(
            "other.1",
            work,
            "async",
            "aplex.builds.result.other",
            u64::MAX,
        );
        let args = aplex_core::registry::framed::encode_each([1u64], "triple", "arguments").0;
        let jetstream = async_nats::jetstream::new(client);
        jetstream
            .publish_with_headers(
                format!("aplex.builds.task.{other_build:016x}.any"),
                headers,
                args.into_vec().into(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    });
    // The node serves this build's works queued after it...
    for x in 0..50u64 {
        assert_eq!(pool.submit(triple, x).result(), Ok(x * 3));
    }
    // ...and the other build's is still there, untouched.
    let left = support::block_on(async {
        let mut stream = support::tasks_stream(&server, "builds").await;
        let info = stream.info().await.unwrap();
        (info.state.messages, info.state.first_sequence)
    });
    assert_eq!(
        left,
        (1, 1),
        "the other build's work is still queued, alone"
    );
}

/// The headers of a task published by hand, as a submitter writes them, for the work
/// named `<submitter>.<number>`.
fn task_headers(id: &str, work: &str, kind: &str, reply: &str, expires_ms: u64) -> HeaderMap {
    let (submitter, number) = id.rsplit_once('.').expect("<submitter>.<number>");
    let mut headers = HeaderMap::new();
    headers.insert("Aplex-Submitter", submitter);
    headers.insert("Aplex-Id", number);
    headers.insert("Aplex-Work", work);
    headers.insert("Aplex-Kind", kind);
    headers.insert("Aplex-Reply", reply);
    headers.insert("Aplex-Expires", expires_ms.to_string().as_str());
    headers
}

#[test]
fn a_group_no_node_could_serve_is_refused_at_submit() {
    let server = NatsServer::start().unwrap();
    let pool = support::builder(&server).pool("groups").build().unwrap();
    let options = aplex::WorkOptions::new().meta("gpu.a100");
    match pool.submit_with(triple, 1, options.clone()).result() {
        Err(Error::InvalidConfig { setting, message }) => {
            assert_eq!(setting, "meta");
            assert!(message.contains("gpu.a100"), "{message}");
        }
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    let mapped: Vec<_> = pool
        .map(triple, [1, 2])
        .meta("gpu.a100")
        .keep_going()
        .collect();
    assert!(
        mapped
            .iter()
            .all(|result| matches!(result, Err(Error::InvalidConfig { .. }))),
        "{mapped:?}"
    );
}

#[test]
fn queue_settings_the_server_does_not_hold_are_refused_at_build_by_name() {
    let server = NatsServer::start().unwrap();
    let first = support::builder(&server).pool("settled").build().unwrap();
    let later = || support::builder(&server).pool("settled");
    for (refused, setting) in [
        (later().ack_wait(Duration::from_secs(1)).build(), "ack_wait"),
        (later().max_deliveries(5).build(), "max_deliveries"),
        (
            later().queued_expiry(Duration::from_secs(7_200)).build(),
            "queued_expiry",
        ),
    ] {
        let error = refused.expect_err("refused");
        assert_eq!(error.setting(), Some(setting), "{error}");
        assert!(error.to_string().contains("pool `settled`"), "{error}");
    }
    // The values the server holds, a shorter expiry, or the defaults: built, and served.
    let _node = NodeBuilder::new(server.url(), "settled").start().unwrap();
    let same = later()
        .ack_wait(aplex::remote::DEFAULT_ACK_WAIT)
        .queued_expiry(Duration::from_secs(600))
        .build()
        .unwrap();
    assert_eq!(same.submit(triple, 2).result(), Ok(6));
    assert_eq!(first.submit(triple, 3).result(), Ok(9));
}

#[test]
fn a_node_beats_within_the_ack_wait_the_server_holds_and_runs_each_work_once() {
    let server = NatsServer::start().unwrap();
    // The pool makes the queue with a 1 s ack_wait; the node is left at its defaults
    // (a 15 s ack_wait, a 5 s heartbeat), which the server does not hold.
    let pool = support::builder(&server)
        .pool("beats")
        .ack_wait(Duration::from_secs(1))
        .build()
        .unwrap();
    let _node = NodeBuilder::new(server.url(), "beats").start().unwrap();
    assert_eq!(pool.submit(counted_nap, 2_500).result(), Ok(2_500));
    assert_eq!(
        NAPS.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "never redelivered while it ran"
    );
}
