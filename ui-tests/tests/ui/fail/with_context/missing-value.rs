// Malformed arguments: `VAR =` without a value.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID =)]
fn handle() {}

fn main() {}
