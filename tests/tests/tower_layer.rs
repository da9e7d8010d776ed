//! `ctxvar::tower`: a layer that binds variables for each request, seen by the inner
//! service's `call` and by every poll (and the drop) of its response future, in
//! `tower::ServiceBuilder` stacks, in an axum router, and over a real connection.

mod support;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use ctxvar::tower::{BindLayer, BindService};
use ctxvar::{AccessError, Binding, Scope, context_var, uses_context};
use ctxvar_tests::REQUEST_ID;
use http::{HeaderName, HeaderValue, Request, StatusCode};
use support::{pending_n, poll_once};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::{Layer, Service, ServiceBuilder, ServiceExt, service_fn};

/// A number the client sends, to check parsing of hostile values.
#[context_var]
static ATTEMPT: u32;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_ATTEMPT: HeaderName = HeaderName::from_static("x-attempt");

/// What a client that sent no usable request id is bound to.
const ANONYMOUS: &str = "anonymous";

fn request_id(header: Option<&str>) -> String {
    header.map_or_else(|| ANONYMOUS.to_owned(), str::to_owned)
}

fn attempt(header: Option<&str>) -> u32 {
    header.and_then(|text| text.parse().ok()).unwrap_or(0)
}

/// The header's value as the layer's closure reads it, for the `ServiceBuilder` tests.
fn bind_request_id<B>(request: &Request<B>) -> ctxvar::Bindings<Binding<dyn REQUEST_ID>> {
    let header = request.headers().get(X_REQUEST_ID);
    REQUEST_ID.bind(request_id(header.and_then(|v| v.to_str().ok())))
}

fn request(id: &str) -> Request<String> {
    Request::get("/")
        .header(X_REQUEST_ID, id)
        .body(String::new())
        .unwrap()
}

/// What the innermost service saw of `REQUEST_ID` while handling one request.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    /// In its `call`, before it returned its future.
    in_call: Result<String, AccessError>,
    /// On each of the future's polls: it returns `Pending` between the reads, so they
    /// are separate polls, possibly on different worker threads.
    in_polls: Vec<Result<String, AccessError>>,
}

impl Seen {
    fn everywhere(id: &str) -> Self {
        Seen {
            in_call: Ok(id.to_owned()),
            in_polls: vec![Ok(id.to_owned()); POLLS],
        }
    }
}

const POLLS: usize = 4;

/// The innermost service: records what it sees of `REQUEST_ID` in `call` and on every
/// poll of its future.
fn probe() -> impl Service<
    Request<String>,
    Response = Seen,
    Error = Infallible,
    Future = impl Future<Output = Result<Seen, Infallible>> + Send,
> + Clone
+ Send
+ Sync {
    service_fn(|_: Request<String>| {
        let in_call = REQUEST_ID.try_get();
        async move {
            let mut in_polls = vec![REQUEST_ID.try_get()];
            for _ in 1..POLLS {
                pending_n(1).await;
                in_polls.push(REQUEST_ID.try_get());
            }
            Ok(Seen { in_call, in_polls })
        }
    })
}

#[tokio::test]
async fn the_inner_call_and_every_poll_of_its_future_see_the_value() {
    let service = ServiceBuilder::new()
        .layer(BindLayer::new(bind_request_id::<String>))
        .service(probe());
    let seen = service.oneshot(request("r-1")).await.unwrap();
    assert_eq!(seen, Seen::everywhere("r-1"));
    assert!(!REQUEST_ID.is_bound(), "the binding outlived the request");
}

#[tokio::test]
async fn the_header_constructor_binds_in_call_and_future() {
    let service = ServiceBuilder::new()
        .layer(BindLayer::from_header(REQUEST_ID, X_REQUEST_ID, request_id))
        .service(probe());
    let seen = service.oneshot(request("r-2")).await.unwrap();
    assert_eq!(seen, Seen::everywhere("r-2"));
}

