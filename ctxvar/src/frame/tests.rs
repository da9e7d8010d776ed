//! Unit tests of the frame chain: entering and unlinking, shadowing, captures and
//! their counts, and the read cache's versions. The invariant they exercise is in the
//! parent module's documentation (`frame/mod.rs`).

use super::lookup::lookup;
use super::*;

static KEY_A: VarHeader = VarHeader {
    name: "A",
    module_path: "tests",
    inherit: true,
    #[cfg(feature = "tracing")]
    traced: None,
};
static KEY_B: VarHeader = VarHeader {
    name: "B",
    module_path: "tests",
    inherit: false,
    #[cfg(feature = "tracing")]
    traced: None,
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
    let values = Shared::new([1_u32, 2, 3]);
    let owner = Shared::owner(&values);
    let outer = Frame::new(
        EntryPair(entry(&KEY_A, &values[0]), entry(&KEY_B, &values[1])),
        owner,
    );
    let inner = Frame::new(entry(&KEY_A, &values[2]), owner);
    assert!(is_empty());
    // SAFETY: `values` outlives both calls.
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
    let values = Shared::new(1_u32);
    let frame = Frame::new(entry(&KEY_A, &values), Shared::owner(&values));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: `values` outlives the call.
        unsafe { frame.enter(|| panic!("unwind through enter")) }
    }));
    assert!(result.is_err());
    assert!(is_empty());
}

#[test]
fn a_frame_can_be_entered_again_after_it_moved() {
    let values = Shared::new(1_u32);
    let frame = Frame::new(entry(&KEY_A, &values), Shared::owner(&values));
    // SAFETY: `values` outlives both calls.
    unsafe { frame.enter(|| assert_eq!(read(&KEY_A), Some(1))) };
    let moved = Box::new(frame);
    // SAFETY: `values` outlives the call; the stale pointers of the first entry are
    // overwritten.
    unsafe { moved.enter(|| assert_eq!(read(&KEY_A), Some(1))) };
    assert!(is_empty());
}

#[test]
fn the_first_entry_of_one_frame_wins() {
    // Entries are stored newest first: the first one shadows the rest.
    let values = Shared::new([1_u32, 2]);
    let frame = Frame::new(
        EntryPair(entry(&KEY_A, &values[1]), entry(&KEY_A, &values[0])),
        Shared::owner(&values),
    );
    // SAFETY: `values` outlives the call.
    unsafe { frame.enter(|| assert_eq!(read(&KEY_A), Some(2))) };
}

#[test]
fn a_capture_shares_visible_inheritable_values_and_outlives_the_frames() {
    let values = Shared::new([1_u32, 2, 3]);
    let captured = {
        let owner = Shared::owner(&values);
        let outer = Frame::new(
            EntryPair(entry(&KEY_A, &values[0]), entry(&KEY_B, &values[1])),
            owner,
        );
        let inner = Frame::new(entry(&KEY_A, &values[2]), owner);
        // SAFETY: `values` outlives both calls.
        unsafe { outer.enter(|| inner.enter(capture)) }
    }; // the frames are gone; the capture still holds the values
    // Only A (B is not inherited), and only its innermost binding: held inline.
    assert!(matches!(captured, Captured::One(_)), "{captured:?}");
    assert_eq!(
        Shared::strong_count(&values),
        2,
        "the capture holds one count"
    );
    let copy = captured.clone();
    assert_eq!(Shared::strong_count(&values), 3, "and so does its clone");
    drop(captured);
    let seen = copy.enter(|| (read(&KEY_A), read(&KEY_B)));
    assert_eq!(seen, (Some(3), None));
    drop(copy);
    assert_eq!(Shared::strong_count(&values), 1, "and gives it back");
    assert!(is_empty());
}

#[test]
fn a_capture_of_several_bindings_shares_one_count_per_owner() {
    static KEY_C: VarHeader = VarHeader {
        name: "C",
        module_path: "tests",
        inherit: true,
        #[cfg(feature = "tracing")]
        traced: None,
    };
    let outer_values = Shared::new([1_u32, 2]);
    let inner_values = Shared::new(3_u32);
    let captured = {
        let outer = Frame::new(
            EntryPair(
                entry(&KEY_A, &outer_values[0]),
                entry(&KEY_C, &outer_values[1]),
            ),
            Shared::owner(&outer_values),
        );
        let inner = Frame::new(entry(&KEY_A, &inner_values), Shared::owner(&inner_values));
        // SAFETY: the values outlive both calls.
        unsafe { outer.enter(|| inner.enter(capture)) }
    };
    assert!(matches!(&captured, Captured::Many(_)), "{captured:?}");
    assert_eq!(captured.len(), 2);
    assert_eq!(Shared::strong_count(&outer_values), 2);
    assert_eq!(Shared::strong_count(&inner_values), 2);
    let seen = captured.enter(|| (read(&KEY_A), read(&KEY_C)));
    assert_eq!(seen, (Some(3), Some(2)));
    let copy = captured.clone();
    drop(captured);
    drop(copy);
    assert_eq!(Shared::strong_count(&outer_values), 1);
    assert_eq!(Shared::strong_count(&inner_values), 1);
}

