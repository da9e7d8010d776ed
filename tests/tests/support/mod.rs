//! Small helpers shared by the behaviour tests.

#![allow(dead_code, unreachable_pub)] // each test crate uses a different subset

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that returns `Pending` `n` times (waking itself each time) before `Ready`,
/// so a test controls exactly how many polls a scope sees.
pub struct PendingN {
    left: usize,
}

pub fn pending_n(n: usize) -> PendingN {
    PendingN { left: n }
}

impl Future for PendingN {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.left == 0 {
            Poll::Ready(())
        } else {
            self.left -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Polls `fut` once with a no-op waker.
pub fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(std::task::Waker::noop()))
}

/// Runs `f` and returns the panic message it raised.
pub fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let payload = std::panic::catch_unwind(f).expect_err("expected a panic");
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        panic!("panic payload is not a string")
    }
}

/// Runs the future `make` returns on tokio's current-thread runtime, then on its
/// multi-thread runtime (4 workers): behaviour that must hold on both.
pub fn on_both_runtimes<F: Future<Output = ()>>(make: impl Fn() -> F) {
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    current.block_on(make());
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    multi.block_on(make());
}

/// A `tracing` layer that records each event's message with the traced context
/// variables bound where it was emitted (`ctxvar::trace::for_each_field`), and each
/// span created (as a `Logged` with the message `"a span was created"`).
#[derive(Clone, Default)]
pub struct Capture(std::sync::Arc<std::sync::Mutex<Vec<Logged>>>);

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub message: String,
    /// `name=value` of each traced variable, outermost binding first.
    pub fields: Vec<String>,
}

impl Capture {
    /// What was recorded so far.
    pub fn events(&self) -> Vec<Logged> {
        self.0.lock().unwrap().clone()
    }

    /// Forgets what was recorded so far.
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

/// Takes an event's `message` field.
struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        let mut fields = Vec::new();
        ctxvar::trace::for_each_field(|name, value| fields.push(format!("{name}={value}")));
        self.0.lock().unwrap().push(Logged {
            message: message.0,
            fields,
        });
    }

    fn on_new_span(
        &self,
        _: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        self.0.lock().unwrap().push(Logged {
            message: "a span was created".to_owned(),
            fields: Vec::new(),
        });
    }
}
