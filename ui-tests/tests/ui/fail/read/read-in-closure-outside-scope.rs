// The same read inside a closure of an unannotated function.
use ctxvar::context_var;

#[context_var]
static ITEM_ID: u64;

fn make_reader() -> impl Fn() -> u64 {
    || ITEM_ID.get()
}

fn main() {}