#[test]
fn a_capture_inside_a_context_shares_the_contexts_owners() {
    static KEY_C: VarHeader = VarHeader {
        name: "C",
        module_path: "tests",
        inherit: true,
        #[cfg(feature = "tracing")]
        traced: None,
    };
    let outer_values = Shared::new(1_u32);
    let inner_values = Shared::new(2_u32);
    let first = {
        let outer = Frame::new(entry(&KEY_A, &outer_values), Shared::owner(&outer_values));
        let inner = Frame::new(entry(&KEY_C, &inner_values), Shared::owner(&inner_values));
        // SAFETY: the values outlive both calls.
        unsafe { outer.enter(|| inner.enter(capture)) }
    };
    // Captured again from inside the context's frame: the owners come from the
    // context's own list, one count each, and outlive the first context.
    let second = first.enter(capture);
    assert!(matches!(&second, Captured::Many(_)), "{second:?}");
    assert_eq!(Shared::strong_count(&outer_values), 3);
    drop(first);
    assert_eq!(Shared::strong_count(&inner_values), 2);
    assert_eq!(
        second.enter(|| (read(&KEY_A), read(&KEY_C))),
        (Some(1), Some(2))
    );
    // And one binding captured inside it is held inline, with its own count.
    let inner_only = Frame::new(entry(&KEY_A, &inner_values), Shared::owner(&inner_values));
    // SAFETY: the values outlive the call.
    let third = second.enter(|| unsafe { inner_only.enter(capture) });
    drop(second);
    assert!(
        matches!(&third, Captured::Many(_)),
        "A shadows A, C stays: two"
    );
    assert_eq!(
        third.enter(|| (read(&KEY_A), read(&KEY_C))),
        (Some(2), Some(2))
    );
    drop(third);
    assert_eq!(Shared::strong_count(&outer_values), 1);
    assert_eq!(Shared::strong_count(&inner_values), 1);
}

#[test]
fn captures_under_one_chain_share_a_root_and_its_cached_reads() {
    let values = Shared::new([1_u32, 2]);
    let owner = Shared::owner(&values);
    let outer = Frame::new(entry(&KEY_A, &values[0]), owner);
    let inner = Frame::new(entry(&KEY_A, &values[1]), owner);
    // SAFETY: `values` outlives every call.
    let (first, second, nested, after) = unsafe {
        outer.enter(|| {
            let first = capture();
            let second = capture();
            let nested = inner.enter(capture);
            (first, second, nested, capture())
        })
    };
    let id = |captured: &Captured| match captured {
        Captured::One(held) => held.id,
        other => panic!("one binding captured: {other:?}"),
    };
    // The second capture under the same chain is the same binding under the same
    // root id: a read cached while running the first is valid in the second.
    assert_eq!(id(&first), id(&second));
    assert_eq!(first.enter(|| read_cached(&KEY_A)), Some(1));
    assert!(second.enter(|| cache_is_valid(&KEY_A)));
    // Under another chain the memo does not apply, nor back under the first one
    // once another capture replaced it; each context reads its own binding.
    assert_ne!(id(&nested), id(&first));
    assert_eq!(nested.enter(|| read_cached(&KEY_A)), Some(2));
    assert_eq!(after.enter(|| read_cached(&KEY_A)), Some(1));
    drop((first, second, nested, after));
    assert_eq!(Shared::strong_count(&values), 1, "every count given back");
    // No frame now: a capture finds nothing, whatever the memo still holds.
    assert!(matches!(capture(), Captured::Nothing));
}

#[test]
fn threads_enter_one_shared_context_frame_at_once() {
    static KEY_D: VarHeader = VarHeader {
        name: "D",
        module_path: "tests",
        inherit: true,
        #[cfg(feature = "tracing")]
        traced: None,
    };
    let values = Shared::new([1_u32, 2]);
    let outer = Frame::new(entry(&KEY_A, &values[0]), Shared::owner(&values));
    let inner = Frame::new(entry(&KEY_D, &values[1]), Shared::owner(&values));
    // SAFETY: `values` outlives both calls.
    let captured = unsafe { outer.enter(|| inner.enter(capture)) };
    assert!(matches!(&captured, Captured::Many(_)), "{captured:?}");
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..1000 {
                    let seen = captured.enter(|| (read(&KEY_A), read(&KEY_D)));
                    assert_eq!(seen, (Some(1), Some(2)));
                }
            });
        }
    });
    drop(captured);
    assert_eq!(Shared::strong_count(&values), 1);
}

