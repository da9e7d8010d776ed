// A syntax error in the body is reported alone, as without the attribute.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID = id)]
fn process(id: u64) -> u64 {
    let doubled = ITEM_ID.get() * ;
    doubled
}

fn main() {}
