// Baggage: `inject` into a request whose incoming `baggage` header is large.
//
// Included into main.rs, not a module of its own: see there.

#[context_var]
static TENANT: String;

/// The listed variables: bound in both cases, so each call writes two members before
/// it reads the incoming header.
static BAGGAGE: std::sync::LazyLock<ctxvar::baggage::Baggage> = std::sync::LazyLock::new(|| {
    ctxvar::baggage::Baggage::new()
        .var("tenant", TENANT)
        .var("request.id", C0)
});

/// Headers with one `baggage` header of at least `bytes` bytes of short members with
/// distinct keys (`0=1,1=1,..,z=1,10=1,..`: each key is a number in base 62), as a
/// client may send them to a gateway that forwards its headers. Short members are the
/// most members per byte, the most work per byte for a parser.
fn incoming_baggage(bytes: usize) -> http::HeaderMap {
    const DIGITS: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut text = Vec::with_capacity(bytes + 16);
    let mut n = 0usize;
    while text.len() < bytes {
        if n > 0 {
            text.push(b',');
        }
        let start = text.len();
        let mut rest = n;
        loop {
            text.push(DIGITS[rest % 62]);
            rest /= 62;
            if rest == 0 {
                break;
            }
        }
        text[start..].reverse();
        text.extend_from_slice(b"=1");
        n += 1;
    }
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "baggage",
        http::HeaderValue::from_bytes(&text).expect("header text"),
    );
    headers
}

/// `n` calls of `inject`, each into its own copy of `incoming` (a copy shares the
/// header's bytes: a reference-count increment, not a copy of the 400 KiB).
fn inject_n(incoming: &http::HeaderMap, n: u64) {
    TENANT.sync_scope("acme".to_owned(), || {
        C0.sync_scope(7, || {
            for _ in 0..n {
                let mut headers = incoming.clone();
                BAGGAGE.inject(black_box(&mut headers));
                black_box(headers);
            }
        });
    });
}

#[inline(never)]
fn inject_400k(n: u64) {
    inject_n(&incoming_baggage(400 * 1024), n);
}

#[inline(never)]
fn inject_8k(n: u64) {
    inject_n(&incoming_baggage(ctxvar::baggage::MAX_BYTES), n);
}
