//! The current-frame chain: the one place that holds raw pointers.
//!
//! The rest of the crate makes and enters frames through safe APIs ([`OwnedFrame`],
//! [`Captured`], [`capture`], [`Lookup`]); this module imports nothing from the
//! crate. Its submodules each answer one question: `layout`, how a frame is laid out
//! in memory, and how a linked frame is read ([`Linked`]); `visible`, which bindings
//! are visible from a frame (the one walk of the chain, innermost first, each variable
//! once); `lookup`, how a read finds a binding (and caches it); `capture`, how a
//! context keeps bindings alive beyond their frames; `traced` (feature `tracing`),
//! which bound values a log event shows; `owner`, the reference-counted blocks that
//! keep bound values (and a context's frame) alive and recycle their memory, the one
//! reference count of the crate; and `sync`, its atomics and the thread-locals as
//! loom sees them (`loom_tests`). This module holds the chain itself: the thread's
//! state, and entering and leaving a frame.
//!
//! The one other unsafe step of a read, taking a found value as its variable's type,
//! is `access::read`, which rests on the contract of the `unsafe` trait `ContextKey`
//! (each key has its own metadata and read cache).
//!
//! Each thread has one pointer, `current`, to the innermost *frame*. A frame holds the
//! bindings of one binding call (one `#[with_context]`, one `scope`, one `sync_scope`),
//! however many variables it binds, and a pointer to the frame that was current when it
//! was entered. A read walks this chain from the innermost frame outwards.
//!
//! Why a chain and not one slot per variable (tokio's design): entering a frame costs
//! a few stores however many variables it binds, and it is paid on every poll of
//! every enclosing scope, while reads are rarer than polls.
//!
//! # The invariant
//!
//! **Every frame reachable from `current` is alive, and so is every value its entries
//! point to.** It holds because frames are entered only by [`enter_head`], which unlinks the
//! frame again before it returns (also when the callback unwinds), and `enter`'s callers
//! keep the frame and the values alive across the call. So the chain is a stack that
//! mirrors the Rust call stack, and no safe code can reorder it: there is no guard a
//! user could leak or drop out of order.
//!
//! Code that reads the chain relies on the invariant in one place: it sees the chain
//! only through [`Linked`] views, made by `with_chain` for the innermost frame (for
//! the length of one call, which every `enter` below it outlasts) and by
//! `Linked::parent` for the frames below it. A view's accessors (a frame's entries,
//! owners and parent) are safe; the layout behind them is read in `layout` alone.
//!
//! A captured [`Context`](crate::Context) is entered as a *root* frame: its parent
//! stays null, so inside it only the captured bindings are visible. Every frame's
//! entries follow its head in memory (one layout for every walker); a context's frame
//! also lists each entry's owner after its entries.
//!
//! # Every pointer, and why it cannot dangle
//!
//! A frame may be linked only while it is at one address, so a frame never points at
//! memory that moves with its container: a `Scope` (which holds its frame) may be
//! polled, moved and dropped elsewhere, and its frame is entered anew, at its new
//! address, each time.
//!
//! - `STATE.current`: the innermost linked frame; set by [`enter_head`] and put back
//!   by its guard, on return and on unwind.
//! - `FrameHead::parent`: the frame that was current when this one was entered;
//!   written on every entry, read only while this frame is linked, when the parent is
//!   linked below it.
//! - `Entry::key`: a variable's `static` metadata.
//! - `Entry::value` and `FrameHead::owner` of a binding call's frame: into the one
//!   [`Shared`] block the scope made for it, which it holds, unmoved and unreplaced,
//!   for the frame's life.
//! - A context's entries and owners (`CapturedBinding`, `CapturedFrame`): into the
//!   blocks whose strong counts the context holds, as `Owner`s (one per
//!   binding, or the frame block's, which holds one of each distinct owner in its
//!   list). A frame stores an owner as an `OwnerPtr`, with no lifetime and no count;
//!   a [`Linked`] view lends it out as an `OwnerRef<'chain>`, from which a capture
//!   takes an `Owner` of its own.
//! - `State::memo`: an entry and its owner found in the chain whose version is
//!   `State::memo_version`; read only while that is the thread's version, so while
//!   that chain is linked.
//! - `ReadCache::value`: a binding found in the chain, valid while the thread's chain
//!   version is the cache's stamp. The version is the innermost frame's id, which
//!   names one chain and only one (see `State::version`); every unlink puts back the
//!   version of the chain it returns to.

