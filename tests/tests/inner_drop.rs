//! Every wrapper that runs work inside bindings (`Scope`, `ContextScope`, `ScopeStream`,
//! `ContextStream`, and the closures of `thread::spawn` and `spawn_blocking`) uses its
//! inner work, and drops it, inside those bindings, however its life ends: dropped
//! without a poll, cancelled mid-way, dropped after completion, after a panic in a
//! poll, after a poll past completion, and after the pinned wrapper's box moved
//! between threads. They share one implementation (`ctxvar/src/inside.rs`); these
//! tests hold each of them to it, with an inner future that is not `Unpin` and checks
//! that it is polled and dropped where it was pinned.
//!
//! `Scope`s overlay their bindings on the poller's (`OUTER` shows through);
//! `ContextScope`s replace them with the captured context (`OUTER` is hidden).

// Tests declare helper fns and types next to their use.
#![allow(clippy::items_after_statements)]

mod support;

use std::cell::Cell;
use std::future::Future;
use std::marker::PhantomPinned;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use ctxvar::{Context, context_var};
use futures::Stream;
use support::{panic_message, poll_once};

/// What the wrappers bind: 7.
#[context_var]
static ID: u64;

/// What pollers and droppers bind around the wrappers.
#[context_var]
static OUTER: u64;

/// `(ID, OUTER)` as read here.
type Seen = (Option<u64>, Option<u64>);

fn seen() -> Seen {
    (ID.try_get().ok(), OUTER.try_get().ok())
}

/// What the inner work saw: `("poll", ..)` or `("drop", ..)`.
type Log = Arc<Mutex<Vec<(&'static str, Seen)>>>;

fn events(log: &Log) -> Vec<(&'static str, Seen)> {
    log.lock().unwrap().clone()
}

/// A future that is not `Unpin`: `Pending` until it has been polled `ready_after`
/// times, then `Ready` on every later poll (so a poll past completion reaches it, and
/// it decides what happens). It logs what it sees when polled and dropped, panics on
/// the poll numbered `panic_on`, and asserts that it is polled and dropped at the
/// address it was first polled at.
struct Probe {
    log: Log,
    ready_after: u32,
    panic_on: Option<u32>,
    polls: Cell<u32>,
    pinned_at: Cell<usize>,
    _pin: PhantomPinned,
}

fn probe(log: &Log, ready_after: u32) -> Probe {
    Probe {
        log: log.clone(),
        ready_after,
        panic_on: None,
        polls: Cell::new(0),
        pinned_at: Cell::new(0),
        _pin: PhantomPinned,
    }
}

impl Probe {
    fn check_address(&self) {
        let address = std::ptr::from_ref(self) as usize;
        match self.pinned_at.get() {
            0 => self.pinned_at.set(address),
            at => assert_eq!(at, address, "the pinned inner future moved"),
        }
    }
}

impl Future for Probe {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<u32> {
        self.check_address();
        self.log.lock().unwrap().push(("poll", seen()));
        let polls = self.polls.get() + 1;
        self.polls.set(polls);
        assert_ne!(self.panic_on, Some(polls), "the inner future panics");
        if polls > self.ready_after {
            Poll::Ready(polls)
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if self.pinned_at.get() != 0 {
            self.check_address();
        }
        self.log.lock().unwrap().push(("drop", seen()));
    }
}

/// A wrapper under test, boxed and polled for one value (a stream, for its next item).
type Wrapped = Pin<Box<dyn Future<Output = Option<u32>> + Send>>;

/// A boxed future, polled for `Some` of its output (and polled through after
/// completion: no check of its own).
struct AsOption<F>(Pin<Box<F>>);

impl<F: Future> Future for AsOption<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx).map(Some)
    }
}

/// A boxed stream, polled for its next item.
struct NextItem<S>(Pin<Box<S>>);

impl<S: Stream> Future for NextItem<S> {
    type Output = Option<S::Item>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll_next(cx)
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Scope,
    ContextScope,
    ScopeStream,
    ContextStream,
}

const KINDS: [Kind; 4] = [
    Kind::Scope,
    Kind::ContextScope,
    Kind::ScopeStream,
    Kind::ContextStream,
];

