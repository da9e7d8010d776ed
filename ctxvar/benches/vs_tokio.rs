//! ctxvar side by side with `tokio::task_local!`, in one run (the budgets are in
//! README.md, "Performance").
//!
//! Every group holds a `ctxvar` member and its `tokio` counterpart doing the same
//! work; `ctxvar/benches/report.py` turns the results into the ratio table and the
//! nesting plot in README.md.
//!
//! ```sh
//! cargo bench -p ctxvar --features tracing --bench vs_tokio  # full run (a few minutes)
//! python3 ctxvar/benches/report.py                          # ratios into README.md, plot
//! cargo test -p ctxvar --features tracing --benches         # quick mode: each benchmark once
//! ```
//!
//! Polls are of a stack of scopes around a leaf future that is never ready and whose
//! `poll` is not inlined, so each iteration is one poll of the whole stack, with
//! nothing optimised away; a waker that does nothing keeps the executor out of it.

// The nesting macros and task-local declarations are many lines of one shape, and
// the scopes around each benchmark are closures nested several deep.
#![allow(clippy::too_many_lines, clippy::semicolon_if_nothing_returned)]

use std::hint::black_box;
use std::pin::pin;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ctxvar::{Anchor, Context, Provided, context_var};

mod common;
use common::{
    C0, C1, C2, C3, C4, C5, C6, C7, Leaf, ReadLeaf, T0, T1, T2, T3, T4, T5, T6, T7, poll_once,
    tokio_scope, with_attribute, written_by_hand,
};

#[context_var]
static S0: String;

tokio::task_local! {
    static TS: String;
}

/// `depth` nested rebindings of one variable around `fut`: one token per level.
macro_rules! nest_ctxvar {
    ($fut:expr;) => { $fut };
    ($fut:expr; $_level:tt $($rest:tt)*) => { C0.scope(1, nest_ctxvar!($fut; $($rest)*)) };
}
macro_rules! nest_tokio {
    ($fut:expr;) => { $fut };
    ($fut:expr; $_level:tt $($rest:tt)*) => { T0.scope(1, nest_tokio!($fut; $($rest)*)) };
}

/// Benchmarks one poll of `$fut`, a future built once and pinned.
macro_rules! bench_poll {
    ($group:expr, $id:expr, $fut:expr) => {{
        let mut fut = pin!($fut);
        $group.bench_function($id, |b| b.iter(|| black_box(poll_once(fut.as_mut()))));
    }};
}

fn reads(c: &mut Criterion) {
    // The same variable read again and again, as code that logs several lines in one
    // poll does: after the first, ctxvar's reads hit the variable's read cache.
    let mut group = c.benchmark_group("read innermost get");
    C0.sync_scope(7, || {
        let anchor = Anchor::new();
        let c0 = Provided::<dyn C0>::assume_bound(&anchor);
        group.bench_function("ctxvar", |b| b.iter(|| black_box(c0.get())));
    });
    T0.sync_scope(7, || {
        group.bench_function("tokio", |b| b.iter(|| black_box(T0.get())))
    });
    group.finish();

    let mut group = c.benchmark_group("read innermost with");
    C0.sync_scope(7, || {
        let anchor = Anchor::new();
        let c0 = Provided::<dyn C0>::assume_bound(&anchor);
        group.bench_function("ctxvar", |b| b.iter(|| c0.with(|v| black_box(*v))));
    });
    T0.sync_scope(7, || {
        group.bench_function("tokio", |b| b.iter(|| T0.with(|v| black_box(*v))))
    });
    group.finish();

    // Two variables read in turn: each has its own read cache, so both hit.
    let mut group = c.benchmark_group("read innermost, 2 vars in turn");
    C0.bind(7).and(C1.bind(8)).sync_scope(|| {
        let anchor = Anchor::new();
        let (c0, c1) = (
            Provided::<dyn C0>::assume_bound(&anchor),
            Provided::<dyn C1>::assume_bound(&anchor),
        );
        group.bench_function("ctxvar", |b| {
            b.iter(|| (black_box(c0.get()), black_box(c1.get())))
        });
    });
    T0.sync_scope(7, || {
        T1.sync_scope(8, || {
            group.bench_function("tokio", |b| {
                b.iter(|| (black_box(T0.get()), black_box(T1.get())))
            });
        })
    });
    group.finish();

    // ctxvar's worst case for reads: every poll enters a scope, which forgets every
    // read cache, so the first read of each variable in the poll walks the chain out
    // to the binding call that bound it, `depth` calls out. Tokio's reads cost the
    // same at any distance (it pays for distance on every poll instead; see the
    // nesting group). One poll of a one-binding scope whose leaf reads both variables.
    let mut group = c.benchmark_group("poll + first reads of 2 vars bound further out");
    for depth in [1, 4, 8] {
        C0.bind(7).and(C1.bind(8)).sync_scope(|| {
            nest_sync_ctxvar(depth - 1, &mut || {
                let mut fut = pin!(C7.scope(1, ReadLeaf(read_c0_c1)));
                group.bench_function(BenchmarkId::new("ctxvar", depth), |b| {
                    b.iter(|| black_box(poll_once(fut.as_mut())))
                });
            })
        });
        T0.sync_scope(7, || {
            T1.sync_scope(8, || {
                nest_sync_tokio(depth - 1, &mut || {
                    let mut fut = pin!(T7.scope(1, ReadLeaf(|| T0.get() + T1.get())));
                    group.bench_function(BenchmarkId::new("tokio", depth), |b| {
                        b.iter(|| black_box(poll_once(fut.as_mut())))
                    });
                })
            })
        });
    }
    group.finish();
}

