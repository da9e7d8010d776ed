// The future made by `.in_current_context()` has the bindings, but a tokio::spawn'ed
// block inside it does not.
use ctxvar::{context_var, with_context, ContextFutureExt};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID = id)]
async fn handle(id: u64) -> u64 {
    async move { tokio::spawn(async move { ITEM_ID.get() }).await.unwrap() }
        .in_current_context()
        .await
}

fn main() {}
