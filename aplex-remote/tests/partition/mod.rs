//! The partition test's harness: a lab of network namespaces and a delaying proxy.

pub(crate) mod delay_proxy;
pub(crate) mod lab;
