// A captured context carries no variable declared `inherit = false`, not even the
// function's own `Context::current()`: run there, a read of one is not bound. Next to
// it, the ways that compile.
use ctxvar::{Context, context_var, with_context};

#[context_var(inherit = false)]
static TRANSACTION: u64;

#[with_context(TRANSACTION = 1)]
fn commit() -> u64 {
    Context::current().run(|| TRANSACTION.get())
}

#[with_context(TRANSACTION = 1)]
fn fixed() -> (Result<u64, ctxvar::AccessError>, u64) {
    // What the captured context sees, and the function's own binding.
    (Context::current().run(|| TRANSACTION.try_get()), TRANSACTION.get())
}

fn main() {
    let _ = (commit(), fixed());
}
