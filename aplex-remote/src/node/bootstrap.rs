//! The zero-line node: a program started with `APLEX_REMOTE_URL` and `APLEX_REMOTE_POOL`
//! in its environment serves that pool as a node before `main` runs, and exits when the
//! node stops (0) or cannot start (70) — the process pool's trick, for remote nodes.
//!
//! Optional: `APLEX_REMOTE_GROUP`, `APLEX_REMOTE_MAX_WORKS`, `APLEX_REMOTE_ACK_WAIT_MS`,
//! `APLEX_REMOTE_HEARTBEAT_MS`, `APLEX_REMOTE_GRACE_MS`, `APLEX_REMOTE_WORKER_STATE` (the
//! path of a `#[aplex::worker_state]` function), and credentials:
//! `APLEX_REMOTE_USER` with `APLEX_REMOTE_PASSWORD`, `APLEX_REMOTE_TOKEN`,
//! `APLEX_REMOTE_CREDS` (a creds file), `APLEX_REMOTE_ROOT_CA` (for `tls://`).

use std::time::Duration;

use crate::node::NodeBuilder;
use crate::settings::{DEFAULT_MAX_DELIVERIES, DEFAULT_QUEUED_EXPIRY};

/// The variable naming the server.
pub const URL_VARIABLE: &str = "APLEX_REMOTE_URL";
/// The variable naming the pool.
pub const POOL_VARIABLE: &str = "APLEX_REMOTE_POOL";

/// Exit status of a node that could not start.
const EXIT_CANNOT_SERVE: i32 = 70;

/// The constructor; see the module docs.
#[used]
// SAFETY: `link_section` is an unsafe attribute because the linker trusts the section's
// contents. `.init_array` holds pointers to `extern "C" fn()` called once by the C
// runtime before `main`, and this static is exactly such a pointer.
#[allow(unsafe_code)]
#[link_section = ".init_array"]
static BECOME_NODE_IF_ASKED: extern "C" fn() = become_node_if_asked;

extern "C" fn become_node_if_asked() {
    let (Some(url), Some(pool)) = (
        std::env::var_os(URL_VARIABLE),
        std::env::var_os(POOL_VARIABLE),
    ) else {
        return;
    };
    let node = from_environment(&url.to_string_lossy(), &pool.to_string_lossy());
    match node.serve() {
        Ok(()) => std::process::exit(0),
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(EXIT_CANNOT_SERVE)
        }
    }
}

/// The node the environment describes.
fn from_environment(url: &str, pool: &str) -> NodeBuilder {
    let text = |name: &str| std::env::var(name).ok();
    let millis = |name: &str| text(name)?.parse().ok().map(Duration::from_millis);
    let mut node = NodeBuilder::new(url, pool);
    if let Some(group) = text("APLEX_REMOTE_GROUP") {
        node = node.group(group);
    }
    if let Some(works) = text("APLEX_REMOTE_MAX_WORKS").and_then(|works| works.parse().ok()) {
        node = node.max_works_per_worker(works);
    }
    if let Some(ack_wait) = millis("APLEX_REMOTE_ACK_WAIT_MS") {
        node = node.queue(ack_wait, DEFAULT_MAX_DELIVERIES, DEFAULT_QUEUED_EXPIRY);
    }
    if let Some(heartbeat) = millis("APLEX_REMOTE_HEARTBEAT_MS") {
        node = node.heartbeat(heartbeat);
    }
    if let Some(grace) = millis("APLEX_REMOTE_GRACE_MS") {
        node = node.shutdown_grace(grace);
    }
    if let Some(maker) = text("APLEX_REMOTE_WORKER_STATE") {
        node = node.worker_state_named(&maker);
    }
    if let (Some(user), Some(password)) = (text("APLEX_REMOTE_USER"), text("APLEX_REMOTE_PASSWORD"))
    {
        node = node.user_and_password(user, password);
    }
    if let Some(token) = text("APLEX_REMOTE_TOKEN") {
        node = node.token(token);
    }
    if let Some(creds) = text("APLEX_REMOTE_CREDS") {
        node = node.credentials_file(creds);
    }
    if let Some(root) = text("APLEX_REMOTE_ROOT_CA") {
        node = node.root_certificates(root);
    }
    node
}

/// Makes sure the constructor is linked into any executable that uses a remote pool.
pub(crate) fn ensure_linked() {
    std::hint::black_box(&BECOME_NODE_IF_ASKED);
}
