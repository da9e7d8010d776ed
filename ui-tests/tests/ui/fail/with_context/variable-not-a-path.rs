// Each argument starts with the variable to bind.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context("ITEM_ID" = 1)]
fn process() {}

fn main() {}
