//! Who keeps bound values alive: reference-counted blocks, like `Arc`'s, whose memory
//! is recycled on the thread that frees them. This is the crate's one reference count:
//! a binding call's values live in one ([`Shared`], the typed handle its scope holds),
//! and so does a context's frame of several bindings (`capture::CapturedFrame`).
//!
//! Who holds a count is visible in the types. An [`Owner`] owns one strong count (a
//! capture's), given back when it is dropped. An [`OwnerRef`] borrows a block that
//! something else keeps alive for its lifetime (a frame's owner, alive while the frame
//! is linked); [`OwnerRef::retain`] takes a count of it as an `Owner`. An
//! [`OwnerPtr`] is how a frame stores an owner, with no lifetime: only a view of a
//! linked frame (`layout::Linked`) hands it out, as an `OwnerRef`.
//!
//! Why not `Arc`: a binding call makes one such block for its values, so that a
//! `Context` captured inside it can keep them alive without cloning them. Through the
//! global allocator, that block's `malloc` and `free` cost more than tokio's whole
//! scope (most of a bind and run, with glibc, in the downstream benchmark). A
//! short per-thread list of freed blocks of two sizes turns the usual bind, which
//! frees its block before the next bind on the same thread takes one, into a pop and
//! a push. A type-erased strong count of an `Arc` also needs a table of two
//! functions; the block's header holds the one function that depends on the type.
//!
//! Memory in the list is marked inaccessible for valgrind's memcheck (its client
//! requests, on x86-64), so a read through a stale pointer into a recycled block is
//! reported as it would be for memory given back to the allocator.

use super::sync::{AtomicUsize, Ordering, fence};
use core::alloc::Layout;
use core::cell::Cell;
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::{self, NonNull};

/// The start of every block: its strong count, and how to destroy it.
#[repr(C)]
pub(super) struct Header {
    strong: AtomicUsize,
    /// Drops the value and frees the block; the one thing that depends on the type.
    destroy: unsafe fn(NonNull<Header>),
}

impl Header {
    /// The header of a new block, with one strong count, destroyed by `destroy` (which
    /// frees the block with [`free`]).
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub(super) fn new(destroy: unsafe fn(NonNull<Header>)) -> Self {
        Header {
            strong: AtomicUsize::new(1),
            destroy,
        }
    }
}

pub(super) use blocks::{allocate, free};

#[repr(C)]
struct Block<T> {
    header: Header,
    value: T,
}

/// A value in a reference-counted block of its own (an `Arc<T>` whose memory this
/// module recycles).
pub(crate) struct Shared<T> {
    block: NonNull<Block<T>>,
    /// Owns a `T` (for drop check and auto traits, which the `unsafe impl`s below
    /// narrow to `T: Send + Sync`).
    value: PhantomData<T>,
}

impl<T: Send + Sync> Shared<T> {
    /// `value` in a new block, with one strong count (this handle's).
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub(crate) fn new(value: T) -> Self {
        let block = allocate(Layout::new::<Block<T>>()).cast::<Block<T>>();
        let header = Header::new(destroy::<T>);
        // SAFETY: `block` is fresh memory with `Block<T>`'s layout.
        unsafe { block.write(Block { header, value }) };
        Shared {
            block,
            value: PhantomData,
        }
    }
}

impl<T> Shared<T> {
    /// The owner of this handle's value, borrowed from this handle.
    #[inline]
    pub(crate) fn owner(&self) -> OwnerRef<'_> {
        OwnerRef {
            header: self.block.cast(),
            borrowed: PhantomData,
        }
    }

    /// How many strong counts the block has (for tests).
    #[cfg(test)]
    pub(crate) fn strong_count(this: &Self) -> usize {
        this.header().strong.load(Ordering::Acquire)
    }

    #[cfg(test)]
    fn header(&self) -> &Header {
        // SAFETY: this handle holds a strong count, so the block is alive.
        unsafe { &self.block.as_ref().header }
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this handle holds a strong count, so the block and its value are
        // alive; nothing gives mutable access to a shared value.
        unsafe { &self.block.as_ref().value }
    }
}

