//! `ctxvar::baggage`: the parser of incoming `baggage` headers (malformed, hostile and
//! oversized input, through the public API), `inject`'s merge with headers already
//! there and with the OpenTelemetry context, a round trip, and two axum services over
//! loopback: A binds a tenant and a request id from its own request's headers and
//! calls B with a real HTTP client; B, behind the baggage layer, sees A's values, in
//! its handler and in its log lines, for 300 concurrent requests.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{LazyLock, OnceLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::routing::get;
use ctxvar::baggage::{Baggage, MAX_BYTES, MAX_MEMBERS};
use ctxvar::context_var;
use ctxvar::tower::BindLayer;
use http::{HeaderMap, HeaderName, HeaderValue, Request};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry::KeyValue;
use opentelemetry::baggage::BaggageExt;
use tracing_subscriber::layer::SubscriberExt;

mod support;
use support::Capture;

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

/// What B would see for `values` sent as its `baggage` headers, one header each.
fn seen(values: &[&[u8]]) -> (Option<String>, Option<u64>) {
    let mut headers = HeaderMap::new();
    for value in values {
        headers.append("baggage", HeaderValue::from_bytes(value).unwrap());
    }
    BAGGAGE
        .extract(&headers)
        .run(|| (TENANT.try_get().ok(), REQUEST_ID.try_get().ok()))
}

fn tenant(values: &[&[u8]]) -> Option<String> {
    seen(values).0
}

fn request_id(values: &[&[u8]]) -> Option<u64> {
    seen(values).1
}

// ---------------------------------------------------------------------------------
// Parsing incoming headers.

#[test]
fn well_formed_members_bind_with_whitespace_and_properties_read_past() {
    assert_eq!(
        seen(&[b"tenant=acme,request.id=7"]),
        (Some("acme".to_owned()), Some(7))
    );
    assert_eq!(
        seen(&[b" tenant = acme ;p=1; q ,\trequest.id\t=\t7;x"]),
        (Some("acme".to_owned()), Some(7))
    );
    // Percent-decoded, including multi-byte UTF-8; `+` is not a space.
    assert_eq!(
        tenant(&[b"tenant=a%20b%2Cc%3Bd%C3%BC+"]).unwrap(),
        "a b,c;dü+"
    );
    // Unlisted keys are ignored, and no header binds nothing.
    assert_eq!(tenant(&[b"SECRET=x,other=1"]), None);
    assert_eq!((tenant(&[]), request_id(&[])), (None, None));
}

#[test]
fn malformed_members_are_skipped_and_the_rest_binds() {
    for malformed in [
        "=",
        "a",
        "=b",
        "=7",
        "tenant",
        " = acme",
        "ten ant=acme",
        "ten(ant)=x",
    ] {
        let header = format!("{malformed},request.id=7");
        assert_eq!(seen(&[header.as_bytes()]), (None, Some(7)), "{header}");
    }
    // `a=` is well-formed: an empty value, which a `String` parses and a `u64` does not.
    assert_eq!(seen(&[b"tenant=,request.id="]), (Some(String::new()), None));
}

#[test]
fn empty_members_from_stray_commas_are_ignored() {
    assert_eq!(
        seen(&[b",,tenant=acme,, ,\t,request.id=7,"]),
        (Some("acme".to_owned()), Some(7))
    );
    assert_eq!(seen(&[b",", b""]).0, None);
}

#[test]
fn an_invalid_value_leaves_its_variable_unbound_and_the_others_bind() {
    for bad in [
        &b"%zz"[..],
        b"%4",
        b"%",
        b"a%g0",
        b"%FF",         // decodes to bytes that are not UTF-8
        b"a\"b",        // not allowed unescaped
        b"a\\b",        // not allowed unescaped
        b"caf\xc3\xa9", // raw UTF-8: must be percent-encoded
        b"\xff\xfe",    // raw bytes that are not UTF-8
    ] {
        let mut header = b"tenant=".to_vec();
        header.extend_from_slice(bad);
        header.extend_from_slice(b",request.id=7");
        assert_eq!(
            seen(&[&header]),
            (None, Some(7)),
            "{}",
            header.escape_ascii()
        );
    }
}

