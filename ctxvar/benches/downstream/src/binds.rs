// Captures and binds: `Context::current()` and running work in it, and a binding
// made and run to completion, traced or not.
//
// Included into main.rs, not a module of its own: see there.

#[inline(never)]
fn capture_ctxvar(n: u64) {
    C0.sync_scope(7, || {
        for _ in 0..n {
            let context = black_box(Context::current());
            black_box(context.run(try_get_c0));
        }
    });
}

#[inline(never)]
fn capture_tokio(n: u64) {
    T0.sync_scope(7, || {
        for _ in 0..n {
            let value = black_box(T0.get());
            black_box(T0.sync_scope(value, try_get_t0));
        }
    });
}

/// Polls a future that completes on its first poll.
fn run_to_completion<F: Future>(future: F) -> F::Output {
    let mut cx = TaskContext::from_waker(Waker::noop());
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the case's future completes at once"),
    }
}

#[with_context(C0 = value)]
async fn bound(value: u64) -> u64 {
    C0.get()
}

#[with_context(TRACED = value)]
async fn traced(value: u64) -> u64 {
    TRACED.get()
}

#[inline(never)]
fn bind_ctxvar(n: u64) {
    for i in 0..n {
        black_box(run_to_completion(bound(black_box(i))));
    }
}

#[inline(never)]
fn bind_tokio(n: u64) {
    for i in 0..n {
        black_box(run_to_completion(
            T0.scope(black_box(i), async { T0.get() }),
        ));
    }
}

#[inline(never)]
fn traced_ctxvar(n: u64) {
    for i in 0..n {
        black_box(run_to_completion(traced(black_box(i))));
    }
}