#[test]
fn the_response_future_is_dropped_with_the_value_bound() {
    /// Records what its destructor reads.
    struct ReadOnDrop(Arc<Mutex<Option<Result<String, AccessError>>>>);
    impl Drop for ReadOnDrop {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = Some(REQUEST_ID.try_get());
        }
    }

    let read_on_drop = Arc::new(Mutex::new(None));
    let mut service = BindService::new(
        service_fn(|_: Request<String>| {
            let guard = ReadOnDrop(Arc::clone(&read_on_drop));
            async move {
                let _guard = guard;
                std::future::pending::<Result<(), Infallible>>().await
            }
        }),
        bind_request_id::<String>,
    );
    {
        let mut future = pin!(service.call(request("r-3")));
        assert!(poll_once(future.as_mut()).is_pending());
        assert_eq!(*read_on_drop.lock().unwrap(), None);
    } // the request is cancelled: the future is dropped here, unfinished
    assert_eq!(*read_on_drop.lock().unwrap(), Some(Ok("r-3".to_owned())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_each_see_only_their_own_value() {
    const REQUESTS: usize = 500;
    let service = ServiceBuilder::new()
        .layer(BindLayer::from_header(REQUEST_ID, X_REQUEST_ID, request_id))
        .service(probe());
    // Spawned, so the requests run on both workers and interleave poll by poll.
    let handles: Vec<_> = (0..REQUESTS)
        .map(|n| {
            let service = service.clone();
            tokio::spawn(async move { service.oneshot(request(&format!("r-{n}"))).await })
        })
        .collect();
    let mut cross_talk = Vec::new();
    for (n, handle) in handles.into_iter().enumerate() {
        let seen = handle.await.unwrap().unwrap();
        if seen != Seen::everywhere(&format!("r-{n}")) {
            cross_talk.push((n, seen));
        }
    }
    assert!(
        cross_talk.is_empty(),
        "requests saw other values: {cross_talk:?}"
    );
}

/// Ready only after `Pending` once; records whether `REQUEST_ID` was bound while it
/// was asked.
#[derive(Clone)]
struct ReadyOnSecondAsk {
    asked: usize,
    bound_when_asked: Arc<Mutex<Vec<bool>>>,
}

impl Service<Request<String>> for ReadyOnSecondAsk {
    type Response = ();
    type Error = Infallible;
    type Future = std::future::Ready<Result<(), Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.bound_when_asked
            .lock()
            .unwrap()
            .push(REQUEST_ID.is_bound());
        self.asked += 1;
        if self.asked == 1 {
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            Poll::Ready(Ok(()))
        }
    }

    fn call(&mut self, _: Request<String>) -> Self::Future {
        std::future::ready(Ok(()))
    }
}

#[tokio::test]
async fn poll_ready_is_the_inner_services_and_binds_nothing() {
    let bound_when_asked = Arc::new(Mutex::new(Vec::new()));
    let inner = ReadyOnSecondAsk {
        asked: 0,
        bound_when_asked: Arc::clone(&bound_when_asked),
    };
    let mut service = BindService::new(inner, bind_request_id::<String>);
    let mut ready = pin!(std::future::poll_fn(|cx| service.poll_ready(cx)));
    assert!(poll_once(ready.as_mut()).is_pending());
    assert!(matches!(poll_once(ready.as_mut()), Poll::Ready(Ok(()))));
    service.call(request("r-4")).await.unwrap();
    assert_eq!(*bound_when_asked.lock().unwrap(), [false, false]);
}

#[test]
fn layer_and_service_are_clone_debug_send_and_sync() {
    fn shareable<T: Clone + Send + Sync + std::fmt::Debug + 'static>(value: &T) -> String {
        format!("{:?}", value.clone())
    }
    fn send<T: Send>(_: &T) {}
    let layer = BindLayer::from_header(REQUEST_ID, X_REQUEST_ID, request_id);
    assert!(shareable(&layer).starts_with("BindLayer { make: "));
    let service = layer.layer("inner");
    assert!(shareable(&service).starts_with(r#"BindService { inner: "inner", make: "#));
    // The future is `Send` when the inner one is (axum requires it); this compiles
    // only if so.
    let mut service = BindLayer::new(bind_request_id::<String>).layer(probe());
    let future: Scope<Binding<dyn REQUEST_ID>, _> = service.call(request("r-5"));
    send(&future);
}

// ---------------------------------------------------------------------------------
// Negative controls: layers that bind only half of the request. The same probe must
// report the half they leave unbound, or the tests above could not fail.

/// How a hand-written layer binds, for the negative controls.
#[derive(Clone, Copy)]
enum HalfBinding {
    /// `sync_scope` around the inner `call`: the future runs unbound.
    CallOnly,
    /// `scope` around the future the inner `call` returned: `call` runs unbound.
    FutureOnly,
}

#[derive(Clone)]
struct HalfBind<S> {
    inner: S,
    how: HalfBinding,
}

impl<S> Service<Request<String>> for HalfBind<S>
where
    S: Service<Request<String>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<String>) -> Self::Future {
        let bindings = bind_request_id(&request);
        match self.how {
            HalfBinding::CallOnly => Box::pin(bindings.sync_scope(|| self.inner.call(request))),
            HalfBinding::FutureOnly => Box::pin(bindings.scope(self.inner.call(request))),
        }
    }
}