#[test]
fn a_value_that_does_not_parse_as_the_type_is_dropped_and_the_others_bind() {
    assert_eq!(
        seen(&[b"request.id=seven,tenant=acme"]),
        (Some("acme".to_owned()), None)
    );
    assert_eq!(request_id(&[b"request.id=-1"]), None);
    assert_eq!(request_id(&[b"request.id=18446744073709551616"]), None);
}

#[test]
fn a_duplicate_key_the_first_member_wins_even_if_invalid() {
    assert_eq!(tenant(&[b"tenant=first,tenant=second"]).unwrap(), "first");
    assert_eq!(tenant(&[b"tenant=%zz,tenant=second"]), None);
    // Across headers too: the first header's member comes first.
    assert_eq!(
        tenant(&[b"tenant=first", b"tenant=second"]).unwrap(),
        "first"
    );
}

#[test]
fn several_headers_are_one_list() {
    assert_eq!(
        seen(&[b"tenant=acme", b"request.id=7"]),
        (Some("acme".to_owned()), Some(7))
    );
}

/// A header of exactly `size` bytes that binds the tenant, padded with an unlisted
/// member.
fn header_of_size(size: usize) -> Vec<u8> {
    let mut header = b"tenant=acme,pad=".to_vec();
    header.resize(size, b'x');
    header
}

#[test]
fn the_size_limit_counts_every_header_and_over_it_nothing_binds() {
    assert_eq!(tenant(&[&header_of_size(MAX_BYTES)]).unwrap(), "acme");
    assert_eq!(tenant(&[&header_of_size(MAX_BYTES + 1)]), None);
    // Two headers joined by a comma: 8191 + 1 is at the limit, 8192 + 1 over it.
    assert_eq!(
        tenant(&[&header_of_size(MAX_BYTES - 1), b""]).unwrap(),
        "acme"
    );
    assert_eq!(tenant(&[&header_of_size(MAX_BYTES), b""]), None);
    let half = header_of_size(MAX_BYTES / 2);
    assert_eq!(tenant(&[&half, &half]), None);
    // A huge header: rejected without reading it all, and without panicking.
    assert_eq!(tenant(&[&header_of_size(1 << 20)]), None);
    // Many small headers add up.
    let many = vec![&b"k=v"[..]; 3000];
    let mut with_tenant = vec![&b"tenant=acme"[..]];
    with_tenant.extend(many);
    assert_eq!(tenant(&with_tenant), None);
}

/// `tenant=acme` followed by `others` unlisted members.
fn members(others: usize) -> String {
    let mut header = "tenant=acme".to_owned();
    for n in 0..others {
        write!(header, ",k{n}=v").unwrap();
    }
    header
}

#[test]
fn the_member_limit_counts_every_non_empty_member_and_over_it_nothing_binds() {
    assert_eq!(
        tenant(&[members(MAX_MEMBERS - 1).as_bytes()]).unwrap(),
        "acme"
    );
    assert_eq!(tenant(&[members(MAX_MEMBERS).as_bytes()]), None);
    // 1000 members fit in 8192 bytes (`k=v` and commas): the member limit applies.
    let header = format!("tenant=acme{}", ",k=v".repeat(999));
    assert!(header.len() <= MAX_BYTES);
    assert_eq!(tenant(&[header.as_bytes()]), None);
    // Malformed members count; empty ones do not.
    let malformed = format!("tenant=acme{}", ",x".repeat(MAX_MEMBERS));
    assert_eq!(tenant(&[malformed.as_bytes()]), None);
    let empty = format!("tenant=acme{}", ",".repeat(1000));
    assert_eq!(tenant(&[empty.as_bytes()]).unwrap(), "acme");
}

#[test]
fn the_member_limit_counts_the_members_of_every_header() {
    // 180 members over three headers, with stray commas and an empty line: at the
    // limit. One more member in any of them: over it.
    let first = members(59);
    let rest = format!("{},", &members(60)["tenant=acme,".len()..]);
    assert_eq!(rest.split(',').filter(|m| !m.is_empty()).count(), 60);
    let lines = [
        first.as_bytes(),
        b",",
        rest.as_bytes(),
        b"",
        rest.as_bytes(),
    ];
    assert_eq!(tenant(&lines).unwrap(), "acme");
    let one_more = format!("{rest}x");
    let lines = [
        first.as_bytes(),
        b",",
        rest.as_bytes(),
        b"",
        one_more.as_bytes(),
    ];
    assert_eq!(tenant(&lines), None);
}

