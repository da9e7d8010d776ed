//! A tower layer that binds context variables for each request (feature `tower`).
//!
//! [`BindLayer`] wraps a service so that each request is handled with variables bound
//! from the request itself: a request id or a tenant from a header, a user from an
//! extension an authentication layer inserted. For each request, the
//! [`BindService`] it makes:
//!
//! 1. computes the bindings from `&request`, with a closure or a [`MakeBindings`]
//!    implementation;
//! 2. calls the inner service with those bindings installed, so that what the inner
//!    `call` does before it returns its future (a layer that opens a span or logs
//!    there) sees them;
//! 3. returns the inner future wrapped in a [`Scope`], which installs the same
//!    bindings on every poll and while the future is dropped.
//!
//! The service's future is `Scope<L, S::Future>`, a type that can be named (in a
//! hand-written `Service` that wraps this one, for example). `poll_ready` is the inner
//! service's, without the bindings: readiness belongs to no request.
//!
//! ```
//! use ctxvar::context_var;
//! use ctxvar::tower::BindLayer;
//! use http::Request;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! #[context_var]
//! static TENANT: String;
//!
//! async fn handle(_request: Request<()>) -> Result<String, std::convert::Infallible> {
//!     Ok(format!("hello, {}", TENANT.try_get().unwrap()))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let service = ServiceBuilder::new()
//!     // The closure's argument type says which requests the layer accepts.
//!     .layer(BindLayer::new(|request: &Request<()>| {
//!         let tenant = request.uri().host().unwrap_or("default").to_owned();
//!         TENANT.bind(tenant)
//!     }))
//!     .service_fn(handle);
//!
//! let request = Request::get("http://acme.example/").body(()).unwrap();
//! assert_eq!(service.oneshot(request).await.unwrap(), "hello, acme.example");
//! # }
//! ```
//!
//! Several variables are bound together with [`Bindings::and`], as one frame:
//! `REQUEST_ID.bind(id).and(TENANT.bind(tenant))`.
//!
//! # In an axum router
//!
//! [`BindLayer::from_header`] binds one variable from one header. A handler annotated
//! `#[uses_context(REQUEST_ID)]` then reads it with `get`: the layer binds it for
//! every request, so its entry check always passes.
//!
//! ```
//! use axum::Router;
//! use axum::body::Body;
//! use axum::routing::get;
//! use ctxvar::{context_var, uses_context};
//! use ctxvar::tower::BindLayer;
//! use http::{HeaderName, Request};
//! use tower::ServiceExt;
//!
//! #[context_var]
//! static REQUEST_ID: String;
//!
//! #[uses_context(REQUEST_ID)]
//! async fn whoami() -> String {
//!     format!("request {}", REQUEST_ID.get())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = Router::new().route("/", get(whoami)).layer(BindLayer::from_header(
//!     REQUEST_ID,
//!     HeaderName::from_static("x-request-id"),
//!     // Missing, repeated or not text: a value of our own, never the client's.
//!     |header| header.unwrap_or("none").to_owned(),
//! ));
//!
//! let request = Request::get("/").header("x-request-id", "r-42").body(Body::empty());
//! let response = app.oneshot(request.unwrap()).await.unwrap();
//! let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
//! assert_eq!(body, "request r-42");
//! # }
//! ```
//!
//! Layers inside `BindLayer` see the values, layers outside it do not. With
//! `ServiceBuilder`, a layer listed after `BindLayer` is inside it; with axum's
//! `Router::layer`, each call wraps what is already there, so the layers added
//! *before* `BindLayer` are inside it.
//!
//! # Streamed response bodies
//!
//! The layer's scope ends when the handler's future completes. A streamed body
//! (`Body::from_stream`) is polled after that, by the server, so it sees nothing bound
//! unless it carries the context itself: wrap the stream in
//! [`Context::current().scope_stream(..)`](crate::Context::scope_stream) (feature
//! `stream`) where the handler builds it. Inside an annotated handler, a `get` in a
//! stream given to `from_stream` without it is a compile error that says so; with it,
//! the closures of a stream written as `scope_stream`'s argument read with `get` (a
//! stream built earlier and passed by name keeps the function's evidence: read with
//! `try_get` there).
//!
//! ```
//! # #![allow(dead_code, unused_imports)] // without the `stream` feature, only the declaration remains
//! use axum::body::Body;
//! use ctxvar::{Context, context_var, uses_context};
//! use futures::stream::{self, StreamExt};
//!
//! #[context_var]
//! static REQUEST_ID: String;
//!
//! # #[cfg(feature = "stream")]
//! #[uses_context(REQUEST_ID)]
//! async fn lines() -> Body {
//!     Body::from_stream(Context::current().scope_stream(
//!         stream::iter(1..=3)
//!             .map(|n| Ok::<_, std::convert::Infallible>(format!("{} {n}\n", REQUEST_ID.get()))),
//!     ))
//! }
//!
//! # #[cfg(feature = "stream")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let body = REQUEST_ID.scope("r-7".to_owned(), lines()).await;
//! // Polled after the scope ended, as a server does.
//! let bytes = axum::body::to_bytes(body, 1024).await.unwrap();
//! assert_eq!(bytes, "r-7 1\nr-7 2\nr-7 3\n");
//! # }
//! # #[cfg(not(feature = "stream"))]
//! # fn main() {}
//! ```
//!
//! # Headers come from the client
//!
//! A header's value is whatever the client sent, so nothing here panics on it, and
//! every request is bound: the layer never leaves a variable unbound, so a
//! `#[uses_context]` handler cannot panic on its entry check because of a header.
//! With [`BindLayer::from_header`], the parse function receives
//!
//! - `Some(text)` when the header appears exactly once and its value is text: visible
//!   ASCII, spaces and tabs (what [`HeaderValue::to_str`](http::HeaderValue::to_str)
//!   accepts);
//! - `None` when it is missing, repeated, even with the same value (two values for one
//!   id are ambiguous, and other layers may pick a different one), or holds other
//!   bytes (non-ASCII, non-UTF-8, control characters);
//!
//! and returns the value to bind: a parsed value, or a fallback of your choosing (a
//! fresh id, `"anonymous"`). Where "no value" must stay visible to the code that
//! reads the variable, declare it with an `Option` type and bind `None`.
//!
//! That is why `make` returns bindings for every request, not an `Option` of them:
//! a request left unbound would fail the entry check of every `#[uses_context]`
//! handler behind the layer, so a client could make the server panic by leaving a
//! header out; and the service's future would no longer be one `Scope` type.
//!
//! # Writing it by hand
//!
//! `BindService` is [`Bindings::scope_with`] around the inner `call`. A service
//! written by hand for one variable, equivalent to `BindLayer::from_header` above:
//!
//! ```
//! use std::task::{Context, Poll};
//!
//! use ctxvar::{context_var, Binding, Scope};
//! use http::Request;
//! use tower::{Service, ServiceExt, service_fn};
//!
//! #[context_var]
//! static REQUEST_ID: String;
//!
//! #[derive(Clone, Debug)]
//! struct BindRequestId<S> {
//!     inner: S,
//! }
//!
//! impl<S, B> Service<Request<B>> for BindRequestId<S>
//! where
//!     S: Service<Request<B>>,
//! {
//!     type Response = S::Response;
//!     type Error = S::Error;
//!     type Future = Scope<Binding<dyn REQUEST_ID>, S::Future>;
//!
//!     fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
//!         self.inner.poll_ready(cx)
//!     }
//!
//!     fn call(&mut self, request: Request<B>) -> Self::Future {
//!         let mut values = request.headers().get_all("x-request-id").iter();
//!         let id = match (values.next(), values.next()) {
//!             (Some(only), None) => only.to_str().ok(),
//!             _ => None,
//!         };
//!         let id = id.unwrap_or("none").to_owned();
//!         // Not `sync_scope` around `call` and then `scope` around the future: one
//!         // binding, installed for both. `sync_scope` alone would leave the future
//!         // unbound, `scope` alone the inner `call`.
//!         REQUEST_ID.bind(id).scope_with(|| self.inner.call(request))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let inner = service_fn(|_: Request<()>| async {
//!     Ok::<_, std::convert::Infallible>(REQUEST_ID.try_get().unwrap())
//! });
//! let request = Request::get("/").header("x-request-id", "r-7").body(()).unwrap();
//! assert_eq!(BindRequestId { inner }.oneshot(request).await.unwrap(), "r-7");
//! # }
//! ```

