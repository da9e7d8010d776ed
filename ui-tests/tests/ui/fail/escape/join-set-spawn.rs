// A task spawned on a `JoinSet` starts with nothing bound. Next to it, the same task
// carrying the context, which compiles.
use ctxvar::{ContextFutureExt, context_var, with_context};

#[context_var]
static REQUEST_ID: u64;

#[with_context(REQUEST_ID = 7)]
async fn handle() -> Vec<u64> {
    let mut set = tokio::task::JoinSet::new();
    set.spawn(async move { REQUEST_ID.get() });
    set.join_all().await
}

#[with_context(REQUEST_ID = 7)]
async fn carrying_the_context() -> Vec<u64> {
    let mut set = tokio::task::JoinSet::new();
    set.spawn(async move { REQUEST_ID.get() }.in_current_context());
    set.join_all().await
}

fn main() {}
