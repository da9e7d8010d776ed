// Malformed arguments: a bare variable (that is `#[uses_context]`).
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID)]
fn handle() {}

fn main() {}
