// On a closure, rustc rejects the attribute (two E0658, one per feature gate): no more.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

fn main() {
    let read = #[with_context(ITEM_ID = 1)] || ITEM_ID.try_get();
    let _ = read();
}
