//! The owner blocks: counts, release on any thread, recycling.

use super::*;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Barrier};

/// Counts its drops in a shared counter.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

#[test]
fn the_value_is_dropped_once_when_the_last_count_goes() {
    let drops = counter();
    let shared = Shared::new(Counted(Arc::clone(&drops)));
    let owner = shared.owner().retain();
    assert_eq!(Shared::strong_count(&shared), 2);
    let copy = owner.clone();
    assert_eq!(Shared::strong_count(&shared), 3);
    drop(shared);
    drop(owner);
    assert_eq!(drops.load(Ordering::SeqCst), 0, "a count is still held");
    drop(copy);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn counts_given_back_on_other_threads_drop_the_value_once() {
    // Many threads release counts at once while the handle is dropped here: the
    // value is dropped exactly once, whoever releases last.
    const THREADS: usize = 4;
    for _ in 0..50 {
        let drops = counter();
        let shared = Shared::new(Counted(Arc::clone(&drops)));
        let start = Arc::new(Barrier::new(THREADS + 1));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let start = Arc::clone(&start);
                let owner = shared.owner().retain();
                std::thread::spawn(move || {
                    start.wait();
                    drop(owner);
                })
            })
            .collect();
        start.wait();
        drop(shared);
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn a_freed_block_is_reused_by_the_next_value_of_its_size_class() {
    let first = Shared::new(1_u64);
    let address = first.owner().as_ptr();
    drop(first);
    let second = Shared::new(2_u32);
    assert_eq!(
        second.owner().as_ptr(),
        address,
        "taken from this thread's list"
    );
    assert_eq!(*second, 2);
    // A value too big for any class bypasses the lists, both ways.
    let big = Shared::new([7_u8; 512]);
    assert_eq!(big[511], 7);
    drop(big);
    drop(second);
}

#[test]
fn more_frees_than_the_list_keeps_go_back_to_the_allocator() {
    let values: Vec<_> = (0..3 * blocks::KEPT as u64).map(Shared::new).collect();
    let sum: u64 = values.iter().map(|value| **value).sum();
    drop(values);
    let again: Vec<_> = (0..3 * blocks::KEPT as u64).map(Shared::new).collect();
    assert_eq!(again.iter().map(|value| **value).sum::<u64>(), sum);
}

#[test]
fn a_block_freed_on_another_thread_joins_that_threads_list() {
    let shared = Shared::new(5_u64);
    let reused = std::thread::spawn(move || {
        let address = shared.owner().as_ptr();
        drop(shared);
        // This thread's list now has the block: its next value gets it.
        let next = Shared::new(6_u64);
        next.owner().as_ptr() == address
    })
    .join()
    .unwrap();
    assert!(reused);
    // The thread exited with the block in its list, whose destructor freed it
    // (valgrind's `--leak-check=full` lists no block of this module); this thread
    // still allocates.
    assert_eq!(*Shared::new(7_u64), 7);
}

#[test]
fn the_block_is_freed_when_the_values_destructor_panics() {
    struct Panics;
    impl Drop for Panics {
        fn drop(&mut self) {
            panic!("the value's destructor panics");
        }
    }
    let shared = Shared::new(Panics);
    let address = shared.owner().as_ptr();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(shared)));
    assert!(result.is_err());
    // The block went back to this thread's list despite the panic.
    assert_eq!(Shared::new(0_u64).owner().as_ptr(), address);
}
