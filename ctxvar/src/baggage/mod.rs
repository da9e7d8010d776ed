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
//!   [`Baggage::inject_layer`] does it for every request a tower client sends
//!   (hyper-util's `Client`, a tonic `Channel`), so call sites need not.
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
//! linear in what is read, each member read once: a 400 KiB header of distinct members
//! costs what an 8 KiB one does, since reading stops once they fill the header.
//! Members that fill nothing (a key already seen, malformed, not text, or empty) do
//! not stop it: a header made of them is read to its end, in one pass. Other
//! headers, `traceparent` and `tracestate` included, are left as they are. With an
//! OpenTelemetry propagator, call `inject` after the propagator's: a propagator
//! replaces the `baggage` header it writes, while `inject` keeps what it finds.
//!
//! # Any carrier: the propagator
//!
//! `Baggage` is also an OpenTelemetry
//! [`TextMapPropagator`](opentelemetry::propagation::TextMapPropagator) (see its impl
//! on [`Baggage`]): the same header, written into any `Injector` and read from any
//! `Extractor`, under the same rules (limits, opt-in keys, a bad value dropped with a
//! warning that never shows it), so that the variables travel over gRPC metadata or
//! the headers of a queue message as they do over HTTP. Compose it with
//! `TraceContextPropagator` in a `TextMapCompositePropagator`, in place of
//! OpenTelemetry's own `BaggagePropagator` (it writes the OpenTelemetry context's
//! baggage too); on the receiving side, [`extracted_context`] takes the [`Context`]
//! out of what extraction returns. Which to use:
//!
//! | where | use |
//! |---|---|
//! | a tower or axum server | [`Baggage::layer`] |
//! | a tower HTTP client (hyper-util, a tonic `Channel`) | [`Baggage::inject_layer`] |
//! | one request, by hand | [`Baggage::inject`], [`Baggage::extract`] |
//! | any other carrier, or beside OpenTelemetry's trace context | the propagator |
//! | a message handed to another task of the same process (a channel, a queue in memory) | no header at all: [`Carried`](crate::Carried), `msg.carry_current_context()` |
//!
//! reqwest is not a tower client: its requests carry an `http::HeaderMap`, so build
//! the request, call [`Baggage::inject`] on `request.headers_mut()`, and `execute` it
//! (with `reqwest-middleware`, the same call in a middleware's `handle`).
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
//!
//! [`FromStr`]: core::str::FromStr
//! [`Context`]: crate::Context
//! [`Context::current()`]: crate::Context::current

// One question a file. The list: which variables travel (`list`: `Baggage::new`,
// `var`), and what their value types need (`value`).
mod list;
mod value;

// Its uses. Outgoing: writing the header (`inject`), and for each request a tower
// client sends (`outgoing`).
mod inject;
mod outgoing;

// Incoming: reading the header into a context (`extract`), and for each request of a
// tower service (`layer`).
mod extract;
mod layer;

// Any carrier: the list as an OpenTelemetry propagator (`propagator`).
mod propagator;

// The W3C format they share: the header's members and characters (`grammar`), its
// limits (`limits`), the escaping of values (`percent`). What is not baggage's own
// (header text, a list spread over several lines) is `crate::headers`.
mod grammar;
mod limits;
mod percent;

pub use layer::{BaggageLayer, BaggageService};
pub use limits::{MAX_BYTES, MAX_MEMBERS};
pub use list::Baggage;
pub use outgoing::{InjectLayer, InjectService};
pub use propagator::extracted_context;
pub use value::BaggageValue;
