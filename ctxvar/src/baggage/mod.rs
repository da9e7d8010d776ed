//! Context variables that travel between services in the W3C `baggage` header
//! (feature `baggage`).
//!
//! A request id or a tenant bound in one service should still be bound in the service
//! it calls. A [`Baggage`] lists the variables that may cross the wire, each under a
//! baggage key; nothing else ever does, so the list is the opt-in:
//!
//! The opt-in is a list rather than an option on the declaration because reading a
//! header needs to know which variables to look for, and ctxvar keeps no registry of
//! the variables a program declares; one list then serves both directions, and which
//! variables a service accepts from its callers is written in one place.
//!
//! - **Outgoing**, [`Baggage::inject`] writes each listed variable that is bound where
//!   it is called into a request's `baggage` header, as `key=value` with the value
//!   written by [`Display`](core::fmt::Display) and percent-encoded.
//! - **Incoming**, [`Baggage::layer`] is a tower layer (axum, hyper, tonic) that reads
//!   the `baggage` header of each request and binds the listed variables it finds,
//!   parsed with [`FromStr`], for the inner service's `call` and every poll of its
//!   future. [`Baggage::extract`] does the same for other servers: it returns a
//!   [`Context`] to run the handler in.
//!
//! ```
//! use ctxvar::baggage::Baggage;
//! use ctxvar::context_var;
//!
//! #[context_var]
//! static TENANT: String;
//!
//! #[context_var]
//! static REQUEST_ID: u64;
//!
//! let baggage = Baggage::new().var("tenant", TENANT).var("request.id", REQUEST_ID);
//!
//! // Service A: bound here, written to the outgoing request.
//! let mut headers = http::HeaderMap::new();
//! TENANT.sync_scope("acme corp".to_owned(), || {
//!     REQUEST_ID.sync_scope(7, || baggage.inject(&mut headers));
//! });
//! assert_eq!(headers["baggage"], "tenant=acme%20corp,request.id=7");
//!
//! // Service B: the same list reads them back.
//! let ctx = baggage.extract(&headers);
//! assert_eq!(ctx.run(|| (TENANT.try_get(), REQUEST_ID.try_get())), (Ok("acme corp".to_owned()), Ok(7)));
//! ```
//!
//! # Baggage comes from the caller: do not trust it
//!
//! A `baggage` header is whatever the client sent. Anyone who can reach the service
//! can claim any tenant or request id, so **do not use a variable bound from baggage
//! for authorization** (which tenant's data a request may read, whether it is an
//! admin) unless the caller is a trusted peer: a service of your own, authenticated
//! by the network (an internal listener) or by mutual TLS. Apply the layer only where
//! the callers are trusted: on the router of an internal listener, not on the public
//! one, or behind a check of the peer. With axum, a router served on an internal
//! address gets the layer and the public router does not:
//!
//! ```
//! use axum::{Router, routing::get};
//! use ctxvar::baggage::Baggage;
//! use ctxvar::context_var;
//!
//! #[context_var]
//! static TENANT: String;
//!
//! async fn report() -> String {
//!     TENANT.try_get().unwrap_or_default()
//! }
//!
//! let baggage = Baggage::new().var("tenant", TENANT);
//! // Served on the internal listener (a private network, or mTLS): baggage is read.
//! let internal: Router = Router::new().route("/report", get(report)).layer(baggage.layer());
//! // Served to the internet: no layer, so a client's `baggage` header binds nothing.
//! let public: Router = Router::new().route("/report", get(report));
//! # let _ = (internal, public);
//! ```
//!
//! Where one listener serves both, decide per request, before extracting: with the
//! peer's address (axum's `ConnectInfo`) or the identity of its client certificate,
//! call [`Baggage::extract`] for a trusted peer and bind nothing for the others:
//!
//! ```
//! use std::net::SocketAddr;
//!
//! use ctxvar::baggage::Baggage;
//! use ctxvar::{Context, context_var};
//!
//! #[context_var]
//! static TENANT: String;
//!
//! /// Baggage is read only from callers on the loopback interface (our sidecar).
//! fn context_for(baggage: &Baggage, peer: SocketAddr, headers: &http::HeaderMap) -> Context {
//!     if peer.ip().is_loopback() { baggage.extract(headers) } else { Context::current() }
//! }
//!
//! let baggage = Baggage::new().var("tenant", TENANT);
//! let mut headers = http::HeaderMap::new();
//! headers.insert("baggage", "tenant=acme".parse().unwrap());
//! let trusted = context_for(&baggage, "127.0.0.1:5000".parse().unwrap(), &headers);
//! let stranger = context_for(&baggage, "203.0.113.9:5000".parse().unwrap(), &headers);
//! assert_eq!(trusted.run(|| TENANT.try_get()), Ok("acme".to_owned()));
//! assert!(stranger.run(|| TENANT.try_get()).is_err());
//! ```
//!
//! The header is parsed with that in mind: nothing in it can make the parser panic,
//! and the work and memory it takes are bounded, whatever is sent (see "Reading the
//! header" below). A value is bound only if it parses as the variable's type, so a
//! variable whose type only admits well-formed values (a number, an enum, a newtype
//! with a checking `FromStr`) also limits what a caller can claim.
//!
//! # Reading the header
//!
//! The `baggage` header is a comma-separated list of members `key=value`, each
//! optionally followed by `;properties`, with optional spaces or tabs around each
//! part, and values percent-encoded. Several `baggage` headers in one request are one
//! list, in order. For the listed keys:
//!
//! - **Limits.** The headers together (joined by commas) may be at most
//!   [`MAX_BYTES`] (8192) bytes, and hold at most [`MAX_MEMBERS`] (180) members: the
//!   limits of the W3C specification. Over either limit, **nothing is bound** and a
//!   warning is logged: a list that was cut short somewhere on its way cannot be told
//!   from a complete one. The parser stops reading at the limit, so an oversized header
//!   costs no more than one of the maximum size, and it allocates only the decoded
//!   values of listed keys.
//! - **Duplicate keys: the first member wins.** Later members with the same key are
//!   ignored, even when the first one's value is invalid (the variable is then not
//!   bound), so a value appended by a proxy downstream cannot replace the caller's.
//! - **A value that fails** (an invalid percent-escape, a character W3C does not allow
//!   unescaped, bytes that are not UTF-8 once decoded, or text the variable's type does
//!   not parse with `FromStr`) leaves that variable unbound and logs a `tracing`
//!   warning naming the key (never the value, which is the caller's); the other
//!   variables are still bound.
//! - **Malformed members** (no `=`, an empty key, a key with characters other than
//!   token characters) and **empty members** (stray commas) are skipped; they count
//!   towards the limits, except empty ones. Properties are read past and dropped.
//! - Members with keys not in the list are ignored (they count towards the limits).
//!
//! A variable not found in the header is not bound by the layer: read it with
//! `try_get`, or give it a default (`static TENANT: String = String::new();`), since
//! the caller may omit it. A `#[uses_context]` handler would panic on its entry check
//! for such a request, so do not declare a baggage-bound variable in one.
//!
//! # What the bound context holds
//!
//! The listed variables are bound by nesting one scope per value found, and the
//! result is captured with [`Context::current()`]; the request is then handled in
//! that captured [`Context`]. So the context also holds the **inheritable bindings
//! in effect where the layer runs** (those of an outer `BindLayer`, for example: the
//! baggage layer inside it sees them and passes them on), and, as for any capture,
//! **variables declared `#[context_var(inherit = false)]` are not carried**: one
//! bound outside the baggage layer is not visible to the handler, and one listed in
//! the `Baggage` is bound by `extract` but not carried into the context it returns.
//! List only inheritable variables.
//!
//! # Writing the header
//!
//! [`Baggage::inject`] merges, into one `baggage` header, the listed variables bound
//! where it is called, then the members already in the header map, then the baggage
//! of the current OpenTelemetry context ([`opentelemetry::Context::current()`]); on
//! the same key the first of those wins. Members that would take the header over the
//! W3C limits are dropped whole, with a warning, the OpenTelemetry ones first (a
//! dropped member still hides those after it with the same key). Once the header is
//! full (180 members, or no room left for even the shortest member), `inject` stops
//! reading: the members after that point are dropped unread, and the warning's
//! `dropped` count is of those dropped before it. The members already in the map are
//! whatever the client sent to a service that forwards its headers, so the work is
//! linear in what is read, and no more is read than fills the header: a 400 KiB
//! header costs what an 8 KiB one does. Other
//! headers, `traceparent` and `tracestate` included, are left as they are. With an
//! OpenTelemetry propagator, call `inject` after the propagator's: a propagator
//! replaces the `baggage` header it writes, while `inject` keeps what it finds.
//!
//! ```
//! use ctxvar::baggage::Baggage;
//! use ctxvar::context_var;
//! use opentelemetry::baggage::BaggageExt;
//! use opentelemetry::KeyValue;
//!
//! #[context_var]
//! static TENANT: String;
//!
//! let baggage = Baggage::new().var("tenant", TENANT);
//! let mut headers = http::HeaderMap::new();
//! headers.insert("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse().unwrap());
//! headers.insert("baggage", "tenant=stale,region=eu".parse().unwrap());
//!
//! let otel = opentelemetry::Context::current_with_baggage([KeyValue::new("user.tier", "gold")]);
//! let _attached = otel.attach();
//! TENANT.sync_scope("acme".to_owned(), || baggage.inject(&mut headers));
//!
//! assert_eq!(headers["baggage"], "tenant=acme,region=eu,user.tier=gold");
//! assert!(headers.contains_key("traceparent"));
//! ```

