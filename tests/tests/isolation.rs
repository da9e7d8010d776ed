//! Concurrent futures each see their own values: across tasks, threads, and sibling
//! futures polled in one task (crate docs, "Semantics of a poll").

// Tests declare helper fns next to their use, and exercise every receiver and shape
// of function the attributes accept, some of which clippy would rewrite.
#![allow(
    clippy::items_after_statements,
    clippy::unused_async,
    clippy::boxed_local
)]

mod support;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use ctxvar::{context_var, uses_context, with_context};
use ctxvar_tests::nested::ITEM_ID;
use ctxvar_tests::{REQUEST_ID, TENANT};
use support::{pending_n, poll_once};

#[context_var]
static WORKER: u64;

#[uses_context(ITEM_ID, REQUEST_ID, WORKER)]
async fn check_many_times(mismatches: Arc<AtomicUsize>, rounds: u32) {
    let id = ITEM_ID.get();
    // Even tasks bind TENANT in an inner frame; odd tasks never bind it, so any value
    // they see leaked from another task.
    let expected_tenant = if id % 2 == 0 { Ok("even") } else { Err(()) };
    for round in 0..rounds {
        // Every read must see this task's own values, whatever ran in between.
        let expected_request = format!("request-{id}");
        if REQUEST_ID.get() != expected_request
            || WORKER.get() != id * 7
            || TENANT.try_get().map_err(drop) != expected_tenant
        {
            mismatches.fetch_add(1, Ordering::Relaxed);
        }
        if round % 3 == 0 {
            tokio::task::yield_now().await;
        } else {
            pending_n(1).await;
        }
    }
}

#[with_context(ITEM_ID = id, REQUEST_ID = format!("request-{id}"))]
async fn scoped_task(id: u64, mismatches: Arc<AtomicUsize>, rounds: u32) -> u64 {
    // Two more frames inside the first, so reads walk past frames of this task.
    let checked = WORKER.scope(id * 7, async move {
        if id % 2 == 0 {
            TENANT
                .scope("even", check_many_times(mismatches, rounds))
                .await;
        } else {
            check_many_times(mismatches, rounds).await;
        }
    });
    checked.await;
    ITEM_ID.get()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousands_of_tasks_on_the_multi_thread_runtime_never_cross_talk() {
    const TASKS: u64 = 5_000;
    let mismatches = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..TASKS)
        .map(|id| tokio::spawn(scoped_task(id, mismatches.clone(), 50)))
        .collect();
    let mut returned = Vec::with_capacity(handles.len());
    for handle in handles {
        returned.push(handle.await.unwrap());
    }
    assert_eq!(returned, (0..TASKS).collect::<Vec<_>>());
    assert_eq!(
        mismatches.load(Ordering::Relaxed),
        0,
        "cross-talk between tasks"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn thousands_of_tasks_on_the_current_thread_runtime_never_cross_talk() {
    let mismatches = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..2_000)
        .map(|id| tokio::spawn(scoped_task(id, mismatches.clone(), 20)))
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    assert_eq!(
        mismatches.load(Ordering::Relaxed),
        0,
        "cross-talk between tasks"
    );
}

#[tokio::test]
async fn sibling_futures_in_one_task_never_see_each_other() {
    let mismatches = Arc::new(AtomicUsize::new(0));
    let (a, b, c) = tokio::join!(
        scoped_task(1, mismatches.clone(), 30),
        scoped_task(2, mismatches.clone(), 30),
        scoped_task(3, mismatches.clone(), 30),
    );
    assert_eq!((a, b, c), (1, 2, 3));
    assert_eq!(mismatches.load(Ordering::Relaxed), 0);
    assert!(!ITEM_ID.is_bound(), "nothing is left bound in the task");
}

#[with_context(TENANT = name)]
async fn tenant_after_polls(name: &'static str, polls: usize) -> &'static str {
    pending_n(polls).await;
    TENANT.get()
}

#[test]
fn each_poll_installs_and_restores_the_bindings() {
    // Polled by hand: between polls nothing is bound, and the poller's own binding
    // is visible again after each poll returns.
    let mut a = pin!(tenant_after_polls("a", 2));
    let mut b = pin!(tenant_after_polls("b", 1));
    TENANT.sync_scope("poller", || {
        assert_eq!(poll_once(a.as_mut()), Poll::Pending);
        assert_eq!(TENANT.try_get(), Ok("poller"));
        assert_eq!(poll_once(b.as_mut()), Poll::Pending);
        assert_eq!(TENANT.try_get(), Ok("poller"));
        assert_eq!(poll_once(b.as_mut()), Poll::Ready("b"));
        assert_eq!(poll_once(a.as_mut()), Poll::Pending);
        assert_eq!(poll_once(a.as_mut()), Poll::Ready("a"));
        assert_eq!(TENANT.try_get(), Ok("poller"));
    });
    assert!(!TENANT.is_bound());
}

#[uses_context(TENANT)]
async fn reads_the_poller() -> &'static str {
    pending_n(1).await;
    TENANT.get()
}

#[test]
fn a_future_that_binds_nothing_sees_whoever_polls_it() {
    // A future sees the bindings of its poller, at each poll.
    let mut fut = pin!(reads_the_poller());
    TENANT.sync_scope("first poller", || {
        assert_eq!(poll_once(fut.as_mut()), Poll::Pending);
    });
    TENANT.sync_scope("second poller", || {
        assert_eq!(poll_once(fut.as_mut()), Poll::Ready("second poller"));
    });
}

#[test]
fn a_binding_future_layers_its_bindings_over_its_pollers() {
    #[with_context(ITEM_ID = 5)]
    async fn binds_item() -> (u64, &'static str) {
        pending_n(1).await;
        (ITEM_ID.get(), TENANT.try_get().unwrap_or("none"))
    }
    let mut fut = pin!(binds_item());
    TENANT.sync_scope("a", || assert!(poll_once(fut.as_mut()).is_pending()));
    let last = TENANT.sync_scope("b", || poll_once(fut.as_mut()));
    assert_eq!(last, Poll::Ready((5, "b")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_moved_between_threads_keeps_its_binding() {
    #[with_context(ITEM_ID = 11)]
    async fn hops() -> Vec<u64> {
        let mut seen = Vec::new();
        for _ in 0..20 {
            seen.push(ITEM_ID.get());
            // `spawn` + `await` moves the continuation to whichever worker is free.
            tokio::spawn(async {}).await.unwrap();
        }
        seen
    }
    let seen = tokio::spawn(hops()).await.unwrap();
    assert_eq!(seen, vec![11; 20]);
}

#[test]
fn futures_run_under_a_foreign_executor() {
    #[with_context(ITEM_ID = 3)]
    async fn under_futures() -> u64 {
        pending_n(2).await;
        ITEM_ID.get()
    }
    assert_eq!(futures::executor::block_on(under_futures()), 3);
}

/// `Future` is in scope for `poll_once`'s bound.
const _: fn() = || {
    fn assert_future<F: Future>(_: F) {}
    assert_future(reads_the_poller());
};
