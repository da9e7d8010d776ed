//! The facts the seed's first program shows (see `ctxvar/examples/correlation_id.rs`),
//! asserted: concurrent requests each log their own correlation id on every line.

// Tests declare helper fns next to their use, and exercise every receiver and shape
// of function the attributes accept, some of which clippy would rewrite.
#![allow(
    clippy::items_after_statements,
    clippy::unused_async,
    clippy::boxed_local
)]

use std::sync::Mutex;

use ctxvar::{uses_context, with_context};
use ctxvar_tests::REQUEST_ID;

static LOG: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

#[uses_context(REQUEST_ID)]
async fn log_message(message: String) {
    LOG.lock().unwrap().push((REQUEST_ID.get(), message));
}

#[with_context(REQUEST_ID = format!("id-of-{request_data}"))]
async fn process_request(request_data: String) {
    log_message(format!("Received: {request_data}")).await;
    tokio::task::yield_now().await;
    log_message(format!("Processed: {request_data}")).await;
}

#[tokio::test]
async fn concurrent_requests_log_their_own_correlation_id() {
    let requests = (0..3).map(|i| process_request(format!("request_{i}")));
    futures::future::join_all(requests).await;
    let log = LOG.lock().unwrap().clone();
    assert_eq!(log.len(), 6);
    // The requests interleave: all three are received before any is processed...
    assert!(
        log[..3].iter().all(|(_, m)| m.starts_with("Received")),
        "{log:?}"
    );
    // ...and every line carries the id of the request it is about.
    for (id, message) in &log {
        let request = message.split(": ").nth(1).unwrap();
        assert_eq!(id, &format!("id-of-{request}"));
    }
}
