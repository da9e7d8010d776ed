//! Panic safety and re-entrancy (README.md, "Guarantees"): panics in binding
//! expressions, in `with` closures, in destructors of bound values and of inner
//! futures; reading and binding inside `with` closures and destructors; polling one
//! scope future from inside another's poll; reading during thread-local teardown at
//! thread exit.
//!
//! Each case either works or fails with a clear panic, and in every case the scopes
//! around it are exactly as they were: the tests run inside `in_outer`, which binds
//! every variable in several frames, warms the read cache, and compares what it sees
//! before and after. The runtime keeps one frame pointer and a read cache per thread,
//! restored by guards; a guard that did not run on some unwinding or re-entrant path
//! would show up there as a wrong value, or as a crash.

// Tests declare helper fns and types next to their use.
#![allow(clippy::items_after_statements)]

mod support;

use std::cell::RefCell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::Poll;

use ctxvar::{AccessError, Context, context_var, uses_context, with_context};
use support::{panic_message, pending_n, poll_once};

/// Required, inherited.
#[context_var]
static ID: u64;

/// Required, heap-allocated.
#[context_var]
static NAME: String;

/// Not inherited.
#[context_var(inherit = false)]
static TX: u64;

/// Has a default.
#[context_var]
static LEVEL: u32 = 0;

/// Values that count their drops, and may panic or read when dropped.
#[context_var]
static RES: Resource;

/// Everything a read can see, for comparing before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Snapshot {
    id: Result<u64, AccessError>,
    name: Result<String, AccessError>,
    tx: Result<u64, AccessError>,
    level: u32,
    res: Result<&'static str, AccessError>,
    bound: [bool; 5],
}

fn snapshot() -> Snapshot {
    Snapshot {
        id: ID.try_get(),
        name: NAME.try_get(),
        tx: TX.try_get(),
        level: LEVEL.get(),
        res: RES.try_with(|res| res.label),
        bound: [
            ID.is_bound(),
            NAME.is_bound(),
            TX.is_bound(),
            LEVEL.is_bound(),
            RES.is_bound(),
        ],
    }
}

/// `snapshot`, reading in the opposite order: the runtime caches its last lookup, and
/// a stale cache entry only shows when a read repeats the previous one's variable.
fn snapshot_in_reverse() -> Snapshot {
    let bound_res = RES.is_bound();
    let bound_level = LEVEL.is_bound();
    let bound_tx = TX.is_bound();
    let bound_name = NAME.is_bound();
    let bound_id = ID.is_bound();
    let res = RES.try_with(|res| res.label);
    let level = LEVEL.get();
    let tx = TX.try_get();
    let name = NAME.try_get();
    let id = ID.try_get();
    Snapshot {
        id,
        name,
        tx,
        level,
        res,
        bound: [bound_id, bound_name, bound_tx, bound_level, bound_res],
    }
}

/// What `in_outer` binds.
fn outer() -> Snapshot {
    Snapshot {
        id: Ok(1),
        name: Ok("outer".to_string()),
        tx: Ok(10),
        level: 70,
        res: Ok("outer"),
        bound: [true; 5],
    }
}

/// What a thread with nothing bound sees.
fn nothing_bound() -> Snapshot {
    Snapshot {
        id: ID.try_get(),
        name: NAME.try_get(),
        tx: TX.try_get(),
        level: 0,
        res: RES.try_with(|res| res.label),
        bound: [false, false, false, true, false],
    }
}

/// Runs `f` inside three frames binding every variable, and checks that they are
/// exactly as before when `f` returns, and that nothing is left bound afterwards.
fn in_outer<R>(f: impl FnOnce() -> R) -> R {
    let result = ID.sync_scope(1, || {
        NAME.bind("outer".to_string())
            .and(TX.bind(10))
            .sync_scope(|| {
                LEVEL
                    .bind(70)
                    .and(RES.bind(Resource::plain("outer")))
                    .sync_scope(|| {
                        // Read twice: the second read of each variable hits the cache.
                        assert_eq!(snapshot(), outer());
                        assert_eq!(snapshot(), outer());
                        let result = f();
                        assert_eq!(snapshot(), outer(), "the scopes around the panic changed");
                        assert_eq!(snapshot_in_reverse(), outer());
                        result
                    })
            })
    });
    assert_eq!(snapshot(), nothing_bound(), "a binding was left behind");
    assert_eq!(snapshot_in_reverse(), nothing_bound());
    result
}

/// Where a `Resource`'s destructor reports what it saw.
type SeenOnDrop = Arc<Mutex<Vec<(Snapshot, u32)>>>;

/// A value of `RES`.
struct Resource {
    label: &'static str,
    drops: Option<Arc<AtomicUsize>>,
    panic_on_drop: bool,
    /// What its destructor saw, after binding `LEVEL = 99` there.
    seen_on_drop: Option<SeenOnDrop>,
}

impl Resource {
    fn new(
        label: &'static str,
        drops: Option<&Arc<AtomicUsize>>,
        panic_on_drop: bool,
        seen_on_drop: Option<&SeenOnDrop>,
    ) -> Self {
        Resource {
            label,
            drops: drops.cloned(),
            panic_on_drop,
            seen_on_drop: seen_on_drop.cloned(),
        }
    }

    fn plain(label: &'static str) -> Self {
        Resource::new(label, None, false, None)
    }

