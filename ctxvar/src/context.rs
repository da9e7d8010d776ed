//! Captured contexts: [`Context`], the [`ContextScope`] future, and
//! [`ContextFutureExt::in_current_context`].

use core::fmt;
use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{self, Poll};

use pin_project_lite::pin_project;

use crate::frame::{self, Captured};
use crate::inside::{Enter, Inside};

/// A snapshot of the bindings in effect where it was captured, to run work in later,
/// elsewhere: in a spawned task, on another thread, in a callback.
///
/// [`Context::current()`] captures every bound variable that was not declared
/// `#[context_var(inherit = false)]`. A `Context` is immutable, cheap to clone and
/// `Send + Sync`; it is opaque (there is no way to list what it holds). Work run in it
/// with [`scope`](Context::scope) or [`run`](Context::run) sees exactly the snapshot's
/// bindings, plus any it makes itself, as Python's `Context.run` does: bindings of
/// the caller that are not in the snapshot are not visible inside, and the caller's
/// bindings are back afterwards. Nothing bound inside is ever visible outside. A
/// `Context` can be entered any number of times, nested, and from several threads at
/// once.
///
/// ```
/// use ctxvar::{context_var, Context};
///
/// #[context_var]
/// static REQUEST_ID: u64;
///
/// let ctx = REQUEST_ID.sync_scope(7, Context::current);
/// assert!(!REQUEST_ID.is_bound());
///
/// let on_thread = std::thread::spawn(move || ctx.run(|| REQUEST_ID.try_get()));
/// assert_eq!(on_thread.join().unwrap(), Ok(7));
/// ```
///
/// # Cost
///
/// Capturing walks the current chain of frames and makes **at most one
/// allocation**, sized by the number of bound variables: none when one variable is
/// bound (it is held inline) or none is. Values are not cloned: the snapshot holds a
/// reference count of the allocation each was bound in, so the cost does not depend
/// on the values' sizes, and a snapshot keeps those values alive after the scopes
/// that bound them have ended. Cloning a `Context` is one
/// reference-count increment; entering one is as cheap as entering any scope.
#[derive(Clone, Default)]
pub struct Context {
    captured: Captured,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Opaque by design: no names or values.
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

impl Context {
    /// Captures the bindings in effect here; see [`Context`].
    ///
    /// ```
    /// use ctxvar::{context_var, Context};
    ///
    /// #[context_var]
    /// static TENANT: &str;
    ///
    /// let ctx = TENANT.sync_scope("acme", Context::current);
    /// assert_eq!(ctx.run(|| TENANT.try_get()), Ok("acme"));
    /// ```
    #[must_use]
    #[inline]
    pub fn current() -> Self {
        Context {
            captured: frame::capture(),
        }
    }

    /// A context with nothing bound: what a new thread starts with.
    ///
    /// ```
    /// use ctxvar::{context_var, Context};
    ///
    /// #[context_var]
    /// static TENANT: &str;
    ///
    /// let hidden = TENANT.sync_scope("acme", || Context::empty().run(|| TENANT.is_bound()));
    /// assert!(!hidden);
    /// ```
    #[must_use]
    pub const fn empty() -> Self {
        Context {
            captured: Captured::Nothing,
        }
    }

    /// Runs `f` with exactly this context's bindings.
    ///
    /// ```
    /// use ctxvar::{context_var, Context};
    ///
    /// #[context_var]
    /// static TENANT: &str;
    ///
    /// let acme = TENANT.sync_scope("acme", Context::current);
    /// let seen = TENANT.sync_scope("other", || acme.run(|| TENANT.try_get()));
    /// assert_eq!(seen, Ok("acme"));
    /// ```
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        self.captured.enter(f)
    }

    /// Runs a future with exactly this context's bindings on every poll (and while it
    /// is dropped).
    ///
    /// ```
    /// use ctxvar::{context_var, Context};
    ///
    /// #[context_var]
    /// static TENANT: &str;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let acme = TENANT.sync_scope("acme", Context::current);
    /// assert_eq!(acme.scope(async { TENANT.try_get() }).await, Ok("acme"));
    /// # }
    /// ```
    pub fn scope<F: IntoFuture>(self, future: F) -> ContextScope<F::IntoFuture> {
        ContextScope::new(self, future.into_future())
    }
}

// SAFETY: `Captured::enter` runs its callback once, with the captured bindings
// entered as a root frame, and does nothing before it that can fail.
unsafe impl Enter for Context {
    #[inline]
    fn enter<R>(&mut self, f: impl FnOnce() -> R) -> R {
        self.captured.enter(f)
    }
}