#[tokio::test]
async fn control_binding_only_around_call_leaves_the_future_unbound() {
    let service = HalfBind {
        inner: probe(),
        how: HalfBinding::CallOnly,
    };
    let seen = service.oneshot(request("r-6")).await.unwrap();
    assert_ne!(seen, Seen::everywhere("r-6"), "the probe cannot tell");
    assert_eq!(seen.in_call, Ok("r-6".to_owned()));
    assert!(
        seen.in_polls.iter().all(Result::is_err),
        "the future saw a value no one bound for it: {seen:?}"
    );
}

#[tokio::test]
async fn control_binding_only_the_future_leaves_call_unbound() {
    let service = HalfBind {
        inner: probe(),
        how: HalfBinding::FutureOnly,
    };
    let seen = service.oneshot(request("r-7")).await.unwrap();
    assert_ne!(seen, Seen::everywhere("r-7"), "the probe cannot tell");
    assert!(seen.in_call.is_err());
    assert_eq!(seen.in_polls, vec![Ok("r-7".to_owned()); POLLS]);
}

// ---------------------------------------------------------------------------------
// axum

/// Requires `REQUEST_ID` (checked on entry) and reads it after a suspension, so the
/// read is in a later poll than the handler's first.
#[uses_context(REQUEST_ID)]
async fn whoami() -> String {
    pending_n(1).await;
    format!("<{}>", REQUEST_ID.get())
}

/// Reads both variables without requiring them: what a handler behind a layer that
/// binds only `call` (the negative control) would report.
async fn both() -> String {
    tokio::task::yield_now().await;
    format!("<{:?} {:?}>", REQUEST_ID.try_get(), ATTEMPT.try_get())
}

/// A strict helper: it can be awaited only where `REQUEST_ID` is provided.
#[uses_context(REQUEST_ID, strict)]
async fn shouted() -> String {
    REQUEST_ID.get().to_uppercase()
}

/// An axum handler cannot be strict (axum takes a plain future): it declares the
/// variable, which the layer binds, and that discharges the strict helper's
/// requirement at compile time.
#[uses_context(REQUEST_ID)]
async fn via_a_strict_helper() -> String {
    format!("<{}>", shouted().await)
}

fn app() -> Router {
    Router::new()
        .route("/", get(whoami))
        .route("/strict", get(via_a_strict_helper))
        .route("/both", get(both))
        .layer(BindLayer::from_header(REQUEST_ID, X_REQUEST_ID, request_id))
        .layer(BindLayer::from_header(ATTEMPT, X_ATTEMPT, attempt))
}

