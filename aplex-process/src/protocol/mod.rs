//! What parent and child share: the frames they exchange (`wire.rs`), how values are
//! encoded item by item (`framed.rs`, `outcomes.rs`, `probe.rs`), how big payloads travel
//! (`payload.rs`), `tracing` events forwarded from a worker (`event.rs`), the batching writer both sides send with (`batch_writer.rs`), the
//! runtime settings the parent sends (`runtime_config.rs`), and the registry of works
//! (`registry.rs`).

pub(crate) mod batch_writer;
pub(crate) mod event;
pub(crate) mod framed;
pub(crate) mod outcomes;
pub(crate) mod payload;
pub(crate) mod probe;
pub(crate) mod registry;
pub(crate) mod runtime_config;
pub(crate) mod wire;
