//! The current-frame chain: the one place that holds raw pointers.
//!
//! Each thread has one pointer, `CURRENT`, to the innermost *frame*. A frame holds the
//! bindings of one binding call (one `#[with_context]`, one `scope`, one `sync_scope`),
//! however many variables it binds, and a pointer to the frame that was current when it
//! was entered. A read walks this chain from the innermost frame outwards.
//!
//! Why a chain and not one slot per variable (tokio's design): entering a frame costs
//! two stores however many variables it binds, and it is paid on every poll of every
//! enclosing scope, while reads are rarer than polls. See
//! `shared/research/compile-time-design.md`, Q4.
//!
//! # The invariant
//!
//! **Every frame reachable from `CURRENT` is alive, and so is every value its entries
//! point to.** It holds because frames are entered only by [`enter`], which unlinks the
//! frame again before it returns (also when the callback unwinds), and `enter`'s callers
//! keep the frame and the values alive across the call. So the chain is a stack that
//! mirrors the Rust call stack, and no safe code can reorder it: there is no guard a
//! user could leak or drop out of order.

use core::cell::Cell;
use core::ptr;

use crate::key::VarHeader;

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

/// The type-independent start of every frame.
#[derive(Debug)]
#[repr(C)]
struct FrameHead {
    /// The frame that was current when this one was entered; only meaningful while
    /// this frame is linked.
    parent: Cell<*const FrameHead>,
    len: usize,
}

/// A frame: a head followed by its entries.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Frame<E> {
    head: FrameHead,
    entries: E,
}

impl<E: EntryList> Frame<E> {
    pub(crate) fn new(entries: E) -> Self {
        Frame {
            head: FrameHead {
                parent: Cell::new(ptr::null()),
                len: E::LEN,
            },
            entries,
        }
    }

    /// Runs `f` with this frame as the innermost one on this thread.
    ///
    /// # Safety
    ///
    /// Every `Entry::value` of this frame must point to a live value of the type its
    /// key was declared with, for the whole call.
    #[inline]
    pub(crate) unsafe fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        // The pointer is taken from the whole frame, not from `self.head`, so that it
        // may be used to reach the entries behind the head.
        let this: *const FrameHead = ptr::from_ref(self).cast();
        CURRENT.with(|current| {
            self.head.parent.set(current.get());
            current.set(this);
            let _restore = Restore {
                current,
                parent: &self.head.parent,
            };
            f()
        })
    }
}

/// Puts the entered frame's parent back as the innermost frame, on return or unwind.
struct Restore<'a> {
    current: &'a Cell<*const FrameHead>,
    parent: &'a Cell<*const FrameHead>,
}

impl Drop for Restore<'_> {
    #[inline]
    fn drop(&mut self) {
        self.current.set(self.parent.get());
    }
}

thread_local! {
    // A `const` initialiser and no destructor: access is a plain thread-local load,
    // and the slot stays readable during thread-local teardown (a read then finds
    // nothing, instead of panicking).
    static CURRENT: Cell<*const FrameHead> = const { Cell::new(ptr::null()) };
}

/// Finds the innermost binding of `key` on this thread.
///
/// The returned pointer is valid as long as the frame that holds it stays linked,
/// which is at least until the caller returns to whoever entered that frame.
#[inline]
pub(crate) fn lookup(key: *const VarHeader) -> Option<*const ()> {
    CURRENT.with(|current| {
        let mut frame = current.get();
        while !frame.is_null() {
            // SAFETY: `frame` is reachable from `CURRENT`, so it is alive (module
            // invariant). It points to a `Frame<E>` whose `repr(C)` layout puts
            // `head.len` entries right after the head, and the pointer carries the
            // provenance of the whole frame (see `enter`).
            let (head, entries) = unsafe {
                let head = &*frame;
                let first = frame.add(1).cast::<Entry>();
                (head, core::slice::from_raw_parts(first, head.len))
            };
            // Later entries of one frame shadow earlier ones, as nested frames do.
            if let Some(entry) = entries.iter().rev().find(|e| ptr::eq(e.key, key)) {
                return Some(entry.value);
            }
            frame = head.parent.get();
        }
        None
    })
}

/// Whether any frame is entered on this thread.
#[cfg(test)]
pub(crate) fn is_empty() -> bool {
    CURRENT.with(|current| current.get().is_null())
}

#[cfg(test)]
mod tests {
    use super::*;

    static KEY_A: VarHeader = VarHeader {
        name: "A",
        module_path: "tests",
    };
    static KEY_B: VarHeader = VarHeader {
        name: "B",
        module_path: "tests",
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
        let (one, two, three) = (1, 2, 3);
        let outer = Frame::new(EntryPair(entry(&KEY_A, &one), entry(&KEY_B, &two)));
        let inner = Frame::new(entry(&KEY_A, &three));
        assert!(is_empty());
        // SAFETY: the values are locals that outlive both calls.
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
        let one = 1;
        let frame = Frame::new(entry(&KEY_A, &one));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: `one` outlives the call.
            unsafe { frame.enter(|| panic!("unwind through enter")) }
        }));
        assert!(result.is_err());
        assert!(is_empty());
    }

    #[test]
    fn a_frame_can_be_entered_again_after_it_moved() {
        let one = 1;
        let frame = Frame::new(entry(&KEY_A, &one));
        // SAFETY: `one` outlives both calls.
        unsafe { frame.enter(|| assert_eq!(read(&KEY_A), Some(1))) };
        let moved = Box::new(frame);
        // SAFETY: as above; the stale parent link of the first entry is overwritten.
        unsafe { moved.enter(|| assert_eq!(read(&KEY_A), Some(1))) };
        assert!(is_empty());
    }

    #[test]
    fn the_later_entry_of_one_frame_wins() {
        let (one, two) = (1, 2);
        let frame = Frame::new(EntryPair(entry(&KEY_A, &one), entry(&KEY_A, &two)));
        // SAFETY: the values outlive the call.
        unsafe { frame.enter(|| assert_eq!(read(&KEY_A), Some(2))) };
    }
}
