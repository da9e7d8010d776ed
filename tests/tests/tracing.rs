//! Feature `tracing`: a variable declared `#[context_var(trace)]` is a field on every
//! `tracing` event emitted while it is bound, and on no other, read when the event is
//! handled. Checked with a capturing layer (the exact fields of each event) for
//! nesting, rebinding, cancellation, spawned work, `inherit = false`, streams and
//! scopes built before they are polled; and with `tracing_subscriber::fmt()`'s text
//! and JSON formats wrapped in `ctxvar::trace::ContextFields` (control characters in
//! values escaped on text lines). No binding creates a span.

// Tests declare helper fns next to their use.
#![allow(clippy::items_after_statements)]

use std::io;
use std::sync::{Arc, Mutex};

use ctxvar::trace::ContextFields;
use ctxvar::{context_var, with_context};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

mod support;
use support::{Capture, Logged};

/// The id of the request being handled, logged as `correlation_id=...`.
#[context_var(trace = display)]
static CORRELATION_ID: String;

/// Recorded with `Debug`, the default.
#[context_var(trace)]
static ATTEMPT: u32;

/// Traced, but stays with its task.
#[context_var(trace, inherit = false)]
static TRANSACTION: u32;

/// Not traced: never appears in logs.
#[context_var]
static SECRET: u64;

/// The logging helper: a plain `tracing::info!`, no read of any variable.
fn log(message: &str) {
    tracing::info!("{message}");
}

// -------------------------------------------------------------------------------
// A registry with a layer that records, for each event, its message and the
// traced variables `ctxvar::trace::for_each_field` reports where it is emitted.
// -------------------------------------------------------------------------------

/// One event: its message and the `name=value` of each traced variable.
type Seen = Logged;

/// Runs `work` on a current-thread runtime with a capturing subscriber as the
/// default, and returns what it saw.
fn captured(work: impl Future<Output = ()>) -> Vec<Seen> {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _default = tracing::subscriber::set_default(subscriber);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(work);
    capture.events()
}

/// An event as the tests write it.
fn seen(message: &str, fields: &[&str]) -> Seen {
    Logged {
        message: message.to_owned(),
        fields: fields.iter().map(|field| (*field).to_owned()).collect(),
    }
}

#[with_context(CORRELATION_ID = format!("req-{n}"), SECRET = 42)]
async fn handle(n: u32) {
    log("received");
    tokio::task::yield_now().await;
    log("processed");
}

#[test]
fn concurrent_requests_each_show_their_own_value_and_untraced_variables_never_show() {
    let events = captured(async {
        futures::future::join(handle(1), handle(2)).await;
        log("after");
    });
    assert_eq!(
        events,
        [
            seen("received", &["correlation_id=req-1"]),
            seen("received", &["correlation_id=req-2"]),
            seen("processed", &["correlation_id=req-1"]),
            seen("processed", &["correlation_id=req-2"]),
            seen("after", &[]),
        ]
    );
}

#[test]
fn nesting_shows_outermost_first_and_a_rebinding_shows_only_the_innermost_value() {
    let events = captured(async {
        CORRELATION_ID
            .scope("outer".to_owned(), async {
                ATTEMPT
                    .scope(1, async {
                        log("nested");
                        ATTEMPT.scope(2, async { log("rebound") }).await;
                        log("back");
                    })
                    .await;
                log("one left");
            })
            .await;
        ATTEMPT.sync_scope(3, || log("sync"));
    });
    assert_eq!(
        events,
        [
            seen("nested", &["correlation_id=outer", "attempt=1"]),
            seen("rebound", &["correlation_id=outer", "attempt=2"]),
            seen("back", &["correlation_id=outer", "attempt=1"]),
            seen("one left", &["correlation_id=outer"]),
            seen("sync", &["attempt=3"]),
        ]
    );
}

#[test]
fn several_variables_bound_by_one_call_all_show() {
    let events = captured(async {
        CORRELATION_ID
            .bind("req".to_owned())
            .and(ATTEMPT.bind(4))
            .and(SECRET.bind(5))
            .scope(async { log("together") })
            .await;
    });
    assert_eq!(
        events,
        [seen("together", &["correlation_id=req", "attempt=4"])]
    );
}

#[test]
fn events_from_destructors_of_a_cancelled_scope_show_the_values() {
    /// Logs when dropped.
    struct LogsOnDrop;
    impl Drop for LogsOnDrop {
        fn drop(&mut self) {
            log("cleaned up");
        }
    }
    let events = captured(async {
        let guarded = CORRELATION_ID.scope("req-9".to_owned(), async {
            let _guard = LogsOnDrop;
            log("started");
            std::future::pending::<()>().await;
        });
        // Polled once inside another binding, then dropped mid-way outside it.
        let mut guarded = Box::pin(guarded);
        ATTEMPT
            .scope(1, async {
                assert!(futures::poll!(guarded.as_mut()).is_pending());
            })
            .await;
        drop(guarded);
    });
    assert_eq!(
        events,
        [
            seen("started", &["attempt=1", "correlation_id=req-9"]),
            seen("cleaned up", &["correlation_id=req-9"]),
        ]
    );
}

