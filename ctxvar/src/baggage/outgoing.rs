//! The tower layer on a client that writes the listed variables into every request it
//! sends, so that call sites need not call [`Baggage::inject`] by hand.

use core::task::{self, Poll};

use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use super::list::Baggage;

impl Baggage {
    /// A tower layer for a client: every request sent through it carries the listed
    /// variables bound where it is sent, written by [`inject`](Self::inject) when the
    /// request is handed to the client's `call`.
    ///
    /// It wraps any tower HTTP client: hyper-util's `Client`, a tonic `Channel`, a
    /// `tower::ServiceBuilder` stack. The values are read in `call`, so the layer must
    /// sit outside (be listed before) anything that moves `call` to another task, such
    /// as `tower::buffer::Buffer`: inside it, the request is written by the buffer's
    /// worker, which sees nothing bound.
    ///
    /// ```
    /// use ctxvar::baggage::Baggage;
    /// use ctxvar::context_var;
    /// use tower::{Layer, ServiceExt, service_fn};
    ///
    /// #[context_var]
    /// static TENANT: String;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let baggage = Baggage::new().var("tenant", TENANT);
    /// // A stand-in for an HTTP client: it answers with the header it was sent.
    /// let client = service_fn(|request: http::Request<()>| async move {
    ///     Ok::<_, std::convert::Infallible>(request.headers().get("baggage").cloned())
    /// });
    /// let client = baggage.inject_layer().layer(client);
    ///
    /// let request = http::Request::get("http://b.internal/").body(()).unwrap();
    /// let sent = TENANT.scope("acme".to_owned(), client.oneshot(request)).await;
    /// assert_eq!(sent.unwrap().unwrap(), "tenant=acme");
    /// # }
    /// ```
    #[must_use]
    pub fn inject_layer(&self) -> InjectLayer {
        InjectLayer {
            baggage: self.clone(),
        }
    }
}

/// A [`Layer`] that wraps a client in an [`InjectService`]; made by
/// [`Baggage::inject_layer`], which shows it on a client.
///
/// ```
/// use ctxvar::baggage::{Baggage, InjectLayer};
/// use ctxvar::context_var;
/// use tower::ServiceBuilder;
///
/// #[context_var]
/// static TENANT: String;
///
/// let layer: InjectLayer = Baggage::new().var("tenant", TENANT).inject_layer();
/// // Listed before a buffer, so that `call` runs where the request is sent.
/// let _stack = ServiceBuilder::new().layer(layer);
/// ```
#[derive(Clone, Debug)]
pub struct InjectLayer {
    baggage: Baggage,
}

impl<S> Layer<S> for InjectLayer {
    type Service = InjectService<S>;

    fn layer(&self, inner: S) -> InjectService<S> {
        InjectService {
            inner,
            baggage: self.baggage.clone(),
        }
    }
}

/// A [`Service`] that writes the listed variables bound where `call` is made into the
/// request's `baggage` header, then hands the request to the inner client; made by
/// [`InjectLayer`].
///
/// Its future and `poll_ready` are the inner service's: the values are read once, in
/// `call`, and nothing is entered while the response is awaited.
///
/// ```
/// use ctxvar::baggage::{Baggage, InjectService};
/// use ctxvar::context_var;
/// use tower::{Layer, Service, service_fn};
///
/// #[context_var]
/// static TENANT: String;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let echo = service_fn(|request: http::Request<()>| async move {
///     Ok::<_, std::convert::Infallible>(request.headers().get("baggage").cloned())
/// });
/// let mut client: InjectService<_> = Baggage::new().var("tenant", TENANT).inject_layer().layer(echo);
/// let request = http::Request::get("/").body(()).unwrap();
/// // Outside any scope, nothing is written.
/// assert_eq!(client.call(request).await.unwrap(), None);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct InjectService<S> {
    inner: S,
    baggage: Baggage,
}

impl<S, B> Service<Request<B>> for InjectService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut task::Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> S::Future {
        self.baggage.inject(request.headers_mut());
        self.inner.call(request)
    }
}
