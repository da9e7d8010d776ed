// `try_get` compiles in any work, but `with` next to it in a 'static task still reads
// through the function's evidence, and escapes its binding.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID = id)]
async fn handle(id: u64) -> u64 {
    tokio::spawn(async move { ITEM_ID.try_get().unwrap_or(0) + ITEM_ID.with(|id| *id) })
        .await
        .unwrap()
}

fn main() {}
