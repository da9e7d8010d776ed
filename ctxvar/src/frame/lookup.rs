//! How a read finds its variable's binding: the per-variable read cache, and on a
//! miss, the walk of visible bindings (`visible`) that stops at the variable's
//! innermost one.
//!
//! The invariant that makes these walks sound (every frame reachable from `current`
//! is alive, and so is every value its entries point to) is stated and argued in the
//! parent module's documentation (`frame/mod.rs`).

use core::cell::Cell;
use core::ops::ControlFlow;
use core::ptr;
use std::thread::LocalKey;

use super::layout::{Linked, VarHeader};
use super::visible::visible;
use super::{with_chain, with_local, with_state};

/// One variable's cache of its last lookup on this thread: `#[context_var]` declares
/// one per variable in a `thread_local!` (see `ContextKey::__read_cache`).
///
/// It says: while this thread's chain version is `version`, the variable's innermost
/// binding (or, where nothing binds it, its default) is at `value`. One version names
/// one chain (see `State::version`), so a read that hits costs two thread-local loads,
/// a compare and the load of the value, whichever variables were read in between: no
/// more work than tokio's per-variable slot (a borrow check and an `Option` check);
/// README's downstream table has the counts. A scope polled again over the same chain (the usual poll: a task's future
/// over the executor's empty chain) keeps its version, so what it read on the last
/// poll is still cached; after a nested scope returns, what was cached before it is
/// valid again.
///
/// (A list of the caches filled since the last change, emptied on every change, makes
/// a hit one load cheaper but the first read after each poll dearer, as the
/// downstream benchmark showed when it was tried; every poll that reads pays that, so
/// the version stays.)
#[doc(hidden)]
#[derive(Debug)]
pub struct ReadCache {
    pub(super) version: Cell<u64>,
    value: Cell<*const ()>,
}

impl ReadCache {
    /// A cache that is valid for no version (`STATE` starts above it).
    #[must_use]
    pub const fn new() -> Self {
        ReadCache {
            version: Cell::new(0),
            value: Cell::new(ptr::null()),
        }
    }
}

impl Default for ReadCache {
    fn default() -> Self {
        Self::new()
    }
}

/// Finds the innermost binding of `key` on this thread, without a cache.
///
/// The returned pointer is valid as long as the frame that holds it stays linked,
/// which is at least until the caller returns to whoever entered that frame.
#[cfg(test)]
pub(crate) fn lookup(key: *const VarHeader) -> Option<*const ()> {
    with_chain(|chain| walk(chain, key))
}

/// One variable's read: which variable, its cache, and its default.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lookup {
    /// The variable's key (its metadata's header).
    pub(crate) key: *const VarHeader,
    /// The variable's own read cache (`ContextKey::__read_cache`).
    pub(crate) cache: &'static LocalKey<ReadCache>,
    /// Where the variable's default is, if it has one: a value that lives for ever,
    /// of the bindings' type. Called only when nothing binds the variable.
    pub(crate) default: fn() -> Option<*const ()>,
}

impl Lookup {
    /// `found(arg, value)` with the innermost binding of the variable on this thread,
    /// else with its default, else `missing(arg)`. (`arg` goes to whichever is called,
    /// so that both may use one value they own.)
    ///
    /// The pointer passed to `found` is valid as long as the frame that holds it stays
    /// linked, which is at least until the caller returns to whoever entered that
    /// frame.
    ///
    /// This is every read's hot path. A cache hit calls `found` directly, so it
    /// compiles to two loads, a compare, a branch and a load, with no `Option` or null
    /// to test afterwards. A miss walks the chain and caches what it found; a default
    /// is cached like a binding, so a variable read outside its scopes for its default
    /// hits the cache too. The walk is the one walk of visible bindings
    /// (`visible::visible`), which stops at the first binding of the key.
    #[inline]
    pub(crate) fn read<A, R>(
        self,
        arg: A,
        found: impl FnOnce(A, *const ()) -> R,
        missing: impl FnOnce(A) -> R,
    ) -> R {
        let Lookup {
            key,
            cache,
            default,
        } = self;
        let version = with_state(|state| state.version.get());
        with_local(cache, |cache| {
            if cache.version.get() == version {
                return found(arg, cache.value.get());
            }
            cold_path();
            let value = with_chain(
                #[inline(always)]
                |chain| walk(chain, key),
            );
            match value.or_else(default) {
                Some(value) => {
                    // Loaded again after the walk rather than kept from above: keeping it
                    // across the walk's call costs every hit a saved register (a push and
                    // a pop). The walk changes no version.
                    let version = with_state(|state| state.version.get());
                    cache.version.set(version);
                    cache.value.set(value);
                    found(arg, value)
                }
                None => missing(arg),
            }
        })
    }
}

/// Marks the branch that calls it as unlikely (`core::hint::cold_path`, which is newer
/// than this crate's minimum Rust version): rustc weights branches into blocks that call
/// a `#[cold]` function, so the hit path of a lookup is laid out straight.
#[cold]
#[inline(always)]
#[allow(clippy::inline_always)]
fn cold_path() {}

/// The innermost binding of `key` in the chain that starts at `frame`.
///
/// Checks the usual hit, the newest entry of the innermost frame, inline, and leaves
/// the rest to `walk_rest`: inlined whole, the walk's loops take registers from the
/// caller's hot path (a polling or reading loop), and as one call, every miss pays
/// for it. (Its caller is `Lookup::read`'s cold miss path, into which LLVM does not
/// inline unless told to.)
#[inline(always)]
#[allow(clippy::inline_always)]
fn walk(frame: Option<Linked<'_>>, key: *const VarHeader) -> Option<*const ()> {
    let frame = frame?;
    // The newest entry is checked on its own: it is the usual hit, in the same cache
    // line as the head. Every binding call binds at least one variable; only a
    // context's frame may have none.
    if let Some(newest) = frame.entries().first() {
        if ptr::eq(newest.key, key) {
            return Some(newest.value);
        }
    }
    let rest = walk_rest(frame, key);
    (!rest.is_null()).then_some(rest)
}

/// The innermost binding of `key` in the chain that starts at `frame`, whose newest
/// entry was checked already: the one walk of visible bindings, choosing `key`'s; null
/// if none.
///
/// Returns a pointer rather than an `Option` (a value is never at null): one register,
/// one test.
#[inline(never)]
fn walk_rest(frame: Linked<'_>, key: *const VarHeader) -> *const () {
    let found = visible(
        Some(frame),
        1,
        |entry| ptr::eq(entry.key, key),
        |binding| ControlFlow::Break(binding.entry.value),
    );
    match found {
        ControlFlow::Break(value) => value,
        ControlFlow::Continue(()) => ptr::null(),
    }
}
