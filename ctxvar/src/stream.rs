//! Per-stream scopes (feature `stream`): bindings installed on every poll of a
//! [`Stream`], so code producing its items sees them.

use core::fmt;
use core::pin::Pin;
use core::task::{self, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::bindings::BindingList;
use crate::context::ContextScope;
use crate::scope::Scope;

pin_project! {
    /// A stream that overlays bindings on the current ones: it polls an inner stream
    /// with some variables bound over whatever its poller has bound, and drops it with
    /// them bound; returned by [`Bindings::scope_stream`](crate::Bindings::scope_stream).
    ///
    /// It is to a stream what [`Scope`](crate::Scope) is to a future.
    ///
    /// ```
    /// use ctxvar::{context_var, Binding, ScopeStream};
    /// use futures::stream::{self, StreamExt};
    ///
    /// #[context_var]
    /// static SHARD: u32;
    ///
    /// # futures::executor::block_on(async {
    /// let tagged: ScopeStream<Binding<dyn SHARD>, _> = SHARD
    ///     .bind(3)
    ///     .scope_stream(stream::iter(1..=2).map(|n| (n, SHARD.try_get())));
    /// assert_eq!(tagged.collect::<Vec<_>>().await, [(1, Ok(3)), (2, Ok(3))]);
    /// # });
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "stream")))]
    #[must_use = "streams do nothing unless polled"]
    pub struct ScopeStream<L: BindingList, S> {
        // A `Scope` whose "future" is the stream: it already installs the bindings
        // around any access to its inner value and drops it inside them.
        #[pin]
        scope: Scope<L, S>,
    }
}

impl<L: BindingList, S> ScopeStream<L, S> {
    pub(crate) fn new(scope: Scope<L, S>) -> Self {
        ScopeStream { scope }
    }
}

impl<L: BindingList, S: Stream> Stream for ScopeStream<L, S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Option<S::Item>> {
        self.project()
            .scope
            .with_inner(|stream| stream.poll_next(cx))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.scope.inner_ref().size_hint()
    }
}

impl<L: BindingList, S> fmt::Debug for ScopeStream<L, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeStream").finish_non_exhaustive()
    }
}

pin_project! {
    /// A stream that replaces the visible bindings with a captured
    /// [`Context`](crate::Context): it polls an inner stream in exactly that context's
    /// bindings, whatever its poller has bound, and drops it inside the context;
    /// returned by [`Context::scope_stream`](crate::Context::scope_stream).
    ///
    /// It is to a stream what [`ContextScope`](crate::ContextScope) is to a future.
    ///
    /// ```
    /// use ctxvar::{context_var, Context, ContextStream};
    /// use futures::stream::{self, StreamExt};
    ///
    /// #[context_var]
    /// static SHARD: u32;
    ///
    /// # futures::executor::block_on(async {
    /// let ctx = SHARD.sync_scope(3, Context::current);
    /// let tagged: ContextStream<_> = ctx.scope_stream(stream::iter([1]).map(|n| (n, SHARD.try_get())));
    /// assert_eq!(tagged.collect::<Vec<_>>().await, [(1, Ok(3))]);
    /// # });
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "stream")))]
    #[must_use = "streams do nothing unless polled"]
    pub struct ContextStream<S> {
        // A `ContextScope` whose "future" is the stream: it already enters the
        // context around any access to its inner value and drops it inside it.
        #[pin]
        scope: ContextScope<S>,
    }
}

impl<S> ContextStream<S> {
    pub(crate) fn new(scope: ContextScope<S>) -> Self {
        ContextStream { scope }
    }
}

impl<S: Stream> Stream for ContextStream<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Option<S::Item>> {
        self.project()
            .scope
            .with_inner(|stream| stream.poll_next(cx))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.scope.inner_ref().size_hint()
    }
}

impl<S> fmt::Debug for ContextStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextStream").finish_non_exhaustive()
    }
}
