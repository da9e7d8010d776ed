// ctxvar's spawn helpers carry the context, but not a variable declared
// `inherit = false`: a strict helper that requires one cannot be awaited in their work.
// Next to it, the helper awaited in the function itself, which compiles.
use ctxvar::{context_var, uses_context, with_context};

#[context_var(inherit = false)]
static TRANSACTION: u64;

#[uses_context(TRANSACTION, strict)]
async fn commit() -> u64 {
    TRANSACTION.get()
}

#[with_context(TRANSACTION = 1)]
async fn in_a_task() -> u64 {
    ctxvar::spawn(async { commit().await }).await.unwrap()
}

#[with_context(TRANSACTION = 1)]
async fn fixed() -> u64 {
    commit().await
}

fn main() {
    let _ = (in_a_task(), fixed());
}
