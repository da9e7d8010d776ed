// A read moved into a 'static task escapes the function's binding.
use ctxvar::{context_var, with_context};

#[context_var]
static REQUEST_ID: u64;

#[with_context(REQUEST_ID = 7)]
async fn handle() -> u64 {
    tokio::spawn(async move { REQUEST_ID.get() }).await.unwrap()
}

fn main() {}