use core::any::type_name;
use core::fmt;
use core::marker::PhantomData;
use core::task::{self, Poll};

use http::{HeaderName, Request};
use tower_layer::Layer;
use tower_service::Service;

use crate::bindings::{Binding, BindingList, Bindings};
use crate::headers::single_text;
use crate::key::ContextKey;
use crate::scope::Scope;
use crate::var::ContextVar;

/// Computes, from a request, the values a [`BindService`] binds while handling it.
///
/// Implemented for every closure `Fn(&Req) -> Bindings<L>`, and by [`FromHeader`].
/// Implement it for a type of your own when the layer's type must be named (a closure
/// has no name), or when the same value should be computable for several request
/// types.
///
/// It takes `&self`, not `&mut self`: a service is cloned for each connection (axum
/// clones it for each request), so state kept in it would be counted per clone;
/// shared state goes behind an `Arc` or an atomic.
///
/// ```
/// use ctxvar::context_var;
/// use ctxvar::tower::{BindLayer, MakeBindings};
/// use ctxvar::{Binding, Bindings};
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// #[context_var]
/// static PATH: String;
///
/// /// Binds `PATH` to the request's path.
/// #[derive(Clone, Debug)]
/// struct BindPath;
///
/// impl<B> MakeBindings<http::Request<B>> for BindPath {
///     type List = Binding<dyn PATH>;
///
///     fn make_bindings(&self, request: &http::Request<B>) -> Bindings<Binding<dyn PATH>> {
///         PATH.bind(request.uri().path().to_owned())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // A type that can be named, in a struct field or a type alias.
/// let layer: BindLayer<BindPath> = BindLayer::new(BindPath);
/// let service = ServiceBuilder::new().layer(layer).service(service_fn(|_| async {
///     Ok::<_, std::convert::Infallible>(PATH.try_get().unwrap())
/// }));
/// let request = http::Request::get("/orders/7").body(()).unwrap();
/// assert_eq!(service.oneshot(request).await.unwrap(), "/orders/7");
/// # }
/// ```
pub trait MakeBindings<Req> {
    /// The variables bound: [`Binding<dyn NAME>`](Binding) for one, pairs for several
    /// (`(Binding<dyn A>, Binding<dyn B>)` for `A.bind(a).and(B.bind(b))`).
    type List: BindingList + Send + Sync;