impl<T> Drop for Shared<T> {
    #[inline]
    fn drop(&mut self) {
        let destroy = |header| {
            // SAFETY: called once, when the last count is gone; the block is a
            // `Block<T>`, so this is the function its header holds.
            unsafe { destroy::<T>(header) }
        };
        // SAFETY: this handle owns one strong count, given up here.
        unsafe { release(self.block.cast(), destroy) }
    }
}

impl<T: core::fmt::Debug> core::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&**self, f)
    }
}

// SAFETY: as for `Arc<T>`: handles on several threads share the value (`Sync`), and
// whichever drops the last one drops the value there (`Send`).
unsafe impl<T: Send + Sync> Send for Shared<T> {}
// SAFETY: a shared `Shared<T>` lends `&T`, which `T: Sync` lets other threads hold,
// and its count is atomic.
unsafe impl<T: Send + Sync> Sync for Shared<T> {}

/// Drops the value of a block whose last strong count was given up, and frees it.
///
/// # Safety
///
/// `header` is the header of a `Block<T>` that nothing else refers to any more.
#[inline(always)]
#[allow(clippy::inline_always)]
unsafe fn destroy<T>(header: NonNull<Header>) {
    /// Frees the block even if the value's destructor unwinds.
    struct Free<T>(NonNull<Block<T>>);
    impl<T> Drop for Free<T> {
        #[inline(always)]
        #[allow(clippy::inline_always)]
        fn drop(&mut self) {
            free(self.0.cast(), Layout::new::<Block<T>>());
        }
    }
    let block = header.cast::<Block<T>>();
    if !core::mem::needs_drop::<T>() {
        // Nothing can unwind (and LLVM then inlines the whole free).
        free(block.cast(), Layout::new::<Block<T>>());
        return;
    }
    let _free = Free(block);
    // SAFETY: the block is alive (it is freed only by `_free`, below).
    let value = unsafe { &raw mut (*block.as_ptr()).value };
    // SAFETY: the value is alive and, per the contract, no longer referred to.
    unsafe { ptr::drop_in_place(value) };
}

impl core::fmt::Debug for Header {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Header").finish_non_exhaustive()
    }
}

/// A block, borrowed for `'a` from whatever keeps it alive (a scope's [`Shared`], a
/// capture's [`Owner`], or a linked frame that lists it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct OwnerRef<'a> {
    header: NonNull<Header>,
    borrowed: PhantomData<&'a Header>,
}

impl OwnerRef<'_> {
    /// Takes a strong count of the block, owned by the result.
    #[inline]
    pub(crate) fn retain(self) -> Owner {
        // SAFETY: the block is alive for `'a`, so while this is called.
        unsafe { retain(self.header) };
        Owner {
            header: self.header,
        }
    }

    /// The block's header, with the provenance of the whole block.
    #[inline]
    pub(super) fn header(self) -> NonNull<Header> {
        self.header
    }

    /// How a frame stores this owner.
    #[inline]
    pub(super) fn as_ptr(self) -> OwnerPtr {
        OwnerPtr(self.header)
    }

    /// The owner a frame stored, borrowed for the lifetime the caller picks.
    ///
    /// # Safety
    ///
    /// The block stays alive for that lifetime.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub(super) unsafe fn from_ptr(owner: OwnerPtr) -> Self {
        OwnerRef {
            header: owner.0,
            borrowed: PhantomData,
        }
    }
}

/// One strong count of a block, given back when this is dropped (whichever thread
/// drops the last one destroys the block there).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Owner {
    header: NonNull<Header>,
}

