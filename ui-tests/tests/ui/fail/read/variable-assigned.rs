// A variable is bound for a scope, never assigned.
use ctxvar::with_context;

#[ctxvar::context_var]
static ITEM_ID: u64;

fn main() {
    ITEM_ID.set(5);
}

// The fixes: bind it for a function, or for a closure or future.
#[with_context(ITEM_ID = 5)]
fn process() -> u64 {
    ITEM_ID.get()
}

fn run() -> u64 {
    ITEM_ID.sync_scope(5, process)
}
