// ctxvar::spawn carries the context, but not variables declared `inherit = false`.
use ctxvar::{context_var, with_context};

#[context_var(inherit = false)]
static TRANSACTION: u64;

#[with_context(TRANSACTION = 1)]
async fn handle() -> u64 {
    ctxvar::spawn(async move { TRANSACTION.get() }).await.unwrap()
}

fn main() {}
