//! The allocation budget (README.md, "Performance"), counted exactly with a counting
//! global allocator: no allocation per poll, one per bind, and one per capture whatever
//! the values' sizes (none when nothing is bound).

// Tests declare helper fns next to their use, and exercise every receiver and shape
// of function the attributes accept, some of which clippy would rewrite.
#![allow(
    clippy::items_after_statements,
    clippy::unused_async,
    clippy::boxed_local
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::pin::pin;
use std::task::Poll;

use ctxvar::{Context, context_var};

struct Counting;

thread_local! {
    // Counted per thread, so tests running in parallel do not disturb each other.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; counting touches only a const-initialised
// thread-local without a destructor, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How many allocations `f` made on this thread.
fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = f();
    (ALLOCATIONS.with(Cell::get) - before, result)
}

#[context_var]
static SMALL: u64;
#[context_var]
static BIG: Vec<u8>;
#[context_var]
static NAME: String;

fn poll_once<F: std::future::Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
}

#[test]
fn one_allocation_per_bind_and_none_per_poll() {
    // On a thread of its own, whose list of freed blocks is empty.
    std::thread::spawn(first_bind_on_a_thread).join().unwrap();
}

fn first_bind_on_a_thread() {
    let inner = async {
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
    };
    // Binding three variables in one call: one allocation for all the values.
    let (made, fut) = allocations(|| {
        SMALL
            .bind(1)
            .and(NAME.bind(String::new()))
            .and(BIG.bind(Vec::new()))
            .scope(inner)
    });
    assert_eq!(made, 1);
    let mut fut = pin!(fut);
    let (during_polls, ()) = allocations(|| while poll_once(fut.as_mut()).is_pending() {});
    assert_eq!(during_polls, 0, "polling a scope must not allocate");
}

#[test]
fn at_most_one_allocation_per_capture_whatever_the_values_sizes() {
    let big = vec![7_u8; 1 << 20];
    let name = "x".repeat(1 << 16);
    let (small_capture, _) = SMALL.sync_scope(1, || allocations(Context::current));
    let (big_capture, snapshot) = SMALL.sync_scope(1, || {
        BIG.sync_scope(big, || {
            NAME.sync_scope(name, || allocations(Context::current))
        })
    });
    assert_eq!(small_capture, 0, "one binding is captured inline");
    assert_eq!(big_capture, 1, "capture must not clone a 1 MiB value");
    assert_eq!(snapshot.run(|| BIG.try_with(Vec::len)), Ok(1 << 20));
    // Entering a context, cloning it and reading in it allocate nothing.
    let (entering, ()) = allocations(|| {
        let clone = snapshot.clone();
        clone.run(|| assert!(SMALL.is_bound()));
    });
    assert_eq!(entering, 0);
}

#[test]
fn a_bind_reuses_the_memory_of_one_that_ended_on_the_same_thread() {
    std::thread::spawn(|| {
        let (first, ()) = allocations(|| SMALL.sync_scope(1, || ()));
        assert_eq!(first, 1, "a thread's first bind allocates");
        let (next, read) = allocations(|| SMALL.sync_scope(2, || SMALL.try_get()));
        assert_eq!((next, read), (0, Ok(2)), "the next one reuses that memory");
        // Two at once: the inner one needs memory of its own.
        let (nested, ()) = allocations(|| SMALL.sync_scope(3, || SMALL.sync_scope(4, || ())));
        assert_eq!(nested, 1);
        // Values bigger than the recycled sizes are allocated every time.
        let (big, ()) = allocations(|| NAME.sync_scope("x".repeat(8), || ()));
        let (big_values, ()) = allocations(|| {
            BIG.bind(vec![1])
                .and(NAME.bind(String::new()))
                .and(SMALL.bind(5))
                .sync_scope(|| ());
        });
        assert_eq!(
            big, 1,
            "the string's own allocation; the bind reuses a block"
        );
        assert_eq!(big_values, 2, "the vector's own allocation and a block");
    })
    .join()
    .unwrap();
}

#[test]
fn capturing_nothing_allocates_nothing() {
    let (made, _) = allocations(Context::current);
    assert_eq!(made, 0);
}
