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
//! The test is a flag set by destructors of our own, registered right after this
//! thread first creates a span and right after it first enters one: so after the
//! state the subscriber made for each (a registry keeps one for new spans and one for
//! the stack of entered spans, and makes each on first use). Thread-local destructors
//! run in reverse order of registration, so each guard runs before the state it
//! follows, and the flag is set before any of that state is gone: every destructor
//! that runs after it binds without spans, and the subscriber's state is alive for
//! every one that runs before.

use core::cell::Cell;

thread_local! {
    // No destructor, `const`: readable for the whole of teardown.
    static EXITING: Cell<bool> = const { Cell::new(false) };
    // Each has a destructor, so its first use registers one.
    static AFTER_CREATING: ExitGuard = const { ExitGuard };
    static AFTER_ENTERING: ExitGuard = const { ExitGuard };
}

/// Sets `EXITING` when this thread's thread-locals are being destroyed.
struct ExitGuard;

impl Drop for ExitGuard {
    fn drop(&mut self) {
        let _ = EXITING.try_with(|exiting| exiting.set(true));
    }
}

/// Whether spans may be created and entered on this thread: until its thread-local
/// teardown may have reached the subscriber's state.
#[inline]
fn spans_usable() -> bool {
    EXITING.try_with(|exiting| !exiting.get()).unwrap_or(false)
}

/// A span that ctxvar made and holds (for a traced binding, or in a captured
/// `Context`). Dropped late in thread exit, it is leaked instead of closed: closing
/// calls into the subscriber (which may log a "close" line, with `FmtSpan::CLOSE`),
/// whose per-thread state may be gone by then, and a panic there would abort the
/// process. The leak is one span record, once per thread that exits holding it.
#[derive(Clone, Debug, Default)]
pub(crate) struct HeldSpan(Option<tracing::Span>);

impl HeldSpan {
    /// Holds `span`.
    pub(crate) const fn new(span: Option<tracing::Span>) -> Self {
        HeldSpan(span)
    }

    /// Holds the span `make` creates, unless this thread's teardown may have reached
    /// the subscriber's state (then none).
    #[inline]
    pub(crate) fn create(make: impl FnOnce() -> tracing::Span) -> Self {
        if !spans_usable() {
            return HeldSpan(None);
        }
        let span = make();
        // Once per thread, registers a destructor after the subscriber's state for
        // new spans; later calls are one thread-local check.
        let _ = AFTER_CREATING.try_with(|_| ());
        HeldSpan(Some(span))
    }

    /// The span, if any.
    #[inline]
    pub(crate) fn get(&self) -> Option<&tracing::Span> {
        self.0.as_ref()
    }

    /// Enters the span, if there is one and this thread's teardown may not have
    /// reached the subscriber's state.
    #[inline]
    pub(crate) fn enter(&self) -> Option<tracing::span::Entered<'_>> {
        let span = self.0.as_ref().filter(|_| spans_usable())?;
        let entered = span.enter();
        // As in `create`, for the subscriber's state for entered spans.
        let _ = AFTER_ENTERING.try_with(|_| ());
        Some(entered)
    }
}

impl Drop for HeldSpan {
    #[inline]
    fn drop(&mut self) {
        // Untraced bindings hold no span: no thread-local check for them.
        if self.0.is_some() && !spans_usable() {
            core::mem::forget(self.0.take());
        }
    }
}
