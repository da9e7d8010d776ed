//! The first program of the article ctxvar grew from, in Rust: concurrent requests,
//! each with its own correlation id, and a logging helper that reads the id without
//! taking it as a parameter.
//!
//! ```sh
//! cargo run --example correlation_id
//! ```
//!
//! The three requests run concurrently in one task (`join_all`, Python's `gather`):
//! all three are received before any is processed, and every log line carries the
//! `correlation_id` of the request it is about.

use std::time::Duration;

use ctxvar::{context_var, uses_context, with_context};

/// The correlation id of the request being handled.
#[context_var]
static CORRELATION_ID: String;

/// Logs a message with the current request's correlation id as a field.
///
/// `#[uses_context]` is what lets this function read `CORRELATION_ID`: its callers
/// must have bound it (checked when it is entered). Without the attribute, the read
/// below would not compile.
#[uses_context(CORRELATION_ID)]
fn log_message(message: &str) {
    tracing::info!(correlation_id = %CORRELATION_ID.get(), "{message}");
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
    // Lines without timestamps or module names: the message and its fields.
    tracing_subscriber::fmt()
        .without_time()
        .with_target(false)
        .init();

    let requests = (0..3).map(|i| process_request(format!("request_{i}")));
    futures::future::join_all(requests).await;
}