/// Reads `C0` and `C1`, which the caller has bound.
fn read_c0_c1() -> u64 {
    let anchor = Anchor::new();
    Provided::<dyn C0>::assume_bound(&anchor).get()
        + Provided::<dyn C1>::assume_bound(&anchor).get()
}

/// Runs `f` inside `levels` more binding calls (of `C2`).
fn nest_sync_ctxvar(levels: usize, f: &mut dyn FnMut()) {
    match levels {
        0 => f(),
        _ => C2.sync_scope(2, || nest_sync_ctxvar(levels - 1, f)),
    }
}

/// Runs `f` inside `levels` more tokio scopes (of `T2`).
fn nest_sync_tokio(levels: usize, f: &mut dyn FnMut()) {
    match levels {
        0 => f(),
        _ => T2.sync_scope(2, || nest_sync_tokio(levels - 1, f)),
    }
}

fn polls(c: &mut Criterion) {
    let mut group = c.benchmark_group("poll, 1 binding");
    bench_poll!(group, "bare leaf", Leaf);
    bench_poll!(group, "ctxvar", C0.scope(1, Leaf));
    bench_poll!(group, "tokio", T0.scope(1, Leaf));
    group.finish();

    // ctxvar binds 8 variables in one frame (one `#[with_context]`); tokio needs one
    // scope per variable.
    let mut group = c.benchmark_group("poll, 8 bindings");
    bench_poll!(
        group,
        "ctxvar",
        C0.bind(0)
            .and(C1.bind(1))
            .and(C2.bind(2))
            .and(C3.bind(3))
            .and(C4.bind(4))
            .and(C5.bind(5))
            .and(C6.bind(6))
            .and(C7.bind(7))
            .scope(Leaf)
    );
    bench_poll!(
        group,
        "tokio",
        T0.scope(
            0,
            T1.scope(
                1,
                T2.scope(
                    2,
                    T3.scope(3, T4.scope(4, T5.scope(5, T6.scope(6, T7.scope(7, Leaf)))))
                )
            )
        )
    );
    group.finish();

    // One level per nested `#[with_context]` of the same variable.
    let mut group = c.benchmark_group("poll, nesting depth");
    bench_poll!(group, BenchmarkId::new("ctxvar", 1), nest_ctxvar!(Leaf; x));
    bench_poll!(group, BenchmarkId::new("tokio", 1), nest_tokio!(Leaf; x));
    bench_poll!(
        group,
        BenchmarkId::new("ctxvar", 4),
        nest_ctxvar!(Leaf; x x x x)
    );
    bench_poll!(
        group,
        BenchmarkId::new("tokio", 4),
        nest_tokio!(Leaf; x x x x)
    );
    bench_poll!(
        group,
        BenchmarkId::new("ctxvar", 16),
        nest_ctxvar!(Leaf; x x x x x x x x x x x x x x x x)
    );
    bench_poll!(
        group,
        BenchmarkId::new("tokio", 16),
        nest_tokio!(Leaf; x x x x x x x x x x x x x x x x)
    );
    group.finish();
}

fn binding(c: &mut Criterion) {
    // Create, bind, poll to completion, drop: the whole life of one binding call.
    let mut group = c.benchmark_group("bind + run to completion");
    group.bench_function("ctxvar #[with_context]", |b| {
        b.iter(|| black_box(poll_once(pin!(with_attribute(black_box(7))))));
    });
    group.bench_function("ctxvar by hand", |b| {
        b.iter(|| black_box(poll_once(pin!(written_by_hand(black_box(7))))));
    });
    group.bench_function("tokio", |b| {
        b.iter(|| black_box(poll_once(pin!(tokio_scope(black_box(7))))));
    });
    group.finish();
}

