// A read moved into a 'static task escapes the function's binding. Next to it, the two
// ways that compile: ctxvar's `spawn`, and work that carries the context.
use ctxvar::{ContextFutureExt, context_var, with_context};

#[context_var]
static REQUEST_ID: u64;

#[with_context(REQUEST_ID = 7)]
async fn handle() -> u64 {
    tokio::spawn(async move { REQUEST_ID.get() }).await.unwrap()
}

#[with_context(REQUEST_ID = 7)]
async fn with_ctxvar_spawn() -> u64 {
    ctxvar::spawn(async move { REQUEST_ID.get() }).await.unwrap()
}

#[with_context(REQUEST_ID = 7)]
async fn carrying_the_context() -> u64 {
    tokio::spawn(async move { REQUEST_ID.get() }.in_current_context())
        .await
        .unwrap()
}

fn main() {}
