//! What parent and child share: the frames they exchange (`wire.rs`), how payloads
//! travel (`payload.rs`, `inline_bytes` for small ones, `regions.rs`, `store.rs`), `tracing` events forwarded from a worker (`event.rs`), the
//! batching writer both sides send with (`batch_writer.rs`) and when it waits for more (`coalesce.rs`) and the runtime settings the
//! parent sends (`runtime_config.rs`), also at exec (`start_at_exec.rs`). Both sides find the socket under an
//! ipc-channel receiver (`socket_of.rs`) and take plain messages from it into one buffer (`plain_recv.rs`). The
//! registry of works and the codec of their values are aplex-core's `registry`, shared with the remote pool.

pub(crate) mod batch_writer;
pub(crate) mod coalesce;
pub(crate) mod event;
pub(crate) mod payload;
pub(crate) mod plain_recv;
pub(crate) mod regions;
pub(crate) mod runtime_config;
pub(crate) mod socket_of;
pub(crate) mod start_at_exec;
pub(crate) mod store;
pub(crate) mod wire;
