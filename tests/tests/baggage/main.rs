//! `ctxvar::baggage`: the parser of incoming `baggage` headers (malformed, hostile and
//! oversized input, through the public API), `inject`'s merge with headers already
//! there and with the OpenTelemetry context, a round trip, and two axum services over
//! loopback: A binds a tenant and a request id from its own request's headers and
//! calls B with a real HTTP client; B, behind the baggage layer, sees A's values, in
//! its handler and in its log lines, for 300 concurrent requests.
//!
//! Modules: [`extract`] (parsing incoming headers), [`inject`] (writing outgoing
//! ones), [`loopback`] (the two services). This file holds what they share: the
//! variables, the list, and the process-wide log capture.

use std::sync::{LazyLock, OnceLock};

use ctxvar::baggage::Baggage;
use ctxvar::context_var;
use tracing_subscriber::layer::SubscriberExt;

#[path = "../support/mod.rs"]
mod support;
use support::Capture;

mod extract;
mod inject;
mod loopback;
mod propagator;

/// The tenant of the request; shown as `tenant=..` on log lines.
#[context_var(trace = display)]
static TENANT: String;

/// The request's id; shown as `request_id=..` on log lines.
#[context_var(trace)]
static REQUEST_ID: u64;

/// Never listed: must never travel.
#[context_var]
static SECRET: String;

/// The list both services share.
static BAGGAGE: LazyLock<Baggage> = LazyLock::new(|| {
    Baggage::new()
        .var("tenant", TENANT)
        .var("request.id", REQUEST_ID)
});

/// Makes sure a subscriber that wants every event is installed for the process, so
/// that no callsite can cache "never": tests run in parallel, and one that reaches a
/// callsite first, on a thread without a subscriber, could otherwise register it as
/// uninteresting while another thread's capture was being installed, and that capture
/// would miss the event (seen once under valgrind, whose timing differs). A capture
/// installed for one thread still receives that thread's events alone.
fn always_interested() {
    let _ = global_capture();
}

/// The process-wide capture: the services log on the runtime's worker threads.
fn global_capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(capture.clone()),
        )
        .unwrap();
        capture
    })
}
