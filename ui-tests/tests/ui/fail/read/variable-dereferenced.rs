// `*VAR` does not read a context variable: `get` does.
use ctxvar::{context_var, uses_context};

#[context_var]
static ITEM_ID: u64;

#[uses_context(ITEM_ID)]
fn doubled() -> u64 {
    *ITEM_ID * 2
}

#[uses_context(ITEM_ID)]
fn fixed() -> u64 {
    ITEM_ID.get() * 2
}

fn main() {
    let _ = (doubled(), fixed());
}
