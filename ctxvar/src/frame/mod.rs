//! The current-frame chain: the one place that holds raw pointers.
//!
//! The rest of the crate makes and enters frames through safe APIs ([`OwnedFrame`],
//! [`Captured`], [`capture`], [`lookup_with`]); this module imports nothing from the
//! crate. Its submodule `owner` holds the reference-counted blocks that keep bound
//! values alive, and recycles their memory. The one other unsafe step of a read,
//! taking a found value as its variable's type, is `key::read`, which rests on the
//! contract of the `unsafe` trait `ContextKey` (each key has its own metadata and
//! read cache).
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
//! - A context's entries and owners (`HeldEntry`, `SharedFrame`): into the blocks
//!   whose strong counts the context holds.
//! - `ReadCache::value`: a binding found in the chain, valid while the thread's chain
//!   version is the cache's stamp. The version is the innermost frame's id, which
//!   names one chain and only one (see `State::version`); every unlink puts back the
//!   version of the chain it returns to.

use core::alloc::Layout;
use core::cell::Cell;
#[cfg(feature = "tracing")]
use core::fmt;
#[cfg(feature = "tracing")]
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
use std::alloc;
use std::thread::LocalKey;

mod owner;

pub(crate) use owner::RawOwner;
use owner::Shared;

/// The part of a variable's metadata that does not depend on its type: its identity
/// in the chain.
///
/// Frames store a pointer to this header as the variable's key, so reads compare
/// addresses, never `TypeId`s or strings. (`#[context_var]` places it at the start of
/// the variable's `static` metadata, `key::VarMeta`.)
#[derive(Debug)]
pub(crate) struct VarHeader {
    pub(crate) name: &'static str,
    pub(crate) module_path: &'static str,
    /// Whether `Context::current()` captures this variable's bindings.
    pub(crate) inherit: bool,
    /// Feature `tracing`: how the variable's bound values are shown on log events, if
    /// it is declared `trace`.
    #[cfg(feature = "tracing")]
    pub(crate) traced: Option<Traced>,
}

/// How a traced variable's values are shown on log events (feature `tracing`).
#[cfg(feature = "tracing")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Traced {
    /// The field's name.
    pub(crate) field: &'static str,
    /// Formats a value of the variable's declared type, given the variable's header.
    ///
    /// # Safety
    ///
    /// The header is the one this `Traced` belongs to, and the value pointer is to a
    /// live value of the variable's declared type.
    pub(crate) format:
        unsafe fn(*const VarHeader, *const (), &mut fmt::Formatter<'_>) -> fmt::Result,
}

/// One binding: which variable, and where its value is.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
#[doc(hidden)]
pub struct Entry {
    pub(crate) key: *const VarHeader,
    pub(crate) value: *const (),
}

/// A sequence of [`Entry`]s laid out exactly like `[Entry; LEN]`.
///
/// # Safety
///
/// Implementors must be `#[repr(C)]` compositions of `Entry` with no padding, so that
/// a pointer to `Self` is a valid pointer to `LEN` consecutive entries.
#[doc(hidden)]
pub unsafe trait EntryList: Copy + 'static {
    /// How many entries.
    const LEN: usize;
}

// SAFETY: one `Entry` is an array of one entry.
unsafe impl EntryList for Entry {
    const LEN: usize = 1;
}

/// Two entry lists back to back.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
#[doc(hidden)]
pub struct EntryPair<A, B>(pub(crate) A, pub(crate) B);

// SAFETY: `A` and `B` are entry lists, so their sizes are multiples of
// `size_of::<Entry>()` and their alignment is `Entry`'s: `repr(C)` puts `B` right after
// `A` with no padding. `LAYOUT_OK` checks this at compile time for every instance.
unsafe impl<A: EntryList, B: EntryList> EntryList for EntryPair<A, B> {
    const LEN: usize = {
        let len = A::LEN + B::LEN;
        assert!(size_of::<Self>() == len * size_of::<Entry>());
        assert!(align_of::<Self>() == align_of::<Entry>());
        len
    };
}

/// The type-independent start of every frame. Its `len` entries follow it in memory,
/// and for a captured context's frame, each entry's owner follows the entries.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct FrameHead {
    /// The frame that was current when this one was entered, or null for a root frame
    /// (a captured context, which hides everything outside it). Only meaningful while
    /// this frame is linked; never written for a root frame.
    parent: Cell<*const FrameHead>,
    /// The version of the chain while this frame is innermost (see `State::version`):
    /// an id no other frame ever has, kept while the frame is entered again over the
    /// same chain, so that the reads cached under it stay valid from one poll to the
    /// next. A root frame's is fixed when it is made.
    id: Cell<u64>,
    /// The version of the chain this frame was last entered over; a binding call's
    /// frame takes a new `id` when it is entered over any other. Unused for a root.
    over: Cell<u64>,
    len: usize,
    /// `Some`: every entry's value lives in this one block (a binding call's frame, or
    /// a context that captured one binding). `None`: a context's frame that captured
    /// several, whose `[RawOwner; len]` follow its `[Entry; len]`.
    owner: Option<RawOwner>,
}

impl FrameHead {
    /// The head of a root frame with no entries: entering it hides every binding.
    fn empty_root() -> Self {
        FrameHead::root(EMPTY_ROOT, 0, None)
    }

    /// The head of a root frame, with its fixed id.
    fn root(id: u64, len: usize, owner: Option<RawOwner>) -> Self {
        FrameHead {
            parent: Cell::new(ptr::null()),
            id: Cell::new(id),
            over: Cell::new(NEVER),
            len,
            owner,
        }
    }
}

/// A frame of one binding call: a head followed by its entries.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Frame<E> {
    head: FrameHead,
    entries: E,
}

