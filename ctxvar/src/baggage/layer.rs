//! The tower layer that binds the listed variables from each request's `baggage`
//! header.

use core::task::Poll;

use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use super::Baggage;
use crate::context::ContextScope;

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
    pub(super) baggage: Baggage,
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

    fn poll_ready(&mut self, cx: &mut core::task::Context<'_>) -> Poll<Result<(), S::Error>> {
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
