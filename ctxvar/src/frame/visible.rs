//! Which bindings are visible: the one walk of the chain, innermost first, that yields
//! each chosen variable's innermost binding once. A lookup (on a miss), a capture and
//! the tracing walk are this walk with different choices of variables.
//!
//! The frames are seen through [`Linked`] views, alive by the invariant stated and
//! argued in the parent module's documentation (`frame/mod.rs`).

use core::mem::MaybeUninit;
use core::ops::ControlFlow;
use core::ptr;

use super::layout::{Entry, Linked, VarHeader};
use super::owner::OwnerRef;

/// A binding found in a linked frame: the entry, and where to find its value's owner.
#[derive(Clone, Copy, Debug)]
pub(super) struct Binding<'chain> {
    pub(super) entry: &'chain Entry,
    frame: Linked<'chain>,
    index: usize,
}

impl<'chain> Binding<'chain> {
    /// The owner of the block that holds the value (looked up only when asked for: a
    /// lookup never needs it).
    #[inline]
    pub(super) fn owner(self) -> OwnerRef<'chain> {
        self.frame.owner(self.index)
    }
}

/// Calls `f` with the innermost binding of each variable that `choose` picks, visible
/// from `frame` (its first `skip` entries left out) outwards: innermost frame first,
/// newest entry of a frame first, each variable once (the bindings it shadows are
/// skipped). Stops at the first `Break`.
///
/// Entries `choose` rejects cost one call of it each (inlined: a compare). A
/// variable's first chosen entry is its innermost binding: nothing before it was
/// chosen, so nothing before it binds the same variable. So a caller that stops at its
/// first binding (a lookup) pays nothing for the shadowing check, which inlining
/// removes.
#[inline(always)]
#[allow(clippy::inline_always)]
pub(super) fn visible<'chain, B>(
    mut frame: Option<Linked<'chain>>,
    mut skip: usize,
    mut choose: impl FnMut(&'chain Entry) -> bool,
    mut f: impl FnMut(Binding<'chain>) -> ControlFlow<B>,
) -> ControlFlow<B> {
    let mut seen = SmallList::<*const VarHeader>::new();
    while let Some(linked) = frame {
        for (index, entry) in linked.entries().iter().enumerate().skip(skip) {
            if !choose(entry) || seen.iter().any(|&key| ptr::eq(key, entry.key)) {
                continue;
            }
            f(Binding {
                entry,
                frame: linked,
                index,
            })?;
            seen.push(entry.key);
        }
        skip = 0;
        frame = linked.parent();
    }
    ControlFlow::Continue(())
}

/// [`visible`] of the whole chain from `frame`, for every binding (no early stop).
#[inline]
pub(super) fn for_each_visible<'chain>(
    frame: Option<Linked<'chain>>,
    choose: impl FnMut(&'chain Entry) -> bool,
    mut f: impl FnMut(Binding<'chain>),
) {
    let ControlFlow::<core::convert::Infallible>::Continue(()) =
        visible(frame, 0, choose, |binding| {
            f(binding);
            ControlFlow::Continue(())
        });
}

/// How many items a [`SmallList`] keeps on the stack: more visible variables than any
/// real program has in view at once.
const ON_STACK: usize = 16;

/// A list of `Copy` items, the first [`ON_STACK`] on the stack, the rest on the heap.
pub(super) struct SmallList<T> {
    on_stack: [MaybeUninit<T>; ON_STACK],
    /// How many of `on_stack` are initialised.
    len: usize,
    more: Vec<T>,
}

impl<T: Copy> SmallList<T> {
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub(super) fn new() -> Self {
        SmallList {
            on_stack: [MaybeUninit::uninit(); ON_STACK],
            len: 0,
            more: Vec::new(),
        }
    }

    #[inline]
    pub(super) fn push(&mut self, item: T) {
        if self.len < ON_STACK {
            self.on_stack[self.len].write(item);
            self.len += 1;
        } else {
            self.more.push(item);
        }
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        self.len + self.more.len()
    }

    /// The items, in the order they were pushed.
    #[inline]
    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + '_ {
        let on_stack = &self.on_stack[..self.len];
        // SAFETY: `on_stack[..len]` is initialised (`push`), and `MaybeUninit<T>` has
        // `T`'s layout.
        let on_stack = unsafe { &*(ptr::from_ref(on_stack) as *const [T]) };
        on_stack.iter().chain(&self.more)
    }
}