use core::fmt;
use core::str::FromStr;
use std::borrow::Cow;
use std::sync::Arc;

use http::{HeaderMap, HeaderName};
use opentelemetry::baggage::BaggageExt as _;

use crate::context::Context;
use crate::headers::{as_text, is_text, list_elements, list_exceeds, replace_text};
use crate::var::ContextVar;

mod layer;
mod members;

pub use layer::{BaggageLayer, BaggageService};
use members::{Members, is_token, member_key, percent_decode, percent_encode, split_member};

/// The most bytes the `baggage` headers of a request may hold together (counting a
/// comma between two headers): 8192, the W3C limit. Over it, nothing is bound.
///
/// ```
/// use ctxvar::baggage::{Baggage, MAX_BYTES};
/// use ctxvar::context_var;
///
/// #[context_var]
/// static TENANT: String;
///
/// let baggage = Baggage::new().var("tenant", TENANT);
/// let mut headers = http::HeaderMap::new();
/// let padding = "x".repeat(MAX_BYTES);
/// headers.insert("baggage", format!("tenant=acme,pad={padding}").parse().unwrap());
/// assert!(baggage.extract(&headers).run(|| TENANT.try_get()).is_err());
/// ```
pub const MAX_BYTES: usize = 8192;

/// The most list-members the `baggage` headers of a request may hold together: 180,
/// the W3C limit. Over it, nothing is bound.
///
/// ```
/// use ctxvar::baggage::{Baggage, MAX_MEMBERS};
/// use ctxvar::context_var;
///
/// #[context_var]
/// static TENANT: String;
///
/// let baggage = Baggage::new().var("tenant", TENANT);
/// let many = (0..MAX_MEMBERS).map(|n| format!("k{n}=v")).collect::<Vec<_>>().join(",");
/// let mut headers = http::HeaderMap::new();
/// headers.insert("baggage", format!("tenant=acme,{many}").parse().unwrap());
/// assert!(baggage.extract(&headers).run(|| TENANT.try_get()).is_err());
/// ```
pub const MAX_MEMBERS: usize = 180;

