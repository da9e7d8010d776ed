// A task spawned through a runtime `Handle` starts with nothing bound. Next to it, the
// same task carrying the context, which compiles.
use ctxvar::{ContextFutureExt, context_var, with_context};

#[context_var]
static REQUEST_ID: u64;

#[with_context(REQUEST_ID = 7)]
async fn handle(runtime: tokio::runtime::Handle) -> u64 {
    runtime.spawn(async move { REQUEST_ID.get() }).await.unwrap()
}

#[with_context(REQUEST_ID = 7)]
async fn carrying_the_context(runtime: tokio::runtime::Handle) -> u64 {
    runtime
        .spawn(async move { REQUEST_ID.get() }.in_current_context())
        .await
        .unwrap()
}

fn main() {}
