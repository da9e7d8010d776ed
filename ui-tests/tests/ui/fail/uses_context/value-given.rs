// Malformed arguments: `#[uses_context]` takes names, not values.
use ctxvar::{context_var, uses_context};

#[context_var]
static ITEM_ID: u64;

#[uses_context(ITEM_ID = 1)]
fn handle() {}

fn main() {}
