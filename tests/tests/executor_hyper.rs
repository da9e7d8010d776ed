//! `InheritContext` as hyper's executor, over loopback: the tasks hyper's HTTP/2 server
//! spawns for its streams see the context of the connection that spawned them.
//!
//! hyper's HTTP/2 server calls the service (`call`) while the connection is polled,
//! then spawns the future `call` returned, one task per stream, through the executor
//! it was built with. So a connection served inside `LISTENER.scope(name, ..)` sees
//! `name` in `call` whatever the executor, and in the response future only with
//! `InheritContext`. The handler reports both, with the task ids, so the tests also
//! check that the response future did run in a task other than the connection's.
//!
//! Two listeners, bound to different names, each serve one connection carrying
//! several concurrent requests; every response must carry its own listener's name.
//! The plain-executor test is the negative control: the same server, the same
//! assertions on `call`, and nothing in the stream tasks.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use ctxvar::context_var;
use ctxvar::executor::InheritContext;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};

/// The listener a connection was accepted on; bound around each served connection.
#[context_var]
static LISTENER: &str;

const LISTENERS: [&str; 2] = ["north", "south"];
const REQUESTS_PER_CONNECTION: usize = 8;

/// What one request's handler saw.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    /// `LISTENER` in the service's `call`, which runs in the connection's poll.
    in_call: Option<String>,
    /// `LISTENER` in the response future, which runs in the stream's task.
    in_stream_task: Option<String>,
    /// Whether the response future ran in a task other than the one that called `call`.
    stream_task_is_another: bool,
}

impl Seen {
    fn parse(body: &str) -> Seen {
        let field = |value: &str| (value != "-").then(|| value.to_owned());
        let parts: Vec<&str> = body.split(' ').collect();
        assert_eq!(parts.len(), 3, "malformed body {body:?}");
        Seen {
            in_call: field(parts[0]),
            in_stream_task: field(parts[1]),
            stream_task_is_another: parts[2] == "spawned",
        }
    }
}

/// The service: reads `LISTENER` in `call` and again in the response future.
fn handle(
    _request: Request<Incoming>,
) -> impl Future<Output = Result<Response<Full<Bytes>>, Infallible>> {
    let in_call = LISTENER.try_get().ok();
    let calling_task = tokio::task::try_id();
    async move {
        // Lets the streams of both connections interleave on the workers.
        tokio::task::yield_now().await;
        let in_stream_task = LISTENER.try_get().ok();
        let spawned = tokio::task::try_id() != calling_task;
        let body = format!(
            "{} {} {}",
            in_call.unwrap_or("-"),
            in_stream_task.unwrap_or("-"),
            if spawned { "spawned" } else { "same-task" },
        );
        Ok(Response::new(Full::new(Bytes::from(body))))
    }
}

/// Accepts connections on `listener`, serving each inside a scope binding `LISTENER`
/// to `name`, with `InheritContext<TokioExecutor>` or the plain `TokioExecutor`.
async fn serve(listener: TcpListener, name: &'static str, inherit: bool) {
    loop {
        let (stream, _) = listener.accept().await.expect("accept on loopback");
        let io = TokioIo::new(stream);
        let connection = async move {
            // The two arms differ only in the executor: two types, one code path.
            let served = if inherit {
                http2::Builder::new(InheritContext::new(TokioExecutor::new()))
                    .serve_connection(io, service_fn(handle))
                    .await
            } else {
                http2::Builder::new(TokioExecutor::new())
                    .serve_connection(io, service_fn(handle))
                    .await
            };
            served.expect("serve the connection");
        };
        tokio::spawn(LISTENER.scope(name, connection));
    }
}

/// Starts one server per name, sends `REQUESTS_PER_CONNECTION` concurrent requests on
/// one HTTP/2 connection to each, and returns each response with the name of the
/// listener it was sent to.
async fn requests_on_two_connections(inherit: bool) -> Vec<(&'static str, Seen)> {
    let mut requests = tokio::task::JoinSet::new();
    for name in LISTENERS {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, name, inherit));

        // HTTP/2 with prior knowledge (h2c): no TLS, no upgrade.
        let stream = TcpStream::connect(address).await.unwrap();
        let (sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        for _ in 0..REQUESTS_PER_CONNECTION {
            let mut sender = sender.clone();
            requests.spawn(async move {
                let request = Request::get(format!("http://{address}/"))
                    .body(Empty::<Bytes>::new())
                    .unwrap();
                let response = sender.send_request(request).await.unwrap();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                (name, Seen::parse(std::str::from_utf8(&body).unwrap()))
            });
        }
    }
    // Bounded: a hang fails the test instead of stalling the suite.
    tokio::time::timeout(Duration::from_secs(30), requests.join_all())
        .await
        .expect("every request answered within 30 s")
}

fn assert_each_sees_its_own_listener(responses: &[(&'static str, Seen)]) {
    assert_eq!(responses.len(), LISTENERS.len() * REQUESTS_PER_CONNECTION);
    for (name, seen) in responses {
        let expected = Seen {
            in_call: Some((*name).to_owned()),
            in_stream_task: Some((*name).to_owned()),
            stream_task_is_another: true,
        };
        assert_eq!(seen, &expected, "a request sent to listener {name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_tasks_inherit_their_connections_context_multi_thread() {
    assert_each_sees_its_own_listener(&requests_on_two_connections(true).await);
}

#[tokio::test(flavor = "current_thread")]
async fn stream_tasks_inherit_their_connections_context_current_thread() {
    assert_each_sees_its_own_listener(&requests_on_two_connections(true).await);
}

/// The negative control: with the plain executor the stream tasks see nothing, though
/// `call`, polled in the connection's scope, does. Without `InheritContext` the
/// assertion of the tests above fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_plain_executor_stream_tasks_see_nothing() {
    let responses = requests_on_two_connections(false).await;
    assert_eq!(responses.len(), LISTENERS.len() * REQUESTS_PER_CONNECTION);
    for (name, seen) in &responses {
        let expected = Seen {
            in_call: Some((*name).to_owned()),
            in_stream_task: None,
            stream_task_is_another: true,
        };
        assert_eq!(seen, &expected, "a request sent to listener {name}");
    }
}
