// A closure run by tokio's `spawn_blocking` starts with nothing bound. Next to it,
// ctxvar's helper of the same name, which compiles.
use ctxvar::{context_var, with_context};

#[context_var]
static REQUEST_ID: u64;

#[with_context(REQUEST_ID = 7)]
async fn handle() -> u64 {
    tokio::task::spawn_blocking(move || REQUEST_ID.get())
        .await
        .unwrap()
}

#[with_context(REQUEST_ID = 7)]
async fn with_ctxvar_spawn_blocking() -> u64 {
    ctxvar::spawn_blocking(move || REQUEST_ID.get()).await.unwrap()
}

fn main() {}
