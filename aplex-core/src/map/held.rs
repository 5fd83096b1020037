//! A chunk the pool had no room for: a map polled where it must not block (a tokio
//! runtime's thread) keeps it, with a future that ends once the bounded pending queue may
//! have room, and submits it again then, instead of blocking the thread until room frees.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::backend::chunk::Chunk;

/// Whether the pool may have room (or has stopped taking works, so that trying again
/// gets the refusal).
pub(crate) type Room<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A chunk refused because the bounded queue was full, and what to await before trying
/// it again.
pub(crate) struct Held<'a, A> {
    pub(crate) chunk: Chunk<A>,
    pub(crate) room: Room<'a>,
}

impl<A> Held<'_, A> {
    /// Whether the chunk may be tried again; if not, `cx` is woken once it may.
    pub(crate) fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.room.as_mut().poll(cx)
    }
}
