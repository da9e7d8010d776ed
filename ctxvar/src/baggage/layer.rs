//! The tower layer that binds the listed variables from each request's `baggage`
//! header.

use core::task::{self, Poll};

use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use super::list::Baggage;
use crate::context::ContextScope;

impl Baggage {
    /// A tower layer that handles each request in the context [`extract`](Self::extract)
    /// returns for its headers: the listed variables are bound for the inner service's
    /// `call` and on every poll of its future.
    ///
    /// Apply it only where callers are trusted (see the [module documentation](super)).
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
}

/// A [`Layer`] that wraps services in a [`BaggageService`]; made by
/// [`Baggage::layer`], which shows it in an axum router.
///
/// ```
/// use ctxvar::baggage::{Baggage, BaggageLayer};
/// use ctxvar::context_var;
/// use tower::{Layer, ServiceExt, service_fn};
///
/// #[context_var]
/// static TENANT: String;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let layer: BaggageLayer = Baggage::new().var("tenant", TENANT).layer();
/// let service = layer.layer(service_fn(|_: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(TENANT.try_get())
/// }));
/// let request = http::Request::get("/").header("baggage", "tenant=acme").body(()).unwrap();
/// assert_eq!(service.oneshot(request).await.unwrap(), Ok("acme".to_owned()));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct BaggageLayer {
    baggage: Baggage,
}

impl<S> Layer<S> for BaggageLayer {
    type Service = BaggageService<S>;

    fn layer(&self, inner: S) -> BaggageService<S> {
        BaggageService {
            inner,
            baggage: self.baggage.clone(),
        }
    }
}

/// A [`Service`] that handles each request in the context [`Baggage::extract`] returns
/// for its headers; made by [`BaggageLayer`].
///
/// Its `call` runs the inner `call` in that context and returns the inner future in a
/// [`ContextScope`], which enters the context on every poll and while the future is
/// dropped. `poll_ready` is the inner service's.
///
/// ```
/// use ctxvar::baggage::{Baggage, BaggageService};
/// use ctxvar::{ContextScope, context_var};
/// use tower::{Layer, Service, service_fn};
///
/// #[context_var]
/// static TENANT: String;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let inner = service_fn(|_: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(TENANT.try_get())
/// });
/// let mut service: BaggageService<_> = Baggage::new().var("tenant", TENANT).layer().layer(inner);
/// let request = http::Request::get("/").header("baggage", "tenant=acme").body(()).unwrap();
/// // The future's type can be named, in a hand-written service that wraps this one.
/// let future: ContextScope<_> = service.call(request);
/// assert_eq!(future.await.unwrap(), Ok("acme".to_owned()));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct BaggageService<S> {
    inner: S,
    baggage: Baggage,
}

impl<S, B> Service<Request<B>> for BaggageService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ContextScope<S::Future>;

    fn poll_ready(&mut self, cx: &mut task::Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let ctx = self.baggage.extract(request.headers());
        // The inner `call` may work before it returns its future (a layer that logs
        // there), and the future is where the handler runs: both see the context.
        let future = ctx.run(|| self.inner.call(request));
        ctx.scope(future)
    }
}
