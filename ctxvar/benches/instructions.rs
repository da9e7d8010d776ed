//! Instruction counts per operation, for `valgrind --tool=callgrind` (repeatable on a
//! shared machine, unlike timings). Runs one case `n` times:
//!
//! ```sh
//! cargo bench -p ctxvar --bench instructions --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/deps/instructions-* get-ctxvar 1000000
//! ```
//!
//! The difference between two runs with different `n`, divided by the difference in
//! `n`, is the cost of one operation without the setup. `ctxvar/benches/instructions.sh`
//! does exactly that for every case.

use std::hint::black_box;
use std::pin::pin;

use ctxvar::{Anchor, Provided};

mod common;
use common::{
    C0, C1, C2, C3, C4, C5, C6, C7, Leaf, ReadLeaf, T0, T1, poll_once, with_attribute,
    written_by_hand,
};

const CASES: [&str; 14] = [
    "get-ctxvar",
    "get-tokio",
    "with-ctxvar",
    "with-tokio",
    "read2-ctxvar",
    "read2-tokio",
    "poll-ctxvar",
    "poll8-ctxvar",
    "poll-tokio",
    "pollread-ctxvar",
    "pollread-tokio",
    "bind-attribute",
    "bind-by-hand",
    "bind-tokio",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [case, n] if !case.starts_with('-') => run(case, n.parse().expect("n is a number")),
        // Run by `cargo bench` or `cargo test --benches` (with their own flags, or
        // none): every case, briefly, so the quick mode exercises this file too.
        _ => CASES.iter().for_each(|case| run(case, 1_000)),
    }
}

// Each case is a function of its own, never inlined: in one big `match`, the
// register allocation and block layout of one case depended on the others (adding
// an unrelated case moved `bind-attribute` by 3 instructions).
fn run(case: &str, n: u64) {
    let case: fn(u64) = match case {
        "get-ctxvar" => get_ctxvar,
        "get-tokio" => get_tokio,
        "with-ctxvar" => with_ctxvar,
        "with-tokio" => with_tokio,
        "read2-ctxvar" => read2_ctxvar,
        "read2-tokio" => read2_tokio,
        "poll-ctxvar" => poll_ctxvar,
        "poll8-ctxvar" => poll8_ctxvar,
        "poll-tokio" => poll_tokio,
        "pollread-ctxvar" => pollread_ctxvar,
        "pollread-tokio" => pollread_tokio,
        "bind-attribute" => bind_attribute,
        "bind-by-hand" => bind_by_hand,
        "bind-tokio" => bind_tokio,
        other => panic!("unknown case {other}; the cases are {CASES:?}"),
    };
    case(n);
}

/// Repeated reads of the innermost binding.
#[inline(never)]
fn get_ctxvar(n: u64) {
    C0.sync_scope(7, || {
        let anchor = Anchor::new();
        let c0 = Provided::<dyn C0>::assume_bound(&anchor);
        (0..n).for_each(|_| {
            black_box(c0.get());
        });
    });
}

#[inline(never)]
fn get_tokio(n: u64) {
    T0.sync_scope(7, || {
        (0..n).for_each(|_| {
            black_box(T0.get());
        });
    });
}

#[inline(never)]
fn with_ctxvar(n: u64) {
    C0.sync_scope(7, || {
        let anchor = Anchor::new();
        let c0 = Provided::<dyn C0>::assume_bound(&anchor);
        (0..n).for_each(|_| {
            c0.with(|v| black_box(*v));
        });
    });
}

#[inline(never)]
fn with_tokio(n: u64) {
    T0.sync_scope(7, || {
        (0..n).for_each(|_| {
            T0.with(|v| black_box(*v));
        });
    });
}

/// Two variables bound innermost, read alternately: each hits its own read cache
/// (`vs_tokio`'s "2 vars in turn"). Per pair of reads.
#[inline(never)]
fn read2_ctxvar(n: u64) {
    C0.bind(7).and(C1.bind(8)).sync_scope(|| {
        let anchor = Anchor::new();
        let (c0, c1) = (
            Provided::<dyn C0>::assume_bound(&anchor),
            Provided::<dyn C1>::assume_bound(&anchor),
        );
        (0..n).for_each(|_| {
            black_box((black_box(c0.get()), black_box(c1.get())));
        });
    });
}

#[inline(never)]
fn read2_tokio(n: u64) {
    T0.sync_scope(7, || {
        T1.sync_scope(8, || {
            (0..n).for_each(|_| {
                black_box((black_box(T0.get()), black_box(T1.get())));
            });
        });
    });
}

#[inline(never)]
fn poll_ctxvar(n: u64) {
    let mut fut = pin!(C0.scope(1, Leaf));
    (0..n).for_each(|_| {
        let _ = black_box(poll_once(fut.as_mut()));
    });
}

#[inline(never)]
fn poll8_ctxvar(n: u64) {
    let bindings = C0.bind(0).and(C1.bind(1)).and(C2.bind(2)).and(C3.bind(3));
    let bindings = bindings
        .and(C4.bind(4))
        .and(C5.bind(5))
        .and(C6.bind(6))
        .and(C7.bind(7));
    let mut fut = pin!(bindings.scope(Leaf));
    (0..n).for_each(|_| {
        let _ = black_box(poll_once(fut.as_mut()));
    });
}

#[inline(never)]
fn poll_tokio(n: u64) {
    let mut fut = pin!(T0.scope(1, Leaf));
    (0..n).for_each(|_| {
        let _ = black_box(poll_once(fut.as_mut()));
    });
}

/// A poll of a one-binding scope whose inner future reads the variable once: the
/// first read after a scope is entered (for ctxvar, a cache miss that finds the
/// newest entry of the innermost frame).
#[inline(never)]
fn pollread_ctxvar(n: u64) {
    let mut fut = pin!(C0.scope(
        1,
        ReadLeaf(|| {
            let anchor = Anchor::new();
            Provided::<dyn C0>::assume_bound(&anchor).get()
        })
    ));
    (0..n).for_each(|_| {
        let _ = black_box(poll_once(fut.as_mut()));
    });
}

#[inline(never)]
fn pollread_tokio(n: u64) {
    let mut fut = pin!(T0.scope(1, ReadLeaf(|| T0.get())));
    (0..n).for_each(|_| {
        let _ = black_box(poll_once(fut.as_mut()));
    });
}

#[inline(never)]
fn bind_attribute(n: u64) {
    (0..n).for_each(|_| {
        let _ = black_box(poll_once(pin!(with_attribute(black_box(7)))));
    });
}

#[inline(never)]
fn bind_by_hand(n: u64) {
    (0..n).for_each(|_| {
        let _ = black_box(poll_once(pin!(written_by_hand(black_box(7)))));
    });
}

#[inline(never)]
fn bind_tokio(n: u64) {
    (0..n).for_each(|_| {
        let _ = black_box(poll_once(pin!(T0.scope(black_box(7), async { T0.get() }))));
    });
}