impl Owner {
    /// The block, borrowed from this count.
    #[inline]
    pub(crate) fn borrow(&self) -> OwnerRef<'_> {
        OwnerRef {
            header: self.header,
            borrowed: PhantomData,
        }
    }

    /// Takes over the one count of a new block, whose header is [`Header::new`]'s and
    /// whose contents are initialised: dropping the result destroys it.
    ///
    /// # Safety
    ///
    /// As said; nothing else gives back that count.
    #[inline]
    pub(super) unsafe fn adopt(header: NonNull<Header>) -> Self {
        Owner { header }
    }

    /// Hands this count over to a frame's list of owners, which gives it back with
    /// [`from_ptr`](Self::from_ptr).
    #[inline]
    pub(super) fn into_ptr(self) -> OwnerPtr {
        let owner = OwnerPtr(self.header);
        core::mem::forget(self);
        owner
    }

    /// Takes back a count that [`into_ptr`](Self::into_ptr) handed over.
    ///
    /// # Safety
    ///
    /// `owner` came from `into_ptr`, and its count is taken back once.
    #[inline]
    pub(super) unsafe fn from_ptr(owner: OwnerPtr) -> Self {
        Owner { header: owner.0 }
    }
}

impl Clone for Owner {
    #[inline]
    fn clone(&self) -> Self {
        self.borrow().retain()
    }
}

impl Drop for Owner {
    #[inline]
    fn drop(&mut self) {
        let destroy = |header: NonNull<Header>| {
            // SAFETY: the block is alive until it is destroyed.
            let destroy = unsafe { header.as_ref().destroy };
            // SAFETY: called once, when the last count is gone: the block's own
            // function, as its maker stored it.
            unsafe { destroy(header) }
        };
        // SAFETY: this owns one strong count, given up here.
        unsafe { release(self.header, destroy) }
    }
}

// SAFETY: a block holds the values of a `Shared<T>` with `T: Send + Sync`, or a
// context's frame, whose entries point into such blocks and to `static` keys and
// whose head is never written after it is made (a root frame's): every thread that
// holds a count may share what the block holds (`Sync`), and whichever gives back the
// last count destroys it there (`Send`), as `Shared<T>` allows.
unsafe impl Send for Owner {}
// SAFETY: a shared `Owner` only lends the block, for shared use, which the `Send`
// impl argues is sound on any thread, and takes new counts with an atomic add; those
// are `Owner`s, which the `Send` impl covers.
unsafe impl Sync for Owner {}

/// An owner as a frame stores it: a pointer to the block's header, with no lifetime
/// and no count. Turned into an [`OwnerRef`] (by a view of a linked frame) or an
/// [`Owner`] (by the frame that holds its count) only where that is argued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct OwnerPtr(NonNull<Header>);

/// Takes one more strong count of the block.
///
/// # Safety
///
/// The block is alive (something holds a strong count of it).
#[inline]
unsafe fn retain(header: NonNull<Header>) {
    // SAFETY: the block is alive, per the contract.
    let header = unsafe { header.as_ref() };
    // Relaxed, as in `Arc::clone`: a new count is taken from an existing one, which
    // already orders the value's writes before this thread's reads.
    let old = header.strong.fetch_add(1, Ordering::Relaxed);
    if old > isize::MAX as usize {
        // As `Arc` does: this many counts can only come from leaked handles, and the
        // count must never wrap to zero while handles remain.
        std::process::abort();
    }
}

/// Gives back one strong count; the last one destroys the block with `destroy` (the
/// header's function, or the same function called directly by a caller that knows the
/// value's type, which saves an indirect call).
///
/// # Safety
///
/// The caller owns one strong count of the block, which it gives up, and `destroy`
/// does what the header's `destroy` does.
#[inline(always)]
#[allow(clippy::inline_always)]
unsafe fn release(header: NonNull<Header>, destroy: impl FnOnce(NonNull<Header>)) {
    // SAFETY: the caller's count keeps the block alive until the decrement.
    let strong = unsafe { &header.as_ref().strong };
    // The usual case, a scope nobody captured, needs no read-modify-write (an atomic
    // one is far dearer than a load): a count of 1 is the caller's own, and no other can
    // appear, since a new count is only ever taken from an existing one (there are no
    // weak references). The Acquire load orders the last uses of the value by other
    // holders, which released their counts, before its drop.
    if strong.load(Ordering::Acquire) != 1 {
        // Release, then Acquire before destroying, as in `Arc`'s drop: every use of
        // the value on other threads happens before it is dropped.
        if strong.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        fence(Ordering::Acquire);
    }
    // That was the last count, so nothing refers to the block any more.
    destroy(header);
}

