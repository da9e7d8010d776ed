//! Running work inside bindings: the [`Scope`] future and `sync_scope`.

use core::fmt;
use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{self, Poll};

use pin_project_lite::pin_project;

use crate::bindings::{BindingList, Bindings};
use crate::frame::{EntryList, OwnedFrame};
use crate::inside::{Enter, Inside};

pin_project! {
    /// A future that overlays bindings on the current ones: it runs an inner future
    /// with some variables bound over whatever its poller has bound.
    ///
    /// Returned by `VAR.scope(value, future)` and [`Bindings::scope`](crate::Bindings::scope),
    /// and what `#[with_context]` wraps an `async fn`'s body in. Its type can be named,
    /// for example as a `tower::Service::Future`: `Scope<Binding<dyn ITEM_ID>, F>`.
    ///
    /// On every poll it installs its bindings over those of whoever polls it, polls the
    /// inner future, and restores the previous bindings when the poll returns (`Ready`,
    /// `Pending`, or by unwinding). When dropped, it drops the inner future with the
    /// bindings installed, so destructors can read them. To run a future in a captured
    /// [`Context`](crate::Context) instead, which replaces the bindings it is polled
    /// in, see [`ContextScope`](crate::ContextScope).
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
        // The inner future, polled and dropped with the frame entered. The frame and
        // the allocation it points into (the values) never point into the `Scope`
        // itself, which may move between two polls (it is `Unpin` when `F` is) and
        // before it is dropped.
        #[pin]
        inner: Inside<OwnedFrame<L, L::Entries>, F>,
    }
}

// SAFETY: `OwnedFrame::enter` runs its callback once, with the frame entered, and does
// nothing before it that can fail.
unsafe impl<T, E: EntryList> Enter for OwnedFrame<T, E> {
    #[inline]
    fn enter<R>(&mut self, f: impl FnOnce() -> R) -> R {
        OwnedFrame::enter(self, |_| f())
    }
}

/// The frame of `list`, in an allocation of its own.
#[inline]
fn frame_of<L: BindingList + Send + Sync>(list: L) -> OwnedFrame<L, L::Entries> {
    // SAFETY: a list's entries are, for each of its bindings, the variable's key and
    // a pointer to its value, of the variable's type, inside the list.
    unsafe { OwnedFrame::new(list, BindingList::entries) }
}

impl<L: BindingList + Send + Sync, F> Scope<L, F> {
    #[inline]
    pub(crate) fn new(list: L, future: F) -> Self {
        Scope {
            inner: Inside::new(frame_of(list), future),
        }
    }
}

impl<L: BindingList, F> Scope<L, F> {
    /// Runs `f` on the inner value with the bindings installed.
    #[inline]
    pub(crate) fn with_inner<R>(self: Pin<&mut Self>, f: impl FnOnce(Pin<&mut F>) -> R) -> R {
        self.project().inner.with_pin_mut(f)
    }

    /// The inner value, for what needs no bindings (a stream's size hint).
    #[cfg(feature = "stream")]
    pub(crate) fn inner_ref(&self) -> &F {
        self.inner.get_ref()
    }
}

impl<L: BindingList, F: Future> Future for Scope<L, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<F::Output> {
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
        Scope {
            inner: Inside::new_with(frame_of(self.into_list()), || make().into_future()),
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
        frame_of(self.into_list()).enter(|_| f())
    }
}