async fn body_text(response: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn an_axum_handler_requiring_the_variable_reads_it() {
    let request = Request::get("/")
        .header(X_REQUEST_ID, "r-8")
        .body(Body::empty())
        .unwrap();
    let response = app().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, "<r-8>");
}

#[tokio::test]
async fn an_axum_handler_awaits_a_strict_helper_whose_variable_a_layer_binds() {
    let request = Request::get("/strict")
        .header(X_REQUEST_ID, "r-9")
        .body(Body::empty())
        .unwrap();
    let response = app().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, "<R-9>");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_axum_requests_each_see_only_their_own_value() {
    let app = app();
    let handles: Vec<_> = (0..300)
        .map(|n| {
            let request = Request::get("/both")
                .header(X_REQUEST_ID, format!("r-{n}"))
                .header(X_ATTEMPT, n.to_string())
                .body(Body::empty())
                .unwrap();
            let app = app.clone();
            tokio::spawn(async move { body_text(app.oneshot(request).await.unwrap()).await })
        })
        .collect();
    for (n, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.await.unwrap(), format!("<Ok(\"r-{n}\") Ok({n})>"));
    }
}

/// A header as the client sent it, and what the handler must report.
struct Hostile {
    what: &'static str,
    request_ids: &'static [&'static [u8]],
    attempts: &'static [&'static [u8]],
    expected: &'static str,
}

const HOSTILE: &[Hostile] = &[
    Hostile {
        what: "missing",
        request_ids: &[],
        attempts: &[],
        expected: r#"<Ok("anonymous") Ok(0)>"#,
    },
    Hostile {
        what: "not UTF-8",
        request_ids: &[b"\xff\xfe\xc3"],
        attempts: &[b"\x80"],
        expected: r#"<Ok("anonymous") Ok(0)>"#,
    },
    Hostile {
        what: "UTF-8 but not ASCII",
        request_ids: &["r-\u{e9}".as_bytes()],
        attempts: &["\u{665}".as_bytes()], // an Arabic-Indic digit five
        expected: r#"<Ok("anonymous") Ok(0)>"#,
    },
    Hostile {
        what: "duplicated",
        request_ids: &[b"r-a", b"r-b"],
        attempts: &[b"1", b"2"],
        expected: r#"<Ok("anonymous") Ok(0)>"#,
    },
    Hostile {
        what: "duplicated, same value",
        request_ids: &[b"r-a", b"r-a"],
        attempts: &[b"1", b"1"],
        expected: r#"<Ok("anonymous") Ok(0)>"#,
    },
    Hostile {
        what: "unparsable number",
        request_ids: &[b"r-9"],
        attempts: &[b"twelve"],
        expected: r#"<Ok("r-9") Ok(0)>"#,
    },
    Hostile {
        what: "number out of range",
        request_ids: &[b"r-9"],
        attempts: &[b"99999999999999999999"],
        expected: r#"<Ok("r-9") Ok(0)>"#,
    },
    Hostile {
        what: "negative number",
        request_ids: &[b"r-9"],
        attempts: &[b"-1"],
        expected: r#"<Ok("r-9") Ok(0)>"#,
    },
    Hostile {
        what: "empty",
        request_ids: &[b""],
        attempts: &[b""],
        expected: r#"<Ok("") Ok(0)>"#,
    },
    Hostile {
        // Text is what `HeaderValue::to_str` accepts: visible ASCII, spaces and tabs.
        what: "spaces and tabs are text",
        request_ids: &[b"r 1\tx"],
        attempts: &[b"7\t"],
        expected: r#"<Ok("r 1\tx") Ok(0)>"#,
    },
];

#[tokio::test]
async fn hostile_headers_bind_the_fallback_and_never_panic() {
    for case in HOSTILE {
        let mut request = Request::get("/both").body(Body::empty()).unwrap();
        let headers = request.headers_mut();
        for &value in case.request_ids {
            headers.append(X_REQUEST_ID, HeaderValue::from_bytes(value).unwrap());
        }
        for &value in case.attempts {
            headers.append(X_ATTEMPT, HeaderValue::from_bytes(value).unwrap());
        }
        let response = app().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{}", case.what);
        assert_eq!(body_text(response).await, case.expected, "{}", case.what);
    }
}