    /// The values to bind while `request` is handled.
    fn make_bindings(&self, request: &Req) -> Bindings<Self::List>;
}

impl<F, Req, L> MakeBindings<Req> for F
where
    F: Fn(&Req) -> Bindings<L>,
    L: BindingList + Send + Sync,
{
    type List = L;

    fn make_bindings(&self, request: &Req) -> Bindings<L> {
        self(request)
    }
}

/// A [`Layer`] that wraps services in a [`BindService`]: each request is handled with
/// variables bound from it.
///
/// `make` is a closure `Fn(&Req) -> Bindings<L>` (annotate its argument's type, as in
/// `|request: &http::Request<Body>|`: nothing else tells the compiler which requests
/// it takes) or any other [`MakeBindings`]. See the [module documentation](self) for
/// what the service does and where to put the layer.
///
/// Cloning the layer clones `make`; capture shared state by `Arc` in the closure.
///
/// ```
/// use ctxvar::context_var;
/// use ctxvar::tower::BindLayer;
/// use tower::{Layer, ServiceExt, service_fn};
///
/// #[context_var]
/// static ATTEMPT: u32;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // Any request type: here the request is the attempt number itself.
/// let layer = BindLayer::new(|attempt: &u32| ATTEMPT.bind(*attempt));
/// let service = layer.clone().layer(service_fn(|_: u32| async {
///     Ok::<_, std::convert::Infallible>(ATTEMPT.try_get())
/// }));
/// assert_eq!(service.oneshot(3).await.unwrap(), Ok(3));
/// # }
/// ```
#[derive(Clone)]
pub struct BindLayer<M> {
    make: M,
}

impl<M> BindLayer<M> {
    /// A layer binding what `make` computes from each request.
    ///
    /// ```
    /// use ctxvar::context_var;
    /// use ctxvar::tower::BindLayer;
    ///
    /// #[context_var]
    /// static METHOD: http::Method;
    ///
    /// let layer = BindLayer::new(|request: &http::Request<()>| METHOD.bind(request.method().clone()));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub const fn new(make: M) -> Self {
        BindLayer { make }
    }
}

