//! Whether this thread has begun destroying its thread-locals (feature `tracing`).
//!
//! A subscriber keeps per-thread state in thread-locals of its own (the registry's
//! thread index, its stack of entered spans). Thread-local destructors run in reverse
//! order of registration, so a destructor registered before the subscriber's state
//! can run after that state is gone: creating or entering a span there panics inside
//! the subscriber, and a panic out of a thread-local destructor aborts the process.
//! Binding must work in such a destructor as anywhere else, so the span is what gives
//! way: the values are bound and read, only the log fields are missing.
//!
//! The test is a flag set by a destructor of our own, [`ExitGuard`], registered right
//! after this thread first creates a span, so after whatever state the subscriber
//! made for it. Ours therefore runs first: every destructor that runs after it sees
//! the flag, and the subscriber's state is alive for every one that runs before.

use core::cell::Cell;

thread_local! {
    // No destructor, `const`: readable for the whole of teardown.
    static EXITING: Cell<bool> = const { Cell::new(false) };
    // Has a destructor, so its first use registers one, after the subscriber's.
    static GUARD: ExitGuard = const { ExitGuard };
}

/// Sets `EXITING` when this thread's thread-locals are being destroyed.
struct ExitGuard;

impl Drop for ExitGuard {
    fn drop(&mut self) {
        let _ = EXITING.try_with(|exiting| exiting.set(true));
    }
}

/// Whether spans may be created and entered on this thread: until its thread-local
/// teardown reaches the subscriber's state.
#[inline]
pub(crate) fn spans_usable() -> bool {
    EXITING.try_with(|exiting| !exiting.get()).unwrap_or(false)
}

/// Call after creating a span on this thread: registers the guard's destructor after
/// the subscriber's (once per thread; later calls are one thread-local check).
#[inline]
pub(crate) fn span_created() {
    let _ = GUARD.try_with(|_| ());
}
