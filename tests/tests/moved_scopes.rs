//! Scope futures that move between polls, and before they are dropped.
//!
//! A `Scope` (and a `ContextScope`) over an `Unpin` future is itself `Unpin`, so safe
//! code can poll it, move it (out of a `Box`, out of a `select`, by `mem::swap`) and
//! drop it elsewhere. Its frame is linked into the thread's chain only while it is
//! polled or dropped, and must point only at memory that stays put while it is linked:
//! a pointer recorded on one poll and reused after a move would be read through freed
//! or reused memory. These tests poll, move, swap and drop scopes whose inner futures
//! read, capture and spawn from their destructors, with a traced variable (whose span
//! a capture carries) among the bindings. They run under valgrind in CI, where a stale
//! pointer shows as an invalid read; natively it shows as a wrong value or a crash.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use ctxvar::{Binding, Bindings, Context, ContextFutureExt, context_var};
use tracing_subscriber::layer::SubscriberExt;

mod support;
use support::poll_once;

/// Traced: each binding carries a span, and a capture carries the innermost one.
#[context_var(trace = display)]
static REQUEST: String;

/// Untraced, bound alongside.
#[context_var]
static ATTEMPT: u32;

/// What a `Probe`'s destructor saw.
type Seen = Arc<Mutex<Vec<String>>>;

/// An `Unpin` future that is `Pending` on its first poll, and whose destructor reads
/// the variables and captures the context, runs work in the capture, and reports.
struct Probe {
    seen: Seen,
}

impl Future for Probe {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        self.seen
            .lock()
            .unwrap()
            .push(format!("poll {}", describe()));
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        // The capture walks every linked frame, and (feature `tracing`) clones the
        // innermost traced span a frame points to.
        let captured = Context::current();
        let in_capture = captured.run(describe);
        let in_thread = std::thread::spawn(move || captured.run(describe))
            .join()
            .unwrap();
        self.seen
            .lock()
            .unwrap()
            .push(format!("drop {} / {in_capture} / {in_thread}", describe()));
    }
}

fn describe() -> String {
    format!("{:?} {:?}", REQUEST.try_get().ok(), ATTEMPT.try_get().ok())
}

/// The bindings most tests scope a probe in: `REQUEST = r1`, `ATTEMPT = 2`.
fn r1() -> Bindings<(Binding<dyn REQUEST>, Binding<dyn ATTEMPT>)> {
    REQUEST.bind("r1".to_owned()).and(ATTEMPT.bind(2))
}

fn probe(seen: &Seen) -> Probe {
    Probe { seen: seen.clone() }
}

/// Runs `f` with a subscriber that records spans (so traced bindings make real spans,
/// and a capture clones one).
fn with_subscriber<R>(f: impl FnOnce() -> R) -> R {
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink));
    tracing::subscriber::with_default(subscriber, f)
}

/// Moves a value out of its box and frees the box (moving out of `*boxed` in place
/// would free it only at the end of the enclosing block).
#[allow(clippy::boxed_local)] // the point is to free a box
fn unbox<T>(boxed: Box<T>) -> T {
    *boxed
}

const BOUND: &str = "Some(\"r1\") Some(2)";

fn expected_after_one_poll() -> Vec<String> {
    vec![
        format!("poll {BOUND}"),
        format!("drop {BOUND} / {BOUND} / {BOUND}"),
    ]
}

#[test]
fn a_scope_polled_moved_out_of_a_box_and_dropped_sees_its_bindings() {
    with_subscriber(|| {
        let seen = Seen::default();
        let mut boxed = Box::new(r1().scope(probe(&seen)));
        assert!(poll_once(Pin::new(&mut *boxed)).is_pending());
        // Move the scope out of its box; the box's memory is freed.
        let moved = unbox(boxed);
        // Overwrite the freed memory with something else of the same size.
        let filler = vec![0xA5_u8; 4096];
        drop(moved);
        drop(filler);
        assert_eq!(*seen.lock().unwrap(), expected_after_one_poll());
    });
}

#[test]
fn a_scope_moved_between_polls_then_dropped_sees_its_bindings() {
    with_subscriber(|| {
        let seen = Seen::default();
        let mut first = r1().scope(probe(&seen));
        assert!(poll_once(Pin::new(&mut first)).is_pending());
        let mut second = Box::new(first);
        assert!(poll_once(Pin::new(&mut *second)).is_pending());
        let third = unbox(second);
        drop(third);
        let mut expected = vec![format!("poll {BOUND}"); 2];
        expected.push(format!("drop {BOUND} / {BOUND} / {BOUND}"));
        assert_eq!(*seen.lock().unwrap(), expected);
    });
}

#[test]
fn swapped_scopes_each_drop_with_their_own_bindings() {
    with_subscriber(|| {
        let seen_a = Seen::default();
        let seen_b = Seen::default();
        let mut a = Box::new(r1().scope(probe(&seen_a)));
        let mut b = Box::new(
            REQUEST
                .bind("other".to_owned())
                .and(ATTEMPT.bind(9))
                .scope(probe(&seen_b)),
        );
        assert!(poll_once(Pin::new(&mut *a)).is_pending());
        assert!(poll_once(Pin::new(&mut *b)).is_pending());
        // Each scope now lives where the other was polled.
        std::mem::swap(&mut *a, &mut *b);
        drop(a); // the scope bound to "other"
        drop(b);
        let other = "Some(\"other\") Some(9)";
        assert_eq!(*seen_a.lock().unwrap(), expected_after_one_poll());
        assert_eq!(
            *seen_b.lock().unwrap(),
            vec![
                format!("poll {other}"),
                format!("drop {other} / {other} / {other}")
            ]
        );
    });
}

#[test]
fn the_loser_of_a_select_is_dropped_after_a_move_with_its_bindings() {
    with_subscriber(|| {
        let seen = Seen::default();
        let scope = r1().scope(probe(&seen));
        // `select` polls the scope (pending), then the ready future, and hands the
        // loser back by value.
        let outcome =
            futures::executor::block_on(futures::future::select(scope, std::future::ready(())));
        let futures::future::Either::Right(((), loser)) = outcome else {
            panic!("the ready future wins");
        };
        let moved = Box::new(loser);
        drop(moved);
        assert_eq!(*seen.lock().unwrap(), expected_after_one_poll());
    });
}

#[test]
fn a_context_scope_polled_moved_and_dropped_sees_its_capture() {
    with_subscriber(|| {
        let seen = Seen::default();
        let mut boxed = Box::new(r1().sync_scope(|| probe(&seen).in_current_context()));
        assert!(poll_once(Pin::new(&mut *boxed)).is_pending());
        let moved = unbox(boxed);
        let filler = vec![0x5A_u8; 4096];
        drop(moved);
        drop(filler);
        assert_eq!(*seen.lock().unwrap(), expected_after_one_poll());
    });
}

#[test]
fn a_scope_dropped_without_a_poll_after_a_move_sees_its_bindings() {
    with_subscriber(|| {
        let seen = Seen::default();
        let scope = Box::new(r1().scope(probe(&seen)));
        let moved = unbox(scope);
        drop(moved);
        assert_eq!(
            *seen.lock().unwrap(),
            vec![format!("drop {BOUND} / {BOUND} / {BOUND}")]
        );
    });
}