/// Recycling of freed blocks, per thread.
///
/// Every block whose layout fits a size class (at most 128 bytes, aligned to at most
/// 16) is allocated with its class's layout, whether it comes from the list or from
/// the global allocator, so it can be freed either way and taken again by any block
/// of its class.
mod blocks {
    use super::{Cell, Layout, NonNull, ptr, valgrind};

    /// The size classes, in bytes, header (16 bytes) included: a few scalars or ids
    /// fit in 64; three `String`s in 128.
    const CLASSES: [usize; 2] = [64, 128];
    const ALIGN: usize = 16;
    /// Freed blocks kept per class and thread: enough for a burst of nested or
    /// concurrent binds on one thread to be served, little enough to never matter
    /// (at most 1.5 KiB per thread).
    pub(super) const KEPT: usize = 8;

    /// One class's freed blocks, each marked inaccessible while it is here.
    struct FreeList {
        blocks: [Cell<*mut u8>; KEPT],
        len: Cell<usize>,
    }

    struct Lists([FreeList; CLASSES.len()]);

    impl Drop for Lists {
        fn drop(&mut self) {
            for (list, &size) in self.0.iter().zip(&CLASSES) {
                for slot in &list.blocks[..list.len.get()] {
                    let layout = class_layout(size);
                    // SAFETY: a block in the list was allocated by the global
                    // allocator with its class's layout, and nothing refers to it.
                    unsafe { std::alloc::dealloc(slot.get(), layout) };
                }
                list.len.set(0);
            }
        }
    }

    super::super::sync::per_thread! {
        static LISTS: Lists = const {
            Lists([const {
                FreeList {
                    blocks: [const { Cell::new(ptr::null_mut()) }; KEPT],
                    len: Cell::new(0),
                }
            }; CLASSES.len()])
        };
    }

    fn class_layout(size: usize) -> Layout {
        match Layout::from_size_align(size, ALIGN) {
            Ok(layout) => layout,
            Err(_) => unreachable!("the classes are valid layouts"),
        }
    }

    /// The size class `layout` is allocated with, if any.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn class_of(layout: Layout) -> Option<usize> {
        if layout.align() > ALIGN {
            return None;
        }
        CLASSES.iter().position(|&size| layout.size() <= size)
    }

    /// Memory for `layout` (which has a non-zero size: every block has a header).
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub(in crate::frame) fn allocate(layout: Layout) -> NonNull<u8> {
        let Some(class) = class_of(layout) else {
            return global(layout);
        };
        let reused = LISTS
            .try_with(|lists| {
                let list = &lists.0[class];
                let len = list.len.get().checked_sub(1)?;
                list.len.set(len);
                let block = list.blocks[len].get();
                valgrind::make_undefined(block, CLASSES[class]);
                NonNull::new(block)
            })
            .ok()
            .flatten();
        match reused {
            Some(block) => block,
            None => global(class_layout(CLASSES[class])),
        }
    }

    /// Gives back memory from [`allocate`] with the same `layout`.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub(in crate::frame) fn free(block: NonNull<u8>, layout: Layout) {
        let Some(class) = class_of(layout) else {
            // SAFETY: `allocate` took it from the global allocator with `layout`.
            unsafe { std::alloc::dealloc(block.as_ptr(), layout) };
            return;
        };
        let kept = LISTS
            .try_with(|lists| {
                let list = &lists.0[class];
                let len = list.len.get();
                if len == KEPT {
                    return false;
                }
                valgrind::make_noaccess(block.as_ptr(), CLASSES[class]);
                list.blocks[len].set(block.as_ptr());
                list.len.set(len + 1);
                true
            })
            // The thread is exiting and its list is gone.
            .unwrap_or(false);
        if !kept {
            // SAFETY: blocks of a class are always allocated with its layout.
            unsafe { std::alloc::dealloc(block.as_ptr(), class_layout(CLASSES[class])) };
        }
    }

    fn global(layout: Layout) -> NonNull<u8> {
        // SAFETY: `layout` has a non-zero size (a block starts with its header).
        let block = unsafe { std::alloc::alloc(layout) };
        NonNull::new(block).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
    }
}

