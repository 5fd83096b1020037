//! The batch writer's tests: order, splitting by budget, regions and batch size, hand-back
//! by a gone writer, flushes, coalescing.
use ipc_channel::ipc;
use serde_bytes::ByteBuf;

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use super::{batch_writer, DIRECT_LIMIT, MAX_BATCH};
use crate::protocol::coalesce::Coalesce;
use crate::protocol::payload::{message_budget, shared_threshold, Payload, WireSize};
use crate::protocol::regions::Lender;
use crate::protocol::wire::DownFrame;
use crate::protocol::wire::UpFrame;

/// The reply to work `id`, one byte long.
fn done(id: u64) -> UpFrame {
    UpFrame::Done {
        id,
        outcome: Ok(Payload::new(ByteBuf::from(vec![id as u8]))),
    }
}

#[test]
fn a_batch_with_more_shared_regions_than_one_message_holds_is_split() {
    let (sender, receiver) = ipc::channel::<Vec<DownFrame>>().unwrap();
    let (writer, thread) = batch_writer(sender, Lender::new(shared_threshold()));
    let thread = std::thread::spawn(move || thread.run(None));
    let big = ByteBuf::from(vec![5u8; shared_threshold() + 1]);
    let frames: Vec<DownFrame> = (0..100)
        .map(|id| DownFrame::Run {
            id,
            work: 0,
            args: Payload::new(big.clone()),
            report_begin: false,
        })
        .collect();
    assert!(writer.send(frames, false).is_ok());
    drop(writer);
    thread.join().unwrap();
    let mut received = 0;
    while let Ok(message) = receiver.try_recv() {
        assert!(message.len() <= crate::protocol::payload::MAX_FDS_PER_MESSAGE);
        received += message.len();
    }
    assert_eq!(received, 100, "every frame arrived");
}

#[test]
fn a_lone_item_queued_inline_arrives_in_order_or_comes_back_if_the_writer_is_gone() {
    let (sender, receiver) = ipc::channel::<Vec<UpFrame>>().unwrap();
    let (writer, thread) = batch_writer(sender, Lender::new(shared_threshold()));
    let thread = std::thread::spawn(move || thread.run(None));
    assert!(writer.send(vec![done(0), done(1)], false).is_ok());
    assert!(writer.send_one(done(2), false).is_ok());
    assert!(writer.send(vec![done(3)], false).is_ok());
    drop(writer);
    thread.join().unwrap();
    let ids: Vec<u64> = std::iter::from_fn(|| receiver.try_recv().ok())
        .flatten()
        .map(|frame| match frame {
            UpFrame::Done { id, .. } => id,
            other => panic!("not a reply: {other:?}"),
        })
        .collect();
    assert_eq!(ids, [0, 1, 2, 3]);

    let (sender, _receiver) = ipc::channel::<Vec<UpFrame>>().unwrap();
    let (writer, thread) = batch_writer(sender, Lender::new(shared_threshold()));
    drop(thread);
    let back = writer
        .send_one(done(7), false)
        .expect_err("the writer is gone");
    assert!(matches!(back[..], [UpFrame::Done { id: 7, .. }]));
}

#[test]
fn a_burst_taken_at_once_leaves_in_order_in_messages_within_the_budget() {
    let (sender, receiver) = ipc::channel::<Vec<UpFrame>>().unwrap();
    let (writer, thread) = batch_writer(sender, Lender::new(shared_threshold()));
    // Handed over before the writer runs: it takes them all at once.
    let burst = 2 * MAX_BATCH as u64 + 10;
    for id in 0..burst {
        assert!(writer.send_one(done(id), false).is_ok());
    }
    let thread = std::thread::spawn(move || thread.run(None));
    writer.flush();
    let (mut ids, mut messages) = (Vec::new(), 0);
    while let Ok(message) = receiver.try_recv() {
        messages += 1;
        assert!(message.len() <= MAX_BATCH, "{} items", message.len());
        let size: usize = message.iter().map(WireSize::wire_size).sum();
        assert!(size <= message_budget(), "{size} bytes in one message");
        ids.extend(message.into_iter().map(|frame| match frame {
            UpFrame::Done { id, .. } => id,
            other => panic!("not a reply: {other:?}"),
        }));
    }
    assert!(messages > 1, "split");
    assert!(ids.iter().copied().eq(0..burst), "every item, in order");
    drop(writer);
    thread.join().unwrap();
}

