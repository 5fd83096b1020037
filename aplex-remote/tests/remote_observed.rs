//! Faults the remote pool and its nodes ride out, watched through what they log (a global
//! `tracing` subscriber, so in a binary of its own):
//! - a stopping node hands works back without spending their deliveries: while it
//!   drains, its fetches stay open on the server, so a work it handed back at once came
//!   straight back to it, and was handed back again, until the server gave up on it
//!   (`Undeliverable`) with another node waiting; now the work goes to the other node;
//! - a publish of works the server does not acknowledge (here: the server paused with
//!   `SIGSTOP` past the publish's ack timeout) is sent again, and the server drops the
//!   copy: the work runs once and its future gets its result (it failed `Broker` though
//!   the server had stored the work, which then ran unseen);
//! - `shutdown_now` while a publish of works is in flight waits for it to land and
//!   deletes what it queued (the works had run after the abort).

extern crate aplex_facade as aplex;

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use aplex::remote::{NatsServer, NodeBuilder, DEFAULT_MAX_DELIVERIES};
use support::NodeProcess;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

const ACK_WAIT: Duration = Duration::from_millis(1_000);

/// Set once `pid_unless_in` holds on in this process.
static HOLDING: AtomicBool = AtomicBool::new(false);

/// Holds on for ever in process `holder`; anywhere else, answers with its process id.
#[aplex::work]
async fn pid_unless_in(holder: u32) -> u32 {
    if std::process::id() == holder {
        HOLDING.store(true, Ordering::SeqCst);
        std::future::pending::<()>().await;
    }
    std::process::id()
}

#[aplex::work]
async fn plus_one(x: u64) -> u64 {
    x + 1
}

/// How many times `counted` ran.
static COUNTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[aplex::work]
async fn counted(_: ()) -> u8 {
    COUNTED.fetch_add(1, Ordering::SeqCst);
    1
}

/// Sends `signal` (`-STOP`, `-CONT`) to `server`.
fn signal(server: &NatsServer, signal: &str) {
    support::signal(server.pid().unwrap(), signal);
}

/// The message of every event heard, in this process.
struct Heard;

fn heard() -> &'static Mutex<Vec<String>> {
    static HEARD: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    HEARD.get_or_init(|| {
        tracing::subscriber::set_global_default(Heard).unwrap();
        Mutex::new(Vec::new())
    })
}

/// Whether an event whose message contains `needle` was heard.
fn was_heard(needle: &str) -> bool {
    heard()
        .lock()
        .unwrap()
        .iter()
        .any(|message| message.contains(needle))
}

struct Message(Option<String>);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

impl Subscriber for Heard {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut message = Message(None);
        event.record(&mut message);
        if let Some(message) = message.0 {
            heard().lock().unwrap().push(message);
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn works_fetched_by_a_stopping_node_keep_their_deliveries_for_another_node() {
    heard();
    let server = NatsServer::start().unwrap();
    let pool = support::builder(&server)
        .pool("handback")
        .ack_wait(ACK_WAIT)
        .build()
        .unwrap();
    // A node in this process, with fetches open for the slots it has free.
    let stopping = NodeBuilder::new(server.url(), "handback")
        .queue(ACK_WAIT, DEFAULT_MAX_DELIVERIES, Duration::from_secs(600))
        .heartbeat(Duration::from_millis(250))
        .max_works_per_worker(64)
        .shutdown_grace(Duration::from_secs(2))
        .start()
        .unwrap();
    let held = pool.submit(pid_unless_in, std::process::id());
    support::wait_until("the first work holds on the node in this process", || {
        HOLDING.load(Ordering::SeqCst)
    });
    // The node drains (for its grace period, as the held work never ends), its fetches
    // still open; a work submitted now can only reach it, and is handed back.
    let stopper = std::thread::spawn(move || stopping.stop());
    support::wait_until("the node says it is stopping", || {
        was_heard("node stopping")
    });
    let fetched_while_stopping = pool.submit(pid_unless_in, std::process::id());
    stopper.join().unwrap().unwrap();
    // Both works, handed back, run on the node that comes next.
    let other = NodeProcess::start(&server, "handback", ACK_WAIT, &[]);
    assert_eq!(fetched_while_stopping.result(), Ok(other.0.id()));
    assert_eq!(held.result(), Ok(other.0.id()));
}

#[test]
fn a_publish_the_server_does_not_acknowledge_is_sent_again_and_its_work_runs_once() {
    heard();
    let server = NatsServer::start().unwrap();
    let pool = support::builder(&server).pool("unacked").build().unwrap();
    let _node = NodeBuilder::new(server.url(), "unacked").start().unwrap();
    assert_eq!(pool.submit(plus_one, 1).result(), Ok(2), "served");
    signal(&server, "-STOP");
    let future = pool.submit(plus_one, 41);
    support::wait_until("the publish goes unacknowledged", || {
        future.done() || was_heard("was not acknowledged")
    });
    signal(&server, "-CONT");
    assert_eq!(future.result(), Ok(42));
    assert_eq!(
        support::works_queued(&server, "unacked"),
        0,
        "no copy left queued"
    );
}

#[test]
fn works_whose_publish_is_in_flight_when_the_pool_aborts_never_run() {
    heard();
    let server = NatsServer::start().unwrap();
    let pool = support::builder(&server).pool("aborted").build().unwrap();
    signal(&server, "-STOP");
    let aborted = pool.submit(counted, ());
    let aborting = std::thread::spawn(move || pool.shutdown_now());
    support::wait_until("the pool aborts, or waits for its publish", || {
        aborted.done() || was_heard("waiting for the publishes in flight")
    });
    signal(&server, "-CONT");
    aborting.join().unwrap();
    assert_eq!(aborted.result(), Err(aplex::Error::Cancelled));
    // Had the work stayed queued, it would run before a work queued after it.
    let _node = NodeBuilder::new(server.url(), "aborted").start().unwrap();
    let later = support::builder(&server).pool("aborted").build().unwrap();
    assert_eq!(later.submit(plus_one, 1).result(), Ok(2));
    support::wait_until("nothing is left to run", || {
        support::messages_queued(&server, "aborted") == 0
            && later
                .nodes()
                .is_ok_and(|nodes| nodes.iter().all(|node| node.in_flight == 0))
    });
    assert_eq!(
        COUNTED.load(Ordering::SeqCst),
        0,
        "the aborted work never ran"
    );
}
