//! Carrying context across tasks, threads and streams (crate docs, "Carrying context
//! into tasks and threads").

// Tests declare helper fns next to their use, and exercise every receiver and shape
// of function the attributes accept, some of which clippy would rewrite.
#![allow(
    clippy::items_after_statements,
    clippy::unused_async,
    clippy::boxed_local
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ctxvar::{Context, ContextFutureExt, context_var, with_context};
use ctxvar_tests::nested::ITEM_ID;
use ctxvar_tests::{REQUEST_ID, TENANT};
use futures::StreamExt;

/// A per-request transaction: must never follow work into other tasks.
#[context_var(inherit = false)]
static TRANSACTION: u32;

#[cfg(feature = "tokio")]
mod spawn_helpers {
    use super::*;
    use ctxvar::uses_context;

    #[uses_context(REQUEST_ID)]
    async fn read_request_id() -> String {
        tokio::task::yield_now().await;
        REQUEST_ID.get()
    }

    #[with_context(REQUEST_ID = format!("req-{n}"), TRANSACTION = n)]
    async fn handler(n: u32) -> (String, bool) {
        assert_eq!(TRANSACTION.get(), n);
        ctxvar::spawn(child()).await.unwrap()
    }

    async fn child() -> (String, bool) {
        (read_request_id().await, TRANSACTION.try_get().is_ok())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_spawned_task_reads_the_parents_values_but_not_inherit_false_ones() {
        let handles: Vec<_> = (0..200).map(|n| tokio::spawn(handler(n))).collect();
        for (n, handle) in handles.into_iter().enumerate() {
            let (id, saw_transaction) = handle.await.unwrap();
            assert_eq!(id, format!("req-{n}"));
            assert!(
                !saw_transaction,
                "an inherit = false variable was carried into a task"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rebinding_after_the_spawn_does_not_reach_the_child() {
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let child = REQUEST_ID.sync_scope("parent".into(), || {
            ctxvar::spawn(async move {
                go_rx.await.unwrap();
                REQUEST_ID.try_get()
            })
        });
        // The parent binds something else, then lets the child read.
        REQUEST_ID
            .scope("rebound".into(), async move { go_tx.send(()).unwrap() })
            .await;
        assert_eq!(child.await.unwrap().as_deref(), Ok("parent"));
    }

    #[tokio::test]
    async fn nothing_a_child_binds_is_visible_to_the_parent() {
        #[with_context(ITEM_ID = 1)]
        async fn parent() -> (u64, u64) {
            let from_child = ctxvar::spawn(child_binds()).await.unwrap();
            (from_child, ITEM_ID.get())
        }
        #[with_context(ITEM_ID = 2)]
        async fn child_binds() -> u64 {
            ITEM_ID.get()
        }
        assert_eq!(parent().await, (2, 1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spawn_blocking_runs_in_the_parents_context() {
        #[uses_context(TENANT)]
        fn blocking_work() -> &'static str {
            TENANT.get()
        }
        let seen = TENANT.sync_scope("acme", || ctxvar::spawn_blocking(blocking_work));
        assert_eq!(seen.await.unwrap(), "acme");
    }

    #[tokio::test]
    async fn spawn_local_runs_in_the_parents_context() {
        let local = tokio::task::LocalSet::new();
        let seen = local
            .run_until(TENANT.scope("local", async {
                ctxvar::spawn_local(async { TENANT.try_get() })
                    .await
                    .unwrap()
            }))
            .await;
        assert_eq!(seen, Ok("local"));
    }

    #[with_context(REQUEST_ID = format!("req-{n}"), ITEM_ID = u64::from(n))]
    async fn spawns_blocks(n: u32) -> (String, u64, String, &'static str) {
        // Blocks and closures given to the ctxvar helpers read the variables directly:
        // the attribute gives them evidence of their own (the task carries the context).
        let task = ctxvar::spawn(async move {
            tokio::task::yield_now().await;
            REQUEST_ID.get()
        });
        let blocking = ctxvar::spawn_blocking(move || ITEM_ID.get() * 10);
        let thread = ctxvar::thread::spawn(move || REQUEST_ID.with(Clone::clone));
        let untouched = ctxvar::spawn(async { "no variable mentioned" });
        (
            task.await.unwrap(),
            blocking.await.unwrap(),
            thread.join().unwrap(),
            untouched.await.unwrap(),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_blocks_and_closures_passed_to_the_helpers_read_variables() {
        let (task, blocking, thread, untouched) = spawns_blocks(3).await;
        assert_eq!(task, "req-3");
        assert_eq!(blocking, 30);
        assert_eq!(thread, "req-3");
        assert_eq!(untouched, "no variable mentioned");
    }

    #[uses_context(TENANT)]
    async fn requires_then_spawns() -> &'static str {
        ctxvar::spawn(async move { TENANT.get() }).await.unwrap()
    }

    #[tokio::test]
    async fn uses_context_functions_may_spawn_blocks_too() {
        assert_eq!(TENANT.scope("acme", requires_then_spawns()).await, "acme");
    }

    #[tokio::test]
    async fn a_plain_tokio_spawn_inherits_nothing() {
        let seen = TENANT
            .scope("acme", async {
                tokio::spawn(async { TENANT.try_get() }).await.unwrap()
            })
            .await;
        assert!(seen.is_err());
    }

    /// Sends what `TENANT` reads as when dropped.
    struct ReportsTenantOnDrop(std::sync::mpsc::Sender<Option<&'static str>>);

    impl Drop for ReportsTenantOnDrop {
        fn drop(&mut self) {
            let _ = self.0.send(TENANT.try_get().ok());
        }
    }

    #[test]
    fn a_blocking_closure_aborted_before_it_ran_is_dropped_in_its_context() {
        use std::sync::mpsc::channel;
        use std::time::Duration;

        // One blocking thread, kept busy, so the closure under test stays queued.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(1)
            .build()
            .unwrap();
        let _in_runtime = runtime.enter();
        let (release, wait) = channel::<()>();
        let (started, has_started) = channel::<()>();
        let _busy = tokio::task::spawn_blocking(move || {
            started.send(()).unwrap();
            let _ = wait.recv();
        });
        has_started.recv().unwrap();
        let (report, reports) = channel();
        let guard = ReportsTenantOnDrop(report);
        let queued = TENANT.sync_scope("acme", || {
            ctxvar::spawn_blocking(move || {
                drop(guard);
                panic!("the queued closure must not run: it was aborted first");
            })
        });
        // Aborted while queued: the pool thread that dequeues it drops the closure
        // instead of running it, on a thread with nothing bound.
        queued.abort();
        release.send(()).unwrap();
        let seen = reports.recv_timeout(Duration::from_secs(10));
        assert_eq!(
            seen,
            Ok(Some("acme")),
            "the closure's captures saw its context"
        );
        assert!(runtime.block_on(queued).unwrap_err().is_cancelled());
    }
}

#[test]
fn a_thread_spawned_with_the_helper_runs_in_the_context() {
    let handle = TENANT.sync_scope("acme", || {
        ctxvar::thread::spawn(|| (TENANT.try_get(), TRANSACTION.try_get().is_ok()))
    });
    assert_eq!(handle.join().unwrap(), (Ok("acme"), false));
}

#[test]
fn run_sees_exactly_the_snapshot_and_restores_the_callers_bindings() {
    let snapshot = TENANT.sync_scope("captured", Context::current);
    ITEM_ID.sync_scope(5, || {
        TENANT.sync_scope("caller", || {
            let inside = snapshot.run(|| (TENANT.try_get(), ITEM_ID.try_get().is_ok()));
            // The caller's ITEM_ID is not in the snapshot, so it is not visible.
            assert_eq!(inside, (Ok("captured"), false));
            assert_eq!(TENANT.try_get(), Ok("caller"));
            assert_eq!(ITEM_ID.try_get(), Ok(5));
        });
    });
}

#[test]
fn bindings_made_inside_a_context_stay_inside() {
    let snapshot = TENANT.sync_scope("captured", Context::current);
    let inner = snapshot.run(|| TENANT.sync_scope("inner", || TENANT.try_get()));
    assert_eq!(inner, Ok("inner"));
    assert_eq!(snapshot.run(|| TENANT.try_get()), Ok("captured"));
    assert!(!TENANT.is_bound());
}

#[test]
fn a_context_can_be_entered_nested_and_from_several_threads_at_once() {
    let snapshot = ITEM_ID.sync_scope(9, Context::current);
    let nested = snapshot.run(|| ITEM_ID.sync_scope(1, || snapshot.run(|| ITEM_ID.try_get())));
    assert_eq!(nested, Ok(9));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let snapshot = snapshot.clone();
            std::thread::spawn(move || {
                (0..10_000).all(|_| snapshot.run(|| ITEM_ID.try_get()) == Ok(9))
            })
        })
        .collect();
    for thread in threads {
        assert!(thread.join().unwrap());
    }
}

#[test]
fn the_snapshot_only_holds_the_innermost_visible_binding() {
    let snapshot = ITEM_ID.sync_scope(1, || ITEM_ID.sync_scope(2, Context::current));
    assert_eq!(snapshot.run(|| ITEM_ID.try_get()), Ok(2));
}

#[test]
fn an_empty_context_hides_the_callers_bindings() {
    let hidden = TENANT.sync_scope("acme", || Context::empty().run(|| TENANT.is_bound()));
    assert!(!hidden);
    let default_read = TENANT.sync_scope("acme", || {
        Context::empty().run(|| {
            use ctxvar_tests::RETRIES;
            RETRIES.try_get()
        })
    });
    assert_eq!(default_read, Ok(3), "defaults still apply inside a context");
}

/// Counts its drops; not `Clone`, so a capture that compiled cannot be cloning it.
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[context_var]
static TRACKED: Tracked;

#[test]
fn a_context_shares_values_and_keeps_them_alive_after_their_scope() {
    let drops = Arc::new(AtomicUsize::new(0));
    let snapshot = TRACKED.sync_scope(Tracked(drops.clone()), Context::current);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "the snapshot keeps the value alive"
    );
    let clone = snapshot.clone();
    drop(snapshot);
    assert!(clone.run(|| TRACKED.is_bound()));
    drop(clone);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "dropped once, when the last holder went"
    );
}

#[test]
fn in_current_context_captures_when_called_not_when_polled() {
    let fut = TENANT.sync_scope("at call", || {
        async { TENANT.try_get() }.in_current_context()
    });
    let seen = TENANT.sync_scope("at poll", || futures::executor::block_on(fut));
    assert_eq!(seen, Ok("at call"));
}

#[test]
fn a_context_scope_binds_while_its_future_is_dropped() {
    struct ReadsOnDrop(Arc<std::sync::Mutex<Option<Result<&'static str, ctxvar::AccessError>>>>);
    impl Drop for ReadsOnDrop {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = Some(TENANT.try_get());
        }
    }
    let seen = Arc::new(std::sync::Mutex::new(None));
    let guard = ReadsOnDrop(seen.clone());
    let fut = TENANT
        .sync_scope("captured", Context::current)
        .scope(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
    let mut fut = Box::pin(fut);
    assert!(
        futures::FutureExt::poll_unpin(
            &mut fut,
            &mut std::task::Context::from_waker(std::task::Waker::noop())
        )
        .is_pending()
    );
    drop(fut);
    assert_eq!(*seen.lock().unwrap(), Some(Ok("captured")));
}

#[with_context(ITEM_ID = 4)]
async fn drains_a_scoped_stream() -> Vec<(u64, Result<u64, ctxvar::AccessError>)> {
    let items = futures::stream::iter(0..3).then(|n| async move {
        tokio::task::yield_now().await;
        (n, ITEM_ID.try_get())
    });
    // The stream is polled inside this function's scope (ITEM_ID = 4), but each poll
    // of the per-stream scope sees its own binding.
    ITEM_ID.bind(40).scope_stream(items).collect().await
}

#[tokio::test]
async fn every_poll_of_a_scoped_stream_sees_its_binding() {
    let items = drains_a_scoped_stream().await;
    assert_eq!(items, [(0, Ok(40)), (1, Ok(40)), (2, Ok(40))]);
}

#[test]
fn an_async_loop_over_a_stream_in_a_context_sees_it_on_every_item() {
    let snapshot = REQUEST_ID.sync_scope("stream".into(), Context::current);
    let stream =
        snapshot.scope_stream(futures::stream::iter(0..3).map(|n| (n, REQUEST_ID.try_get())));
    let items: Vec<_> = futures::executor::block_on(async {
        let mut stream = std::pin::pin!(stream);
        let mut items = Vec::new();
        while let Some(item) = stream.next().await {
            items.push(item);
        }
        items
    });
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|(_, id)| id.as_deref() == Ok("stream")));
}

#[test]
fn contexts_work_under_the_futures_executor() {
    #[with_context(ITEM_ID = 8)]
    async fn captured() -> Context {
        Context::current()
    }
    let snapshot = futures::executor::block_on(captured());
    let pool = futures::executor::ThreadPool::builder()
        .pool_size(2)
        .create()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    pool.spawn_ok(snapshot.scope(async move { tx.send(ITEM_ID.try_get()).unwrap() }));
    assert_eq!(rx.recv().unwrap(), Ok(8));
}

#[test]
fn a_context_captured_inside_a_context_carries_both_layers() {
    let outer = TENANT.sync_scope("outer", Context::current);
    let inner = outer.run(|| ITEM_ID.sync_scope(3, Context::current));
    drop(outer); // the inner snapshot holds its own counts of the outer values
    let seen = inner.run(|| (TENANT.try_get(), ITEM_ID.try_get()));
    assert_eq!(seen, (Ok("outer"), Ok(3)));
}

#[test]
fn contexts_and_their_futures_are_send_sync_and_clone() {
    fn send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    fn send<T: Send>(_: &T) {}
    send_sync_clone::<Context>();
    let fut = Context::current().scope(async {});
    send(&fut);
    let fut = async {}.in_current_context();
    send(&fut);
}