#[test]
fn a_flush_returns_once_everything_before_it_is_sent_and_the_last_handle_ends_the_writer() {
    let (sender, receiver) = ipc::channel::<Vec<UpFrame>>().unwrap();
    let (writer, thread) = batch_writer(sender, Lender::new(shared_threshold()));
    let (ended_tx, ended) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        thread.run(None);
        let _ = ended_tx.send(());
    });
    let clone = writer.clone();
    assert!(writer.send(vec![done(0), done(1)], false).is_ok());
    assert!(clone.send_one(done(2), false).is_ok());
    clone.flush();
    let sent: usize = std::iter::from_fn(|| receiver.try_recv().ok())
        .map(|message| message.len())
        .sum();
    assert_eq!(sent, 3, "sent before the flush returned");
    drop(writer);
    assert!(
        ended.try_recv().is_err(),
        "a handle is left: the writer goes on"
    );
    assert!(clone.send_one(done(3), false).is_ok());
    drop(clone);
    ended
        .recv_timeout(Duration::from_secs(60))
        .expect("the writer ended with the last handle");
    let last = receiver.try_recv().expect("what was left was sent first");
    assert!(matches!(last[..], [UpFrame::Done { id: 3, .. }]));
}

#[test]
fn frames_handed_back_by_a_gone_writer_carry_their_bytes_not_a_region() {
    // A direct send lends the big payload, finds the frames too big to send directly,
    // and queues them; the writer is gone, so they come back, as they went in.
    let (sender, _receiver) = ipc::channel::<Vec<DownFrame>>().unwrap();
    let (writer, thread) = batch_writer(sender, Lender::new(shared_threshold()));
    drop(thread);
    let run = |id: u64, bytes: Vec<u8>| DownFrame::Run {
        id,
        work: 0,
        args: Payload::new(ByteBuf::from(bytes)),
        report_begin: false,
    };
    let big: Vec<u8> = (0..shared_threshold() + 1000).map(|i| i as u8).collect();
    let frames = vec![
        run(0, vec![1; DIRECT_LIMIT / 2 + 1]),
        run(1, vec![2; DIRECT_LIMIT / 2 + 1]),
        run(2, big.clone()),
    ];
    let back = writer.send(frames, true).expect_err("the writer is gone");
    let DownFrame::Run { args, .. } = &back[2] else {
        panic!("a Run came back as {:?}", back[2]);
    };
    assert!(
        matches!(args, Payload::Stored { .. }),
        "taken back: no longer lent under this channel's number, in the region still"
    );
    assert_eq!(&**args, &big[..], "with its bytes");
}

#[test]
fn while_many_items_are_coming_the_writer_sends_them_together() {
    // While many are coming, a first item waits (an hour here) instead of leaving
    // alone, and the items sent meanwhile leave with it once fewer are coming.
    let hour = Duration::from_secs(3600);
    let (sender, receiver) = ipc::channel::<Vec<UpFrame>>().unwrap();
    let (writer, thread) = batch_writer(sender, Lender::new(shared_threshold()));
    let coming = Arc::new(AtomicUsize::new(100));
    let coalesce = Coalesce {
        window: hour,
        dense_window: hour,
        ..Coalesce::while_at_least(Arc::clone(&coming), 8)
    };
    let wake = coalesce.wake.clone();
    let thread = std::thread::spawn(move || thread.run(Some(coalesce)));
    assert!(writer.send(vec![done(0)], false).is_ok());
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !wake.has_parked() {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer never waited"
        );
        std::thread::yield_now();
    }
    assert!(receiver.try_recv().is_err(), "the first item left alone");
    assert!(writer.send(vec![done(1), done(2)], false).is_ok());
    coming.store(0, std::sync::atomic::Ordering::Release);
    wake.wake();
    let message = receiver
        .try_recv_timeout(Duration::from_secs(60))
        .expect("the items left once fewer were coming");
    assert_eq!(message.len(), 3, "one message for the three");
    drop(writer);
    thread.join().unwrap();
}
