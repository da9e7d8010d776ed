//! Tokio tasks that inherit the context they were spawned from (feature `tokio`).
//!
//! Each helper captures [`Context::current()`](crate::Context::current) at the moment
//! of the call, as Python's `create_task` copies the context, and runs the task inside
//! it: the task reads the values bound where it was spawned (except variables declared
//! `inherit = false`); bindings the spawner makes afterwards do not reach it, and
//! nothing the task binds reaches the spawner.
//!
//! Cost over the plain tokio call: one capture (at most one allocation, none for a
//! single binding; values are shared, never cloned) and, per poll, entering one frame.

use core::future::Future;

use tokio::task::JoinHandle;

use crate::context::{ContextClosure, ContextFutureExt};

/// [`tokio::spawn`], running the task in the current context.
///
/// Captures [`Context::current()`](crate::Context::current) now; the task sees those
/// bindings on every poll. Cost over `tokio::spawn`: one capture (at most one allocation, none
/// for a single binding; values are shared, not cloned) and entering one frame per
/// poll.
///
/// Inside a `#[with_context]`/`#[uses_context]` function, an `async` block passed to
/// `ctxvar::spawn` (called by that path) may read the function's variables directly,
/// `ctxvar::spawn(async move { REQUEST_ID.get() })`: the attribute gives the block
/// evidence of its own, because the task carries the context. A variable declared
/// `inherit = false` is not carried, so reading it there is a compile error. The same
/// holds for [`spawn_local`], and for closures passed to [`spawn_blocking`] and
/// [`thread::spawn`](crate::thread::spawn). `tokio::spawn(async move { REQUEST_ID.get() })`
/// does not compile: that task would run without the binding.
///
/// ```
/// use ctxvar::{context_var, uses_context, with_context};
///
/// #[context_var]
/// static REQUEST_ID: u64;
///
/// #[uses_context(REQUEST_ID)]
/// async fn audit() -> u64 {
///     REQUEST_ID.get()
/// }
///
/// #[with_context(REQUEST_ID = 7)]
/// async fn handle() -> u64 {
///     ctxvar::spawn(audit()).await.unwrap()
/// }
///
/// # #[tokio::main]
/// # async fn main() {
/// assert_eq!(handle().await, 7);
/// # }
/// ```
///
/// # Panics
///
/// As [`tokio::spawn`]: when called outside a tokio runtime.
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.in_current_context())
}

/// [`tokio::task::spawn_blocking`], running the closure in the current context.
///
/// Captures [`Context::current()`](crate::Context::current) now. Cost over
/// `spawn_blocking`: one capture (at most one allocation, none for a single binding;
/// values are shared, not cloned). If the closure is dropped without running (the task was
/// aborted while queued, or the runtime shut down first), it is dropped in the captured
/// context too, so the destructors of what it captured see the same values.
///
/// ```
/// use ctxvar::{context_var, uses_context, with_context};
///
/// #[context_var]
/// static REQUEST_ID: u64;
///
/// #[uses_context(REQUEST_ID)]
/// fn checksum() -> u64 {
///     REQUEST_ID.get() * 2
/// }
///
/// #[with_context(REQUEST_ID = 7)]
/// async fn handle() -> u64 {
///     ctxvar::spawn_blocking(checksum).await.unwrap()
/// }
///
/// # #[tokio::main]
/// # async fn main() {
/// assert_eq!(handle().await, 14);
/// # }
/// ```
///
/// # Panics
///
/// As [`tokio::task::spawn_blocking`]: when called outside a tokio runtime.
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let f = ContextClosure::capture(f);
    tokio::task::spawn_blocking(move || f.call())
}

/// [`tokio::task::spawn_local`], running the task in the current context.
///
/// Captures [`Context::current()`](crate::Context::current) now. Cost over
/// `spawn_local`: one capture and entering one frame per poll, as for [`spawn`].
///
/// ```
/// use ctxvar::{context_var, uses_context, with_context};
///
/// #[context_var]
/// static REQUEST_ID: u64;
///
/// #[uses_context(REQUEST_ID)]
/// async fn audit() -> u64 {
///     REQUEST_ID.get()
/// }
///
/// #[with_context(REQUEST_ID = 7)]
/// async fn handle() -> u64 {
///     ctxvar::spawn_local(audit()).await.unwrap()
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let local = tokio::task::LocalSet::new();
/// assert_eq!(local.run_until(handle()).await, 7);
/// # }
/// ```
///
/// # Panics
///
/// As [`tokio::task::spawn_local`]: when called outside a `LocalSet`.
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    tokio::task::spawn_local(future.in_current_context())
}