impl<K: ContextKey + ?Sized, P> BindLayer<FromHeader<K, P>> {
    /// A layer binding `variable` to what `parse` makes of the request's `header`.
    ///
    /// `parse` receives `Some(value)` when the header appears exactly once with a
    /// value of visible ASCII, spaces and tabs, and `None` when it is missing,
    /// repeated, or holds other bytes; either way it returns the value to bind, so
    /// every request is bound (see "Headers come from the client" in the [module
    /// documentation](self)). It is called once per request, before the inner service.
    ///
    /// ```
    /// use ctxvar::context_var;
    /// use ctxvar::tower::BindLayer;
    /// use http::{HeaderName, Request};
    /// use tower::{Layer, ServiceExt, service_fn};
    ///
    /// #[context_var]
    /// static PAGE_SIZE: u32;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let layer = BindLayer::from_header(PAGE_SIZE, HeaderName::from_static("x-page-size"), |header| {
    ///     // Unparsable or absurd: the default size.
    ///     header.and_then(|text| text.parse().ok()).filter(|&size| size <= 100).unwrap_or(20)
    /// });
    /// let service = layer.layer(service_fn(|_: Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(PAGE_SIZE.try_get().unwrap())
    /// }));
    /// for (sent, bound) in [(Some("50"), 50), (Some("5000"), 20), (Some("many"), 20), (None, 20)] {
    ///     let mut request = Request::get("/").body(()).unwrap();
    ///     if let Some(sent) = sent {
    ///         request.headers_mut().insert("x-page-size", sent.parse().unwrap());
    ///     }
    ///     assert_eq!(service.clone().oneshot(request).await.unwrap(), bound);
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn from_header<V>(variable: V, header: HeaderName, parse: P) -> Self
    where
        V: ContextVar<Key = K>,
        P: Fn(Option<&str>) -> K::Value,
    {
        BindLayer::new(FromHeader::new(variable, header, parse))
    }
}

impl<S, M: Clone> Layer<S> for BindLayer<M> {
    type Service = BindService<S, M>;

    fn layer(&self, inner: S) -> BindService<S, M> {
        BindService::new(inner, self.make.clone())
    }
}

impl<M> fmt::Debug for BindLayer<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A closure is not `Debug`; its type's name says which one it is.
        f.debug_struct("BindLayer")
            .field("make", &format_args!("{}", type_name::<M>()))
            .finish()
    }
}

/// A [`Service`] that handles each request with variables bound from it; made by
/// [`BindLayer`].
///
/// Its `call` computes the bindings from the request, calls the inner service with
/// them installed, and returns the inner future in a [`Scope`] that installs them on
/// every poll and while dropping it. `poll_ready` is the inner service's.
///
/// ```
/// use ctxvar::context_var;
/// use ctxvar::tower::BindService;
/// use tower::{ServiceExt, service_fn};
///
/// #[context_var]
/// static ATTEMPT: u32;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let inner = service_fn(|_: u32| async { Ok::<_, std::convert::Infallible>(ATTEMPT.try_get()) });
/// let service = BindService::new(inner, |attempt: &u32| ATTEMPT.bind(*attempt));
/// assert_eq!(service.oneshot(2).await.unwrap(), Ok(2));
/// # }
/// ```
#[derive(Clone)]
pub struct BindService<S, M> {
    inner: S,
    make: M,
}

impl<S, M> BindService<S, M> {
    /// Wraps `inner`, binding what `make` computes from each request.
    ///
    /// ```
    /// use ctxvar::context_var;
    /// use ctxvar::tower::BindService;
    ///
    /// #[context_var]
    /// static ATTEMPT: u32;
    ///
    /// let inner = tower::service_fn(|n: u32| async move { Ok::<_, std::convert::Infallible>(n) });
    /// let service = BindService::new(inner, |attempt: &u32| ATTEMPT.bind(*attempt));
    /// # let _ = service;
    /// ```
    #[must_use]
    pub const fn new(inner: S, make: M) -> Self {
        BindService { inner, make }
    }

    /// The inner service.
    ///
    /// ```
    /// use ctxvar::context_var;
    /// use ctxvar::tower::BindService;
    ///
    /// #[context_var]
    /// static ATTEMPT: u32;
    ///
    /// let service = BindService::new("inner", |attempt: &u32| ATTEMPT.bind(*attempt));
    /// assert_eq!(*service.get_ref(), "inner");
    /// ```
    pub const fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    ///
    /// ```
    /// use ctxvar::context_var;
    /// use ctxvar::tower::BindService;
    ///
    /// #[context_var]
    /// static ATTEMPT: u32;
    ///
    /// let mut service = BindService::new(1, |attempt: &u32| ATTEMPT.bind(*attempt));
    /// *service.get_mut() += 1;
    /// assert_eq!(*service.get_ref(), 2);
    /// ```
    pub const fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, unwrapped.
    ///
    /// ```
    /// use ctxvar::context_var;
    /// use ctxvar::tower::BindService;
    ///
    /// #[context_var]
    /// static ATTEMPT: u32;
    ///
    /// let service = BindService::new(String::from("inner"), |attempt: &u32| ATTEMPT.bind(*attempt));
    /// assert_eq!(service.into_inner(), "inner");
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, M, Req> Service<Req> for BindService<S, M>
where
    S: Service<Req>,
    M: MakeBindings<Req>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Scope<M::List, S::Future>;

