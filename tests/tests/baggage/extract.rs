//! Parsing incoming headers: well-formed, malformed, hostile and oversized input,
//! the warnings it logs, and the panics of an invalid list.

use std::fmt::Write as _;

use ctxvar::baggage::{Baggage, MAX_BYTES, MAX_MEMBERS};
use http::{HeaderMap, HeaderValue};
use tracing_subscriber::layer::SubscriberExt;

use crate::support::Capture;
use crate::{BAGGAGE, REQUEST_ID, SECRET, TENANT, always_interested};

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
pub(crate) fn members(others: usize) -> String {
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