impl Kind {
    /// `inner` with `ID = 7`; a stream wrapper gets a stream of the one item `inner`
    /// makes. Built inside `OUTER = 100`, which only an overlaying wrapper's own
    /// binding call might see (a context is captured with `ID` alone).
    fn wrap<F: Future<Output = u32> + Send + 'static>(self, inner: F) -> Wrapped {
        let context = || ID.sync_scope(7, Context::current);
        OUTER.sync_scope(100, || -> Wrapped {
            match self {
                Kind::Scope => Box::pin(AsOption(Box::pin(ID.scope(7, inner)))),
                Kind::ContextScope => Box::pin(AsOption(Box::pin(
                    Context::empty().run(context).scope(inner),
                ))),
                Kind::ScopeStream => Box::pin(NextItem(Box::pin(
                    ID.bind(7).scope_stream(futures::stream::once(inner)),
                ))),
                Kind::ContextStream => Box::pin(NextItem(Box::pin(
                    Context::empty()
                        .run(context)
                        .scope_stream(futures::stream::once(inner)),
                ))),
            }
        })
    }

    /// What the inner work sees when its wrapper is used where `OUTER = outer`.
    fn inside(self, outer: Option<u64>) -> Seen {
        match self {
            Kind::Scope | Kind::ScopeStream => (Some(7), outer),
            Kind::ContextScope | Kind::ContextStream => (Some(7), None),
        }
    }
}

/// Runs `f` where `ID = 99` and `OUTER = outer`, and checks that it leaves them so.
fn around<R>(outer: u64, f: impl FnOnce() -> R) -> R {
    ID.sync_scope(99, || {
        OUTER.sync_scope(outer, || {
            let result = f();
            assert_eq!(seen(), (Some(99), Some(outer)), "the poller's bindings");
            result
        })
    })
}

#[test]
fn dropped_without_a_poll_the_work_is_dropped_inside() {
    for kind in KINDS {
        let log = Log::default();
        let wrapped = kind.wrap(probe(&log, 0));
        around(1, || drop(wrapped));
        assert_eq!(events(&log), [("drop", kind.inside(Some(1)))], "{kind:?}");
    }
}

#[test]
fn cancelled_mid_way_the_work_is_dropped_inside() {
    for kind in KINDS {
        let log = Log::default();
        let mut wrapped = kind.wrap(probe(&log, 3));
        around(1, || assert!(poll_once(wrapped.as_mut()).is_pending()));
        around(2, || drop(wrapped));
        assert_eq!(
            events(&log),
            [
                ("poll", kind.inside(Some(1))),
                ("drop", kind.inside(Some(2)))
            ],
            "{kind:?}"
        );
    }
}

#[test]
fn dropped_after_completion_the_work_is_dropped_inside() {
    for kind in KINDS {
        let log = Log::default();
        let mut wrapped = kind.wrap(probe(&log, 1));
        around(1, || {
            assert!(poll_once(wrapped.as_mut()).is_pending());
            assert_eq!(poll_once(wrapped.as_mut()), Poll::Ready(Some(2)));
        });
        // A stream's `once` drops its future as soon as it completes.
        around(2, || drop(wrapped));
        let dropper = match kind {
            Kind::ScopeStream | Kind::ContextStream => Some(1),
            Kind::Scope | Kind::ContextScope => Some(2),
        };
        assert_eq!(
            events(&log),
            [
                ("poll", kind.inside(Some(1))),
                ("poll", kind.inside(Some(1))),
                ("drop", kind.inside(dropper)),
            ],
            "{kind:?}"
        );
    }
}

#[test]
fn after_a_panic_in_a_poll_the_poller_is_restored_and_the_work_is_dropped_inside_once() {
    for kind in KINDS {
        let log = Log::default();
        let mut inner = probe(&log, 5);
        inner.panic_on = Some(2);
        let mut wrapped = kind.wrap(inner);
        around(1, || {
            assert!(poll_once(wrapped.as_mut()).is_pending());
            let message = panic_message(AssertUnwindSafe(|| {
                let _ = poll_once(wrapped.as_mut());
            }));
            assert!(message.contains("the inner future panics"), "{message}");
            // `around` checks the poller's bindings are back.
        });
        around(2, || drop(wrapped));
        // `once` is left mid-poll by the panic, and drops its future when dropped.
        assert_eq!(
            events(&log),
            [
                ("poll", kind.inside(Some(1))),
                ("poll", kind.inside(Some(1))),
                ("drop", kind.inside(Some(2))),
            ],
            "{kind:?}"
        );
    }
}