/// Makes sure a subscriber that wants every event is installed for the process, so
/// that no callsite can cache "never": tests run in parallel, and one that reaches a
/// callsite first, on a thread without a subscriber, could otherwise register it as
/// uninteresting while another thread's capture was being installed, and that capture
/// would miss the event (seen once under valgrind, whose timing differs). A capture
/// installed for one thread still receives that thread's events alone.
fn always_interested() {
    let _ = global_capture();
}

/// The warnings logged on this thread while `work` runs: `(message, fields)`.
fn warnings(work: impl FnOnce()) -> Vec<String> {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    always_interested();
    tracing::subscriber::with_default(subscriber, work);
    capture
        .events()
        .into_iter()
        .map(|event| event.message)
        .collect()
}

#[test]
fn warnings_name_the_key_never_the_value() {
    let logged = warnings(|| {
        let _ = seen(&[b"tenant=%zzsecret-looking,request.id=seventy"]);
    });
    assert_eq!(logged.len(), 2, "{logged:?}");
    assert!(
        logged[0].contains("`tenant`") && logged[0].contains("TENANT"),
        "{logged:?}"
    );
    assert!(
        logged[1].contains("`request.id`") && logged[1].contains("REQUEST_ID"),
        "{logged:?}"
    );
    for line in &logged {
        assert!(
            !line.contains("secret-looking") && !line.contains("seventy"),
            "{line}"
        );
    }
    let logged = warnings(|| {
        let _ = seen(&[&header_of_size(MAX_BYTES + 1)]);
        let _ = seen(&[members(MAX_MEMBERS).as_bytes()]);
    });
    assert_eq!(logged.len(), 2, "{logged:?}");
    assert!(logged[0].contains("8192 bytes"), "{logged:?}");
    assert!(logged[1].contains("180 members"), "{logged:?}");
    // Well-formed headers, and malformed members of unlisted keys, log nothing.
    assert!(warnings(|| drop(seen(&[b"tenant=acme,=,a,b=%zz"]))).is_empty());
}

#[test]
fn the_extracted_context_keeps_the_callers_inherited_bindings() {
    let mut headers = HeaderMap::new();
    headers.insert("baggage", HeaderValue::from_static("tenant=acme"));
    let ctx = SECRET.sync_scope("kept".to_owned(), || {
        TENANT.sync_scope("shadowed".to_owned(), || BAGGAGE.extract(&headers))
    });
    assert_eq!(
        ctx.run(|| (SECRET.try_get(), TENANT.try_get())),
        (Ok("kept".to_owned()), Ok("acme".to_owned()))
    );
}

#[test]
#[should_panic(
    expected = "baggage key `ten ant` is not valid: a key is one or more token characters"
)]
fn an_invalid_key_panics_naming_it_and_the_rule() {
    let _ = Baggage::new().var("ten ant", TENANT);
}

#[test]
#[should_panic(expected = "baggage key `tenant` is listed twice (for `TENANT` and `SECRET`)")]
fn a_key_listed_twice_panics() {
    let _ = Baggage::new().var("tenant", TENANT).var("tenant", SECRET);
}

// ---------------------------------------------------------------------------------
// Writing outgoing headers.

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

