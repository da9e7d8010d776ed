// The same in a #[uses_context] async fn, with ctxvar::spawn_blocking.
use ctxvar::{context_var, uses_context};

#[context_var]
static ITEM_ID: u64;

#[uses_context(ITEM_ID)]
async fn audit() -> u64 {
    tokio::spawn(async move { ctxvar::spawn_blocking(move || ITEM_ID.get()).await.unwrap() })
        .await
        .unwrap()
}

fn main() {}
