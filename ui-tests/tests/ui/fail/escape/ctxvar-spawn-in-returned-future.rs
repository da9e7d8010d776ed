// A 'static future returned by the function runs after its bindings are gone, so a
// ctxvar::spawn inside it captures whatever its poller has bound.
use std::future::Future;

use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID = id)]
fn handle(id: u64) -> impl Future<Output = u64> + 'static {
    async move { ctxvar::spawn(async move { ITEM_ID.get() }).await.unwrap() }
}

fn main() {}