#[test]
fn a_poll_past_completion_is_the_inner_works_to_answer_with_the_bindings_in_place() {
    for kind in KINDS {
        let log = Log::default();
        let mut wrapped = kind.wrap(probe(&log, 0));
        around(1, || {
            assert_eq!(poll_once(wrapped.as_mut()), Poll::Ready(Some(1)));
            // The wrappers add no check of their own: a future is polled again (here
            // it answers again); `once` answers that the stream has ended.
            let again = poll_once(wrapped.as_mut());
            match kind {
                Kind::Scope | Kind::ContextScope => assert_eq!(again, Poll::Ready(Some(2))),
                Kind::ScopeStream | Kind::ContextStream => assert_eq!(again, Poll::Ready(None)),
            }
        });
        around(2, || drop(wrapped));
        let mut expected = vec![("poll", kind.inside(Some(1)))];
        match kind {
            Kind::Scope | Kind::ContextScope => expected.extend([
                ("poll", kind.inside(Some(1))),
                ("drop", kind.inside(Some(2))),
            ]),
            Kind::ScopeStream | Kind::ContextStream => {
                expected.push(("drop", kind.inside(Some(1))));
            }
        }
        assert_eq!(events(&log), expected, "{kind:?}");
    }
}

#[test]
fn an_async_block_polled_past_completion_panics_with_its_own_message() {
    let log = Log::default();
    let make = |log: &Log| {
        let guard = probe(log, 0);
        async move {
            let _guard = &guard;
            7
        }
    };
    let wrapped: [Wrapped; 2] = [
        Box::pin(AsOption(Box::pin(ID.scope(7, make(&log))))),
        Box::pin(AsOption(Box::pin(
            ID.sync_scope(7, Context::current).scope(make(&log)),
        ))),
    ];
    for mut wrapped in wrapped {
        around(1, || {
            assert_eq!(poll_once(wrapped.as_mut()), Poll::Ready(Some(7)));
            let message = panic_message(AssertUnwindSafe(|| {
                let _ = poll_once(wrapped.as_mut());
            }));
            assert!(message.contains("resumed after completion"), "{message}");
        });
        drop(wrapped);
    }
    // The async blocks dropped their guards when they completed, inside the bindings.
    assert_eq!(
        events(&log),
        [("drop", (Some(7), Some(1))), ("drop", (Some(7), None))]
    );
}

#[test]
fn a_pinned_wrapper_moved_between_threads_polls_and_drops_its_work_in_place() {
    for kind in KINDS {
        let log = Log::default();
        let mut wrapped = kind.wrap(probe(&log, 3));
        around(1, || assert!(poll_once(wrapped.as_mut()).is_pending()));
        // The box moves to another thread, is polled there, and moves on again; the
        // wrapper and its inner future stay where they were pinned (`Probe` checks).
        let wrapped = std::thread::spawn(move || {
            let mut wrapped = wrapped;
            around(2, || assert!(poll_once(wrapped.as_mut()).is_pending()));
            wrapped
        })
        .join()
        .unwrap();
        std::thread::spawn(move || {
            let mut wrapped = wrapped;
            around(3, || assert!(poll_once(wrapped.as_mut()).is_pending()));
            drop(wrapped); // dropped with nothing bound on this thread
        })
        .join()
        .unwrap();
        assert_eq!(
            events(&log),
            [
                ("poll", kind.inside(Some(1))),
                ("poll", kind.inside(Some(2))),
                ("poll", kind.inside(Some(3))),
                ("drop", kind.inside(None)),
            ],
            "{kind:?}"
        );
    }
}

