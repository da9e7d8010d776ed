// A value of the wrong type; the caret is on the value.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID = "seven")]
fn handle() {}

fn main() {}