// ---------------------------------------------------------------------------------
// End to end: two axum services over loopback.

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

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn get_text(client: &HttpClient, request: Request<Empty<Bytes>>) -> String {
    let response = client.request(request).await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

/// B's handler: what it sees, and a log line that carries it.
async fn b_handler() -> String {
    tokio::task::yield_now().await; // another request's poll may come in between
    tracing::info!("b handled the request");
    format!(
        "tenant={} request.id={}",
        TENANT.try_get().unwrap_or_else(|_| "none".to_owned()),
        REQUEST_ID
            .try_get()
            .map_or_else(|_| "none".to_owned(), |id| id.to_string()),
    )
}

/// A's state: the client, B's address, and whether A injects its baggage.
#[derive(Clone)]
struct A {
    client: HttpClient,
    b: SocketAddr,
    inject: bool,
}

/// A's handler: checks that it sees its own values, then calls B.
async fn a_handler(State(a): State<A>) -> String {
    let mine = (TENANT.try_get().unwrap(), REQUEST_ID.try_get().unwrap());
    let mut request = Request::get(format!("http://{}/", a.b))
        .body(Empty::new())
        .unwrap();
    if a.inject {
        BAGGAGE.inject(request.headers_mut());
    }
    tokio::task::yield_now().await;
    let answer = get_text(&a.client, request).await;
    assert_eq!(
        mine,
        (TENANT.try_get().unwrap(), REQUEST_ID.try_get().unwrap())
    );
    answer
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

/// Starts B and A, sends `count` concurrent requests into A, each with its own tenant
/// and request id, and returns `(sent, what B answered)` for each.
async fn two_services(count: u64, inject: bool) -> Vec<(String, String)> {
    let b = serve(
        Router::new()
            .route("/", get(b_handler))
            .layer(BAGGAGE.layer()),
    )
    .await;
    let a = Router::new()
        .route("/", get(a_handler))
        .with_state(A {
            client: client(),
            b,
            inject,
        })
        .layer(BindLayer::from_header(
            TENANT,
            HeaderName::from_static("x-tenant"),
            |header| header.unwrap_or("none").to_owned(),
        ))
        .layer(BindLayer::from_header(
            REQUEST_ID,
            HeaderName::from_static("x-request-id"),
            |header| header.and_then(|id| id.parse().ok()).unwrap_or(0),
        ));
    let a = serve(a).await;
    let client = client();
    let requests: Vec<_> = (1..=count)
        .map(|n| {
            let client = client.clone();
            tokio::spawn(async move {
                let request = Request::get(format!("http://{a}/"))
                    .header("x-tenant", format!("tenant-{n}"))
                    .header("x-request-id", n.to_string())
                    .body(Empty::new())
                    .unwrap();
                let answer = get_text(&client, request).await;
                (format!("tenant=tenant-{n} request.id={n}"), answer)
            })
        })
        .collect();
    let mut results = Vec::new();
    for request in requests {
        results.push(request.await.unwrap());
    }
    results
}

/// B's log lines with the tenant and request id fields each carried.
fn b_log_lines() -> Vec<Vec<String>> {
    global_capture()
        .events()
        .into_iter()
        .filter(|logged| logged.message == "b handled the request")
        .map(|logged| logged.fields)
        .collect()
}

/// Whether every answer is what its request sent: the end-to-end check.
fn every_answer_is_its_own(results: &[(String, String)]) -> Result<(), String> {
    let wrong: Vec<_> = results.iter().filter(|(sent, seen)| sent != seen).collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} answers wrong, first: {:?}",
            wrong.len(),
            results.len(),
            wrong[0]
        ))
    }
}

/// One test drives both runs, so that the log lines of the two are not interleaved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_services_over_loopback_b_sees_each_of_a_s_requests_values_and_no_other() {
    let capture = global_capture();
    capture.clear();

    let results = two_services(300, true).await;
    assert_eq!(every_answer_is_its_own(&results), Ok(()));

    // B logged once per request, each line with its own request's fields.
    let mut lines = b_log_lines();
    lines.sort();
    let mut expected: Vec<_> = (1..=300u64)
        .map(|n| vec![format!("tenant=tenant-{n}"), format!("request_id={n}")])
        .collect();
    expected.sort();
    assert_eq!(lines, expected);

    // Negative control: the same services, but A does not inject. B sees nothing,
    // and the check above fails.
    capture.clear();
    let results = two_services(20, false).await;
    let verdict = every_answer_is_its_own(&results);
    assert!(
        verdict.is_err(),
        "the check passed without baggage: {results:?}"
    );
    assert!(
        results
            .iter()
            .all(|(_, seen)| seen == "tenant=none request.id=none"),
        "{results:?}"
    );
    assert!(b_log_lines().iter().all(Vec::is_empty));
}

#[test]
fn the_layers_future_is_a_nameable_context_scope() {
    // A compile-time check: the service's future can be named in a wrapping service.
    fn future_type<S: tower::Service<Request<Body>, Future = ctxvar::ContextScope<F>>, F>(_: &S) {}
    let service = tower::Layer::layer(
        &BAGGAGE.layer(),
        tower::service_fn(|_: Request<Body>| async { Ok::<_, Infallible>(()) }),
    );
    future_type(&service);
}