#[test]
fn an_unpin_wrapper_moved_by_value_between_polls_still_sees_its_bindings() {
    // `Scope` and `ContextScope` of an `Unpin` future are `Unpin`: moved, not boxed.
    let log = Log::default();
    let mut scope = ID.scope(7, Box::pin(probe(&log, 5)));
    let mut in_context = ID
        .sync_scope(7, Context::current)
        .scope(Box::pin(probe(&log, 5)));
    around(1, || {
        assert!(poll_once(Pin::new(&mut scope)).is_pending());
        assert!(poll_once(Pin::new(&mut in_context)).is_pending());
    });
    let (mut scope, mut in_context) = std::thread::spawn(move || (scope, in_context))
        .join()
        .unwrap();
    around(2, || {
        assert!(poll_once(Pin::new(&mut scope)).is_pending());
        assert!(poll_once(Pin::new(&mut in_context)).is_pending());
        drop(scope);
        drop(in_context);
    });
    assert_eq!(
        events(&log),
        [
            ("poll", (Some(7), Some(1))),
            ("poll", (Some(7), None)),
            ("poll", (Some(7), Some(2))),
            ("poll", (Some(7), None)),
            ("drop", (Some(7), Some(2))),
            ("drop", (Some(7), None)),
        ]
    );
}

#[test]
fn a_thread_closure_drops_what_it_captured_inside_its_context() {
    let log = Log::default();
    let guard = probe(&log, 0);
    let handle = ID.sync_scope(7, || {
        OUTER.sync_scope(1, || {
            // Captures `guard` by value and only borrows it: it is dropped when the
            // closure returns, inside the context.
            ctxvar::thread::spawn(move || {
                let _guard = &guard;
                seen()
            })
        })
    });
    assert_eq!(handle.join().unwrap(), (Some(7), Some(1)));
    assert_eq!(events(&log), [("drop", (Some(7), Some(1)))]);
}

#[cfg(feature = "tokio")] // `ctxvar::spawn_blocking`
#[test]
fn a_blocking_closure_drops_what_it_captured_inside_its_context() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let log = Log::default();
    let guard = probe(&log, 0);
    let _in_runtime = runtime.enter();
    let handle = ID.sync_scope(7, || {
        ctxvar::spawn_blocking(move || {
            let _guard = &guard;
            seen()
        })
    });
    assert_eq!(runtime.block_on(handle).unwrap(), (Some(7), None));
    assert_eq!(events(&log), [("drop", (Some(7), None))]);
}

/// Counts the drops of the values bound by the wrappers of the next test.
#[context_var]
static TOKEN: Arc<()>;

#[test]
fn a_panicking_inner_destructor_still_releases_the_bindings() {
    // The inner work's destructor panics inside the bindings: the panic reaches the
    // dropper, whose bindings are back, and the values the wrapper held are released.
    struct Explodes;
    impl Drop for Explodes {
        fn drop(&mut self) {
            panic!("inner destructor panics with ID = {:?}", ID.try_get().ok());
        }
    }
    impl Future for Explodes {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<u32> {
            Poll::Pending
        }
    }
    for kind in KINDS {
        let token = Arc::new(());
        let bindings = || ID.bind(7).and(TOKEN.bind(token.clone()));
        let wrapped: Wrapped = match kind {
            Kind::Scope => Box::pin(AsOption(Box::pin(bindings().scope(Explodes)))),
            Kind::ContextScope => Box::pin(AsOption(Box::pin(
                bindings().sync_scope(Context::current).scope(Explodes),
            ))),
            Kind::ScopeStream => Box::pin(NextItem(Box::pin(
                bindings().scope_stream(futures::stream::once(Explodes)),
            ))),
            Kind::ContextStream => Box::pin(NextItem(Box::pin(
                bindings()
                    .sync_scope(Context::current)
                    .scope_stream(futures::stream::once(Explodes)),
            ))),
        };
        assert_eq!(Arc::strong_count(&token), 2, "{kind:?}");
        let message = around(1, || panic_message(AssertUnwindSafe(|| drop(wrapped))));
        assert_eq!(
            message, "inner destructor panics with ID = Some(7)",
            "{kind:?}"
        );
        assert_eq!(
            Arc::strong_count(&token),
            1,
            "{kind:?}: the bound value was released"
        );
    }
    assert_eq!(seen(), (None, None));
}
