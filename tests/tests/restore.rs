//! Bindings are restored on every exit: panic, cancellation; and still set while the
//! inner future is dropped.

// Tests declare helper fns next to their use, and exercise every receiver and shape
// of function the attributes accept, some of which clippy would rewrite.
#![allow(
    clippy::items_after_statements,
    clippy::unused_async,
    clippy::boxed_local
)]

mod support;

use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;

use ctxvar::{uses_context, with_context};
use ctxvar_tests::TENANT;
use ctxvar_tests::nested::ITEM_ID;
use support::{pending_n, poll_once};

#[with_context(ITEM_ID = 1)]
fn panics_sync() {
    panic!("boom {}", ITEM_ID.get());
}

#[test]
fn a_panic_in_a_sync_scope_restores_the_callers_bindings() {
    ITEM_ID.sync_scope(99, || {
        let caught = std::panic::catch_unwind(panics_sync);
        assert!(caught.is_err());
        assert_eq!(ITEM_ID.try_get(), Ok(99));
    });
    assert!(!ITEM_ID.is_bound());
}

#[with_context(ITEM_ID = 1)]
async fn panics_after_a_yield() {
    pending_n(1).await;
    panic!("boom {}", ITEM_ID.get());
}

#[test]
fn a_panic_during_a_poll_restores_the_pollers_bindings() {
    let mut fut = pin!(AssertUnwindSafe(panics_after_a_yield()).catch_unwind());
    TENANT.sync_scope("poller", || {
        assert!(poll_once(fut.as_mut()).is_pending());
        let result = poll_once(fut.as_mut());
        assert!(matches!(result, std::task::Poll::Ready(Err(_))));
        assert_eq!(TENANT.try_get(), Ok("poller"));
        assert!(
            !ITEM_ID.is_bound(),
            "the panicking scope left its binding behind"
        );
    });
}

#[tokio::test]
async fn a_panicking_task_does_not_disturb_the_worker_thread() {
    let handle = tokio::spawn(panics_after_a_yield());
    assert!(handle.await.unwrap_err().is_panic());
    assert!(!ITEM_ID.is_bound());
    #[with_context(ITEM_ID = 2)]
    async fn later() -> u64 {
        ITEM_ID.get()
    }
    assert_eq!(tokio::spawn(later()).await.unwrap(), 2);
}

/// Records the value of `ITEM_ID` seen by its destructor.
struct ReadsOnDrop {
    seen: Arc<Mutex<Vec<Result<u64, ctxvar::AccessError>>>>,
}

impl Drop for ReadsOnDrop {
    fn drop(&mut self) {
        self.seen.lock().unwrap().push(ITEM_ID.try_get());
    }
}

#[with_context(ITEM_ID = 7)]
async fn holds_a_guard(seen: Arc<Mutex<Vec<Result<u64, ctxvar::AccessError>>>>) {
    let _guard = ReadsOnDrop { seen };
    std::future::pending::<()>().await;
}

#[tokio::test]
async fn cancellation_drops_the_body_with_the_value_still_bound() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let timed_out =
        tokio::time::timeout(Duration::from_millis(5), holds_a_guard(seen.clone())).await;
    assert!(timed_out.is_err());
    assert_eq!(
        *seen.lock().unwrap(),
        [Ok(7)],
        "the destructor must see the binding"
    );
    assert!(!ITEM_ID.is_bound(), "and it is gone afterwards");
}

#[tokio::test]
async fn select_cancels_the_losing_branch_cleanly() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    #[with_context(ITEM_ID = 8)]
    async fn wins() -> u64 {
        tokio::task::yield_now().await;
        ITEM_ID.get()
    }
    let winner = tokio::select! {
        v = wins() => v,
        () = holds_a_guard(seen.clone()) => unreachable!(),
    };
    assert_eq!(winner, 8);
    assert_eq!(*seen.lock().unwrap(), [Ok(7)]);
    assert!(!ITEM_ID.is_bound());
}

#[test]
fn dropping_a_scope_that_was_never_polled_still_binds_for_the_drop() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let guard = ReadsOnDrop { seen: seen.clone() };
    let fut = ITEM_ID.scope(5, async move {
        let _guard = guard;
    });
    drop(fut);
    // The guard moved into an async block that never ran is dropped with the block,
    // inside the scope.
    assert_eq!(*seen.lock().unwrap(), [Ok(5)]);
}

#[test]
fn dropping_a_finished_scope_binds_nothing_new() {
    let mut fut = pin!(ITEM_ID.scope(5, async { 1 }));
    assert_eq!(poll_once(fut.as_mut()), std::task::Poll::Ready(1));
    assert!(!ITEM_ID.is_bound());
}

#[test]
fn a_panic_inside_a_with_closure_restores_everything() {
    #[uses_context(ITEM_ID)]
    fn panics_in_with() {
        ITEM_ID.with(|_| TENANT.sync_scope("inner", || panic!("inside with")));
    }
    ITEM_ID.sync_scope(1, || {
        assert!(std::panic::catch_unwind(panics_in_with).is_err());
        assert_eq!(ITEM_ID.try_get(), Ok(1));
        assert!(!TENANT.is_bound());
    });
}

#[test]
fn a_panic_while_evaluating_a_binding_value_binds_nothing() {
    fn explode() -> u64 {
        panic!("value")
    }
    #[with_context(TENANT = "first", ITEM_ID = explode())]
    fn never_runs() {
        unreachable!()
    }
    assert!(std::panic::catch_unwind(never_runs).is_err());
    assert!(!TENANT.is_bound());
    assert!(!ITEM_ID.is_bound());
}

/// Records what `ITEM_ID` reads as when dropped.
struct RecordsItemIdOnDrop(Arc<Mutex<Vec<Option<u64>>>>);

impl Drop for RecordsItemIdOnDrop {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(ITEM_ID.try_get().ok());
    }
}

#[with_context(ITEM_ID = 5)]
async fn uses_its_guard(guard: RecordsItemIdOnDrop, pending: usize) {
    pending_n(pending).await;
    drop(guard);
}

#[with_context(ITEM_ID = 5)]
async fn holds_its_guard(guard: RecordsItemIdOnDrop, pending: usize) {
    let _guard = guard;
    pending_n(pending).await;
}

#[with_context(ITEM_ID = 5)]
async fn never_mentions_its_guard(_guard: RecordsItemIdOnDrop) {}

#[test]
fn a_parameter_the_body_uses_is_dropped_inside_the_bindings() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    // Completed: dropped by the body.
    futures::executor::block_on(uses_its_guard(RecordsItemIdOnDrop(seen.clone()), 1));
    // Completed: dropped at the end of the body, as a local.
    futures::executor::block_on(holds_its_guard(RecordsItemIdOnDrop(seen.clone()), 1));
    // Cancelled after one poll: dropped with the body's future.
    let mut fut = Box::pin(holds_its_guard(RecordsItemIdOnDrop(seen.clone()), 5));
    assert!(poll_once(fut.as_mut()).is_pending());
    drop(fut);
    assert_eq!(*seen.lock().unwrap(), [Some(5), Some(5), Some(5)]);
}

#[test]
fn a_parameter_the_body_never_mentions_is_dropped_after_the_bindings_end() {
    // Documented (README, "What it does not promise"): the body's `async move` block
    // takes only the parameters it uses.
    let seen = Arc::new(Mutex::new(Vec::new()));
    futures::executor::block_on(never_mentions_its_guard(RecordsItemIdOnDrop(seen.clone())));
    assert_eq!(*seen.lock().unwrap(), [None]);
}
