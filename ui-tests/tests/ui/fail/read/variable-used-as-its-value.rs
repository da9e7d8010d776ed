// Inside a function that binds it, the variable's name is still the variable, not its
// value. Next to it, the reads that compile.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID = 7)]
fn as_value() -> u64 {
    let id: u64 = ITEM_ID;
    id
}

#[with_context(ITEM_ID = 7)]
fn fixed() -> u64 {
    let id: u64 = ITEM_ID.get();
    id + ITEM_ID.with(|id| *id)
}

fn main() {
    let _ = (as_value(), fixed());
}
