//! Writing outgoing headers: `inject`'s merge with the header already there and with
//! the OpenTelemetry context, its limits, and a round trip through `extract`.

use std::fmt::Write as _;

use ctxvar::baggage::{MAX_BYTES, MAX_MEMBERS};
use http::{HeaderMap, HeaderValue};
use opentelemetry::KeyValue;
use opentelemetry::baggage::BaggageExt;
use tracing_subscriber::layer::SubscriberExt;

use crate::extract::members;
use crate::{BAGGAGE, REQUEST_ID, SECRET, TENANT, always_interested};

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

fn injected(headers: &mut HeaderMap) {
    TENANT.sync_scope("acme".to_owned(), || {
        REQUEST_ID.sync_scope(7, || {
            SECRET.sync_scope("s3cr3t".to_owned(), || BAGGAGE.inject(headers));
        });
    });
}

#[test]
fn inject_merges_with_the_existing_header_and_keeps_trace_context() {
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", HeaderValue::from_static(TRACEPARENT));
    headers.insert("tracestate", HeaderValue::from_static("vendor=1"));
    headers.append(
        "baggage",
        HeaderValue::from_static("tenant=stale, region=eu;src=edge"),
    );
    headers.append("baggage", HeaderValue::from_static("request.id=1,=,zone=3"));
    injected(&mut headers);
    // Ours first and winning; the others kept with their properties; malformed dropped.
    assert_eq!(
        headers.get_all("baggage").iter().collect::<Vec<_>>(),
        ["tenant=acme,request.id=7,region=eu;src=edge,zone=3"]
    );
    assert_eq!(headers["traceparent"], TRACEPARENT);
    assert_eq!(headers["tracestate"], "vendor=1");
    assert_eq!(headers.len(), 3);
}

#[test]
fn inject_merges_the_opentelemetry_contexts_baggage_and_ours_win() {
    let otel = opentelemetry::Context::current_with_baggage([
        KeyValue::new("tenant", "from-otel"),
        KeyValue::new("user.tier", "gold plus"),
    ]);
    let _attached = otel.attach();
    let mut headers = HeaderMap::new();
    headers.insert("baggage", HeaderValue::from_static("region=eu"));
    injected(&mut headers);
    assert_eq!(
        headers["baggage"],
        "tenant=acme,request.id=7,region=eu,user.tier=gold%20plus"
    );
}

#[test]
fn inject_forwards_only_members_that_are_header_text() {
    // Bytes above 0x7F, UTF-8 or not, cannot go out again: such a member is dropped,
    // and does not hide a later member with its key. Spaces and tabs inside a member
    // are text, and it goes out as it came, trimmed.
    let mut headers = HeaderMap::new();
    headers.insert(
        "baggage",
        HeaderValue::from_bytes(b"a=1,b=caf\xc3\xa9,b=ok,c=\xff,c=ok,\t d = x y\tz ;p ").unwrap(),
    );
    injected(&mut headers);
    assert_eq!(
        headers["baggage"],
        "tenant=acme,request.id=7,a=1,b=ok,c=ok,d = x y\tz ;p"
    );
}

#[test]
fn inject_drops_opentelemetry_members_whose_properties_a_header_cannot_carry() {
    for (metadata, expected) in [
        ("src=edge", "request.id=7,user.tier=gold;src=edge"),
        // A comma would split the member in two; bytes above 0x7F are not text.
        ("a,b", "request.id=7"),
        ("caf\u{e9}", "request.id=7"),
    ] {
        let otel = opentelemetry::Context::current_with_baggage([
            opentelemetry::baggage::KeyValueMetadata::new("user.tier", "gold", metadata),
        ]);
        let _attached = otel.attach();
        let mut headers = HeaderMap::new();
        REQUEST_ID.sync_scope(7, || BAGGAGE.inject(&mut headers));
        assert_eq!(headers["baggage"], expected, "{metadata}");
    }
}

#[test]
fn inject_reads_past_duplicates_malformed_and_empty_members_once_each() {
    // None of them fills the header, so reading goes on past them (one pass over
    // ~1 MiB of them) to the members after.
    let mut value = "k=1,".repeat(100_000);
    value.push_str(&"x,".repeat(100_000));
    value.push_str(&", ".repeat(100_000));
    value.push_str("last=2");
    let mut headers = HeaderMap::new();
    headers.insert("baggage", HeaderValue::from_str(&value).unwrap());
    let logged = drop_warnings(|| injected(&mut headers));
    assert_eq!(headers["baggage"], "tenant=acme,request.id=7,k=1,last=2");
    assert!(logged.is_empty(), "{logged:?}");
}

