// A const fn cannot bind variables at run time.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID = id)]
const fn process(id: u64) -> u64 {
    ITEM_ID.get()
}

fn main() {}