use core::cell::Cell;
use core::ptr;
// Not through `sync`: ids are only distinct numbers (see there).
use core::sync::atomic::{AtomicU64, Ordering};
use std::thread::LocalKey;

mod capture;
mod layout;
mod lookup;
mod owner;
mod sync;
#[cfg(feature = "tracing")]
mod traced;
mod visible;

pub(crate) use capture::{Captured, capture};
#[cfg(feature = "tracing")]
pub(crate) use layout::Traced;
pub(crate) use layout::{Entry, EntryList, EntryPair, VarHeader};
use layout::{FrameHead, Linked};
pub(crate) use lookup::Lookup;
pub use lookup::ReadCache;
use owner::{OwnerPtr, OwnerRef, Shared};
#[cfg(feature = "tracing")]
pub(crate) use traced::for_each_traced;

/// A frame of one binding call: a head followed by its entries.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Frame<E> {
    head: FrameHead,
    entries: E,
}

impl<E: EntryList> Frame<E> {
    /// A frame whose entries point into the block that `owner` describes.
    pub(crate) fn new(entries: E, owner: OwnerRef<'_>) -> Self {
        Frame {
            head: FrameHead {
                parent: Cell::new(ptr::null()),
                // Assigned on the first entry, which `NEVER` cannot match.
                id: Cell::new(NEVER),
                over: Cell::new(NEVER),
                len: E::LEN,
                owner: Some(owner.as_ptr()),
            },
            entries,
        }
    }

    /// Runs `f` with this frame as the innermost one on this thread, over the frames
    /// that were current.
    ///
    /// # Safety
    ///
    /// Every `Entry::value` of this frame must point to a live value of the type its
    /// key was declared with, and the block its owner describes must be alive, for the
    /// whole call.
    #[inline]
    pub(crate) unsafe fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        // The pointer is derived from the whole frame, not from `self.head`, so that
        // it may be used to reach the entries behind the head.
        let this: *const FrameHead = ptr::from_ref(self).cast();
        // SAFETY: forwarded from this function's contract.
        unsafe { enter_head(this, false, f) }
    }

    /// Runs `f` with this frame as a root frame, which hides every other binding.
    ///
    /// # Safety
    ///
    /// As for [`enter`](Self::enter).
    #[inline]
    unsafe fn enter_root<R>(&self, f: impl FnOnce() -> R) -> R {
        let this: *const FrameHead = ptr::from_ref(self).cast();
        // SAFETY: forwarded from this function's contract.
        unsafe { enter_head(this, true, f) }
    }
}

/// A binding call's frame together with the allocation its entries point into: the
/// safe form of [`Frame`], what a scope holds.
///
/// The allocation never moves, so the frame may move with whatever holds this between
/// two entries; entering borrows it mutably, so the frame stays at one address while it
/// is linked, no other thread enters it at the same time, and the allocation outlives
/// the entry.
#[derive(Debug)]
pub(crate) struct OwnedFrame<T, E> {
    frame: Frame<E>,
    owner: Shared<T>,
}

impl<T: Send + Sync, E: EntryList> OwnedFrame<T, E> {
    /// `value` in an allocation of its own, and a frame over the entries that `entries`
    /// makes of it.
    ///
    /// # Safety
    ///
    /// Every entry `entries` returns points into the value it is given, at a value of
    /// the type its key was declared with.
    // Always inlined: out of line, the call and its moves of the frame out and in
    // show in the bind row of README's benchmark table, and LLVM put it out of line
    // for a variable bound in several places.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub(crate) unsafe fn new(value: T, entries: impl FnOnce(&T) -> E) -> Self {
        let owner = Shared::new(value);
        let frame = Frame::new(entries(&owner), owner.owner());
        OwnedFrame { frame, owner }
    }
}

