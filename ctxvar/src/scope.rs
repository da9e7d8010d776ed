//! Running work inside bindings: the [`Scope`] future and `sync_scope`.

use core::fmt;
use core::future::{Future, IntoFuture};
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::bindings::{BindingList, Bindings};
use crate::frame::OwnedFrame;

pin_project! {
    /// A future that runs an inner future with some variables bound.
    ///
    /// Returned by `VAR.scope(value, future)` and [`Bindings::scope`](crate::Bindings::scope),
    /// and what `#[with_context]` wraps an `async fn`'s body in. Its type can be named,
    /// for example as a `tower::Service::Future`: `Scope<Binding<dyn ITEM_ID>, F>`.
    ///
    /// On every poll it installs its bindings over those of whoever polls it, polls the
    /// inner future, and restores the previous bindings when the poll returns (`Ready`,
    /// `Pending`, or by unwinding). When dropped, it drops the inner future with the
    /// bindings installed, so destructors can read them.
    ///
    /// The values live in one shared allocation made when the `Scope` is created;
    /// polling allocates nothing.
    ///
    /// ```
    /// use ctxvar::{context_var, Binding, Scope};
    /// use std::future::Ready;
    ///
    /// #[context_var]
    /// static ITEM_ID: u64;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let fut: Scope<Binding<dyn ITEM_ID>, Ready<u8>> = ITEM_ID.scope(7, std::future::ready(1));
    /// assert_eq!(fut.await, 1);
    /// # }
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Scope<L: BindingList, F> {
        // The frame and the allocation it points into (the values), never into the
        // `Scope` itself, which may move between two polls (it is `Unpin` when `F`
        // is) and before it is dropped.
        frame: OwnedFrame<L, L::Entries>,
        // Dropped only by `PinnedDrop`, in place, with the bindings installed. Not an
        // `Option`: the frame's address escapes to the thread-local during a poll, so
        // the compiler could not hoist the `Some` check out of a polling loop, and it
        // cost a test and a branch on every poll.
        #[pin]
        future: ManuallyDrop<F>,
    }

    impl<L: BindingList, F> PinnedDrop for Scope<L, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            enter(this.frame, || {
                // SAFETY: only the pinned place is used, and never moved out of.
                let future = unsafe { this.future.get_unchecked_mut() };
                // SAFETY: `future` is pinned, so it is dropped in place, never moved;
                // this is the only place that drops it, and `Scope` is being dropped,
                // so it is never used again.
                unsafe { ManuallyDrop::drop(future) }
            });
        }
    }
}

/// The frame of `list`, in an allocation of its own.
#[inline]
fn frame_of<L: BindingList + Send + Sync>(list: L) -> OwnedFrame<L, L::Entries> {
    // SAFETY: a list's entries are, for each of its bindings, the variable's key and
    // a pointer to its value, of the variable's type, inside the list.
    unsafe { OwnedFrame::new(list, BindingList::entries) }
}

/// Runs `f` with `frame` entered.
#[inline]
fn enter<L: BindingList, R>(frame: &mut OwnedFrame<L, L::Entries>, f: impl FnOnce() -> R) -> R {
    frame.enter(|_| f())
}

impl<L: BindingList + Send + Sync, F> Scope<L, F> {
    #[inline]
    pub(crate) fn new(list: L, future: F) -> Self {
        Scope {
            frame: frame_of(list),
            future: ManuallyDrop::new(future),
        }
    }
}

impl<L: BindingList, F> Scope<L, F> {
    /// Runs `f` on the inner value with the bindings installed.
    #[inline]
    pub(crate) fn with_inner<R>(self: Pin<&mut Self>, f: impl FnOnce(Pin<&mut F>) -> R) -> R {
        let this = self.project();
        // SAFETY: `ManuallyDrop<F>` is a transparent wrapper, and pinning is
        // structural for it here: `F` is never moved out (only dropped in place, by
        // `PinnedDrop`), and it is alive until then.
        let inner = unsafe { this.future.map_unchecked_mut(|inner| &mut **inner) };
        enter(this.frame, || f(inner))
    }

