//! Work that carries the context reads the function's variables: an `async` block
//! followed by `.in_current_context()` inside an annotated function gets evidence of
//! its own, and sees the bindings of the place where `.in_current_context()` was
//! called, wherever it is spawned or polled later. Every test runs on tokio's
//! current-thread runtime and on its multi-thread runtime.

// Tests declare helper fns next to their use.
#![allow(clippy::items_after_statements)]

use std::future::Future;

use ctxvar::{ContextFutureExt, uses_context, with_context};
use ctxvar_tests::nested::ITEM_ID;
use ctxvar_tests::{REQUEST_ID, TENANT};

mod support;
use support::on_both_runtimes;

#[with_context(ITEM_ID = id)]
async fn on_a_join_set(id: u64) -> Vec<u64> {
    let mut set = tokio::task::JoinSet::new();
    for offset in 0..3 {
        set.spawn(
            async move {
                tokio::task::yield_now().await;
                ITEM_ID.get() * 10 + offset
            }
            .in_current_context(),
        );
    }
    let mut seen = set.join_all().await;
    seen.sort_unstable();
    seen
}

#[test]
fn join_set_tasks_see_the_value_of_the_call_that_spawned_them() {
    on_both_runtimes(|| async {
        let handles: Vec<_> = (0..50).map(|id| tokio::spawn(on_a_join_set(id))).collect();
        for (id, handle) in (0..).zip(handles) {
            assert_eq!(handle.await.unwrap(), [id * 10, id * 10 + 1, id * 10 + 2]);
        }
    });
}

#[with_context(ITEM_ID = id)]
async fn built_now_spawned_later(id: u64) -> (u64, u64) {
    let job = async move { ITEM_ID.get() }.in_current_context();
    // Spawned inside a rebinding: the job keeps what was bound when it was built.
    ITEM_ID
        .scope(id + 100, async move {
            let rebound = ITEM_ID.try_get().unwrap();
            (tokio::spawn(job).await.unwrap(), rebound)
        })
        .await
}

#[test]
fn a_rebinding_after_the_capture_is_not_seen() {
    on_both_runtimes(|| async {
        assert_eq!(built_now_spawned_later(7).await, (7, 107));
    });
}

#[uses_context(TENANT)]
async fn through_a_runtime_handle() -> &'static str {
    let handle = tokio::runtime::Handle::current();
    handle
        .spawn(async move { TENANT.with(|tenant| *tenant) }.in_current_context())
        .await
        .unwrap()
}

#[test]
fn a_block_spawned_through_a_runtime_handle_sees_the_callers_binding() {
    on_both_runtimes(|| async {
        assert_eq!(
            TENANT.scope("acme", through_a_runtime_handle()).await,
            "acme"
        );
    });
}

#[with_context(REQUEST_ID = format!("req-{n}"))]
async fn by_path(n: u32) -> String {
    tokio::spawn(ctxvar::ContextFutureExt::in_current_context(async move {
        REQUEST_ID.get()
    }))
    .await
    .unwrap()
}

#[test]
fn the_fully_qualified_call_carries_the_context_too() {
    on_both_runtimes(|| async {
        assert_eq!(by_path(4).await, "req-4");
    });
}

#[with_context(ITEM_ID = id)]
fn returned(id: u64) -> impl Future<Output = u64> + Send + 'static {
    async move { ITEM_ID.get() }.in_current_context()
}

#[test]
fn a_returned_future_keeps_the_binding_it_was_built_in() {
    on_both_runtimes(|| async {
        // Built by a plain fn whose binding has ended by the time it is polled, then
        // polled on another task, and inside another binding.
        let future = returned(7);
        assert!(!ITEM_ID.is_bound());
        assert_eq!(tokio::spawn(future).await.unwrap(), 7);
        assert_eq!(ITEM_ID.scope(99, returned(8)).await, 8);
    });
}

/// The spawn helpers called by the names they were imported under.
#[cfg(feature = "tokio")]
mod imported_helpers {
    use super::on_both_runtimes;
    use ctxvar::{spawn, spawn_blocking, spawn_local, thread, uses_context, with_context};
    use ctxvar_tests::TENANT;
    use ctxvar_tests::nested::ITEM_ID;

    #[with_context(ITEM_ID = id)]
    async fn each_helper(id: u64) -> [u64; 3] {
        let task = spawn(async move {
            tokio::task::yield_now().await;
            ITEM_ID.get()
        });
        let blocking = spawn_blocking(move || ITEM_ID.get() + 1);
        let thread = thread::spawn(move || ITEM_ID.with(|id| id + 2));
        [
            task.await.unwrap(),
            blocking.await.unwrap(),
            thread.join().unwrap(),
        ]
    }

    #[test]
    fn concurrent_calls_see_their_own_values() {
        on_both_runtimes(|| async {
            let handles: Vec<_> = (0..40).map(|id| tokio::spawn(each_helper(id))).collect();
            for (id, handle) in (0..).zip(handles) {
                assert_eq!(handle.await.unwrap(), [id, id + 1, id + 2]);
            }
        });
    }

    #[with_context(ITEM_ID = id)]
    async fn on_a_local_set(id: u64) -> u64 {
        spawn_local(async move { ITEM_ID.get() }).await.unwrap()
    }

    #[test]
    fn spawn_local_by_its_name() {
        on_both_runtimes(|| async {
            let local = tokio::task::LocalSet::new();
            assert_eq!(local.run_until(on_a_local_set(5)).await, 5);
        });
    }

    // Both attributes rewrite the call; the second sees the first's check.
    #[with_context(ITEM_ID = id)]
    #[uses_context(TENANT)]
    async fn stacked(id: u64) -> (u64, &'static str) {
        spawn(async move { (ITEM_ID.get(), TENANT.get()) })
            .await
            .unwrap()
    }

    #[test]
    fn under_both_attributes() {
        on_both_runtimes(|| async {
            assert_eq!(TENANT.scope("acme", stacked(3)).await, (3, "acme"));
        });
    }
}

#[with_context(ITEM_ID = id)]
async fn on_a_task_tracker(id: u64) -> u64 {
    let tracker = tokio_util::task::TaskTracker::new();
    let task = tracker.spawn(async move { ITEM_ID.get() }.in_current_context());
    tracker.close();
    tracker.wait().await;
    task.await.unwrap()
}

#[test]
fn task_tracker_tasks_see_the_value_of_the_call_that_spawned_them() {
    on_both_runtimes(|| async {
        let handles: Vec<_> = (0..20)
            .map(|id| tokio::spawn(on_a_task_tracker(id)))
            .collect();
        for (id, handle) in (0..).zip(handles) {
            assert_eq!(handle.await.unwrap(), id);
        }
    });
}
