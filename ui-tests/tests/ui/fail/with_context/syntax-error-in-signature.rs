// A syntax error in the signature is rustc's to report, without a second error.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID = id)]
fn process(id: u64, other: ) -> u64 {
    id
}

fn main() {}