#[test]
fn a_root_frame_hides_the_frames_below_it() {
    let values = Shared::new(1_u32);
    let frame = Frame::new(entry(&KEY_A, &values), Shared::owner(&values));
    let empty = FrameHead::empty_root();
    // SAFETY: `values` outlives the call; the root frame has no entries.
    let seen = unsafe {
        frame.enter(|| {
            let hidden = enter_head(&raw const empty, true, || read(&KEY_A));
            (hidden, read(&KEY_A))
        })
    };
    assert_eq!(seen, (None, Some(1)));
}

thread_local! {
    static CACHE_A: ReadCache = const { ReadCache::new() };
    static CACHE_B: ReadCache = const { ReadCache::new() };
}

/// `read` through the variable's cache, as `get` reads.
fn read_cached(key: &'static VarHeader) -> Option<u32> {
    read_cached_or(key, || None)
}

/// `read_cached` of a variable with a default.
fn read_cached_or(key: &'static VarHeader, default: fn() -> Option<*const ()>) -> Option<u32> {
    let cache = if ptr::eq(key, &raw const KEY_A) {
        &CACHE_A
    } else {
        &CACHE_B
    };
    let lookup = Lookup {
        key,
        cache,
        default,
    };
    // SAFETY: every value entered in these tests is a `u32`.
    lookup.read(
        (),
        |(), value| Some(unsafe { *value.cast::<u32>() }),
        |()| None,
    )
}

#[test]
fn a_cached_read_is_forgotten_by_every_enter_and_exit() {
    let values = Shared::new([1_u32, 2, 3]);
    let owner = Shared::owner(&values);
    let outer = Frame::new(entry(&KEY_A, &values[0]), owner);
    let inner = Frame::new(
        EntryPair(entry(&KEY_B, &values[2]), entry(&KEY_A, &values[1])),
        owner,
    );
    let empty = FrameHead::empty_root();
    assert_eq!(read_cached(&KEY_A), None);
    // SAFETY: `values` outlives every call; the root frame has no entries.
    let seen = unsafe {
        outer.enter(|| {
            // Both caches are filled, B's with "not bound"; each read twice, so
            // the second read of each is a hit.
            let before = [
                read_cached(&KEY_A),
                read_cached(&KEY_B),
                read_cached(&KEY_A),
                read_cached(&KEY_B),
            ];
            let shadowed = inner.enter(|| {
                [
                    read_cached(&KEY_A),
                    read_cached(&KEY_B),
                    read_cached(&KEY_A),
                ]
            });
            let after = [read_cached(&KEY_A), read_cached(&KEY_B)];
            let hidden = enter_head(&raw const empty, true, || read_cached(&KEY_A));
            (before, shadowed, after, hidden, read_cached(&KEY_A))
        })
    };
    assert_eq!(seen.0, [Some(1), None, Some(1), None]);
    assert_eq!(seen.1, [Some(2), Some(3), Some(2)]);
    assert_eq!(seen.2, [Some(1), None]);
    assert_eq!((seen.3, seen.4), (None, Some(1)));
    assert_eq!(
        read_cached(&KEY_A),
        None,
        "the cache does not outlive the frame"
    );
    assert_eq!(read_cached(&KEY_B), None);
}

/// Whether `key`'s cache holds a lookup valid for the chain as it is now.
fn cache_is_valid(key: &'static VarHeader) -> bool {
    let cache = if ptr::eq(key, &raw const KEY_A) {
        &CACHE_A
    } else {
        &CACHE_B
    };
    let version = with_state(|state| state.version.get());
    cache.with(|cache| cache.version.get() == version)
}

