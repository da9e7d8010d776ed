//! `ctxvar::baggage` over gRPC: two tonic services on loopback. The servers are
//! `tonic::transport::Server::builder().layer(BAGGAGE.layer())`; the clients are a
//! `Channel` wrapped in `BAGGAGE.inject_layer()`. A caller binds a tenant and a
//! request id and calls service A, whose handler calls service B: both see the
//! caller's values, for 500 concurrent calls. A server-streaming call produces every
//! message under the caller's values once the handler scopes its stream; hostile
//! `baggage` metadata binds nothing wrong; and the same calls through a bare `Channel`
//! (the negative control) carry nothing.
//!
//! The service is written by hand, in the shape of tonic's generated code, over a
//! codec of UTF-8 text: no protoc and no build script.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};

use ctxvar::baggage::{Baggage, InjectService};
use ctxvar::context_var;
use futures::{Stream, StreamExt};
use http::uri::PathAndQuery;
use tonic::body::Body;
use tonic::metadata::MetadataValue;
use tonic::server::NamedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Request, Response, Status};
use tower::{Service, ServiceBuilder, service_fn};

#[path = "../../ctxvar/examples/grpc_services/text_codec.rs"]
mod text_codec;
use text_codec::TextCodec;

#[context_var]
static TENANT: String;

#[context_var]
static REQUEST_ID: u64;

/// Never listed: must never travel, and never be bound from a caller's metadata.
#[context_var]
static SECRET: String;

static BAGGAGE: LazyLock<Baggage> = LazyLock::new(|| {
    Baggage::new()
        .var("tenant", TENANT)
        .var("request.id", REQUEST_ID)
});

const SERVICE: &str = "ctxvar.test.Echo";
/// Unary: answers with what the server sees.
const WHOAMI: &str = "/ctxvar.test.Echo/Whoami";
/// Unary: calls the downstream service's `Whoami`, answers with both views.
const RELAY: &str = "/ctxvar.test.Echo/Relay";
/// Server streaming: the stream is wrapped in the request's context.
const WATCH: &str = "/ctxvar.test.Echo/Watch";
/// Server streaming: the stream is returned as it is.
const WATCH_UNSCOPED: &str = "/ctxvar.test.Echo/WatchUnscoped";

/// How many messages a `Watch` call streams.
const MESSAGES: usize = 5;

/// What the code reading it sees: `tenant=.. request.id=.. secret=..`, `none` where unbound.
fn whoami() -> String {
    let or_none = |value: Option<String>| value.unwrap_or_else(|| "none".to_owned());
    format!(
        "tenant={} request.id={} secret={}",
        or_none(TENANT.try_get().ok()),
        or_none(REQUEST_ID.try_get().ok().map(|id| id.to_string())),
        or_none(SECRET.try_get().ok()),
    )
}

/// A client of the echo service: tonic's client over a `Channel`, bare or wrapped.
type Client<T> = tonic::client::Grpc<T>;

/// The clients this file makes: a `Channel` with the inject layer, and without.
trait Transport:
    Service<
        http::Request<Body>,
        Response = http::Response<Body>,
        Error = tonic::transport::Error,
        Future: Send,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> Transport for T where
    T: Service<
            http::Request<Body>,
            Response = http::Response<Body>,
            Error = tonic::transport::Error,
            Future: Send,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

async fn unary<T: Transport>(
    client: &mut Client<T>,
    request: Request<String>,
    path: &'static str,
) -> Result<String, Status> {
    client
        .ready()
        .await
        .map_err(|error| Status::unavailable(error.to_string()))?;
    let response = client
        .unary(request, PathAndQuery::from_static(path), TextCodec)
        .await?;
    Ok(response.into_inner())
}

async fn watch<T: Transport>(client: &mut Client<T>, path: &'static str) -> Vec<String> {
    client.ready().await.unwrap();
    let response = client
        .server_streaming(
            Request::new(String::new()),
            PathAndQuery::from_static(path),
            TextCodec,
        )
        .await
        .unwrap();
    let mut stream = response.into_inner();
    let mut messages = Vec::new();
    while let Some(message) = stream.message().await.unwrap() {
        messages.push(message);
    }
    messages
}

/// The echo service, written as tonic's code generator writes one: a tower service
/// over HTTP requests that routes on the path to `tonic::server::Grpc`.
#[derive(Clone)]
struct Echo {
    /// The service `Relay` calls, through a client with the inject layer.
    downstream: Option<Client<InjectService<Channel>>>,
}

