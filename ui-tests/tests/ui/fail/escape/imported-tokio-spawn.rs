// `spawn` imported from tokio, not from ctxvar: the task starts with nothing bound, so
// reading the function's variables there is an error that says whose `spawn` it is.
// Next to it, the two ways that compile.
use ctxvar::{ContextFutureExt, context_var, with_context};
use tokio::spawn;

#[context_var]
static REQUEST_ID: u64;

#[with_context(REQUEST_ID = 7)]
async fn handle() -> u64 {
    spawn(async move { REQUEST_ID.get() }).await.unwrap()
}

#[with_context(REQUEST_ID = 7)]
async fn with_ctxvar_spawn() -> u64 {
    ctxvar::spawn(async move { REQUEST_ID.get() }).await.unwrap()
}

#[with_context(REQUEST_ID = 7)]
async fn carrying_the_context() -> u64 {
    spawn(async move { REQUEST_ID.get() }.in_current_context())
        .await
        .unwrap()
}

fn main() {}