    fn poll_ready(&mut self, cx: &mut task::Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let bindings = self.make.make_bindings(&request);
        // One frame for both: the inner `call` runs with the values bound, and the
        // `Scope` installs the same frame on every poll of its future.
        bindings.scope_with(|| self.inner.call(request))
    }
}

impl<S: fmt::Debug, M> fmt::Debug for BindService<S, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BindService")
            .field("inner", &self.inner)
            .field("make", &format_args!("{}", type_name::<M>()))
            .finish()
    }
}

/// Binds one variable from one request header: the [`MakeBindings`] of
/// [`BindLayer::from_header`], which documents what `parse` receives.
///
/// Its type can be named when the parse function is a `fn` item or pointer, for a
/// struct field or a type alias:
///
/// ```
/// use ctxvar::context_var;
/// use ctxvar::tower::{BindLayer, FromHeader, MakeBindings};
/// use http::{HeaderName, Request};
///
/// #[context_var]
/// static REQUEST_ID: String;
///
/// fn request_id(header: Option<&str>) -> String {
///     header.unwrap_or("none").to_owned()
/// }
///
/// type RequestIdLayer = BindLayer<FromHeader<dyn REQUEST_ID, fn(Option<&str>) -> String>>;
///
/// let layer: RequestIdLayer =
///     BindLayer::from_header(REQUEST_ID, HeaderName::from_static("x-request-id"), request_id);
/// # let _ = layer;
///
/// // On its own, it computes the bindings for a request.
/// let make = FromHeader::new(REQUEST_ID, HeaderName::from_static("x-request-id"), request_id);
/// assert_eq!(
///     format!("{make:?}"),
///     r#"FromHeader { var: "REQUEST_ID", header: "x-request-id", .. }"#
/// );
/// let request = Request::get("/").header("x-request-id", "r-1").body(()).unwrap();
/// let bindings = make.make_bindings(&request);
/// assert_eq!(bindings.sync_scope(|| REQUEST_ID.try_get()), Ok("r-1".to_owned()));
/// ```
pub struct FromHeader<K: ?Sized, P> {
    header: HeaderName,
    parse: P,
    key: PhantomData<fn(&K)>,
}

impl<K: ContextKey + ?Sized, P> FromHeader<K, P> {
    /// Binds `variable` to what `parse` makes of a request's `header`; see
    /// [`BindLayer::from_header`].
    ///
    /// ```
    /// use ctxvar::context_var;
    /// use ctxvar::tower::{BindLayer, FromHeader};
    /// use http::HeaderName;
    ///
    /// #[context_var]
    /// static TENANT: Option<String>;
    ///
    /// // `None` when the client sent no usable tenant: the reader decides.
    /// let tenant = FromHeader::new(TENANT, HeaderName::from_static("x-tenant"), |header| {
    ///     header.map(str::to_owned)
    /// });
    /// let layer = BindLayer::new(tenant);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn new<V>(variable: V, header: HeaderName, parse: P) -> Self
    where
        V: ContextVar<Key = K>,
        P: Fn(Option<&str>) -> K::Value,
    {
        // Only the variable's type is kept: the variable itself is a zero-sized name.
        let _ = variable;
        FromHeader {
            header,
            parse,
            key: PhantomData,
        }
    }
}

impl<K, P, B> MakeBindings<Request<B>> for FromHeader<K, P>
where
    K: ContextKey + ?Sized,
    K::Value: Send + Sync,
    P: Fn(Option<&str>) -> K::Value,
{
    type List = Binding<K>;

    fn make_bindings(&self, request: &Request<B>) -> Bindings<Binding<K>> {
        let header = single_text(request.headers(), &self.header);
        Bindings::new((self.parse)(header))
    }
}

impl<K: ?Sized, P: Clone> Clone for FromHeader<K, P> {
    fn clone(&self) -> Self {
        FromHeader {
            header: self.header.clone(),
            parse: self.parse.clone(),
            key: PhantomData,
        }
    }
}

impl<K: ContextKey + ?Sized, P> fmt::Debug for FromHeader<K, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FromHeader")
            .field("var", &K::name())
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}
