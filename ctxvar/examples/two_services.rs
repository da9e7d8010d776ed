//! A tenant and a request id bound in one service are bound in the service it calls,
//! carried by the W3C `baggage` header (features `baggage` and `tracing`).
//!
//! ```sh
//! cargo run --example two_services
//! ```
//!
//! Both services run on loopback in this process. Service A binds `TENANT` and
//! `REQUEST_ID` for each request from its `x-tenant` and `x-request-id` headers
//! (`ctxvar::tower::BindLayer`), and calls service B with a plain HTTP client,
//! injecting the listed variables into the outgoing request. Service B reads them back
//! with the baggage layer: its handler and its log lines see A's values, though
//! nothing passed them along. Three requests run at once; each line shows its own.
//!
//! B trusts the `baggage` header because only A calls it here. A service reachable
//! by anyone else must not use baggage for authorization: see the security section of
//! the `ctxvar::baggage` documentation.

use std::net::SocketAddr;
use std::sync::LazyLock;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::get;
use ctxvar::baggage::Baggage;
use ctxvar::tower::BindLayer;
use ctxvar::{context_var, uses_context};
use http::{HeaderName, Request};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The tenant the request is for; shown as `tenant=..` on every log line.
#[context_var(trace = display)]
static TENANT: String;

/// The request's id, assigned by the caller of A; shown as `request_id=..`.
#[context_var(trace)]
static REQUEST_ID: u64;

/// The variables that travel from A to B, and their baggage keys: both services use
/// the same list.
static BAGGAGE: LazyLock<Baggage> = LazyLock::new(|| {
    Baggage::new()
        .var("tenant", TENANT)
        .var("request.id", REQUEST_ID)
});

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// GETs `request` and returns the body as text.
async fn fetch(client: &HttpClient, request: Request<Empty<Bytes>>) -> String {
    let response = client.request(request).await.expect("the service answers");
    let body = response.into_body().collect().await.expect("a whole body");
    String::from_utf8_lossy(&body.to_bytes()).into_owned()
}

/// Service B's handler. The caller may send no baggage, so it reads with `try_get`
/// rather than declaring the variables with `#[uses_context]`.
async fn b_report() -> String {
    tracing::info!("B: handling the request");
    let tenant = TENANT.try_get().unwrap_or_else(|_| "?".to_owned());
    let id = REQUEST_ID
        .try_get()
        .map_or_else(|_| "?".to_owned(), |id| id.to_string());
    format!("B saw tenant {tenant}, request {id}")
}

/// Service A's handler: `BindLayer` binds both variables for every request, so
/// `get` is checked and cannot fail.
#[uses_context(TENANT, REQUEST_ID)]
async fn a_handle(State((client, b)): State<(HttpClient, SocketAddr)>) -> String {
    tracing::info!("A: calling B");
    let mut request = Request::get(format!("http://{b}/report"))
        .body(Empty::new())
        .unwrap();
    BAGGAGE.inject(request.headers_mut()); // `baggage: tenant=..,request.id=..`
    let answer = fetch(&client, request).await;
    format!(
        "A had tenant {}, request {}; {answer}",
        TENANT.get(),
        REQUEST_ID.get()
    )
}

/// Serves `app` on a free loopback port.
async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .without_time()
        .with_target(false)
        .map_event_format(ctxvar::trace::ContextFields::text)
        .init();
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();

    // B reads the listed variables from each request's `baggage` header.
    let b = serve(
        Router::new()
            .route("/report", get(b_report))
            .layer(BAGGAGE.layer()),
    )
    .await;

    // A binds them from its own request's headers (a fallback when they are absent).
    let a = Router::new()
        .route("/", get(a_handle))
        .with_state((client.clone(), b))
        .layer(BindLayer::from_header(
            TENANT,
            HeaderName::from_static("x-tenant"),
            |header| header.unwrap_or("anonymous").to_owned(),
        ))
        .layer(BindLayer::from_header(
            REQUEST_ID,
            HeaderName::from_static("x-request-id"),
            |header| header.and_then(|id| id.parse().ok()).unwrap_or(0),
        ));
    let a = serve(a).await;

    let requests = [("acme", 1), ("globex", 2), ("initech", 3)].map(|(tenant, id)| {
        let request = Request::get(format!("http://{a}/"))
            .header("x-tenant", tenant)
            .header("x-request-id", id.to_string())
            .body(Empty::new())
            .unwrap();
        let client = client.clone();
        async move { fetch(&client, request).await }
    });
    for answer in futures::future::join_all(requests).await {
        println!("{answer}");
    }
}
