//! How a [`Context`](crate::Context) holds bindings beyond the frames they were found
//! in: a capture of the visible inheritable bindings, each with a strong count of the
//! block its value lives in, and the root frame it is entered as (one binding inline,
//! or several in a frame block of its own, itself counted like any other block).
//!
//! The invariant and the argument for each pointer, including the context's entries
//! and owners, are in the parent module's documentation (`frame/mod.rs`).

use core::alloc::Layout;
use core::mem::offset_of;
use core::ptr::NonNull;

use super::layout::{Entry, FrameHead, Linked, entries_at, owners_at};
use super::owner::{self, Header, Owner, OwnerPtr, OwnerRef};
use super::visible::{Binding, SmallList, for_each_visible};
use super::{Frame, enter_head, root_id, with_chain, with_state};

/// Captures every visible binding of a variable that may be inherited, sharing the
/// values (one strong count per block they live in) instead of cloning them. One
/// allocation, none when nothing or one binding is captured.
#[inline]
pub(crate) fn capture() -> Captured {
    let memo = with_state(|state| {
        (state.memo_version.get() == state.version.get())
            .then(|| state.memo.get())
            .flatten()
    });
    if let Some((entry, owner, id)) = memo {
        // SAFETY: the memo is of the chain that is linked now (its version is the
        // current one), so the owner's block is alive for this call.
        let owner = unsafe { OwnerRef::from_ptr(owner) };
        return Captured::One(CapturedBinding {
            entry,
            owner: owner.retain(),
            id,
        });
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
        if found.len() > 1 {
            return Captured::Many(CapturedFrame::new(&found));
        }
        let Some(binding) = found.iter().next() else {
            return Captured::Nothing;
        };
        let captured = CapturedBinding {
            entry: *binding.entry,
            owner: binding.owner().retain(),
            id: root_id(),
        };
        let memo = (captured.entry, binding.owner().as_ptr(), captured.id);
        with_state(|state| {
            state.memo_version.set(state.version.get());
            state.memo.set(Some(memo));
        });
        Captured::One(captured)
    })
}

/// What a [`Context`](crate::Context) holds: the captured bindings, each with a strong
/// count of the block its value lives in.
///
/// One binding (the usual capture: a request id) is held inline, so capturing it
/// allocates nothing; more share one allocation, laid out as a frame.
#[derive(Clone, Debug, Default)]
pub(crate) enum Captured {
    #[default]
    Nothing,
    One(CapturedBinding),
    Many(CapturedFrame),
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
                    head: FrameHead::root(held.id, 1, Some(held.owner.borrow().as_ptr())),
                    entries: held.entry,
                };
                // SAFETY: the frame lives for the call, and its entry's value is kept
                // alive by the count `held` holds, borrowed from `self`.
                unsafe { frame.enter_root(f) }
            }
            // SAFETY: the context's frame and the values its counts keep alive are
            // borrowed from `self` for the call; a root frame's head is never written,
            // so other threads may enter the same frame at once.
            Captured::Many(frame) => unsafe { enter_head(frame.head(), true, f) },
        }
    }

    /// How many bindings were captured (for tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        match self {
            Captured::Nothing => 0,
            Captured::One(_) => 1,
            Captured::Many(frame) => frame.frame().entries().len(),
        }
    }
}

/// One captured binding: the entry, and a strong count of the block its value lives
/// in.
#[derive(Clone, Debug)]
pub(crate) struct CapturedBinding {
    entry: Entry,
    owner: Owner,
    /// The id of the root frame this is entered as (the same for its clones, which
    /// make the same chain).
    pub(super) id: u64,
}

// SAFETY: the entry's value lives in the block `owner` counts, which holds `Send +
// Sync` values (see `Owner`'s impls), and its key points to a `static`.
unsafe impl Send for CapturedBinding {}
// SAFETY: a shared `CapturedBinding` gives only shared access to its value, a
// `Sync` value in the block `owner` counts, and clones its count with an atomic add.
unsafe impl Sync for CapturedBinding {}

/// Several captured bindings, in a block of their own laid out as a root frame, and
/// counted like any other block (this holds one count of it): a [`Header`], a
/// [`FrameHead`] (null parent, no owner), `[Entry; len]`, then each entry's `[OwnerPtr;
/// len]`. The block holds one count of each distinct owner in its list, given back
/// when it is destroyed.
///
/// Entering it links its head directly, from any number of threads at once: a root
/// frame's parent is never written, so the block is immutable after `new` (but for
/// its count).
#[derive(Clone, Debug)]
pub(crate) struct CapturedFrame {
    block: Owner,
}

/// The fixed part of a [`CapturedFrame`]'s block.
#[repr(C)]
struct FrameBlock {
    header: Header,
    head: FrameHead,
}

