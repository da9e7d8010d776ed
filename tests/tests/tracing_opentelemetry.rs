//! Feature `tracing` with `tracing-opentelemetry` (which exports every `tracing` span
//! as an OpenTelemetry span, and since 0.34 makes it the current OpenTelemetry context while it
//! is entered): binding traced variables exports nothing, so the user's spans keep
//! their parents and their number. An in-memory exporter shows what would be sent.

use ctxvar::{context_var, with_context};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;

#[context_var(trace = display)]
static REQUEST_ID: u64;

#[context_var(trace)]
static TENANT: &'static str;

#[with_context(TENANT = "acme")]
async fn handler() {
    tracing::info!("handled");
    tokio::task::yield_now().await;
    tracing::info!("done");
}

#[with_context(REQUEST_ID = id)]
#[tracing::instrument(name = "request")]
async fn request(id: u64) {
    handler().await;
    REQUEST_ID.sync_scope(id + 1, || tracing::info!("rebound"));
}

/// The exported spans' names, and how many events each recorded, after `work` ran
/// under a subscriber with the `tracing-opentelemetry` layer.
fn exported(work: impl FnOnce()) -> Vec<(String, usize)> {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("ctxvar-tests")));
    tracing::subscriber::with_default(subscriber, work);
    provider.force_flush().unwrap();
    exporter
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .map(|span| (span.name.into_owned(), span.events.len()))
        .collect()
}

fn block_on(work: impl Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(work);
}

#[test]
fn bindings_export_no_span_and_events_stay_on_the_users_span() {
    let spans = exported(|| block_on(request(7)));
    // One span, the user's, with all three events: no span per binding call (two
    // attributes and a `sync_scope`) came between them.
    assert_eq!(spans, [("request".to_owned(), 3)]);
}

#[test]
fn bindings_outside_any_span_export_nothing() {
    let spans = exported(|| {
        block_on(async {
            REQUEST_ID.scope(1, handler()).await;
        });
    });
    assert_eq!(spans, []);
}

#[test]
fn the_exporter_does_see_a_span_a_binding_would_make() {
    // What the tests above would see if a binding made a span, as it once did (one
    // named `ctxvar` per binding call): so their expectations can fail.
    let spans = exported(|| {
        REQUEST_ID.sync_scope(1, || {
            let _span = tracing::error_span!("ctxvar", request_id = 1).entered();
            tracing::info!("inside");
        });
    });
    assert_eq!(spans, [("ctxvar".to_owned(), 1)]);
}
