// `.in_current_context()` captures the context where it is called: inside a
// tokio::spawn'ed block, that is the 'static task, which has nothing bound.
use ctxvar::{context_var, with_context, ContextFutureExt};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID = id)]
async fn handle(id: u64) -> u64 {
    tokio::spawn(async move { async move { ITEM_ID.get() }.in_current_context().await })
        .await
        .unwrap()
}

fn main() {}
