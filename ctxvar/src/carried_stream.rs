//! Streams of [`Carried`] messages (feature `stream`): each handled in the context it
//! was sent from, by [`CarriedStreamExt`]'s adapters.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{self, Poll, ready};

use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::carried::Carried;
use crate::context::ContextScope;

/// Handles each message of a stream of [`Carried`] messages in its own sender's
/// context: `stream.then_in_sender_context(f)`, `stream.for_each_in_sender_context(f)`.
///
/// Implemented for every stream of `Carried<T>`: a channel's receiver as a stream
/// (`futures::channel::mpsc::Receiver`, `tokio_stream::wrappers::ReceiverStream`), or
/// any stream that yields them. In scope with `use ctxvar::prelude::*`. Each message
/// is handled as [`Carried::scope_in_sender_context`] handles it: the handler is
/// called, and its future polled and dropped, in the context captured where that
/// message was made; the stream itself is polled in its poller's context. Messages are
/// handled one at a time, in order. To handle several at once, map each message to its
/// handling future and use a combinator of your choice:
/// `stream.map(|job| job.scope_in_sender_context(handle)).buffer_unordered(8)`.
///
/// ```
/// use ctxvar::{context_var, Carried, CarriedStreamExt, ContextMessageExt};
/// use futures::channel::mpsc;
/// use futures::stream::StreamExt;
///
/// #[context_var]
/// static REQUEST_ID: u64;
///
/// # futures::executor::block_on(async {
/// let (queue, jobs) = mpsc::unbounded::<Carried<&str>>();
/// for id in [7, 8] {
///     let job = REQUEST_ID.sync_scope(id, || "resize".carry_current_context());
///     queue.unbounded_send(job).unwrap();
/// }
/// drop(queue);
/// let handled: Vec<_> = jobs
///     .then_in_sender_context(|job| async move { (job, REQUEST_ID.try_get()) })
///     .collect()
///     .await;
/// assert_eq!(handled, [("resize", Ok(7)), ("resize", Ok(8))]);
/// # });
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "stream")))]
pub trait CarriedStreamExt<T>: Stream<Item = Carried<T>> + Sized {
    /// A stream of what `handle` returns for each message, each call and its future
    /// run in that message's sender's context; see [`ThenInSenderContext`].
    ///
    /// ```
    /// use ctxvar::{context_var, CarriedStreamExt, ContextMessageExt};
    /// use futures::stream::{self, StreamExt};
    ///
    /// #[context_var]
    /// static SHARD: u32;
    ///
    /// # futures::executor::block_on(async {
    /// let jobs = [1, 2].map(|shard| SHARD.sync_scope(shard, || 'x'.carry_current_context()));
    /// let handled = stream::iter(jobs).then_in_sender_context(|job| async move {
    ///     format!("{job}{}", SHARD.try_get().unwrap())
    /// });
    /// assert_eq!(handled.collect::<Vec<_>>().await, ["x1", "x2"]);
    /// # });
    /// ```
    fn then_in_sender_context<F, Fut>(self, handle: F) -> ThenInSenderContext<Self, F, Fut>
    where
        F: FnMut(T) -> Fut,
        Fut: Future,
    {
        ThenInSenderContext {
            stream: self,
            handle,
            handling: None,
        }
    }

    /// A future that handles every message with `handle`, each call and its future
    /// run in that message's sender's context, and completes when the stream ends; see
    /// [`ForEachInSenderContext`].
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// use ctxvar::{context_var, Carried, CarriedStreamExt, ContextMessageExt};
    /// use futures::channel::mpsc;
    ///
    /// #[context_var]
    /// static TENANT: &str;
    ///
    /// # futures::executor::block_on(async {
    /// let (queue, jobs) = mpsc::unbounded::<Carried<u32>>();
    /// for (job, tenant) in [(1, "acme"), (2, "umbrella")] {
    ///     let job = TENANT.sync_scope(tenant, || job.carry_current_context());
    ///     queue.unbounded_send(job).unwrap();
    /// }
    /// drop(queue);
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// jobs.for_each_in_sender_context(|job| {
    ///     let log = log.clone();
    ///     async move { log.lock().unwrap().push((job, TENANT.try_get().unwrap())) }
    /// })
    /// .await;
    /// assert_eq!(*log.lock().unwrap(), [(1, "acme"), (2, "umbrella")]);
    /// # });
    /// ```
    fn for_each_in_sender_context<F, Fut>(self, handle: F) -> ForEachInSenderContext<Self, F, Fut>
    where
        F: FnMut(T) -> Fut,
        Fut: Future<Output = ()>,
    {
        ForEachInSenderContext {
            then: self.then_in_sender_context(handle),
        }
    }
}

