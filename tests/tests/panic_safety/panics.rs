//! Panics: in binding expressions, in `with` closures, in destructors of bound values
//! and of inner futures, and in a poll of nested scope futures.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use ctxvar::{Context, uses_context, with_context};

#[cfg(feature = "tokio")] // `nothing_bound` is read only by the tokio test
use crate::nothing_bound;
use crate::support::{panic_message, pending_n, poll_once};
use crate::{ID, LEVEL, NAME, RES, Resource, Snapshot, TX, in_outer, outer, snapshot};

/// A future's local whose destructor panics.
struct PanicsOnDrop {
    seen: Arc<Mutex<Option<Snapshot>>>,
}

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        *self.seen.lock().unwrap() = Some(snapshot());
        panic!("inner future panicked in drop");
    }
}

fn explode() -> u64 {
    panic!("binding expression panicked")
}

#[test]
fn a_panic_in_a_binding_expression_on_first_poll_leaves_the_poller_intact() {
    // The expressions are evaluated on the first poll: the panic comes out of
    // `poll`, inside the poller's scopes.
    #[with_context(RES = Resource::counted("first", &drops), ID = explode())]
    async fn binds_then_panics(drops: Arc<AtomicUsize>) {
        unreachable!("the body never runs");
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let mut fut = Box::pin(binds_then_panics(drops.clone()));
    let message = in_outer(|| {
        panic_message(AssertUnwindSafe(|| {
            let _ = poll_once(fut.as_mut());
        }))
    });
    assert_eq!(message, "binding expression panicked");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the value evaluated before the panic is dropped, once"
    );
    drop(fut);

    // The same by hand: the second value panics while the first is already built.
    let drops = Arc::new(AtomicUsize::new(0));
    in_outer(|| {
        let result = catch_unwind(|| {
            RES.bind(Resource::counted("first", &drops))
                .and(ID.bind(explode()))
                .sync_scope(|| unreachable!())
        });
        assert!(result.is_err());
    });
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[uses_context(ID)]
fn panics_deep_inside_with_closures() {
    ID.with(|_| {
        NAME.sync_scope("inner".to_string(), || {
            ID.with(|_| {
                let ctx = Context::current();
                TX.sync_scope(11, || ctx.run(|| LEVEL.sync_scope(5, || panic!("deep"))));
            });
        });
    });
}

#[uses_context(ID)]
fn catches_inside_a_with_closure() -> (u64, Snapshot) {
    ID.with(|outer_value| {
        // The panic unwinds through frames entered inside this closure while it holds
        // a reference to the outer value.
        let caught = catch_unwind(|| {
            ID.sync_scope(2, || {
                RES.sync_scope(Resource::plain("x"), || panic!("inner"))
            })
        });
        assert!(caught.is_err());
        (*outer_value, snapshot())
    })
}

#[test]
fn a_panic_inside_with_closures_restores_every_scope() {
    in_outer(|| {
        let message = panic_message(panics_deep_inside_with_closures);
        assert_eq!(message, "deep");
        let (value, seen) = catches_inside_a_with_closure();
        assert_eq!(value, 1, "the borrowed value is intact");
        assert_eq!(seen, outer());
    });
}

#[test]
fn a_panic_in_the_destructor_of_a_bound_value_leaves_other_scopes_intact() {
    let drops = Arc::new(AtomicUsize::new(0));
    in_outer(|| {
        // 1. At the end of a `sync_scope`: the body ran and saw its value; the panic
        // comes after the frame is unlinked.
        let seen_inside = Arc::new(Mutex::new(None));
        let message = panic_message(AssertUnwindSafe(|| {
            RES.sync_scope(Resource::panics_on_drop("sync", &drops), || {
                *seen_inside.lock().unwrap() = Some(RES.try_with(|res| res.label));
            });
        }));
        assert_eq!(message, "resource `sync` panicked in drop");
        assert_eq!(*seen_inside.lock().unwrap(), Some(Ok("sync")));

        // 2. When a finished `Scope` future is dropped.
        let mut fut = Box::pin(
            RES.scope(Resource::panics_on_drop("future", &drops), async {
                RES.try_with(|res| res.label)
            }),
        );
        assert_eq!(poll_once(fut.as_mut()), Poll::Ready(Ok("future")));
        let message = panic_message(AssertUnwindSafe(|| drop(fut)));
        assert_eq!(message, "resource `future` panicked in drop");

        // 3. When the last `Context` holding it is dropped, inside other scopes.
        let ctx = RES.sync_scope(
            Resource::panics_on_drop("captured", &drops),
            Context::current,
        );
        let message = ID.sync_scope(5, || {
            let message = panic_message(AssertUnwindSafe(|| drop(ctx)));
            assert_eq!(ID.try_get(), Ok(5));
            message
        });
        assert_eq!(message, "resource `captured` panicked in drop");
    });
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

#[cfg(feature = "tokio")] // `ctxvar::spawn`
#[tokio::test(flavor = "current_thread")]
async fn a_task_whose_captured_value_panics_in_drop_does_not_disturb_the_thread() {
    let drops = Arc::new(AtomicUsize::new(0));
    // The spawner's scope ends at once, so the task's context holds the last reference
    // and the task's destructor panics (tokio reports it as the task's panic).
    let handle = RES.sync_scope(Resource::panics_on_drop("task", &drops), || {
        ctxvar::spawn(async { RES.try_with(|res| res.label) })
    });
    let err = handle.await.expect_err("the task's drop panicked");
    assert!(err.is_panic());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    // The same (only) thread runs the next task with the right values.
    let next = ID.sync_scope(3, || {
        ctxvar::spawn(async { (ID.try_get(), RES.is_bound()) })
    });
    assert_eq!(next.await.unwrap(), (Ok(3), false));
    assert_eq!(snapshot(), nothing_bound());
}

#[test]
fn a_panic_in_the_destructor_of_an_inner_future_leaves_other_scopes_intact() {
    let drops = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(None));
    // A `Scope` cancelled after one poll: it drops its inner future with its bindings
    // installed, and that drop panics.
    let guard = PanicsOnDrop { seen: seen.clone() };
    let mut fut = Box::pin(
        ID.bind(2)
            .and(RES.bind(Resource::counted("scope", &drops)))
            .scope(async move {
                let _guard = guard;
                pending_n(1).await;
            }),
    );
    in_outer(|| {
        assert!(poll_once(fut.as_mut()).is_pending());
        let message = panic_message(AssertUnwindSafe(|| drop(fut)));
        assert_eq!(message, "inner future panicked in drop");
    });
    let seen_in_drop = seen.lock().unwrap().take().expect("the destructor ran");
    assert_eq!(seen_in_drop.id, Ok(2));
    assert_eq!(seen_in_drop.res, Ok("scope"));
    assert_eq!(
        seen_in_drop.name,
        Ok("outer".to_string()),
        "under the dropper's"
    );
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the scope's values are released despite the panic"
    );

    // The same for a future running in a captured context.
    let ctx = ID.sync_scope(4, || TX.sync_scope(12, Context::current));
    let guard = PanicsOnDrop { seen: seen.clone() };
    let mut fut = Box::pin(ctx.scope(async move {
        let _guard = guard;
        pending_n(1).await;
    }));
    in_outer(|| {
        assert!(poll_once(fut.as_mut()).is_pending());
        let message = panic_message(AssertUnwindSafe(|| drop(fut)));
        assert_eq!(message, "inner future panicked in drop");
    });
    let seen_in_drop = seen.lock().unwrap().take().expect("the destructor ran");
    assert_eq!(seen_in_drop.id, Ok(4));
    assert!(seen_in_drop.tx.is_err(), "TX is not inherited");
    assert!(
        seen_in_drop.name.is_err(),
        "a context hides the dropper's bindings"
    );
}

