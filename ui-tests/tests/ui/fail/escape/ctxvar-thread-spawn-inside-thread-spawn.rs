// A ctxvar::thread::spawn call inside a plain thread captures that thread's (empty)
// context, not the function's bindings.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID = id)]
fn handle(id: u64) -> u64 {
    std::thread::spawn(move || ctxvar::thread::spawn(move || ITEM_ID.get()).join().unwrap())
        .join()
        .unwrap()
}

fn main() {}
