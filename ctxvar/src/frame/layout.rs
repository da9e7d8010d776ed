//! The memory layout of a frame: a variable's header (the key its bindings are found
//! by), the entries that bind values to keys, and the head every frame starts with,
//! its entries (and a context's owners) behind it in memory.
//!
//! The invariant that every pointer here rests on, and why none of them dangles, is
//! in the parent module's documentation (`frame/mod.rs`).

use core::cell::Cell;
#[cfg(feature = "tracing")]
use core::fmt;
use core::ptr;

use super::{EMPTY_ROOT, NEVER, RawOwner};

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
    /// several, whose `[RawOwner; len]` follow its `[Entry; len]`.
    pub(super) owner: Option<RawOwner>,
}

impl FrameHead {
    /// The head of a root frame with no entries: entering it hides every binding.
    pub(super) fn empty_root() -> Self {
        FrameHead::root(EMPTY_ROOT, 0, None)
    }

    /// The head of a root frame, with its fixed id.
    pub(super) fn root(id: u64, len: usize, owner: Option<RawOwner>) -> Self {
        FrameHead {
            parent: Cell::new(ptr::null()),
            id: Cell::new(id),
            over: Cell::new(NEVER),
            len,
            owner,
        }
    }
}

/// The entries of the frame whose head is at `frame`: right after the head.
///
/// # Safety
///
/// `frame` points to a live frame and carries the provenance of the whole frame.
#[inline(always)]
#[allow(clippy::inline_always)]
pub(super) unsafe fn entries_of(frame: *const FrameHead) -> *const Entry {
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
pub(super) unsafe fn owners_of(frame: *const FrameHead, len: usize) -> *const RawOwner {
    // SAFETY: per the contract, `frame` is a live frame's head, with its provenance.
    let entries = unsafe { entries_of(frame) };
    // SAFETY: per the contract, the frame's `len` entries and then its owners follow
    // the head (`SharedFrame::layout`), so the owners start `len` entries on.
    unsafe { entries.add(len).cast::<RawOwner>() }
}
