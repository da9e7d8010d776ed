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

use ctxvar::{Anchor, Scoped};

mod common;
use common::{
    C0, C1, C2, C3, C4, C5, C6, C7, Leaf, T0, poll_once, with_attribute, written_by_hand,
};

const CASES: [&str; 10] = [
    "get-ctxvar",
    "get-tokio",
    "with-ctxvar",
    "with-tokio",
    "poll-ctxvar",
    "poll8-ctxvar",
    "poll-tokio",
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

fn run(case: &str, n: u64) {
    match case {
        "get-ctxvar" => C0.sync_scope(7, || {
            let anchor = Anchor::new();
            let c0 = Scoped::<dyn C0>::assume_bound(&anchor);
            (0..n).for_each(|_| {
                black_box(c0.get());
            });
        }),
        "get-tokio" => T0.sync_scope(7, || {
            (0..n).for_each(|_| {
                black_box(T0.get());
            });
        }),
        "with-ctxvar" => C0.sync_scope(7, || {
            let anchor = Anchor::new();
            let c0 = Scoped::<dyn C0>::assume_bound(&anchor);
            (0..n).for_each(|_| {
                c0.with(|v| black_box(*v));
            });
        }),
        "with-tokio" => T0.sync_scope(7, || {
            (0..n).for_each(|_| {
                T0.with(|v| black_box(*v));
            });
        }),
        "poll-ctxvar" => {
            let mut fut = pin!(C0.scope(1, Leaf));
            (0..n).for_each(|_| {
                let _ = black_box(poll_once(fut.as_mut()));
            });
        }
        "poll8-ctxvar" => {
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
        "poll-tokio" => {
            let mut fut = pin!(T0.scope(1, Leaf));
            (0..n).for_each(|_| {
                let _ = black_box(poll_once(fut.as_mut()));
            });
        }
        "bind-attribute" => (0..n).for_each(|_| {
            let _ = black_box(poll_once(pin!(with_attribute(black_box(7)))));
        }),
        "bind-by-hand" => (0..n).for_each(|_| {
            let _ = black_box(poll_once(pin!(written_by_hand(black_box(7)))));
        }),
        "bind-tokio" => (0..n).for_each(|_| {
            let _ = black_box(poll_once(pin!(T0.scope(black_box(7), async { T0.get() }))));
        }),
        other => panic!("unknown case {other}; the cases are {CASES:?}"),
    }
}
