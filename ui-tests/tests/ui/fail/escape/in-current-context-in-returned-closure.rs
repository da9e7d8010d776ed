// A 'static closure returned by the function may be called anywhere, so an
// `.in_current_context()` inside it captures whatever its caller has bound.
use ctxvar::{context_var, uses_context, ContextFutureExt};

#[context_var]
static ITEM_ID: u64;

#[uses_context(ITEM_ID)]
fn starter() -> Box<dyn Fn() -> tokio::task::JoinHandle<u64> + 'static> {
    Box::new(move || tokio::spawn(async move { ITEM_ID.get() }.in_current_context()))
}

fn main() {}
