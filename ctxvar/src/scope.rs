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
        frame: Frame<L::Entries>,
        // Owns the values the frame's entries point to. Never moved out of or
        // replaced while the `Scope` exists, so those pointers stay valid.
        values: Arc<L>,
        // Dropped only by `PinnedDrop`, in place, with the bindings installed. Not an
        // `Option`: the frame's address escapes to the thread-local during a poll, so
        // the compiler could not hoist the `Some` check out of a polling loop, and it
        // cost two instructions per poll.
        #[pin]
        future: ManuallyDrop<F>,
        // Feature `tracing`: the span showing the traced variables, entered around
        // every poll (`None` when the list has none); `()` without the feature.
        span: SpanSlot,
    }

    impl<L: BindingList, F> PinnedDrop for Scope<L, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let frame: &Frame<L::Entries> = this.frame;
            // SAFETY: `future` is pinned, so it is dropped in place, never moved; this
            // is the only place that drops it, and `Scope` is being dropped, so it is
            // never used again. The frame's entries point into `this.values`, alive
            // for this call (the fields are dropped after this function).
            unsafe { frame.enter(|| ManuallyDrop::drop(this.future.get_unchecked_mut())) };
        }
    }
}

#[cfg(feature = "tracing")]
type SpanSlot = Option<tracing::Span>;
#[cfg(not(feature = "tracing"))]
type SpanSlot = ();

/// The span of `list`'s traced variables, a child of the current span, or `None`.
#[cfg(feature = "tracing")]
fn span_of<L: BindingList>(list: &L) -> SpanSlot {
    L::TRACED.then(|| list.span(&tracing::Span::current()))
}

#[cfg(not(feature = "tracing"))]
fn span_of<L: BindingList>(_: &L) -> SpanSlot {}

// SAFETY: the raw pointers in `frame` (entry values and the parent link) make the
// compiler treat `Scope` as `!Send`. The entry values point into `values`, an
// `Arc<L>` with `L: Send + Sync`, which moves with the `Scope`. The parent link is
// written and read only inside `Frame::enter`, on the thread running `poll` or `drop`,
// and is stale (never read) between calls, so moving the `Scope` to another thread
// between polls is sound.
unsafe impl<L: BindingList + Send + Sync, F: Send> Send for Scope<L, F> {}
// SAFETY: a `&Scope` gives access to nothing: entering the frame needs `Pin<&mut Scope>`.
unsafe impl<L: BindingList + Send + Sync, F: Sync> Sync for Scope<L, F> {}

impl<L: BindingList + Send + Sync, F> Scope<L, F> {
    pub(crate) fn new(list: L, future: F) -> Self {
        let values = Arc::new(list);
        let frame = Frame::new(values.entries(), RawOwner::of_arc(&values));
        Scope {
            span: span_of(&*values),
            frame,
            values,
            future: ManuallyDrop::new(future),
        }
    }
}

impl<L: BindingList, F> Scope<L, F> {
    /// Runs `f` on the inner value with the bindings installed.
    #[inline]
    pub(crate) fn with_inner<R>(self: Pin<&mut Self>, f: impl FnOnce(Pin<&mut F>) -> R) -> R {
        let this = self.project();
        let frame: &Frame<L::Entries> = this.frame;
        // `L::TRACED` is a constant: for untraced variables this is no code at all.
        // The `Scope` is pinned, so the span stays where the frame points.
        #[cfg(feature = "tracing")]
        let _entered = if L::TRACED {
            frame.enter_span(this.span.as_ref())
        } else {
            None
        };
        // SAFETY: `ManuallyDrop<F>` is a transparent wrapper, and pinning is
        // structural for it here: `F` is never moved out (only dropped in place, by
        // `PinnedDrop`), and it is alive until then.
        let inner = unsafe { this.future.map_unchecked_mut(|inner| &mut **inner) };
        // SAFETY: the entries point into `this.values`, alive for this call.
        unsafe { frame.enter(|| f(inner)) }
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
    let values = Arc::new(list);
    let frame = Frame::new(values.entries(), RawOwner::of_arc(&values));
    #[cfg(feature = "tracing")]
    let span = span_of(&*values);
    #[cfg(feature = "tracing")]
    let _entered = frame.enter_span(span.as_ref());
    // SAFETY: the entries point into `values`, a local that outlives the call.
    unsafe { frame.enter(f) }
}
