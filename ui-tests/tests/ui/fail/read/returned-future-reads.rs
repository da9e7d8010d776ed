// A future returned from a plain `fn` runs when it is polled, after the function's
// binding ended. Next to it, the ways that compile: carry the context, or make the
// function `async`.
use std::future::Future;

use ctxvar::{ContextFutureExt, context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID = 7)]
fn later() -> impl Future<Output = u64> {
    async { ITEM_ID.get() }
}

#[with_context(ITEM_ID = 7)]
fn carried() -> impl Future<Output = u64> {
    async { ITEM_ID.get() }.in_current_context()
}

#[with_context(ITEM_ID = 7)]
async fn now() -> u64 {
    ITEM_ID.get()
}

fn main() {
    let _ = (later(), carried(), now());
}