impl<T, S: Stream<Item = Carried<T>>> CarriedStreamExt<T> for S {}

pin_project! {
    /// A stream that handles each [`Carried`] message of an inner stream in its
    /// sender's context, and yields what each handling future returns; returned by
    /// [`CarriedStreamExt::then_in_sender_context`].
    ///
    /// It polls the inner stream in its poller's context; for each message, it calls
    /// the handler and polls the future it returns, to completion, in the context the
    /// message carries (a [`ContextScope`], dropped in that context too if this stream
    /// is dropped first), then asks for the next message.
    ///
    /// ```
    /// use ctxvar::{context_var, Carried, CarriedStreamExt, Context, ThenInSenderContext};
    /// use futures::stream::{self, StreamExt};
    ///
    /// #[context_var]
    /// static SHARD: u32;
    ///
    /// # futures::executor::block_on(async {
    /// let on_3 = SHARD.sync_scope(3, Context::current);
    /// let jobs = stream::iter([
    ///     Carried::from_parts(on_3, 'a'),
    ///     Carried::from_parts(Context::empty(), 'b'),
    /// ]);
    /// let handled: ThenInSenderContext<_, _, _> =
    ///     jobs.then_in_sender_context(|job| async move { (job, SHARD.try_get().ok()) });
    /// assert_eq!(handled.collect::<Vec<_>>().await, [('a', Some(3)), ('b', None)]);
    /// # });
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "stream")))]
    #[must_use = "streams do nothing unless polled"]
    pub struct ThenInSenderContext<S, F, Fut> {
        #[pin]
        stream: S,
        handle: F,
        // The message being handled: its handler's future, in its sender's context.
        #[pin]
        handling: Option<ContextScope<Fut>>,
    }
}

impl<T, S, F, Fut> Stream for ThenInSenderContext<S, F, Fut>
where
    S: Stream<Item = Carried<T>>,
    F: FnMut(T) -> Fut,
    Fut: Future,
{
    type Item = Fut::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Option<Fut::Output>> {
        let mut this = self.project();
        loop {
            if let Some(handling) = this.handling.as_mut().as_pin_mut() {
                let output = ready!(handling.poll(cx));
                // Dropped here, in its sender's context, before the next message is
                // asked for.
                this.handling.set(None);
                return Poll::Ready(Some(output));
            }
            let Some(message) = ready!(this.stream.as_mut().poll_next(cx)) else {
                return Poll::Ready(None);
            };
            this.handling
                .set(Some(message.scope_in_sender_context(&mut *this.handle)));
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let handling = usize::from(self.handling.is_some());
        let (lower, upper) = self.stream.size_hint();
        (
            lower.saturating_add(handling),
            upper.and_then(|upper| upper.checked_add(handling)),
        )
    }
}

impl<S, F, Fut> fmt::Debug for ThenInSenderContext<S, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThenInSenderContext")
            .field("handling", &self.handling.is_some())
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// A future that handles every [`Carried`] message of a stream in its sender's
    /// context, and completes when the stream ends; returned by
    /// [`CarriedStreamExt::for_each_in_sender_context`].
    ///
    /// It is [`ThenInSenderContext`], drained.
    ///
    /// ```
    /// use ctxvar::{Carried, CarriedStreamExt, ForEachInSenderContext};
    /// use futures::stream;
    ///
    /// # futures::executor::block_on(async {
    /// let jobs = stream::iter([Carried::new(1), Carried::new(2)]);
    /// let all: ForEachInSenderContext<_, _, _> = jobs.for_each_in_sender_context(|_| async {});
    /// all.await;
    /// # });
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "stream")))]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct ForEachInSenderContext<S, F, Fut> {
        #[pin]
        then: ThenInSenderContext<S, F, Fut>,
    }
}

impl<T, S, F, Fut> Future for ForEachInSenderContext<S, F, Fut>
where
    S: Stream<Item = Carried<T>>,
    F: FnMut(T) -> Fut,
    Fut: Future<Output = ()>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<()> {
        let mut then = self.project().then;
        while ready!(then.as_mut().poll_next(cx)).is_some() {}
        Poll::Ready(())
    }
}

impl<S, F, Fut> fmt::Debug for ForEachInSenderContext<S, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForEachInSenderContext")
            .field("then", &self.then)
            .finish()
    }
}