impl NamedService for Echo {
    const NAME: &'static str = SERVICE;
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// `MESSAGES` messages, each made when the stream is polled for it.
fn messages() -> impl Stream<Item = Result<String, Status>> + Send + 'static {
    futures::stream::iter(0..MESSAGES).then(|_| async {
        // Polled again after a yield, possibly on another worker thread.
        tokio::task::yield_now().await;
        Ok(whoami())
    })
}

impl Service<http::Request<Body>> for Echo {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let mut grpc = tonic::server::Grpc::new(TextCodec);
        match request.uri().path() {
            WHOAMI => Box::pin(async move {
                let handler = service_fn(|_: Request<String>| async {
                    // Another call's poll may come in between.
                    tokio::task::yield_now().await;
                    Ok::<_, Status>(Response::new(whoami()))
                });
                Ok(grpc.unary(handler, request).await)
            }),
            RELAY => {
                let downstream = self.downstream.clone();
                Box::pin(async move {
                    let handler = service_fn(move |_: Request<String>| {
                        let mut downstream = downstream.clone().expect("a downstream service");
                        async move {
                            let mine = whoami();
                            let theirs =
                                unary(&mut downstream, Request::new(String::new()), WHOAMI).await?;
                            // The call did not disturb this handler's own bindings.
                            assert_eq!(whoami(), mine);
                            Ok::<_, Status>(Response::new(format!("a: {mine}; b: {theirs}")))
                        }
                    });
                    Ok(grpc.unary(handler, request).await)
                })
            }
            WATCH => Box::pin(async move {
                let handler = service_fn(|_: Request<String>| async {
                    // The body is polled by the connection after the layer's future has
                    // returned the response, outside the request's context: the stream
                    // takes the context with it.
                    let stream = ctxvar::Context::current().scope_stream(messages());
                    Ok::<_, Status>(Response::new(stream))
                });
                Ok(grpc.server_streaming(handler, request).await)
            }),
            WATCH_UNSCOPED => Box::pin(async move {
                let handler = service_fn(|_: Request<String>| async {
                    Ok::<_, Status>(Response::new(messages()))
                });
                Ok(grpc.server_streaming(handler, request).await)
            }),
            _ => Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) }),
        }
    }
}

/// Serves `echo` on a free loopback port, behind the baggage layer.
async fn serve(echo: Echo) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = Server::builder()
        .layer(BAGGAGE.layer())
        .add_service(echo)
        .serve_with_incoming(TcpIncoming::from(listener));
    tokio::spawn(async move { server.await.unwrap() });
    address
}