#[test]
fn a_panic_in_a_poll_of_a_nested_scope_future_restores_each_level() {
    // Three scope futures nested in one another, the innermost panicking on its
    // second poll, each level reading after every poll of the one inside.
    let levels: Arc<Mutex<Vec<(u32, Snapshot)>>> = Arc::default();
    fn level(
        depth: u32,
        levels: Arc<Mutex<Vec<(u32, Snapshot)>>>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(LEVEL.scope(depth, async move {
            if depth == 3 {
                pending_n(1).await;
                panic!("innermost");
            }
            let inner = level(depth + 1, levels.clone());
            let caught = futures::FutureExt::catch_unwind(AssertUnwindSafe(inner)).await;
            assert_eq!(caught.is_err(), depth == 2, "caught by the level above");
            levels.lock().unwrap().push((depth, snapshot()));
        }))
    }
    let mut fut = level(1, levels.clone());
    in_outer(|| {
        assert!(poll_once(fut.as_mut()).is_pending());
        assert!(poll_once(fut.as_mut()).is_ready());
    });
    let levels = levels.lock().unwrap().clone();
    assert_eq!(levels.len(), 2);
    for (depth, seen) in levels {
        assert_eq!(seen.level, depth);
        assert_eq!(seen.id, Ok(1), "the poller's bindings show through");
    }
}
