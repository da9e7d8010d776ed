// A syntax error in the body is reported alone, as without the attribute.
use ctxvar::{context_var, uses_context};

#[context_var]
static ITEM_ID: u64;

#[uses_context(ITEM_ID)]
async fn process() -> u64 {
    let doubled = ITEM_ID.get() * ;
    doubled
}

fn main() {}