/// valgrind's client requests for memcheck: a fixed instruction sequence that does
/// nothing on a real CPU and that valgrind recognises. Only on x86-64 Linux; elsewhere
/// they are no-ops and recycled blocks look allocated to a checker.
mod valgrind {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    use core::sync::atomic::{AtomicU8, Ordering};

    /// `VG_USERREQ_TOOL_BASE('M', 'C')`: memcheck's requests.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    const MEMCHECK: usize = ((b'M' as usize) << 24) | ((b'C' as usize) << 16);
    /// Whether this process runs under memcheck: 0 not asked yet, 1 no, 2 yes. Asked
    /// once, so that elsewhere each request costs a load and a branch. (Only
    /// memcheck: under callgrind, counting instructions, the requests would be counted
    /// as if they ran on a real CPU.)
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    static UNDER_MEMCHECK: AtomicU8 = AtomicU8::new(0);

    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub(super) fn make_noaccess(block: *mut u8, len: usize) {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if under_memcheck() {
            request([MEMCHECK, block as usize, len, 0, 0, 0]);
        }
        #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
        let _ = (block, len);
    }

    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub(super) fn make_undefined(block: *mut u8, len: usize) {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if under_memcheck() {
            request([MEMCHECK + 1, block as usize, len, 0, 0, 0]);
        }
        #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
        let _ = (block, len);
    }

    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn under_memcheck() -> bool {
        match UNDER_MEMCHECK.load(Ordering::Relaxed) {
            1 => false,
            2 => true,
            _ => ask_memcheck(),
        }
    }

    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    #[cold]
    fn ask_memcheck() -> bool {
        // Memcheck answers a request to mark zero bytes with -1; a real CPU and other
        // tools leave the default, 0.
        let under = request([MEMCHECK, 0, 0, 0, 0, 0]) != 0;
        UNDER_MEMCHECK.store(if under { 2 } else { 1 }, Ordering::Relaxed);
        under
    }

    /// valgrind's `VALGRIND_DO_CLIENT_REQUEST` for amd64: rotating `rdi` by 3, 13, 61
    /// and 51 bits (128 in all, so it is unchanged) then `xchg rbx, rbx` is the marker;
    /// `rax` points to the request and its arguments, and the result comes back in
    /// `rdx` (which keeps its value, 0, on a real CPU).
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    #[cold]
    #[inline(never)]
    fn request(args: [usize; 6]) -> usize {
        let result: usize;
        // SAFETY: on a real CPU the sequence changes no register but the flags and
        // touches no memory (`rdi` turns a full circle, `xchg rbx, rbx` swaps a
        // register with itself); under valgrind, the tool reads `args` and changes
        // only its own bookkeeping, and writes the result to `rdx`.
        unsafe {
            core::arch::asm!(
                "rol rdi, 3",
                "rol rdi, 13",
                "rol rdi, 61",
                "rol rdi, 51",
                "xchg rbx, rbx",
                in("rax") args.as_ptr(),
                inout("rdx") 0usize => result,
                inout("rdi") 0usize => _,
                options(nostack),
            );
        }
        result
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
