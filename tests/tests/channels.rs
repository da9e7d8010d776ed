//! Work handed to another task over a channel, in a `Carried` envelope, is handled in
//! its sender's context: one consumer and many producers (`mpsc`), every receiver of a
//! `broadcast`, a pool of workers draining one queue, a stream of messages. The
//! negative controls send the same items bare through the same pipelines and see the
//! receivers' bindings instead: the envelope is what carries the senders'. The
//! pipelines run on tokio's current-thread runtime and on its multi-thread runtime.

use std::collections::BTreeSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use ctxvar::{AccessError, Carried, CarriedStreamExt, Context, ContextMessageExt, with_context};
use ctxvar_tests::REQUEST_ID;
use ctxvar_tests::nested::ITEM_ID;
use futures::{FutureExt, Stream, StreamExt, stream};
use tokio::sync::{Mutex, broadcast, mpsc};

mod support;
use support::{on_both_runtimes, poll_once};

/// What a receiver binds for itself; no sender binds it.
const RECEIVER: u64 = u64::MAX;

/// How the senders send an item: in the envelope, or bare (the negative control).
#[derive(Clone, Copy, Debug)]
enum How {
    Carried,
    Bare,
}

/// An item as it travels through a pipeline: the same code sends and handles both.
#[derive(Clone, Debug)]
enum Message<T> {
    Carried(Carried<T>),
    Bare(T),
}

impl<T: Send> Message<T> {
    /// `item`, sent as `how` says, from the context current here.
    fn new(item: T, how: How) -> Self {
        match how {
            How::Carried => Message::Carried(item.carry_current_context()),
            How::Bare => Message::Bare(item),
        }
    }

    /// Calls `handle` with the item: in its sender's context if it came in the
    /// envelope, in the caller's if it came bare.
    fn handle_now<R>(self, handle: impl FnOnce(T) -> R) -> R {
        match self {
            Message::Carried(carried) => carried.run_in_sender_context(handle),
            Message::Bare(item) => handle(item),
        }
    }

    /// The same for an async handler.
    async fn handle<F: Future>(self, handle: impl FnOnce(T) -> F) -> F::Output {
        match self {
            Message::Carried(carried) => carried.scope_in_sender_context(handle).await,
            Message::Bare(item) => handle(item).await,
        }
    }
}

// One consumer, many producers.

const PRODUCERS: u64 = 8;
const PER_PRODUCER: u64 = 100;

/// What the consumer saw while handling item `seq` of `producer`.
#[derive(Debug, PartialEq, Eq)]
struct Handled {
    producer: u64,
    seq: u64,
    item_id: Result<u64, AccessError>,
    request_id: Result<String, AccessError>,
}

#[with_context(ITEM_ID = producer, REQUEST_ID = format!("req-{producer}"))]
async fn produce(producer: u64, queue: mpsc::Sender<Message<(u64, u64)>>, how: How) {
    for seq in 0..PER_PRODUCER {
        queue
            .send(Message::new((producer, seq), how))
            .await
            .unwrap();
        tokio::task::yield_now().await;
    }
}

#[with_context(ITEM_ID = RECEIVER, REQUEST_ID = "receiver".to_owned())]
async fn consume(mut queue: mpsc::Receiver<Message<(u64, u64)>>) -> Vec<Handled> {
    let mut handled = Vec::new();
    while let Some(message) = queue.recv().await {
        let seen = message
            .handle(|(producer, seq)| async move {
                tokio::task::yield_now().await;
                Handled {
                    producer,
                    seq,
                    item_id: ITEM_ID.try_get(),
                    request_id: REQUEST_ID.try_get(),
                }
            })
            .await;
        // The consumer's own bindings are back after each item.
        assert_eq!(
            (ITEM_ID.get(), REQUEST_ID.get()),
            (RECEIVER, "receiver".to_owned())
        );
        handled.push(seen);
    }
    handled
}

/// Every producer's items, through one `mpsc` channel to one consumer task.
async fn one_consumer(how: How) -> Vec<Handled> {
    let (queue, items) = mpsc::channel(16);
    let consumer = tokio::spawn(consume(items));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|producer| tokio::spawn(produce(producer, queue.clone(), how)))
        .collect();
    drop(queue);
    for producer in producers {
        producer.await.unwrap();
    }
    let handled = consumer.await.unwrap();
    // Each producer's items arrive, all of them, in the order it sent them.
    for producer in 0..PRODUCERS {
        let seqs: Vec<u64> = handled
            .iter()
            .filter(|item| item.producer == producer)
            .map(|item| item.seq)
            .collect();
        assert_eq!(seqs, (0..PER_PRODUCER).collect::<Vec<_>>());
    }
    handled
}

