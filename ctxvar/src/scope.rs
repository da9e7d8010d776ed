//! Running work inside bindings: the [`Scope`] future and `sync_scope`.

use core::fmt;
use core::future::Future;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::Arc;

use pin_project_lite::pin_project;

use crate::bindings::BindingList;
use crate::frame::{Frame, RawOwner};
#[cfg(feature = "tracing")]
use crate::thread_exit;

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
        // Points into `bound`, never into the `Scope` itself, which may move between
        // two polls (it is `Unpin` when `F` is) and before it is dropped.
        frame: Frame<L::Entries>,
        // Owns what the frame points to. Never moved out of or replaced while the
        // `Scope` exists, so those pointers stay valid wherever the `Scope` goes.
        bound: Arc<Bound<L>>,
        // Dropped only by `PinnedDrop`, in place, with the bindings installed. Not an
        // `Option`: the frame's address escapes to the thread-local during a poll, so
        // the compiler could not hoist the `Some` check out of a polling loop, and it
        // cost two instructions per poll.
        #[pin]
        future: ManuallyDrop<F>,
    }

    impl<L: BindingList, F> PinnedDrop for Scope<L, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let drop_future = || {
                // SAFETY: only the pinned place is used, and never moved out of.
                let future = unsafe { this.future.get_unchecked_mut() };
                // SAFETY: `future` is pinned, so it is dropped in place, never moved;
                // this is the only place that drops it, and `Scope` is being dropped,
                // so it is never used again.
                unsafe { ManuallyDrop::drop(future) }
            };
            // SAFETY: the frame points into `this.bound`, alive for this call (the
            // fields are dropped after this function).
            unsafe { enter(this.frame, this.bound, drop_future) };
        }
    }
}

/// What a binding call's frame points into: the values and, with feature `tracing`,
/// the span showing the traced ones. One allocation, which stays where it is for as
/// long as the frame may be entered, whatever moves the frame itself.
struct Bound<L> {
    list: L,
    #[cfg(feature = "tracing")]
    span: Option<tracing::Span>,
}

impl<L: BindingList + Send + Sync> Bound<L> {
    /// `list` in an allocation of its own, and a frame pointing into it.
    fn new(list: L) -> (Arc<Self>, Frame<L::Entries>) {
        let bound = Arc::new(Bound {
            // The span of `list`'s traced variables, a child of the current span.
            // `L::TRACED` is a constant: for untraced variables this is no code. None
            // late in thread exit, where the subscriber may be gone.
            #[cfg(feature = "tracing")]
            span: if L::TRACED && thread_exit::spans_usable() {
                let span = list.span(&tracing::Span::current());
                thread_exit::span_created();
                Some(span)
            } else {
                None
            },
            list,
        });
        let frame = Frame::new(bound.list.entries(), RawOwner::of_arc(&bound));
        #[cfg(feature = "tracing")]
        let frame = if L::TRACED {
            frame.showing(bound.span.as_ref())
        } else {
            frame
        };
        (bound, frame)
    }
}

/// Runs `f` with `frame` entered, and (feature `tracing`) the span of its traced
/// variables entered around it.
///
/// # Safety
///
/// `frame` was made by `Bound::new` with `bound`.
#[inline]
unsafe fn enter<L: BindingList, R>(
    frame: &Frame<L::Entries>,
    bound: &Bound<L>,
    f: impl FnOnce() -> R,
) -> R {
    // `L::TRACED` is a constant: for untraced variables this is no code at all.
    #[cfg(feature = "tracing")]
    let _entered = match &bound.span {
        Some(span) if L::TRACED && thread_exit::spans_usable() => Some(span.enter()),
        _ => None,
    };
    #[cfg(not(feature = "tracing"))]
    let _ = bound;
    // SAFETY: the frame's entries and span point into `bound`, which the caller keeps
    // alive, at the same address, for the call.
    unsafe { frame.enter(f) }
}

// SAFETY: the raw pointers in `frame` (entry values, span and the parent link) make
// the compiler treat `Scope` as `!Send`. The entry values and span point into `bound`,
// an `Arc<Bound<L>>` with `L: Send + Sync` (and `Span: Send + Sync`), which moves with
// the `Scope`. The parent link is
// written and read only inside `Frame::enter`, on the thread running `poll` or `drop`,
// and is stale (never read) between calls, so moving the `Scope` to another thread
// between polls is sound.
unsafe impl<L: BindingList + Send + Sync, F: Send> Send for Scope<L, F> {}
// SAFETY: a `&Scope` gives access to nothing: entering the frame needs `Pin<&mut Scope>`.
unsafe impl<L: BindingList + Send + Sync, F: Sync> Sync for Scope<L, F> {}

impl<L: BindingList + Send + Sync, F> Scope<L, F> {
    pub(crate) fn new(list: L, future: F) -> Self {
        let (bound, frame) = Bound::new(list);
        Scope {
            frame,
            bound,
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
        // SAFETY: the frame points into `this.bound`, alive for this call.
        unsafe { enter(this.frame, this.bound, || f(inner)) }
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

/// Runs `f` with `list` bound; see `Bindings::sync_scope`.
#[inline]
pub(crate) fn sync_scope<L: BindingList + Send + Sync, R>(list: L, f: impl FnOnce() -> R) -> R {
    let (bound, frame) = Bound::new(list);
    // SAFETY: the frame points into `bound`, a local that outlives the call.
    unsafe { enter(&frame, &bound, f) }
}
