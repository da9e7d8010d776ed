//! What the frame chain shares between threads, and its thread-locals, as loom sees
//! them: in the loom tests' build (`cfg(all(test, loom))`: `loom_tests.rs`; loom is a
//! dev-dependency, so only a test build has it), loom's atomics and
//! thread-locals, so that loom explores every interleaving of the operations on them
//! (the model threads run on one OS thread, so each needs its own chain and free
//! lists); otherwise `core`'s atomics and `std`'s thread-locals.
//!
//! The one atomic that orders memory is a block's reference count (`owner`). The
//! counter of frame ids (`NEXT_IDS`) stays `core`'s: it only hands out distinct
//! numbers (a `Relaxed` add) and orders nothing.

#[cfg(not(all(test, loom)))]
pub(super) use core::sync::atomic::{AtomicUsize, Ordering, fence};
#[cfg(all(test, loom))]
pub(super) use loom::sync::atomic::{AtomicUsize, Ordering, fence};

/// `std::thread_local!`, or loom's (whose initialiser is an expression, not a
/// `const` block).
macro_rules! per_thread {
    ($(#[$attr:meta])* static $name:ident: $t:ty = const $init:block;) => {
        #[cfg(not(all(test, loom)))]
        std::thread_local! {
            $(#[$attr])* static $name: $t = const $init;
        }
        #[cfg(all(test, loom))]
        loom::thread_local! {
            $(#[$attr])* static $name: $t = $init;
        }
    };
}
pub(super) use per_thread;

/// `key.with(f)`, for a thread-local declared with [`per_thread!`] (inlined whole:
/// see `with_local`).
#[cfg(not(all(test, loom)))]
pub(super) use super::with_local as with;

#[cfg(all(test, loom))]
pub(super) fn with<T: 'static, R>(
    key: &'static loom::thread::LocalKey<T>,
    f: impl FnOnce(&T) -> R,
) -> R {
    key.with(f)
}