#[test]
fn one_consumer_handles_each_producers_items_in_that_producers_context() {
    on_both_runtimes(|| async {
        for item in one_consumer(How::Carried).await {
            assert_eq!(item.item_id, Ok(item.producer), "{item:?}");
            assert_eq!(item.request_id, Ok(format!("req-{}", item.producer)));
        }
    });
}

#[test]
fn negative_control_bare_items_to_one_consumer_see_the_consumers_bindings() {
    on_both_runtimes(|| async {
        for item in one_consumer(How::Bare).await {
            assert_eq!(item.item_id, Ok(RECEIVER), "{item:?}");
            assert_eq!(item.request_id, Ok("receiver".to_owned()));
        }
    });
}

// Broadcast: every receiver, every message.

const SENDERS: u64 = 4;
const PER_SENDER: u64 = 10;
const RECEIVERS: u64 = 3;
/// Receiver `r` binds `ITEM_ID = RECEIVER_BASE + r`.
const RECEIVER_BASE: u64 = 1_000;

#[with_context(ITEM_ID = sender)]
async fn announce(sender: u64, channel: broadcast::Sender<Message<u64>>, how: How) {
    for _ in 0..PER_SENDER {
        channel.send(Message::new(sender, how)).unwrap();
        tokio::task::yield_now().await;
    }
}

#[with_context(ITEM_ID = RECEIVER_BASE + receiver)]
async fn listen(
    receiver: u64,
    mut channel: broadcast::Receiver<Message<u64>>,
) -> Vec<(u64, Result<u64, AccessError>)> {
    let mut seen = Vec::new();
    while let Ok(message) = channel.recv().await {
        seen.push(message.handle_now(|sender| (sender, ITEM_ID.try_get())));
        assert_eq!(ITEM_ID.get(), RECEIVER_BASE + receiver);
    }
    seen
}

/// What each receiver saw: `(sender, ITEM_ID while handling)` for every message.
async fn broadcast_to_all(how: How) -> Vec<Vec<(u64, Result<u64, AccessError>)>> {
    // Room for every message: no receiver lags.
    let (channel, _) = broadcast::channel(64);
    let receivers: Vec<_> = (0..RECEIVERS)
        .map(|receiver| tokio::spawn(listen(receiver, channel.subscribe())))
        .collect();
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| tokio::spawn(announce(sender, channel.clone(), how)))
        .collect();
    drop(channel);
    for sender in senders {
        sender.await.unwrap();
    }
    let mut seen = Vec::new();
    for receiver in receivers {
        let messages = receiver.await.unwrap();
        assert_eq!(messages.len() as u64, SENDERS * PER_SENDER);
        seen.push(messages);
    }
    seen
}

#[test]
fn every_broadcast_receiver_handles_each_message_in_its_senders_context() {
    on_both_runtimes(|| async {
        for messages in broadcast_to_all(How::Carried).await {
            for (sender, item_id) in messages {
                assert_eq!(item_id, Ok(sender));
            }
        }
    });
}

#[test]
fn negative_control_bare_broadcast_messages_see_each_receivers_bindings() {
    on_both_runtimes(|| async {
        for (receiver, messages) in (0..).zip(broadcast_to_all(How::Bare).await) {
            for (_, item_id) in messages {
                assert_eq!(item_id, Ok(RECEIVER_BASE + receiver));
            }
        }
    });
}

// A pool of workers draining one queue.

const WORKERS: u64 = 8;
const ITEMS: u64 = 4_000;
const PRODUCER_TASKS: u64 = 4;
/// Worker `w` binds `ITEM_ID = WORKER_BASE + w`, above every item.
const WORKER_BASE: u64 = 1_000_000;

/// Item `item`, sent from a context that binds `ITEM_ID = item`: no two items are sent
/// with the same value.
#[with_context(ITEM_ID = item)]
fn item_message(item: u64, how: How) -> Message<u64> {
    Message::new(item, how)
}

/// `(item, ITEM_ID while handling it)` for each item this worker took.
#[with_context(ITEM_ID = WORKER_BASE + worker)]
async fn work(
    worker: u64,
    queue: Arc<Mutex<mpsc::Receiver<Message<u64>>>>,
) -> Vec<(u64, Result<u64, AccessError>)> {
    let mut handled = Vec::new();
    loop {
        let next = queue.lock().await.recv().await;
        let Some(message) = next else {
            return handled;
        };
        // Yields inside the handler, so other workers' handlers run on this thread
        // between its polls.
        let seen = message
            .handle(|item| async move {
                let before = ITEM_ID.try_get();
                tokio::task::yield_now().await;
                assert_eq!(
                    ITEM_ID.try_get(),
                    before,
                    "the value changed across a yield"
                );
                (item, before)
            })
            .await;
        handled.push(seen);
        assert_eq!(ITEM_ID.get(), WORKER_BASE + worker);
    }
}

