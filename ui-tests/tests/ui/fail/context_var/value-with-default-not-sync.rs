// A default does not lift the rule; a `Cell` is `Send` but not `Sync`.
use std::cell::Cell;

#[ctxvar::context_var]
static COUNTER: Cell<u32> = Cell::new(0);

fn main() {}
