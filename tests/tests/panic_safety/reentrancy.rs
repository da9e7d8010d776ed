//! Re-entrancy: reading, binding, capturing and polling inside `with` closures and
//! destructors, polling one scope future from inside another's poll, and the
//! destructors of a stream run in a context, which see that context.

use std::cell::RefCell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use ctxvar::{AccessError, Context, uses_context};

use crate::support::{pending_n, poll_once};
use crate::{ID, LEVEL, NAME, RES, Resource, SeenOnDrop, Snapshot, in_outer, snapshot};

#[uses_context(ID, NAME)]
fn reads_binds_captures_and_polls_inside_with() -> Vec<String> {
    let mut log = Vec::new();
    ID.with(|id| {
        NAME.with(|name| {
            // Nested reads of the same and other variables.
            log.push(format!("{id} {name} {}", ID.get()));
            // Rebinding the variable being borrowed: the borrow stays valid.
            ID.sync_scope(id + 1, || {
                log.push(format!("rebound {} {}", ID.get(), name));
                // Capturing and running a context inside.
                let ctx = Context::current();
                ID.sync_scope(100, || log.push(format!("ctx {}", ctx.run(|| ID.get()))));
                // Polling a scope future to completion inside.
                let mut fut = Box::pin(NAME.scope("polled".to_string(), async {
                    pending_n(1).await;
                    format!("future {} {}", ID.get(), NAME.get())
                }));
                assert!(poll_once(fut.as_mut()).is_pending());
                if let Poll::Ready(line) = poll_once(fut.as_mut()) {
                    log.push(line);
                }
            });
            log.push(format!("after {} {}", ID.get(), *name));
        });
    });
    log
}

#[test]
fn with_closures_can_read_bind_capture_and_poll() {
    let log = in_outer(reads_binds_captures_and_polls_inside_with);
    assert_eq!(
        log,
        [
            "1 outer 1",
            "rebound 2 outer",
            "ctx 2",
            "future 2 polled",
            "after 1 outer"
        ]
    );
}

#[test]
fn destructors_can_read_and_bind() {
    let seen: SeenOnDrop = Arc::default();
    in_outer(|| {
        // A bound value dropped at the end of its `sync_scope`: its frame is gone, so
        // it sees the scopes it was bound in.
        ID.sync_scope(2, || {
            RES.sync_scope(Resource::reads_on_drop("sync", &seen), || {});
        });
        // A bound value dropped with its `Scope` future, by a dropper with other
        // bindings: it sees the dropper's.
        let fut = RES.scope(Resource::reads_on_drop("future", &seen), async {});
        ID.sync_scope(3, || drop(fut));
        // The last `Context` holding a value, dropped inside a context: it sees that
        // context.
        let ctx = RES.sync_scope(Resource::reads_on_drop("captured", &seen), Context::current);
        let other = Context::empty().run(|| ID.sync_scope(4, Context::current));
        other.run(|| drop(ctx));
        // A local of a future dropped while unwinding sees the future's bindings.
        let local = Resource::reads_on_drop("unwound", &seen);
        let mut fut = Box::pin(ID.scope(5, async move {
            let _local = local;
            pending_n(1).await;
            panic!("unwind");
        }));
        assert!(poll_once(fut.as_mut()).is_pending());
        assert!(catch_unwind(AssertUnwindSafe(|| poll_once(fut.as_mut()))).is_err());
    });
    let seen = seen.lock().unwrap().clone();
    let ids: Vec<_> = seen.iter().map(|(snapshot, _)| snapshot.id).collect();
    assert_eq!(ids, [Ok(2), Ok(3), Ok(4), Ok(5)]);
    // Each bound LEVEL inside its destructor and read it back.
    assert!(seen.iter().all(|(_, level)| *level == 99));
    // The outer bindings under the dropper were visible, except inside the context.
    let names: Vec<_> = seen
        .iter()
        .map(|(snapshot, _)| snapshot.name.is_ok())
        .collect();
    assert_eq!(names, [true, true, false, true]);
}

