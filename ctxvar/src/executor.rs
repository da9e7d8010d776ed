//! Executors whose tasks inherit the context: [`InheritContext`].
//!
//! Some libraries spawn tasks of their own through an executor they are given: hyper
//! serves each HTTP/2 stream of a connection in a task of its own, and its HTTP/2
//! client sends requests and request bodies from tasks it spawns. Such a task starts
//! with nothing bound, as any task does, so a request handler polled there does not see
//! what the connection was served in. Serving a connection inside
//! `LISTENER.scope(name, connection)` is not enough: the connection future sees
//! `LISTENER` when it is polled, but the stream tasks it spawns do not.
//!
//! [`InheritContext`] wraps the executor handed to such a library. Each future the
//! library spawns through it runs in [`Context::current()`](crate::Context::current)
//! captured *when the library spawns it*: every bound variable not declared
//! `#[context_var(inherit = false)]`, as bound in whatever scope the library's own
//! future (the connection, for hyper's server) was being polled in. It does for the
//! tasks a library spawns what [`ctxvar::spawn`] and
//! [`.in_current_context()`](crate::ContextFutureExt::in_current_context) do for the tasks
//! you spawn yourself. Cost per spawned task: one capture (at most one allocation,
//! none for a single binding; values are shared, never cloned) and, per poll,
//! entering one frame.
//!
//! It works with any executor: one that is a closure (see [`InheritContext::spawn`])
//! and, with the feature `hyper`, one that implements hyper's `Executor` trait, such
//! as hyper-util's `TokioExecutor`:
//! `hyper::server::conn::http2::Builder::new(InheritContext::new(TokioExecutor::new()))`.
//! `tests/tests/executor_hyper.rs` in the repository serves two HTTP/2 connections that
//! way over loopback, each inside a scope of its own, and checks that every request
//! handler sees its connection's value, and nothing with the plain executor.
//!
//! ```
//! use std::future::Future;
//! use std::pin::Pin;
//!
//! use ctxvar::context_var;
//! use ctxvar::executor::InheritContext;
//!
//! #[context_var]
//! static LISTENER: &str;
//!
//! type Task = Pin<Box<dyn Future<Output = ()> + Send>>;
//!
//! # #[tokio::main]
//! # async fn main() {
//! let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
//! let spawn = |task: Task| drop(tokio::spawn(task));
//!
//! let plain = spawn;
//! let inheriting = InheritContext::new(spawn);
//! LISTENER.sync_scope("public", || {
//!     // What a library does with the executor it was given, here inside a scope.
//!     let tx1 = tx.clone();
//!     plain(Box::pin(async move { tx1.send(("plain", LISTENER.try_get().ok())).unwrap() }));
//!     let tx2 = tx.clone();
//!     inheriting.spawn(async move { tx2.send(("inheriting", LISTENER.try_get().ok())).unwrap() });
//! });
//!
//! let mut seen = [rx.recv().await.unwrap(), rx.recv().await.unwrap()];
//! seen.sort_unstable();
//! assert_eq!(seen, [("inheriting", Some("public")), ("plain", None)]);
//! # }
//! ```
//!
//! # Libraries that hand you the task: tower's `Buffer`
//!
//! tower's `Buffer` takes no executor. `Buffer::new` spawns its worker with a plain
//! `tokio::spawn`, so the worker sees nothing; `Buffer::pair` returns the worker, a
//! future, for you to spawn, so spawn it with [`ctxvar::spawn`] (or
//! `tokio::spawn(worker.in_current_context())`, or any executor after
//! [`.in_current_context()`](crate::ContextFutureExt::in_current_context)):
//! `let (buffer, worker) = Buffer::pair(service, 32); ctxvar::spawn(worker);`. No
//! adapter is needed there, and none would help more: one worker serves every caller
//! for its whole life, so what it carries is the context where it was spawned (the
//! service's setup), not a request's. The inner service's `poll_ready` and `call` run
//! in the worker and see that context; the future `call` returns is handed back to the
//! caller and polled in the caller's task, so what an `async` service does in that
//! future sees the caller's bindings.

// `ctxvar::spawn` exists with the feature `tokio` only; without it the link points at
// the published docs instead of failing to resolve.
#![cfg_attr(feature = "tokio", doc = "", doc = "[`ctxvar::spawn`]: crate::spawn")]
#![cfg_attr(
    not(feature = "tokio"),
    doc = "",
    doc = "[`ctxvar::spawn`]: https://docs.rs/ctxvar/latest/ctxvar/fn.spawn.html"
)]

use core::future::Future;
use core::pin::Pin;

use crate::context::{Context, ContextScope};

/// An executor whose tasks run in the context current where each was spawned; see the
/// [module](self).
///
/// It wraps an executor `E`, a closure (see [`spawn`](InheritContext::spawn)) or, with
/// the feature `hyper`, a `hyper::rt::Executor`, and is `Clone`, `Copy`, `Debug` and
/// `Default` when `E` is (hyper requires `Clone` of the executors it is given).
///
/// ```
/// use ctxvar::executor::InheritContext;
///
/// let executor = InheritContext::new(|task: ctxvar::ContextScope<std::future::Ready<()>>| drop(task));
/// executor.spawn(std::future::ready(()));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct InheritContext<E> {
    inner: E,
}

