// A const fn cannot check its callers' bindings at run time.
use ctxvar::{context_var, uses_context};

#[context_var]
static ITEM_ID: u64;

#[uses_context(ITEM_ID)]
pub const fn process() -> u64 {
    ITEM_ID.get()
}

fn main() {}
