// A plain `fn`'s bindings end when it returns; an `async` block it returns runs when
// it is polled, later. A strict helper awaited there is not provided. Next to it, the
// ways that compile: carry the context into the future, or make the function `async`.
use std::future::Future;

use ctxvar::{ContextFutureExt, context_var, uses_context, with_context};

#[context_var]
static TENANT: &str;

#[uses_context(TENANT, strict)]
async fn table() -> String {
    format!("{}.orders", TENANT.get())
}

#[with_context(TENANT = "acme")]
fn later() -> impl Future<Output = String> + 'static {
    async { table().await }
}

#[with_context(TENANT = "acme")]
fn carried() -> impl Future<Output = String> + 'static {
    async { table().await }.in_current_context()
}

#[with_context(TENANT = "acme")]
async fn now() -> String {
    table().await
}

fn main() {
    let _ = (later(), carried(), now());
}
