//! A stopping node hands works back without spending their deliveries: while it drains,
//! its fetches stay open on the server, so a work it handed back at once came straight
//! back to it, and was handed back again, until the server gave up on it
//! (`Undeliverable`) with another node waiting. Now the work goes to the other node. In
//! a binary of its own, because it installs a global `tracing` subscriber to hear the
//! node (in this process) say it is stopping.

extern crate aplex_facade as aplex;

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aplex::remote::{NatsServer, NodeBuilder, DEFAULT_MAX_DELIVERIES};
use support::NodeProcess;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

const ACK_WAIT: Duration = Duration::from_millis(1_000);

/// Set once `pid_unless_in` holds on in this process.
static HOLDING: AtomicBool = AtomicBool::new(false);

/// Set once a node in this process said it is stopping.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Holds on for ever in process `holder`; anywhere else, answers with its process id.
#[aplex::work]
async fn pid_unless_in(holder: u32) -> u32 {
    if std::process::id() == holder {
        HOLDING.store(true, Ordering::SeqCst);
        std::future::pending::<()>().await;
    }
    std::process::id()
}

/// Hears every event, and sets [`STOPPING`] at the node's "stopping" one.
struct HearStop;

struct SaysStopping(bool);

impl Visit for SaysStopping {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" && format!("{value:?}").contains("node stopping") {
            self.0 = true;
        }
    }
}

impl Subscriber for HearStop {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut says = SaysStopping(false);
        event.record(&mut says);
        if says.0 {
            STOPPING.store(true, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn works_fetched_by_a_stopping_node_keep_their_deliveries_for_another_node() {
    tracing::subscriber::set_global_default(HearStop).unwrap();
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
        STOPPING.load(Ordering::SeqCst)
    });
    let fetched_while_stopping = pool.submit(pid_unless_in, std::process::id());
    stopper.join().unwrap().unwrap();
    // Both works, handed back, run on the node that comes next.
    let other = NodeProcess::start(&server, "handback", ACK_WAIT, &[]);
    assert_eq!(fetched_while_stopping.result(), Ok(other.0.id()));
    assert_eq!(held.result(), Ok(other.0.id()));
}