impl<E: EntryList> Frame<E> {
    /// A frame whose entries point into the block that `owner` describes.
    pub(crate) fn new(entries: E, owner: RawOwner) -> Self {
        Frame {
            head: FrameHead {
                parent: Cell::new(ptr::null()),
                // Assigned on the first entry, which `NEVER` cannot match.
                id: Cell::new(NEVER),
                over: Cell::new(NEVER),
                len: E::LEN,
                owner: Some(owner),
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
    // Always inlined: the call and its moves of the frame out and in cost about a
    // third of a bind; left to LLVM, a variable bound in several places got it
    // out of line.
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
        // (the contract of `new`); `self` is borrowed for the call, so the owner is alive and the frame stays
        // where it is.
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
    memo: Cell<Option<(Entry, RawOwner, u64)>>,
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

thread_local! {
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

/// A root frame's id, for a context made now.
fn root_id() -> u64 {
    with_state(State::fresh_id)
}

/// `f` with this thread's `STATE`.
#[inline(always)]
#[allow(clippy::inline_always)]
fn with_state<R>(f: impl FnOnce(&State) -> R) -> R {
    with_local(&STATE, f)
}

/// `key.with(f)`, for a thread-local with a `const` initialiser and no destructor.
///
/// `LocalKey::with` is not `#[inline]`: in a user's crate built with several codegen
/// units (the default release profile), its instance often lands in another unit, and
/// every read pays a call, an indirect call to the accessor and spilled captures
/// (about 50 instructions where tokio's read takes 12). `try_with` is `#[inline]`,
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

/// One variable's cache of its last lookup on this thread: `#[context_var]` declares
/// one per variable in a `thread_local!` (see `ContextKey::__read_cache`).
///
/// It says: while this thread's chain version is `version`, the variable's innermost
/// binding (or, where nothing binds it, its default) is at `value`. One version names
/// one chain (see `State::version`), so a read that hits costs two thread-local loads,
/// a compare and the load of the value, whichever variables were read in between, as
/// many instructions as tokio's per-variable slot (a borrow check and an `Option`
/// check). A scope polled again over the same chain (the usual poll: a task's future
/// over the executor's empty chain) keeps its version, so what it read on the last
/// poll is still cached; after a nested scope returns, what was cached before it is
/// valid again.
///
/// (A list of the caches filled since the last change, emptied on every change, makes
/// a hit one load cheaper but the first read after each poll about 25 instructions
/// dearer; every poll that reads pays that, so the version stays.)
#[doc(hidden)]
#[derive(Debug)]
pub struct ReadCache {
    version: Cell<u64>,
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

/// Every entry visible from the innermost frame outwards, in lookup order (innermost
/// frame first, newest entry of a frame first), with the owner of its value.
///
/// The entries are valid as long as the frames that hold them stay linked, which is at
/// least until the caller returns to whoever entered them.
struct ChainEntries {
    frame: *const FrameHead,
    /// The next entry of `frame` to visit.
    index: usize,
}

impl ChainEntries {
    fn from_current() -> Self {
        ChainEntries {
            frame: with_state(|state| state.current.get()),
            index: 0,
        }
    }
}

impl Iterator for ChainEntries {
    type Item = (Entry, RawOwner);

    fn next(&mut self) -> Option<(Entry, RawOwner)> {
        while !self.frame.is_null() {
            // SAFETY: `self.frame` is reachable from `current`, so it is alive (module
            // invariant), and so are its entries.
            let head = unsafe { &*self.frame };
            if self.index < head.len {
                let index = self.index;
                self.index += 1;
                // SAFETY: a frame's `len` entries follow its head (`repr(C)`), and
                // `self.frame` carries the provenance of the whole frame.
                let entries = unsafe { entries_of(self.frame) };
                // SAFETY: as above; `index < len`.
                let entry = unsafe { entries.add(index) };
                // SAFETY: as above.
                let entry = unsafe { *entry };
                let owner = if let Some(owner) = head.owner {
                    owner
                } else {
                    // SAFETY: a frame without an owner is a context's `SharedFrame`,
                    // whose `len` owners follow its entries.
                    let owners = unsafe { owners_of(self.frame, head.len) };
                    // SAFETY: as above; `index < len`.
                    let owner = unsafe { owners.add(index) };
                    // SAFETY: as above.
                    unsafe { *owner }
                };
                return Some((entry, owner));
            }
            self.frame = head.parent.get();
            self.index = 0;
        }
        None
    }
}

/// Finds the innermost binding of `key` on this thread, without a cache.
///
/// The returned pointer is valid as long as the frame that holds it stays linked,
/// which is at least until the caller returns to whoever entered that frame.
#[cfg(test)]
pub(crate) fn lookup(key: *const VarHeader) -> Option<*const ()> {
    with_state(|state| walk(state.current.get(), key))
}

/// `found(arg, value)` with the innermost binding of `key` on this thread, else with
/// the variable's `default` (which must point to a value that lives for ever, of the
/// same type as the bindings), else `missing(arg)`.
/// `cache` is `key`'s own.
///
/// The pointer passed to `found` is valid as long as the frame that holds it stays
/// linked, which is at least until the caller returns to whoever entered that frame.
///
/// This is every read's hot path. A cache hit calls `found` directly, so it compiles
/// to two loads, a compare, a branch and a load, with no `Option` or null to test
/// afterwards. A miss walks the chain and caches what it found; a default is cached
/// like a binding, so a variable read outside its scopes for its default hits the
/// cache too. The walk is a loop of its own rather than `ChainEntries` (which also
/// fetches each entry's owner, for captures).
#[inline]
pub(crate) fn lookup_with<A, R>(
    key: *const VarHeader,
    cache: &'static LocalKey<ReadCache>,
    default: impl FnOnce() -> Option<*const ()>,
    arg: A,
    found: impl FnOnce(A, *const ()) -> R,
    missing: impl FnOnce(A) -> R,
) -> R {
    let version = with_state(|state| state.version.get());
    with_local(cache, |cache| {
        if cache.version.get() == version {
            return found(arg, cache.value.get());
        }
        cold_path();
        let value = walk(with_state(|state| state.current.get()), key);
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
/// for it. (Its caller is `lookup_with`'s cold miss path, into which LLVM does not
/// inline unless told to.)
#[inline(always)]
#[allow(clippy::inline_always)]
fn walk(frame: *const FrameHead, key: *const VarHeader) -> Option<*const ()> {
    if frame.is_null() {
        return None;
    }
    // SAFETY: `frame` is reachable from `current`, so it is alive (module invariant),
    // and so are its `len` entries.
    let head = unsafe { &*frame };
    // The newest entry is checked on its own: it is the usual hit, in the same cache
    // line as the head. Every binding call binds at least one variable; only a
    // context's frame may have none.
    let rest = if head.len != 0 {
        // SAFETY: a frame's `len >= 1` entries follow its head; `frame` carries the
        // provenance of the whole frame (see `Frame::enter`).
        let newest = unsafe { entries_of(frame) };
        // SAFETY: as above.
        let entry = unsafe { &*newest };
        if ptr::eq(entry.key, key) {
            return Some(entry.value);
        }
        // SAFETY: as above; the other `len - 1` entries follow.
        let others = unsafe { newest.add(1) };
        walk_rest(others, head.len - 1, head.parent.get(), key)
    } else {
        walk_rest(ptr::null(), 0, head.parent.get(), key)
    };
    (!rest.is_null()).then_some(rest)
}

/// The first of `len` binding-call entries at `entries` whose key is `key`, else the
/// innermost binding of `key` in the chain that starts at `frame`; null if none.
///
/// Returns a pointer rather than an `Option` (a value is never at null): one register,
/// one test.
#[inline(never)]
fn walk_rest(
    entries: *const Entry,
    len: usize,
    mut frame: *const FrameHead,
    key: *const VarHeader,
) -> *const () {
    if let Some(value) = find(entries, len, key) {
        return value;
    }
    while !frame.is_null() {
        // SAFETY: `frame` is reachable from `current`, so it is alive (module
        // invariant), and so are its `len` entries.
        let head = unsafe { &*frame };
        // SAFETY: as in `walk`: a frame's `len` entries follow its head.
        if let Some(value) = find(unsafe { entries_of(frame) }, head.len, key) {
            return value;
        }
        frame = head.parent.get();
    }
    ptr::null()
}

/// The value of the first of `len` entries starting at `first` whose key is `key`.
///
/// Entries are stored newest first, so the first match is the one that shadows the
/// others.
#[inline]
fn find(first: *const Entry, len: usize, key: *const VarHeader) -> Option<*const ()> {
    for index in 0..len {
        // SAFETY: the caller's frame is alive and has `len` entries.
        let at = unsafe { first.add(index) };
        // SAFETY: as above.
        let entry = unsafe { &*at };
        if ptr::eq(entry.key, key) {
            return Some(entry.value);
        }
    }
    None
}

/// The entries of the frame whose head is at `frame`: right after the head.
///
/// # Safety
///
/// `frame` points to a live frame and carries the provenance of the whole frame.
#[inline(always)]
#[allow(clippy::inline_always)]
unsafe fn entries_of(frame: *const FrameHead) -> *const Entry {
    // SAFETY: per the contract; the head is `repr(C)` and a multiple of `Entry`'s
    // alignment, so the entries start right after it.
    unsafe { frame.add(1).cast::<Entry>() }
}

/// The owners of a context's frame with `len` entries: right after the entries.
///
/// # Safety
///
/// `frame` points to a live `SharedFrame`'s head, with its provenance.
#[inline]
unsafe fn owners_of(frame: *const FrameHead, len: usize) -> *const RawOwner {
    // SAFETY: per the contract, the frame's `len` entries and then its owners follow
    // the head (`SharedFrame::layout`).
    let entries = unsafe { entries_of(frame) };
    // SAFETY: as above.
    unsafe { entries.add(len).cast::<RawOwner>() }
}

/// Captures every visible binding of a variable that may be inherited, sharing the
/// values (one strong count per frame they come from) instead of cloning them. One
/// allocation, none when nothing is captured.
#[inline]
pub(crate) fn capture() -> Captured {
    let memo = with_state(|state| {
        (state.memo_version.get() == state.version.get())
            .then(|| state.memo.get())
            .flatten()
    });
    if let Some((entry, owner, id)) = memo {
        // SAFETY: the memo is of the chain that is linked now (its version is the
        // current one), so the owner's block is alive.
        return Captured::One(unsafe { HeldEntry::with_id(entry, owner, id) });
    }
    capture_walk()
}

/// [`capture`] without the memo: walks the chain. Out of line, so that a capture
/// served by the memo pays for none of the walk's registers and stack.
#[inline(never)]
fn capture_walk() -> Captured {
    // The usual case: one walk, the visible entries gathered on the stack.
    const ON_STACK: usize = 16;
    let mut found = [MaybeUninit::<(Entry, RawOwner)>::uninit(); ON_STACK];
    let mut count = 0;
    for (entry, owner) in ChainEntries::from_current() {
        // SAFETY: `found[..count]` is initialised.
        let earlier = unsafe { initialised(&found, count) };
        if !inherited(&entry) || earlier.iter().any(|(e, _)| ptr::eq(e.key, entry.key)) {
            continue;
        }
        if count == ON_STACK {
            return Captured::Many(capture_many());
        }
        found[count].write((entry, owner));
        count += 1;
    }
    // SAFETY: `found[..count]` is initialised.
    let found = unsafe { initialised(&found, count) };
    match *found {
        [] => Captured::Nothing,
        [(entry, owner)] => {
            // SAFETY: the owner belongs to a linked frame, so its block is alive.
            let held = unsafe { HeldEntry::with_id(entry, owner, root_id()) };
            with_state(|state| {
                state.memo_version.set(state.version.get());
                state.memo.set(Some((entry, owner, held.id)));
            });
            Captured::One(held)
        }
        // SAFETY: as above, for each owner.
        _ => Captured::Many(unsafe { SharedFrame::new(found.iter().copied(), count) }),
    }
}

/// What a [`Context`](crate::Context) holds: the captured bindings, each with a strong
/// count of the block its value lives in.
///
/// One binding (the usual capture: a request id) is held inline, so capturing it
/// allocates nothing; more share one allocation, laid out as a frame.
#[derive(Debug, Default)]
pub(crate) enum Captured {
    #[default]
    Nothing,
    One(HeldEntry),
    Many(SharedFrame),
}

impl Captured {
    /// Runs `f` with exactly these bindings: a root frame over them, which hides every
    /// other binding.
    #[inline]
    pub(crate) fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        match self {
            Captured::Nothing => {
                let head = FrameHead::empty_root();
                // SAFETY: a frame without entries, alive for the call.
                unsafe { enter_head(&raw const head, true, f) }
            }
            Captured::One(held) => {
                // A frame of one entry, made on the stack for this entry; its owner is
                // the held one, so a capture inside it takes a count of that block.
                let frame = Frame {
                    head: FrameHead::root(held.id, 1, Some(held.owner)),
                    entries: held.entry,
                };
                // SAFETY: the frame lives for the call, and its entry's value is kept
                // alive by the count `held` holds, borrowed from `self`.
                unsafe { frame.enter_root(f) }
            }
            // SAFETY: the shared frame and the values its counts keep alive are
            // borrowed from `self` for the call; a root frame's head is never written,
            // so other threads may enter the same frame at once.
            Captured::Many(shared) => unsafe { enter_head(shared.head(), true, f) },
        }
    }

    /// How many bindings were captured (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        match self {
            Captured::Nothing => 0,
            Captured::One(_) => 1,
            // SAFETY: the shared frame is alive while `self` is.
            Captured::Many(shared) => unsafe { (*shared.head()).len },
        }
    }
}

impl Clone for Captured {
    fn clone(&self) -> Self {
        match self {
            Captured::Nothing => Captured::Nothing,
            Captured::One(held) => Captured::One(held.clone()),
            Captured::Many(shared) => Captured::Many(shared.clone()),
        }
    }
}

/// One captured binding: the entry, and a strong count of the block its value lives
/// in, which this holds.
#[derive(Debug)]
pub(crate) struct HeldEntry {
    entry: Entry,
    owner: RawOwner,
    /// The id of the root frame this is entered as (the same for its clones, which
    /// make the same chain).
    id: u64,
}

impl HeldEntry {
    /// `entry`, holding a strong count of `owner` of its own, entered as the root
    /// frame `id`.
    ///
    /// # Safety
    ///
    /// The block `owner` describes is alive, and holds `entry`'s value; every
    /// `HeldEntry` with this `id` has this entry.
    unsafe fn with_id(entry: Entry, owner: RawOwner, id: u64) -> Self {
        // SAFETY: per the contract.
        unsafe { owner.retain() };
        HeldEntry { entry, owner, id }
    }
}

impl Clone for HeldEntry {
    fn clone(&self) -> Self {
        // SAFETY: `self` holds a strong count of its owner, so the block is alive.
        unsafe { self.owner.retain() };
        HeldEntry { ..*self }
    }
}

impl Drop for HeldEntry {
    fn drop(&mut self) {
        // SAFETY: this holds one strong count (taken in `new`), given up here.
        unsafe { self.owner.release() }
    }
}

// SAFETY: an owner is only ever taken (in `capture`) from a frame's owner, made by
// `Shared::owner` of a `Shared<T>` with `T: Send + Sync`; releasing it on any thread is
// what `Shared<T>` allows. The entry's value points into that block, to a `Send + Sync`
// value, and its key to a `static`.
unsafe impl Send for HeldEntry {}
// SAFETY: as above; a shared `HeldEntry` gives only shared access to the value.
unsafe impl Sync for HeldEntry {}

/// Several captured bindings in one reference-counted allocation laid out as a root
/// frame: a count, a [`FrameHead`] (null parent, no owner), `[Entry; len]`, then each
/// entry's `[RawOwner; len]`. The frame holds one strong count of each distinct owner.
///
/// Entering it links its head directly, from any number of threads at once: a root
/// frame's parent is never written, so the head is immutable after `new`.
#[derive(Debug)]
pub(crate) struct SharedFrame {
    block: ptr::NonNull<SharedFrameBlock>,
}

#[repr(C)]
struct SharedFrameBlock {
    strong: AtomicUsize,
    head: FrameHead,
}

impl core::fmt::Debug for SharedFrameBlock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedFrameBlock").finish_non_exhaustive()
    }
}

impl SharedFrame {
    /// The layout of a block of `len` entries.
    fn layout(len: usize) -> Layout {
        let layout = Layout::new::<SharedFrameBlock>()
            .extend(Layout::array::<Entry>(len).expect("a capture fits in memory"))
            .and_then(|(layout, _)| {
                layout.extend(Layout::array::<RawOwner>(len).expect("a capture fits in memory"))
            })
            .expect("a capture fits in memory")
            .0;
        layout.pad_to_align()
    }

    /// A frame of the `count` entries `visible` yields, taking one strong count of each
    /// distinct owner.
    ///
    /// # Safety
    ///
    /// Each owner's block is alive and holds its entry's value.
    unsafe fn new(visible: impl Iterator<Item = (Entry, RawOwner)>, count: usize) -> Self {
        // The entries must follow the head with no padding, as in every frame.
        const {
            assert!(size_of::<SharedFrameBlock>() % align_of::<Entry>() == 0);
            assert!(size_of::<FrameHead>() % align_of::<Entry>() == 0);
            assert!(align_of::<RawOwner>() <= align_of::<Entry>());
        }
        let layout = Self::layout(count);
        // SAFETY: the layout has a non-zero size (it holds at least the count).
        let block = unsafe { alloc::alloc(layout) };
        let Some(block) = ptr::NonNull::new(block) else {
            alloc::handle_alloc_error(layout)
        };
        let block = block.cast::<SharedFrameBlock>();
        let header = SharedFrameBlock {
            strong: AtomicUsize::new(1),
            head: FrameHead::root(root_id(), count, None),
        };
        // SAFETY: `block` is fresh memory of `layout`, which starts with the header.
        unsafe { block.write(header) };
        let head = Self::head_of(block);
        // SAFETY: `head` is the head of this block, whose layout has room for `count`
        // entries and `count` owners after it.
        let entries = unsafe { entries_of(head) }.cast_mut();
        // SAFETY: as above.
        let owners = unsafe { owners_of(head, count) }.cast_mut();
        let mut written = 0;
        for (entry, owner) in visible.take(count) {
            // SAFETY: the owners written so far are initialised.
            let earlier = unsafe { core::slice::from_raw_parts(owners, written) };
            if !earlier.contains(&owner) {
                // SAFETY: the owner's block is alive, per the contract.
                unsafe { owner.retain() };
            }
            // SAFETY: in bounds: `written < count`.
            let entry_slot = unsafe { entries.add(written) };
            // SAFETY: as above.
            let owner_slot = unsafe { owners.add(written) };
            // SAFETY: both slots are in bounds and not yet written.
            unsafe { entry_slot.write(entry) };
            // SAFETY: as above.
            unsafe { owner_slot.write(owner) };
            written += 1;
        }
        assert_eq!(written, count, "the chain changed during a capture");
        SharedFrame { block }
    }

    /// The head, with the provenance of the whole block.
    fn head_of(block: ptr::NonNull<SharedFrameBlock>) -> *const FrameHead {
        // SAFETY: in bounds of the block, which is alive.
        unsafe { &raw const (*block.as_ptr()).head }
    }

    /// The frame's head, for entering it.
    fn head(&self) -> *const FrameHead {
        Self::head_of(self.block)
    }
}

impl Clone for SharedFrame {
    fn clone(&self) -> Self {
        // SAFETY: `self` holds a strong count, so the block is alive.
        let strong = unsafe { &(*self.block.as_ptr()).strong };
        // Relaxed, as in `Arc::clone`; abort before the count could wrap, as `Arc` does.
        if strong.fetch_add(1, Ordering::Relaxed) > isize::MAX as usize {
            std::process::abort();
        }
        SharedFrame { block: self.block }
    }
}

impl Drop for SharedFrame {
    fn drop(&mut self) {
        // SAFETY: `self` holds a strong count, so the block is alive.
        let strong = unsafe { &(*self.block.as_ptr()).strong };
        // As in `Arc`'s drop: Release, then Acquire before the last holder frees.
        if strong.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        fence(Ordering::Acquire);
        let head = self.head();
        // SAFETY: the block is alive until it is freed below.
        let len = unsafe { (*head).len };
        // SAFETY: the block's `len` owners follow its entries.
        let owners = unsafe { owners_of(head, len) };
        // SAFETY: as above, all initialised in `new`.
        let owners = unsafe { core::slice::from_raw_parts(owners, len) };
        for (index, &owner) in owners.iter().enumerate() {
            if !owners[..index].contains(&owner) {
                // SAFETY: the block holds one strong count of each distinct owner
                // (taken in `new`), given up here, once.
                unsafe { owner.release() };
            }
        }
        // SAFETY: that was the last count; the block was allocated with this layout
        // (`Entry` and `RawOwner` have no destructors).
        unsafe { alloc::dealloc(self.block.as_ptr().cast(), Self::layout(len)) };
    }
}

// SAFETY: as for `HeldEntry`: the owners are blocks of `Send + Sync` values, released
// on whichever thread drops the last handle, which is what they allow; the head is
// never written after `new` (a root frame's parent stays null), so threads that enter
// the frame at once only read it.
unsafe impl Send for SharedFrame {}
// SAFETY: as above.
unsafe impl Sync for SharedFrame {}

/// `slots[..count]`, known to be initialised (`<[MaybeUninit<T>]>::assume_init_ref`,
/// which is newer than this crate's minimum Rust version).
///
/// # Safety
///
/// The first `count` slots are initialised.
unsafe fn initialised<T>(slots: &[MaybeUninit<T>], count: usize) -> &[T] {
    debug_assert!(count <= slots.len());
    // SAFETY: `MaybeUninit<T>` has `T`'s layout, and the caller vouches for the values.
    unsafe { core::slice::from_raw_parts(slots.as_ptr().cast::<T>(), count) }
}

/// `capture` for more than `ON_STACK` variables: walks the chain again to check
/// shadowing, instead of allocating a buffer.
#[cold]
fn capture_many() -> SharedFrame {
    let visible = || {
        ChainEntries::from_current()
            .enumerate()
            .filter(|(_, (entry, _))| inherited(entry))
            .filter(|&(position, (entry, _))| {
                !ChainEntries::from_current()
                    .take(position)
                    .any(|(earlier, _)| ptr::eq(earlier.key, entry.key))
            })
            .map(|(_, found)| found)
    };
    let count = visible().count();
    // SAFETY: every owner belongs to a linked frame, so its block is alive.
    unsafe { SharedFrame::new(visible(), count) }
}

fn inherited(entry: &Entry) -> bool {
    // SAFETY: keys point to the `static` metadata of a variable.
    unsafe { (*entry.key).inherit }
}

/// A bound value of a traced variable, to format (feature `tracing`): borrowed from a
/// linked frame for one call of [`for_each_traced`]'s callback.
#[cfg(feature = "tracing")]
pub(crate) struct TracedValue<'a> {
    key: *const VarHeader,
    value: *const (),
    format: unsafe fn(*const VarHeader, *const (), &mut fmt::Formatter<'_>) -> fmt::Result,
    /// The chain is borrowed: the value is alive only during the callback.
    chain: PhantomData<&'a ()>,
}

#[cfg(feature = "tracing")]
impl fmt::Display for TracedValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: `value` is the value of an entry of a frame that stays linked for as
        // long as `self` is borrowed (see `for_each_traced`), so it is alive, and it
        // is of the declared type of the variable whose header is `key`, which holds
        // `format`.
        unsafe { (self.format)(self.key, self.value, f) }
    }
}

/// What [`for_each_traced`] found of one variable: how to show it, where its value
/// is, and its key (to skip its shadowed bindings).
#[cfg(feature = "tracing")]
type FoundTraced = (Traced, *const (), *const VarHeader);

/// Calls `f` with the field name and value of every traced variable bound on this
/// thread and visible here (each one's innermost binding), outermost first (feature
/// `tracing`).
///
/// Untraced entries cost a pointer check each. The callback may bind, read, capture
/// and log: frames it enters are gone again before it returns, and the frames walked
/// here stay linked until this function returns.
#[cfg(feature = "tracing")]
pub(crate) fn for_each_traced(mut f: impl FnMut(&'static str, TracedValue<'_>)) {
    const ON_STACK: usize = 16;
    let mut found = [MaybeUninit::<FoundTraced>::uninit(); ON_STACK];
    let mut count = 0;
    // Past `ON_STACK` traced variables in view, which no real program reaches.
    let mut more: Vec<FoundTraced> = Vec::new();
    for (entry, _) in ChainEntries::from_current() {
        // SAFETY: keys point to the `static` metadata of a variable.
        let Some(traced) = (unsafe { (*entry.key).traced }) else {
            continue;
        };
        // SAFETY: `found[..count]` is initialised.
        let earlier = unsafe { initialised(&found, count) };
        let shadowed = earlier
            .iter()
            .chain(&more)
            .any(|&(_, _, key)| ptr::eq(key, entry.key));
        if shadowed {
            continue;
        }
        if count < ON_STACK {
            found[count].write((traced, entry.value, entry.key));
            count += 1;
        } else {
            more.push((traced, entry.value, entry.key));
        }
    }
    // SAFETY: `found[..count]` is initialised.
    let found = unsafe { initialised(&found, count) };
    // Found innermost first; shown outermost first, as spans are.
    for &(traced, value, key) in found.iter().chain(&more).rev() {
        let value = TracedValue {
            key,
            value,
            format: traced.format,
            chain: PhantomData,
        };
        f(traced.field, value);
    }
}

/// Whether any frame is entered on this thread.
#[cfg(test)]
pub(crate) fn is_empty() -> bool {
    with_state(|state| state.current.get().is_null())
}

// Tests enter frames inside frames in one block; each block's comment covers all of
// its entries.
#[cfg(test)]
#[allow(clippy::multiple_unsafe_ops_per_block)]
mod tests {
    use super::*;

    static KEY_A: VarHeader = VarHeader {
        name: "A",
        module_path: "tests",
        inherit: true,
        #[cfg(feature = "tracing")]
        traced: None,
    };
    static KEY_B: VarHeader = VarHeader {
        name: "B",
        module_path: "tests",
        inherit: false,
        #[cfg(feature = "tracing")]
        traced: None,
    };

    fn entry(key: &'static VarHeader, value: &u32) -> Entry {
        Entry {
            key,
            value: ptr::from_ref(value).cast(),
        }
    }

    fn read(key: &'static VarHeader) -> Option<u32> {
        // SAFETY: every value entered in these tests is a `u32`.
        lookup(key).map(|value| unsafe { *value.cast::<u32>() })
    }

    #[test]
    fn nested_frames_shadow_and_unlink_in_order() {
        let values = Shared::new([1_u32, 2, 3]);
        let owner = Shared::owner(&values);
        let outer = Frame::new(
            EntryPair(entry(&KEY_A, &values[0]), entry(&KEY_B, &values[1])),
            owner,
        );
        let inner = Frame::new(entry(&KEY_A, &values[2]), owner);
        assert!(is_empty());
        // SAFETY: `values` outlives both calls.
        unsafe {
            outer.enter(|| {
                assert_eq!((read(&KEY_A), read(&KEY_B)), (Some(1), Some(2)));
                inner.enter(|| {
                    // The inner frame shadows A and lets B through from the outer one.
                    assert_eq!((read(&KEY_A), read(&KEY_B)), (Some(3), Some(2)));
                });
                assert_eq!(read(&KEY_A), Some(1));
            });
        }
        assert!(is_empty());
        assert_eq!(read(&KEY_A), None);
    }

    #[test]
    fn a_frame_is_unlinked_when_its_callback_unwinds() {
        let values = Shared::new(1_u32);
        let frame = Frame::new(entry(&KEY_A, &values), Shared::owner(&values));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: `values` outlives the call.
            unsafe { frame.enter(|| panic!("unwind through enter")) }
        }));
        assert!(result.is_err());
        assert!(is_empty());
    }

    #[test]
    fn a_frame_can_be_entered_again_after_it_moved() {
        let values = Shared::new(1_u32);
        let frame = Frame::new(entry(&KEY_A, &values), Shared::owner(&values));
        // SAFETY: `values` outlives both calls.
        unsafe { frame.enter(|| assert_eq!(read(&KEY_A), Some(1))) };
        let moved = Box::new(frame);
        // SAFETY: as above; the stale pointers of the first entry are overwritten.
        unsafe { moved.enter(|| assert_eq!(read(&KEY_A), Some(1))) };
        assert!(is_empty());
    }

    #[test]
    fn the_first_entry_of_one_frame_wins() {
        // Entries are stored newest first: the first one shadows the rest.
        let values = Shared::new([1_u32, 2]);
        let frame = Frame::new(
            EntryPair(entry(&KEY_A, &values[1]), entry(&KEY_A, &values[0])),
            Shared::owner(&values),
        );
        // SAFETY: `values` outlives the call.
        unsafe { frame.enter(|| assert_eq!(read(&KEY_A), Some(2))) };
    }

    #[test]
    fn a_capture_shares_visible_inheritable_values_and_outlives_the_frames() {
        let values = Shared::new([1_u32, 2, 3]);
        let captured = {
            let owner = Shared::owner(&values);
            let outer = Frame::new(
                EntryPair(entry(&KEY_A, &values[0]), entry(&KEY_B, &values[1])),
                owner,
            );
            let inner = Frame::new(entry(&KEY_A, &values[2]), owner);
            // SAFETY: `values` outlives both calls.
            unsafe { outer.enter(|| inner.enter(capture)) }
        }; // the frames are gone; the capture still holds the values
        // Only A (B is not inherited), and only its innermost binding: held inline.
        assert!(matches!(captured, Captured::One(_)), "{captured:?}");
        assert_eq!(
            Shared::strong_count(&values),
            2,
            "the capture holds one count"
        );
        let copy = captured.clone();
        assert_eq!(Shared::strong_count(&values), 3, "and so does its clone");
        drop(captured);
        let seen = copy.enter(|| (read(&KEY_A), read(&KEY_B)));
        assert_eq!(seen, (Some(3), None));
        drop(copy);
        assert_eq!(Shared::strong_count(&values), 1, "and gives it back");
        assert!(is_empty());
    }

    #[test]
    fn a_capture_of_several_bindings_shares_one_count_per_owner() {
        static KEY_C: VarHeader = VarHeader {
            name: "C",
            module_path: "tests",
            inherit: true,
            #[cfg(feature = "tracing")]
            traced: None,
        };
        let outer_values = Shared::new([1_u32, 2]);
        let inner_values = Shared::new(3_u32);
        let captured = {
            let outer = Frame::new(
                EntryPair(
                    entry(&KEY_A, &outer_values[0]),
                    entry(&KEY_C, &outer_values[1]),
                ),
                Shared::owner(&outer_values),
            );
            let inner = Frame::new(entry(&KEY_A, &inner_values), Shared::owner(&inner_values));
            // SAFETY: the values outlive both calls.
            unsafe { outer.enter(|| inner.enter(capture)) }
        };
        assert!(matches!(&captured, Captured::Many(_)), "{captured:?}");
        assert_eq!(captured.len(), 2);
        assert_eq!(Shared::strong_count(&outer_values), 2);
        assert_eq!(Shared::strong_count(&inner_values), 2);
        let seen = captured.enter(|| (read(&KEY_A), read(&KEY_C)));
        assert_eq!(seen, (Some(3), Some(2)));
        let copy = captured.clone();
        drop(captured);
        drop(copy);
        assert_eq!(Shared::strong_count(&outer_values), 1);
        assert_eq!(Shared::strong_count(&inner_values), 1);
    }

    #[test]
    fn a_capture_inside_a_context_shares_the_contexts_owners() {
        static KEY_C: VarHeader = VarHeader {
            name: "C",
            module_path: "tests",
            inherit: true,
            #[cfg(feature = "tracing")]
            traced: None,
        };
        let outer_values = Shared::new(1_u32);
        let inner_values = Shared::new(2_u32);
        let first = {
            let outer = Frame::new(entry(&KEY_A, &outer_values), Shared::owner(&outer_values));
            let inner = Frame::new(entry(&KEY_C, &inner_values), Shared::owner(&inner_values));
            // SAFETY: the values outlive both calls.
            unsafe { outer.enter(|| inner.enter(capture)) }
        };
        // Captured again from inside the context's frame: the owners come from the
        // context's own list, one count each, and outlive the first context.
        let second = first.enter(capture);
        assert!(matches!(&second, Captured::Many(_)), "{second:?}");
        assert_eq!(Shared::strong_count(&outer_values), 3);
        drop(first);
        assert_eq!(Shared::strong_count(&inner_values), 2);
        assert_eq!(
            second.enter(|| (read(&KEY_A), read(&KEY_C))),
            (Some(1), Some(2))
        );
        // And one binding captured inside it is held inline, with its own count.
        let inner_only = Frame::new(entry(&KEY_A, &inner_values), Shared::owner(&inner_values));
        // SAFETY: the values outlive the call.
        let third = second.enter(|| unsafe { inner_only.enter(capture) });
        drop(second);
        assert!(
            matches!(&third, Captured::Many(_)),
            "A shadows A, C stays: two"
        );
        assert_eq!(
            third.enter(|| (read(&KEY_A), read(&KEY_C))),
            (Some(2), Some(2))
        );
        drop(third);
        assert_eq!(Shared::strong_count(&outer_values), 1);
        assert_eq!(Shared::strong_count(&inner_values), 1);
    }

    #[test]
    fn captures_under_one_chain_share_a_root_and_its_cached_reads() {
        let values = Shared::new([1_u32, 2]);
        let owner = Shared::owner(&values);
        let outer = Frame::new(entry(&KEY_A, &values[0]), owner);
        let inner = Frame::new(entry(&KEY_A, &values[1]), owner);
        // SAFETY: `values` outlives every call.
        let (first, second, nested, after) = unsafe {
            outer.enter(|| {
                let first = capture();
                let second = capture();
                let nested = inner.enter(capture);
                (first, second, nested, capture())
            })
        };
        let id = |captured: &Captured| match captured {
            Captured::One(held) => held.id,
            other => panic!("one binding captured: {other:?}"),
        };
        // The second capture under the same chain is the same binding under the same
        // root id: a read cached while running the first is valid in the second.
        assert_eq!(id(&first), id(&second));
        assert_eq!(first.enter(|| read_cached(&KEY_A)), Some(1));
        assert!(second.enter(|| cache_is_valid(&KEY_A)));
        // Under another chain the memo does not apply, nor back under the first one
        // once another capture replaced it; each context reads its own binding.
        assert_ne!(id(&nested), id(&first));
        assert_eq!(nested.enter(|| read_cached(&KEY_A)), Some(2));
        assert_eq!(after.enter(|| read_cached(&KEY_A)), Some(1));
        drop((first, second, nested, after));
        assert_eq!(Shared::strong_count(&values), 1, "every count given back");
        // No frame now: a capture finds nothing, whatever the memo still holds.
        assert!(matches!(capture(), Captured::Nothing));
    }

    #[test]
    fn threads_enter_one_shared_context_frame_at_once() {
        static KEY_D: VarHeader = VarHeader {
            name: "D",
            module_path: "tests",
            inherit: true,
            #[cfg(feature = "tracing")]
            traced: None,
        };
        let values = Shared::new([1_u32, 2]);
        let outer = Frame::new(entry(&KEY_A, &values[0]), Shared::owner(&values));
        let inner = Frame::new(entry(&KEY_D, &values[1]), Shared::owner(&values));
        // SAFETY: `values` outlives both calls.
        let captured = unsafe { outer.enter(|| inner.enter(capture)) };
        assert!(matches!(&captured, Captured::Many(_)), "{captured:?}");
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        let seen = captured.enter(|| (read(&KEY_A), read(&KEY_D)));
                        assert_eq!(seen, (Some(1), Some(2)));
                    }
                });
            }
        });
        drop(captured);
        assert_eq!(Shared::strong_count(&values), 1);
    }

    #[test]
    fn a_root_frame_hides_the_frames_below_it() {
        let values = Shared::new(1_u32);
        let frame = Frame::new(entry(&KEY_A, &values), Shared::owner(&values));
        let empty = FrameHead::empty_root();
        // SAFETY: `values` outlives the call; the root frame has no entries.
        let seen = unsafe {
            frame.enter(|| {
                let hidden = enter_head(&raw const empty, true, || read(&KEY_A));
                (hidden, read(&KEY_A))
            })
        };
        assert_eq!(seen, (None, Some(1)));
    }

    thread_local! {
        static CACHE_A: ReadCache = const { ReadCache::new() };
        static CACHE_B: ReadCache = const { ReadCache::new() };
    }

    /// `read` through the variable's cache, as `get` reads.
    fn read_cached(key: &'static VarHeader) -> Option<u32> {
        read_cached_or(key, None)
    }

    /// `read_cached` of a variable with a default.
    fn read_cached_or(key: &'static VarHeader, default: Option<&'static u32>) -> Option<u32> {
        let cache = if ptr::eq(key, &raw const KEY_A) {
            &CACHE_A
        } else {
            &CACHE_B
        };
        // SAFETY: every value entered in these tests is a `u32`.
        lookup_with(
            key,
            cache,
            || default.map(|value| ptr::from_ref(value).cast()),
            (),
            |(), value| Some(unsafe { *value.cast::<u32>() }),
            |()| None,
        )
    }

    #[test]
    fn a_cached_read_is_forgotten_by_every_enter_and_exit() {
        let values = Shared::new([1_u32, 2, 3]);
        let owner = Shared::owner(&values);
        let outer = Frame::new(entry(&KEY_A, &values[0]), owner);
        let inner = Frame::new(
            EntryPair(entry(&KEY_B, &values[2]), entry(&KEY_A, &values[1])),
            owner,
        );
        let empty = FrameHead::empty_root();
        assert_eq!(read_cached(&KEY_A), None);
        // SAFETY: `values` outlives every call; the root frame has no entries.
        let seen = unsafe {
            outer.enter(|| {
                // Both caches are filled, B's with "not bound"; each read twice, so
                // the second read of each is a hit.
                let before = [
                    read_cached(&KEY_A),
                    read_cached(&KEY_B),
                    read_cached(&KEY_A),
                    read_cached(&KEY_B),
                ];
                let shadowed = inner.enter(|| {
                    [
                        read_cached(&KEY_A),
                        read_cached(&KEY_B),
                        read_cached(&KEY_A),
                    ]
                });
                let after = [read_cached(&KEY_A), read_cached(&KEY_B)];
                let hidden = enter_head(&raw const empty, true, || read_cached(&KEY_A));
                (before, shadowed, after, hidden, read_cached(&KEY_A))
            })
        };
        assert_eq!(seen.0, [Some(1), None, Some(1), None]);
        assert_eq!(seen.1, [Some(2), Some(3), Some(2)]);
        assert_eq!(seen.2, [Some(1), None]);
        assert_eq!((seen.3, seen.4), (None, Some(1)));
        assert_eq!(
            read_cached(&KEY_A),
            None,
            "the cache does not outlive the frame"
        );
        assert_eq!(read_cached(&KEY_B), None);
    }

    /// Whether `key`'s cache holds a lookup valid for the chain as it is now.
    fn cache_is_valid(key: &'static VarHeader) -> bool {
        let cache = if ptr::eq(key, &raw const KEY_A) {
            &CACHE_A
        } else {
            &CACHE_B
        };
        let version = with_state(|state| state.version.get());
        cache.with(|cache| cache.version.get() == version)
    }

    #[test]
    fn sibling_frames_never_share_a_version_and_an_outer_cache_survives_them() {
        let values = Shared::new([1_u32, 2, 3]);
        let owner = Shared::owner(&values);
        let outer = Frame::new(entry(&KEY_A, &values[0]), owner);
        let first = Frame::new(entry(&KEY_A, &values[1]), owner);
        let second = Frame::new(entry(&KEY_A, &values[2]), owner);
        // SAFETY: `values` outlives every call.
        let seen = unsafe {
            outer.enter(|| {
                let before = read_cached(&KEY_A);
                // Each sibling reads its own binding, never the one the other cached
                // (the second is entered at the first's version if versions were
                // reused, with a stale cache pointing into the first).
                let inside = [
                    first.enter(|| read_cached(&KEY_A)),
                    second.enter(|| read_cached(&KEY_A)),
                ];
                // The chain is back to what `before` was read from: that lookup was
                // overwritten by the siblings', so the cache is not valid, and a new
                // lookup finds the outer value and is valid until the next change.
                let stale_after = cache_is_valid(&KEY_A);
                let after = read_cached(&KEY_A);
                let valid_after = cache_is_valid(&KEY_A);
                // A nested frame binding another variable leaves A's cache alone, and
                // the version it restores makes that cache valid again on return.
                let other = Frame::new(entry(&KEY_B, &values[0]), owner);
                let b_inside = other.enter(|| (read_cached(&KEY_B), cache_is_valid(&KEY_A)));
                let still_valid = cache_is_valid(&KEY_A);
                (
                    before,
                    inside,
                    stale_after,
                    after,
                    valid_after,
                    b_inside,
                    still_valid,
                )
            })
        };
        assert_eq!(seen.0, Some(1));
        assert_eq!(seen.1, [Some(2), Some(3)]);
        assert!(
            !seen.2,
            "a lookup cached inside a sibling is not valid outside it"
        );
        assert_eq!(seen.3, Some(1));
        assert!(seen.4);
        assert_eq!(seen.5, (Some(1), false), "inside, A's cache is not valid");
        assert!(seen.6, "back outside, A's cache is valid again");
        assert!(!cache_is_valid(&KEY_A), "nor after the outer frame is gone");
    }

    #[test]
    fn a_frame_re_entered_under_other_parents_sees_each_parent_and_no_stale_cache() {
        let values = Shared::new([1_u32, 2, 3]);
        let owner = Shared::owner(&values);
        // A scope binding B, polled in turn by two pollers that bind A differently,
        // as a future moved between tasks is; A is read through the cache each time.
        let first_poller = Frame::new(entry(&KEY_A, &values[0]), owner);
        let second_poller = Frame::new(entry(&KEY_A, &values[1]), owner);
        let scope = Frame::new(entry(&KEY_B, &values[2]), owner);
        let poll = || {
            // SAFETY: `values` outlives the call.
            unsafe {
                scope.enter(|| {
                    [
                        read_cached(&KEY_A),
                        read_cached(&KEY_B),
                        read_cached(&KEY_A),
                    ]
                })
            }
        };
        // SAFETY: `values` outlives every call.
        let seen = unsafe {
            [
                first_poller.enter(poll),
                second_poller.enter(poll),
                first_poller.enter(poll),
            ]
        };
        assert_eq!(
            seen,
            [
                [Some(1), Some(3), Some(1)],
                [Some(2), Some(3), Some(2)],
                [Some(1), Some(3), Some(1)],
            ]
        );
        assert_eq!(read_cached(&KEY_A), None);
    }

    #[test]
    fn a_frame_polled_again_over_the_same_chain_keeps_its_cached_reads() {
        let values = Shared::new([1_u32, 2]);
        let owner = Shared::owner(&values);
        let task = Frame::new(entry(&KEY_A, &values[0]), owner);
        // SAFETY: `values` outlives every call.
        unsafe {
            // First poll: a miss, then cached.
            assert_eq!(task.enter(|| read_cached(&KEY_A)), Some(1));
            // Second poll over the same (empty) chain: still valid.
            assert!(task.enter(|| cache_is_valid(&KEY_A)));
            // Polled inside another binding: another chain, so a new version.
            let poller = Frame::new(entry(&KEY_B, &values[1]), owner);
            assert!(!poller.enter(|| task.enter(|| cache_is_valid(&KEY_A))));
            assert_eq!(task.enter(|| read_cached(&KEY_A)), Some(1));
        }
        assert!(!cache_is_valid(&KEY_A), "outside the frame, not valid");
    }

    #[test]
    fn interleaved_tasks_each_read_their_own_binding_through_the_cache() {
        // Two futures polled in turn on one thread, as an executor does, each binding
        // A differently and reading it on every poll: one variable, one cache, two
        // versions that alternate, and no read ever sees the other task's value.
        let values = Shared::new([1_u32, 2, 3]);
        let owner = Shared::owner(&values);
        let first = Frame::new(entry(&KEY_A, &values[0]), owner);
        let second = Frame::new(entry(&KEY_A, &values[1]), owner);
        let nested = Frame::new(entry(&KEY_A, &values[2]), owner);
        for _ in 0..3 {
            // SAFETY: `values` outlives every call.
            let seen = unsafe {
                [
                    first.enter(|| read_cached(&KEY_A)),
                    second.enter(|| read_cached(&KEY_A)),
                    first.enter(|| (read_cached(&KEY_A), read_cached(&KEY_A)).0),
                    second.enter(|| nested.enter(|| read_cached(&KEY_A))),
                    second.enter(|| read_cached(&KEY_A)),
                ]
            };
            assert_eq!(seen, [Some(1), Some(2), Some(1), Some(3), Some(2)]);
        }
    }

    #[test]
    fn ids_are_never_shared_between_threads() {
        // More ids than a block on each of four threads: all distinct.
        let per_thread = usize::try_from(ID_BLOCK * 3).unwrap();
        let ids: Vec<Vec<u64>> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| (0..per_thread).map(|_| root_id()).collect()))
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let mut all: Vec<u64> = ids.into_iter().flatten().collect();
        let count = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), count);
        assert!(
            all[0] > EMPTY_ROOT,
            "below the reserved versions: {}",
            all[0]
        );
    }

    #[test]
    fn a_cached_default_gives_way_to_a_binding() {
        static DEFAULT: u32 = 9;
        let values = Shared::new(1_u32);
        let frame = Frame::new(entry(&KEY_B, &values), Shared::owner(&values));
        let empty = FrameHead::empty_root();
        // SAFETY: `values` outlives the calls; the root frame has no entries.
        let seen = unsafe {
            enter_head(&raw const empty, true, || {
                let default = [
                    read_cached_or(&KEY_B, Some(&DEFAULT)),
                    read_cached_or(&KEY_B, Some(&DEFAULT)),
                ];
                let bound = frame.enter(|| read_cached_or(&KEY_B, Some(&DEFAULT)));
                (default, bound, read_cached_or(&KEY_B, Some(&DEFAULT)))
            })
        };
        assert_eq!(seen, ([Some(9), Some(9)], Some(1), Some(9)));
    }

    #[test]
    fn a_cache_is_per_thread() {
        let values = Shared::new(1_u32);
        let frame = Frame::new(entry(&KEY_A, &values), Shared::owner(&values));
        // SAFETY: `values` outlives the call.
        let seen_elsewhere = unsafe {
            frame.enter(|| {
                assert_eq!(read_cached(&KEY_A), Some(1));
                // Another thread has its own chain and version: nothing is bound there,
                // whatever this thread cached.
                std::thread::scope(|s| s.spawn(|| read_cached(&KEY_A)).join().unwrap())
            })
        };
        assert_eq!(seen_elsewhere, None);
    }
}