#[test]
fn a_scope_built_before_it_is_polled_shows_its_pollers_values_too() {
    let events = captured(async {
        let built_outside = CORRELATION_ID.scope("req".to_owned(), async { log("polled") });
        ATTEMPT.scope(7, built_outside).await;
    });
    assert_eq!(
        events,
        [seen("polled", &["attempt=7", "correlation_id=req"])]
    );
}

#[cfg(feature = "tokio")]
#[test]
fn spawned_work_shows_what_it_inherits_and_nothing_else() {
    let events = captured(async {
        CORRELATION_ID
            .scope("parent".to_owned(), async {
                TRANSACTION
                    .scope(1, async {
                        log("in the parent");
                        ctxvar::spawn(async { log("ctxvar task") }).await.unwrap();
                        // The test's subscriber is this thread's default: passed on.
                        let dispatch = tracing::dispatcher::get_default(Clone::clone);
                        let on_blocking = dispatch.clone();
                        ctxvar::spawn_blocking(move || {
                            tracing::dispatcher::with_default(&on_blocking, || log("blocking"));
                        })
                        .await
                        .unwrap();
                        ctxvar::thread::spawn(move || {
                            tracing::dispatcher::with_default(&dispatch, || log("thread"));
                        })
                        .join()
                        .unwrap();
                        tokio::spawn(async { log("tokio task") }).await.unwrap();
                    })
                    .await;
            })
            .await;
    });
    assert_eq!(
        events,
        [
            seen("in the parent", &["correlation_id=parent", "transaction=1"]),
            seen("ctxvar task", &["correlation_id=parent"]),
            seen("blocking", &["correlation_id=parent"]),
            seen("thread", &["correlation_id=parent"]),
            seen("tokio task", &[]),
        ]
    );
}

#[test]
fn a_stream_shows_its_values_on_every_item() {
    use futures::StreamExt;
    let events = captured(async {
        let items = futures::stream::iter(0..2).map(|n| {
            tracing::info!("item {n}");
            n
        });
        let items = ATTEMPT.bind(5).scope_stream(items);
        let collected: Vec<u32> = CORRELATION_ID
            .scope("req".to_owned(), items.collect())
            .await;
        assert_eq!(collected, [0, 1]);
    });
    assert_eq!(
        events,
        [
            seen("item 0", &["correlation_id=req", "attempt=5"]),
            seen("item 1", &["correlation_id=req", "attempt=5"]),
        ]
    );
}

#[test]
fn no_binding_creates_a_span() {
    let events = captured(async {
        ATTEMPT.scope(1, async { log("traced") }).await;
        CORRELATION_ID.sync_scope("req".to_owned(), || {
            ctxvar::Context::current().run(|| log("in a context"));
        });
        // The layer does see spans: this one is the user's own.
        tracing::info_span!("request").in_scope(|| log("in a span"));
    });
    assert_eq!(
        events,
        [
            seen("traced", &["attempt=1"]),
            seen("in a context", &["correlation_id=req"]),
            seen("a span was created", &[]),
            seen("in a span", &[]),
        ]
    );
}

// -------------------------------------------------------------------------------
// `tracing_subscriber::fmt()` with `ContextFields`: the lines themselves.
// -------------------------------------------------------------------------------

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

/// `fmt()` writing to `output`, without time, target or ANSI colours: what the tests
/// configure further and wrap in `ContextFields`.
fn fmt_to(
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
        .with_target(false)
}

/// The lines `subscriber` writes to `output` while `work` runs.
fn lines_of<S>(output: &Output, subscriber: S, work: impl FnOnce()) -> Vec<String>
where
    S: tracing::Subscriber + Send + Sync + 'static,
{
    tracing::subscriber::with_default(subscriber, work);
    output.lines()
}

/// Logs once with two traced variables and an untraced one bound, once with one, and
/// once with none; each event has a field of its own.
fn three_events() {
    CORRELATION_ID.sync_scope("req-1".to_owned(), || {
        ATTEMPT.sync_scope(2, || {
            SECRET.sync_scope(42, || tracing::info!(status = 200, "both"));
        });
        tracing::info!("one");
    });
    tracing::info!("none");
}

