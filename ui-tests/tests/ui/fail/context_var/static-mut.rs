// `static mut` cannot be a context variable.
#[ctxvar::context_var]
static mut ITEM_ID: u64;

fn main() {}