#[test]
fn sibling_frames_never_share_a_version_and_an_outer_cache_survives_them() {
    let values = Shared::new([1_u32, 2, 3]);
    let owner = Shared::owner(&values);
    let outer = Frame::new(entry(&KEY_A, &values[0]), owner);
    let first = Frame::new(entry(&KEY_A, &values[1]), owner);
    let second = Frame::new(entry(&KEY_A, &values[2]), owner);
    // SAFETY: `values` outlives every call.
    let seen = unsafe {
        outer.enter(|| {
            let before = read_cached(&KEY_A);
            // Each sibling reads its own binding, never the one the other cached
            // (the second is entered at the first's version if versions were
            // reused, with a stale cache pointing into the first).
            let inside = [
                first.enter(|| read_cached(&KEY_A)),
                second.enter(|| read_cached(&KEY_A)),
            ];
            // The chain is back to what `before` was read from: that lookup was
            // overwritten by the siblings', so the cache is not valid, and a new
            // lookup finds the outer value and is valid until the next change.
            let stale_after = cache_is_valid(&KEY_A);
            let after = read_cached(&KEY_A);
            let valid_after = cache_is_valid(&KEY_A);
            // A nested frame binding another variable leaves A's cache alone, and
            // the version it restores makes that cache valid again on return.
            let other = Frame::new(entry(&KEY_B, &values[0]), owner);
            let b_inside = other.enter(|| (read_cached(&KEY_B), cache_is_valid(&KEY_A)));
            let still_valid = cache_is_valid(&KEY_A);
            (
                before,
                inside,
                stale_after,
                after,
                valid_after,
                b_inside,
                still_valid,
            )
        })
    };
    assert_eq!(seen.0, Some(1));
    assert_eq!(seen.1, [Some(2), Some(3)]);
    assert!(
        !seen.2,
        "a lookup cached inside a sibling is not valid outside it"
    );
    assert_eq!(seen.3, Some(1));
    assert!(seen.4);
    assert_eq!(seen.5, (Some(1), false), "inside, A's cache is not valid");
    assert!(seen.6, "back outside, A's cache is valid again");
    assert!(!cache_is_valid(&KEY_A), "nor after the outer frame is gone");
}

#[test]
fn a_frame_re_entered_under_other_parents_sees_each_parent_and_no_stale_cache() {
    let values = Shared::new([1_u32, 2, 3]);
    let owner = Shared::owner(&values);
    // A scope binding B, polled in turn by two pollers that bind A differently,
    // as a future moved between tasks is; A is read through the cache each time.
    let first_poller = Frame::new(entry(&KEY_A, &values[0]), owner);
    let second_poller = Frame::new(entry(&KEY_A, &values[1]), owner);
    let scope = Frame::new(entry(&KEY_B, &values[2]), owner);
    let poll = || {
        // SAFETY: `values` outlives the call.
        unsafe {
            scope.enter(|| {
                [
                    read_cached(&KEY_A),
                    read_cached(&KEY_B),
                    read_cached(&KEY_A),
                ]
            })
        }
    };
    // SAFETY: `values` outlives every call.
    let seen = unsafe {
        [
            first_poller.enter(poll),
            second_poller.enter(poll),
            first_poller.enter(poll),
        ]
    };
    assert_eq!(
        seen,
        [
            [Some(1), Some(3), Some(1)],
            [Some(2), Some(3), Some(2)],
            [Some(1), Some(3), Some(1)],
        ]
    );
    assert_eq!(read_cached(&KEY_A), None);
}

#[test]
fn a_frame_polled_again_over_the_same_chain_keeps_its_cached_reads() {
    let values = Shared::new([1_u32, 2]);
    let owner = Shared::owner(&values);
    let task = Frame::new(entry(&KEY_A, &values[0]), owner);
    // SAFETY: `values` outlives every call.
    unsafe {
        // First poll: a miss, then cached.
        assert_eq!(task.enter(|| read_cached(&KEY_A)), Some(1));
        // Second poll over the same (empty) chain: still valid.
        assert!(task.enter(|| cache_is_valid(&KEY_A)));
        // Polled inside another binding: another chain, so a new version.
        let poller = Frame::new(entry(&KEY_B, &values[1]), owner);
        assert!(!poller.enter(|| task.enter(|| cache_is_valid(&KEY_A))));
        assert_eq!(task.enter(|| read_cached(&KEY_A)), Some(1));
    }
    assert!(!cache_is_valid(&KEY_A), "outside the frame, not valid");
}

#[test]
fn interleaved_tasks_each_read_their_own_binding_through_the_cache() {
    // Two futures polled in turn on one thread, as an executor does, each binding
    // A differently and reading it on every poll: one variable, one cache, two
    // versions that alternate, and no read ever sees the other task's value.
    let values = Shared::new([1_u32, 2, 3]);
    let owner = Shared::owner(&values);
    let first = Frame::new(entry(&KEY_A, &values[0]), owner);
    let second = Frame::new(entry(&KEY_A, &values[1]), owner);
    let nested = Frame::new(entry(&KEY_A, &values[2]), owner);
    for _ in 0..3 {
        // SAFETY: `values` outlives every call.
        let seen = unsafe {
            [
                first.enter(|| read_cached(&KEY_A)),
                second.enter(|| read_cached(&KEY_A)),
                first.enter(|| (read_cached(&KEY_A), read_cached(&KEY_A)).0),
                second.enter(|| nested.enter(|| read_cached(&KEY_A))),
                second.enter(|| read_cached(&KEY_A)),
            ]
        };
        assert_eq!(seen, [Some(1), Some(2), Some(1), Some(3), Some(2)]);
    }
}

