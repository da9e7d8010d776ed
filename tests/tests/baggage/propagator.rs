//! The list as an OpenTelemetry propagator: any carrier (here the headers of a queue
//! message, a map), composed with W3C trace context, under the same hostile-input
//! rules as the `HeaderMap` functions.

use std::collections::HashMap;

use ctxvar::baggage::extracted_context;
use opentelemetry::KeyValue;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::propagation::TraceContextPropagator;

use crate::{BAGGAGE, REQUEST_ID, TENANT};

/// The headers of a message sent with `TENANT` and `REQUEST_ID` bound, through
/// `propagator`, with `cx` as the OpenTelemetry context.
fn sent(
    propagator: &dyn TextMapPropagator,
    cx: &opentelemetry::Context,
) -> HashMap<String, String> {
    let mut headers = HashMap::new();
    TENANT.sync_scope("acme".to_owned(), || {
        REQUEST_ID.sync_scope(7, || propagator.inject_context(cx, &mut headers));
    });
    headers
}

/// What a receiver that runs its handling in the extracted context reads.
fn received(cx: &opentelemetry::Context) -> Option<(Result<String, ctxvar::AccessError>, bool)> {
    extracted_context(cx).map(|ctx| ctx.run(|| (TENANT.try_get(), REQUEST_ID.is_bound())))
}

fn remote_span() -> SpanContext {
    SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    )
}

#[test]
fn the_listed_variables_round_trip_through_a_message_s_headers() {
    let headers = sent(&*BAGGAGE, &opentelemetry::Context::new());
    assert_eq!(headers["baggage"], "tenant=acme,request.id=7");
    assert_eq!(BAGGAGE.fields().collect::<Vec<_>>(), ["baggage"]);

    let cx = TextMapPropagator::extract(&*BAGGAGE, &headers);
    let ctx = extracted_context(&cx).unwrap();
    assert_eq!(
        ctx.run(|| (TENANT.try_get(), REQUEST_ID.try_get())),
        (Ok("acme".to_owned()), Ok(7))
    );
    // Nothing is bound on the receiving side outside that context.
    assert!(!TENANT.is_bound());
}

#[test]
fn composed_with_trace_context_both_the_trace_and_the_variables_travel() {
    let composite = TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BAGGAGE.clone()),
    ]);
    let cx = opentelemetry::Context::new().with_remote_span_context(remote_span());
    let headers = sent(&composite, &cx);
    assert_eq!(
        headers["traceparent"],
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    );
    assert_eq!(headers["baggage"], "tenant=acme,request.id=7");

    let extracted = composite.extract(&headers);
    assert_eq!(
        extracted.span().span_context().trace_id(),
        remote_span().trace_id()
    );
    assert_eq!(received(&extracted), Some((Ok("acme".to_owned()), true)));
}

#[test]
fn negative_control_without_the_baggage_propagator_no_variable_travels() {
    let trace_only = TextMapCompositePropagator::new(vec![Box::new(TraceContextPropagator::new())]);
    let cx = opentelemetry::Context::new().with_remote_span_context(remote_span());
    let headers = sent(&trace_only, &cx);
    assert!(headers.contains_key("traceparent"));
    assert!(!headers.contains_key("baggage"), "{headers:?}");
    assert_eq!(received(&trace_only.extract(&headers)), None);
    // And a ctxvar propagator reading those headers binds nothing.
    let cx = TextMapPropagator::extract(&*BAGGAGE, &headers);
    assert_eq!(received(&cx).map(|(tenant, _)| tenant.is_ok()), Some(false));
}

#[test]
fn injecting_merges_the_opentelemetry_context_s_baggage_after_the_variables() {
    let cx = opentelemetry::Context::new().with_baggage([
        KeyValue::new("region", "eu west"),
        // A key the list also has: the bound variable wins.
        KeyValue::new("tenant", "stale"),
    ]);
    let headers = sent(&*BAGGAGE, &cx);
    let members: Vec<&str> = headers["baggage"].split(',').collect();
    assert_eq!(members[..2], ["tenant=acme", "request.id=7"]);
    assert!(members.contains(&"region=eu%20west"), "{members:?}");
    assert!(!members.iter().any(|member| member.contains("stale")));
}

