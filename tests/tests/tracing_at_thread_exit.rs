//! Traced variables bound, captured, polled and dropped from thread-local destructors
//! at thread exit, under a global `tracing_subscriber::fmt()` subscriber that logs
//! span closes.
//!
//! The subscriber keeps per-thread state in thread-locals of its own, which may be
//! destroyed before ours run; a span created, entered or closed then panics inside the
//! subscriber, and a panic out of a thread-local destructor aborts the process.
//! Binding must work there as anywhere else. It does because no binding calls into
//! the subscriber: traced fields are read when an event is handled, and ctxvar makes
//! no span. (The destructor does not log: at that point an event panics inside the
//! subscriber whatever ctxvar does.) Its own test binary, because the subscriber is
//! global (what a service installs) and a failure aborts the whole process.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;

use ctxvar::{Context, ContextFutureExt, context_var};

mod support;
use support::poll_once;

#[context_var(trace = display)]
static REQUEST: String;

#[context_var(trace)]
static ATTEMPT: u32;

/// What the destructor did at thread exit.
#[derive(Debug, PartialEq)]
struct AtExit {
    bound: Result<String, ctxvar::AccessError>,
    nested: Result<(String, u32), ctxvar::AccessError>,
    in_capture: Result<String, ctxvar::AccessError>,
    polled: bool,
}

struct BindsAtExit(mpsc::Sender<AtExit>);

impl Drop for BindsAtExit {
    fn drop(&mut self) {
        let report = REQUEST.sync_scope("at-exit".to_owned(), || {
            let captured = Context::current();
            let mut pending: Pin<Box<dyn Future<Output = ()>>> =
                Box::pin(ATTEMPT.scope(1, std::future::pending::<()>()));
            let polled = poll_once(pending.as_mut()).is_pending();
            drop(pending); // a traced scope dropped mid-way
            let mut in_context = Box::pin(async { REQUEST.try_get() }.in_current_context());
            let _ = poll_once(in_context.as_mut());
            AtExit {
                bound: REQUEST.try_get(),
                nested: ATTEMPT.sync_scope(2, || Ok((REQUEST.try_get()?, ATTEMPT.try_get()?))),
                in_capture: captured.run(|| REQUEST.try_get()),
                polled,
            }
        });
        let _ = self.0.send(report);
    }
}

thread_local! {
    static AT_EXIT: RefCell<Option<BindsAtExit>> = const { RefCell::new(None) };
    /// Traced work made while the thread ran, dropped at its exit.
    static HELD: RefCell<Vec<Held>> = const { RefCell::new(Vec::new()) };
}

/// What `HELD` keeps, only to drop it at thread exit: a traced scope polled once, or a
/// context holding a traced binding.
#[allow(dead_code)] // never read, only dropped
enum Held {
    Scope(Pin<Box<dyn Future<Output = ()>>>),
    Context(Context),
}

/// The global subscriber, installed once for the tests of this binary.
fn install_subscriber() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // `FmtSpan::CLOSE` logs a line when a span closes: dropping a span then calls into
    // the subscriber too.
    ONCE.call_once(|| {
        tracing_subscriber::fmt()
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_writer(std::io::sink)
            .init();
    });
}

fn expected() -> AtExit {
    AtExit {
        bound: Ok("at-exit".to_owned()),
        nested: Ok(("at-exit".to_owned(), 2)),
        in_capture: Ok("at-exit".to_owned()),
        polled: true,
    }
}

#[test]
fn traced_variables_bind_at_thread_exit_without_aborting() {
    install_subscriber();
    reports_at_exit(|register| {
        // Registered before the subscriber first touches its thread-locals on this
        // thread: destructors run in reverse order of registration, so the
        // subscriber's state is gone when ours runs.
        register();
        REQUEST.sync_scope("running".to_owned(), || tracing::info!("thread running"));
    });
}

/// Runs `body` on new threads, four times; `body` registers (by calling its
/// argument) a destructor that binds, reads and captures at the thread's exit, and
/// what it saw must be `expected()`.
fn reports_at_exit(body: impl Fn(&mut dyn FnMut()) + Send + Sync + Copy + 'static) {
    for _ in 0..4 {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            body(&mut || {
                let tx = tx.take().expect("registered once");
                AT_EXIT.with(|slot| *slot.borrow_mut() = Some(BindsAtExit(tx)));
            });
        })
        .join()
        .expect("the thread exits cleanly");
        assert_eq!(rx.recv().unwrap(), expected());
    }
}

#[test]
fn a_destructor_registered_between_a_threads_first_span_and_its_first_entry() {
    // The subscriber makes its state for new spans on the first span, and its state
    // for entered spans on the first entry; a destructor registered in between runs
    // after the second is gone, and must not enter a span there.
    install_subscriber();
    reports_at_exit(|register| {
        let mut scope = Box::pin(REQUEST.scope("created".to_owned(), async {}));
        register();
        assert!(poll_once(scope.as_mut()).is_ready());
    });
}

#[test]
fn traced_scopes_and_contexts_made_earlier_are_dropped_at_thread_exit_without_aborting() {
    // Were a traced binding a span, dropping it here would close it, and the
    // subscriber would log the close after its state is gone.
    install_subscriber();
    for _ in 0..4 {
        std::thread::spawn(|| {
            // Registered before the subscriber's state: dropped after it is gone.
            HELD.with(|_| ());
            let mut scope: Pin<Box<dyn Future<Output = ()>>> =
                Box::pin(ATTEMPT.scope(1, std::future::pending::<()>()));
            assert!(poll_once(scope.as_mut()).is_pending());
            // The only holder of the traced value once the binding ends.
            let context = REQUEST.sync_scope("captured".to_owned(), Context::current);
            tracing::info!("logged while running");
            HELD.with(|held| {
                held.borrow_mut()
                    .extend([Held::Scope(scope), Held::Context(context)]);
            });
        })
        .join()
        .expect("the thread exits cleanly");
    }
}
