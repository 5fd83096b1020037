//! The remote backend of aplex: [`RemoteAsyncPoolExecutor`], a pool of worker nodes on
//! any number of machines, through a NATS JetStream server (async-nats).
//!
//! Use it through the `aplex` crate with the `remote` feature (`aplex::remote`). The
//! sources: `pool/` (the pool, its one worker — a client of the server — what it
//! accepts, its builder), `node/` (a worker node: pulling, running, answering, the
//! zero-line bootstrap), `broker/` (the small async trait the data path goes through, and
//! its JetStream implementation), `wire.rs` (headers and result bodies), `names.rs` (the
//! pool's streams and subjects), `connect.rs` (URL, credentials, TLS), `nats_server.rs` (a
//! real server for tests and examples). Semantics and deployment: docs/REMOTE.md.
#![deny(unsafe_code)]

mod batches;
mod broker;
mod connect;
mod names;
mod nats_server;
mod node;
mod pool;
mod settings;
mod wire;

pub use connect::{ConnectSettings, DEFAULT_CONNECT_TIMEOUT};
pub use names::DEFAULT_GROUP;
pub use nats_server::NatsServer;
pub use node::announce::{NodeInfo, ANNOUNCEMENT_TTL};
pub use node::bootstrap::{POOL_VARIABLE, URL_VARIABLE};
pub use node::{serve, NodeBuilder, NodeError, NodeHandle};
pub use pool::accepts::{RemotePacked, RemotePackedChunk, RemoteTarget};
pub use pool::builder::{RemotePoolBuilder, DEFAULT_POOL};
pub use pool::job::RemoteJob;
pub use pool::worker::RemoteWorker;
pub use pool::RemoteAsyncPoolExecutor;
pub use settings::{
    DEFAULT_ACK_WAIT, DEFAULT_HEARTBEAT, DEFAULT_MAX_BATCH, DEFAULT_MAX_DELIVERIES,
    DEFAULT_MAX_IN_FLIGHT, DEFAULT_QUEUED_EXPIRY,
};