/// The header's name; `http` has no constant for it.
const BAGGAGE: HeaderName = HeaderName::from_static("baggage");

/// What a variable's value type needs to travel as baggage: written with
/// [`Display`](fmt::Display), read back with [`FromStr`]. Implemented for every type
/// that has both; you never implement it yourself.
///
/// The two should round-trip (`value.to_string().parse()` gives `value` back), as
/// they do for numbers, `String`, `bool`, `Uuid` and most ids. A type that does not
/// implement both is a compile error at [`Baggage::var`] that names this trait.
///
/// ```
/// use ctxvar::baggage::BaggageValue;
///
/// fn travels<T: BaggageValue>() {}
/// travels::<u64>();
/// travels::<String>();
/// travels::<std::net::IpAddr>();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot travel as baggage",
    label = "the variable's value type must implement both `Display` and `FromStr`",
    note = "a baggage value is written with `Display` and read back with `FromStr`; implement both for it, or list a variable of a type that has them"
)]
//
// The conversions are methods of its own, not supertraits, so that a type missing
// either gets this one message, not one per missing trait.
pub trait BaggageValue: Sized + Send + Sync + 'static {
    /// Appends the value's text (not yet percent-encoded) to `out`.
    #[doc(hidden)]
    fn write_text(&self, out: &mut String);

    /// The value read back from its text, or `None` when the text does not parse.
    #[doc(hidden)]
    fn from_text(text: &str) -> Option<Self>;
}