#[test]
fn text_lines_end_with_the_values_bound_where_they_were_logged() {
    let output = Output::default();
    let subscriber = fmt_to(&output)
        .map_event_format(ContextFields::text)
        .finish();
    assert_eq!(
        lines_of(&output, subscriber, three_events),
        [
            " INFO both status=200 correlation_id=req-1 attempt=2",
            " INFO one correlation_id=req-1",
            " INFO none",
        ]
    );
}

#[test]
fn compact_lines_show_the_values_too() {
    let output = Output::default();
    let subscriber = fmt_to(&output)
        .compact()
        .map_event_format(ContextFields::text)
        .finish();
    assert_eq!(
        lines_of(&output, subscriber, three_events),
        [
            " INFO both status=200 correlation_id=req-1 attempt=2",
            " INFO one correlation_id=req-1",
            " INFO none",
        ]
    );
}

#[test]
fn with_ansi_colours_the_names_as_the_events_own_fields_are() {
    let output = Output::default();
    let subscriber = fmt_to(&output)
        .with_ansi(true)
        .map_event_format(ContextFields::text)
        .finish();
    let lines = lines_of(&output, subscriber, || {
        ATTEMPT.sync_scope(2, || tracing::info!(status = 200, "coloured"));
    });
    assert_eq!(lines.len(), 1, "{lines:#?}");
    // The event's own field and ours, written alike.
    assert!(
        lines[0].ends_with(
            "\x1b[3mstatus\x1b[0m\x1b[2m=\x1b[0m200 \x1b[3mattempt\x1b[0m\x1b[2m=\x1b[0m2"
        ),
        "{:?}",
        lines[0]
    );
}

#[test]
fn json_objects_hold_the_values_among_the_events_fields() {
    let output = Output::default();
    let subscriber = fmt_to(&output)
        .json()
        .map_event_format(ContextFields::json)
        .finish();
    assert_eq!(
        lines_of(&output, subscriber, three_events),
        [
            r#"{"level":"INFO","fields":{"correlation_id":"req-1","attempt":"2","message":"both","status":200}}"#,
            r#"{"level":"INFO","fields":{"correlation_id":"req-1","message":"one"}}"#,
            r#"{"level":"INFO","fields":{"message":"none"}}"#,
        ]
    );
}

#[test]
fn flattened_json_objects_hold_the_values_at_the_top_level() {
    let output = Output::default();
    let subscriber = fmt_to(&output)
        .json()
        .flatten_event(true)
        .map_event_format(ContextFields::json)
        .finish();
    assert_eq!(
        lines_of(&output, subscriber, || {
            ATTEMPT.sync_scope(2, || tracing::info!("flat"));
        }),
        [r#"{"attempt":"2","level":"INFO","message":"flat"}"#]
    );
}

/// Shown with `Display`, so whatever its text is must come out as one JSON string.
#[context_var(trace = display)]
static NOTE: &'static str;

#[test]
fn json_escapes_the_values() {
    let output = Output::default();
    let subscriber = fmt_to(&output)
        .json()
        .map_event_format(ContextFields::json)
        .finish();
    let lines = lines_of(&output, subscriber, || {
        NOTE.sync_scope("a \"quoted\" \\ line\nand\tmore\u{1}", || {
            tracing::info!("escaped");
        });
    });
    assert_eq!(
        lines,
        [
            r#"{"level":"INFO","fields":{"note":"a \"quoted\" \\ line\nand\tmore\u0001","message":"escaped"}}"#
        ]
    );
}

/// A `Debug` whose output is raw text: its control characters reach the line unless
/// `ContextFields` escapes them (`str`'s own `Debug` would escape them itself).
struct RawDebug(&'static str);

impl std::fmt::Debug for RawDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

#[context_var(trace)]
static RAW: RawDebug;

/// The bytes `subscriber` writes to `output` while `work` runs, as text.
fn text_of<S>(output: &Output, subscriber: S, work: impl FnOnce()) -> String
where
    S: tracing::Subscriber + Send + Sync + 'static,
{
    tracing::subscriber::with_default(subscriber, work);
    String::from_utf8(output.0.lock().unwrap().clone()).unwrap()
}

#[test]
fn text_lines_escape_control_characters_in_values() {
    for ansi in [false, true] {
        let output = Output::default();
        let subscriber = fmt_to(&output)
            .with_ansi(ansi)
            .map_event_format(ContextFields::text)
            .finish();
        let text = text_of(&output, subscriber, || {
            NOTE.sync_scope("red\x1b[31m\n INFO forged\r\t\u{7}\x7f\u{9b}end", || {
                RAW.sync_scope(RawDebug("raw\x1b]0;title\x07\n"), || {
                    tracing::info!("hostile");
                });
            });
        });
        // One line, ending in the only newline; no control byte in it but the ESCs of
        // the styling the writer asked for: the level in green, field names in
        // italics, a dimmed `=`.
        assert_eq!(text.matches('\n').count(), 1, "{text:?}");
        assert!(text.ends_with('\n'), "{text:?}");
        let line = text.trim_end_matches('\n');
        let styling = ["\x1b[32m", "\x1b[3m", "\x1b[0m", "\x1b[2m"];
        let mut unstyled = line.to_owned();
        for style in styling {
            unstyled = unstyled.replace(style, "");
        }
        assert!(!unstyled.chars().any(char::is_control), "{line:?}");
        assert_eq!(ansi, line.contains('\x1b'), "{line:?}");
        // Each control in its escaped form, for `Display` and `Debug` values alike.
        assert!(
            unstyled.ends_with(
                r"note=red\x1b[31m\n INFO forged\r\t\x07\x7f\u{9b}end raw=raw\x1b]0;title\x07\n"
            ),
            "{unstyled:?}"
        );
    }
}

#[test]
fn text_lines_keep_values_without_control_characters_as_they_are() {
    let output = Output::default();
    let subscriber = fmt_to(&output)
        .map_event_format(ContextFields::text)
        .finish();
    let lines = lines_of(&output, subscriber, || {
        NOTE.sync_scope(r#"C:\dir "quoted" \x1b ü€😀 a=b"#, || {
            RAW.sync_scope(RawDebug("plain"), || tracing::info!("plain"));
        });
    });
    // Backslashes, quotes, non-ASCII and text that merely looks like an escape are
    // not touched.
    assert_eq!(
        lines,
        [r#" INFO plain note=C:\dir "quoted" \x1b ü€😀 a=b raw=plain"#]
    );
}

/// A value whose `Display` logs: formatting it emits an event while another is being
/// formatted, which must neither deadlock nor lose either line.
struct LogsWhenShown;

impl std::fmt::Display for LogsWhenShown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        tracing::info!("from inside");
        f.write_str("shown")
    }
}

