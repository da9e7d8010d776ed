//! The memory layout of a frame: a variable's header (the key its bindings are found
//! by), the entries that bind values to keys, and the head every frame starts with,
//! its entries (and a context's owners) behind it in memory.
//!
//! The invariant that every pointer here rests on, and why none of them dangles, is
//! in the parent module's documentation (`frame/mod.rs`).

use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};
use core::slice;

use super::owner::{OwnerPtr, OwnerRef};
use super::{EMPTY_ROOT, NEVER};

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
    pub(super) parent: Cell<*const FrameHead>,
    /// The version of the chain while this frame is innermost (see `State::version`):
    /// an id no other frame ever has, kept while the frame is entered again over the
    /// same chain, so that the reads cached under it stay valid from one poll to the
    /// next. A root frame's is fixed when it is made.
    pub(super) id: Cell<u64>,
    /// The version of the chain this frame was last entered over; a binding call's
    /// frame takes a new `id` when it is entered over any other. Unused for a root.
    pub(super) over: Cell<u64>,
    pub(super) len: usize,
    /// `Some`: every entry's value lives in this one block (a binding call's frame, or
    /// a context that captured one binding). `None`: a context's frame that captured
    /// several, whose `[OwnerPtr; len]` follow its `[Entry; len]`.
    pub(super) owner: Option<OwnerPtr>,
}

impl FrameHead {
    /// The head of a root frame with no entries: entering it hides every binding.
    pub(super) fn empty_root() -> Self {
        FrameHead::root(EMPTY_ROOT, 0, None)
    }

    /// The head of a root frame, with its fixed id.
    pub(super) fn root(id: u64, len: usize, owner: Option<OwnerPtr>) -> Self {
        FrameHead {
            parent: Cell::new(ptr::null()),
            id: Cell::new(id),
            over: Cell::new(NEVER),
            len,
            owner,
        }
    }
}

/// Where the entries of the frame whose head is at `head` start: right after the head
/// (`repr(C)`, and the head's size is a multiple of `Entry`'s alignment). Only
/// arithmetic: reading or writing there is the caller's business.
#[inline(always)]
#[allow(clippy::inline_always)]
pub(super) fn entries_at(head: *const FrameHead) -> *const Entry {
    const { assert!(size_of::<FrameHead>() % align_of::<Entry>() == 0) };
    head.wrapping_add(1).cast()
}

/// Where the owners of a context's frame of `len` entries start: right after its
/// entries (see [`FrameHead::owner`]). Only arithmetic, as for [`entries_at`].
#[inline]
pub(super) fn owners_at(head: *const FrameHead, len: usize) -> *const OwnerPtr {
    const { assert!(align_of::<OwnerPtr>() <= align_of::<Entry>()) };
    entries_at(head).wrapping_add(len).cast()
}

/// A frame that stays linked into this thread's chain for `'chain`, seen through its
/// head: its entries, its owners and its parent, by safe accessors.
///
/// The one place the layout of a frame is read. It rests on the module invariant
/// (every frame reachable from `current` is alive, and so is every value its entries
/// point to), established once, where a view is made: [`with_chain`](super::with_chain)
/// for the innermost frame, [`parent`](Self::parent) for the frames below it, and a
/// context for the frame it holds (alive, and immutable, while its count is held).
#[derive(Clone, Copy)]
pub(super) struct Linked<'chain> {
    /// With the provenance of the whole frame, entries (and owners) included.
    head: NonNull<FrameHead>,
    chain: PhantomData<&'chain FrameHead>,
}

impl<'chain> Linked<'chain> {
    /// A view of the frame at `head`, or `None` for null (the end of a chain).
    ///
    /// # Safety
    ///
    /// `head` is null, or points, with the provenance of the whole frame, to a frame
    /// that for all of `'chain`: is alive; is laid out as [`FrameHead`] says (its `len`
    /// entries after it, then, if it has no owner, its `len` owners), all initialised
    /// and unchanged (only the head's cells may be written); has its entries' values
    /// and its owners' blocks alive; and, unless it is a root frame, stays linked, so
    /// that its parent is the frame linked below it, of which all this holds too.
    /// (The module invariant says this of every frame reachable from `current`.)
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub(super) unsafe fn new(head: *const FrameHead) -> Option<Self> {
        NonNull::new(head.cast_mut()).map(|head| Linked {
            head,
            chain: PhantomData,
        })
    }

    /// The frame's head.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub(super) fn head(self) -> &'chain FrameHead {
        // SAFETY: the frame is alive for `'chain` (the contract of `new`).
        unsafe { self.head.as_ref() }
    }

    /// The frame's entries, newest first.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub(super) fn entries(self) -> &'chain [Entry] {
        let len = self.head().len;
        // SAFETY: the frame's `len` entries follow its head, initialised and never
        // written while the frame is viewed (the contract of `new`).
        unsafe { slice::from_raw_parts(entries_at(self.head.as_ptr()), len) }
    }

    /// The owner of the block that holds the value of the entry at `index`.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub(super) fn owner(self, index: usize) -> OwnerRef<'chain> {
        match self.head().owner {
            // SAFETY: the frame's owner is alive for `'chain` (the contract of `new`).
            Some(owner) => unsafe { OwnerRef::from_ptr(owner) },
            None => self.owners()[index],
        }
    }

    /// A context's frame's own list of owners, one per entry; empty for a frame with
    /// one owner for all its entries.
    #[inline]
    pub(super) fn owners(self) -> &'chain [OwnerRef<'chain>] {
        let head = self.head();
        let len = if head.owner.is_some() { 0 } else { head.len };
        let owners = owners_at(self.head.as_ptr(), len).cast::<OwnerRef<'chain>>();
        // SAFETY: a frame without an owner has its `len` owners after its entries,
        // initialised and never written while it is viewed, and alive for `'chain`
        // (the contract of `new`); an `OwnerRef` is an `OwnerPtr` with a lifetime
        // (both `repr(transparent)` over the same pointer).
        unsafe { slice::from_raw_parts(owners, len) }
    }

    /// The frame below this one, while this one is linked: `None` for a root frame.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub(super) fn parent(self) -> Option<Linked<'chain>> {
        // SAFETY: a linked frame's parent is the frame that was current when it was
        // entered, linked below it (or null): it stays linked at least as long.
        unsafe { Linked::new(self.head().parent.get()) }
    }
}

impl fmt::Debug for Linked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Linked")
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}
