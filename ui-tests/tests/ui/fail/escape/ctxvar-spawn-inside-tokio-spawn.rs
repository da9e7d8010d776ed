// A ctxvar::spawn call inside a tokio::spawn'ed block runs in the 'static task, after
// the function may have returned: the capture point itself escapes.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID = id)]
async fn handle(id: u64) -> u64 {
    tokio::spawn(async move { ctxvar::spawn(async move { ITEM_ID.get() }).await.unwrap() })
        .await
        .unwrap()
}

fn main() {}
