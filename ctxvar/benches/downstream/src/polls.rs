// Polls: a poll that enters scopes and makes the first reads of variables bound some
// scopes out, a poll of a `#[with_context]` future binding 1 or 8 variables, and a
// poll of 16 nested scopes, in one future type or boxed.
//
// Included into main.rs, not a module of its own: see there.

/// A future that is never ready and does nothing but run `read` on each poll.
struct Leaf<R>(R);

impl<R: Fn() -> u64 + Unpin> Future for Leaf<R> {
    type Output = u64;
    #[inline(never)]
    fn poll(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<u64> {
        black_box((self.0)());
        Poll::Pending
    }
}

fn idle() -> u64 {
    0
}

/// Polls `future` `n` times through a pointer the optimiser cannot see through.
#[inline(never)]
fn poll_n(mut future: Pin<Box<dyn Future<Output = u64> + '_>>, n: u64) {
    let mut cx = TaskContext::from_waker(Waker::noop());
    for _ in 0..n {
        let future = black_box(&mut future);
        let _ = black_box(future.as_mut().poll(&mut cx));
    }
}

#[uses_context(C0, C1)]
fn read_c0_c1() -> u64 {
    C0.get() + C1.get()
}

fn read_t0_t1() -> u64 {
    T0.get() + T1.get()
}

/// `future` inside `levels` scopes, each rebinding one more variable.
fn nest_ctxvar(
    levels: usize,
    future: Pin<Box<dyn Future<Output = u64>>>,
) -> Pin<Box<dyn Future<Output = u64>>> {
    (0..levels).fold(future, |inner, level| {
        Box::pin(C2.scope(level as u64, inner))
    })
}

fn nest_tokio(
    levels: usize,
    future: Pin<Box<dyn Future<Output = u64>>>,
) -> Pin<Box<dyn Future<Output = u64>>> {
    (0..levels).fold(future, |inner, level| {
        Box::pin(T2.scope(level as u64, inner))
    })
}

/// A poll entering `distance` scopes, the outermost binding the two variables the
/// innermost future reads; every poll enters anew, so the reads are the poll's first.
fn first_reads_ctxvar(distance: usize, n: u64) {
    let leaf = nest_ctxvar(distance - 1, Box::pin(Leaf(read_c0_c1)));
    poll_n(Box::pin(C0.bind(1).and(C1.bind(2)).scope(leaf)), n);
}

fn first_reads_tokio(distance: usize, n: u64) {
    let leaf = nest_tokio(distance - 1, Box::pin(Leaf(read_t0_t1)));
    poll_n(Box::pin(T0.scope(1, T1.scope(2, leaf))), n);
}

#[inline(never)]
fn first1_ctxvar(n: u64) {
    first_reads_ctxvar(1, n);
}
#[inline(never)]
fn first1_tokio(n: u64) {
    first_reads_tokio(1, n);
}
#[inline(never)]
fn first4_ctxvar(n: u64) {
    first_reads_ctxvar(4, n);
}
#[inline(never)]
fn first4_tokio(n: u64) {
    first_reads_tokio(4, n);
}
#[inline(never)]
fn first8_ctxvar(n: u64) {
    first_reads_ctxvar(8, n);
}
#[inline(never)]
fn first8_tokio(n: u64) {
    first_reads_tokio(8, n);
}

#[with_context(C0 = 1)]
async fn bind1() -> u64 {
    Leaf(idle).await
}

#[with_context(C0 = 1, C1 = 2, C2 = 3, C3 = 4, C4 = 5, C5 = 6, C6 = 7, C7 = 8)]
async fn bind8() -> u64 {
    Leaf(idle).await
}

#[inline(never)]
fn poll1_ctxvar(n: u64) {
    poll_n(Box::pin(bind1()), n);
}

#[inline(never)]
fn poll1_tokio(n: u64) {
    poll_n(Box::pin(T0.scope(1, Leaf(idle))), n);
}

#[inline(never)]
fn poll8_ctxvar(n: u64) {
    poll_n(Box::pin(bind8()), n);
}

/// 16 scopes nested in one future type, each polling the next directly.
macro_rules! nest16 {
    ($var:ident, $leaf:expr) => {
        $var.scope(
            1,
            $var.scope(
                2,
                $var.scope(
                    3,
                    $var.scope(
                        4,
                        $var.scope(
                            5,
                            $var.scope(
                                6,
                                $var.scope(
                                    7,
                                    $var.scope(
                                        8,
                                        $var.scope(
                                            9,
                                            $var.scope(
                                                10,
                                                $var.scope(
                                                    11,
                                                    $var.scope(
                                                        12,
                                                        $var.scope(
                                                            13,
                                                            $var.scope(
                                                                14,
                                                                $var.scope(
                                                                    15,
                                                                    $var.scope(16, $leaf),
                                                                ),
                                                            ),
                                                        ),
                                                    ),
                                                ),
                                            ),
                                        ),
                                    ),
                                ),
                            ),
                        ),
                    ),
                ),
            ),
        )
    };
}

#[inline(never)]
fn depth16_ctxvar(n: u64) {
    poll_n(Box::pin(nest16!(C2, Leaf(idle))), n);
}

#[inline(never)]
fn depth16_tokio(n: u64) {
    poll_n(Box::pin(nest16!(T2, Leaf(idle))), n);
}

#[inline(never)]
fn depth16_boxed_ctxvar(n: u64) {
    poll_n(nest_ctxvar(16, Box::pin(Leaf(idle))), n);
}

#[inline(never)]
fn depth16_boxed_tokio(n: u64) {
    poll_n(nest_tokio(16, Box::pin(Leaf(idle))), n);
}