#[diagnostic::do_not_recommend]
impl<T: fmt::Display + FromStr + Send + Sync + 'static> BaggageValue for T {
    fn write_text(&self, out: &mut String) {
        use core::fmt::Write as _;
        // Writing to a `String` fails only if `Display` itself reports an error; the
        // text written so far is then sent as it is.
        let _ = write!(out, "{self}");
    }

    fn from_text(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

/// Appends the text of the variable's value if it is bound here, and says whether
/// it is.
type ReadFn = dyn Fn(&mut String) -> bool + Send + Sync;

/// Parses `text` as the variable's value; if it parses, runs the closure with the
/// variable bound to it. Without enumeration of a context or a way to build one from
/// values, nested `sync_scope`s are how a set of variables known only at run time is
/// bound.
type BindFn = dyn Fn(&str, &mut dyn FnMut()) -> Result<(), NotParsed> + Send + Sync;

/// The text did not parse as the variable's type.
#[derive(Debug)]
struct NotParsed;

/// One listed variable.
#[derive(Clone)]
struct Entry {
    key: Cow<'static, str>,
    var: &'static str,
    read: Arc<ReadFn>,
    bind: Arc<BindFn>,
}

/// The context variables that travel in the W3C `baggage` header, each under its
/// baggage key: only these are ever written or read. See the [module
/// documentation](self) for the format, the limits and the security warning.
///
/// Build it once, at start-up, and share it: cloning is one reference-count
/// increment.
///
/// ```
/// use ctxvar::baggage::Baggage;
/// use ctxvar::context_var;
///
/// #[context_var]
/// static TENANT: String;
///
/// #[context_var]
/// static REQUEST_ID: u64;
///
/// let baggage = Baggage::new().var("tenant", TENANT).var("request.id", REQUEST_ID);
/// assert_eq!(
///     format!("{baggage:?}"),
///     r#"Baggage {"tenant": "TENANT", "request.id": "REQUEST_ID"}"#
/// );
/// ```
#[derive(Clone, Default)]
pub struct Baggage {
    entries: Arc<[Entry]>,
}

impl Baggage {
    /// An empty list: nothing travels until variables are added with [`var`](Self::var).
    ///
    /// ```
    /// use ctxvar::baggage::Baggage;
    ///
    /// let mut headers = http::HeaderMap::new();
    /// Baggage::new().inject(&mut headers);
    /// assert!(headers.is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Baggage::default()
    }

    /// Adds `variable`, sent and read under the baggage key `key`.
    ///
    /// Its value type must implement [`Display`](fmt::Display) and [`FromStr`] (see
    /// [`BaggageValue`]). Keys are case-sensitive, and a short dotted lower-case name
    /// (`tenant`, `request.id`) is the convention; the other services must use the
    /// same one. List only variables not declared `inherit = false` (see "What the
    /// bound context holds" in the [module documentation](self)).
    ///
    /// # Panics
    ///
    /// If `key` is not a valid baggage key (one or more token characters: ASCII letters,
    /// digits and ``! # $ % & ' * + - . ^ _ ` | ~``), or is already listed. Both are
    /// mistakes in the program, found when the list is built at start-up; the message
    /// names the key and the rule.
    ///
    /// ```
    /// use ctxvar::baggage::Baggage;
    /// use ctxvar::context_var;
    ///
    /// #[context_var]
    /// static TENANT: String;
    ///
    /// let baggage = Baggage::new().var("tenant", TENANT);
    /// let keys = std::panic::catch_unwind(|| Baggage::new().var("the tenant", TENANT));
    /// assert!(keys.is_err()); // a space is not a token character
    /// # let _ = baggage;
    /// ```
    #[must_use]
    #[track_caller]
    pub fn var<V>(self, key: impl Into<Cow<'static, str>>, variable: V) -> Self
    where
        V: ContextVar + Send + Sync + 'static,
        V::Value: BaggageValue,
    {
        let key = key.into();
        assert!(
            is_token(key.as_bytes()),
            "baggage key `{}` is not valid: a key is one or more token characters \
             (ASCII letters, digits and ! # $ % & ' * + - . ^ _ ` | ~)",
            key.escape_debug(),
        );
        if let Some(listed) = self.entries.iter().find(|entry| entry.key == key) {
            panic!(
                "baggage key `{key}` is listed twice (for `{}` and `{}`): each key names one variable",
                listed.var,
                variable.name(),
            );
        }
        let entry = Entry {
            key,
            var: variable.name(),
            read: Arc::new(move |out: &mut String| {
                variable.try_with(|value| value.write_text(out)).is_ok()
            }),
            bind: Arc::new(move |text: &str, inner: &mut dyn FnMut()| {
                let value = V::Value::from_text(text).ok_or(NotParsed)?;
                variable.sync_scope(value, inner);
                Ok(())
            }),
        };
        let mut entries = self.entries.to_vec();
        entries.push(entry);
        Baggage {
            entries: entries.into(),
        }
    }

    /// Writes the listed variables bound here into `headers`' `baggage` header, merged
    /// with the members already there and with the current OpenTelemetry context's
    /// baggage; see "Writing the header" in the [module documentation](self).
    ///
    /// Call it where the outgoing request is built, in the scope whose values should
    /// travel. A listed variable that is not bound here is not written (a member
    /// with its key already in the header is then kept); one declared with a default
    /// is written with its default, as `try_get` reads it.
    ///
    /// ```
    /// use ctxvar::baggage::Baggage;
    /// use ctxvar::context_var;
    ///
    /// #[context_var]
    /// static TENANT: String;
    ///
    /// #[context_var]
    /// static REQUEST_ID: u64;
    ///
    /// let baggage = Baggage::new().var("tenant", TENANT).var("request.id", REQUEST_ID);
    /// let mut request = http::Request::get("http://b.internal/").body(()).unwrap();
    /// // REQUEST_ID is not bound: only the tenant travels.
    /// TENANT.sync_scope("a,b;c".to_owned(), || baggage.inject(request.headers_mut()));
    /// assert_eq!(request.headers()["baggage"], "tenant=a%2Cb%3Bc");
    /// ```
    pub fn inject(&self, headers: &mut HeaderMap) {
        let mut out = Members::default();
        let mut text = String::new();
        for entry in self.entries.iter() {
            text.clear();
            if (entry.read)(&mut text) {
                if out.stop_if_full() {
                    break;
                }
                let mut member = String::with_capacity(entry.key.len() + 1 + text.len());
                member.push_str(&entry.key);
                member.push('=');
                percent_encode(&text, &mut member);
                out.push(&entry.key, &member);
            }
        }
        for raw in list_elements(headers, &BAGGAGE) {
            if out.stop_if_full() {
                break;
            }
            // Members already in the map are passed on as they are, if they are
            // well-formed text a header can carry again.
            let Some(member) = as_text(raw) else {
                continue;
            };
            if let Some(key) = member_key(member.as_bytes()) {
                out.push(key, member);
            }
        }
        let otel = opentelemetry::Context::current();
        for (key, (value, metadata)) in otel.baggage() {
            if out.unread || out.stop_if_full() {
                break;
            }
            let key = key.as_str();
            if !is_token(key.as_bytes()) {
                continue;
            }
            let mut member = String::with_capacity(key.len() + 1 + value.as_str().len());
            member.push_str(key);
            member.push('=');
            percent_encode(value.as_str(), &mut member);
            let metadata = metadata.as_str().trim();
            if !metadata.is_empty() {
                if !metadata
                    .bytes()
                    .all(|byte| is_text(byte) && byte != b',')
                {
                    continue;
                }
                member.push(';');
                member.push_str(metadata);
            }
            out.push(key, &member);
        }
        // The keys borrow from `headers`, which is rewritten next.
        let Members {
            text,
            keys,
            dropped,
            unread,
            ..
        } = out;
        drop(keys);
        if unread {
            tracing::warn!(
                dropped,
                "baggage: the outgoing `baggage` header is full ({MAX_MEMBERS} members, or \
                 {MAX_BYTES} bytes with no room for another member); the members after it \
                 were dropped unread (`dropped` counts those dropped before it filled)"
            );
        } else if dropped > 0 {
            tracing::warn!(
                dropped,
                "baggage: members dropped from the outgoing `baggage` header to stay within \
                 {MAX_MEMBERS} members and {MAX_BYTES} bytes"
            );
        }
        // Every member was checked to be text, so it is written unless it is empty; if
        // it were not, sending no baggage would be the safe outcome.
        replace_text(headers, BAGGAGE, &text);
    }

    /// The context to handle a request with these `headers` in: the listed variables
    /// found in its `baggage` header bound, over the bindings in effect here.
    ///
    /// Run the handler with [`Context::run`] or [`Context::scope`]. This is what the
    /// [`layer`](Self::layer) does for each request; use it with a server that is not
    /// tower-based. See "Reading the header" and "What the bound context holds" in the
    /// [module documentation](self), and do not call it for untrusted callers if a
    /// variable it binds grants anything.
    ///
    /// ```
    /// use ctxvar::baggage::Baggage;
    /// use ctxvar::context_var;
    ///
    /// #[context_var]
    /// static TENANT: String;
    ///
    /// #[context_var]
    /// static REQUEST_ID: u64;
    ///
    /// let baggage = Baggage::new().var("tenant", TENANT).var("request.id", REQUEST_ID);
    /// let mut headers = http::HeaderMap::new();
    /// // `request.id` is not a number: it alone is left unbound (and a warning logged).
    /// headers.insert("baggage", "request.id=seven, tenant=acme%20corp;source=edge".parse().unwrap());
    ///
    /// # futures::executor::block_on(async {
    /// let ctx = baggage.extract(&headers);
    /// let seen = ctx.scope(async { (TENANT.try_get(), REQUEST_ID.is_bound()) }).await;
    /// assert_eq!(seen, (Ok("acme corp".to_owned()), false));
    /// # });
    /// ```
    #[must_use]
    pub fn extract(&self, headers: &HeaderMap) -> Context {
        let mut found: Vec<Found<'_>> = self.entries.iter().map(|_| Found::Missing).collect();
        if let Err(limit) = self.scan(headers, &mut found) {
            tracing::warn!(
                "baggage: the `baggage` header is over {limit}; no baggage variable bound"
            );
            return Context::current();
        }
        let mut values = Vec::with_capacity(found.len());
        for (entry, found) in self.entries.iter().zip(found) {
            match found {
                Found::Missing => {}
                Found::Invalid => tracing::warn!(
                    key = %entry.key,
                    "baggage: the value of `{}` is not valid percent-encoded UTF-8 text; `{}` not bound",
                    entry.key,
                    entry.var,
                ),
                Found::Value(text) => values.push((entry, text)),
            }
        }
        let mut ctx = None;
        bind_nested(&values, &mut ctx);
        ctx.unwrap_or_else(Context::current)
    }

    /// A tower layer that handles each request in the context [`extract`](Self::extract)
    /// returns for its headers: the listed variables are bound for the inner service's
    /// `call` and on every poll of its future.
    ///
    /// Apply it only where callers are trusted (see the [module documentation](self)).
    ///
    /// ```
    /// use axum::{Router, body::Body, routing::get};
    /// use ctxvar::baggage::Baggage;
    /// use ctxvar::context_var;
    /// use tower::ServiceExt;
    ///
    /// #[context_var]
    /// static TENANT: String;
    ///
    /// async fn whoami() -> String {
    ///     TENANT.try_get().unwrap_or_else(|_| "nobody".to_owned())
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let baggage = Baggage::new().var("tenant", TENANT);
    /// let app = Router::new().route("/", get(whoami)).layer(baggage.layer());
    ///
    /// let request = http::Request::get("/").header("baggage", "tenant=acme").body(Body::empty());
    /// let response = app.oneshot(request.unwrap()).await.unwrap();
    /// let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
    /// assert_eq!(body, "acme");
    /// # }
    /// ```
    #[must_use]
    pub fn layer(&self) -> BaggageLayer {
        BaggageLayer {
            baggage: self.clone(),
        }
    }

    /// Reads the headers into `found` (one slot per entry), or says which limit they
    /// exceed. Work and memory are bounded by the limits, not by the input: the size is
    /// checked before anything is decoded, and only listed keys' values are decoded.
    fn scan<'h>(
        &self,
        headers: &'h HeaderMap,
        found: &mut [Found<'h>],
    ) -> Result<(), &'static str> {
        // The headers form one list, as if joined with commas.
        if list_exceeds(headers, &BAGGAGE, MAX_BYTES) {
            return Err("8192 bytes");
        }
        for (read, member) in list_elements(headers, &BAGGAGE).enumerate() {
            if read == MAX_MEMBERS {
                return Err("180 members");
            }
            let Some((key, value)) = split_member(member) else {
                continue;
            };
            let listed = self
                .entries
                .iter()
                .position(|entry| entry.key.as_bytes() == key);
            if let Some(index) = listed {
                // The first member with a key decides, valid or not.
                if matches!(found[index], Found::Missing) {
                    found[index] = percent_decode(value).map_or(Found::Invalid, Found::Value);
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Baggage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The keys and the names of their variables; values are not the list's.
        f.write_str("Baggage ")?;
        let mut map = f.debug_map();
        for entry in self.entries.iter() {
            map.entry(&entry.key, &entry.var);
        }
        map.finish()
    }
}

/// What the header says about one listed key.
enum Found<'h> {
    /// No member with the key.
    Missing,
    /// The first member's value, percent-decoded.
    Value(Cow<'h, str>),
    /// The first member's value is not valid percent-encoded UTF-8.
    Invalid,
}

/// Binds each value in turn, each scope inside the previous one, and captures the
/// context at the innermost level into `out`. A value that does not parse is skipped
/// (with a warning) and the rest are still bound.
fn bind_nested(values: &[(&Entry, Cow<'_, str>)], out: &mut Option<Context>) {
    let Some(((entry, text), rest)) = values.split_first() else {
        *out = Some(Context::current());
        return;
    };
    if (entry.bind)(text, &mut || bind_nested(rest, out)).is_err() {
        tracing::warn!(
            key = %entry.key,
            "baggage: the value of `{}` does not parse as the type of `{}`; not bound",
            entry.key,
            entry.var,
        );
        bind_nested(rest, out);
    }
}
