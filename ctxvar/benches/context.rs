//! Cost of capturing a context (README.md, "Performance"): it must not depend on the
//! values' sizes, and it makes at most one allocation (counted exactly in
//! `tests/tests/allocations.rs`; timed here).
//!
//! `cargo bench -p ctxvar --bench context`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ctxvar::{Context, context_var};

#[context_var]
static SMALL: u64;
#[context_var]
static LARGE: Vec<u8>;
#[context_var]
static V1: u64;
#[context_var]
static V2: u64;
#[context_var]
static V3: u64;
#[context_var]
static V4: u64;
#[context_var]
static V5: u64;
#[context_var]
static V6: u64;
#[context_var]
static V7: u64;

fn capture(c: &mut Criterion) {
    let mut group = c.benchmark_group("capture");
    group.bench_function("nothing bound", |b| {
        b.iter(|| black_box(Context::current()));
    });
    SMALL.sync_scope(1, || {
        group.bench_function("1 var, 8 B value", |b| {
            b.iter(|| black_box(Context::current()));
        });
    });
    LARGE.sync_scope(vec![0; 1 << 20], || {
        group.bench_function("1 var, 1 MiB value", |b| {
            b.iter(|| black_box(Context::current()));
        });
    });
    SMALL
        .bind(0)
        .and(V1.bind(1))
        .and(V2.bind(2))
        .and(V3.bind(3))
        .and(V4.bind(4))
        .and(V5.bind(5))
        .and(V6.bind(6))
        .and(V7.bind(7))
        .sync_scope(|| {
            group.bench_function("8 vars, one frame", |b| {
                b.iter(|| black_box(Context::current()));
            });
        });
    SMALL.sync_scope(0, || {
        V1.sync_scope(1, || {
            V2.sync_scope(2, || {
                V3.sync_scope(3, || {
                    V4.sync_scope(4, || {
                        V5.sync_scope(5, || {
                            V6.sync_scope(6, || {
                                V7.sync_scope(7, || {
                                    group.bench_function("8 vars, 8 nested frames", |b| {
                                        b.iter(|| black_box(Context::current()));
                                    });
                                });
                            });
                        });
                    });
                });
            });
        });
    });
    group.finish();
}

fn enter(c: &mut Criterion) {
    let snapshot = SMALL.sync_scope(1, Context::current);
    c.bench_function("context run + read", |b| {
        b.iter(|| snapshot.run(|| black_box(SMALL.try_get())));
    });
}

criterion_group!(benches, capture, enter);
criterion_main!(benches);
