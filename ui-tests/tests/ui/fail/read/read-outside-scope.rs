// An infallible read in a function that neither binds nor declares the variable.
use ctxvar::context_var;

#[context_var]
static ITEM_ID: u64;

fn log_item() -> u64 {
    ITEM_ID.get()
}

fn main() {}
