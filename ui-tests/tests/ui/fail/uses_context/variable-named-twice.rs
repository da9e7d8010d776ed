// The same variable twice.
use ctxvar::{context_var, uses_context};

#[context_var]
static ITEM_ID: u64;

#[uses_context(ITEM_ID, ITEM_ID)]
fn handle() {}

fn main() {}