#[test]
fn the_header_map_functions_and_the_propagator_write_and_read_alike() {
    let mut request = http::Request::get("http://b.internal/").body(()).unwrap();
    TENANT.sync_scope("acme".to_owned(), || {
        REQUEST_ID.sync_scope(7, || BAGGAGE.inject(request.headers_mut()));
    });
    let by_propagator = sent(&*BAGGAGE, &opentelemetry::Context::new());
    assert_eq!(
        request.headers()["baggage"],
        by_propagator["baggage"].as_str()
    );

    let from_headers = BAGGAGE.extract(request.headers());
    let from_map =
        extracted_context(&TextMapPropagator::extract(&*BAGGAGE, &by_propagator)).unwrap();
    let read = || (TENANT.try_get(), REQUEST_ID.try_get());
    assert_eq!(from_headers.run(read), from_map.run(read));
}

/// The carrier is hostile whatever it is: the limits and the opt-in hold for a map
/// as for a request's headers, and no input panics.
#[test]
fn hostile_values_in_any_carrier_bind_nothing_and_never_panic() {
    let receive = |baggage: String| {
        let headers = HashMap::from([("baggage".to_owned(), baggage)]);
        received(&TextMapPropagator::extract(&*BAGGAGE, &headers)).unwrap()
    };
    // Over 8192 bytes: nothing bound.
    let oversized = format!("tenant=acme,pad={}", "x".repeat(9000));
    assert!(receive(oversized).0.is_err());
    // Over 180 members: nothing bound, though the tenant comes first.
    let crowded = std::iter::once("tenant=acme".to_owned())
        .chain((0..200).map(|n| format!("k{n}=v")))
        .collect::<Vec<_>>()
        .join(",");
    assert!(receive(crowded).0.is_err());
    // Not percent-encoded UTF-8, not text, or not a member: that key alone unbound.
    for bad in [
        "tenant=%FF",
        "tenant=\u{e9}",
        "tenant",
        "=acme",
        "tenant=a\u{0}b",
    ] {
        let (tenant, request_id) = receive(format!("{bad},request.id=7"));
        assert!(tenant.is_err(), "{bad:?} bound the tenant");
        assert!(request_id, "{bad:?} unbound the request id");
    }
    // A key the list does not name is never bound, whatever it claims to be.
    assert!(receive("SECRET=x,secret=x".to_owned()).0.is_err());
    // The first of duplicate keys wins.
    assert_eq!(
        receive("tenant=first,tenant=second".to_owned()).0,
        Ok("first".to_owned())
    );
}

#[test]
fn extraction_merges_into_the_opentelemetry_baggage_only_when_asked() {
    let headers = HashMap::from([(
        "baggage".to_owned(),
        "tenant=acme,request.id=seven".to_owned(),
    )]);
    let cx = opentelemetry::Context::new().with_baggage([
        KeyValue::new("region", "eu"),
        KeyValue::new("tenant", "stale"),
    ]);
    let value = |cx: &opentelemetry::Context, key: &str| {
        cx.baggage().get(key).map(|value| value.as_str().to_owned())
    };

    // By default the OpenTelemetry baggage is left as it was.
    let plain = BAGGAGE.extract_with_context(&cx, &headers);
    assert_eq!(value(&plain, "tenant").as_deref(), Some("stale"));
    assert_eq!(value(&plain, "request.id"), None);

    // Asked for: the values bound replace the members of their keys; the rest stay;
    // a value that did not parse (`seven` is not a `u64`) is added to neither.
    let merging = BAGGAGE.clone().merge_into_opentelemetry_baggage();
    let merged = merging.extract_with_context(&cx, &headers);
    assert_eq!(value(&merged, "tenant").as_deref(), Some("acme"));
    assert_eq!(value(&merged, "region").as_deref(), Some("eu"));
    assert_eq!(value(&merged, "request.id"), None);
    assert_eq!(received(&merged), Some((Ok("acme".to_owned()), false)));
}