impl<T, E: EntryList> OwnedFrame<T, E> {
    /// Runs `f` with this frame as the innermost one on this thread, over the frames
    /// that were current; `f` is given the value.
    #[inline]
    pub(crate) fn enter<R>(&mut self, f: impl FnOnce(&T) -> R) -> R {
        let value = &*self.owner;
        // SAFETY: the entries point into `self.owner` at values of their keys' types
        // (the contract of `new`); `self` is borrowed for the call, so the owner is
        // alive and the frame stays where it is.
        unsafe { self.frame.enter(|| f(value)) }
    }
}

// SAFETY: the raw pointers in the frame (entries, owner, parent link) make the
// compiler treat it as neither `Send` nor `Sync`. Those that point somewhere point into
// `owner`, a `Shared<T>` with `T: Send + Sync`, which moves with the frame; the parent
// link is written and read only while the frame is entered, on the entering thread,
// and is stale (never read) between entries. So the frame may move to another thread
// between two entries.
unsafe impl<T: Send + Sync, E> Send for OwnedFrame<T, E> {}
// SAFETY: a shared reference gives access only to the value, which is `Sync`: entering
// takes `&mut self`.
unsafe impl<T: Send + Sync, E> Sync for OwnedFrame<T, E> {}

/// Runs `f` with `head` as the innermost frame; a root frame keeps a null parent.
///
/// # Safety
///
/// `head` points to a live frame whose entries point to live values of their keys'
/// types, and whose owners are alive, for the whole call; the
/// pointer may be used to read them (for a binding call's frame, the entries behind
/// the head).
#[inline]
pub(crate) unsafe fn enter_head<R>(head: *const FrameHead, root: bool, f: impl FnOnce() -> R) -> R {
    with_state(|state| {
        let previous = state.current.get();
        let outer_version = state.version.get();
        // SAFETY: `head` is live per the contract.
        let frame = unsafe { &*head };
        if !root {
            frame.parent.set(previous);
            // Over the chain it was last entered over, the frame makes the same
            // chain again, so it keeps its id (and every read cached under it holds);
            // over any other, it takes an id never used before.
            if frame.over.get() != outer_version {
                frame.over.set(outer_version);
                frame.id.set(state.fresh_id());
            }
        }
        state.current.set(head);
        state.version.set(frame.id.get());
        let _restore = Restore {
            state,
            previous,
            outer_version,
        };
        f()
    })
}

/// Puts back the frame that was innermost before an `enter`, on return or unwind,
/// with the version it had: the chain is then exactly as it was under that version,
/// so the lookups cached under it hold again, and those cached since (which may
/// point into the frame that is leaving) do not.
struct Restore<'a> {
    state: &'a State,
    previous: *const FrameHead,
    outer_version: u64,
}

impl Drop for Restore<'_> {
    #[inline]
    fn drop(&mut self) {
        self.state.current.set(self.previous);
        self.state.version.set(self.outer_version);
    }
}

/// This thread's chain, and the version its read caches are checked against.
struct State {
    current: Cell<*const FrameHead>,
    /// Names the chain: the `id` of the innermost frame, or `NO_FRAME`. A frame's id is
    /// never another frame's, and it is renewed whenever the frame is entered over a
    /// chain other than the one it was last entered over, so by induction from the
    /// root, one id always names one chain: the same frames, with the same bindings
    /// (frames are immutable while linked, and a root frame's entries never change).
    /// So a [`ReadCache`] stamped `v` is valid while `version` is `v`, on any thread,
    /// across polls, and again after a nested scope returns (`Restore` puts the outer
    /// version back with the outer frame).
    version: Cell<u64>,
    /// This thread's block of ids, taken from `NEXT_IDS`: the next one, and the end.
    next_id: Cell<u64>,
    ids_end: Cell<u64>,
    /// The last capture of exactly one binding, while `version` is `memo_version`: the
    /// entry, its owner and the context's root id. A capture is a function of the
    /// chain, and one version names one chain, so the next capture under the same
    /// version is the same binding: it skips the walk, and the context gets the same
    /// root id (same entries), so reads cached in the last one stay valid. Raw and
    /// without a count: read only while the chain it was found in is linked.
    memo_version: Cell<u64>,
    memo: Cell<Option<(Entry, OwnerPtr, u64)>>,
}

impl State {
    /// An id no frame has had, on any thread.
    #[inline]
    fn fresh_id(&self) -> u64 {
        let id = self.next_id.get();
        if id == self.ids_end.get() {
            return self.refill_ids();
        }
        self.next_id.set(id + 1);
        id
    }

