// A strict helper awaited in work that starts without the function's context (a
// `tokio::spawn`ed block, a `JoinSet` task, a future run on a plain thread) is a compile
// error, even though the function binds the variable. Next to them, the ways that
// compile: ctxvar's spawn helpers, and work that carries the context.
use ctxvar::{ContextFutureExt, context_var, uses_context, with_context};

#[context_var]
static TENANT: &str;

#[uses_context(TENANT, strict)]
async fn table() -> String {
    format!("{}.orders", TENANT.get())
}

#[with_context(TENANT = "acme")]
async fn tokio_spawn() -> String {
    tokio::spawn(async move { table().await }).await.unwrap()
}

#[with_context(TENANT = "acme")]
async fn join_set() {
    let mut set = tokio::task::JoinSet::new();
    set.spawn(async move { table().await });
    set.join_all().await;
}

#[with_context(TENANT = "acme")]
async fn plain_thread() -> String {
    std::thread::spawn(|| block_on(async { table().await }))
        .join()
        .unwrap()
}

// A capture point inside escaping work captures the context of that work: nothing.
#[with_context(TENANT = "acme")]
async fn ctxvar_spawn_inside_tokio_spawn() {
    tokio::spawn(async move {
        ctxvar::spawn(async move { table().await });
    });
}

// The fixes: carry the context into the work.
#[with_context(TENANT = "acme")]
async fn fixed() -> (String, String) {
    let spawned = ctxvar::spawn(async move { table().await });
    let carried = tokio::spawn(async move { table().await }.in_current_context());
    (spawned.await.unwrap(), carried.await.unwrap())
}

fn block_on<F: std::future::Future>(_: F) -> F::Output {
    unimplemented!()
}

fn main() {
    let _ = (tokio_spawn(), join_set(), plain_thread(), ctxvar_spawn_inside_tokio_spawn(), fixed());
}
