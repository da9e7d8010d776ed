//! Small helpers shared by the behaviour tests.

#![allow(dead_code, unreachable_pub)] // each test crate uses a different subset

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that returns `Pending` `n` times (waking itself each time) before `Ready`,
/// so a test controls exactly how many polls a scope sees.
pub struct PendingN {
    left: usize,
}

pub fn pending_n(n: usize) -> PendingN {
    PendingN { left: n }
}

impl Future for PendingN {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.left == 0 {
            Poll::Ready(())
        } else {
            self.left -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Polls `fut` once with a no-op waker.
pub fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(std::task::Waker::noop()))
}

/// Runs `f` and returns the panic message it raised.
pub fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let payload = std::panic::catch_unwind(f).expect_err("expected a panic");
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        panic!("panic payload is not a string")
    }
}

/// Runs the future `make` returns on tokio's current-thread runtime, then on its
/// multi-thread runtime (4 workers): behaviour that must hold on both.
pub fn on_both_runtimes<F: Future<Output = ()>>(make: impl Fn() -> F) {
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    current.block_on(make());
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    multi.block_on(make());
}
