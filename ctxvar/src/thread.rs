//! Threads that inherit the context they were spawned from.
//!
//! A plain [`std::thread::spawn`] starts with nothing bound. [`spawn`] captures
//! [`Context::current()`](crate::Context::current) and runs the closure in it.

use crate::context::ContextClosure;

/// [`std::thread::spawn`], running the closure in the current context.
///
/// Cost over `std::thread::spawn`: one capture (at most one allocation, none for a
/// single binding; values are shared, never cloned).
///
/// ```
/// use ctxvar::context_var;
///
/// #[context_var]
/// static REQUEST_ID: u64;
///
/// let handle = REQUEST_ID.sync_scope(7, || ctxvar::thread::spawn(|| REQUEST_ID.try_get()));
/// assert_eq!(handle.join().unwrap(), Ok(7));
/// ```
///
/// # Panics
///
/// As [`std::thread::spawn`]: if the thread cannot be created.
pub fn spawn<F, R>(f: F) -> std::thread::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let f = ContextClosure::capture(f);
    std::thread::spawn(move || f.call())
}