async fn channel(address: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// A client whose every request carries the listed variables bound where it is sent.
fn injecting(channel: Channel) -> Client<InjectService<Channel>> {
    Client::new(
        ServiceBuilder::new()
            .layer(BAGGAGE.inject_layer())
            .service(channel),
    )
}

/// Service B, and service A calling it.
async fn a_and_b() -> SocketAddr {
    let b = serve(Echo { downstream: None }).await;
    let to_b = injecting(channel(b).await);
    serve(Echo {
        downstream: Some(to_b),
    })
    .await
}

/// Calls `path` with `count` concurrent calls, each in its own scope of tenant
/// `tenant-{n}` and request id `n`; returns `(n, answer)` for each.
async fn concurrent_calls<T: Transport>(
    client: &Client<T>,
    count: u64,
    path: &'static str,
) -> Vec<(u64, String)> {
    let calls: Vec<_> = (1..=count)
        .map(|n| {
            let mut client = client.clone();
            let call = async move { unary(&mut client, Request::new(String::new()), path).await };
            let call = TENANT.scope(format!("tenant-{n}"), REQUEST_ID.scope(n, call));
            tokio::spawn(async move { (n, call.await.unwrap()) })
        })
        .collect();
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap());
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_concurrent_calls_through_two_services_each_carry_their_own() {
    let a = a_and_b().await;
    let client = injecting(channel(a).await);
    let answers = concurrent_calls(&client, 500, RELAY).await;
    assert_eq!(answers.len(), 500);
    for (n, answer) in answers {
        let sent = format!("tenant=tenant-{n} request.id={n} secret=none");
        assert_eq!(answer, format!("a: {sent}; b: {sent}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listed_variables_only_travel() {
    let b = serve(Echo { downstream: None }).await;
    let mut client = injecting(channel(b).await);
    let call = unary(&mut client, Request::new(String::new()), WHOAMI);
    let answer = SECRET
        .scope("hunter2".to_owned(), TENANT.scope("acme".to_owned(), call))
        .await;
    assert_eq!(answer.unwrap(), "tenant=acme request.id=none secret=none");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scoped_stream_produces_every_message_under_the_callers_values() {
    let b = serve(Echo { downstream: None }).await;
    let client = injecting(channel(b).await);
    let calls: Vec<_> = (1..=40_u64)
        .map(|n| {
            let mut client = client.clone();
            let call = async move { watch(&mut client, WATCH).await };
            let call = TENANT.scope(format!("tenant-{n}"), REQUEST_ID.scope(n, call));
            tokio::spawn(async move { (n, call.await) })
        })
        .collect();
    let mut streamed = 0;
    for call in calls {
        let (n, messages) = call.await.unwrap();
        assert_eq!(messages.len(), MESSAGES);
        for message in messages {
            assert_eq!(
                message,
                format!("tenant=tenant-{n} request.id={n} secret=none")
            );
            streamed += 1;
        }
    }
    assert_eq!(streamed, 40 * MESSAGES);
}

/// The layer's scope covers the handler's future, which returns the response; the
/// stream in its body is polled afterwards, by the connection, and sees nothing
/// unless the handler scopes it (as `Watch` does).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unscoped_stream_is_polled_outside_the_layers_scope() {
    let b = serve(Echo { downstream: None }).await;
    let mut client = injecting(channel(b).await);
    let call = async { watch(&mut client, WATCH_UNSCOPED).await };
    let messages = TENANT.scope("acme".to_owned(), call).await;
    assert_eq!(
        messages,
        vec!["tenant=none request.id=none secret=none"; MESSAGES]
    );
}

/// Raw `baggage` metadata from a caller that writes its own: the server binds what is
/// valid and listed, nothing else, and answers every call normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_metadata_binds_nothing_wrong() {
    let b = serve(Echo { downstream: None }).await;
    let mut client = Client::new(channel(b).await);
    let oversized = format!("tenant=evil,request.id=1,pad={}", "x".repeat(9000 - 29));
    assert_eq!(oversized.len(), 9000);
    let cases = [
        // Over the 8192-byte limit: a list cut short cannot be told from a whole one.
        (oversized, "tenant=none request.id=none secret=none"),
        // Keys not in the list bind nothing, the listed one still binds.
        (
            "secret=hunter2,admin=true,tenant=acme".to_owned(),
            "tenant=acme request.id=none secret=none",
        ),
        // An invalid percent-escape, and an escape that decodes to bytes that are
        // not UTF-8: that variable stays unbound, the other binds.
        (
            "tenant=%ZZ,request.id=5".to_owned(),
            "tenant=none request.id=5 secret=none",
        ),
        (
            "tenant=%FF%FE,request.id=6".to_owned(),
            "tenant=none request.id=6 secret=none",
        ),
        // A value its type does not parse.
        (
            "request.id=-1,tenant=ok".to_owned(),
            "tenant=ok request.id=none secret=none",
        ),
        // The first of duplicate keys wins.
        (
            "tenant=first,tenant=second".to_owned(),
            "tenant=first request.id=none secret=none",
        ),
    ];
    for (baggage, expected) in cases {
        let mut request = Request::new(String::new());
        request.metadata_mut().insert(
            "baggage",
            MetadataValue::try_from(baggage.as_str()).unwrap(),
        );
        let answer = unary(&mut client, request, WHOAMI).await;
        assert_eq!(answer.unwrap(), expected, "baggage {baggage:.40}");
    }
}

/// The negative control: the same calls through a bare `Channel`, no inject layer.
/// The server sees nothing, so the layer is what carries the values.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_the_inject_layer_nothing_travels() {
    let b = serve(Echo { downstream: None }).await;
    let client = Client::new(channel(b).await);
    let answers = concurrent_calls(&client, 50, WHOAMI).await;
    assert_eq!(answers.len(), 50);
    for (_, answer) in answers {
        assert_eq!(answer, "tenant=none request.id=none secret=none");
    }
    let mut client = client;
    let call = async { watch(&mut client, WATCH).await };
    let messages = TENANT.scope("acme".to_owned(), call).await;
    assert_eq!(
        messages,
        vec!["tenant=none request.id=none secret=none"; MESSAGES]
    );
}
