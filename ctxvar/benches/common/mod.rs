//! What the benchmark programs share: a leaf future, a poll helper, the variables and
//! task-locals they bind, and the attribute-vs-hand-written pair.

// Each benchmark program uses a different subset.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, Waker};

use ctxvar::{Anchor, Provided, context_var, with_context};

/// A future that is never ready; its poll is a real call that the optimiser must
/// assume reads and writes memory (as real futures do). Without the `black_box`,
/// LLVM infers that it touches nothing and deletes the work a scope does around it.
pub struct Leaf;

impl Future for Leaf {
    type Output = u64;
    #[inline(never)]
    fn poll(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<u64> {
        std::hint::black_box(());
        Poll::Pending
    }
}

/// Like [`Leaf`], but each poll first reads a variable with the closure (through
/// `black_box`, so the read is not deleted).
pub struct ReadLeaf<R>(pub R);

impl<R: Fn() -> u64> Future for ReadLeaf<R> {
    type Output = u64;
    #[inline(never)]
    fn poll(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<u64> {
        std::hint::black_box((self.0)());
        Poll::Pending
    }
}

/// Polls `fut` once with a waker that does nothing. Always inlined, as it was when
/// each benchmark program defined it: the counts are of the poll, not of this call.
#[inline(always)]
#[allow(clippy::inline_always)]
pub fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut TaskContext::from_waker(Waker::noop()))
}

#[context_var]
pub static C0: u64;
#[context_var]
pub static C1: u64;
#[context_var]
pub static C2: u64;
#[context_var]
pub static C3: u64;
#[context_var]
pub static C4: u64;
#[context_var]
pub static C5: u64;
#[context_var]
pub static C6: u64;
#[context_var]
pub static C7: u64;

tokio::task_local! {
    pub static T0: u64;
    pub static T1: u64;
    pub static T2: u64;
    pub static T3: u64;
    pub static T4: u64;
    pub static T5: u64;
    pub static T6: u64;
    pub static T7: u64;
}

#[with_context(C0 = value)]
pub async fn with_attribute(value: u64) -> u64 {
    C0.get()
}

/// What `with_attribute` expands to, written by hand as the macro's documentation
/// shows it.
pub async fn written_by_hand(value: u64) -> u64 {
    let bindings = C0.bind(value);
    let anchor = Anchor::new();
    #[allow(non_snake_case)]
    let C0 = Provided::<dyn C0>::assume_bound(&anchor);
    bindings.scope(async move { C0.get() }).await
}

/// The tokio equivalent: one scope around a read.
pub async fn tokio_scope(value: u64) -> u64 {
    T0.scope(value, async { T0.get() }).await
}
