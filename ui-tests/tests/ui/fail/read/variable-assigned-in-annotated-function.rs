// A context variable is bound for a scope, never assigned, also inside a function that
// binds it. Next to it, the rebinding that compiles.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID = 7)]
fn reassign() -> u64 {
    ITEM_ID = 8;
    ITEM_ID.get()
}

#[with_context(ITEM_ID = 7)]
fn fixed() -> u64 {
    ITEM_ID.sync_scope(8, || ITEM_ID.get())
}

fn main() {
    let _ = (reassign(), fixed());
}