#[tokio::test]
async fn control_axum_behind_a_layer_binding_only_call_sees_nothing() {
    let app = Router::new().route("/both", get(both)).layer(
        // `Router::layer` needs a `Layer`; this one makes the call-only control.
        tower::layer::layer_fn(|inner| HalfBindAxum { inner }),
    );
    let request = Request::get("/both")
        .header(X_REQUEST_ID, "r-10")
        .body(Body::empty())
        .unwrap();
    let text = body_text(app.oneshot(request).await.unwrap()).await;
    assert!(
        text.starts_with("<Err("),
        "the handler saw a value no one bound for its future: {text}"
    );
}

/// The call-only control for axum's request type.
#[derive(Clone)]
struct HalfBindAxum<S> {
    inner: S,
}

impl<S> Service<Request<Body>> for HalfBindAxum<S>
where
    S: Service<Request<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> S::Future {
        bind_request_id(&request).sync_scope(|| self.inner.call(request))
    }
}

// ---------------------------------------------------------------------------------
// Over a real connection: axum::serve on loopback, raw HTTP/1.1 from a TCP socket.

async fn serve() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app()).await.unwrap() });
    (address, server)
}

/// Sends `raw` (one or more requests, the last with `Connection: close`) and returns
/// everything the server answered until it closed the connection.
async fn exchange(address: SocketAddr, raw: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(raw).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8(answer).unwrap()
}

/// The bodies of the responses in `answer`, in order (each body is one `<..>`).
fn bodies(answer: &str) -> Vec<&str> {
    answer
        .split('<')
        .skip(1)
        .map(|rest| rest.split_once('>').unwrap().0)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_loopback_each_request_of_a_connection_sees_its_own_value() {
    let (address, server) = serve().await;
    // Two requests on one connection: one service clone handles both, and each is
    // bound from its own headers.
    let answer = exchange(
        address,
        b"GET / HTTP/1.1\r\nhost: test\r\nx-request-id: first\r\n\r\n\
          GET / HTTP/1.1\r\nhost: test\r\nx-request-id: second\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 2, "{answer}");
    assert_eq!(bodies(&answer), ["first", "second"]);

    // Many connections at once, each with its own id.
    let clients: Vec<_> = (0..50)
        .map(|n| {
            tokio::spawn(async move {
                let raw = format!(
                    "GET /both HTTP/1.1\r\nhost: test\r\nx-request-id: c-{n}\r\n\
                     x-attempt: {n}\r\nconnection: close\r\n\r\n"
                );
                exchange(address, raw.as_bytes()).await
            })
        })
        .collect();
    for (n, client) in clients.into_iter().enumerate() {
        let answer = client.await.unwrap();
        assert_eq!(
            bodies(&answer),
            [format!("Ok(\"c-{n}\") Ok({n})")],
            "{answer}"
        );
    }
    server.abort();
}

#[tokio::test]
async fn over_loopback_hostile_headers_bind_the_fallback() {
    let (address, server) = serve().await;
    let answer = exchange(
        address,
        b"GET /both HTTP/1.1\r\nhost: test\r\nx-request-id: \xff\xfe\r\nx-attempt: \xc3\xa9\r\n\r\n\
          GET /both HTTP/1.1\r\nhost: test\r\nx-request-id: a\r\nx-request-id: b\r\n\
          x-attempt: 9\r\nx-attempt: 9\r\n\r\n\
          GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 3, "{answer}");
    assert_eq!(
        bodies(&answer),
        [
            r#"Ok("anonymous") Ok(0)"#,
            r#"Ok("anonymous") Ok(0)"#,
            "anonymous"
        ]
    );
    server.abort();
}