    #[cold]
    fn refill_ids(&self) -> u64 {
        // A `u64` never wraps: at a billion ids a second, that would take 584 years,
        // so an old id can never name a new chain.
        let first = NEXT_IDS.fetch_add(ID_BLOCK, Ordering::Relaxed);
        self.next_id.set(first + 1);
        self.ids_end.set(first + ID_BLOCK);
        first
    }
}

/// The version while no frame is entered on a thread.
const NO_FRAME: u64 = 1;
/// The id of every root frame without entries: they all hide everything.
const EMPTY_ROOT: u64 = 2;
/// A frame's `id` and `over` before its first entry: no chain has this version.
const NEVER: u64 = u64::MAX;
/// Ids are handed to threads in blocks of this many, so that taking one is a
/// thread-local increment.
const ID_BLOCK: u64 = 1 << 10;
/// The first id of the next block; below it, the constants above.
static NEXT_IDS: AtomicU64 = AtomicU64::new(16);

sync::per_thread! {
    // A `const` initialiser and no destructor: access is a plain thread-local load,
    // and the state stays readable during thread-local teardown (a read then finds
    // nothing, instead of panicking).
    static STATE: State = const {
        State {
            current: Cell::new(ptr::null()),
            // Above every new cache's stamp (0), so no cache is valid before its
            // first lookup.
            version: Cell::new(NO_FRAME),
            next_id: Cell::new(0),
            ids_end: Cell::new(0),
            memo_version: Cell::new(NEVER),
            memo: Cell::new(None),
        }
    };
}

/// `f` with a view of this thread's innermost frame (`None` when no frame is entered),
/// through which it reaches every frame of the chain.
///
/// The views cannot leave `f` (`'chain` is chosen here, for the call), and the chain
/// they see stays linked for all of it: a frame is unlinked only when the `enter` that
/// linked it returns, and every `enter` below this call returns after it; any that `f`
/// makes returns before `f` does.
#[inline(always)]
#[allow(clippy::inline_always)]
fn with_chain<R>(f: impl for<'chain> FnOnce(Option<Linked<'chain>>) -> R) -> R {
    let innermost = with_state(|state| state.current.get());
    // SAFETY: `innermost` is null or reachable from `current`: alive, with its entries'
    // values, as long as it stays linked (the module invariant), which is longer than
    // the call (above); `enter_head` stores it with the provenance of the whole frame.
    f(unsafe { Linked::new(innermost) })
}

/// A root frame's id, for a context made now.
fn root_id() -> u64 {
    with_state(State::fresh_id)
}

/// `f` with this thread's `STATE`.
#[inline(always)]
#[allow(clippy::inline_always)]
fn with_state<R>(f: impl FnOnce(&State) -> R) -> R {
    sync::with(&STATE, f)
}

/// `key.with(f)`, for a thread-local with a `const` initialiser and no destructor.
///
/// `LocalKey::with` is not `#[inline]`: in a user's crate built with several codegen
/// units (the default release profile), its instance often lands in another unit, and
/// every read pays a call, an indirect call to the accessor and spilled captures
/// (several times tokio's read, in the downstream benchmark). `try_with` is `#[inline]`,
/// and such a thread-local is always accessible (there is nothing to initialise and
/// nothing destroyed), so its error branch is dead code once inlined.
#[inline(always)]
#[allow(clippy::inline_always)]
fn with_local<T: 'static, R>(key: &'static LocalKey<T>, f: impl FnOnce(&T) -> R) -> R {
    match key.try_with(f) {
        Ok(result) => result,
        Err(_) => unreachable!("a `const` thread-local without a destructor is always accessible"),
    }
}

/// Whether any frame is entered on this thread.
#[cfg(test)]
pub(crate) fn is_empty() -> bool {
    with_state(|state| state.current.get().is_null())
}

// Tests enter frames inside frames in one block; each block's comment covers all of
// its entries.
#[cfg(all(test, not(loom)))]
#[allow(clippy::multiple_unsafe_ops_per_block)]
mod tests;
// Under `cfg(loom)`, only these: the other tests use `std`'s threads, which cannot use
// loom's atomics.
#[cfg(all(test, loom))]
mod loom_tests;