impl<E> InheritContext<E> {
    /// Wraps `executor`: what it is given from now on runs in the context captured when
    /// it is given.
    ///
    /// ```
    /// use ctxvar::executor::InheritContext;
    ///
    /// let executor = InheritContext::new(|task: std::pin::Pin<Box<dyn Future<Output = ()>>>| drop(task));
    /// # let _ = executor;
    /// ```
    pub const fn new(executor: E) -> Self {
        InheritContext { inner: executor }
    }

    /// The wrapped executor, which spawns without carrying the context.
    ///
    /// ```
    /// use ctxvar::executor::InheritContext;
    ///
    /// assert_eq!(InheritContext::new(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> E {
        self.inner
    }

    /// A reference to the wrapped executor.
    ///
    /// ```
    /// use ctxvar::executor::InheritContext;
    ///
    /// assert_eq!(*InheritContext::new(7).get_ref(), 7);
    /// ```
    pub const fn get_ref(&self) -> &E {
        &self.inner
    }

    /// Captures [`Context::current()`] now and hands `future`, running in it, to the
    /// wrapped closure.
    ///
    /// The closure receives the future as a [`ContextScope<F>`], or as any type that can
    /// be made from one: `Pin<Box<dyn Future<Output = _> + Send>>` (or without `Send`),
    /// the usual type of a closure executor, since a closure cannot be generic over the
    /// futures it is given. It returns what the closure returns.
    ///
    /// ```
    /// use std::future::Future;
    /// use std::pin::Pin;
    ///
    /// use ctxvar::context_var;
    /// use ctxvar::executor::InheritContext;
    ///
    /// #[context_var]
    /// static TENANT: &str;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// type Task = Pin<Box<dyn Future<Output = Result<&'static str, ctxvar::AccessError>> + Send>>;
    ///
    /// let executor = InheritContext::new(|task: Task| tokio::spawn(task));
    /// let handle = TENANT.sync_scope("acme", || executor.spawn(async { TENANT.try_get() }));
    /// assert_eq!(handle.await.unwrap(), Ok("acme"));
    /// # }
    /// ```
    pub fn spawn<F, T, R>(&self, future: F) -> R
    where
        E: Fn(T) -> R,
        F: Future,
        T: From<ContextScope<F>>,
    {
        (self.inner)(T::from(Context::current().scope(future)))
    }
}

/// The type closure executors take, made from a future running in a captured context.
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
///
/// use ctxvar::{Context, ContextScope};
///
/// let task: ContextScope<_> = Context::empty().scope(async { 1 });
/// let boxed: Pin<Box<dyn Future<Output = i32> + Send>> = task.into();
/// # let _ = boxed;
/// ```
impl<'a, F> From<ContextScope<F>> for Pin<Box<dyn Future<Output = F::Output> + Send + 'a>>
where
    F: Future + Send + 'a,
{
    fn from(future: ContextScope<F>) -> Self {
        Box::pin(future)
    }
}

/// As the `Send` conversion, for executors of futures that stay on one thread.
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
/// use std::rc::Rc;
///
/// use ctxvar::{Context, ContextScope};
///
/// let local = Rc::new(1);
/// let task: ContextScope<_> = Context::empty().scope(async move { *local });
/// let boxed: Pin<Box<dyn Future<Output = i32>>> = task.into();
/// # let _ = boxed;
/// ```
impl<'a, F> From<ContextScope<F>> for Pin<Box<dyn Future<Output = F::Output> + 'a>>
where
    F: Future + 'a,
{
    fn from(future: ContextScope<F>) -> Self {
        Box::pin(future)
    }
}

/// Spawns through the wrapped hyper executor, capturing the context when hyper spawns
/// (feature `hyper`).
///
/// Each future is wrapped with
/// [`.in_current_context()`](crate::ContextFutureExt::in_current_context) at the call to
/// `execute`, so the wrapped executor must accept [`ContextScope<F>`] wherever it
/// accepts `F`; hyper-util's `TokioExecutor` and any executor generic over the futures
/// it spawns do.
///
/// ```
/// use ctxvar::context_var;
/// use ctxvar::executor::InheritContext;
/// use hyper::rt::Executor;
///
/// #[context_var]
/// static LISTENER: &str;
///
/// /// Spawns on tokio, as hyper-util's `TokioExecutor` does.
/// #[derive(Clone)]
/// struct Tokio;
///
/// impl<F> Executor<F> for Tokio
/// where
///     F: Future + Send + 'static,
///     F::Output: Send + 'static,
/// {
///     fn execute(&self, future: F) {
///         tokio::spawn(future);
///     }
/// }
///
/// # #[tokio::main]
/// # async fn main() {
/// let (tx, rx) = tokio::sync::oneshot::channel();
/// let executor = InheritContext::new(Tokio);
/// // As hyper's connection does when it spawns a stream's task.
/// LISTENER.sync_scope("admin", || {
///     executor.execute(async move { tx.send(LISTENER.try_get()).unwrap() });
/// });
/// assert_eq!(rx.await.unwrap(), Ok("admin"));
/// # }
/// ```
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
impl<E, F> hyper::rt::Executor<F> for InheritContext<E>
where
    E: hyper::rt::Executor<ContextScope<F>>,
    F: Future,
{
    fn execute(&self, future: F) {
        // Captured here, at the spawn, not when the task is first polled: by then the
        // library's future that spawned it has left the scope it was polled in.
        self.inner.execute(Context::current().scope(future));
    }
}
