// A trait method without a body has nothing to bind around.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

trait Handler {
    #[with_context(ITEM_ID = 1)]
    fn handle(&self);
}

fn main() {}