#[context_var(trace = display)]
static SHOWN: LogsWhenShown;

#[test]
fn a_value_that_logs_while_it_is_shown_is_fine() {
    let output = Output::default();
    let subscriber = fmt_to(&output)
        .map_event_format(ContextFields::text)
        .finish();
    let lines = lines_of(&output, subscriber, || {
        SHOWN.sync_scope(LogsWhenShown, || tracing::info!("outer"));
    });
    // `tracing` drops an event emitted from inside the dispatch of another on the same
    // thread, so the outer line is the only one.
    assert_eq!(lines, [" INFO outer shown=shown"]);
}

/// Shown under a field name of the user's choosing.
#[context_var(trace = display, field = "tenant.id")]
static TENANT_ID: &'static str;

#[test]
fn a_field_name_given_in_the_declaration_is_the_one_shown() {
    let events = captured(async {
        TENANT_ID.sync_scope("acme", || log("named"));
    });
    assert_eq!(events, [seen("named", &["tenant.id=acme"])]);
    let output = Output::default();
    let subscriber = fmt_to(&output)
        .json()
        .map_event_format(ContextFields::json)
        .finish();
    let lines = lines_of(&output, subscriber, || {
        TENANT_ID.sync_scope("acme", || log("named"));
    });
    assert_eq!(
        lines,
        [r#"{"level":"INFO","fields":{"tenant.id":"acme","message":"named"}}"#]
    );
}

#[test]
fn a_scope_moved_between_polls_shows_its_values_at_each_place() {
    use std::task::Poll;
    /// Logs on each poll; ready on the second.
    struct LogsOnPoll(u32);
    impl Future for LogsOnPoll {
        type Output = ();
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
            self.0 += 1;
            tracing::info!("poll {}", self.0);
            if self.0 == 2 {
                Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
    impl Drop for LogsOnPoll {
        fn drop(&mut self) {
            tracing::info!("dropped");
        }
    }
    let events = captured(async {
        // `Unpin`, so it can be polled, moved out of its box, and polled again.
        let boxed = Box::new(CORRELATION_ID.scope("req".to_owned(), LogsOnPoll(0)));
        let mut boxed = boxed;
        assert!(futures::poll!(&mut *boxed).is_pending());
        let mut moved = *boxed;
        ATTEMPT
            .scope(3, async { assert!(futures::poll!(&mut moved).is_ready()) })
            .await;
        let swapped = std::mem::replace(
            &mut moved,
            CORRELATION_ID.scope("other".to_owned(), LogsOnPoll(1)),
        );
        drop(swapped);
        drop(moved);
    });
    assert_eq!(
        events,
        [
            seen("poll 1", &["correlation_id=req"]),
            seen("poll 2", &["attempt=3", "correlation_id=req"]),
            seen("dropped", &["correlation_id=req"]),
            seen("dropped", &["correlation_id=other"]),
        ]
    );
}