impl CapturedFrame {
    /// The layout of a block of `len` entries.
    fn layout(len: usize) -> Layout {
        let layout = Layout::new::<FrameBlock>()
            .extend(Layout::array::<Entry>(len).expect("a capture fits in memory"))
            .and_then(|(layout, _)| {
                layout.extend(Layout::array::<OwnerPtr>(len).expect("a capture fits in memory"))
            })
            .expect("a capture fits in memory")
            .0;
        layout.pad_to_align()
    }

    /// A frame of the bindings `found` lists, taking one count of each distinct owner.
    fn new(found: &SmallList<Binding<'_>>) -> Self {
        // The head must be followed by the entries, with no padding, as in every frame.
        const { assert!(size_of::<FrameBlock>() % align_of::<Entry>() == 0) };
        let count = found.len();
        let layout = Self::layout(count);
        let block = owner::allocate(layout).cast::<FrameBlock>();
        let fixed = FrameBlock {
            header: Header::new(destroy_frame),
            head: FrameHead::root(root_id(), count, None),
        };
        // SAFETY: `block` is fresh memory of `layout`, which starts with a `FrameBlock`.
        unsafe { block.write(fixed) };
        // The block has room for `count` entries and then `count` owners after the head,
        // and `head` has the provenance of the whole block.
        let head = head_of(block.cast());
        let entries = entries_at(head).cast_mut();
        let owners = owners_at(head, count).cast_mut();
        let mut written = 0;
        for (index, binding) in found.iter().enumerate().take(count) {
            let owner = binding.owner();
            let counted = found
                .iter()
                .take(index)
                .any(|earlier| earlier.owner() == owner);
            let owner = if counted {
                owner.as_ptr()
            } else {
                owner.retain().into_ptr()
            };
            // SAFETY: `index < count`: the block's entry slot `index`, not yet written.
            unsafe { entries.wrapping_add(index).write(*binding.entry) };
            // SAFETY: `index < count`: the block's owner slot `index`, not yet written
            // (aligned: `OwnerPtr`'s alignment is at most `Entry`'s).
            unsafe { owners.wrapping_add(index).write(owner) };
            written += 1;
        }
        // Unless every slot was written, the block is left to leak.
        assert_eq!(written, count, "a list yields as many items as its length");
        // SAFETY: the block's header is new and everything it covers is written; its
        // `destroy` is this block's.
        let block = unsafe { Owner::adopt(block.cast()) };
        CapturedFrame { block }
    }

    /// The frame's head, for entering it.
    fn head(&self) -> *const FrameHead {
        head_of(self.block.borrow().header())
    }

    /// A view of the frame, for as long as this handle is borrowed.
    #[cfg(test)]
    fn frame(&self) -> Linked<'_> {
        // SAFETY: this handle's count keeps the block alive while it is borrowed; it
        // is laid out by `new` and never written again; its values live in the blocks
        // it holds counts of; it is a root frame, with no parent to keep alive.
        match unsafe { Linked::new(self.head()) } {
            Some(frame) => frame,
            None => unreachable!("a block's head is not null"),
        }
    }
}

/// The head of the frame block whose header is at `block`, with the provenance of the
/// whole block (only arithmetic).
fn head_of(block: NonNull<Header>) -> *const FrameHead {
    block
        .as_ptr()
        .cast::<u8>()
        .wrapping_add(offset_of!(FrameBlock, head))
        .cast()
}

/// Destroys a [`CapturedFrame`]'s block whose last count was given up: gives back the
/// count it holds of each distinct owner in its list, and frees it.
///
/// # Safety
///
/// `header` is the header of a block made by `CapturedFrame::new` that nothing else
/// refers to any more.
unsafe fn destroy_frame(header: NonNull<Header>) {
    let len = {
        // SAFETY: the block is alive until it is freed below, laid out by `new` and
        // never written since; its owners are alive (it holds their counts); it is a
        // root frame, with no parent to keep alive.
        let Some(frame) = (unsafe { Linked::new(head_of(header)) }) else {
            unreachable!("a block's head is not null")
        };
        let owners = frame.owners();
        for (index, owner) in owners.iter().enumerate() {
            if !owners[..index].contains(owner) {
                // SAFETY: the block holds one count of each distinct owner in its
                // list (handed over by `new` with `into_ptr`), taken back here once.
                drop(unsafe { Owner::from_ptr(owner.as_ptr()) });
            }
        }
        owners.len()
    };
    owner::free(header.cast(), CapturedFrame::layout(len));
}

fn inherited(entry: &Entry) -> bool {
    // SAFETY: keys point to the `static` metadata of a variable.
    unsafe { (*entry.key).inherit }
}