/// A variable shown on `tracing` events (feature `tracing`, on for the benchmarks).
#[context_var(trace)]
static TRACED: u64;

fn tracing_cost(c: &mut Criterion) {
    // The cost of `#[context_var(trace)]` for one binding's whole life, with a
    // subscriber installed (tracing-subscriber's registry, no output), next
    // to the same binding of an untraced variable and tokio's scope.
    let _default = tracing::subscriber::set_default(tracing_subscriber::registry());
    let mut group = c.benchmark_group("bind + run to completion, tracing");
    group.bench_function("ctxvar untraced", |b| {
        b.iter(|| black_box(poll_once(pin!(C0.scope(black_box(7), Leaf)))));
    });
    group.bench_function("ctxvar traced", |b| {
        b.iter(|| black_box(poll_once(pin!(TRACED.scope(black_box(7), Leaf)))));
    });
    group.bench_function("tokio", |b| {
        b.iter(|| black_box(poll_once(pin!(tokio_scope(black_box(7))))));
    });
    group.finish();
}

fn propagation(c: &mut Criterion) {
    // Carry the current bindings into new work and poll it once: ctxvar captures a
    // Context; tokio reads each value and re-scopes by hand.
    let mut group = c.benchmark_group("capture + scope, 1 variable");
    C0.sync_scope(7, || {
        group.bench_function("ctxvar", |b| {
            b.iter(|| black_box(poll_once(pin!(Context::current().scope(Leaf)))));
        });
    });
    T0.sync_scope(7, || {
        group.bench_function("tokio", |b| {
            b.iter(|| black_box(poll_once(pin!(T0.scope(T0.get(), Leaf)))));
        });
    });
    group.finish();

    // A value tokio must clone to re-scope it; ctxvar shares it.
    let mut group = c.benchmark_group("capture + scope, 1 KiB String");
    S0.sync_scope("x".repeat(1024), || {
        group.bench_function("ctxvar", |b| {
            b.iter(|| black_box(poll_once(pin!(Context::current().scope(Leaf)))));
        });
    });
    TS.sync_scope("x".repeat(1024), || {
        group.bench_function("tokio", |b| {
            b.iter(|| black_box(poll_once(pin!(TS.scope(TS.get(), Leaf)))));
        });
    });
    group.finish();

    let mut group = c.benchmark_group("capture + scope, 8 variables");
    C0.bind(0)
        .and(C1.bind(1))
        .and(C2.bind(2))
        .and(C3.bind(3))
        .and(C4.bind(4))
        .and(C5.bind(5))
        .and(C6.bind(6))
        .and(C7.bind(7))
        .sync_scope(|| {
            group.bench_function("ctxvar", |b| {
                b.iter(|| black_box(poll_once(pin!(Context::current().scope(Leaf)))));
            });
        });
    T0.sync_scope(0, || {
        T1.sync_scope(1, || {
            T2.sync_scope(2, || {
                T3.sync_scope(3, || {
                    T4.sync_scope(4, || {
                        T5.sync_scope(5, || {
                            T6.sync_scope(6, || {
                                T7.sync_scope(7, || {
                                    group.bench_function("tokio", |b| {
                                        b.iter(|| {
                                            let fut = T0.scope(
                                                T0.get(),
                                                T1.scope(
                                                    T1.get(),
                                                    T2.scope(
                                                        T2.get(),
                                                        T3.scope(
                                                            T3.get(),
                                                            T4.scope(
                                                                T4.get(),
                                                                T5.scope(
                                                                    T5.get(),
                                                                    T6.scope(
                                                                        T6.get(),
                                                                        T7.scope(T7.get(), Leaf),
                                                                    ),
                                                                ),
                                                            ),
                                                        ),
                                                    ),
                                                ),
                                            );
                                            black_box(poll_once(pin!(fut)))
                                        });
                                    });
                                })
                            })
                        })
                    });
                })
            })
        })
    });
    group.finish();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("spawn + join, 1 variable");
    C0.sync_scope(7, || {
        group.bench_function("ctxvar", |b| {
            b.iter(|| {
                runtime.block_on(async { ctxvar::spawn(async { C0.try_get() }).await.unwrap() })
            });
        });
    });
    T0.sync_scope(7, || {
        group.bench_function("tokio", |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let value = T0.get();
                    tokio::spawn(T0.scope(value, async { T0.try_get() }))
                        .await
                        .unwrap()
                })
            });
        });
    });
    group.finish();
}

criterion_group!(benches, reads, polls, binding, tracing_cost, propagation);
criterion_main!(benches);