#[test]
fn inject_writes_only_bound_listed_variables() {
    let mut headers = HeaderMap::new();
    BAGGAGE.inject(&mut headers);
    assert!(headers.is_empty());
    SECRET.sync_scope("s3cr3t".to_owned(), || {
        REQUEST_ID.sync_scope(9, || BAGGAGE.inject(&mut headers));
    });
    assert_eq!(headers["baggage"], "request.id=9");
}

#[test]
fn inject_then_extract_round_trips_any_text() {
    for text in [
        "",
        "plain",
        "a b,c;d=e%f\"g\\h",
        "ü€😀",
        "%41",
        " lead and trail ",
        "\t\r\n",
    ] {
        let mut headers = HeaderMap::new();
        TENANT.sync_scope(text.to_owned(), || {
            REQUEST_ID.sync_scope(u64::MAX, || BAGGAGE.inject(&mut headers));
        });
        let value = headers["baggage"].to_str().unwrap();
        assert!(!value.contains(' '), "{value}");
        assert_eq!(
            BAGGAGE
                .extract(&headers)
                .run(|| (TENANT.try_get(), REQUEST_ID.try_get())),
            (Ok(text.to_owned()), Ok(u64::MAX)),
            "{value}"
        );
    }
}

#[test]
fn inject_drops_whole_members_that_would_exceed_the_limits() {
    let long = "x".repeat(MAX_BYTES);
    let mut headers = HeaderMap::new();
    headers.insert("baggage", HeaderValue::from_str(&members(300)).unwrap());
    TENANT.sync_scope(long, || {
        REQUEST_ID.sync_scope(7, || BAGGAGE.inject(&mut headers));
    });
    let value = headers["baggage"].to_str().unwrap();
    // The tenant alone is over the size limit: dropped whole, never cut, and the
    // stale tenant already in the header does not go out in its place.
    assert!(value.starts_with("request.id=7,k0=v,"), "{value}");
    assert!(!value.contains("tenant="), "{value}");
    assert_eq!(value.split(',').count(), MAX_MEMBERS);
    assert!(value.len() <= MAX_BYTES);
}

/// The warnings logged on this thread while `work` runs: each one's message and its
/// `dropped` field (the count of members `inject` dropped).
fn drop_warnings(work: impl FnOnce()) -> Vec<(String, Option<u64>)> {
    /// A warning's message and `dropped` field.
    type Warning = (String, Option<u64>);
    #[derive(Clone, Default)]
    struct Record(std::sync::Arc<std::sync::Mutex<Vec<Warning>>>);
    struct Fields(String, Option<u64>);
    impl tracing::field::Visit for Fields {
        fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
            if field.name() == "dropped" {
                self.1 = Some(value);
            }
        }
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                self.0 = format!("{value:?}");
            }
        }
    }
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Record {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let mut fields = Fields(String::new(), None);
            event.record(&mut fields);
            self.0.lock().unwrap().push((fields.0, fields.1));
        }
    }
    let record = Record::default();
    let subscriber = tracing_subscriber::registry().with(record.clone());
    always_interested();
    tracing::subscriber::with_default(subscriber, work);
    record.0.lock().unwrap().clone()
}

#[test]
fn inject_keeps_the_first_member_of_each_key_across_many_duplicates() {
    // 60 keys, each sent 20 times with a different value, spread over three headers,
    // and stale values of both listed keys among them.
    let mut headers = HeaderMap::new();
    for part in 0..3 {
        let mut value = String::new();
        for round in (part * 7)..((part + 1) * 7).min(20) {
            for key in 0..60 {
                write!(value, "k{key}=r{round},").unwrap();
            }
            write!(value, "tenant=stale{round},request.id={round},").unwrap();
        }
        headers.append("baggage", HeaderValue::from_str(&value).unwrap());
    }
    let logged = drop_warnings(|| injected(&mut headers));
    // Ours first; then each key once, with its first value, in the order first seen.
    let mut expected = "tenant=acme,request.id=7".to_owned();
    for key in 0..60 {
        write!(expected, ",k{key}=r0").unwrap();
    }
    assert_eq!(
        headers.get_all("baggage").iter().collect::<Vec<_>>(),
        [expected.as_str()]
    );
    // Duplicates are not dropped members: nothing to warn about.
    assert!(logged.is_empty(), "{logged:?}");
}

