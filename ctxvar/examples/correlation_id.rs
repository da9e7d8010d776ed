//! The first of the three Python `contextvars` programs ctxvar grew from, in Rust:
//! concurrent requests, each with its own correlation id, and a logging helper that
//! reads the id without taking it as a parameter.
//!
//! ```sh
//! cargo run --example correlation_id
//! ```
//!
//! The three requests run concurrently in one task (`join_all`, Python's `gather`):
//! all three are received before any is processed, and every log line carries the
//! `correlation_id` of the request it is about, though the logging code never reads
//! it: the variable is declared `#[context_var(trace = display)]` (feature `tracing`).

use std::time::Duration;

use ctxvar::{context_var, with_context};

/// The correlation id of the request being handled.
///
/// `trace = display` (feature `tracing`): while it is bound, every `tracing` event
/// carries it as the field `correlation_id`, recorded with `Display`.
#[context_var(trace = display)]
static CORRELATION_ID: String;

/// The logging helper: it never reads the variable, yet every line it logs shows
/// the current request's correlation id.
fn log_message(message: &str) {
    tracing::info!("{message}");
}

/// Handles one request. The attribute binds a fresh id on entry, for this call only:
/// concurrent calls each see their own, across every `.await`.
#[with_context(CORRELATION_ID = uuid::Uuid::new_v4().to_string())]
async fn process_request(request_data: String) {
    log_message(&format!("Received: {request_data}"));
    tokio::time::sleep(Duration::from_millis(100)).await; // simulate some work
    log_message(&format!("Processed: {request_data}"));
}

#[tokio::main]
async fn main() {
    // Lines without timestamps or module names: the message, then the traced
    // variables bound where it was logged (`ContextFields`).
    tracing_subscriber::fmt()
        .without_time()
        .with_target(false)
        .map_event_format(ctxvar::trace::ContextFields::text)
        .init();

    let requests = (0..3).map(|i| process_request(format!("request_{i}")));
    futures::future::join_all(requests).await;
}
