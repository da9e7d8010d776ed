// A 'static closure returned by the function may be called anywhere, so a
// ctxvar::thread::spawn inside it captures whatever its caller has bound.
use ctxvar::{context_var, uses_context};

#[context_var]
static ITEM_ID: u64;

#[uses_context(ITEM_ID)]
fn reader() -> Box<dyn Fn() -> u64 + 'static> {
    Box::new(move || ctxvar::thread::spawn(move || ITEM_ID.get()).join().unwrap())
}

fn main() {}