/// Every item, through one queue shared by `WORKERS` tasks: `(worker, item, ITEM_ID
/// while handling it)`.
async fn worker_pool(how: How) -> Vec<(u64, u64, Result<u64, AccessError>)> {
    let (queue, items) = mpsc::channel(64);
    let items = Arc::new(Mutex::new(items));
    let workers: Vec<_> = (0..WORKERS)
        .map(|worker| tokio::spawn(work(worker, items.clone())))
        .collect();
    let producers: Vec<_> = (0..PRODUCER_TASKS)
        .map(|producer| {
            let queue = queue.clone();
            tokio::spawn(async move {
                for item in (0..ITEMS).filter(|item| item % PRODUCER_TASKS == producer) {
                    queue.send(item_message(item, how)).await.unwrap();
                }
            })
        })
        .collect();
    drop(queue);
    for producer in producers {
        producer.await.unwrap();
    }
    let mut handled = Vec::new();
    for (worker, task) in (0..).zip(workers) {
        handled.extend(
            task.await
                .unwrap()
                .into_iter()
                .map(|(item, seen)| (worker, item, seen)),
        );
    }
    // Every item was handled, once.
    let items: BTreeSet<u64> = handled.iter().map(|(_, item, _)| *item).collect();
    assert_eq!(handled.len() as u64, ITEMS);
    assert_eq!(items, (0..ITEMS).collect());
    handled
}

#[test]
fn a_worker_pool_handles_every_item_in_its_own_senders_context() {
    on_both_runtimes(|| async {
        for (worker, item, seen) in worker_pool(How::Carried).await {
            assert_eq!(seen, Ok(item), "worker {worker} saw another's value");
        }
    });
}

#[test]
fn negative_control_bare_items_in_a_worker_pool_see_the_workers_bindings() {
    on_both_runtimes(|| async {
        for (worker, item, seen) in worker_pool(How::Bare).await {
            assert_eq!(seen, Ok(WORKER_BASE + worker), "item {item}");
        }
    });
}

// Streams of messages.

#[with_context(ITEM_ID = producer)]
async fn produce_carried(producer: u64, queue: mpsc::Sender<Carried<u64>>) {
    for _ in 0..PER_PRODUCER {
        queue.send(producer.carry_current_context()).await.unwrap();
    }
}

/// A channel's receiving half as a stream (what `tokio_stream`'s `ReceiverStream`
/// is), fed by `PRODUCERS` tasks, each sending its own number from a context that
/// binds it as `ITEM_ID`. The stream checks that it is polled in its poller's context.
fn carried_stream() -> impl Stream<Item = Carried<u64>> {
    let (queue, mut items) = mpsc::channel(8);
    for producer in 0..PRODUCERS {
        tokio::spawn(produce_carried(producer, queue.clone()));
    }
    stream::poll_fn(move |cx| {
        assert_eq!(
            ITEM_ID.try_get(),
            Ok(RECEIVER),
            "polled outside its poller's context"
        );
        items.poll_recv(cx)
    })
}

#[test]
fn a_stream_of_messages_yields_each_handlers_output_from_its_senders_context() {
    on_both_runtimes(|| async {
        let handled = carried_stream().then_in_sender_context(|producer| async move {
            tokio::task::yield_now().await;
            (producer, ITEM_ID.try_get())
        });
        let handled: Vec<_> = ITEM_ID.scope(RECEIVER, handled.collect()).await;
        assert_eq!(handled.len() as u64, PRODUCERS * PER_PRODUCER);
        for (producer, seen) in handled {
            assert_eq!(seen, Ok(producer));
        }
    });
}

#[test]
fn for_each_in_sender_context_handles_every_message_of_a_stream() {
    on_both_runtimes(|| async {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let all = carried_stream().for_each_in_sender_context(|producer| {
            let seen = seen.clone();
            async move {
                tokio::task::yield_now().await;
                seen.lock().unwrap().push((producer, ITEM_ID.try_get()));
            }
        });
        ITEM_ID.scope(RECEIVER, all).await;
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len() as u64, PRODUCERS * PER_PRODUCER);
        for (producer, item_id) in &*seen {
            assert_eq!(*item_id, Ok(*producer));
        }
    });
}

/// Records what `ITEM_ID` is where it is dropped.
struct RecordsDrop(Arc<std::sync::Mutex<Option<Result<u64, AccessError>>>>);

impl Drop for RecordsDrop {
    fn drop(&mut self) {
        *self.0.lock().unwrap() = Some(ITEM_ID.try_get());
    }
}