    fn counted(label: &'static str, drops: &Arc<AtomicUsize>) -> Self {
        Resource::new(label, Some(drops), false, None)
    }

    fn panics_on_drop(label: &'static str, drops: &Arc<AtomicUsize>) -> Self {
        Resource::new(label, Some(drops), true, None)
    }

    fn reads_on_drop(label: &'static str, seen: &SeenOnDrop) -> Self {
        Resource::new(label, None, false, Some(seen))
    }
}

impl Drop for Resource {
    fn drop(&mut self) {
        if let Some(drops) = &self.drops {
            drops.fetch_add(1, Ordering::SeqCst);
        }
        if let Some(seen) = &self.seen_on_drop {
            // Reading and binding in a destructor.
            let record = (snapshot(), LEVEL.sync_scope(99, || LEVEL.get()));
            seen.lock().unwrap().push(record);
        }
        assert!(
            !self.panic_on_drop,
            "resource `{}` panicked in drop",
            self.label
        );
    }
}

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

// ---------------------------------------------------------------------------------
// Panics
// ---------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------
// Re-entrancy
// ---------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------
// Thread-local teardown at thread exit
// ---------------------------------------------------------------------------------

/// Everything a destructor does at thread exit, reported over a channel.
#[derive(Debug, PartialEq)]
struct AtExit {
    seen: Snapshot,
    bound_inside: Result<u64, AccessError>,
    captured_empty: bool,
    polled: Poll<Result<u64, AccessError>>,
}

struct ReportsAtExit(mpsc::Sender<AtExit>);

impl Drop for ReportsAtExit {
    fn drop(&mut self) {
        let ctx = Context::current();
        let report = AtExit {
            seen: snapshot(),
            bound_inside: ID.sync_scope(8, || ID.try_get()),
            captured_empty: ID.sync_scope(8, || ctx.run(|| ID.is_bound())),
            polled: poll_once(Box::pin(ID.scope(9, async { ID.try_get() })).as_mut()),
        };
        let _ = self.0.send(report);
    }
}

thread_local! {
    static REPORTER: RefCell<Option<ReportsAtExit>> = const { RefCell::new(None) };
    /// A pending scope future, dropped at thread exit.
    static PENDING: RefCell<Option<Pin<Box<dyn Future<Output = ()>>>>> = const { RefCell::new(None) };
}

fn expected_at_exit() -> AtExit {
    AtExit {
        seen: nothing_bound(),
        bound_inside: Ok(8),
        captured_empty: false,
        polled: Poll::Ready(Ok(9)),
    }
}

#[test]
fn thread_local_destructors_read_errors_and_defaults_and_can_bind() {
    // Registered inside scopes, run at thread exit after they have all ended: the
    // destructor finds nothing bound (defaults still apply), and can bind, capture
    // and poll as anywhere else.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        ID.sync_scope(1, || {
            NAME.sync_scope("registered".to_string(), || {
                REPORTER.with(|slot| *slot.borrow_mut() = Some(ReportsAtExit(tx)));
            });
        });
    })
    .join()
    .expect("the thread exits cleanly");
    assert_eq!(rx.recv().unwrap(), expected_at_exit());

    // A thread that ran in a captured context: the context has ended by teardown.
    let (tx, rx) = mpsc::channel();
    let handle = ID.sync_scope(1, || {
        ctxvar::thread::spawn(move || {
            assert_eq!(ID.try_get(), Ok(1));
            REPORTER.with(|slot| *slot.borrow_mut() = Some(ReportsAtExit(tx)));
        })
    });
    handle.join().expect("the thread exits cleanly");
    assert_eq!(rx.recv().unwrap(), expected_at_exit());
}

#[test]
fn a_scope_future_dropped_at_thread_exit_still_binds_for_its_destructors() {
    let seen = Arc::new(Mutex::new(None));
    let guard_seen = seen.clone();
    std::thread::spawn(move || {
        struct ReadsOnDrop(Arc<Mutex<Option<Snapshot>>>);
        impl Drop for ReadsOnDrop {
            fn drop(&mut self) {
                *self.0.lock().unwrap() = Some(snapshot());
            }
        }
        let guard = ReadsOnDrop(guard_seen);
        let mut fut: Pin<Box<dyn Future<Output = ()>>> = Box::pin(ID.scope(6, async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        }));
        assert!(poll_once(fut.as_mut()).is_pending());
        PENDING.with(|slot| *slot.borrow_mut() = Some(fut));
    })
    .join()
    .expect("the thread exits cleanly");
    let seen = seen.lock().unwrap().take().expect("dropped at thread exit");
    assert_eq!(seen.id, Ok(6));
    assert!(seen.name.is_err());
}

#[cfg(feature = "tokio")] // `ctxvar::spawn`
#[test]
fn tokio_worker_threads_tear_down_cleanly() {
    let (tx, rx) = mpsc::channel();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async move {
        ID.scope(1, async move {
            ctxvar::spawn(async move {
                // Registered on a worker thread, inside the task's context.
                assert_eq!(ID.try_get(), Ok(1));
                REPORTER.with(|slot| *slot.borrow_mut() = Some(ReportsAtExit(tx)));
            })
            .await
            .unwrap();
        })
        .await;
    });
    // Shutting the runtime down ends its worker threads.
    drop(runtime);
    assert_eq!(rx.recv().unwrap(), expected_at_exit());
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
