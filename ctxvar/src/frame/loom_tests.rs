//! loom tests of the one reference count (`owner`) and of the captures built on it:
//! counts taken, given back and recycled on several threads, in every interleaving
//! loom explores (run by `.ci/run` with `RUSTFLAGS="--cfg loom"`).
//!
//! Each bound value holds a `loom::cell::UnsafeCell` that readers read and its
//! destructor writes, so loom reports any read that does not happen before the drop
//! (a count given back with too weak an ordering), besides what the tests assert: the
//! value is dropped once, after the last count is given back, and a block recycled
//! while something still reads it would show another value.

use core::cell::Cell;
use core::ptr;

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use super::lookup::lookup;
use super::owner::OwnerPtr;
use super::{Captured, Entry, Frame, Shared, VarHeader, capture, is_empty};

static KEY_A: VarHeader = VarHeader {
    name: "A",
    module_path: "loom_tests",
    inherit: true,
    #[cfg(feature = "tracing")]
    traced: None,
};
static KEY_B: VarHeader = VarHeader {
    name: "B",
    module_path: "loom_tests",
    inherit: true,
    #[cfg(feature = "tracing")]
    traced: None,
};

/// What every bound value is: its number until it is dropped, then 0.
const VALUE: u64 = 42;

/// A bound value whose reads and drop loom checks, and which counts its drops.
struct Tracked {
    value: UnsafeCell<u64>,
    drops: Arc<AtomicUsize>,
}

// SAFETY: `value` is written only by `drop`, when nothing else refers to the value; the
// tests check that every read happens before it (loom reports one that does not).
unsafe impl Sync for Tracked {}

impl Tracked {
    fn new(number: u64, drops: &Arc<AtomicUsize>) -> Self {
        Tracked {
            value: UnsafeCell::new(number),
            drops: Arc::clone(drops),
        }
    }

    fn read(&self) -> u64 {
        // SAFETY: see the `Sync` impl.
        self.value.with(|value| unsafe { *value })
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        // SAFETY: dropped once, when nothing else refers to the value.
        self.value.with_mut(|value| unsafe { *value = 0 });
        self.drops.fetch_add(1, Ordering::SeqCst);
        DROPPED_HERE.with(|dropped| dropped.set(true));
    }
}

loom::thread_local! {
    /// Whether a `Tracked` was dropped on this model thread.
    static DROPPED_HERE: Cell<bool> = Cell::new(false);
}

fn entry(key: &'static VarHeader, value: &Tracked) -> Entry {
    Entry {
        key,
        value: ptr::from_ref(value).cast(),
    }
}

/// The value of `key`'s innermost binding on this thread.
fn read(key: &'static VarHeader) -> Option<u64> {
    // SAFETY: every value bound in these tests is a `Tracked`, alive while its frame is
    // linked, which it is until this returns.
    lookup(key).map(|value| unsafe { &*value.cast::<Tracked>() }.read())
}

/// Captures `value` bound to `KEY_A`, as `Context::current()` inside its scope would.
fn capture_one(value: &Shared<Tracked>) -> Captured {
    let frame = Frame::new(entry(&KEY_A, value), value.owner());
    // SAFETY: `value` outlives the call, and the entry points into it.
    unsafe { frame.enter(capture) }
}

#[test]
fn captures_released_on_other_threads_drop_the_value_once_after_every_read() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let value = Shared::new(Tracked::new(VALUE, &drops));
        let captured = capture_one(&value);
        assert!(matches!(captured, Captured::One(_)));
        assert_eq!(Shared::strong_count(&value), 2);
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let context = captured.clone();
                thread::spawn(move || {
                    assert_eq!(context.enter(|| read(&KEY_A)), Some(VALUE));
                    drop(context);
                })
            })
            .collect();
        drop(captured);
        drop(value);
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_context_frame_and_its_values_are_released_once_from_any_thread() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let outer = Shared::new(Tracked::new(VALUE, &drops));
        let inner = Shared::new(Tracked::new(VALUE + 1, &drops));
        let captured = {
            let outer_frame = Frame::new(entry(&KEY_A, &outer), outer.owner());
            let inner_frame = Frame::new(entry(&KEY_B, &inner), inner.owner());
            // SAFETY: `inner` outlives the call, and the entry points into it.
            let inside = || unsafe { inner_frame.enter(capture) };
            // SAFETY: `outer` outlives the call, and the entry points into it.
            unsafe { outer_frame.enter(inside) }
        };
        // A context's frame block of two bindings, counted like a value's block.
        assert!(matches!(captured, Captured::Many(_)));
        assert_eq!(captured.len(), 2);
        assert_eq!(
            Shared::strong_count(&outer),
            2,
            "one count, the frame block's"
        );
        let context = captured.clone();
        let thread = thread::spawn(move || {
            let again = context.enter(|| {
                assert_eq!((read(&KEY_A), read(&KEY_B)), (Some(VALUE), Some(VALUE + 1)));
                // A capture inside the context takes counts of the values' blocks.
                capture()
            });
            drop(context);
            assert_eq!(again.enter(|| read(&KEY_B)), Some(VALUE + 1));
            assert!(is_empty());
        });
        drop(outer);
        drop(captured);
        drop(inner);
        thread.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn a_block_is_recycled_by_the_thread_that_frees_it_and_never_while_referenced() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let value = Shared::new(Tracked::new(VALUE, &drops));
        let address = value.owner().as_ptr();
        let context = capture_one(&value);
        // Each thread gives back its count, then takes blocks of the same size class,
        // which come from its own list of freed blocks when it has one.
        let after_release = move |drops: &Arc<AtomicUsize>| {
            let next = Shared::new(Tracked::new(7, drops));
            let reused = next.owner().as_ptr();
            (DROPPED_HERE.with(Cell::get), reused, next)
        };
        let thread = {
            let drops = Arc::clone(&drops);
            thread::spawn(move || {
                assert_eq!(context.enter(|| read(&KEY_A)), Some(VALUE));
                drop(context);
                check_recycling(address, after_release(&drops));
            })
        };
        drop(value);
        check_recycling(address, after_release(&drops));
        thread.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 3);
    });
}

/// On a thread that gave back a count of the block at `address`: if it dropped the
/// value, its next block of the class is that one; if not, the block was still alive
/// (or freed elsewhere), so this thread's next block is another.
fn check_recycling(
    address: OwnerPtr,
    (dropped_here, reused, next): (bool, OwnerPtr, Shared<Tracked>),
) {
    assert_eq!(dropped_here, reused == address);
    assert_eq!(next.read(), 7);
}