#[test]
fn inject_stops_reading_once_the_header_is_full() {
    let otel = opentelemetry::Context::current_with_baggage([KeyValue::new("user.tier", "gold")]);
    let _attached = otel.attach();
    // `big` does not fit beside ours and is dropped; then 300 small members, of which
    // the first 178 fill the header to 180 members.
    let mut value = format!("big={}", "x".repeat(MAX_BYTES));
    for n in 0..300 {
        write!(value, ",k{n}=v").unwrap();
    }
    let mut headers = HeaderMap::new();
    headers.insert("baggage", HeaderValue::from_str(&value).unwrap());
    let logged = drop_warnings(|| injected(&mut headers));
    let mut expected = "tenant=acme,request.id=7".to_owned();
    for n in 0..MAX_MEMBERS - 2 {
        write!(expected, ",k{n}=v").unwrap();
    }
    assert_eq!(headers["baggage"], expected.as_str());
    // One warning; `dropped` counts `big` alone: the 122 header members and the
    // OpenTelemetry one after the header filled up were not read, so not counted.
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(logged[0].0.contains("is full"), "{logged:?}");
    assert_eq!(logged[0].1, Some(1), "{logged:?}");
    assert!(!logged[0].0.contains("xxx"), "{logged:?}");
}

#[test]
fn inject_fills_the_header_to_its_last_byte_before_it_stops() {
    // `tenant=` and 8182 bytes: 8189 bytes, room for a comma and a 2-byte member.
    let tenant = "x".repeat(MAX_BYTES - 3 - "tenant=".len());
    let mut headers = HeaderMap::new();
    headers.insert("baggage", HeaderValue::from_static("a=,b=1,c="));
    let logged = drop_warnings(|| {
        TENANT.sync_scope(tenant.clone(), || BAGGAGE.inject(&mut headers));
    });
    assert_eq!(headers["baggage"], format!("tenant={tenant},a=").as_str());
    assert_eq!(headers["baggage"].len(), MAX_BYTES);
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(logged[0].0.contains("is full"), "{logged:?}");
    assert_eq!(logged[0].1, Some(0), "{logged:?}");
    // One byte more and even `a=` does not fit: the header is full after ours.
    let tenant = "x".repeat(MAX_BYTES - 2 - "tenant=".len());
    headers.insert("baggage", HeaderValue::from_static("a=,b=1"));
    TENANT.sync_scope(tenant.clone(), || BAGGAGE.inject(&mut headers));
    assert_eq!(headers["baggage"], format!("tenant={tenant}").as_str());
    // A full header with nothing after it is not reported.
    let tenant = "x".repeat(MAX_BYTES - "tenant=".len());
    headers.remove("baggage");
    let logged = drop_warnings(|| {
        TENANT.sync_scope(tenant.clone(), || BAGGAGE.inject(&mut headers));
    });
    assert_eq!(headers["baggage"].len(), MAX_BYTES);
    assert!(logged.is_empty(), "{logged:?}");
}

#[test]
fn inject_a_dropped_member_still_hides_later_ones_with_its_key() {
    // Ours takes 5007 bytes; the header's first `big` (4004 bytes) would take it over
    // the limit and is dropped, and its later, small value must not go out instead.
    let tenant = "t".repeat(5000);
    let mut value = format!("big={}", "x".repeat(4000));
    value.push_str(",big=small,after=1");
    for n in 0..50 {
        write!(value, ",big=again{n}").unwrap();
    }
    let mut headers = HeaderMap::new();
    headers.insert("baggage", HeaderValue::from_str(&value).unwrap());
    let logged = drop_warnings(|| {
        TENANT.sync_scope(tenant.clone(), || BAGGAGE.inject(&mut headers));
    });
    assert_eq!(
        headers["baggage"],
        format!("tenant={tenant},after=1").as_str()
    );
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(logged[0].0.contains("members dropped"), "{logged:?}");
    assert_eq!(logged[0].1, Some(1), "{logged:?}");
}