#[test]
fn a_handler_dropped_unfinished_with_its_stream_is_dropped_in_its_senders_context() {
    let dropped_in = Arc::new(std::sync::Mutex::new(None));
    let job = ITEM_ID.sync_scope(7, || 1_u64.carry_current_context());
    let record = dropped_in.clone();
    let mut handled = Box::pin(stream::iter([job]).then_in_sender_context(move |_| {
        let probe = RecordsDrop(record.clone());
        async move {
            std::future::pending::<()>().await;
            drop(probe);
        }
    }));
    ITEM_ID.sync_scope(RECEIVER, || {
        assert_eq!(poll_once(pin!(handled.next())), Poll::Pending);
        assert_eq!(handled.size_hint(), (1, Some(1)));
        drop(handled);
    });
    assert_eq!(*dropped_in.lock().unwrap(), Some(Ok(7)));
}

// Panics.

#[test]
fn a_panicking_handler_leaves_the_receivers_bindings_in_place() {
    on_both_runtimes(|| async {
        let job = ITEM_ID.sync_scope(7, || 1_u64.carry_current_context());
        let receiver = ITEM_ID.scope(RECEIVER, async move {
            let in_handler = job.clone().run_in_sender_context(|_| ITEM_ID.try_get());
            let panicked = std::panic::catch_unwind(AssertUnwindSafe(|| {
                job.clone()
                    .run_in_sender_context(|_| panic!("the handler fails"));
            }));
            assert!(panicked.is_err());
            let after_closure = ITEM_ID.try_get();
            let handling = job.scope_in_sender_context(|_| async {
                tokio::task::yield_now().await;
                panic!("the async handler fails")
            });
            assert!(AssertUnwindSafe(handling).catch_unwind().await.is_err());
            (in_handler, after_closure, ITEM_ID.try_get())
        });
        assert_eq!(
            tokio::spawn(receiver).await.unwrap(),
            (Ok(7), Ok(RECEIVER), Ok(RECEIVER))
        );
        assert!(!ITEM_ID.is_bound());
    });
}

#[test]
fn a_task_whose_handler_panicked_leaves_nothing_bound_for_the_next_task() {
    on_both_runtimes(|| async {
        let job = ITEM_ID.sync_scope(7, || 1_u64.carry_current_context());
        let failed = tokio::spawn(job.scope_in_sender_context(|_| async {
            tokio::task::yield_now().await;
            panic!("the handler fails");
        }));
        assert!(failed.await.unwrap_err().is_panic());
        for _ in 0..8 {
            let next = tokio::spawn(async { ITEM_ID.is_bound() });
            assert!(!next.await.unwrap());
        }
        assert!(!ITEM_ID.is_bound());
    });
}

// The envelope itself.

#[test]
fn a_carried_message_is_debug_without_the_contexts_values_and_clones_share_the_context() {
    let job = ITEM_ID.sync_scope(7, || 5_u8.carry_current_context());
    assert_eq!(
        format!("{job:?}"),
        "Carried { message: 5, context: Context { .. } }"
    );
    let copy = job.clone();
    assert_eq!(
        copy.run_in_sender_context(|n| (n, ITEM_ID.try_get())),
        (5, Ok(7))
    );
    let (context, message) = job.into_parts();
    let rebuilt = Carried::from_parts(context, message);
    assert_eq!(*rebuilt.message(), 5);
    assert_eq!(rebuilt.context().run(|| ITEM_ID.try_get()), Ok(7));
    let empty = Carried::from_parts(Context::empty(), 5_u8);
    assert!(ITEM_ID.sync_scope(1, || empty.run_in_sender_context(|_| !ITEM_ID.is_bound())));
}

#[test]
fn a_future_sent_as_a_message_is_a_message_not_work_run_in_the_context() {
    // `.carry_current_context()` on a future wraps it, as any value; the future runs in
    // the sender's context only if the handler awaits it there.
    let send = || ITEM_ID.sync_scope(7, || async { ITEM_ID.try_get() }.carry_current_context());
    let (_, bare) = send().into_parts();
    let polled_bare = ITEM_ID.sync_scope(RECEIVER, || futures::executor::block_on(bare));
    let handled = futures::executor::block_on(send().scope_in_sender_context(|future| future));
    assert_eq!((polled_bare, handled), (Ok(RECEIVER), Ok(7)));
}

/// The prelude alone brings `.carry_current_context()`, next to OpenTelemetry's
/// `FutureExt`: both traits are implemented for every type, and their methods' names
/// differ, so neither call is ambiguous.
mod with_the_prelude {
    use ctxvar::prelude::*;
    use ctxvar_tests::nested::ITEM_ID;
    use opentelemetry::context::FutureExt as _;

    #[test]
    fn the_prelude_imports_with_opentelemetrys_future_ext() {
        let job = ITEM_ID.sync_scope(7, || 1_u64.carry_current_context());
        let traced = async { 1 }.with_current_context();
        assert_eq!(futures::executor::block_on(traced), 1);
        assert_eq!(job.run_in_sender_context(|_| ITEM_ID.try_get()), Ok(7));
    }
}