#[test]
fn a_scope_future_can_be_polled_from_inside_another_poll() {
    type Reads = Vec<(Result<u64, AccessError>, Result<String, AccessError>, u32)>;
    // The innermost future reads on each of its polls, whoever polls it.
    let inner: RefCell<Pin<Box<dyn Future<Output = Reads>>>> =
        RefCell::new(Box::pin(ID.scope(2, async {
            let read = || (ID.try_get(), NAME.try_get(), LEVEL.get());
            let mut reads = Vec::new();
            for _ in 0..3 {
                reads.push(read());
                pending_n(1).await;
            }
            reads.push(read());
            reads
        })));
    let poll_inner = || poll_once(inner.borrow_mut().as_mut());

    // A middle scope future whose every poll polls the inner one, and a third that
    // polls the middle one: three scope frames entered re-entrantly.
    let mut middle = Box::pin(NAME.scope(
        "middle".to_string(),
        std::future::poll_fn(|_| {
            let polled = poll_inner();
            assert_eq!(NAME.try_get().as_deref(), Ok("middle"));
            Poll::Ready(polled)
        }),
    ));
    let mut top = Box::pin(LEVEL.scope(
        7,
        std::future::poll_fn(|_| {
            let polled = poll_once(middle.as_mut());
            assert_eq!(LEVEL.get(), 7);
            Poll::Ready(polled)
        }),
    ));

    let finished = in_outer(|| {
        // 1. Through both others.
        assert!(matches!(
            poll_once(top.as_mut()),
            Poll::Ready(Poll::Ready(Poll::Pending))
        ));
        // 2. Directly, under the outer scopes.
        assert!(poll_inner().is_pending());
        // 3. From inside a `with` closure and a destructor.
        let _ = RES.try_with(|_| assert!(poll_inner().is_pending()));
        struct PollsOnDrop<'a>(
            &'a dyn Fn() -> Poll<Reads>,
            &'a RefCell<Option<Poll<Reads>>>,
        );
        impl Drop for PollsOnDrop<'_> {
            fn drop(&mut self) {
                *self.1.borrow_mut() = Some(NAME.sync_scope("drop".to_string(), self.0));
            }
        }
        let last = RefCell::new(None);
        drop(PollsOnDrop(&poll_inner, &last));
        last.into_inner()
    });
    let Some(Poll::Ready(reads)) = finished else {
        panic!("the inner future finished on its fourth poll");
    };
    assert_eq!(
        reads,
        [
            (Ok(2), Ok("middle".to_string()), 7),
            (Ok(2), Ok("outer".to_string()), 70),
            (Ok(2), Ok("outer".to_string()), 70),
            (Ok(2), Ok("drop".to_string()), 70),
        ]
    );
}

#[test]
fn a_stream_in_a_context_is_dropped_inside_it() {
    // Like a future run in a context (`ctx.scope`), a stream run in one
    // is dropped with the context's bindings, so its destructors never see whatever
    // its dropper has bound (in a server, another request's values). `scope_stream`
    // on bindings does the same.
    use futures::StreamExt;
    struct ReadsOnDrop(Arc<Mutex<Vec<Snapshot>>>);
    impl Drop for ReadsOnDrop {
        fn drop(&mut self) {
            self.0.lock().unwrap().push(snapshot());
        }
    }
    let seen: Arc<Mutex<Vec<Snapshot>>> = Arc::default();
    let stream = |guard: ReadsOnDrop| {
        futures::stream::unfold(guard, |guard| async move {
            pending_n(1).await;
            Some((ID.try_get(), guard))
        })
    };
    let ctx = ID.sync_scope(4, Context::current);
    let mut in_context = Box::pin(ctx.scope_stream(stream(ReadsOnDrop(seen.clone()))));
    let mut in_bindings = Box::pin(ID.bind(5).scope_stream(stream(ReadsOnDrop(seen.clone()))));
    in_outer(|| {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        // Pending inside the first item, so each stream holds its guard mid-way.
        assert!(in_context.poll_next_unpin(&mut cx).is_pending());
        assert!(in_bindings.poll_next_unpin(&mut cx).is_pending());
        drop(in_context);
        drop(in_bindings);
    });
    let ids: Vec<_> = seen.lock().unwrap().iter().map(|s| s.id).collect();
    assert_eq!(ids, [Ok(4), Ok(5)]);
}
