// A typo gives one error, not a cascade.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_IDD = 1)]
fn handle() -> u64 {
    ITEM_IDD.get()
}

fn main() {}
