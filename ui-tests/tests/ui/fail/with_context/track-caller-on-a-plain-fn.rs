// A plain fn's body runs inside a closure, where #[track_caller] would be lost.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[track_caller]
#[with_context(ITEM_ID = id)]
fn process(id: u64) -> (u64, u32) {
    (ITEM_ID.get(), std::panic::Location::caller().line())
}

fn main() {}
