// The binding of one function does not make reads compile in another: a helper must
// say `#[uses_context]`.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID = 1)]
async fn process() -> u64 {
    helper()
}

fn helper() -> u64 {
    ITEM_ID.get()
}

fn main() {}
