//! How a [`Context`](crate::Context) holds bindings beyond the frames they were found
//! in: a capture of the visible inheritable bindings, each with a strong count of the
//! block its value lives in, and the root frame it is entered as (one entry inline, or
//! several in a reference-counted block of its own).
//!
//! The invariant and the argument for each pointer, including the context's entries
//! and owners, are in the parent module's documentation (`frame/mod.rs`).

use core::alloc::Layout;
use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering, fence};
use std::alloc;

use super::layout::{Entry, FrameHead, Linked, entries_at, owners_at};
use super::visible::{SmallList, for_each_visible};
use super::{Frame, RawOwner, enter_head, root_id, with_chain, with_state};

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
    with_chain(|chain| {
        let mut found = SmallList::new();
        for_each_visible(chain, inherited, |binding| found.push(binding));
        let mut bindings = found
            .iter()
            .map(|binding| (*binding.entry, binding.owner()));
        if found.len() > 1 {
            // SAFETY: every owner belongs to a linked frame, so its block is alive and
            // holds its entry's value.
            return Captured::Many(unsafe { SharedFrame::new(bindings, found.len()) });
        }
        let Some((entry, owner)) = bindings.next() else {
            return Captured::Nothing;
        };
        // SAFETY: the owner belongs to a linked frame, so its block is alive.
        let held = unsafe { HeldEntry::with_id(entry, owner, root_id()) };
        with_state(|state| {
            state.memo_version.set(state.version.get());
            state.memo.set(Some((entry, owner, held.id)));
        });
        Captured::One(held)
    })
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
    pub(super) fn len(&self) -> usize {
        match self {
            Captured::Nothing => 0,
            Captured::One(_) => 1,
            Captured::Many(shared) => shared.frame().entries().len(),
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
    pub(super) id: u64,
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
// SAFETY: a shared `HeldEntry` gives only shared access to the value, a `T` of a
// `Shared<T>` with `T: Send + Sync`, and its key points to a `static`; cloning it takes
// a count of the block with an atomic add, and the clone may be sent and dropped
// elsewhere, which the `Send` impl covers.
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
        // The head must be followed by the entries, with no padding, as in every frame.
        const { assert!(size_of::<SharedFrameBlock>() % align_of::<Entry>() == 0) };
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
        // The block has room for `count` entries and then `count` owners after the head,
        // and `head` has the provenance of the whole block.
        let entries = entries_at(head).cast_mut();
        let owners = owners_at(head, count).cast_mut();
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
            // SAFETY: in bounds: `written < count`, and the block has `count` owners.
            let owner_slot = unsafe { owners.add(written) };
            // SAFETY: the entry slot is in bounds and not yet written.
            unsafe { entry_slot.write(entry) };
            // SAFETY: the owner slot is in bounds (aligned: `RawOwner`'s alignment is at
            // most `Entry`'s) and not yet written.
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

    /// A view of the frame, for as long as this handle is borrowed.
    fn frame(&self) -> Linked<'_> {
        // SAFETY: this handle's count keeps the block alive while it is borrowed; the
        // frame was laid out in `new` (entries, then owners: it has no owner of its
        // own) and is never written again; its values live in the blocks it holds
        // counts of; it is a root frame, so it has no parent to keep alive.
        match unsafe { Linked::new(self.head()) } {
            Some(frame) => frame,
            None => unreachable!("a block's head is not null"),
        }
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
        let owners = self.frame().owners();
        let len = owners.len();
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
// SAFETY: a shared `SharedFrame` can only be entered, which reads the head (never
// written after `new`) and, through it, values that are `Sync`; and cloned, which
// takes a count with an atomic add, the clone then being sent and dropped elsewhere,
// which the `Send` impl covers.
unsafe impl Sync for SharedFrame {}

fn inherited(entry: &Entry) -> bool {
    // SAFETY: keys point to the `static` metadata of a variable.
    unsafe { (*entry.key).inherit }
}
