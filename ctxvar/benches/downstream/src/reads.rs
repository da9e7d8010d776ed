// Reads: `get`, `with` and `try_get` of the innermost binding, a `#[uses_context]`
// helper, and two variables read in turn, each inside one scope.
//
// Included into main.rs, not a module of its own: see there.

#[with_context(C0 = 7)]
#[inline(never)]
fn get_ctxvar(n: u64) {
    for _ in 0..n {
        black_box(C0.get());
    }
}

#[inline(never)]
fn get_tokio(n: u64) {
    T0.sync_scope(7, || {
        for _ in 0..n {
            black_box(T0.get());
        }
    });
}

#[with_context(C0 = 7)]
#[inline(never)]
fn with_ctxvar(n: u64) {
    for _ in 0..n {
        C0.with(|v| black_box(*v));
    }
}

#[inline(never)]
fn with_tokio(n: u64) {
    T0.sync_scope(7, || {
        for _ in 0..n {
            T0.with(|v| black_box(*v));
        }
    });
}

#[inline(never)]
fn try_get_c0() -> Option<u64> {
    C0.try_get().ok()
}

#[inline(never)]
fn try_get_t0() -> Option<u64> {
    T0.try_with(|v| *v).ok()
}

#[inline(never)]
fn try_get_ctxvar(n: u64) {
    C0.sync_scope(7, || {
        for _ in 0..n {
            black_box(try_get_c0());
        }
    });
}

#[inline(never)]
fn try_get_tokio(n: u64) {
    T0.sync_scope(7, || {
        for _ in 0..n {
            black_box(try_get_t0());
        }
    });
}

#[uses_context(C0)]
#[inline(never)]
fn helper_c0() -> u64 {
    C0.get()
}

#[inline(never)]
fn helper_t0() -> u64 {
    T0.get()
}

#[inline(never)]
fn helper_ctxvar(n: u64) {
    C0.sync_scope(7, || {
        for _ in 0..n {
            black_box(helper_c0());
        }
    });
}

#[inline(never)]
fn helper_tokio(n: u64) {
    T0.sync_scope(7, || {
        for _ in 0..n {
            black_box(helper_t0());
        }
    });
}

#[with_context(C0 = 7, C1 = 8)]
#[inline(never)]
fn read2_ctxvar(n: u64) {
    for _ in 0..n {
        black_box(C0.get());
        black_box(C1.get());
    }
}

#[inline(never)]
fn read2_tokio(n: u64) {
    T0.sync_scope(7, || {
        T1.sync_scope(8, || {
            for _ in 0..n {
                black_box(T0.get());
                black_box(T1.get());
            }
        });
    });
}
