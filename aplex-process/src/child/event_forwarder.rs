//! The worker process's `tracing` subscriber: every event at or above the level the
//! parent asked for goes to the parent as an `UpFrame::Event`, through the same batching
//! writer as the replies, where the parent emits it again with the worker's pid
//! (`protocol/event.rs`).
//!
//! A worker process never runs `main`, so nothing else installs a subscriber in it. The
//! forwarder keeps no spans: it gives each a fresh id and forgets it.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

use crate::protocol::batch_writer::BatchWriter;
use crate::protocol::event::{level_code, ForwardedEvent};
use crate::protocol::wire::UpFrame;

/// Sends events to the parent.
pub(crate) struct EventForwarder {
    writer: BatchWriter<UpFrame>,
    /// The most verbose [`level_code`] forwarded.
    max_level: u8,
    next_span: AtomicU64,
}

impl EventForwarder {
    /// Installs the forwarder as this process's subscriber, forwarding events up to
    /// `max_level` through `writer`.
    pub(crate) fn install(writer: BatchWriter<UpFrame>, max_level: u8) {
        let forwarder = EventForwarder {
            writer,
            max_level,
            next_span: AtomicU64::new(1),
        };
        // Only fails if one is installed already, which a worker process never has.
        let _ = tracing::subscriber::set_global_default(forwarder);
    }
}

/// Collects an event's message and other fields.
#[derive(Default)]
struct Fields {
    message: String,
    others: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.separate();
            let _ = write!(self.others, "{}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.separate();
            let _ = write!(self.others, "{}={value:?}", field.name());
        }
    }
}

impl Fields {
    fn separate(&mut self) {
        if !self.others.is_empty() {
            self.others.push(' ');
        }
    }
}

impl Subscriber for EventForwarder {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.enabled(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event() && level_code(*metadata.level()) <= self.max_level
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(match self.max_level {
            0 => tracing::level_filters::LevelFilter::ERROR,
            1 => tracing::level_filters::LevelFilter::WARN,
            2 => tracing::level_filters::LevelFilter::INFO,
            3 => tracing::level_filters::LevelFilter::DEBUG,
            _ => tracing::level_filters::LevelFilter::TRACE,
        })
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let forwarded = ForwardedEvent {
            level: level_code(*metadata.level()),
            target: metadata.target().to_owned(),
            message: fields.message,
            fields: fields.others,
        };
        // A parent that is gone learns nothing more: drop the event.
        let _ = self
            .writer
            .send_one(UpFrame::Event(Box::new(forwarded)), false);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}
