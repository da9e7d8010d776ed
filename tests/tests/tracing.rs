//! Feature `tracing`: a variable declared `#[context_var(trace)]` appears as a field on
//! every `tracing` event emitted while it is bound, from logging code that never reads
//! it, in `tracing_subscriber::fmt()`'s default, compact and JSON formats, and in tasks
//! spawned with `ctxvar::spawn`. Variables without the opt-in create no spans.

// Tests declare helper fns next to their use.
#![allow(clippy::items_after_statements)]

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ctxvar::{context_var, with_context};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// The id of the request being handled, logged as `correlation_id=...`.
#[context_var(trace = display)]
static CORRELATION_ID: String;

/// Recorded with `Debug`, the default.
#[context_var(trace)]
static ATTEMPT: u32;

/// Not traced: never appears in logs, creates no span.
#[context_var]
static SECRET: u64;

/// Where a test's subscriber writes: one shared buffer.
#[derive(Clone, Default)]
struct Output(Arc<Mutex<Vec<u8>>>);

impl Output {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl io::Write for Output {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Output {
    type Writer = Output;
    fn make_writer(&'a self) -> Output {
        self.clone()
    }
}

/// The logging helper: a plain `tracing::info!`, no read of any variable.
fn log(message: &str) {
    tracing::info!("{message}");
}

#[with_context(CORRELATION_ID = format!("req-{n}"), SECRET = 42)]
async fn handle(n: u32) {
    log("received");
    tokio::task::yield_now().await;
    log("processed");
}

/// Runs `work` on a current-thread runtime with `subscriber` as the default.
fn run_with<S>(subscriber: S, work: impl Future<Output = ()>)
where
    S: tracing::Subscriber + Send + Sync + 'static,
{
    let _default = tracing::subscriber::set_default(subscriber);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(work);
}

fn fmt_subscriber(
    output: &Output,
) -> tracing_subscriber::fmt::SubscriberBuilder<
    tracing_subscriber::fmt::format::DefaultFields,
    tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Full, ()>,
    tracing_subscriber::filter::LevelFilter,
    Output,
> {
    tracing_subscriber::fmt()
        .with_writer(output.clone())
        .with_ansi(false)
        .without_time()
}

#[test]
fn default_format_shows_each_requests_id_on_each_of_its_lines() {
    let output = Output::default();
    run_with(fmt_subscriber(&output).finish(), async {
        futures::future::join(handle(1), handle(2)).await;
    });
    let lines = output.lines();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    // Interleaved: both received before either is processed, each line with its id.
    for (line, (id, message)) in lines.iter().zip([
        (1, "received"),
        (2, "received"),
        (1, "processed"),
        (2, "processed"),
    ]) {
        assert!(
            line.contains(&format!("ctxvar{{correlation_id=req-{id}}}:")),
            "{line}"
        );
        assert!(line.ends_with(message), "{line}");
        assert!(!line.contains("42") && !line.contains("secret"), "{line}");
    }
}

#[test]
fn compact_format_shows_the_field() {
    let output = Output::default();
    run_with(fmt_subscriber(&output).compact().finish(), handle(7));
    let lines = output.lines();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    for line in &lines {
        assert!(line.contains("correlation_id=req-7"), "{line}");
    }
}

#[test]
fn json_format_shows_the_field_in_the_span() {
    let output = Output::default();
    run_with(fmt_subscriber(&output).json().finish(), handle(3));
    let lines = output.lines();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    for line in &lines {
        assert!(
            line.contains(r#""span":{"correlation_id":"req-3","name":"ctxvar"}"#),
            "{line}"
        );
    }
}

#[test]
fn debug_is_the_default_and_a_rebinding_is_the_innermost_span() {
    let output = Output::default();
    run_with(fmt_subscriber(&output).finish(), async {
        ATTEMPT
            .scope(1, async {
                log("first");
                ATTEMPT.scope(2, async { log("second") }).await;
                log("first again");
            })
            .await;
        log("unbound");
    });
    let lines = output.lines();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(lines[0].contains("ctxvar{attempt=1}: "), "{}", lines[0]);
    assert!(
        lines[1].contains("ctxvar{attempt=1}:ctxvar{attempt=2}: "),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains("ctxvar{attempt=1}: "), "{}", lines[2]);
    assert!(!lines[3].contains("ctxvar"), "{}", lines[3]);
}

#[test]
fn sync_scope_shows_the_field() {
    let output = Output::default();
    let _default = tracing::subscriber::set_default(fmt_subscriber(&output).finish());
    CORRELATION_ID.sync_scope("sync".to_owned(), || log("inside"));
    log("outside");
    let lines = output.lines();
    assert!(
        lines[0].contains("ctxvar{correlation_id=sync}: "),
        "{}",
        lines[0]
    );
    assert!(!lines[1].contains("ctxvar"), "{}", lines[1]);
}

#[cfg(feature = "tokio")]
#[test]
fn tasks_spawned_with_ctxvar_spawn_log_the_field_and_tokio_spawn_does_not() {
    let output = Output::default();
    run_with(fmt_subscriber(&output).finish(), async {
        CORRELATION_ID
            .scope("parent".to_owned(), async {
                ctxvar::spawn(async { log("ctxvar task") }).await.unwrap();
                tokio::spawn(async { log("tokio task") }).await.unwrap();
            })
            .await;
    });
    let lines = output.lines();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].contains("ctxvar{correlation_id=parent}: "),
        "{}",
        lines[0]
    );
    assert!(!lines[1].contains("correlation_id"), "{}", lines[1]);
}

/// Counts the spans a subscriber is asked to create.
struct CountSpans(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountSpans {
    fn on_new_span(
        &self,
        _: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn variables_without_the_opt_in_create_no_span() {
    let spans = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(CountSpans(spans.clone()));
    run_with(subscriber, async {
        SECRET.scope(1, async { log("untraced") }).await;
        SECRET.sync_scope(2, || log("untraced"));
        let _ = ctxvar::Context::current();
    });
    assert_eq!(spans.load(Ordering::Relaxed), 0);
    // The same counter sees a traced binding's span, so the zero above means something.
    let subscriber = tracing_subscriber::registry().with(CountSpans(spans.clone()));
    run_with(subscriber, async {
        ATTEMPT.scope(1, async { log("traced") }).await;
    });
    assert_eq!(spans.load(Ordering::Relaxed), 1);
}

#[test]
fn events_from_destructors_of_a_cancelled_scope_show_the_field() {
    /// Logs when dropped.
    struct LogsOnDrop;
    impl Drop for LogsOnDrop {
        fn drop(&mut self) {
            log("cleaned up");
        }
    }
    let output = Output::default();
    run_with(fmt_subscriber(&output).finish(), async {
        let guarded = CORRELATION_ID.scope("req-9".to_owned(), async {
            let _guard = LogsOnDrop;
            log("started");
            std::future::pending::<()>().await;
        });
        // Polled once, then dropped mid-way: cancelled.
        let mut guarded = Box::pin(guarded);
        assert!(futures::poll!(guarded.as_mut()).is_pending());
        drop(guarded);
    });
    let lines = output.lines();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    for (line, message) in lines.iter().zip(["started", "cleaned up"]) {
        assert!(line.contains("ctxvar{correlation_id=req-9}:"), "{line}");
        assert!(line.ends_with(message), "{line}");
    }
}