impl Context {
    /// Polls a stream with exactly this context's bindings on every poll, and drops it
    /// with them (feature `stream`); see [`ContextStream`](crate::ContextStream).
    ///
    /// ```
    /// use ctxvar::{context_var, Context};
    /// use futures::stream::{self, StreamExt};
    ///
    /// #[context_var]
    /// static SHARD: u32;
    ///
    /// # futures::executor::block_on(async {
    /// let ctx = SHARD.sync_scope(3, Context::current);
    /// let items = ctx.scope_stream(stream::iter([0]).map(|n| n + SHARD.try_get().unwrap()));
    /// assert_eq!(items.collect::<Vec<_>>().await, [3]);
    /// # });
    /// ```
    #[cfg(feature = "stream")]
    #[cfg_attr(docsrs, doc(cfg(feature = "stream")))]
    pub fn scope_stream<S: futures_core::Stream>(
        self,
        stream: S,
    ) -> crate::stream::ContextStream<S> {
        crate::stream::ContextStream::new(ContextScope::new(self, stream))
    }
}

pin_project! {
    /// A future that replaces the visible bindings with a captured [`Context`]: it runs
    /// an inner future in exactly that context's bindings, whatever its poller has
    /// bound. Returned by [`Context::scope`] and
    /// [`ContextFutureExt::in_current_context`].
    ///
    /// On every poll it enters the context (hiding the poller's bindings), polls the
    /// inner future, and restores the poller's bindings when the poll returns. When
    /// dropped, it drops the inner future inside the context, so destructors see the
    /// context's bindings. To bind variables over the poller's bindings instead, see
    /// [`Scope`](crate::Scope).
    ///
    /// ```
    /// use ctxvar::{Context, ContextScope};
    ///
    /// let fut: ContextScope<std::future::Ready<u8>> = Context::empty().scope(std::future::ready(1));
    /// # let _ = fut;
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct ContextScope<F> {
        // The inner future, polled and dropped with the context entered.
        #[pin]
        inner: Inside<Context, F>,
    }
}

impl<F> ContextScope<F> {
    #[inline]
    pub(crate) fn new(context: Context, future: F) -> Self {
        ContextScope {
            inner: Inside::new(context, future),
        }
    }

    /// Runs `f` on the inner value with the context entered.
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

impl<F> fmt::Debug for ContextScope<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextScope").finish_non_exhaustive()
    }
}

impl<F: Future> Future for ContextScope<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<F::Output> {
        self.with_inner(|future| future.poll(cx))
    }
}

/// A closure that runs in a captured context, for the helpers that hand closures to
/// other threads (`spawn_blocking`, `thread::spawn`). If it is dropped without being
/// called (a blocking task aborted while queued, a thread that failed to start), it
/// is dropped in its context too, so destructors of what it captured can read the
/// variables, as they can for a future dropped mid-way.
pub(crate) struct ContextClosure<F> {
    f: Inside<Context, F>,
}

impl<F> ContextClosure<F> {
    /// `f`, to run in the context current here.
    pub(crate) fn capture(f: F) -> Self {
        ContextClosure {
            f: Inside::new(Context::current(), f),
        }
    }

    pub(crate) fn call<R>(self) -> R
    where
        F: FnOnce() -> R,
    {
        self.f.into_inner_with(|f| f())
    }
}

/// Runs futures in a captured context: `future.in_current_context()`.
///
/// Implemented for every future; in scope with `use ctxvar::prelude::*`. Its name
/// differs from `futures::FutureExt` and `opentelemetry::trace::FutureExt`, so all
/// three can be imported together.
///
/// ```
/// use ctxvar::{context_var, ContextFutureExt};
///
/// #[context_var]
/// static TENANT: &str;
///
/// # #[tokio::main]
/// # async fn main() {
/// // Capture now, run later on a task of its own (what `ctxvar::spawn` does).
/// let task = TENANT.sync_scope("acme", || async { TENANT.try_get() }.in_current_context());
/// assert_eq!(tokio::spawn(task).await.unwrap(), Ok("acme"));
/// # }
/// ```
pub trait ContextFutureExt: Future + Sized {
    /// Captures the current context now ([`Context::current`]) and runs this future in
    /// it, wherever it is polled.
    fn in_current_context(self) -> ContextScope<Self> {
        Context::current().scope(self)
    }

    /// Runs this future in `context`, wherever it is polled.
    ///
    /// ```
    /// use ctxvar::{Context, ContextFutureExt};
    ///
    /// let _fut = async {}.in_context(Context::empty());
    /// ```
    fn in_context(self, context: Context) -> ContextScope<Self> {
        context.scope(self)
    }
}

impl<F: Future> ContextFutureExt for F {}
