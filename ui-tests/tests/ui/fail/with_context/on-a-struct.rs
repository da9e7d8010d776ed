// The attribute on something that is not a function.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID = 1)]
struct Handler;

fn main() {
    let _ = Handler; // still defined: the item is kept next to the error
}