    /// The inner value, for what needs no bindings (a stream's size hint).
    #[cfg(feature = "stream")]
    pub(crate) fn inner_ref(&self) -> &F {
        &self.future
    }
}

impl<L: BindingList, F: Future> Future for Scope<L, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.with_inner(|future| future.poll(cx))
    }
}

impl<L: BindingList, F> fmt::Debug for Scope<L, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope").finish_non_exhaustive()
    }
}

// Binding needs `Send + Sync` values: they are shared with every future and thread
// that reads them, and with captured `Context`s.
impl<L: BindingList + Send + Sync> Bindings<L> {
    /// Runs a future with these bindings installed on every poll.
    ///
    /// The values are bound whenever the returned [`Scope`] polls `future`, and while
    /// it drops `future`. The future also sees whatever its poller has bound, under
    /// these bindings.
    ///
    /// ```
    /// use ctxvar::context_var;
    ///
    /// #[context_var]
    /// static ITEM_ID: u64;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let id = ITEM_ID.bind(7).scope(async { ITEM_ID.try_get() }).await;
    /// assert_eq!(id, Ok(7));
    /// # }
    /// ```
    #[inline]
    pub fn scope<F: IntoFuture>(self, future: F) -> Scope<L, F::IntoFuture> {
        Scope::new(self.into_list(), future.into_future())
    }

    /// Makes a future with these bindings installed, and runs it with them installed
    /// on every poll: both the call that builds the future and the future itself see
    /// the values, bound once.
    ///
    /// This is what a `tower::Service` that binds for each request needs: its `call`
    /// runs the inner service's `call`, which may read the variables before it
    /// returns its future, and the future it returns must see them too. With
    /// [`scope`](Bindings::scope), only the future would.
    ///
    /// ```
    /// use ctxvar::context_var;
    ///
    /// #[context_var]
    /// static ITEM_ID: u64;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = ITEM_ID.bind(7).scope_with(|| {
    ///     let when_called = ITEM_ID.try_get();
    ///     async move { (when_called, ITEM_ID.try_get()) }
    /// });
    /// assert_eq!(scope.await, (Ok(7), Ok(7)));
    /// # }
    /// ```
    #[inline]
    pub fn scope_with<F: IntoFuture>(self, make: impl FnOnce() -> F) -> Scope<L, F::IntoFuture> {
        let mut frame = frame_of(self.into_list());
        let future = enter(&mut frame, || make().into_future());
        Scope {
            frame,
            future: ManuallyDrop::new(future),
        }
    }

    /// Polls a stream with these bindings installed on every poll (and while it is
    /// dropped), so the code producing its items sees them (feature `stream`).
    ///
    /// ```
    /// use ctxvar::context_var;
    /// use futures::stream::{self, StreamExt};
    ///
    /// #[context_var]
    /// static SHARD: u32;
    ///
    /// # futures::executor::block_on(async {
    /// let items = SHARD.bind(3).scope_stream(stream::iter(0..2).map(|n| n + SHARD.try_get().unwrap()));
    /// assert_eq!(items.collect::<Vec<_>>().await, [3, 4]);
    /// # });
    /// ```
    #[cfg(feature = "stream")]
    #[cfg_attr(docsrs, doc(cfg(feature = "stream")))]
    pub fn scope_stream<S: futures_core::Stream>(
        self,
        stream: S,
    ) -> crate::stream::ScopeStream<L, S> {
        crate::stream::ScopeStream::new(Scope::new(self.into_list(), stream))
    }

    /// Runs a closure with these bindings installed.
    ///
    /// ```
    /// use ctxvar::context_var;
    ///
    /// #[context_var]
    /// static ITEM_ID: u64;
    ///
    /// assert_eq!(ITEM_ID.bind(7).sync_scope(|| ITEM_ID.try_get()), Ok(7));
    /// assert!(!ITEM_ID.is_bound());
    /// ```
    #[inline]
    pub fn sync_scope<R>(self, f: impl FnOnce() -> R) -> R {
        enter(&mut frame_of(self.into_list()), f)
    }
}
