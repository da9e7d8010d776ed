// Work run in the function's own context, captured where it is written or earlier in
// the function, reads the function's variables with `get`: `Context::current()`'s
// `run`, `scope` and `scope_stream`, and a captured local run on a scoped thread or a
// plain thread. Strict helpers are provided there too, and in a future carried out
// of a plain `fn`.
use std::future::Future;

use ctxvar::{Context, ContextFutureExt, context_var, uses_context, with_context};
use futures::StreamExt as _;

#[context_var]
static REQUEST_ID: u64;

#[uses_context(REQUEST_ID, strict)]
async fn doubled() -> u64 {
    REQUEST_ID.get() * 2
}

#[with_context(REQUEST_ID = 7)]
async fn handle() -> Vec<u64> {
    let run = Context::current().run(|| REQUEST_ID.get());
    let scoped = Context::current().scope(async { doubled().await }).await;
    let ctx = Context::current();
    let on_scoped_thread = std::thread::scope(|s| {
        s.spawn(|| ctx.run(|| REQUEST_ID.get())).join().unwrap()
    });
    let moved = ctx.clone();
    let on_thread = std::thread::spawn(move || moved.run(|| REQUEST_ID.get()))
        .join()
        .unwrap();
    let stream = Context::current().scope_stream(
        futures::stream::iter(vec![1, 2]).map(|n| n + REQUEST_ID.get()),
    );
    let mut all = vec![run, scoped, on_scoped_thread, on_thread];
    all.extend(tokio::spawn(stream.collect::<Vec<u64>>()).await.unwrap());
    all
}

#[with_context(REQUEST_ID = 9)]
fn later() -> impl Future<Output = u64> + 'static {
    async { doubled().await }.in_current_context()
}

#[with_context(REQUEST_ID = 5)]
fn blocking() -> u64 {
    futures::executor::block_on(async { doubled().await })
}

#[tokio::main]
async fn main() {
    assert_eq!(handle().await, vec![7, 14, 7, 7, 8, 9]);
    assert_eq!(later().await, 18);
    assert_eq!(blocking(), 10);
}
