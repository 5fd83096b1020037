//! The worker process's side: how this executable turns into a worker before `main`
//! (`bootstrap.rs`), prepares its signals and stack guard, then serves works
//! (`serve.rs`) that its reader hands over (`reader.rs`), sends their replies
//! (`reply.rs`) and forwards their `tracing` events (`event_forwarder.rs`).

pub(crate) mod bootstrap;
pub(crate) mod event_forwarder;
pub(crate) mod intake;
pub(crate) mod reader;
pub(crate) mod reply;
pub(crate) mod serve;
pub(crate) mod signals;
pub(crate) mod stack_guard;
pub(crate) mod watched_socket;
