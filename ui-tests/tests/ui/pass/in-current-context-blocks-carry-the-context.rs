// In annotated functions, an async block followed by `.in_current_context()` carries
// the context, so it reads the variables directly, wherever it is spawned or polled:
// on a JoinSet, through a runtime handle, built now and spawned later, or returned.
use std::future::Future;

use ctxvar::{context_var, uses_context, with_context, ContextFutureExt};

#[context_var]
static ID: u64;

#[with_context(ID = id)]
async fn join_set(id: u64) -> u64 {
    let mut set = tokio::task::JoinSet::new();
    set.spawn(async move { ID.get() }.in_current_context());
    set.join_next().await.unwrap().unwrap()
}

#[with_context(ID = id)]
async fn awaited_as_a_statement(id: u64) -> u64 {
    async move { assert_eq!(ID.get(), 7) }.in_current_context().await;
    async move { ID.get() }.in_current_context().await
}

#[with_context(ID = id)]
async fn built_now_spawned_later(id: u64) -> u64 {
    let job = async move { ID.get() + 1 }.in_current_context();
    tokio::task::yield_now().await;
    tokio::spawn(job).await.unwrap()
}

#[uses_context(ID)]
async fn through_a_handle() -> u64 {
    let handle = tokio::runtime::Handle::current();
    handle.spawn(async move { ID.with(|id| id * 2) }.in_current_context()).await.unwrap()
}

#[with_context(ID = id)]
async fn by_path(id: u64) -> u64 {
    tokio::spawn(ctxvar::ContextFutureExt::in_current_context(async move { ID.get() + 3 })).await.unwrap()
}

#[with_context(ID = id)]
fn returned(id: u64) -> impl Future<Output = u64> + Send + 'static {
    async move { ID.get() + 4 }.in_current_context()
}

#[tokio::main]
async fn main() {
    assert_eq!(join_set(7).await, 7);
    assert_eq!(awaited_as_a_statement(7).await, 7);
    assert_eq!(built_now_spawned_later(7).await, 8);
    assert_eq!(ID.scope(7, through_a_handle()).await, 14);
    assert_eq!(by_path(7).await, 10);
    assert_eq!(tokio::spawn(returned(7)).await.unwrap(), 11);
}