#[test]
fn ids_are_never_shared_between_threads() {
    // More ids than a block on each of four threads: all distinct.
    let per_thread = usize::try_from(ID_BLOCK * 3).unwrap();
    let ids: Vec<Vec<u64>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| (0..per_thread).map(|_| root_id()).collect()))
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let mut all: Vec<u64> = ids.into_iter().flatten().collect();
    let count = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), count);
    assert!(
        all[0] > EMPTY_ROOT,
        "below the reserved versions: {}",
        all[0]
    );
}

#[test]
fn a_cached_default_gives_way_to_a_binding() {
    static DEFAULT: u32 = 9;
    let nine = || Some(ptr::from_ref(&DEFAULT).cast());
    let values = Shared::new(1_u32);
    let frame = Frame::new(entry(&KEY_B, &values), Shared::owner(&values));
    let empty = FrameHead::empty_root();
    // SAFETY: `values` outlives the calls; the root frame has no entries.
    let seen = unsafe {
        enter_head(&raw const empty, true, || {
            let default = [read_cached_or(&KEY_B, nine), read_cached_or(&KEY_B, nine)];
            let bound = frame.enter(|| read_cached_or(&KEY_B, nine));
            (default, bound, read_cached_or(&KEY_B, nine))
        })
    };
    assert_eq!(seen, ([Some(9), Some(9)], Some(1), Some(9)));
}

#[test]
fn a_cache_is_per_thread() {
    let values = Shared::new(1_u32);
    let frame = Frame::new(entry(&KEY_A, &values), Shared::owner(&values));
    // SAFETY: `values` outlives the call.
    let seen_elsewhere = unsafe {
        frame.enter(|| {
            assert_eq!(read_cached(&KEY_A), Some(1));
            // Another thread has its own chain and version: nothing is bound there,
            // whatever this thread cached.
            std::thread::scope(|s| s.spawn(|| read_cached(&KEY_A)).join().unwrap())
        })
    };
    assert_eq!(seen_elsewhere, None);
}

/// Twenty inheritable variables, more than the visible walk keeps on the stack.
static MANY: [VarHeader; 20] = {
    let mut keys = [const {
        VarHeader {
            name: "many",
            module_path: "tests",
            inherit: true,
            #[cfg(feature = "tracing")]
            traced: None,
        }
    }; 20];
    // The last one is not inherited: a capture leaves it out.
    keys[19].inherit = false;
    keys
};

/// Runs `f` inside one frame per value of `values`, the first outermost, the one at
/// index `i` binding `MANY[keys[i]]`.
fn nested(keys: &[usize], values: &[u32], f: &mut dyn FnMut()) {
    let Some((&first, rest)) = keys.split_first() else {
        return f();
    };
    let owner = Shared::new(values[0]);
    let frame = Frame::new(entry(&MANY[first], &owner), Shared::owner(&owner));
    // SAFETY: `owner` outlives the call.
    unsafe { frame.enter(|| nested(rest, &values[1..], f)) };
}

#[test]
fn the_visible_walk_sees_past_what_it_keeps_on_the_stack() {
    // Each of the twenty variables bound once, then 0, 7 and 19 again, innermost last:
    // 22 bindings visible to the walk, 20 variables after shadowing.
    let keys: Vec<usize> = (0..20).chain([0, 7, 19]).collect();
    let values: Vec<u32> = (100..123).collect();
    let mut captured = None;
    nested(&keys, &values, &mut || {
        // A read past the stack part, and the shadowing bindings.
        assert_eq!(read(&MANY[18]), Some(118));
        assert_eq!(read(&MANY[0]), Some(120));
        assert_eq!(read(&MANY[19]), Some(122));
        captured = Some(capture());
    });
    let captured = captured.unwrap();
    // 19 inheritable variables, each once, each with its innermost binding.
    assert_eq!(captured.len(), 19);
    let seen = captured.enter(|| MANY.each_ref().map(read));
    let expected: [Option<u32>; 20] = core::array::from_fn(|key| match key {
        0 => Some(120),
        7 => Some(121),
        19 => None,
        key => Some(100 + u32::try_from(key).unwrap()),
    });
    assert_eq!(seen, expected);
    assert!(is_empty());
}
