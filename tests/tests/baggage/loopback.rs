//! End to end: two axum services over loopback.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::routing::get;
use ctxvar::tower::BindLayer;
use http::{HeaderName, Request};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use tower::{Layer, ServiceExt};

use crate::{BAGGAGE, REQUEST_ID, TENANT, global_capture};

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

/// How A writes its baggage into its request to B.
#[derive(Clone, Copy, Debug)]
enum Inject {
    /// `BAGGAGE.inject(headers)` where the request is built.
    ByHand,
    /// Through a client wrapped in `BAGGAGE.inject_layer()`.
    Layer,
    /// Not at all: the negative control.
    Not,
}

/// A's state: the client, B's address, and how A injects its baggage.
#[derive(Clone)]
struct A {
    client: HttpClient,
    b: SocketAddr,
    inject: Inject,
}

/// A's handler: checks that it sees its own values, then calls B.
async fn a_handler(State(a): State<A>) -> String {
    let mine = (TENANT.try_get().unwrap(), REQUEST_ID.try_get().unwrap());
    let mut request = Request::get(format!("http://{}/", a.b))
        .body(Empty::new())
        .unwrap();
    if let Inject::ByHand = a.inject {
        BAGGAGE.inject(request.headers_mut());
    }
    tokio::task::yield_now().await;
    let answer = if let Inject::Layer = a.inject {
        let client = BAGGAGE.inject_layer().layer(a.client.clone());
        let response = client.oneshot(request).await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    } else {
        get_text(&a.client, request).await
    };
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
async fn two_services(count: u64, inject: Inject) -> Vec<(String, String)> {
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

/// One test drives every run, so that the log lines of the runs are not interleaved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_services_over_loopback_b_sees_each_of_a_s_requests_values_and_no_other() {
    let capture = global_capture();
    capture.clear();

    let results = two_services(300, Inject::ByHand).await;
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
    let results = two_services(20, Inject::Not).await;
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

    // The client layer instead of `inject` at the call site: the same check, whose
    // negative control is the run just above.
    capture.clear();
    let results = two_services(300, Inject::Layer).await;
    assert_eq!(every_answer_is_its_own(&results), Ok(()));
    let mut lines = b_log_lines();
    lines.sort();
    assert_eq!(lines, expected);
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
